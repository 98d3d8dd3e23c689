//! The HTTP router and its middleware: routes first, then layers, outermost last.
#![deny(missing_docs)]

mod api_guard;
mod assets;
mod deadline;
mod headers;
mod observe;
mod session_events;

pub use self::{
    api_guard::MAX_BODY_BYTES,
    assets::{AssetsError, use_hashed_names},
    observe::RequestUser,
};
use crate::{
    app::{App, shell},
    cookie::{complete_removal_cookie, session_layer},
    db, routes,
    state::AppState,
};
use axum::{Json, Router, extract::State, http::StatusCode, middleware, response::IntoResponse, routing::get};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde_json::json;

/// The path prefix under which server functions live (Leptos' default, `/api`).
const API_PREFIX: &str = "/api/";

/// The whole application: pages, server functions under `/api`, the bundle under `/pkg` (served
/// precompressed and cached by name, `assets`), other static files, `/healthz`.
///
/// Layers, from the inside out:
/// 1. the API guard: POST only, same origin, bounded body (`api_guard`);
/// 2. the session cookie (tower-sessions); the guard sits inside it, so a refused request
///    never loads or saves a session;
/// 3. the complete removal cookie, so a `__Host-` cookie really goes at logout (`cookie`), and
///    the deadline: a request still waiting on the database after `REQUEST_TIMEOUT_SECS` is
///    answered 503; a read is dropped, a change runs on to its end (`deadline`);
///    (the bundle under `/pkg` joins here: it never touches the session or its cookie);
/// 4. `Cache-Control: no-store` on pages and API answers (`headers`);
/// 5. the security headers: content security policy, nosniff, referrer policy, HSTS (`headers`);
/// 6. compression, brotli or gzip, of every answer but the live stream and what the build
///    compressed already, and `Vary: Accept-Encoding` on every answer (`assets`);
/// 7. outermost, one log line and one latency sample per answer, by route pattern (`observe`).
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            headers::set_page_policy();
        }
    };
    let render = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route(routes::SESSION_EVENTS, get(session_events::session_events))
        .leptos_routes_with_context(&state, routes, context.clone(), render)
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(middleware::from_fn_with_state(state.config.clone(), api_guard::guard_api))
        .layer(session_layer(&state.config, state.store.clone()))
        .layer(middleware::map_response_with_state(state.config.clone(), complete_removal_cookie))
        // Added after the session layers, so that no answer cached for a year carries a cookie.
        .nest_service(&format!("/{}", state.leptos_options.site_pkg_dir), assets::package_files(&state.leptos_options))
        .layer(middleware::from_fn_with_state(state.clone(), deadline::answer_in_time))
        .layer(middleware::from_fn(headers::no_store));
    headers::with_security_headers(router, &state.config)
        .layer(assets::compression())
        .layer(assets::vary_on_encoding())
        .layer(middleware::from_fn(observe::observe))
        .with_state(state)
}

/// `200 {"mongodb":"ok","live":{"feed":…,"tabs":…}}` when MongoDB answers a ping (the live
/// feed's mode, `change_stream` or `polling`, and the tabs connected to this instance), `503`
/// with the reason otherwise. The full picture is on `METRICS_ADDR` (`crate::telemetry`).
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match db::ping(&state.db).await {
        Ok(_) => {
            let live = json!({ "feed": state.live.feed_mode(), "tabs": state.live.tab_count() });
            (StatusCode::OK, Json(json!({ "mongodb": "ok", "live": live })))
        }
        Err(err) => {
            tracing::warn!(%err, "health check: MongoDB did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({ "mongodb": "unavailable", "error": "MongoDB did not answer a ping; check MONGODB_URI and that the server is running." }),
                ),
            )
        }
    }
}
