//! Response headers set in one place for the whole router: caching and the browser's security
//! policies (ASVS 14.4).

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};
use leptos::{nonce::use_nonce, prelude::use_context};
use leptos_axum::ResponseOptions;
use tower_http::set_header::SetResponseHeaderLayer;

use super::API_PREFIX;
use crate::config::Config;

/// The policy of everything that is not a page (API answers, static files, errors): nothing
/// may load, run or frame it.
const STRICT_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// One year, with subdomains: browsers that saw the site over HTTPS never use plain HTTP again.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The policy of a server-rendered page whose inline scripts carry `nonce`: scripts only from
/// this site or with the nonce (no `unsafe-inline`), WebAssembly allowed to compile, no plugins,
/// no `<base>`, forms only to this site, and no framing by anyone (`frame-ancestors 'none'`),
/// so the "log out everywhere" button cannot be clickjacked.
fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Called while a page renders: gives the answer the content security policy that admits the
/// nonce Leptos put on this page's inline scripts. Server functions and static files have no
/// nonce and keep [`STRICT_POLICY`].
pub fn set_page_policy() {
    if let (Some(nonce), Some(response)) = (use_nonce(), use_context::<ResponseOptions>())
        && let Ok(policy) = HeaderValue::from_str(&page_policy(&nonce))
    {
        response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
    }
}

/// Adds the security headers to every answer of `router`, through tower-http's header layers:
/// `Content-Security-Policy` (the strict one unless a page set its own), `X-Content-Type-Options:
/// nosniff`, `Referrer-Policy: same-origin`, `X-Frame-Options: DENY` for browsers without
/// `frame-ancestors`, and `Strict-Transport-Security` when the cookie is secure (HTTPS).
pub fn with_security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>, config: &Config) -> Router<S> {
    let hsts = config.cookie_secure.then_some(HeaderValue::from_static(HSTS));
    router
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(STRICT_POLICY)))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, move |_: &Response| hsts.clone()))
}

/// Marks every HTML page and every API answer `Cache-Control: no-store`: both show one user's
/// account, and a copy kept in the browser's cache would still show it after logout (the Back
/// button; ASVS 8.2.1). Static files keep their caching. API answers are also
/// `Content-Disposition: attachment` (ASVS 14.4.2), so a browser never renders one as a page.
pub async fn no_store(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with(API_PREFIX);
    let mut response = next.run(request).await;
    let is_html = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    if is_api || is_html {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if is_api {
        headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"api.json\""));
    }
    response
}
