//! The session cookie: its name and attributes, defined once (OWASP ASVS 3.4.1–3.4.5).

use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

use crate::{config::Config, store::MongoSessionStore};

/// The cookie name in development, over plain HTTP.
pub const PLAIN_COOKIE_NAME: &str = "sessionguard";
/// The cookie name when secure: the `__Host-` prefix makes the browser refuse it unless it is
/// `Secure`, has `Path=/` and no `Domain`, so no subdomain can plant or overwrite it.
pub const SECURE_COOKIE_NAME: &str = "__Host-sessionguard";

/// The session cookie's name under `config`.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.cookie_secure { SECURE_COOKIE_NAME } else { PLAIN_COOKIE_NAME }
}

/// The session layer: `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Domain`, and `Secure` with the
/// `__Host-` name when `config.cookie_secure` is set.
///
/// The cookie lives until the browser closes; the server decides expiry (idle and absolute
/// timeouts in the store), so an expired cookie is worthless whatever the browser keeps.
pub fn session_layer(config: &Config, store: MongoSessionStore) -> SessionManagerLayer<MongoSessionStore> {
    SessionManagerLayer::new(store)
        .with_name(cookie_name(config))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_secure(config.cookie_secure)
        .with_expiry(Expiry::OnSessionEnd)
}
