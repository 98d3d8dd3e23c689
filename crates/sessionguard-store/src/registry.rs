//! The shared store handle: ending sessions on purpose, and listing them.

use std::sync::Arc;

use futures_util::TryStreamExt;
use mongodb::{
    Collection,
    bson::{Bson, Document, doc},
};
use tower_sessions::session::Id;

use crate::{
    clock::Clock,
    document::{SessionDocument, SessionInfo, by_key, storage_key},
    error::StoreError,
    policy::ExpiryPolicy,
    recent::Recent,
};

/// The shared handle that ends sessions explicitly and lists a user's sessions.
///
/// # The two-path contract
///
/// Code that ends the *current* session first calls [`end`](Self::end) here, which deletes the
/// document in one `findAndModify` whose answer proves it gone. Only once that answer arrived
/// does it call `Session::flush()` on the session layer, which clears the data and makes the
/// middleware send a removal cookie instead of saving. In that order, a database that cannot
/// confirm leaves the browser its cookie, so the user sees an error and can retry, instead of
/// a "signed out" that is not true. Sessions on *other* devices are ended here alone.
///
/// Every write is a single `findAndModify`, `delete_one` or `delete_many` on an indexed field,
/// whatever the number of sessions, at write concern `majority` (see [`crate::durable`]).
/// Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SessionRegistry {
    sessions: Collection<SessionDocument>,
    policy: ExpiryPolicy,
    clock: Arc<dyn Clock>,
    /// Tokens this registry ended moments ago, shared with the store (see [`Self::end`]).
    recently_ended: Recent<()>,
}

/// The sessions one `delete_many` ended: how many, and which. The handles are read just before
/// the delete, with the same filter, for the security event that explains the ending to the
/// ended sessions' open tabs (live sign-out matches by handle). A session created between the
/// read and the delete still ends, and is counted, but is not named: its tabs hear a plain
/// "ended". One deleted by someone else in between is named but not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndedSessions {
    /// How many sessions the delete removed, as the database answered.
    pub count: u64,
    /// The public handles of the sessions that matched just before the delete.
    pub handles: Vec<String>,
}

impl SessionRegistry {
    /// A registry on `sessions` (opened with [`crate::durable`] options).
    pub(crate) fn new(
        sessions: Collection<SessionDocument>,
        policy: ExpiryPolicy,
        clock: Arc<dyn Clock>,
        recently_ended: Recent<()>,
    ) -> Self {
        Self { sessions, policy, clock, recently_ended }
    }

    /// Deletes the session with token `session_id`, in one `findAndModify` whose answer is the
    /// proof: the live session it ended, or `None` because none was live (already gone, or past
    /// a deadline and deleted now as well). Either way the database has answered, at write
    /// concern `majority`, that no session remains; `Ok` means exactly that, and the store's
    /// own `delete` of this token that follows (the session layer's `flush`) then costs nothing.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached or did not answer: the session
    /// may still exist, so the caller must not say it ended.
    pub async fn end(&self, session_id: &Id) -> Result<Option<SessionInfo>, StoreError> {
        let removed = self.sessions.find_one_and_delete(by_key(session_id)).projection(doc! { "data": 0 }).await?;
        self.recently_ended.remember(*session_id, ());
        Ok(self.live(removed))
    }

    /// The document as [`SessionInfo`] if it is live now under this registry's policy.
    fn live(&self, document: Option<SessionDocument>) -> Option<SessionInfo> {
        let now = self.clock.now();
        document.filter(|d| d.is_live(&self.policy, now)).map(SessionInfo::from)
    }

    /// Ends every session of `user_id`, the caller's own included, in one `delete_many`.
    /// Returns how many were ended and the handles of those that existed just before (see
    /// [`EndedSessions`]).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn end_all_for_user(&self, user_id: &str) -> Result<EndedSessions, StoreError> {
        self.end_matching(doc! { "user_id": user_id }).await
    }

    /// Ends every session of `user_id` except the one with token `keep`, in one `delete_many`.
    /// Returns how many were ended and the handles of those that existed just before (see
    /// [`EndedSessions`]); `keep` stays valid.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn end_others(&self, user_id: &str, keep: &Id) -> Result<EndedSessions, StoreError> {
        self.end_matching(doc! { "user_id": user_id, "_id": { "$ne": storage_key(keep) } }).await
    }

    /// Reads the handles of the sessions `filter` matches, then deletes with the same `filter`
    /// (never narrowed to what was read, so that a session created in between ends too).
    async fn end_matching(&self, filter: Document) -> Result<EndedSessions, StoreError> {
        let handles = self.handles_matching(filter.clone()).await?;
        let count = self.sessions.delete_many(filter).await?.deleted_count;
        Ok(EndedSessions { count, handles })
    }

    async fn handles_matching(&self, filter: Document) -> Result<Vec<String>, StoreError> {
        let found: Vec<Document> = self
            .sessions
            .clone_with_type::<Document>()
            .find(filter)
            .projection(doc! { "_id": 0, "handle": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(found.iter().filter_map(|d| d.get_str("handle").ok().map(str::to_owned)).collect())
    }

    /// Ends the session of `user_id` whose public handle is `handle`. Returns whether one was
    /// ended.
    ///
    /// Scoped to the user: a handle that belongs to someone else ends nothing and returns
    /// `false`, exactly like an unknown handle, so handles reveal nothing about other accounts.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn revoke(&self, user_id: &str, handle: &str) -> Result<bool, StoreError> {
        let result = self.sessions.delete_one(doc! { "handle": handle, "user_id": user_id }).await?;
        Ok(result.deleted_count == 1)
    }

    /// Keeps at most `cap` sessions of `user_id`: ends those beyond the `cap` most recently
    /// created (the oldest sign-ins) and returns how many ended, with their handles. One query
    /// when under the cap.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn end_oldest_beyond(&self, user_id: &str, cap: u32) -> Result<EndedSessions, StoreError> {
        let excess: Vec<Document> = self
            .sessions
            .clone_with_type::<Document>()
            .find(doc! { "user_id": user_id })
            .sort(doc! { "created_at": -1, "_id": -1 })
            .skip(u64::from(cap))
            .projection(doc! { "_id": 1, "handle": 1 })
            .await?
            .try_collect()
            .await?;
        if excess.is_empty() {
            return Ok(EndedSessions::default());
        }
        let handles = excess.iter().filter_map(|d| d.get_str("handle").ok().map(str::to_owned)).collect();
        let keys: Vec<Bson> = excess.into_iter().filter_map(|mut d| d.remove("_id")).collect();
        let count = self.sessions.delete_many(doc! { "user_id": user_id, "_id": { "$in": keys } }).await?.deleted_count;
        Ok(EndedSessions { count, handles })
    }

    /// The live session with token `session_id`, read without counting as activity: no touch,
    /// no write. For watchers that must not keep a session alive.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn peek(&self, session_id: &Id) -> Result<Option<SessionInfo>, StoreError> {
        let found = self.sessions.find_one(by_key(session_id)).projection(doc! { "data": 0 }).await?;
        Ok(self.live(found))
    }

    /// The storage keys of every session of `user_id`, live or not yet swept.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn keys_of(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let documents: Vec<Document> = self
            .sessions
            .clone_with_type::<Document>()
            .find(doc! { "user_id": user_id })
            .projection(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(documents.into_iter().filter_map(|d| d.get_str("_id").ok().map(str::to_owned)).collect())
    }

    /// The storage keys of every session of each user in `user_ids`, in one query.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn keys_of_users(&self, user_ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let documents: Vec<Document> = self
            .sessions
            .clone_with_type::<Document>()
            .find(doc! { "user_id": { "$in": user_ids } })
            .projection(doc! { "_id": 1, "user_id": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(documents.into_iter().filter_map(|d| Some((d.get_str("user_id").ok()?.to_owned(), d.get_str("_id").ok()?.to_owned()))).collect())
    }

    /// The public handle of the session with token `session_id`, if that session exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn handle_of(&self, session_id: &Id) -> Result<Option<String>, StoreError> {
        let document = self.sessions.find_one(by_key(session_id)).projection(doc! { "data": 0 }).await?;
        Ok(document.map(|d| d.handle))
    }

    /// The live sessions of `user_id`, most recently active first. Expired documents that the
    /// TTL monitor has not removed yet are left out. [`SessionInfo::has_token`] tells which one
    /// is the caller's.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn list_for_user(&self, user_id: &str) -> Result<Vec<SessionInfo>, StoreError> {
        let now = self.clock.now();
        let documents: Vec<SessionDocument> = self
            .sessions
            .find(doc! { "user_id": user_id })
            .sort(doc! { "last_seen_at": -1, "created_at": -1 })
            .projection(doc! { "data": 0 })
            .await?
            .try_collect()
            .await?;
        Ok(documents.into_iter().filter(|d| d.is_live(&self.policy, now)).map(SessionInfo::from).collect())
    }
}
