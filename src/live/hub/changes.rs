//! What a reported change means for the tabs: a created or deleted session, a recorded ending,
//! a timer run out, or a poll's full view of a user's sessions. Each returns the notices and
//! timers it calls for.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use super::{HubState, Output, TabId, Timer};
use crate::{
    live::{ENDING_KINDS, Ending, LiveEvent, Tab},
    model::{EndReason, NewSignIn},
};

/// How long list changes are gathered before the user's tabs are told: the deletes of one "log
/// out everywhere" arrive one by one, and a tab whose own session is among them must hear
/// "ended", not "your list changed" (which would make it ask the server and lose the reason).
const LIST_CHANGE_DELAY: Duration = Duration::from_millis(300);

impl HubState {
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
        if let Some(tab) = tab_of(&self.by_key, &self.tabs, key) {
            match user.endings.iter().rev().find_map(|(ending, _)| ending.reason_for(tab)) {
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
    /// shortly be, reported. Kept for [`ENDING_MEMORY`](super::ENDING_MEMORY) only if its kind
    /// ends sessions and some tab watches the user; older endings are dropped on every insert.
    pub fn ending_recorded(&mut self, user_id: &str, ending: Ending, now: Instant) -> Vec<Output> {
        if !ENDING_KINDS.contains(&ending.kind) {
            return Vec::new();
        }
        let Some(user) = self.users.get_mut(user_id) else { return Vec::new() };
        user.forget_old_endings(now);
        let explained: Vec<(String, EndReason)> =
            user.pending.iter().filter_map(|key| Some((key.clone(), ending.reason_for(tab_of(&self.by_key, &self.tabs, key)?)?))).collect();
        user.endings.push((ending, now));
        let mut outputs = Vec::new();
        for (key, reason) in explained {
            user.pending.remove(&key);
            outputs.extend(tell(&self.by_key, &key, LiveEvent::Ended(reason)));
        }
        outputs
    }

    /// `user_id` signed in on the session `sign_in.handle`: each of the user's tabs hears of it,
    /// except the new session's own.
    pub fn sign_in_recorded(&mut self, user_id: &str, sign_in: NewSignIn) -> Vec<Output> {
        let Some(user) = self.users.get(user_id) else { return Vec::new() };
        user.tabs
            .iter()
            .filter(|id| self.tabs.get(id).is_some_and(|tab| tab.handle != sign_in.handle))
            .map(|id| Output::Tell(*id, LiveEvent::NewSignIn(sign_in.clone())))
            .collect()
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
}

/// One of the tabs of the session `key` (they all show the same session).
fn tab_of<'a>(by_key: &HashMap<String, HashSet<TabId>>, tabs: &'a HashMap<TabId, Tab>, key: &str) -> Option<&'a Tab> {
    by_key.get(key)?.iter().find_map(|id| tabs.get(id))
}

/// `event` for every tab of the session `key`.
fn tell(by_key: &HashMap<String, HashSet<TabId>>, key: &str, event: LiveEvent) -> Vec<Output> {
    by_key.get(key).into_iter().flatten().map(|id| Output::Tell(*id, event.clone())).collect()
}
