//! Live sign-out in the browser: while signed in, each tab listens to
//! `GET /api/session_events` and to the other tabs of this browser (a `BroadcastChannel`). When
//! its session ends, however and wherever, the page says why at once and then moves to the
//! sign-in page, keeping where the user was as `next`. Without JavaScript nothing of this runs,
//! and the next request gets the usual "Your session ended" flow.
//!
//! **Own endings.** A tab that cycles or ends its own session (logout, password change, log
//! out everywhere, revoking its own row, deleting the account) knows it, and is never told
//! that its session ended elsewhere. Two rules make that hold for every action, not only for
//! the ones that remember to say so:
//! - The stream watches the session id the tab held when it connected. Its news that this id
//!   ended is checked before it is shown: once none of this tab's own requests is running, the
//!   tab opens the stream again with the cookie it holds now. If the stream opens, the id was
//!   replaced by this tab (or by another tab of this browser, which shares the cookie): the tab
//!   listens on the session it holds now and says nothing. If the server refuses it, the
//!   session really ended, and the tab says why.
//! - A tab that ended its own session ignores every later report of that end (it is moving
//!   to the sign-in page with its own message), until it is signed in again.
//!
//! Pages register their actions with [`own_request`] (may cycle the session) or [`own_ending`]
//! (ends it when it succeeds).

use leptos::prelude::*;

use crate::{current_user::use_current_user, model::EndReason};

/// What the tab knows about its session, shared through context by the layout.
#[derive(Debug, Clone, Copy)]
pub struct LiveSession {
    /// Set when the session ended while the page was open.
    pub ended: RwSignal<Option<EndReason>>,
    /// Bumped when the user's list of sessions changed elsewhere: the security page refetches.
    pub sessions_changed: RwSignal<u32>,
    /// Set once this tab has ended its own session, so the news of that end, coming back from
    /// the server, is not mistaken for an end elsewhere. Cleared when the tab, having seen
    /// itself signed out, sees itself signed in again.
    pub ended_here: RwSignal<bool>,
    /// Whether this tab has seen its user signed in: a later "not signed in" then means the
    /// session ended, even when the cookie was already removed by an earlier answer.
    pub was_signed_in: RwSignal<bool>,
    /// The `pending` signals of this tab's own requests that may cycle or end its session.
    own_requests: RwSignal<Vec<(u64, Signal<bool>)>>,
}

impl LiveSession {
    /// Creates the state and provides it as context; call once, in the layout.
    pub fn provide() -> Self {
        let live = Self {
            ended: RwSignal::new(None),
            sessions_changed: RwSignal::new(0),
            ended_here: RwSignal::new(false),
            was_signed_in: RwSignal::new(false),
            own_requests: RwSignal::new(Vec::new()),
        };
        provide_context(live);
        live
    }

    /// Tells the other tabs of this browser that this tab ended the session, at once.
    pub fn announce_end_here(reason: EndReason) {
        #[cfg(feature = "hydrate")]
        browser::announce(reason);
        #[cfg(not(feature = "hydrate"))]
        let _ = reason;
    }
}

/// Registers a request of this tab that may cycle its own session (a password change gives this
/// device a new session id): while `pending` is true, news that the session ended waits, and is
/// then checked against the session this tab holds. Unregistered when the calling component
/// goes away.
pub fn own_request(live: LiveSession, pending: impl Into<Signal<bool>>) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pending = pending.into();
    live.own_requests.update_untracked(|requests| requests.push((id, pending)));
    on_cleanup(move || {
        let _ = live.own_requests.try_update_untracked(|requests| requests.retain(|(other, _)| *other != id));
    });
}

/// Registers a request of this tab that ends its own session once `succeeded()`: like
/// [`own_request`] while `pending`, and once it succeeded, every report of this session's end
/// is ignored and the browser's other tabs are told at once (`reason`).
pub fn own_ending(live: LiveSession, pending: impl Into<Signal<bool>>, succeeded: impl Fn() -> bool + 'static, reason: EndReason) {
    own_request(live, pending);
    Effect::new(move |_| {
        if succeeded() {
            live.ended_here.set(true);
            LiveSession::announce_end_here(reason);
        }
    });
}

/// The state provided by [`LiveSession::provide`].
pub fn use_live_session() -> LiveSession {
    expect_context::<LiveSession>()
}

/// Watches the session while signed in, and sets [`LiveSession::ended`] when it ends; each
/// page shows why in its notice, under its heading.
#[component]
pub fn SessionWatch() -> impl IntoView {
    let live = use_live_session();
    let user = use_current_user();
    // Whether the tab has seen itself signed out since it last saw itself signed in.
    let seen_signed_out = StoredValue::new(false);
    Effect::new(move |_| {
        let Some(Ok(me)) = user.0.get() else { return };
        let signed_in = me.is_some();
        if signed_in {
            live.was_signed_in.set(true);
            // Signed in again after being signed out: a session this tab ends from now on is a
            // new one, watched afresh.
            if seen_signed_out.get_value() {
                seen_signed_out.set_value(false);
                live.ended_here.set(false);
            }
        } else {
            seen_signed_out.set_value(true);
        }
        #[cfg(feature = "hydrate")]
        {
            browser::watch(signed_in, live, user);
            // Signed in a moment ago and not any more, without this tab ending it: it ended elsewhere.
            if !signed_in && live.was_signed_in.get_untracked() {
                browser::ended(live, EndReason::Ended);
            }
        }
    });
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::{cell::RefCell, time::Duration};

    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, JsValue, prelude::Closure};
    use web_sys::{BroadcastChannel, EventSource, MessageEvent};

    use super::LiveSession;
    use crate::{current_user::CurrentUserResource, model::EndReason, notice::Notice, routes};

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
}
