//! Live sign-out: every open tab of an ended session hears of it within a second, on any app
//! instance, without polling that would keep the session alive.
//!
//! Each instance has one [`LiveSessions`] hub and one feed of changes from MongoDB
//! ([`feed::spawn`]): a change stream on session deletes and inserts and on security-event inserts
//! when the server offers one, else one batched query a second for all watched users. The hub
//! fans the feed out in memory to the tabs connected to this instance, so the database cost is
//! one feed per instance, whatever the number of tabs.
//!
//! A change event names only a session's storage key; the reason it ended comes from the
//! security event that every ending records right after its delete (a logout names its handle,
//! a revoke the revoked handle, and so on). A deleted session whose reason does not arrive
//! within [`REASON_WAIT`] is reported as [`EndReason::Ended`].
#![deny(missing_docs)]

pub mod feed;

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, MutexGuard, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::mpsc;

use crate::model::{EndReason, SecurityEventKind};

/// How long a deleted session waits for the security event that says why it ended, when the
/// feed is a change stream (events arrive within milliseconds of each other). The polling feed
/// waits a poll longer.
pub const REASON_WAIT: Duration = Duration::from_millis(600);

/// How long list changes are gathered before the user's tabs are told: the deletes of one "log
/// out everywhere" arrive one by one, and a tab whose own session is among them must hear
/// "ended", not "your list changed" (which would make it ask the server and lose the reason).
const LIST_CHANGE_DELAY: Duration = Duration::from_millis(300);

/// How long a recorded ending is kept to explain a delete that is reported after it.
const ENDING_MEMORY: Duration = Duration::from_secs(5);

/// Events a connected tab can wait for before it gives up on delivery: the stream ends after
/// the first `Ended`, so a few are plenty.
const TAB_QUEUE: usize = 8;

/// What a connected tab is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveEvent {
    /// This tab's session has ended, for this reason.
    Ended(EndReason),
    /// The user's list of sessions changed (a sign-in elsewhere, or another session ended).
    SessionsChanged,
}

/// The tab a watcher stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabSession {
    /// The session's storage key (`_id`).
    pub key: String,
    /// The session's owner.
    pub user_id: String,
    /// The session's public handle.
    pub handle: String,
}

/// The hub of one instance: which tabs watch which sessions. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveSessions {
    inner: Arc<Mutex<Watchers>>,
    capacity: usize,
    reason_wait: Arc<AtomicU64>,
    mode: Arc<OnceLock<feed::FeedMode>>,
}

/// Every tab is already connected: new streams are refused (503) and pages check on focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this instance already serves its maximum of {0} live session streams")]
pub struct Full(pub usize);

#[derive(Debug, Default)]
struct Watchers {
    next_id: u64,
    tabs: HashMap<u64, Tab>,
    users: HashMap<String, WatchedUser>,
}

#[derive(Debug)]
struct Tab {
    session: TabSession,
    sender: mpsc::Sender<LiveEvent>,
}

#[derive(Debug, Default)]
struct WatchedUser {
    /// Every session key of the user this instance knows of.
    keys: HashSet<String>,
    /// How many tabs watch this user.
    tabs: usize,
    /// Endings recorded lately: (kind, handle named, when).
    endings: Vec<(SecurityEventKind, Option<String>, Instant)>,
    /// Deleted keys still waiting for their reason.
    pending: HashSet<String>,
    /// Whether a list-change notice is already scheduled.
    list_change_scheduled: bool,
}

/// One connected tab's subscription; dropping it disconnects the tab from the hub.
#[derive(Debug)]
pub struct Watcher {
    id: u64,
    hub: LiveSessions,
    /// The events for this tab.
    pub events: mpsc::Receiver<LiveEvent>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.hub.unwatch(self.id);
    }
}

/// Why `session` ended, judged from a recorded ending `(kind, handle)` of its owner; `None`
/// when that ending was about another session.
fn reason_for(session: &TabSession, kind: SecurityEventKind, handle: Option<&str>) -> Option<EndReason> {
    let names_this = handle == Some(session.handle.as_str());
    match kind {
        SecurityEventKind::Logout if names_this => Some(EndReason::LoggedOutInAnotherTab),
        SecurityEventKind::Revoke if names_this => Some(EndReason::EndedFromAnotherDevice),
        SecurityEventKind::SignOutOthers | SecurityEventKind::PasswordChange if !names_this => Some(EndReason::EndedFromAnotherDevice),
        SecurityEventKind::SessionLimit => Some(EndReason::EndedFromAnotherDevice),
        SecurityEventKind::LogoutEverywhere => Some(EndReason::SignedOutEverywhere),
        _ => None,
    }
}

impl LiveSessions {
    /// A hub that serves at most `capacity` tabs at once (`Config::max_session_streams`).
    pub fn new(capacity: usize) -> Self {
        let reason_wait = Arc::new(AtomicU64::new(u64::try_from(REASON_WAIT.as_millis()).unwrap_or(u64::MAX)));
        Self { inner: Arc::default(), capacity, reason_wait, mode: Arc::default() }
    }

    /// How this instance learns of changes, once its feed has started.
    pub fn feed_mode(&self) -> Option<feed::FeedMode> {
        self.mode.get().copied()
    }

    /// Waits `wait` for the reason of a deletion before reporting a plain end.
    pub fn set_reason_wait(&self, wait: Duration) {
        self.reason_wait.store(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn state(&self) -> MutexGuard<'_, Watchers> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether some tab on this instance already watches `user_id` (so its keys are known).
    pub fn knows_user(&self, user_id: &str) -> bool {
        self.state().users.contains_key(user_id)
    }

    /// The users some tab watches: what the polling feed asks about.
    pub fn watched_users(&self) -> Vec<String> {
        self.state().users.keys().cloned().collect()
    }

    /// How many tabs are connected.
    pub fn tab_count(&self) -> usize {
        self.state().tabs.len()
    }

    /// Connects a tab of `session`. `user_keys` are the user's session keys, needed only when
    /// no tab watches the user yet ([`knows_user`](Self::knows_user)).
    ///
    /// # Errors
    /// [`Full`] when the instance already serves its maximum of tabs.
    pub fn watch(&self, session: TabSession, user_keys: Option<Vec<String>>) -> Result<Watcher, Full> {
        let mut state = self.state();
        if state.tabs.len() >= self.capacity {
            return Err(Full(self.capacity));
        }
        let (sender, events) = mpsc::channel(TAB_QUEUE);
        let user = state.users.entry(session.user_id.clone()).or_default();
        user.tabs += 1;
        user.keys.extend(user_keys.unwrap_or_default());
        user.keys.insert(session.key.clone());
        state.next_id += 1;
        let id = state.next_id;
        state.tabs.insert(id, Tab { session, sender });
        Ok(Watcher { id, hub: self.clone(), events })
    }

    fn unwatch(&self, id: u64) {
        let mut state = self.state();
        let Some(tab) = state.tabs.remove(&id) else { return };
        if let Some(user) = state.users.get_mut(&tab.session.user_id) {
            user.tabs -= 1;
            if user.tabs == 0 {
                state.users.remove(&tab.session.user_id);
            }
        }
    }

    /// A session of `user_id` was created: the user's open security pages refresh their list.
    pub fn session_created(&self, key: &str, user_id: &str) {
        let mut state = self.state();
        let Some(user) = state.users.get_mut(user_id) else { return };
        user.keys.insert(key.to_owned());
        drop(state);
        self.list_changed(user_id);
    }

    /// Tells `user_id`'s tabs, after [`LIST_CHANGE_DELAY`] and once for all the changes in it,
    /// that their list changed; tabs whose own session ended meanwhile are left out.
    fn list_changed(&self, user_id: &str) {
        let mut state = self.state();
        let Some(user) = state.users.get_mut(user_id) else { return };
        if std::mem::replace(&mut user.list_change_scheduled, true) {
            return;
        }
        let hub = self.clone();
        let user_id = user_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(LIST_CHANGE_DELAY).await;
            let mut state = hub.state();
            let Some(user) = state.users.get_mut(&user_id) else { return };
            user.list_change_scheduled = false;
            let live_keys = user.keys.clone();
            for tab in state.tabs.values().filter(|tab| tab.session.user_id == user_id && live_keys.contains(&tab.session.key)) {
                let _ = tab.sender.try_send(LiveEvent::SessionsChanged);
            }
        });
    }

    /// The session stored under `key` was deleted. Its tabs are told why as soon as the reason
    /// is known (at once if it already is, else when its security event arrives, else after
    /// [`REASON_WAIT`]); the owner's other tabs refresh their list.
    pub fn session_deleted(&self, key: &str) {
        let mut state = self.state();
        let Some(user_id) = state.users.iter().find(|(_, user)| user.keys.contains(key)).map(|(id, _)| id.clone()) else { return };
        let now = Instant::now();
        let endings = {
            let Some(user) = state.users.get_mut(&user_id) else { return };
            user.keys.remove(key);
            user.endings.retain(|(_, _, at)| now.duration_since(*at) < ENDING_MEMORY);
            user.endings.clone()
        };
        let session = tab_sessions(&state, key).next().cloned();
        if let Some(session) = session {
            match endings.iter().rev().find_map(|(kind, handle, _)| reason_for(&session, *kind, handle.as_deref())) {
                Some(reason) => notify_key(&state, key, LiveEvent::Ended(reason)),
                None => {
                    if let Some(user) = state.users.get_mut(&user_id) {
                        user.pending.insert(key.to_owned());
                    }
                    let (hub, user_id) = (self.clone(), user_id.clone());
                    let key = key.to_owned();
                    let wait = Duration::from_millis(self.reason_wait.load(Ordering::Relaxed));
                    tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        hub.resolve(&user_id, &key, EndReason::Ended);
                    });
                }
            }
        }
        drop(state);
        self.list_changed(&user_id);
    }

    /// `user_id`'s security log recorded `kind` naming the session `handle`: the reason for a
    /// deletion that was, or will shortly be, reported.
    pub fn ending_recorded(&self, user_id: &str, kind: SecurityEventKind, handle: Option<&str>) {
        let mut state = self.state();
        let pending: Vec<String> = {
            let Some(user) = state.users.get_mut(user_id) else { return };
            user.endings.push((kind, handle.map(str::to_owned), Instant::now()));
            user.pending.iter().cloned().collect()
        };
        for key in pending {
            let reason = tab_sessions(&state, &key).next().and_then(|session| reason_for(session, kind, handle));
            if let Some(reason) = reason {
                notify_key(&state, &key, LiveEvent::Ended(reason));
                if let Some(user) = state.users.get_mut(user_id) {
                    user.pending.remove(&key);
                }
            }
        }
    }

    /// Ends the wait for `key`'s reason, if it is still pending, with `reason`.
    fn resolve(&self, user_id: &str, key: &str, reason: EndReason) {
        let mut state = self.state();
        let was_pending = state.users.get_mut(user_id).is_some_and(|user| user.pending.remove(key));
        if was_pending {
            notify_key(&state, key, LiveEvent::Ended(reason));
        }
    }

    /// The full set of `user_id`'s session keys, as a poll saw it: reports what was created and
    /// deleted since the last look.
    pub fn reconcile(&self, user_id: &str, keys: &HashSet<String>) {
        let (created, deleted) = {
            let state = self.state();
            let Some(user) = state.users.get(user_id) else { return };
            (keys.difference(&user.keys).cloned().collect::<Vec<_>>(), user.keys.difference(keys).cloned().collect::<Vec<_>>())
        };
        for key in created {
            self.session_created(&key, user_id);
        }
        for key in deleted {
            self.session_deleted(&key);
        }
    }
}

/// The sessions of the tabs watching `key`.
fn tab_sessions<'a>(state: &'a Watchers, key: &'a str) -> impl Iterator<Item = &'a TabSession> {
    state.tabs.values().map(|tab| &tab.session).filter(move |session| session.key == key)
}

/// Sends `event` to every tab of `key`. A tab too slow to take it has gone; it is dropped on disconnect.
fn notify_key(state: &Watchers, key: &str, event: LiveEvent) {
    for tab in state.tabs.values().filter(|tab| tab.session.key == key) {
        let _ = tab.sender.try_send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(key: &str, user: &str, handle: &str) -> TabSession {
        TabSession { key: key.into(), user_id: user.into(), handle: handle.into() }
    }

    #[tokio::test]
    async fn a_delete_reaches_only_the_tabs_of_that_session_with_its_reason() {
        let hub = LiveSessions::new(10);
        let mut a1 = hub.watch(tab("ka", "alice", "ha"), Some(vec!["ka".into(), "kb".into()])).unwrap();
        let mut a2 = hub.watch(tab("ka", "alice", "ha"), None).unwrap();
        let mut b = hub.watch(tab("kb", "alice", "hb"), None).unwrap();
        let mut bob = hub.watch(tab("kz", "bob", "hz"), Some(vec!["kz".into()])).unwrap();

        hub.session_deleted("ka");
        hub.ending_recorded("alice", SecurityEventKind::Revoke, Some("ha"));
        for tab in [&mut a1, &mut a2] {
            assert_eq!(tab.events.recv().await, Some(LiveEvent::Ended(EndReason::EndedFromAnotherDevice)));
        }
        assert_eq!(b.events.recv().await, Some(LiveEvent::SessionsChanged), "the owner's other session refreshes its list");
        assert!(a1.events.try_recv().is_err(), "an ended tab is not asked to refresh");
        assert!(b.events.try_recv().is_err(), "and is told nothing else");
        assert!(bob.events.try_recv().is_err(), "other users hear nothing");
    }

    #[tokio::test]
    async fn without_a_recorded_reason_the_tab_hears_a_plain_end() {
        let hub = LiveSessions::new(10);
        let mut a = hub.watch(tab("ka", "alice", "ha"), Some(vec![])).unwrap();
        hub.session_deleted("ka");
        let started = Instant::now();
        assert_eq!(a.events.recv().await, Some(LiveEvent::Ended(EndReason::Ended)));
        assert!(started.elapsed() >= REASON_WAIT);
    }

    #[test]
    fn reasons_follow_the_recorded_ending() {
        let session = tab("k", "u", "mine");
        assert_eq!(reason_for(&session, SecurityEventKind::Logout, Some("mine")), Some(EndReason::LoggedOutInAnotherTab));
        assert_eq!(reason_for(&session, SecurityEventKind::Logout, Some("other")), None);
        assert_eq!(reason_for(&session, SecurityEventKind::SignOutOthers, Some("other")), Some(EndReason::EndedFromAnotherDevice));
        assert_eq!(reason_for(&session, SecurityEventKind::LogoutEverywhere, Some("other")), Some(EndReason::SignedOutEverywhere));
    }

    #[test]
    fn the_hub_is_bounded_and_forgets_disconnected_tabs() {
        let hub = LiveSessions::new(1);
        let first = hub.watch(tab("ka", "alice", "ha"), None).unwrap();
        assert_eq!(hub.watch(tab("kb", "alice", "hb"), None).unwrap_err(), Full(1));
        drop(first);
        assert_eq!(hub.tab_count(), 0);
        assert!(!hub.knows_user("alice"));
        assert!(hub.watch(tab("kb", "alice", "hb"), None).is_ok());
    }
}
