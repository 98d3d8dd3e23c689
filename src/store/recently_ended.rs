//! Sessions that the registry has just proven gone, so that the session layer's own delete,
//! which follows at once (`Session::flush`), need not ask the database a second time.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use tower_sessions::session::Id;

/// How long an ending is remembered: far longer than the step from ending to flushing within
/// one request, and short enough that the map stays small.
const REMEMBERED_FOR: Duration = Duration::from_secs(10);

/// Tokens whose documents the registry deleted, or found already gone, moments ago. Shared by
/// a [`super::MongoSessionStore`] and its registry; cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecentlyEnded(Arc<Mutex<HashMap<Id, Instant>>>);

impl RecentlyEnded {
    fn entries(&self) -> MutexGuard<'_, HashMap<Id, Instant>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records that the database confirmed no document remains for `id`.
    pub fn note(&self, id: Id) {
        let mut entries = self.entries();
        entries.retain(|_, at| at.elapsed() < REMEMBERED_FOR);
        entries.insert(id, Instant::now());
    }

    /// Whether `id` was noted within [`REMEMBERED_FOR`]; forgets it either way. Ids are never
    /// reused, so a remembered one cannot name a newer session.
    pub fn take(&self, id: &Id) -> bool {
        self.entries().remove(id).is_some_and(|at| at.elapsed() < REMEMBERED_FOR)
    }
}
