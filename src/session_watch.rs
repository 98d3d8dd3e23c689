//! Live sign-out in the browser: while signed in, each tab listens to
//! `GET /api/session_events` and to the other tabs of this browser (a `BroadcastChannel`). When
//! its session ends, however and wherever, the page says why at once and then moves to the
//! sign-in page, keeping where the user was as `next`. Without JavaScript nothing of this runs,
//! and the next request gets the usual "Your session ended" flow.

use leptos::prelude::*;

use crate::{current_user::use_current_user, model::EndReason, notice::Notice};

/// What the tab knows about its session, shared through context by the layout.
#[derive(Debug, Clone, Copy)]
pub struct LiveSession {
    /// Set when the session ended while the page was open.
    pub ended: RwSignal<Option<EndReason>>,
    /// Bumped when the user's list of sessions changed elsewhere: the security page refetches.
    pub sessions_changed: RwSignal<u32>,
    /// Set while this tab is ending its own session (logout, log out everywhere), so the news of
    /// that end, coming back from the server, is not mistaken for an end elsewhere.
    pub ending_here: RwSignal<bool>,
    /// Whether this tab has seen its user signed in: a later "not signed in" then means the
    /// session ended, even when the cookie was already removed by an earlier answer.
    pub was_signed_in: RwSignal<bool>,
}

impl LiveSession {
    /// Creates the state and provides it as context; call once, in the layout.
    pub fn provide() -> Self {
        let live = Self {
            ended: RwSignal::new(None),
            sessions_changed: RwSignal::new(0),
            ending_here: RwSignal::new(false),
            was_signed_in: RwSignal::new(false),
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

/// While `pending()` says this tab is ending its own session, marks it so; once `succeeded()`,
/// tells the browser's other tabs at once (`reason`); after a failure, watches again.
pub fn end_here_while(live: LiveSession, pending: impl Fn() -> bool + 'static, succeeded: impl Fn() -> bool + 'static, reason: EndReason) {
    Effect::new(move |_| {
        let (pending, succeeded) = (pending(), succeeded());
        if succeeded {
            LiveSession::announce_end_here(reason);
        }
        live.ending_here.set(pending || succeeded);
    });
}

/// The state provided by [`LiveSession::provide`].
pub fn use_live_session() -> LiveSession {
    expect_context::<LiveSession>()
}

/// Watches the session while signed in, and shows why it ended when it does.
#[component]
pub fn SessionWatch() -> impl IntoView {
    let live = use_live_session();
    let user = use_current_user();
    Effect::new(move |_| {
        let Some(Ok(me)) = user.0.get() else { return };
        let signed_in = me.is_some();
        if signed_in {
            live.was_signed_in.set(true);
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
    move || {
        live.ended.get().map(|reason| {
            view! { <p class="notice notice-error" role="alert" data-testid="session-ended">{Notice::from(reason).message()}</p> }
        })
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;

    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, JsValue, prelude::Closure};
    use web_sys::{BroadcastChannel, EventSource, MessageEvent};

    use super::LiveSession;
    use crate::{current_user::CurrentUserResource, model::EndReason, notice::Notice, routes};

    /// The name of the channel the tabs of one browser talk on.
    const CHANNEL: &str = "sessionguard";

    /// How long the notice shows on the page before the tab moves to the sign-in page.
    const NOTICE_BEFORE_LEAVING_MS: u64 = 1500;

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
                *connection = connect(live, user);
            }
        });
    }

    fn connect(live: LiveSession, user: CurrentUserResource) -> Option<Connection> {
        let source = EventSource::new(routes::SESSION_EVENTS).ok()?;
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
                    ended(live, reason);
                }
            }),
        );
        on(&source, "sessions", Box::new(move |_| live.sessions_changed.update(|n| *n += 1)));
        // `<body data-live="connected">` while the stream is open, for people and tests to see.
        on(&source, "open", Box::new(|_| mark_body("connected")));
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
                if source_for_error.ready_state() == EventSource::CLOSED {
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

    /// Shows why the session ended, stops listening, and moves to the sign-in page shortly after.
    pub fn ended(live: LiveSession, reason: EndReason) {
        if live.ending_here.get_untracked() || live.ended.get_untracked().is_some() {
            return;
        }
        live.ended.set(Some(reason));
        // Not from inside the handler that is running now: dropping the connection drops it.
        set_timeout(|| drop(CONNECTION.with(|connection| connection.borrow_mut().take())), std::time::Duration::ZERO);
        set_timeout(
            move || {
                let location = window().location();
                let here = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
                let next = String::from(js_sys::encode_uri_component(&here));
                let _ = location.set_href(&sign_in_url(reason, &next));
            },
            std::time::Duration::from_millis(NOTICE_BEFORE_LEAVING_MS),
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
