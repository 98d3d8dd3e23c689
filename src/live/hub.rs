//! The hub's logic as a plain state machine: which tabs watch which sessions, and what each
//! change means for them. Changes go in, with the time they happened; notices for tabs and
//! timers to set come out. No lock, task or clock here: [`super::LiveSessions`] runs it.
//!
//! This file keeps the state and who watches what; [`changes`] turns reported changes into
//! notices.

mod changes;
#[cfg(test)]
mod tests;

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use super::{Ending, LiveEvent, Tab};

/// How long a recorded ending is kept to explain a delete that is reported after it. Endings
/// are matched to sessions by handle, so this bounds memory, not correctness: it only has to
/// outlast the gap between a delete and its security event.
const ENDING_MEMORY: Duration = Duration::from_secs(5);

/// A connected tab's number within its hub.
pub(super) type TabId = u64;

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
    tabs: HashMap<TabId, Tab>,
    /// The tabs watching each session key.
    by_key: HashMap<String, HashSet<TabId>>,
    /// The owner of every known session key, so that a delete (which names only the key) finds
    /// its user without a scan.
    owners: HashMap<String, String>,
    users: HashMap<String, WatchedUser>,
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

    /// Connects `tab`, whose session key is known from now on. The account's cap is checked
    /// before the instance's.
    pub fn watch(&mut self, tab: Tab) -> Result<TabId, Refused> {
        let account_tabs = self.users.get(&tab.user_id).map_or(0, |user| user.tabs.len());
        if account_tabs >= self.per_account {
            return Err(Refused::AccountFull(self.per_account));
        }
        if self.tabs.len() >= self.capacity {
            return Err(Refused::InstanceFull(self.capacity));
        }
        self.next_id += 1;
        let id = self.next_id;
        let user = self.users.entry(tab.user_id.clone()).or_default();
        user.tabs.insert(id);
        user.keys.insert(tab.key.clone());
        self.owners.insert(tab.key.clone(), tab.user_id.clone());
        self.by_key.entry(tab.key.clone()).or_default().insert(id);
        self.tabs.insert(id, tab);
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
        let Some(tab) = self.tabs.remove(&id) else { return };
        if let Some(tabs) = self.by_key.get_mut(&tab.key) {
            tabs.remove(&id);
            if tabs.is_empty() {
                self.by_key.remove(&tab.key);
            }
        }
        let Some(user) = self.users.get_mut(&tab.user_id) else { return };
        user.tabs.remove(&id);
        if user.tabs.is_empty()
            && let Some(user) = self.users.remove(&tab.user_id)
        {
            for key in user.keys {
                self.owners.remove(&key);
            }
        }
    }
}
