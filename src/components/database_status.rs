//! A button that asks the server to ping its database and shows the answer.

use leptos::prelude::*;

use crate::api::status::database_status;

/// "Check the database": runs [`database_status`] and reports the round-trip time in words.
#[component]
pub fn DatabaseStatusCheck() -> impl IntoView {
    let check = Action::new(|_: &()| database_status());
    // Effects run only in the browser: the button stays disabled until the page has hydrated.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let message = move || {
        check.value().get().map(|result| match result {
            Ok(status) => format!("MongoDB answered the server's ping in {} ms.", status.ping_ms),
            Err(err) => err.to_string(),
        })
    };
    view! {
        <div class="status-check">
            <button
                type="button"
                class="button button-secondary"
                on:click=move |_| {
                    check.dispatch(());
                }
                disabled=move || !hydrated.get() || check.pending().get()
            >
                {move || if check.pending().get() { "Checking…" } else { "Check the database" }}
            </button>
            <p class="status-result" role="status" aria-live="polite" data-testid="database-status">
                {message}
            </p>
        </div>
    }
}
