//! Server-side session storage in MongoDB.
//!
//! Two entry points share one `sessions` collection:
//!
//! - [`MongoSessionStore`] is the `tower-sessions` [`SessionStore`](tower_sessions::SessionStore):
//!   the session layer creates, loads, saves and deletes records through it.
//! - [`SessionRegistry`] is the shared store handle that code calls to end sessions on purpose
//!   (log out, revoke, sign out others, log out everywhere) and to list a user's sessions.
//!
//! Both obey one rule: a session document is only ever *created* by `insert_one` and *changed*
//! by `update_one` without upsert, so a session that has been deleted can never be written back.
//!
//! Nothing here depends on the web application: the module needs only a MongoDB
//! [`Database`](mongodb::Database), an [`ExpiryPolicy`] and a [`Clock`](crate::clock::Clock).
//! Its errors are the shared [`DbError`](crate::db::DbError); its indexes are created by
//! [`db::ensure_indexes`](crate::db::ensure_indexes).
#![deny(missing_docs)]

mod document;
mod policy;
mod recent;
mod registry;
mod session_store;

pub use document::{EMAIL_KEY, IP_KEY, USER_AGENT_KEY, USER_ID_KEY};
pub use policy::ExpiryPolicy;
pub use registry::{ActiveSession, EndedSession, EndedSessions, SessionRegistry, WatchedSession};
pub use session_store::{MongoSessionStore, spawn_expired_sweeper};
