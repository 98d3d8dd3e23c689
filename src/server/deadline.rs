//! A deadline for every request: a database that accepts connections but never answers must
//! not hang the browser, and a deadline must never cut a change in half.
//!
//! Dropping a future does not undo a command MongoDB already received. So a request that may
//! change state (every `POST`) runs in a task of its own and always runs to its end: the
//! deadline only decides when the browser is answered. A read (`GET`, `HEAD`) changes nothing
//! that matters when cut (at most a touch), so it is simply dropped at the deadline.
//!
//! A change's body is read in full, within the deadline, before its task starts: a client that
//! sends its headers and then nothing must not hold a place among the changes in flight.

use std::str::FromStr;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use tokio::sync::oneshot;
use tower_sessions::{cookie::Cookie, session::Id};

use super::{API_PREFIX, MAX_BODY_BYTES};
use crate::{
    cookie::cookie_name,
    error::{AppError, BadInput, Outage},
    state::AppState,
};

/// How many changes may be running at once on one instance, answered or not. Beyond it a new
/// change is refused before it starts (503), so a hung database cannot pile up work without
/// bound; a refused change never began, so it leaves nothing half done.
pub const MAX_CHANGES_IN_FLIGHT: usize = 1024;

/// Answers the request, or 503 with `Retry-After` once `Config::request_timeout` has passed.
///
/// A read is dropped at the deadline. A change (any method but `GET` and `HEAD`) is not: once
/// its whole body has arrived (408 if it does not within the deadline, 413 if it is over
/// [`MAX_BODY_BYTES`]), it runs to its end in a task tracked by [`AppState::unfinished`], and a
/// late answer is discarded. The 503 then says the change may still complete. If that
/// discarded answer would have handed the browser a new session cookie, the session is ended
/// at once, because nobody will ever hold its cookie. API calls get the JSON error; pages a
/// short HTML page.
pub async fn answer_in_time(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with(API_PREFIX);
    let path = request.uri().path().to_owned();
    let timeout = state.config.request_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return match tokio::time::timeout_at(deadline, next.run(request)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(%path, ?timeout, "read timed out waiting on the database; answered 503");
                unavailable(AppError::Unavailable(Outage::Database), is_api)
            }
        };
    }
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return answer_with(AppError::BadInput(BadInput::TooLarge), is_api),
        Err(_) => {
            tracing::warn!(%path, "a change's body did not arrive within the deadline; answered 408");
            return answer_with(AppError::BadInput(BadInput::Incomplete), is_api);
        }
    };
    if state.unfinished.len() >= MAX_CHANGES_IN_FLIGHT {
        tracing::warn!(%path, "{MAX_CHANGES_IN_FLIGHT} changes are still running; refused a new one before it started");
        return unavailable(AppError::Unavailable(Outage::Overloaded), is_api);
    }
    let (answer, mut answered) = oneshot::channel();
    let work = next.run(Request::from_parts(parts, Body::from(body)));
    let finishing = state.clone();
    state.unfinished.spawn(async move {
        let undelivered_session = match answer.send(work.await) {
            Ok(()) => None,
            Err(undelivered) => session_set_by(&finishing, &undelivered),
        };
        if let Some(id) = undelivered_session {
            end_undelivered_session(&finishing, &id).await;
        }
    });
    match tokio::time::timeout_at(deadline, &mut answered).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => {
            tracing::error!(%path, "a request's task ended without an answer (it panicked)");
            unavailable(AppError::Internal, is_api)
        }
        Err(_) => {
            // Closed first, so an answer sent from now on fails and its session is ended by the
            // task; one that arrived just before is still delivered.
            answered.close();
            if let Ok(response) = answered.try_recv() {
                return response;
            }
            tracing::warn!(%path, ?timeout, "change still running at the deadline; answered 503 and let it finish");
            unavailable(AppError::Unavailable(Outage::MayStillComplete), is_api)
        }
    }
}

/// The session whose cookie `response` sets, if it sets one.
fn session_set_by(state: &AppState, response: &Response) -> Option<Id> {
    let name = cookie_name(&state.config);
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| Cookie::parse(value.to_str().ok()?).ok())
        .filter(|cookie| cookie.name() == name && !cookie.value().is_empty())
        .find_map(|cookie| Id::from_str(cookie.value()).ok())
}

/// Ends the session `id` whose cookie went out only in an answer the browser never got (it got
/// a 503 instead): nobody holds it, so it must not outlive its request.
async fn end_undelivered_session(state: &AppState, id: &Id) {
    match state.registry.end(id).await {
        Ok(_) => tracing::info!("ended a session whose answer came after the deadline and never reached the browser"),
        Err(err) => tracing::warn!(%err, "could not end a session whose answer never reached the browser; it expires unused"),
    }
}

/// The answer for `error` in the caller's format, with `Retry-After`.
fn unavailable(error: AppError, is_api: bool) -> Response {
    let mut response = answer_with(error, is_api);
    let retry_after = error.retry_after_secs().unwrap_or(5);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// The answer for `error` in the caller's format: the JSON error for API calls, a short HTML
/// page saying the same otherwise.
fn answer_with(error: AppError, is_api: bool) -> Response {
    if is_api {
        (error.status_code(), [(header::CONTENT_TYPE, "application/json")], error.to_json()).into_response()
    } else {
        let page = format!("<!DOCTYPE html><html lang=\"en\"><title>Unavailable · sessionguard</title><p>{error}</p></html>");
        (error.status_code(), Html(page)).into_response()
    }
}
