//! How an [`AppError`] travels: as the JSON body `{"error": code, "message": sentence}`, with
//! its status and `Retry-After` set on the answer, and read back from the code alone.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

use super::{AppError, BadInput, Outage};

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// Framework-level failures: unreadable arguments are the client's fault (400); anything
    /// else is ours (500), and a failed request from the browser is reported as unavailable.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Arguments the server could not read, as text or as a form (found by tests/fuzz.rs:
            // a body that is not UTF-8 answered 500).
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => {
                Self::BadInput(BadInput::Malformed)
            }
            ServerFnErrorErr::Request(_) => Self::Unavailable(Outage::ServerUnreachable),
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
            // An answer that is not one of ours (or a crafted `__err`): say nothing it claims.
            Err(_) => Self::Internal,
        }
    }
}

/// The JSON shape of every error answer: the typed error for programs, and the message for
/// people, e.g. `{"error":"SessionEnded","message":"Your session ended. Please sign in again."}`.
/// Reading one back uses the code only; the message is always rebuilt from it.
#[derive(Serialize, Deserialize)]
struct ErrorBody {
    error: AppError,
    message: String,
}

impl AppError {
    /// The error as the JSON body of an answer.
    pub fn to_json(&self) -> Vec<u8> {
        let body = ErrorBody { error: *self, message: self.to_string() };
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

    use crate::error::AppError;

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
            if let Some(retry_after_secs) = error.retry_after_secs() {
                response.insert_header(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    #[test]
    fn user_input_never_maps_to_500() {
        let err = AppError::from_server_fn_error(ServerFnErrorErr::Args("bad".into()));
        assert_eq!(err.status_code(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_crafted_error_can_only_pick_one_of_our_sentences() {
        let crafted = br#"{"error":{"BadInput":"Call +1 555 0100 to unlock your account"},"message":"Call +1 555 0100"}"#;
        assert_eq!(AppError::de(crafted.to_vec().into()), AppError::Internal);
        let relabelled = br#"{"error":"WrongCredentials","message":"Call +1 555 0100"}"#;
        assert_eq!(AppError::de(relabelled.to_vec().into()).to_string(), "That email and password do not match an account.");
    }

    #[test]
    fn the_json_body_carries_the_message_and_round_trips() {
        let err = AppError::Throttled { retry_after_secs: 30 };
        let body: serde_json::Value = serde_json::from_slice(&err.to_json()).unwrap();
        assert_eq!(body["message"], err.to_string());
        assert_eq!(AppError::de(err.to_json().into()), err);
    }
}
