//! The one error type that server functions return and pages show.

use http::StatusCode;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// Every way a request can fail, each with the HTTP status it is answered with and a message
/// a user can act on. Internal details never reach the client: they go to the server log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request was malformed or a field was invalid (400).
    #[error("{0}")]
    BadInput(String),
    /// One form field was invalid (400); `field` is the form field's name.
    #[error("{message}")]
    Invalid {
        /// The name of the offending field, as in the form.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
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
    /// Too many failed sign-ins (429).
    #[error("Too many failed sign-in attempts. Try again in {retry_after_secs} seconds.")]
    Throttled {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: u64,
    },
    /// The email is already registered (409).
    #[error("An account with that email already exists. Sign in instead.")]
    EmailTaken,
    /// The database could not be reached or could not confirm a change (503).
    #[error("{0}")]
    Unavailable(String),
    /// Something unexpected failed on the server (500); the detail is in the server log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

impl AppError {
    /// The message for a database that cannot be reached.
    pub const DATABASE_UNAVAILABLE: &'static str = "The database is not answering right now. Please try again in a moment.";
    /// The message for a sign-out the database could not confirm.
    pub const SIGN_OUT_UNCONFIRMED: &'static str = "We could not confirm you were signed out on the server. Please try again.";

    /// An invalid value in the form field `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.to_owned(), message: message.into() }
    }

    /// The message for the form field `field`, if this error is about it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid { field: f, message } if f == field => Some(message.clone()),
            Self::EmailTaken if field == "email" => Some(self.to_string()),
            _ => None,
        }
    }

    /// Whether the error means the user has to sign in (again).
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, Self::NotSignedIn | Self::SessionEnded)
    }

    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::BadInput(_) | Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::NotSignedIn | Self::SessionEnded | Self::WrongCredentials => StatusCode::UNAUTHORIZED,
            Self::CrossSite => StatusCode::FORBIDDEN,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::EmailTaken => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// Framework-level failures: unreadable arguments are the client's fault (400); anything
    /// else is ours (500), and a failed request from the browser is reported as unavailable.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::MissingArg(msg) => {
                Self::BadInput(format!("The request was incomplete or malformed: {msg}"))
            }
            ServerFnErrorErr::Request(_) => {
                Self::Unavailable("The server could not be reached. Check your connection and try again.".into())
            }
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failed");
                #[cfg(not(feature = "ssr"))]
                drop(other);
                Self::Internal
            }
        }
    }

    /// Called by the server for every error answer, so the status is set in this one place.
    /// A plain HTML form post (no JavaScript) keeps its redirect back to the form, which shows
    /// the error; everyone else gets the error's status.
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        ssr::set_response_status(self);
        self.to_json().into()
    }

    fn de(data: leptos::server_fn::Bytes) -> Self {
        match serde_json::from_slice::<ErrorBody>(&data) {
            Ok(body) => body.error,
            Err(err) => Self::from_server_fn_error(ServerFnErrorErr::Deserialization(err.to_string())),
        }
    }
}

/// The JSON shape of every error answer: the typed error for programs, and the message for
/// people, e.g. `{"error":"NotSignedIn","message":"Your session ended. Please sign in again."}`.
#[derive(Serialize, Deserialize)]
struct ErrorBody {
    error: AppError,
    message: String,
}

impl AppError {
    /// The error as the JSON body of an answer.
    pub fn to_json(&self) -> Vec<u8> {
        let body = ErrorBody { error: self.clone(), message: self.to_string() };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

#[cfg(feature = "ssr")]
pub(crate) use ssr::is_plain_form_post;

#[cfg(feature = "ssr")]
mod ssr {
    use http::{HeaderValue, header};
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;

    use super::AppError;

    /// Whether the current request is a browser form submission without JavaScript, which
    /// expects a redirect rather than a JSON answer.
    pub(crate) fn is_plain_form_post() -> bool {
        use_context::<http::request::Parts>().is_some_and(|parts| {
            parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
        })
    }

    /// Gives the answer the error's status (and `Retry-After` when throttled), unless it is a
    /// plain form post, which keeps the redirect back to its form.
    pub(super) fn set_response_status(error: &AppError) {
        if let Some(response) = use_context::<ResponseOptions>()
            && !is_plain_form_post()
        {
            response.set_status(error.status_code());
            if let AppError::Throttled { retry_after_secs } = error {
                response.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_input_never_maps_to_500() {
        let err = AppError::from_server_fn_error(ServerFnErrorErr::Args("bad".into()));
        assert_eq!(err.status_code(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn messages_are_actionable() {
        assert_eq!(AppError::Throttled { retry_after_secs: 30 }.to_string(), "Too many failed sign-in attempts. Try again in 30 seconds.");
    }

    #[test]
    fn the_json_body_carries_the_message_and_round_trips() {
        let err = AppError::Throttled { retry_after_secs: 30 };
        let body: serde_json::Value = serde_json::from_slice(&err.to_json()).unwrap();
        assert_eq!(body["message"], err.to_string());
        assert_eq!(AppError::de(err.to_json().into()), err);
    }
}
