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

#[cfg(feature = "hydrate")]
mod browser;

use leptos::prelude::*;

use crate::{
    current_user::use_current_user,
    model::{EndReason, NewSignIn},
};

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
    /// Sign-ins elsewhere that this tab heard of and still shows, oldest first.
    pub sign_ins: RwSignal<Vec<NewSignIn>>,
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
            sign_ins: RwSignal::new(Vec::new()),
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
