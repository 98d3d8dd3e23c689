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
//! security event that every ending records right after its delete, matched by the ended
//! session's handle (a logout or revoke names it; the endings of several sessions list them
//! all). A deleted session whose reason does not arrive within [`REASON_WAIT`] is reported as
//! [`EndReason::Ended`](crate::model::EndReason::Ended).
//!
//! The hub's logic is a plain state machine ([`hub`]), with the matching of endings to sessions
//! in [`reason`]; [`LiveSessions`] runs it behind one mutex, delivers its notices and sets its
//! timers outside the lock.
#![deny(missing_docs)]

pub mod feed;
mod hub;
mod reason;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard, OnceLock},
    time::{Duration, Instant},
};

use tokio::sync::mpsc;

use self::hub::{HubState, Output, TabId, Timer};
pub use self::{
    hub::Refused,
    reason::{ENDING_KINDS, Ending},
};
use crate::model::{EndReason, NewSignIn};

/// How long a deleted session waits for the security event that says why it ended, when the
/// feed is a change stream (events arrive within milliseconds of each other). The polling feed
/// waits a poll longer.
pub const REASON_WAIT: Duration = Duration::from_millis(600);

/// Events a connected tab can wait for before it gives up on delivery: the stream ends after
/// the first `Ended`, so a few are plenty.
const TAB_QUEUE: usize = 8;

/// What a connected tab is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// This tab's session has ended, for this reason.
    Ended(EndReason),
    /// The user's list of sessions changed (a sign-in elsewhere, or another session ended).
    SessionsChanged,
    /// The account signed in elsewhere: a session other than this tab's.
    NewSignIn(NewSignIn),
}

/// An open browser tab, as the hub knows it: the signed-in session it shows. Several tabs may
/// show one session; each connects on its own and is told on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tab {
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
    inner: Arc<Mutex<Shell>>,
    mode: Arc<OnceLock<feed::FeedMode>>,
}

/// The state machine and the tabs' queues, under one lock.
#[derive(Debug)]
struct Shell {
    hub: HubState,
    senders: HashMap<TabId, mpsc::Sender<LiveEvent>>,
}

/// One connected tab's subscription; dropping it disconnects the tab from the hub.
#[derive(Debug)]
pub struct Watcher {
    id: TabId,
    hub: LiveSessions,
    first_of_user: bool,
    /// The events for this tab.
    pub events: mpsc::Receiver<LiveEvent>,
}

impl Watcher {
    /// Whether this is the only tab of its user on this instance, so that the hub knows none of
    /// the user's other sessions yet: the caller should hand them to [`LiveSessions::add_keys`].
    pub fn first_of_user(&self) -> bool {
        self.first_of_user
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let mut shell = self.hub.shell();
        shell.hub.unwatch(self.id);
        shell.senders.remove(&self.id);
    }
}

impl LiveSessions {
    /// A hub that serves at most `capacity` tabs at once (`Config::max_session_streams`), and
    /// at most `per_account` of them for one account (`Config::max_streams_per_account`).
    pub fn new(capacity: usize, per_account: usize) -> Self {
        let shell = Shell { hub: HubState::new(capacity, per_account, REASON_WAIT), senders: HashMap::new() };
        Self { inner: Arc::new(Mutex::new(shell)), mode: Arc::default() }
    }

    /// How this instance learns of changes, once its feed has started.
    pub fn feed_mode(&self) -> Option<feed::FeedMode> {
        self.mode.get().copied()
    }

    /// Waits `wait` for the reason of a deletion before reporting a plain end.
    pub fn set_reason_wait(&self, wait: Duration) {
        self.shell().hub.set_reason_wait(wait);
    }

    fn shell(&self) -> MutexGuard<'_, Shell> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs one step of the state machine: its notices go to the tabs' queues under the lock
    /// (never blocking), its timers are set after the lock is released.
    fn run(&self, step: impl FnOnce(&mut HubState, Instant) -> Vec<Output>) {
        let mut shell = self.shell();
        let outputs = step(&mut shell.hub, Instant::now());
        let mut timers = Vec::new();
        for output in outputs {
            match output {
                // A tab too slow to take a notice has gone, or soon will; it is dropped on
                // disconnect. One too slow to take its ending is disconnected now instead: its
                // stream closes, the browser reconnects, is refused, and learns the session ended
                // (rather than hearing nothing until the session's deadline).
                Output::Tell(id, event) => {
                    if let Some(sender) = shell.senders.get(&id)
                        && let Err(mpsc::error::TrySendError::Full(LiveEvent::Ended(_))) = sender.try_send(event)
                    {
                        shell.senders.remove(&id);
                    }
                }
                Output::WakeAfter(delay, timer) => timers.push((delay, timer)),
            }
        }
        drop(shell);
        self.set_timers(timers);
    }

    fn set_timers(&self, timers: Vec<(Duration, Timer)>) {
        for (delay, timer) in timers {
            let hub = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                hub.run(move |state, _| state.timer(timer));
            });
        }
    }

    /// The users some tab watches: what the polling feed asks about.
    pub fn watched_users(&self) -> Vec<String> {
        self.shell().hub.watched_users()
    }

    /// How many tabs are connected.
    pub fn tab_count(&self) -> usize {
        self.shell().hub.tab_count()
    }

    /// Connects `tab`. From this call on, a delete of its session reaches the watcher; a caller
    /// that read the session before must read it again afterwards and report it with
    /// [`session_deleted`](Self::session_deleted) if it has gone meanwhile.
    ///
    /// # Errors
    /// [`Refused::AccountFull`] when the account already has `Config::max_streams_per_account`
    /// tabs here; [`Refused::InstanceFull`] when the instance serves its maximum of tabs.
    pub fn watch(&self, tab: Tab) -> Result<Watcher, Refused> {
        let mut shell = self.shell();
        let first_of_user = !shell.hub.knows_user(&tab.user_id);
        let id = shell.hub.watch(tab)?;
        let (sender, events) = mpsc::channel(TAB_QUEUE);
        shell.senders.insert(id, sender);
        Ok(Watcher { id, hub: self.clone(), first_of_user, events })
    }

    /// `keys` are session keys of `user_id` (read after its first tab connected): their deletes
    /// will refresh the user's lists.
    pub fn add_keys(&self, user_id: &str, keys: Vec<String>) {
        self.shell().hub.add_keys(user_id, keys);
    }

    /// `user_id` signed in elsewhere: every tab of the account but the new session's own hears
    /// of it.
    pub fn sign_in_recorded(&self, user_id: &str, sign_in: NewSignIn) {
        self.run(|hub, _| hub.sign_in_recorded(user_id, sign_in));
    }

    /// A session of `user_id` was created: the user's open security pages refresh their list.
    pub fn session_created(&self, key: &str, user_id: &str) {
        self.run(|hub, _| hub.session_created(key, user_id));
    }

    /// The session stored under `key` was deleted. Its tabs are told why as soon as the reason
    /// is known (at once if it already is, else when its security event arrives, else after
    /// [`REASON_WAIT`]); the owner's other tabs refresh their list. Reporting a delete twice
    /// tells the tabs once.
    pub fn session_deleted(&self, key: &str) {
        self.run(|hub, now| hub.session_deleted(key, now));
    }

    /// `user_id`'s security log recorded `ending`: the reason for the deletions of the sessions
    /// it names, reported before or shortly after. Other kinds of event are ignored; endings
    /// are kept only for a few seconds.
    pub fn ending_recorded(&self, user_id: &str, ending: Ending) {
        self.run(|hub, now| hub.ending_recorded(user_id, ending, now));
    }

    /// The session keys of `user_id` this instance knows of now: taken before a poll's query,
    /// for [`reconcile`](Self::reconcile).
    pub fn known_keys(&self, user_id: &str) -> HashSet<String> {
        self.shell().hub.known_keys(user_id)
    }

    /// The full set of `user_id`'s session keys, as a poll saw it: reports what was created and
    /// deleted since the last look; only keys in `known_before` can have been deleted.
    pub fn reconcile(&self, user_id: &str, keys: &HashSet<String>, known_before: &HashSet<String>) {
        self.run(|hub, now| hub.reconcile(user_id, keys, known_before, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SecurityEventKind;

    fn tab(key: &str, user: &str, handle: &str) -> Tab {
        Tab { key: key.into(), user_id: user.into(), handle: handle.into() }
    }

    #[tokio::test]
    async fn the_shell_delivers_notices_and_runs_the_timers() {
        let hub = LiveSessions::new(10, 10);
        let mut a = hub.watch(tab("ka", "alice", "ha")).unwrap();
        assert!(a.first_of_user());
        let mut b = hub.watch(tab("kb", "alice", "hb")).unwrap();
        assert!(!b.first_of_user(), "the user's keys are known already");
        let mut bob = hub.watch(tab("kz", "bob", "hz")).unwrap();

        hub.session_deleted("ka");
        let started = Instant::now();
        assert_eq!(a.events.recv().await, Some(LiveEvent::Ended(EndReason::Ended)), "no reason came: a plain end");
        assert!(started.elapsed() >= REASON_WAIT - Duration::from_millis(50));
        assert_eq!(b.events.recv().await, Some(LiveEvent::SessionsChanged), "the owner's other session refreshes its list");
        assert!(a.events.try_recv().is_err(), "an ended tab is not asked to refresh");
        hub.ending_recorded("alice", Ending { kind: SecurityEventKind::Revoke, handle: Some("hb".into()), ended_handles: vec![] });
        hub.session_deleted("kb");
        assert_eq!(b.events.recv().await, Some(LiveEvent::Ended(EndReason::EndedFromAnotherDevice)));
        assert!(bob.events.try_recv().is_err(), "other users hear nothing");
    }

    #[tokio::test]
    async fn a_tab_too_slow_to_take_its_ending_is_disconnected_not_left_waiting() {
        let hub = LiveSessions::new(10, 10);
        let mut slow = hub.watch(tab("ka", "alice", "ha")).unwrap();
        for n in 0..TAB_QUEUE {
            let sign_in = NewSignIn { handle: format!("h{n}"), device: "d".into(), ip: "i".into(), signed_in_at_ms: 0, new_device: false };
            hub.sign_in_recorded("alice", sign_in);
        }
        hub.ending_recorded("alice", Ending { kind: SecurityEventKind::Revoke, handle: Some("ha".into()), ended_handles: vec![] });
        hub.session_deleted("ka");
        for _ in 0..TAB_QUEUE {
            assert!(matches!(slow.events.recv().await, Some(LiveEvent::NewSignIn(_))), "what the queue held is delivered");
        }
        let next = tokio::time::timeout(Duration::from_secs(2), slow.events.recv()).await;
        assert_eq!(next, Ok(None), "then the stream ends, so the browser asks again and is refused");
    }

    #[test]
    fn a_dropped_watcher_frees_its_place() {
        let hub = LiveSessions::new(1, 1);
        let first = hub.watch(tab("ka", "alice", "ha")).unwrap();
        assert_eq!(hub.watch(tab("kb", "alice", "hb")).unwrap_err(), Refused::AccountFull(1));
        assert_eq!(hub.watch(tab("kz", "bob", "hz")).unwrap_err(), Refused::InstanceFull(1));
        drop(first);
        assert_eq!(hub.tab_count(), 0);
        assert!(hub.watched_users().is_empty());
        assert!(hub.watch(tab("kb", "alice", "hb")).is_ok());
    }
}
