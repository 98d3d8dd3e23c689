//! The gate in front of the server functions: POST only, same origin (OWASP ASVS 4.2.2),
//! bounded bodies.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::API_PREFIX;
use crate::{
    config::Config,
    error::{AppError, BadInput},
    routes,
};

/// Largest request body accepted; every form and API call fits in a fraction of it.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Middleware for `/api/*`: refuses anything but `POST` (405), and refuses (403) a `POST` that
/// does not prove it comes from `Config::public_origin` (OWASP's CSRF guidance, ASVS 4.2.2 and
/// 13.2.3), judged by the first of these it carries:
/// 1. `Origin`, compared exactly: scheme, host and port;
/// 2. `Sec-Fetch-Site`, which must be `same-origin`;
/// 3. `Referer`, whose origin is compared exactly.
///
/// A request with none of the three is refused too: every browser sends at least one on a
/// `POST`, and programs calling the API send `Origin` (README, HTTP API). The refusal happens
/// before any server function runs, so a cross-site request changes nothing.
///
/// A body over [`MAX_BODY_BYTES`] is refused with 413, whether or not it declared its length.
/// This is the only body limit: pages and static files are `GET`s whose bodies nothing reads.
pub async fn guard_api(State(config): State<Arc<Config>>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(API_PREFIX) {
        return next.run(request).await;
    }
    if request.method() == Method::GET && request.uri().path() == routes::SESSION_EVENTS {
        // The one reading stream: it changes nothing, so no origin proof is needed.
        return next.run(request).await;
    }
    if request.method() != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")], "Server functions accept POST only.").into_response();
    }
    if !is_same_origin(request.headers(), &config.public_origin) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
        let error = AppError::CrossSite;
        return json_error(error.status_code(), &error);
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        let error = AppError::BadInput(BadInput::TooLarge);
        return json_error(error.status_code(), &error);
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

fn json_error(status: StatusCode, error: &AppError) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], error.to_json()).into_response()
}

fn is_same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    let text = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or_default());
    if let Some(origin) = text(header::ORIGIN) {
        return origin.eq_ignore_ascii_case(public_origin);
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return site == "same-origin";
    }
    text(header::REFERER)
        .and_then(|referer| url::Url::parse(referer).ok())
        .is_some_and(|url| url.origin().ascii_serialization().eq_ignore_ascii_case(public_origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "https://sessions.example.com";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }

    #[test]
    fn only_the_exact_public_origin_passes() {
        assert!(is_same_origin(&headers(&[("origin", SITE)]), SITE));
        for other in [
            "http://sessions.example.com",
            "https://sessions.example.com:8443",
            "https://evil.example",
            "null",
            "https://sessions.example.com.evil.example",
        ] {
            assert!(!is_same_origin(&headers(&[("origin", other)]), SITE), "{other}");
        }
        assert!(!is_same_origin(&headers(&[("origin", "https://evil.example"), ("host", "evil.example")]), SITE), "Host proves nothing");
    }

    #[test]
    fn fetch_metadata_then_referer_then_refusal() {
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "same-origin")]), SITE));
        for site in ["cross-site", "same-site", "none"] {
            assert!(!is_same_origin(&headers(&[("sec-fetch-site", site)]), SITE), "{site}");
        }
        assert!(is_same_origin(&headers(&[("referer", "https://sessions.example.com/login?next=/")]), SITE));
        assert!(!is_same_origin(&headers(&[("referer", "https://evil.example/sessions.example.com")]), SITE));
        assert!(!is_same_origin(&headers(&[("referer", "not a url")]), SITE));
        assert!(!is_same_origin(&HeaderMap::new(), SITE), "no evidence at all is refused");
    }
}
