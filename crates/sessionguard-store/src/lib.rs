//! A [`tower-sessions`](tower_sessions) store on MongoDB whose ended sessions stay ended.
//!
//! ```
//! use std::sync::Arc;
//!
//! use sessionguard_store::{MongoSessionStore, USER_ID_KEY};
//! use tower_sessions::Session;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let uri = std::env::var("MONGODB_URI").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into());
//! let db = mongodb::Client::with_uri_str(&uri).await?.database("sessionguard_store_doctest");
//! let store = MongoSessionStore::new(&db);
//! store.migrate().await?; // the indexes; safe on every start
//!
//! // In an app, `SessionManagerLayer::new(store.clone())` does this for every request.
//! let session = Session::new(None, Arc::new(store.clone()), None);
//! session.insert(USER_ID_KEY, "alice").await?; // the store indexes the owner
//! session.save().await?;
//!
//! // From anywhere, at any time: log alice out everywhere, in one `delete_many`.
//! let ended = store.registry().end_all_for_user("alice").await?;
//! assert_eq!(ended.count, 1);
//! assert!(store.registry().list_for_user("alice").await?.is_empty());
//! # db.drop().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Two entry points share one collection (`sessions` unless you name another):
//!
//! - [`MongoSessionStore`] is the `tower-sessions` [`SessionStore`](tower_sessions::SessionStore):
//!   the session layer creates, loads, saves and deletes records through it.
//! - [`SessionRegistry`] ends sessions on purpose (log out, revoke, sign out others, log out
//!   everywhere) and lists a user's sessions, from any handler or task.
//!
//! What it guarantees, whatever the timing:
//!
//! - **An ended session cannot be written back.** A document is only ever created by
//!   `insert_one` and changed by `update_one` without upsert on a filter that requires it to be
//!   live, so a request that was in flight when the session ended saves nothing.
//! - **The token is not stored.** A document's `_id` is the SHA-256 of the cookie value; the
//!   public [`SessionInfo::handle`] is random and unrelated to it.
//! - **An ending is confirmed.** Every delete waits for a majority of the replica set
//!   ([`durable`]); an `Ok` from the registry means the database answered that the session is
//!   gone, and a failover cannot bring it back.
//! - **A user's sessions are one query away.** The session data's [`USER_ID_KEY`] is copied to
//!   an indexed field, so log out everywhere is one `delete_many`, whatever the number.
//! - **Expiry is enforced on read**, under an [`ExpiryPolicy`] (idle and absolute deadlines),
//!   and by a TTL index and [`spawn_expired_sweeper`] in the background.
#![deny(missing_docs)]

mod clock;
mod document;
mod error;
mod indexes;
mod policy;
mod recent;
mod registry;
mod session_store;

#[cfg(feature = "test-util")]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use document::{IP_KEY, NEW_DEVICE_KEY, SessionInfo, USER_AGENT_KEY, USER_ID_KEY, storage_key};
pub use error::{StoreError, is_duplicate_key};
pub use indexes::{IndexReport, ensure_indexes, ensure_ttl_index};
pub use policy::ExpiryPolicy;
pub use registry::{EndedSessions, SessionRegistry};
pub use session_store::{MongoSessionStore, spawn_expired_sweeper};

/// The collection [`MongoSessionStore::new`] uses unless told otherwise.
pub const DEFAULT_COLLECTION: &str = "sessions";

/// Options for a collection whose writes end sessions or change who may sign in: writes wait
/// for a majority of the replica set, and reads come from the primary at read concern
/// `majority`.
///
/// A delete acknowledged by a primary alone can be rolled back if that primary fails over
/// before a majority has it, and the session would then come back from the dead. A delete
/// acknowledged by a majority survives any failover. On a standalone server `majority` is the
/// one server, so nothing changes there. Exported so that an application's own security
/// writes (a password change, a disabled account) can use the same guarantee.
pub fn durable() -> mongodb::options::CollectionOptions {
    use mongodb::options::{ReadConcern, ReadPreference, SelectionCriteria, WriteConcern};
    mongodb::options::CollectionOptions::builder()
        .write_concern(WriteConcern::majority())
        .read_concern(ReadConcern::majority())
        .selection_criteria(SelectionCriteria::ReadPreference(ReadPreference::Primary))
        .build()
}
