//! The shared store handle: ending sessions on purpose, and listing them.

use std::sync::Arc;

use futures_util::TryStreamExt;
use mongodb::{
    Collection,
    bson::{Document, doc},
    options::FindOptions,
};
use time::OffsetDateTime;
use tower_sessions::session::Id;

use super::{
    clock::Clock,
    document::{SessionDocument, by_key, from_bson_date, storage_key},
    error::StoreError,
    policy::ExpiryPolicy,
};

/// The shared handle that ends sessions explicitly and lists a user's sessions.
///
/// # The two-path contract
///
/// Code that ends the *current* session first calls `Session::flush()` on the session layer,
/// which clears the data, deletes the record and makes the middleware send a removal cookie
/// instead of saving. It then calls [`end`](Self::end) here, which deletes again and reads back
/// to confirm that no document remains, and reports success to the user only if that
/// confirmation arrived. Sessions on *other* devices are ended here alone.
///
/// Every write is a single `delete_one` or `delete_many` on an indexed field, whatever the
/// number of sessions. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SessionRegistry {
    sessions: Collection<SessionDocument>,
    policy: ExpiryPolicy,
    clock: Arc<dyn Clock>,
}

/// One active session as the security page shows it. Holds no token and no session data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// The public id used to revoke this session.
    pub handle: String,
    /// The `User-Agent` recorded at login, if any.
    pub user_agent: Option<String>,
    /// The client address recorded at login, if any.
    pub ip: Option<String>,
    /// When the user signed in.
    pub created_at: OffsetDateTime,
    /// When the session was last used (to within the touch interval).
    pub last_seen_at: OffsetDateTime,
    /// Whether this is the session that asked.
    pub is_current: bool,
}

impl SessionRegistry {
    pub(crate) fn new(sessions: Collection<SessionDocument>, policy: ExpiryPolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            sessions,
            policy,
            clock,
        }
    }

    /// Deletes the session with token `session_id` and confirms that no document remains.
    ///
    /// Returns `Ok(())` only when the database answered that the session is gone (whether it
    /// was deleted now or was already absent).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached, [`StoreError::NotConfirmed`]
    /// when a document is still there after the delete.
    pub async fn end(&self, session_id: &Id) -> Result<(), StoreError> {
        let filter = by_key(session_id);
        self.sessions.delete_one(filter.clone()).await?;
        match self.sessions.count_documents(filter).await? {
            0 => Ok(()),
            _ => Err(StoreError::NotConfirmed),
        }
    }

    /// Ends every session of `user_id`, the caller's own included, in one `delete_many`.
    /// Returns how many were ended.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn end_all_for_user(&self, user_id: &str) -> Result<u64, StoreError> {
        let result = self.sessions.delete_many(doc! { "user_id": user_id }).await?;
        Ok(result.deleted_count)
    }

    /// Ends every session of `user_id` except the one with token `keep`, in one `delete_many`.
    /// Returns how many were ended; `keep` stays valid.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn end_others(&self, user_id: &str, keep: &Id) -> Result<u64, StoreError> {
        let filter = doc! { "user_id": user_id, "_id": { "$ne": storage_key(keep) } };
        let result = self.sessions.delete_many(filter).await?;
        Ok(result.deleted_count)
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
        let result = self
            .sessions
            .delete_one(doc! { "handle": handle, "user_id": user_id })
            .await?;
        Ok(result.deleted_count == 1)
    }

    /// The public handle of the session with token `session_id`, if that session exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn handle_of(&self, session_id: &Id) -> Result<Option<String>, StoreError> {
        let document = self.sessions.find_one(by_key(session_id)).await?;
        Ok(document.map(|d| d.handle))
    }

    /// The live sessions of `user_id`, most recently active first, with the one whose token is
    /// `current` flagged. Expired documents that the TTL monitor has not removed yet are left out.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn list_for_user(&self, user_id: &str, current: Option<&Id>) -> Result<Vec<ActiveSession>, StoreError> {
        let now = self.clock.now();
        let current_key = current.map(storage_key);
        let options = FindOptions::builder()
            .sort(doc! { "last_seen_at": -1, "created_at": -1 })
            .projection(doc! { "data": 0 })
            .build();
        let documents: Vec<Document> = self
            .sessions
            .clone_with_type::<Document>()
            .find(doc! { "user_id": user_id })
            .with_options(options)
            .await?
            .try_collect()
            .await?;
        let mut rows = Vec::with_capacity(documents.len());
        for mut raw in documents {
            raw.insert("data", Document::new());
            let document: SessionDocument =
                mongodb::bson::from_document(raw).map_err(|e| StoreError::Decode(e.to_string()))?;
            let created_at = from_bson_date(document.created_at);
            let last_seen_at = from_bson_date(document.last_seen_at);
            if from_bson_date(document.expires_at) <= now || !self.policy.is_valid(created_at, last_seen_at, now) {
                continue;
            }
            rows.push(ActiveSession {
                is_current: current_key.as_deref() == Some(document.key.as_str()),
                handle: document.handle,
                user_agent: document.user_agent,
                ip: document.ip,
                created_at,
                last_seen_at,
            });
        }
        Ok(rows)
    }
}
