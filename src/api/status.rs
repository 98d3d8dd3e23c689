//! A live look at the server's database connection, shown on the landing page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the server knows about its database right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseHealth {
    /// How long MongoDB took to answer a ping, in milliseconds.
    pub ping_ms: u64,
}

/// Pings MongoDB from the server and reports the round-trip time.
///
/// # Errors
/// [`AppError::Unavailable`] (503) when MongoDB does not answer.
#[server(endpoint = "status")]
pub async fn database_status() -> Result<DatabaseHealth, AppError> {
    let state = crate::state::app_state()?;
    match crate::database::ping(&state.db).await {
        Ok(elapsed) => Ok(DatabaseHealth {
            ping_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        }),
        Err(err) => {
            tracing::warn!(%err, "status: MongoDB did not answer");
            Err(AppError::Unavailable(AppError::DATABASE_UNAVAILABLE.into()))
        }
    }
}
