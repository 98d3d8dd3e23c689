//! MongoDB access shared by every server-side module: connecting, the one error type of all
//! data access, and the indexes of every collection.
#![deny(missing_docs)]

mod commands;
mod error;
mod indexes;

use std::time::{Duration, Instant};

pub use error::DbError;
pub use indexes::{IndexReport, ensure_indexes};
use mongodb::{Client, Database, bson::doc, options::ClientOptions};

use crate::config::Config;

/// The collection that holds one document per session (DESIGN.md §3), the store's default.
pub const SESSIONS: &str = sessionguard_store::DEFAULT_COLLECTION;
/// The collection that holds one document per account.
pub const USERS: &str = "users";
/// The collection that holds what happened to each account.
pub const SECURITY_EVENTS: &str = "security_events";
/// The collection that holds the failed-sign-in counters.
pub const LOGIN_THROTTLE: &str = "login_throttle";

pub use sessionguard_store::{durable, is_duplicate_key};

/// Why the server could not start talking to MongoDB.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The connection string could not be parsed.
    #[error("MONGODB_URI is not a valid MongoDB connection string ({uri}): {reason}")]
    InvalidUri {
        /// The string, with any password removed.
        uri: String,
        /// The driver's explanation.
        reason: String,
    },
    /// The server did not answer a ping within the timeout.
    #[error("cannot reach MongoDB at {uri} (set MONGODB_URI to a running server): {reason}")]
    Unreachable {
        /// The string, with any password removed.
        uri: String,
        /// The driver's explanation.
        reason: String,
    },
}

/// Opens a client for `config.mongodb_uri`, waits at most the server-selection timeout for a
/// `ping`, and returns the configured database.
///
/// # Errors
/// [`ConnectError`], naming `MONGODB_URI`, when the string is invalid or no server answers.
pub async fn connect(config: &Config) -> Result<Database, ConnectError> {
    let uri = redact(&config.mongodb_uri);
    let mut options = ClientOptions::parse(&config.mongodb_uri)
        .await
        .map_err(|e| ConnectError::InvalidUri { uri: uri.clone(), reason: e.to_string() })?;
    options.app_name = Some("sessionguard".into());
    options.server_selection_timeout = Some(config.server_selection_timeout);
    options.connect_timeout = Some(config.server_selection_timeout);
    options.command_event_handler = Some(commands::observer());
    let client = Client::with_options(options).map_err(|e| ConnectError::InvalidUri { uri: uri.clone(), reason: e.to_string() })?;
    let db = client.database(&config.mongodb_db);
    ping(&db).await.map_err(|e| ConnectError::Unreachable { uri, reason: e.to_string() })?;
    Ok(db)
}

/// Sends one `ping` and returns how long the answer took.
///
/// # Errors
/// The driver's error when no server answers within the server-selection timeout.
pub async fn ping(db: &Database) -> Result<Duration, mongodb::error::Error> {
    let started = Instant::now();
    db.run_command(doc! { "ping": 1 }).await?;
    Ok(started.elapsed())
}

/// The connection string without its password, safe to log.
fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &uri[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &uri[..scheme_end + 3], &uri[at..])
        }
        _ => uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("mongodb://app:s3cret@db:27017/x"), "mongodb://app:***@db:27017/x");
        assert_eq!(redact("mongodb://127.0.0.1:27017"), "mongodb://127.0.0.1:27017");
    }
}
