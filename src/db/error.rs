//! The one error type of all data access: sessions, accounts, events and throttle counters.

use mongodb::error::{ErrorKind, WriteFailure};

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

impl From<mongodb::error::Error> for DbError {
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
            _ => Self::Refused(err.to_string()),
        }
    }
}

impl From<DbError> for tower_sessions::session_store::Error {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Encode(msg) => Self::Encode(msg),
            DbError::Decode(msg) => Self::Decode(msg),
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
