//! The indexes the session collection needs, created idempotently at start-up.

use mongodb::{
    Database, IndexModel,
    bson::{Document, doc},
    options::IndexOptions,
};

use super::{document::SESSIONS_COLLECTION, error::StoreError};

/// What [`ensure_indexes`] managed to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexReport {
    /// Whether the server accepted the TTL index on `expires_at`. When it did not, expired
    /// documents are removed only by the periodic sweep.
    pub ttl_index: bool,
}

/// Creates the indexes of the `sessions` collection: TTL on `expires_at`, `user_id`, and a
/// unique `handle`. Safe to call on every start; existing identical indexes are kept.
///
/// A server that refuses the TTL option gets a plain `expires_at` index and one warning in the
/// log; the result says so.
///
/// # Errors
/// [`StoreError::Unavailable`] when MongoDB cannot be reached; [`StoreError::Database`] when the
/// server refuses the `user_id` or `handle` index.
pub async fn ensure_indexes(db: &Database) -> Result<IndexReport, StoreError> {
    let sessions = db.collection::<Document>(SESSIONS_COLLECTION);
    sessions
        .create_indexes([
            IndexModel::builder().keys(doc! { "user_id": 1 }).build(),
            IndexModel::builder()
                .keys(doc! { "handle": 1 })
                .options(IndexOptions::builder().unique(true).build())
                .build(),
        ])
        .await?;
    let ttl = IndexModel::builder()
        .keys(doc! { "expires_at": 1 })
        .options(IndexOptions::builder().expire_after(std::time::Duration::ZERO).build())
        .build();
    match sessions.create_index(ttl).await {
        Ok(_) => Ok(IndexReport { ttl_index: true }),
        Err(err) => {
            let err = StoreError::from(err);
            if err.is_unavailable() {
                return Err(err);
            }
            tracing::warn!(%err, "the server refused the TTL index on sessions.expires_at; expired sessions will be removed by the periodic sweep only");
            sessions
                .create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).build())
                .await?;
            Ok(IndexReport { ttl_index: false })
        }
    }
}
