//! The rules this server enforces, for pages that state them.

use leptos::prelude::*;

use crate::{error::AppError, model::SessionTimeouts};

/// The session timeouts this server runs with, read from its configuration, so a page never
/// states a rule the server does not apply.
///
/// # Errors
/// 500 only if called outside a request the router set up.
#[server(endpoint = "session_rules")]
pub async fn session_rules() -> Result<SessionTimeouts, AppError> {
    let config = crate::state::app_state()?.config;
    Ok(SessionTimeouts { idle_timeout_secs: config.idle_timeout.as_secs(), absolute_timeout_secs: config.absolute_timeout.as_secs() })
}
