//! A deadline for every request: a database that accepts connections but never answers must
//! not hang the browser, nor fill the server with waiting requests.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};

use super::API_PREFIX;
use crate::{
    config::Config,
    error::{AppError, Outage},
};

/// Answers the request, or 503 once `Config::request_timeout` has passed; the unfinished work
/// is dropped, so nothing it had not yet written is written later. API calls get the JSON
/// error; pages get a short HTML page saying the same. A live session stream counts only until
/// its first byte: the stream itself may stay open.
pub async fn answer_in_time(State(config): State<Arc<Config>>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with(API_PREFIX);
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(config.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%path, timeout = ?config.request_timeout, "request timed out waiting on the database; answered 503");
            let error = AppError::Unavailable(Outage::Database);
            let mut response = if is_api {
                (error.status_code(), [(header::CONTENT_TYPE, "application/json")], error.to_json()).into_response()
            } else {
                let page = format!("<!DOCTYPE html><html lang=\"en\"><title>Unavailable · sessionguard</title><p>{error}</p></html>");
                (error.status_code(), Html(page)).into_response()
            };
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}
