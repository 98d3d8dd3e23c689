//! The browser's side of the watch: the `EventSource` on `GET /api/session_events`, the
//! `BroadcastChannel` to this browser's other tabs, and the move to the sign-in page once the
//! session has ended. Built only for the browser (`hydrate`).

use std::{cell::RefCell, time::Duration};

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue, prelude::Closure};
use web_sys::{BroadcastChannel, EventSource, MessageEvent};

use super::LiveSession;
use crate::{
    current_user::CurrentUserResource,
    model::{EndReason, NewSignIn},
    notice::Notice,
    routes,
};

/// The name of the channel the tabs of one browser talk on.
const CHANNEL: &str = "sessionguard";

/// How long the notice shows on the page before the tab moves to the sign-in page.
const NOTICE_BEFORE_LEAVING_MS: u64 = 1500;

/// How often a reported ending checks whether this tab's own requests have answered.
const SETTLE_POLL: Duration = Duration::from_millis(50);

/// The sign-in page with the notice for `reason`, coming back to `next` afterwards.
fn sign_in_url(reason: EndReason, next: &str) -> String {
    format!("{}?{}&next={next}", routes::LOGIN, Notice::from(reason).to_query())
}

thread_local! {
    static CONNECTION: RefCell<Option<Connection>> = const { RefCell::new(None) };
    /// The handles of the sign-ins this tab has shown an alert for.
    static SIGN_INS_SHOWN: RefCell<std::collections::HashSet<String>> = RefCell::new(std::collections::HashSet::new());
}

/// The open stream and channel, with the handlers they call; closed when dropped.
struct Connection {
    source: EventSource,
    channel: Option<BroadcastChannel>,
    _handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.source.close();
        if let Some(channel) = &self.channel {
            channel.close();
        }
    }
}

/// Opens the connection when `signed_in`, closes it otherwise.
pub fn watch(signed_in: bool, live: LiveSession, user: CurrentUserResource) {
    CONNECTION.with(|connection| {
        let mut connection = connection.borrow_mut();
        if !signed_in {
            *connection = None;
        } else if connection.is_none() {
            *connection = connect(live, user, None);
        }
    });
}

/// Opens the stream and the channel. With `unconfirmed`, the stream is opened to check a
/// reported end: if the server refuses it, the session is gone and the tab says why.
fn connect(live: LiveSession, user: CurrentUserResource, unconfirmed: Option<EndReason>) -> Option<Connection> {
    let source = EventSource::new(routes::SESSION_EVENTS).ok()?;
    let unconfirmed = std::rc::Rc::new(std::cell::Cell::new(unconfirmed));
    let mut handlers = Vec::new();
    let mut on = |target: &web_sys::EventTarget, name: &str, handler: Box<dyn FnMut(web_sys::Event)>| {
        let closure = Closure::wrap(handler);
        let _ = target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        handlers.push(closure);
    };
    on(
        &source,
        "ended",
        Box::new(move |event| {
            if let Some(reason) = reason_in(&event) {
                // Not from inside the handler that is running now: dropping the connection drops it.
                set_timeout(move || when_own_requests_settled(live, move || confirm_ended(live, user, reason)), Duration::ZERO);
            }
        }),
    );
    on(&source, "sessions", Box::new(move |_| live.sessions_changed.update(|n| *n += 1)));
    on(
        &source,
        "new_sign_in",
        Box::new(move |event| {
            if let Some(sign_in) = json_in::<NewSignIn>(&event) {
                // Each sign-in is shown once, even if a reconnected stream tells it again.
                if SIGN_INS_SHOWN.with(|shown| shown.borrow_mut().insert(sign_in.handle.clone())) {
                    live.sign_ins.update(|alerts| alerts.push(sign_in));
                }
            }
        }),
    );
    // `<body data-live="connected">` while the stream is open, for people and tests to see.
    let confirmed = unconfirmed.clone();
    on(
        &source,
        "open",
        Box::new(move |_| {
            confirmed.set(None);
            mark_body("connected");
        }),
    );
    // The server refused the stream (401: the session has ended already; 429: this account
    // has too many tabs open; 503: the instance is at capacity or the database is away; an
    // `EventSource` closes on any status but 200): ask once now, so a session that ended
    // before the stream opened is noticed, then check on focus instead.
    let focus_check = Closure::wrap(Box::new(move |_: web_sys::Event| user.0.refetch()) as Box<dyn FnMut(web_sys::Event)>);
    let source_for_error = source.clone();
    let window = window();
    on(
        &source,
        "error",
        Box::new(move |_| {
            if source_for_error.ready_state() != EventSource::CLOSED {
                return;
            }
            if let Some(reason) = unconfirmed.take() {
                ended(live, reason);
            } else {
                mark_body("off");
                user.0.refetch();
                let _ = window.add_event_listener_with_callback("focus", focus_check.as_ref().unchecked_ref());
            }
        }),
    );
    let channel = BroadcastChannel::new(CHANNEL).ok();
    if let Some(channel) = &channel {
        on(
            channel,
            "message",
            Box::new(move |event| {
                if let Some(reason) = reason_in(&event) {
                    ended(live, reason);
                }
            }),
        );
    }
    Some(Connection { source, channel, _handlers: handlers })
}

/// Sets `<body data-live=…>`.
fn mark_body(state: &str) {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-live", state);
    }
}

/// The [`EndReason`] in a message event's JSON data.
fn reason_in(event: &web_sys::Event) -> Option<EndReason> {
    json_in(event)
}

/// A message event's JSON data, read as `T`.
fn json_in<T: serde::de::DeserializeOwned>(event: &web_sys::Event) -> Option<T> {
    let data = event.dyn_ref::<MessageEvent>()?.data().as_string()?;
    serde_json::from_str(&data).ok()
}

/// Runs `then` once none of this tab's own requests that may cycle or end its session is
/// running: their answers decide whether an ending is this tab's own.
fn when_own_requests_settled(live: LiveSession, then: impl FnOnce() + 'static) {
    let running =
        live.own_requests.with_untracked(|requests| requests.iter().any(|(_, pending)| pending.try_get_untracked().unwrap_or(false)));
    if running {
        set_timeout(move || when_own_requests_settled(live, then), SETTLE_POLL);
    } else {
        then();
    }
}

/// The stream says the session it watched ended. Unless this tab ended it, listens again
/// with the cookie the tab holds now: if the stream opens, the id was replaced by this
/// browser (a password change) and there is nothing to say; if the server refuses it, the
/// session really ended. (Opening the stream changes nothing, not even the cookie.) A tab
/// that has stopped watching meanwhile (it saw itself signed out) has nothing to check.
fn confirm_ended(live: LiveSession, user: CurrentUserResource, reason: EndReason) {
    if live.ended_here.get_untracked() || live.ended.get_untracked().is_some() {
        return;
    }
    CONNECTION.with(|connection| {
        let mut connection = connection.borrow_mut();
        if connection.is_some() {
            *connection = connect(live, user, Some(reason));
        }
    });
}

/// Shows why the session ended, stops listening, and moves to the sign-in page shortly after.
pub fn ended(live: LiveSession, reason: EndReason) {
    if live.ended_here.get_untracked() || live.ended.get_untracked().is_some() {
        return;
    }
    live.ended.set(Some(reason));
    // Not from inside the handler that is running now: dropping the connection drops it.
    set_timeout(|| drop(CONNECTION.with(|connection| connection.borrow_mut().take())), Duration::ZERO);
    set_timeout(
        move || {
            let location = window().location();
            let here = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
            let next = String::from(js_sys::encode_uri_component(&here));
            let _ = location.set_href(&sign_in_url(reason, &next));
        },
        Duration::from_millis(NOTICE_BEFORE_LEAVING_MS),
    );
}

/// Tells this browser's other tabs that the session ended here.
pub fn announce(reason: EndReason) {
    if let (Ok(channel), Ok(data)) = (BroadcastChannel::new(CHANNEL), serde_json::to_string(&reason)) {
        let _ = channel.post_message(&JsValue::from_str(&data));
        channel.close();
    }
}
