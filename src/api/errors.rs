//! The `api` edge, where the errors of data access, password hashing and the throttle become
//! HTTP answers.

use crate::{
    auth::{PasswordError, ThrottleVerdict},
    db::DbError,
    error::{AppError, Outage},
};

/// 429 for a refused attempt.
///
/// # Errors
/// [`AppError::Throttled`] with the seconds until the blocking window passes.
pub fn throttled(verdict: ThrottleVerdict) -> Result<(), AppError> {
    match verdict {
        ThrottleVerdict::Allowed => Ok(()),
        ThrottleVerdict::Refused { retry_after_secs } => Err(AppError::Throttled { retry_after_secs }),
    }
}

/// The `api` edge, where data-access errors become HTTP answers: 503 when the database is away
/// or could not confirm, 500 otherwise (the detail goes to the log, never to the client).
impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(_) => {
                tracing::warn!(%err, "database unavailable");
                Self::Unavailable(Outage::Database)
            }
            DbError::Encode(_) | DbError::Decode(_) | DbError::Refused(_) => {
                tracing::error!(%err, "database error");
                Self::Internal
            }
        }
    }
}

/// The session store's errors take the same way as every other data-access error.
impl From<sessionguard_store::StoreError> for AppError {
    fn from(err: sessionguard_store::StoreError) -> Self {
        DbError::from(err).into()
    }
}

impl From<PasswordError> for AppError {
    fn from(err: PasswordError) -> Self {
        match err {
            PasswordError::Busy => {
                tracing::warn!("every password-hashing slot is in use; answering 503");
                Self::Busy { retry_after_secs: 1 }
            }
            PasswordError::Failed(_) => {
                tracing::error!(%err, "password hashing failed; answering 503");
                Self::Unavailable(Outage::PasswordCheckFailed)
            }
        }
    }
}
