//! One module per route.

pub mod activity;
pub mod home;
pub mod login;
pub mod not_found;
pub mod register;
pub mod security;

use leptos::prelude::*;
use leptos_router::{
    components::Redirect,
    hooks::{use_navigate, use_query_map},
};

use crate::{
    components::notice_banner::Tone, current_user::use_current_user, error::AppError, notice::Notice, routes,
    session_watch::use_live_session,
};

/// The notice carried in the page's URL (`?notice=…&count=…`), if any.
fn query_notice() -> Memo<Option<Notice>> {
    let query = use_query_map();
    Memo::new(move |_| {
        let query = query.read();
        Notice::from_query(query.get("notice").as_deref(), query.get("count").as_deref())
    })
}

/// Sends the visitor on to `target` once signed in: right after `action` succeeds in the
/// browser, and on the server when the page is rendered for someone already signed in (which
/// is where a form posted without JavaScript lands). Returns the view that redirects.
fn leave_when_signed_in<T: 'static>(
    action: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    target: Signal<String>,
) -> impl IntoView {
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(action.get(), Some(Ok(_))) {
            navigate(&target.get_untracked(), Default::default());
        }
    });
    let user = use_current_user();
    let redirect =
        move || Suspend::new(async move { matches!(user.0.await, Ok(Some(_))).then(|| view! { <Redirect path=target.get_untracked()/> }) });
    view! { <Transition>{redirect}</Transition> }
}

/// Where a visitor of the signed-in page `next` without a live session is sent. A tab that saw
/// itself signed in says the session ended even when the server only sees no cookie (an
/// earlier answer removed it).
fn sign_in_path(error: &AppError, was_signed_in: bool, next: &str) -> String {
    let ended = matches!(error, AppError::SessionEnded) || was_signed_in;
    let notice = if ended { format!("{}&", Notice::SessionEnded.to_query()) } else { String::new() };
    format!("{}?{notice}next={next}", routes::LOGIN)
}

/// The message for a page's live region: the latest failed action's error (unless it belongs
/// to a field, which shows it itself), else the notice carried in the URL.
fn page_message(errors: &[Option<AppError>], notice: Option<Notice>) -> Option<(String, Tone)> {
    let error = errors.iter().flatten().find(|e| !matches!(e, AppError::Invalid { .. } | AppError::EmailTaken));
    if let Some(error) = error {
        return Some((error.to_string(), Tone::Error));
    }
    notice.map(|n| (n.message(), if n.is_warning() { Tone::Error } else { Tone::Success }))
}

/// Moves keyboard focus to the element with `id`, once the view has caught up with the change
/// that asked for it (the next frame), if the page has it then: where the user's attention goes
/// after an action (a result's status line, a dialog's first field).
fn focus_element(id: &'static str) {
    use leptos::wasm_bindgen::JsCast;
    request_animation_frame(move || {
        if let Some(element) = document().get_element_by_id(id).and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
            let _ = element.focus();
        }
    });
}

/// Why the session ended while the page was open, if it did: every page shows it in its
/// notice, under its heading.
fn session_ended_alert() -> Signal<Option<String>> {
    let live = use_live_session();
    Signal::derive(move || live.ended.get().map(|reason| Notice::from(reason).message()))
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
