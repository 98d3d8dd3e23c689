//! The email a form posted without JavaScript carried, handed back to the page it returns to
//! after a failure: in a short-lived cookie that the page reads once, never in the URL, where
//! browser history and every access log would keep it. The password is never kept anywhere.

/// The email that this browser's last failed sign-in or registration left for this page, if
/// any. Reading it also clears it: the answer tells the browser to drop the cookie, so a reload
/// or a later visit shows an empty field.
///
/// Only the server reads it (the cookie is `HttpOnly`); in the browser this is `None`, and the
/// field keeps the value the server rendered into it.
pub fn take() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        ssr::take()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

#[cfg(feature = "ssr")]
pub(crate) use ssr::remember;

#[cfg(feature = "ssr")]
mod ssr {
    use http::{HeaderValue, header};
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;
    use tower_sessions::cookie::{Cookie, SameSite, time::Duration};

    use crate::{config::Config, cookie::request_cookie, state::app_state, validation};

    /// The cookie's name over plain HTTP.
    const PLAIN_NAME: &str = "sessionguard-email";
    /// The cookie's name when secure: the `__Secure-` prefix makes the browser refuse it
    /// unless it is `Secure`. (`__Host-` would also demand `Path=/`; this one is path-scoped.)
    const SECURE_NAME: &str = "__Secure-sessionguard-email";
    /// How long the browser keeps the email: long enough to follow the redirect back to the
    /// form, short enough that an abandoned form does not keep it.
    const MAX_AGE_SECS: i64 = 60;

    fn name(config: &Config) -> &'static str {
        if config.cookie_secure { SECURE_NAME } else { PLAIN_NAME }
    }

    /// The cookie with every attribute but its lifetime: `HttpOnly` (no script reads it),
    /// `SameSite=Strict` (no other site's request carries it), scoped to `path` (only the form's
    /// page receives it), and `Secure` when the session cookie is.
    fn cookie<'c>(config: &Config, value: &'c str, path: &'c str) -> Cookie<'c> {
        Cookie::build((name(config), value)).path(path).http_only(true).same_site(SameSite::Strict).secure(config.cookie_secure).build()
    }

    /// Adds `cookie` to the current answer as a `Set-Cookie` header, its name and value
    /// percent-encoded (an email may hold characters a cookie value may not).
    fn send(cookie: &Cookie<'_>) {
        if let Some(response) = use_context::<ResponseOptions>()
            && let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string())
        {
            response.append_header(header::SET_COOKIE, value);
        }
    }

    /// Whether `path` can be a cookie's `Path` attribute as it is: an absolute path of visible
    /// characters without `;`, which would end the attribute.
    fn usable_path(path: &str) -> bool {
        path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic() && b != b';')
    }

    /// Keeps `email` for the page at `path` that the current answer sends the browser back to,
    /// for a minute. An email longer than any valid one is not kept.
    pub(crate) fn remember(config: &Config, email: &str, path: &str) {
        if email.is_empty() || email.chars().count() > validation::EMAIL_MAX_CHARS || !usable_path(path) {
            return;
        }
        let mut kept = cookie(config, email, path);
        kept.set_max_age(Duration::seconds(MAX_AGE_SECS));
        send(&kept);
    }

    /// See [`super::take`]: reads the cookie from the request the page answers and, when it is
    /// there, removes it with the same name, path and attributes.
    pub(super) fn take() -> Option<String> {
        let parts = use_context::<http::request::Parts>()?;
        let config = app_state().ok()?.config;
        let name = name(&config);
        let email = request_cookie(&parts.headers, name)?;
        let mut removal = cookie(&config, "", parts.uri.path());
        removal.make_removal();
        send(&removal);
        // Only a plausible email is shown: a sibling subdomain may plant this cookie.
        validation::validate_email(&validation::normalize_email(&email)).is_ok().then_some(email)
    }
}
