//! One log line and one latency sample per answered request: the route pattern (never the raw
//! path), the status, the latency and the signed-in user's id. Never a cookie, a token or a
//! password: none of them is read here.

use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};

use crate::telemetry;

/// The route label of requests no route matched: static files and "not found".
const FALLBACK_ROUTE: &str = "(fallback)";

/// The signed-in user of the request, once the code answering it has learned who that is
/// ([`crate::api`]'s request context sets it). Lives in the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct RequestUser(Arc<OnceLock<String>>);

impl RequestUser {
    /// Names the request's signed-in user; the first name given stays.
    pub fn set(&self, user_id: &str) {
        let _ = self.0.set(user_id.to_owned());
    }
}

/// Times the request, then logs it at INFO (target `sessionguard::request`) and records it in
/// `sessionguard_http_request_duration_seconds`.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or(FALLBACK_ROUTE, MatchedPath::as_str).to_owned();
    let method = request.method().clone();
    let user = RequestUser::default();
    request.extensions_mut().insert(user.clone());
    let response = next.run(request).await;
    let took = started.elapsed();
    telemetry::http_request(&route, response.status(), took);
    tracing::info!(
        target: "sessionguard::request",
        %method,
        route,
        status = response.status().as_u16(),
        latency_ms = took.as_secs_f64() * 1000.0,
        user_id = user.0.get().map(String::as_str),
        "answered"
    );
    response
}
