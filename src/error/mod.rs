//! The one error type that server functions return and pages show: what can go wrong, each
//! with its status and message. How an error travels (JSON, status, `Retry-After`) is `wire`.

mod wire;

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::validation;
pub use crate::validation::{Field, FieldProblem};

/// Every way a request can fail, each with the HTTP status it is answered with and a message
/// a user can act on. Internal details never reach the client: they go to the server log.
///
/// Every variant is a code, never free text: an error travels through URLs (`?__err=` after a
/// form posted without JavaScript), and a crafted URL must only ever be able to pick one of the
/// server's own sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request was malformed (400; 413 for a body over the limit).
    #[error("{0}")]
    BadInput(BadInput),
    /// One form field was invalid (400).
    #[error("{problem}")]
    Invalid {
        /// The offending field.
        field: Field,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// The request needs a signed-in session and carries no session cookie (401).
    #[error("Please sign in to continue.")]
    NotSignedIn,
    /// The request's session cookie names a session that has ended (401): logged out,
    /// revoked from another device, or expired.
    #[error("Your session ended. Please sign in again.")]
    SessionEnded,
    /// The email and password did not match an account (401). Deliberately says no more.
    #[error("That email and password do not match an account.")]
    WrongCredentials,
    /// The request came from another site (403).
    #[error("This request came from another site and was refused.")]
    CrossSite,
    /// The password was right, but an operator disabled the account (403). Answered only after
    /// the password check, so that it tells nothing to someone without the password.
    #[error("This account is disabled. Contact support.")]
    AccountDisabled,
    /// Too many attempts from this account or address (429, with `Retry-After`).
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    Throttled {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: u64,
    },
    /// The email is already registered (409).
    #[error("An account with that email already exists. Sign in instead.")]
    EmailTaken,
    /// The server is checking as many passwords as it safely can (503, with `Retry-After`).
    #[error("The server is busy checking passwords. Try again in {retry_after_secs} seconds.")]
    Busy {
        /// Seconds after which a retry is likely to be served.
        retry_after_secs: u64,
    },
    /// The account already holds its maximum of live sign-out streams on this server (429,
    /// `Config::max_streams_per_account`): one account cannot take the streams of all others.
    /// The tab checks its session when it regains focus instead.
    #[error("Too many open tabs for this account. Close some tabs; this one checks on focus instead.")]
    TooManyTabs,
    /// The server already serves its maximum of live sign-out streams (503, with
    /// `Retry-After`; `Config::max_session_streams`). The tab checks its session when it
    /// regains focus instead.
    #[error("The server is serving as many open tabs as it can. This tab checks on focus instead.")]
    LiveBusy {
        /// Seconds after which a new stream is likely to be served.
        retry_after_secs: u64,
    },
    /// The database could not be reached or could not confirm a change (503).
    #[error("{0}")]
    Unavailable(Outage),
    /// Something unexpected failed on the server (500); the detail is in the server log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

/// Why a request was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum BadInput {
    /// Sign-in without an email or a password.
    #[error("Enter your email address and password.")]
    MissingCredentials,
    /// An email longer than any address can be, refused before any lookup.
    #[error("That email address is too long: addresses have at most {} characters.", validation::EMAIL_MAX_CHARS)]
    EmailTooLong,
    /// A password longer than any we accept, refused before any hashing.
    #[error("Passwords have at most {} characters.", validation::PASSWORD_MAX_CHARS)]
    PasswordTooLong,
    /// Arguments missing or unreadable.
    #[error("The request was incomplete or malformed.")]
    Malformed,
    /// A body over the limit.
    #[error("The request is too large.")]
    TooLarge,
    /// A body that did not arrive within the request deadline (408).
    #[error("The request did not arrive in time. Please try again.")]
    Incomplete,
    /// Behind a trusted proxy, `X-Forwarded-For` is missing or does not name a client.
    #[error("The request did not say which client sent it (X-Forwarded-For is missing or malformed).")]
    ForwardedFor,
}

/// What went wrong on the server's side of a request that may succeed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Outage {
    /// The database did not answer.
    #[error("The database is not answering right now. Please try again in a moment.")]
    Database,
    /// A sign-out the database could not confirm: the session may still exist.
    #[error("We could not confirm you were signed out on the server. Please try again.")]
    SignOutUnconfirmed,
    /// Ending other sessions could not be confirmed: they may still exist.
    #[error("We could not confirm that those sessions ended. Please try again.")]
    OthersUnconfirmed,
    /// The password changed, but the other sessions could not be ended.
    #[error("Your password was changed, but we could not sign out your other sessions. Use “Sign out all other sessions” to finish.")]
    OtherSessionsRemain,
    /// The password changed and the other sessions ended, but this device's new session could
    /// not be written: it is signed out too.
    #[error(
        "Your password was changed and your other sessions were signed out, but this device was signed out too. Sign in with your new password."
    )]
    PasswordChangedSignInAgain,
    /// The account was deleted (no one can sign in to it any more), but ending its sessions
    /// could not be confirmed: the same request again, from this device, finishes the job.
    #[error("Your account was deleted, but we could not confirm that all of its sessions ended. Please try again.")]
    DeletionUnfinished,
    /// A change took longer than the request deadline. It was not cut short: it runs to its end
    /// on the server, so it may well have taken effect.
    #[error("The server is taking long to confirm this change. It may still complete: reload the page in a moment to see whether it did.")]
    MayStillComplete,
    /// The instance is already running as many changes as it safely can; this one was refused
    /// before it started, so it changed nothing.
    #[error("The server is handling too many changes right now. Please try again in a moment.")]
    Overloaded,
    /// A password change whose write the database did not confirm: it may or may not have taken
    /// effect, so the other sessions were signed out to be safe.
    #[error(
        "We could not confirm that your password was changed, so your other sessions were signed out to be safe. Try again; if your current password is refused, the new one is in effect."
    )]
    PasswordChangeUnconfirmed,
    /// An account deletion whose first write the database did not confirm: every session was
    /// signed out to be safe.
    #[error(
        "We could not confirm that your account was deleted, so all of its sessions were signed out to be safe. Sign in again: if you can, delete it again."
    )]
    DeletionUnconfirmed,
    /// A stored password hash could not be checked (it does not parse, or the hashing task
    /// failed). Nothing was counted against the account; the detail is in the server log.
    #[error("Passwords cannot be checked right now. Please try again later.")]
    PasswordCheckFailed,
    /// The browser could not reach the server.
    #[error("The server could not be reached. Check your connection and try again.")]
    ServerUnreachable,
}

impl AppError {
    /// The message for the form field named `field`, if this error is about it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid { field: f, problem } if f.name() == field => Some(problem.to_string()),
            Self::EmailTaken if field == Field::Email.name() => Some(self.to_string()),
            _ => None,
        }
    }

    /// Whether the error is shown next to a form field rather than in the page's banner.
    pub fn is_field_error(&self) -> bool {
        matches!(self, Self::Invalid { .. } | Self::EmailTaken)
    }

    /// Whether the error means the user has to sign in (again).
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, Self::NotSignedIn | Self::SessionEnded)
    }

    /// Seconds the client should wait before retrying, sent as `Retry-After`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Throttled { retry_after_secs } | Self::Busy { retry_after_secs } | Self::LiveBusy { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::BadInput(BadInput::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadInput(BadInput::Incomplete) => StatusCode::REQUEST_TIMEOUT,
            Self::BadInput(_) | Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::NotSignedIn | Self::SessionEnded | Self::WrongCredentials => StatusCode::UNAUTHORIZED,
            Self::CrossSite | Self::AccountDisabled => StatusCode::FORBIDDEN,
            Self::Throttled { .. } | Self::TooManyTabs => StatusCode::TOO_MANY_REQUESTS,
            Self::EmailTaken => StatusCode::CONFLICT,
            Self::Busy { .. } | Self::LiveBusy { .. } | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[cfg(feature = "ssr")]
pub(crate) use wire::is_plain_form_post;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_actionable() {
        assert_eq!(AppError::Throttled { retry_after_secs: 30 }.to_string(), "Too many attempts. Try again in 30 seconds.");
        assert_eq!(AppError::BadInput(BadInput::PasswordTooLong).to_string(), "Passwords have at most 128 characters.");
    }
}
