//! Response headers set in one place for the whole router.

use axum::{
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};

use super::API_PREFIX;

/// Marks every HTML page and every API answer `Cache-Control: no-store`: both show one user's
/// account, and a copy kept in the browser's cache would still show it after logout (the Back
/// button). Static files keep their caching.
pub async fn no_store(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with(API_PREFIX);
    let mut response = next.run(request).await;
    let is_html = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if is_api || is_html {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
