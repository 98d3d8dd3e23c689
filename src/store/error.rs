//! The one error type of the store.

use mongodb::error::{ErrorKind, WriteFailure};

/// What can go wrong when talking to the session store.
///
/// "Not found" is never an error: operations that may find nothing say so in their result
/// (`false`, `0`, `None`), so callers can tell a missing session from a missing database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// MongoDB could not be reached within the server-selection timeout, or the connection broke.
    #[error("the session database is unavailable: {0}")]
    Unavailable(String),
    /// The delete was sent, but a session document was still there afterwards.
    #[error("the session database did not confirm that the session was removed")]
    NotConfirmed,
    /// Session data could not be turned into BSON.
    #[error("could not encode session data: {0}")]
    Encode(String),
    /// A stored document did not have the expected shape.
    #[error("could not decode a stored session: {0}")]
    Decode(String),
    /// MongoDB answered with an error other than unavailability.
    #[error("the session database refused the operation: {0}")]
    Database(String),
}

impl StoreError {
    /// Whether the error means the database could not be reached (as opposed to refusing).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<mongodb::error::Error> for StoreError {
    fn from(err: mongodb::error::Error) -> Self {
        match err.kind.as_ref() {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
            | ErrorKind::Shutdown => Self::Unavailable(err.to_string()),
            ErrorKind::BsonDeserialization(_) => Self::Decode(err.to_string()),
            ErrorKind::BsonSerialization(_) => Self::Encode(err.to_string()),
            _ => Self::Database(err.to_string()),
        }
    }
}

impl From<StoreError> for tower_sessions::session_store::Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Encode(msg) => Self::Encode(msg),
            StoreError::Decode(msg) => Self::Decode(msg),
            other => Self::Backend(other.to_string()),
        }
    }
}

/// Whether `err` is MongoDB's duplicate-key error (E11000).
pub fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    matches!(
        err.kind.as_ref(),
        ErrorKind::Write(WriteFailure::WriteError(write)) if write.code == 11000
    )
}
