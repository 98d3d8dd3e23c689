//! Accounts, passwords, sign-in throttling, security events and the cross-site check.
//! Server-only; server functions in `api` call into it.

mod api_guard;
mod client;
mod events;
mod password;
mod throttle;
mod users;

pub use client::{ClientInfo, device_summary};
pub use events::{SECURITY_EVENTS_COLLECTION, SecurityEvents};
pub use api_guard::{MAX_BODY_BYTES, guard_api};
pub use password::{PasswordHashString, hash_password, verify_password};
pub use throttle::{LOGIN_THROTTLE_COLLECTION, LoginThrottle};
pub use users::{USERS_COLLECTION, User, Users};

use mongodb::Database;

use crate::error::AppError;

/// Creates the indexes of the account collections; safe to call on every start.
///
/// # Errors
/// [`AppError::Unavailable`] when MongoDB cannot be reached.
pub async fn ensure_indexes(db: &Database) -> Result<(), AppError> {
    Users::new(db).ensure_indexes().await?;
    SecurityEvents::new(db).ensure_indexes().await?;
    LoginThrottle::ensure_indexes(db).await?;
    Ok(())
}
