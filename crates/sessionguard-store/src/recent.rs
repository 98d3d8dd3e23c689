//! A short memory per session token of what this process just did to a session, so that the
//! step of the same request that follows need not ask the database again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use tower_sessions::session::Id;

/// How long a value is remembered: far longer than the steps of one request, and short enough
/// that the map stays small.
const REMEMBERED_FOR: Duration = Duration::from_secs(10);

/// A value per token, remembered for [`REMEMBERED_FOR`]. Ids are never reused, so a remembered
/// value cannot be taken for a newer session. Cheap to clone: clones share the memory.
#[derive(Debug)]
pub(crate) struct Recent<T>(Arc<Mutex<HashMap<Id, (T, Instant)>>>);

impl<T> Clone for Recent<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<T> Recent<T> {
    fn entries(&self) -> MutexGuard<'_, HashMap<Id, (T, Instant)>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Remembers `value` for `id`, and forgets every value older than [`REMEMBERED_FOR`].
    pub fn remember(&self, id: Id, value: T) {
        let mut entries = self.entries();
        entries.retain(|_, (_, at)| at.elapsed() < REMEMBERED_FOR);
        entries.insert(id, (value, Instant::now()));
    }

    /// The value remembered for `id` within [`REMEMBERED_FOR`]; forgets it either way.
    pub fn take(&self, id: &Id) -> Option<T> {
        self.entries().remove(id).filter(|(_, at)| at.elapsed() < REMEMBERED_FOR).map(|(value, _)| value)
    }

    /// What `read` makes of the value remembered for `id` within [`REMEMBERED_FOR`], which stays
    /// remembered.
    pub fn peek<R>(&self, id: &Id, read: impl FnOnce(&T) -> R) -> Option<R> {
        self.entries().get(id).filter(|(_, at)| at.elapsed() < REMEMBERED_FOR).map(|(value, _)| read(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_keeps_a_value_and_take_forgets_it() {
        let recent = Recent::default();
        let (id, other) = (Id::default(), Id::default());
        recent.remember(id, "handle");
        assert_eq!(recent.peek(&id, |value| value.len()), Some(6));
        assert_eq!(recent.peek(&other, |value| value.len()), None, "only the token it was remembered for");
        assert_eq!(recent.take(&id), Some("handle"));
        assert_eq!(recent.take(&id), None, "taken once");
        assert_eq!(recent.peek(&id, |value| value.len()), None);
    }
}
