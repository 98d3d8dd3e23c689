//! The gate in front of the server functions: POST only, same origin (OWASP ASVS 4.2.2),
//! bounded bodies.

use axum::{
    body::Body,
    extract::Request,
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::API_PREFIX;
use crate::error::AppError;

/// Largest request body accepted; every form and API call fits in a fraction of it.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Middleware for `/api/*`: refuses anything but `POST` (405), and refuses a `POST` whose
/// `Origin` is not this site, or, without `Origin`, whose `Sec-Fetch-Site` is not
/// `same-origin` or `none` (403). The refusal happens before any server function runs, so a
/// cross-site request changes nothing. Clients that send neither header (scripts, curl) are
/// not browsers and cannot carry a victim's cookie cross-site, so they pass.
///
/// A body over [`MAX_BODY_BYTES`] is refused with 413, whether or not it declared its length.
/// This is the only body limit: pages and static files are `GET`s whose bodies nothing reads.
pub async fn guard_api(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(API_PREFIX) {
        return next.run(request).await;
    }
    if request.method() != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")], "Server functions accept POST only.").into_response();
    }
    if !is_same_origin(&request) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
        let error = AppError::CrossSite;
        return json_error(error.status_code(), &error);
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        let error = AppError::BadInput(format!("The request is larger than {} KiB.", MAX_BODY_BYTES / 1024));
        return json_error(StatusCode::PAYLOAD_TOO_LARGE, &error);
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

fn json_error(status: StatusCode, error: &AppError) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], error.to_json()).into_response()
}

fn is_same_origin(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
            return false;
        };
        return origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(scheme, authority)| matches!(scheme, "http" | "https") && authority.eq_ignore_ascii_case(host));
    }
    match headers.get("sec-fetch-site").map(|v| v.to_str().unwrap_or("")) {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => true,
    }
}
