//! One module per route.

pub mod home;
pub mod login;
pub mod not_found;
pub mod register;
pub mod security;

use leptos::prelude::*;

use crate::{components::notice_banner::Tone, error::AppError, notice::Notice};

/// The message for a page's live region: the latest failed action's error (unless it belongs
/// to a field, which shows it itself), else the notice carried in the URL.
fn page_message(errors: &[Option<AppError>], notice: Option<Notice>) -> Option<(String, Tone)> {
    let error = errors.iter().flatten().find(|e| !matches!(e, AppError::Invalid { .. } | AppError::EmailTaken));
    if let Some(error) = error {
        return Some((error.to_string(), Tone::Error));
    }
    notice.map(|n| (n.message(), if n.is_warning() { Tone::Error } else { Tone::Success }))
}

/// The error of an action's latest result (its `value()`), if it failed.
fn action_error<T>(value: &impl Get<Value = Option<Result<T, AppError>>>) -> Option<AppError> {
    value.get().and_then(Result::err)
}

/// The error an action's latest result (its `value()`) holds for the form field `field`.
fn field_error<T>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || action_error(&value).and_then(|e| e.field_message(field)))
}
