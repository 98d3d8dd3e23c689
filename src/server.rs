//! The HTTP router: routes first, then layers, outermost last.

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde_json::json;
use tower_http::{limit::RequestBodyLimitLayer, trace::TraceLayer};

use crate::{
    app::{App, shell},
    auth::{MAX_BODY_BYTES, guard_api},
    cookie::session_layer,
    database,
    state::AppState,
};

/// The whole application: pages, server functions under `/api`, static files, `/healthz`.
///
/// Layers, from the inside out: `no-store` on HTML pages, the API guard (POST only, same origin, no-store), the
/// request-body limit, the session cookie, tracing. The guard sits inside the session layer
/// so a refused request never loads or saves a session.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let render = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    Router::new()
        .route("/healthz", get(healthz))
        .leptos_routes_with_context(&state, routes, context, render)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::map_response(no_store_pages))
        .layer(middleware::from_fn(guard_api))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(session_layer(&state.config, state.store.clone()))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Marks every HTML page `Cache-Control: no-store`: pages show account data, and a page kept in
/// the browser's cache would still show it after logout (the Back button). Static files keep
/// their caching.
async fn no_store_pages(mut response: Response) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// `200 {"mongodb":"ok"}` when MongoDB answers a ping, `503` with the reason otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match database::ping(&state.db).await {
        Ok(_) => (StatusCode::OK, Json(json!({ "mongodb": "ok" }))),
        Err(err) => {
            tracing::warn!(%err, "health check: MongoDB did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "mongodb": "unavailable", "error": "MongoDB did not answer a ping; check MONGODB_URI and that the server is running." })),
            )
        }
    }
}
