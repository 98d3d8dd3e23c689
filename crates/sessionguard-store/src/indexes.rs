//! The indexes the store relies on, created idempotently at start-up.

use std::time::Duration;

use mongodb::{
    Collection, Database, IndexModel,
    bson::{Document, doc},
    options::IndexOptions,
};

use crate::error::StoreError;

/// What [`ensure_indexes`] managed to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexReport {
    /// Whether the server accepted the TTL index on `expires_at`. When it did not, expired
    /// sessions are removed only by the periodic sweep ([`crate::spawn_expired_sweeper`]);
    /// they are refused on load either way.
    pub ttl: bool,
}

/// Creates the indexes of the session collection `collection` in `db`. Safe to call on every
/// start and from many instances at once: creating an index that already exists with the same
/// options does nothing.
///
/// - `user_id`: finds and ends a user's sessions (log out everywhere is one `delete_many`);
/// - `handle`, unique: revoke by public handle, and no two sessions share one;
/// - TTL on `expires_at`: MongoDB removes a session once its deadline passes.
///
/// `_id` (the hashed token) needs no index of ours. A server that refuses the TTL option gets
/// one warning in the log and a plain `expires_at` index for the sweep instead; the report
/// says which.
///
/// # Errors
/// [`StoreError::Unavailable`] when MongoDB cannot be reached; [`StoreError::Backend`] when
/// the server refuses the `user_id` or `handle` index.
pub async fn ensure_indexes(db: &Database, collection: &str) -> Result<IndexReport, StoreError> {
    let sessions = db.collection::<Document>(collection);
    sessions
        .create_indexes([
            IndexModel::builder().keys(doc! { "user_id": 1 }).build(),
            IndexModel::builder().keys(doc! { "handle": 1 }).options(IndexOptions::builder().unique(true).build()).build(),
        ])
        .await?;
    let ttl = ensure_ttl_index(&sessions, "expires_at", Duration::ZERO).await?;
    if !ttl {
        sessions.create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).build()).await?;
    }
    Ok(IndexReport { ttl })
}

/// Creates a TTL index on `field` that removes a document `after` that instant. Returns
/// whether the server accepted it; a refusal is logged once and is not an error, because
/// every reader checks expiry in code and the TTL only keeps the collection small.
///
/// # Errors
/// [`StoreError::Unavailable`] when MongoDB cannot be reached.
pub async fn ensure_ttl_index(collection: &Collection<Document>, field: &str, after: Duration) -> Result<bool, StoreError> {
    let ttl = IndexModel::builder().keys(doc! { field: 1 }).options(IndexOptions::builder().expire_after(after).build()).build();
    match collection.create_index(ttl).await.map_err(StoreError::from) {
        Ok(_) => Ok(true),
        Err(err) if err.is_unavailable() => Err(err),
        Err(err) => {
            tracing::warn!(%err, collection = collection.name(), field, "the server refused a TTL index; expired documents stay until swept or deleted");
            Ok(false)
        }
    }
}
