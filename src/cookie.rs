//! The session cookie: its name and attributes, defined once (OWASP ASVS 3.4.1–3.4.5).

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::Response,
};
use tower_sessions::{
    Expiry, SessionManagerLayer,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
};

use sessionguard_store::MongoSessionStore;

use crate::config::Config;

/// The cookie name in development, over plain HTTP.
pub const PLAIN_COOKIE_NAME: &str = "sessionguard";
/// The cookie name when secure: the `__Host-` prefix makes the browser refuse it unless it is
/// `Secure`, has `Path=/` and no `Domain`, so no subdomain can plant or overwrite it.
pub const SECURE_COOKIE_NAME: &str = "__Host-sessionguard";

/// The session cookie's name under `config`.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.cookie_secure { SECURE_COOKIE_NAME } else { PLAIN_COOKIE_NAME }
}

/// The value of the cookie `name` that the request's `Cookie` headers carry, percent-decoded;
/// `None` when they carry none. When the browser sends the name twice, the first is taken. The
/// one reader of request cookies, for the session cookie and the remembered email alike.
pub fn request_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse_encoded)
        .flatten()
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// The value of the session cookie (named as [`cookie_name`] says under `config`), as
/// [`request_cookie`] reads it. It may be empty and is not checked to be a well-formed session
/// id: read it as "the browser holds a session cookie", and parse it with
/// [`tower_sessions::session::Id`]'s `FromStr` for the id.
pub fn session_cookie_value(headers: &HeaderMap, config: &Config) -> Option<String> {
    request_cookie(headers, cookie_name(config))
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

/// Gives the session layer's removal cookie every attribute of the session cookie.
///
/// tower-sessions builds the removal `Set-Cookie` from the request's cookie and the path only,
/// so it lacks `Secure`. Browsers refuse any `__Host-` cookie without `Secure`, the removal
/// included, so in a secure deployment the cookie would survive logout. This rewrites that
/// one header to `<name>=; Max-Age=0; Expires=<past>; Path=/; HttpOnly; SameSite=Lax[; Secure]`.
pub async fn complete_removal_cookie(State(config): State<Arc<Config>>, mut response: Response) -> Response {
    let name = cookie_name(&config);
    let headers = response.headers_mut();
    let set_cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
    let removes_session = |value: &HeaderValue| {
        value
            .to_str()
            .ok()
            .and_then(|v| Cookie::parse(v).ok())
            .is_some_and(|c| c.name() == name && c.max_age() == Some(CookieDuration::ZERO))
    };
    if !set_cookies.iter().any(removes_session) {
        return response;
    }
    headers.remove(header::SET_COOKIE);
    for value in set_cookies {
        if removes_session(&value) {
            let mut removal =
                Cookie::build((name, "")).path("/").http_only(true).same_site(SameSite::Lax).secure(config.cookie_secure).build();
            removal.make_removal();
            if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
                headers.append(header::SET_COOKIE, value);
            }
        } else {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}
