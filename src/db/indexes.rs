//! The indexes of every collection, created idempotently at start-up by every instance.

use std::time::Duration;

use mongodb::{
    Collection, Database, IndexModel,
    bson::{Document, doc},
    options::IndexOptions,
};

use super::{DbError, LOGIN_THROTTLE, SECURITY_EVENTS, SESSIONS, USERS};

/// How long security events are kept before the TTL monitor removes them.
pub const SECURITY_EVENT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// What [`ensure_indexes`] managed to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexReport {
    /// Whether the server accepted the TTL index on `sessions.expires_at`. When it did not,
    /// expired sessions are removed only by the periodic sweep (they are refused on load either way).
    pub sessions_ttl: bool,
}

/// Creates every index the application relies on. Safe to call on every start and from many
/// instances at once: creating an index that already exists with the same options does nothing.
///
/// - `sessions`: `user_id` (find and end a user's sessions), unique `handle`, TTL on `expires_at`;
/// - `users`: unique `email`;
/// - `security_events`: `(user_id, at)`, a 90-day TTL on `at`, and a TTL on `discard_at` for
///   events that belong to no account (failed sign-ins for unknown emails);
/// - `login_throttle`: TTL on `expires_at`.
///
/// A server that refuses a TTL option gets one warning in the log instead (and a plain
/// `sessions.expires_at` index for the sweep); the report says whether the sessions' TTL is on.
///
/// # Errors
/// [`DbError::Unavailable`] when MongoDB cannot be reached; [`DbError::Refused`] when the
/// server refuses one of the non-TTL indexes.
pub async fn ensure_indexes(db: &Database) -> Result<IndexReport, DbError> {
    let sessions = db.collection::<Document>(SESSIONS);
    sessions
        .create_indexes([
            IndexModel::builder().keys(doc! { "user_id": 1 }).build(),
            IndexModel::builder().keys(doc! { "handle": 1 }).options(IndexOptions::builder().unique(true).build()).build(),
        ])
        .await?;
    let sessions_ttl = ensure_ttl_index(&sessions, "expires_at", Duration::ZERO).await?;
    if !sessions_ttl {
        sessions.create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).build()).await?;
    }

    let unique = IndexOptions::builder().unique(true).build();
    db.collection::<Document>(USERS).create_index(IndexModel::builder().keys(doc! { "email": 1 }).options(unique).build()).await?;

    let events = db.collection::<Document>(SECURITY_EVENTS);
    events.create_index(IndexModel::builder().keys(doc! { "user_id": 1, "at": -1 }).build()).await?;
    ensure_ttl_index(&events, "at", SECURITY_EVENT_RETENTION).await?;
    ensure_ttl_index(&events, "discard_at", Duration::ZERO).await?;

    ensure_ttl_index(&db.collection::<Document>(LOGIN_THROTTLE), "expires_at", Duration::ZERO).await?;
    Ok(IndexReport { sessions_ttl })
}

/// Creates a TTL index on `field` that removes a document `after` that instant. Returns
/// whether the server accepted it; a refusal is logged once and is not an error, because
/// every reader checks expiry in code and the TTL only keeps collections small.
async fn ensure_ttl_index(collection: &Collection<Document>, field: &str, after: Duration) -> Result<bool, DbError> {
    let ttl = IndexModel::builder().keys(doc! { field: 1 }).options(IndexOptions::builder().expire_after(after).build()).build();
    match collection.create_index(ttl).await.map_err(DbError::from) {
        Ok(_) => Ok(true),
        Err(err) if err.is_unavailable() => Err(err),
        Err(err) => {
            tracing::warn!(%err, collection = collection.name(), field, "the server refused a TTL index; expired documents stay until swept or deleted");
            Ok(false)
        }
    }
}
