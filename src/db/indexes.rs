//! The indexes of every collection, created idempotently at start-up by every instance.

use std::time::Duration;

use mongodb::{
    Database, IndexModel,
    bson::{Document, doc},
    options::IndexOptions,
};
pub use sessionguard_store::IndexReport;
use sessionguard_store::ensure_ttl_index;

use super::{DbError, LOGIN_THROTTLE, SECURITY_EVENTS, SESSIONS, USERS};

/// How long security events are kept before the TTL monitor removes them.
pub const SECURITY_EVENT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// Creates every index the application relies on. Safe to call on every start and from many
/// instances at once: creating an index that already exists with the same options does nothing.
///
/// - `sessions`: the store's own ([`sessionguard_store::ensure_indexes`]);
/// - `users`: unique `email`;
/// - `security_events`: `(user_id, at)`, a 90-day TTL on `at`, and a TTL on `discard_at` for
///   events that belong to no account (failed sign-ins for unknown emails);
/// - `login_throttle`: TTL on `expires_at`, and `account` (sparse) to forget a deleted
///   account's counters.
///
/// A server that refuses a TTL option gets one warning in the log instead; the report says
/// whether the sessions' TTL is on.
///
/// # Errors
/// [`DbError::Unavailable`] when MongoDB cannot be reached; [`DbError::Refused`] when the
/// server refuses one of the non-TTL indexes.
pub async fn ensure_indexes(db: &Database) -> Result<IndexReport, DbError> {
    let report = sessionguard_store::ensure_indexes(db, SESSIONS).await?;

    let unique = IndexOptions::builder().unique(true).build();
    db.collection::<Document>(USERS).create_index(IndexModel::builder().keys(doc! { "email": 1 }).options(unique).build()).await?;

    let events = db.collection::<Document>(SECURITY_EVENTS);
    events.create_index(IndexModel::builder().keys(doc! { "user_id": 1, "at": -1 }).build()).await?;
    ensure_ttl_index(&events, "at", SECURITY_EVENT_RETENTION).await?;
    ensure_ttl_index(&events, "discard_at", Duration::ZERO).await?;

    let throttle = db.collection::<Document>(LOGIN_THROTTLE);
    ensure_ttl_index(&throttle, "expires_at", Duration::ZERO).await?;
    throttle
        .create_index(IndexModel::builder().keys(doc! { "account": 1 }).options(IndexOptions::builder().sparse(true).build()).build())
        .await?;
    Ok(report)
}
