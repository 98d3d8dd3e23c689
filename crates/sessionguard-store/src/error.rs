//! The store's one error type, and how MongoDB's errors map onto it.

use mongodb::error::{ErrorKind, WriteFailure};

/// What can go wrong when the store talks to MongoDB.
///
/// "Not found" is never an error: operations that may find nothing say so in their result
/// (`false`, `0`, `None`), so callers can tell a missing session from a missing database.
/// [`StoreError::Unavailable`] is the one a caller must treat as "it may or may not have
/// happened": the store never reports an ending that the database did not confirm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// MongoDB could not be reached within the server-selection timeout, the connection broke,
    /// or the server answered "not now" (stepping down, write concern not met, time limit).
    /// Retrying later can succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A value could not be turned into BSON.
    #[error("could not encode a document: {0}")]
    Encode(String),
    /// A stored document did not have the expected shape.
    #[error("could not decode a stored document: {0}")]
    Decode(String),
    /// MongoDB refused the operation for a reason that retrying will not fix.
    #[error("the database refused the operation: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether the error means the database could not be reached (as opposed to refusing).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Server error codes that mean "not now" rather than "no": the primary is stepping down or
/// shutting down, the node is not (or no longer) primary, the network or a time limit failed,
/// or the write concern could not be met. A retry later, perhaps on a new primary, can succeed.
const UNAVAILABLE_CODES: [i32; 15] = [
    6,     // HostUnreachable
    7,     // HostNotFound
    50,    // MaxTimeMSExpired
    64,    // WriteConcernFailed
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10058, // LegacyNotPrimary
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

impl From<mongodb::error::Error> for StoreError {
    fn from(err: mongodb::error::Error) -> Self {
        let code = match err.kind.as_ref() {
            ErrorKind::Command(command) => Some(command.code),
            ErrorKind::Write(WriteFailure::WriteError(write)) => Some(write.code),
            ErrorKind::Write(WriteFailure::WriteConcernError(concern)) => Some(concern.code),
            _ => None,
        };
        if code.is_some_and(|code| UNAVAILABLE_CODES.contains(&code)) {
            return Self::Unavailable(err.to_string());
        }
        match err.kind.as_ref() {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
            | ErrorKind::Shutdown => Self::Unavailable(err.to_string()),
            ErrorKind::BsonDeserialization(_) => Self::Decode(err.to_string()),
            ErrorKind::BsonSerialization(_) => Self::Encode(err.to_string()),
            _ => Self::Backend(err.to_string()),
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

/// Whether `err` is MongoDB's duplicate-key error (E11000): a write collided with a unique index.
pub fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    matches!(
        err.kind.as_ref(),
        ErrorKind::Write(WriteFailure::WriteError(write)) if write.code == 11000
    )
}
