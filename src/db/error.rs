//! The one error type of all data access: sessions, accounts, events and throttle counters.

use sessionguard_store::StoreError;

use crate::telemetry;

/// What can go wrong when talking to MongoDB, whatever the collection.
///
/// "Not found" is never an error: operations that may find nothing say so in their result
/// (`false`, `0`, `None`), so callers can tell a missing document from a missing database.
/// The `api` layer turns these into the HTTP-facing [`AppError`](crate::error::AppError).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// MongoDB could not be reached within the server-selection timeout, or the connection broke.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A value could not be turned into BSON.
    #[error("could not encode a document: {0}")]
    Encode(String),
    /// A stored document did not have the expected shape.
    #[error("could not decode a stored document: {0}")]
    Decode(String),
    /// MongoDB answered with an error other than unavailability.
    #[error("the database refused the operation: {0}")]
    Refused(String),
}

impl DbError {
    /// Whether the error means the database could not be reached (as opposed to refusing).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Every data-access error passes here (MongoDB's own through [`StoreError`]), so this is where
/// `sessionguard_db_errors_total` counts them.
impl From<StoreError> for DbError {
    fn from(err: StoreError) -> Self {
        let (kind, err) = match err {
            StoreError::Unavailable(msg) => ("unavailable", Self::Unavailable(msg)),
            StoreError::Encode(msg) => ("encode", Self::Encode(msg)),
            StoreError::Decode(msg) => ("decode", Self::Decode(msg)),
            StoreError::Backend(msg) => ("refused", Self::Refused(msg)),
        };
        telemetry::db_error(kind);
        err
    }
}

/// The store's classification, so that every collection's errors mean the same: which server
/// codes are "not now" is one list, kept in the store crate.
impl From<mongodb::error::Error> for DbError {
    fn from(err: mongodb::error::Error) -> Self {
        StoreError::from(err).into()
    }
}
