//! `GET /api/session_events`: one server-sent-events stream per open tab, telling it when its
//! session ends and when the user's list of sessions changes.

use std::{convert::Infallible, str::FromStr, time::Duration};

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::stream::{self, Stream};
use sessionguard_store::SessionInfo;
use time::OffsetDateTime;
use tower_sessions::session::Id;

use crate::{
    cookie::session_cookie_value,
    error::AppError,
    live::{LiveEvent, Refused, Tab, Watcher},
    model::EndReason,
    state::AppState,
};

/// How often an idle stream sends a comment, so proxies keep it open.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// How long a tab refused for the server's sake (a full instance, an absent database) is asked to
/// wait before it tries again (`Retry-After`).
const RETRY_AFTER_SECS: u64 = 5;

/// Answers a tab's request to watch its session.
///
/// The session is read without counting as activity (no touch, no cookie refresh), so an open,
/// idle tab lets its session expire at the idle timeout. 401 when the cookie names no live
/// session; 429 ([`AppError::TooManyTabs`]) when the account already holds
/// `Config::max_streams_per_account` streams here; 503 when the database is away, or
/// ([`AppError::LiveBusy`], with `Retry-After`) when the instance serves its maximum of
/// streams. A refused page checks on focus instead. Events: `ended` with the [`EndReason`] as
/// JSON, then the stream closes; `sessions` when the user's list changed; `new_sign_in` with a
/// [`NewSignIn`](crate::model::NewSignIn) as JSON when the account signed in elsewhere. At the session's
/// deadline the session is read once more, because another tab may have extended it: still
/// live, the timer is re-armed; gone, the tab is told `expired`.
///
/// A session that ends while the stream is being set up is still announced: the tab is
/// registered with the hub before the session is read the second time, so its end is either
/// seen by that read or delivered by the feed.
pub async fn session_events(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(id) = session_cookie_value(&headers, &state.config).and_then(|value| Id::from_str(&value).ok()) else {
        return refuse(AppError::NotSignedIn);
    };
    let (session, user_id) = match peek_signed_in(&state, &id).await {
        Ok(Some(found)) => found,
        Ok(None) => return refuse(AppError::SessionEnded),
        Err(err) => return refuse(err.into()),
    };
    let tab = Tab { key: session.key.clone(), user_id: user_id.clone(), handle: session.handle.clone() };
    let watcher = match state.live.watch(tab) {
        Ok(watcher) => watcher,
        Err(refused) => {
            tracing::warn!(%refused, "refused a live session stream");
            return refuse(match refused {
                Refused::AccountFull(_) => AppError::TooManyTabs,
                Refused::InstanceFull(_) => AppError::LiveBusy { retry_after_secs: RETRY_AFTER_SECS },
            });
        }
    };
    if watcher.first_of_user() {
        match state.registry.keys_of(&user_id).await {
            Ok(keys) => state.live.add_keys(&user_id, keys),
            Err(err) => return refuse(err.into()),
        }
    }
    // Registered: from here on the feed reports the session's end to the watcher. An end before
    // that is seen now, and reported through the hub like any other.
    let session = match peek_signed_in(&state, &id).await {
        Ok(Some((again, _))) => again,
        Ok(None) => {
            state.live.session_deleted(&session.key);
            session
        }
        Err(err) => return refuse(err.into()),
    };
    Sse::new(events(state, id, session, watcher)).keep_alive(KeepAlive::new().interval(HEARTBEAT)).into_response()
}

/// The live session with token `id` and its owner; a session nobody signed in to counts as none.
async fn peek_signed_in(state: &AppState, id: &Id) -> Result<Option<(SessionInfo, String)>, sessionguard_store::StoreError> {
    let found = state.registry.peek(id).await?;
    Ok(found.and_then(|session| {
        let user_id = session.user_id.clone()?;
        Some((session, user_id))
    }))
}

fn refuse(error: AppError) -> Response {
    let mut response = (error.status_code(), Json(serde_json::json!({ "error": error, "message": error.to_string() }))).into_response();
    let retry_after = match error.retry_after_secs() {
        Some(secs) => Some(secs),
        None => (error.status_code() == StatusCode::SERVICE_UNAVAILABLE).then_some(RETRY_AFTER_SECS),
    };
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    response
}

/// One tab's event stream between two events: the hub's [`Watcher`] of the tab, and the
/// session's deadline, at which the stream checks for expiry itself (the database removes an
/// expired session only later, so the hub would hear of it late).
struct TabStream {
    state: AppState,
    id: Id,
    deadline: OffsetDateTime,
    watcher: Watcher,
    ended: bool,
}

/// The tab's events: hub events as they come, and the expiry check at the session's deadline.
fn events(state: AppState, id: Id, session: SessionInfo, watcher: Watcher) -> impl Stream<Item = Result<Event, Infallible>> {
    let tab = TabStream { state, id, deadline: session.expires_at, watcher, ended: false };
    stream::unfold(tab, |mut tab| async move {
        if tab.ended {
            return None;
        }
        loop {
            let until_deadline = (tab.deadline - tab.state.clock.now()).try_into().unwrap_or(Duration::ZERO);
            tokio::select! {
                event = tab.watcher.events.recv() => {
                    let event = match event? {
                        LiveEvent::Ended(reason) => ended(&mut tab, reason),
                        LiveEvent::SessionsChanged => Event::default().event("sessions").data("{}"),
                        LiveEvent::NewSignIn(sign_in) => {
                            Event::default().event("new_sign_in").data(serde_json::to_string(&sign_in).unwrap_or_default())
                        }
                    };
                    return Some((Ok(event), tab));
                }
                () = tokio::time::sleep(until_deadline) => {
                    match tab.state.registry.peek(&tab.id).await {
                        Ok(Some(session)) if session.expires_at > tab.deadline => tab.deadline = session.expires_at,
                        Ok(Some(_)) => tab.deadline = tab.state.clock.now() + time::Duration::seconds(1),
                        Ok(None) => {
                            let event = ended(&mut tab, EndReason::Expired);
                            return Some((Ok(event), tab));
                        }
                        Err(err) => {
                            tracing::warn!(%err, "live sign-out: could not check a session at its deadline; retrying");
                            tab.deadline = tab.state.clock.now() + time::Duration::seconds(1);
                        }
                    }
                }
            }
        }
    })
}

fn ended(tab: &mut TabStream, reason: EndReason) -> Event {
    tab.ended = true;
    let data = serde_json::to_string(&reason).unwrap_or_else(|_| "\"ended\"".into());
    Event::default().event("ended").data(data)
}
