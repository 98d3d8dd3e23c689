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

/// An `aria-live` region showing `message` (nothing when `None`). Always in the page, so screen
/// readers announce each new message.
#[component]
pub fn NoticeBanner(#[prop(into)] message: Signal<Option<(String, Tone)>>) -> impl IntoView {
    let class = move || match message.get().map(|(_, tone)| tone) {
        Some(Tone::Success) => "notice notice-success",
        Some(Tone::Error) => "notice notice-error",
        None => "notice",
    };
    view! {
        <p class=class role="status" aria-live="polite" aria-atomic="true" data-testid="notice">
            {move || message.get().map(|(text, _)| text)}
        </p>
    }
}
