//! The live region where results and errors are announced.

use leptos::prelude::*;

/// How a message should look and be announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Something worked.
    Success,
    /// Something needs the user's attention.
    Error,
}

/// The id of the page's notice, for fields whose error it explains (`aria-describedby`).
pub const NOTICE_ID: &str = "page-notice";

/// An `aria-live` region showing `message` (nothing when `None`). Always in the page, so screen
/// readers announce each new message. Next to it, in the same place, `alert` (the news that
/// the session ended while the page was open) shows as an alert, announced at once.
#[component]
pub fn NoticeBanner(
    /// The result or error to show.
    #[prop(optional, into)]
    message: Signal<Option<(String, Tone)>>,
    /// An alert to show next to it, if any.
    #[prop(optional, into)]
    alert: Signal<Option<String>>,
) -> impl IntoView {
    let class = move || match message.get().map(|(_, tone)| tone) {
        Some(Tone::Success) => "notice notice-success",
        Some(Tone::Error) => "notice notice-error",
        None => "notice",
    };
    view! {
        <p id=NOTICE_ID class=class role="status" aria-live="polite" aria-atomic="true" tabindex="-1" data-testid="notice">
            {move || message.get().map(|(text, _)| text)}
        </p>
        {move || alert.get().map(|text| view! { <p class="notice notice-error" role="alert" data-testid="session-ended">{text}</p> })}
    }
}
