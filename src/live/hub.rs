//! The hub's logic as a plain state machine: which tabs watch which sessions, and what each
//! change means for them. Changes go in, with the time they happened; notices for tabs and
//! timers to set come out. No lock, task or clock here: [`super::LiveSessions`] runs it.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use super::{LiveEvent, TabSession};
use crate::model::{EndReason, SecurityEventKind};

/// How long a recorded ending is kept to explain a delete that is reported after it. Endings
/// are matched to sessions by handle, so this bounds memory, not correctness: it only has to
/// outlast the gap between a delete and its security event.
const ENDING_MEMORY: Duration = Duration::from_secs(5);

/// How long list changes are gathered before the user's tabs are told: the deletes of one "log
/// out everywhere" arrive one by one, and a tab whose own session is among them must hear
/// "ended", not "your list changed" (which would make it ask the server and lose the reason).
const LIST_CHANGE_DELAY: Duration = Duration::from_millis(300);

/// The security events that end sessions: the only ones the hub keeps.
pub const ENDING_KINDS: [SecurityEventKind; 6] = [
    SecurityEventKind::Logout,
    SecurityEventKind::Revoke,
    SecurityEventKind::SignOutOthers,
    SecurityEventKind::LogoutEverywhere,
    SecurityEventKind::PasswordChange,
    SecurityEventKind::SessionLimit,
];

/// A connected tab's number within its hub.
pub(super) type TabId = u64;

/// An ending as the security log recorded it: what explains why a deleted session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// What happened.
    pub kind: SecurityEventKind,
    /// The session the event names: the one logged out or revoked, or the one that acted.
    pub handle: Option<String>,
    /// The sessions the action ended, for actions that end several (sign out others, password
    /// change, session limit, log out everywhere).
    pub ended_handles: Vec<String>,
}

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The account already has its maximum of open tabs on this instance (429): one account
    /// cannot take the streams every other account needs.
    #[error("this account already has its maximum of {0} live session streams on this instance")]
    AccountFull(usize),
    /// The instance already serves its maximum of tabs (503).
    #[error("this instance already serves its maximum of {0} live session streams")]
    InstanceFull(usize),
}

/// What the hub asks of the shell that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Output {
    /// Send `LiveEvent` to the tab.
    Tell(TabId, LiveEvent),
    /// Call [`HubState::timer`] with this timer after the delay.
    WakeAfter(Duration, Timer),
}

/// A timer the hub set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Timer {
    /// The wait for the reason why `user_id`'s session `key` ended is over: if none came, its
    /// tabs hear a plain end.
    Reason {
        /// The owner.
        user_id: String,
        /// The deleted session.
        key: String,
    },
    /// Tell `user_id`'s tabs that their list changed.
    ListChange {
        /// The user.
        user_id: String,
    },
}

#[derive(Debug, Default)]
struct WatchedUser {
    /// This user's tabs.
    tabs: HashSet<TabId>,
    /// Every session key of the user this instance knows of (each also in `owners`).
    keys: HashSet<String>,
    /// Endings recorded in the last [`ENDING_MEMORY`], oldest first.
    endings: Vec<(Ending, Instant)>,
    /// Deleted keys still waiting for their reason.
    pending: HashSet<String>,
    /// Whether a list-change notice is already scheduled.
    list_change_scheduled: bool,
}

impl WatchedUser {
    fn forget_old_endings(&mut self, now: Instant) {
        self.endings.retain(|(_, at)| now.saturating_duration_since(*at) < ENDING_MEMORY);
    }
}

/// The state of one instance's hub.
#[derive(Debug)]
pub(super) struct HubState {
    capacity: usize,
    per_account: usize,
    reason_wait: Duration,
    next_id: TabId,
    tabs: HashMap<TabId, TabSession>,
    /// The tabs watching each session key.
    by_key: HashMap<String, HashSet<TabId>>,
    /// The owner of every known session key, so that a delete (which names only the key) finds
    /// its user without a scan.
    owners: HashMap<String, String>,
    users: HashMap<String, WatchedUser>,
}

/// Why `session` ended, judged from a recorded `ending` of its owner; `None` when that ending
/// was about other sessions. Matched by the session's handle, never by time.
fn reason_for(session: &TabSession, ending: &Ending) -> Option<EndReason> {
    let named = ending.handle.as_deref() == Some(session.handle.as_str());
    let ended = ending.ended_handles.contains(&session.handle);
    match ending.kind {
        SecurityEventKind::Logout if named => Some(EndReason::LoggedOutInAnotherTab),
        SecurityEventKind::Revoke if named => Some(EndReason::EndedFromAnotherDevice),
        SecurityEventKind::SignOutOthers | SecurityEventKind::PasswordChange | SecurityEventKind::SessionLimit if ended => {
            Some(EndReason::EndedFromAnotherDevice)
        }
        SecurityEventKind::LogoutEverywhere if ended => Some(EndReason::SignedOutEverywhere),
        _ => None,
    }
}

impl HubState {
    /// A hub for at most `capacity` tabs, `per_account` of them for one account, that waits
    /// `reason_wait` for a deletion's reason.
    pub fn new(capacity: usize, per_account: usize, reason_wait: Duration) -> Self {
        Self {
            capacity,
            per_account,
            reason_wait,
            next_id: 0,
            tabs: HashMap::new(),
            by_key: HashMap::new(),
            owners: HashMap::new(),
            users: HashMap::new(),
        }
    }

    /// Waits `wait` for the reason of a deletion before a plain end, from the next deletion on.
    pub fn set_reason_wait(&mut self, wait: Duration) {
        self.reason_wait = wait;
    }

    /// Whether some tab watches `user_id`.
    pub fn knows_user(&self, user_id: &str) -> bool {
        self.users.contains_key(user_id)
    }

    /// The users some tab watches.
    pub fn watched_users(&self) -> Vec<String> {
        self.users.keys().cloned().collect()
    }

    /// The session keys of `user_id` this hub knows of now.
    pub fn known_keys(&self, user_id: &str) -> HashSet<String> {
        self.users.get(user_id).map(|user| user.keys.clone()).unwrap_or_default()
    }

    /// How many tabs are connected.
    pub fn tab_count(&self) -> usize {
        self.tabs.len()
    }

    /// Connects a tab of `session`, whose key is known from now on. The account's cap is
    /// checked before the instance's.
    pub fn watch(&mut self, session: TabSession) -> Result<TabId, Refused> {
        let account_tabs = self.users.get(&session.user_id).map_or(0, |user| user.tabs.len());
        if account_tabs >= self.per_account {
            return Err(Refused::AccountFull(self.per_account));
        }
        if self.tabs.len() >= self.capacity {
            return Err(Refused::InstanceFull(self.capacity));
        }
        self.next_id += 1;
        let id = self.next_id;
        let user = self.users.entry(session.user_id.clone()).or_default();
        user.tabs.insert(id);
        user.keys.insert(session.key.clone());
        self.owners.insert(session.key.clone(), session.user_id.clone());
        self.by_key.entry(session.key.clone()).or_default().insert(id);
        self.tabs.insert(id, session);
        Ok(id)
    }

    /// Adds `keys` to what is known of `user_id`'s sessions, if some tab watches the user.
    pub fn add_keys(&mut self, user_id: &str, keys: Vec<String>) {
        let Some(user) = self.users.get_mut(user_id) else { return };
        for key in keys {
            self.owners.insert(key.clone(), user_id.to_owned());
            user.keys.insert(key);
        }
    }

    /// Disconnects the tab `id`; a user without tabs is forgotten with all its keys.
    pub fn unwatch(&mut self, id: TabId) {
        let Some(session) = self.tabs.remove(&id) else { return };
        if let Some(tabs) = self.by_key.get_mut(&session.key) {
            tabs.remove(&id);
            if tabs.is_empty() {
                self.by_key.remove(&session.key);
            }
        }
        let Some(user) = self.users.get_mut(&session.user_id) else { return };
        user.tabs.remove(&id);
        if user.tabs.is_empty()
            && let Some(user) = self.users.remove(&session.user_id)
        {
            for key in user.keys {
                self.owners.remove(&key);
            }
        }
    }

    /// A session of `user_id` was created: the user's tabs will hear that their list changed.
    pub fn session_created(&mut self, key: &str, user_id: &str) -> Vec<Output> {
        let Some(user) = self.users.get_mut(user_id) else { return Vec::new() };
        user.keys.insert(key.to_owned());
        self.owners.insert(key.to_owned(), user_id.to_owned());
        self.list_changed(user_id)
    }

    /// The session stored under `key` was deleted. Its tabs are told why at once if a recorded
    /// ending names it, else when one does, else plainly after the reason wait; the owner's
    /// other tabs will hear that their list changed. A key deleted twice is told once.
    pub fn session_deleted(&mut self, key: &str, now: Instant) -> Vec<Output> {
        let Some(user_id) = self.owners.remove(key) else { return Vec::new() };
        let Some(user) = self.users.get_mut(&user_id) else { return Vec::new() };
        user.keys.remove(key);
        user.forget_old_endings(now);
        let mut outputs = Vec::new();
        if let Some(session) = session_of(&self.by_key, &self.tabs, key) {
            match user.endings.iter().rev().find_map(|(ending, _)| reason_for(session, ending)) {
                Some(reason) => outputs.extend(tell(&self.by_key, key, LiveEvent::Ended(reason))),
                None => {
                    user.pending.insert(key.to_owned());
                    outputs.push(Output::WakeAfter(self.reason_wait, Timer::Reason { user_id: user_id.clone(), key: key.to_owned() }));
                }
            }
        }
        outputs.extend(self.list_changed(&user_id));
        outputs
    }

    /// `user_id`'s security log recorded `ending`: the reason for deletions that were, or will
    /// shortly be, reported. Kept for [`ENDING_MEMORY`] only if its kind ends sessions and some
    /// tab watches the user; older endings are dropped on every insert.
    pub fn ending_recorded(&mut self, user_id: &str, ending: Ending, now: Instant) -> Vec<Output> {
        if !ENDING_KINDS.contains(&ending.kind) {
            return Vec::new();
        }
        let Some(user) = self.users.get_mut(user_id) else { return Vec::new() };
        user.forget_old_endings(now);
        let explained: Vec<(String, EndReason)> = user
            .pending
            .iter()
            .filter_map(|key| Some((key.clone(), reason_for(session_of(&self.by_key, &self.tabs, key)?, &ending)?)))
            .collect();
        user.endings.push((ending, now));
        let mut outputs = Vec::new();
        for (key, reason) in explained {
            user.pending.remove(&key);
            outputs.extend(tell(&self.by_key, &key, LiveEvent::Ended(reason)));
        }
        outputs
    }

    /// A timer the hub set has run out.
    pub fn timer(&mut self, timer: Timer) -> Vec<Output> {
        match timer {
            Timer::Reason { user_id, key } => {
                let was_pending = self.users.get_mut(&user_id).is_some_and(|user| user.pending.remove(&key));
                if was_pending { tell(&self.by_key, &key, LiveEvent::Ended(EndReason::Ended)) } else { Vec::new() }
            }
            Timer::ListChange { user_id } => {
                let Some(user) = self.users.get_mut(&user_id) else { return Vec::new() };
                user.list_change_scheduled = false;
                user.tabs
                    .iter()
                    .filter(|id| self.tabs.get(*id).is_some_and(|tab| user.keys.contains(&tab.key)))
                    .map(|id| Output::Tell(*id, LiveEvent::SessionsChanged))
                    .collect()
            }
        }
    }

    /// The full set of `user_id`'s session keys, as a poll saw it: reports what was created and
    /// deleted since the last look. Only keys in `known_before` (what the hub knew when the poll's
    /// query was sent) can be reported deleted: a session created while the query ran is simply
    /// missing from its answer, and must not be told it ended.
    pub fn reconcile(&mut self, user_id: &str, keys: &HashSet<String>, known_before: &HashSet<String>, now: Instant) -> Vec<Output> {
        let Some(user) = self.users.get(user_id) else { return Vec::new() };
        let created: Vec<String> = keys.difference(&user.keys).cloned().collect();
        let deleted: Vec<String> = user.keys.difference(keys).filter(|key| known_before.contains(*key)).cloned().collect();
        let mut outputs = Vec::new();
        for key in created {
            outputs.extend(self.session_created(&key, user_id));
        }
        for key in deleted {
            outputs.extend(self.session_deleted(&key, now));
        }
        outputs
    }

    /// Schedules one list-change notice for `user_id`'s tabs, unless one is already due.
    fn list_changed(&mut self, user_id: &str) -> Vec<Output> {
        let Some(user) = self.users.get_mut(user_id) else { return Vec::new() };
        if std::mem::replace(&mut user.list_change_scheduled, true) {
            return Vec::new();
        }
        vec![Output::WakeAfter(LIST_CHANGE_DELAY, Timer::ListChange { user_id: user_id.to_owned() })]
    }

    /// How many endings of `user_id` are kept (for tests of the memory bound).
    #[cfg(test)]
    fn endings_kept(&self, user_id: &str) -> usize {
        self.users.get(user_id).map_or(0, |user| user.endings.len())
    }
}

/// The session the tabs of `key` stand for (they all share it).
fn session_of<'a>(by_key: &HashMap<String, HashSet<TabId>>, tabs: &'a HashMap<TabId, TabSession>, key: &str) -> Option<&'a TabSession> {
    by_key.get(key)?.iter().find_map(|id| tabs.get(id))
}

/// `event` for every tab of the session `key`.
fn tell(by_key: &HashMap<String, HashSet<TabId>>, key: &str, event: LiveEvent) -> Vec<Output> {
    by_key.get(key).into_iter().flatten().map(|id| Output::Tell(*id, event)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(600);

    fn tab(key: &str, user: &str, handle: &str) -> TabSession {
        TabSession { key: key.into(), user_id: user.into(), handle: handle.into() }
    }

    fn ending(kind: SecurityEventKind, handle: &str, ended: &[&str]) -> Ending {
        Ending { kind, handle: Some(handle.into()), ended_handles: ended.iter().map(|h| (*h).to_owned()).collect() }
    }

    fn told(outputs: &[Output]) -> Vec<(TabId, LiveEvent)> {
        outputs
            .iter()
            .filter_map(|output| match output {
                Output::Tell(id, event) => Some((*id, *event)),
                Output::WakeAfter(..) => None,
            })
            .collect()
    }

    fn reason_timer(outputs: &[Output]) -> Option<Timer> {
        outputs.iter().find_map(|output| match output {
            Output::WakeAfter(delay, timer @ Timer::Reason { .. }) if *delay == WAIT => Some(timer.clone()),
            _ => None,
        })
    }

    #[test]
    fn reasons_match_the_ended_session_by_handle() {
        use SecurityEventKind::*;
        let mine = tab("k", "u", "mine");
        let cases = [
            (ending(Logout, "mine", &[]), Some(EndReason::LoggedOutInAnotherTab)),
            (ending(Logout, "other", &[]), None),
            (ending(Revoke, "mine", &[]), Some(EndReason::EndedFromAnotherDevice)),
            (ending(Revoke, "other", &[]), None),
            (ending(SignOutOthers, "other", &["mine", "third"]), Some(EndReason::EndedFromAnotherDevice)),
            (ending(SignOutOthers, "other", &["third"]), None),
            (ending(PasswordChange, "new", &["mine"]), Some(EndReason::EndedFromAnotherDevice)),
            (ending(PasswordChange, "new", &[]), None),
            (ending(SessionLimit, "new", &["mine"]), Some(EndReason::EndedFromAnotherDevice)),
            (ending(SessionLimit, "new", &["oldest"]), None),
            (ending(LogoutEverywhere, "other", &["other", "mine"]), Some(EndReason::SignedOutEverywhere)),
            (ending(LogoutEverywhere, "other", &["other"]), None),
            (ending(FailedLogin, "mine", &["mine"]), None),
        ];
        for (ending, expected) in cases {
            assert_eq!(reason_for(&mine, &ending), expected, "{ending:?}");
        }
    }

    #[test]
    fn a_recent_ending_of_other_sessions_does_not_explain_a_later_delete() {
        let now = Instant::now();
        let mut hub = HubState::new(10, 10, WAIT);
        let _a = hub.watch(tab("ka", "alice", "ha")).unwrap();
        let c = hub.watch(tab("kc", "alice", "hc")).unwrap();
        hub.add_keys("alice", vec!["kb".into()]);
        hub.session_deleted("kb", now);
        hub.ending_recorded("alice", ending(SecurityEventKind::SignOutOthers, "ha", &["hb"]), now);
        // A second later, within any time window, alice's session C is deleted for another reason.
        let later = now + Duration::from_secs(1);
        let outputs = hub.session_deleted("kc", later);
        assert!(told(&outputs).is_empty(), "no reason yet: {outputs:?}");
        let timer = reason_timer(&outputs).expect("the tab waits for its own reason");
        assert_eq!(told(&hub.timer(timer)), vec![(c, LiveEvent::Ended(EndReason::Ended))]);
        assert!(told(&hub.session_deleted("ka", later)).is_empty(), "nor does it explain A's end");
    }

    #[test]
    fn a_delete_reaches_only_the_tabs_of_that_session_once_its_reason_arrives() {
        let now = Instant::now();
        let mut hub = HubState::new(10, 10, WAIT);
        let a1 = hub.watch(tab("ka", "alice", "ha")).unwrap();
        let a2 = hub.watch(tab("ka", "alice", "ha")).unwrap();
        let b = hub.watch(tab("kb", "alice", "hb")).unwrap();
        let _bob = hub.watch(tab("kz", "bob", "hz")).unwrap();

        let deleted = hub.session_deleted("ka", now);
        assert!(told(&deleted).is_empty());
        let mut ended = told(&hub.ending_recorded("alice", ending(SecurityEventKind::Revoke, "ha", &[]), now));
        ended.sort_unstable_by_key(|(id, _)| *id);
        assert_eq!(
            ended,
            vec![(a1, LiveEvent::Ended(EndReason::EndedFromAnotherDevice)), (a2, LiveEvent::Ended(EndReason::EndedFromAnotherDevice))]
        );
        let timer = reason_timer(&deleted).unwrap();
        assert!(hub.timer(timer).is_empty(), "the reason wait ends quietly once the reason came");
        let list = deleted.iter().find_map(|o| match o {
            Output::WakeAfter(_, timer @ Timer::ListChange { .. }) => Some(timer.clone()),
            _ => None,
        });
        assert_eq!(told(&hub.timer(list.unwrap())), vec![(b, LiveEvent::SessionsChanged)], "only the live session's tab refreshes");
        assert!(hub.session_deleted("ka", now).is_empty(), "a key deleted twice is told once");
    }

    #[test]
    fn an_ending_recorded_before_the_delete_explains_it_at_once() {
        let now = Instant::now();
        let mut hub = HubState::new(10, 10, WAIT);
        let b = hub.watch(tab("kb", "alice", "hb")).unwrap();
        hub.ending_recorded("alice", ending(SecurityEventKind::LogoutEverywhere, "ha", &["ha", "hb"]), now);
        let outputs = hub.session_deleted("kb", now + Duration::from_secs(1));
        assert_eq!(told(&outputs), vec![(b, LiveEvent::Ended(EndReason::SignedOutEverywhere))]);
        assert_eq!(reason_timer(&outputs), None);
    }

    #[test]
    fn only_endings_are_remembered_and_only_for_a_while() {
        let start = Instant::now();
        let mut hub = HubState::new(10, 10, WAIT);
        let _tab = hub.watch(tab("ka", "alice", "ha")).unwrap();
        for i in 0..1000 {
            hub.ending_recorded("alice", ending(SecurityEventKind::FailedLogin, "x", &[]), start + Duration::from_millis(i));
            hub.ending_recorded("alice", ending(SecurityEventKind::Login, "x", &[]), start + Duration::from_millis(i));
        }
        assert_eq!(hub.endings_kept("alice"), 0, "anyone who knows the email can cause these");
        for second in 0..60 {
            hub.ending_recorded("alice", ending(SecurityEventKind::Logout, "x", &[]), start + Duration::from_secs(second));
        }
        let kept = hub.endings_kept("alice");
        assert!(kept > 0 && kept <= 5, "pruned by age on every insert, not only on a delete: {kept}");
        hub.ending_recorded("bob", ending(SecurityEventKind::Logout, "x", &[]), start);
        assert_eq!(hub.endings_kept("bob"), 0, "unwatched users are not remembered");
    }

    #[test]
    fn each_account_has_its_own_cap_within_the_instance_total() {
        let mut hub = HubState::new(5, 2, WAIT);
        let first = hub.watch(tab("ka", "alice", "ha")).unwrap();
        hub.watch(tab("kb", "alice", "hb")).unwrap();
        assert_eq!(hub.watch(tab("kc", "alice", "hc")), Err(Refused::AccountFull(2)));
        hub.watch(tab("kz", "bob", "hz")).unwrap();
        hub.watch(tab("kz", "bob", "hz")).unwrap();
        hub.watch(tab("ky", "carol", "hy")).unwrap();
        assert_eq!(hub.watch(tab("kx", "dave", "hx")), Err(Refused::InstanceFull(5)));
        hub.unwatch(first);
        assert!(hub.watch(tab("kc", "alice", "hc")).is_ok(), "a closed tab frees its place");
    }

    #[test]
    fn keys_map_to_their_users_and_are_forgotten_with_the_last_tab() {
        let now = Instant::now();
        let mut hub = HubState::new(10, 10, WAIT);
        let a = hub.watch(tab("ka", "alice", "ha")).unwrap();
        hub.add_keys("alice", vec!["kb".into()]);
        hub.add_keys("bob", vec!["kz".into()]);
        assert_eq!(hub.owners.get("kb").map(String::as_str), Some("alice"));
        assert!(!hub.owners.contains_key("kz"), "keys of unwatched users are not kept");
        assert!(!hub.session_deleted("kb", now).is_empty(), "a delete of a known key is handled");
        hub.unwatch(a);
        assert!(hub.owners.is_empty() && hub.users.is_empty() && hub.by_key.is_empty() && hub.tabs.is_empty());
    }

    #[test]
    fn a_poll_reports_what_was_created_and_deleted() {
        let now = Instant::now();
        let mut hub = HubState::new(10, 10, WAIT);
        let a = hub.watch(tab("ka", "alice", "ha")).unwrap();
        hub.add_keys("alice", vec!["kb".into()]);
        let known_before = hub.known_keys("alice");
        let outputs = hub.reconcile("alice", &HashSet::from(["kb".to_owned(), "kc".to_owned()]), &known_before, now);
        let timer = reason_timer(&outputs).expect("ka was deleted");
        assert_eq!(told(&hub.timer(timer)), vec![(a, LiveEvent::Ended(EndReason::Ended))]);
        assert!(hub.owners.contains_key("kc") && !hub.owners.contains_key("ka"));
    }

    #[test]
    fn a_session_created_while_a_poll_ran_is_not_told_it_ended() {
        let now = Instant::now();
        let mut hub = HubState::new(10, 10, WAIT);
        hub.watch(tab("ka", "alice", "ha")).unwrap();
        let known_before = hub.known_keys("alice");
        // A new session signs in and its tab connects while the poll's query runs; the answer
        // (taken before the sign-in) lists only ka.
        let fresh = hub.watch(tab("kn", "alice", "hn")).unwrap();
        let outputs = hub.reconcile("alice", &HashSet::from(["ka".to_owned()]), &known_before, now);
        assert!(reason_timer(&outputs).is_none(), "nothing was deleted: {outputs:?}");
        assert!(!told(&outputs).iter().any(|(id, event)| *id == fresh && matches!(event, LiveEvent::Ended(_))));
        assert!(hub.owners.contains_key("kn"), "the new session stays known");
    }
}
