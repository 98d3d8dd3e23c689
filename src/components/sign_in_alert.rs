//! The alerts of sign-ins elsewhere that this tab heard of (`new_sign_in` on the live stream):
//! each says where and when, and offers to end that session at once.

use leptos::prelude::*;

use crate::{api::sessions::RevokeSession, format::relative_time, model::NewSignIn, routes, session_watch::use_live_session};

/// Every alert this tab shows, oldest first. Non-blocking (`role=status`, never `alert`, which
/// would interrupt a screen reader); dismissing one hides it in this tab only.
#[component]
pub fn SignInAlerts() -> impl IntoView {
    let live = use_live_session();
    view! {
        <div class="sign-in-alerts" data-testid="sign-in-alerts">
            <For each=move || live.sign_ins.get() key=|sign_in| sign_in.handle.clone() let:sign_in>
                <SignInAlert sign_in/>
            </For>
        </div>
    }
}

/// One sign-in elsewhere: "New sign-in: Chrome on Android, 10.2.0.5, just now", a "New device"
/// badge when it is one, "Not you? End it" (revokes that session from this tab, then offers a
/// password change) and "Dismiss".
#[component]
fn SignInAlert(sign_in: NewSignIn) -> impl IntoView {
    let live = use_live_session();
    let end = ServerAction::<RevokeSession>::new();
    let handle = StoredValue::new(sign_in.handle.clone());
    let dismiss = move |_| live.sign_ins.update(|shown| shown.retain(|s| handle.with_value(|h| s.handle != *h)));
    let when = relative_time(now_ms(), sign_in.signed_in_at_ms);
    let text = format!("New sign-in: {}, {}, {when}", sign_in.device, sign_in.ip);
    let ended = move || matches!(end.value().get(), Some(Ok(_)));
    let failed = move || matches!(end.value().get(), Some(Err(_)));
    view! {
        <section class="sign-in-alert" role="status" aria-label="New sign-in" data-testid="sign-in-alert">
            <p class="sign-in-alert-text">
                {text}
                {sign_in.new_device.then(|| view! { " " <span class="badge badge-warning">"New device"</span> })}
            </p>
            <Show
                when=ended
                fallback=move || {
                    view! {
                        <div class="sign-in-alert-actions">
                            <button
                                type="button"
                                class="button button-small button-danger"
                                disabled=move || end.pending().get()
                                on:click=move |_| {
                                    end.dispatch(RevokeSession { handle: handle.get_value() });
                                }
                            >
                                "Not you? End it"
                            </button>
                            <button type="button" class="button button-small button-secondary" on:click=dismiss>
                                "Dismiss"
                            </button>
                        </div>
                        {move || failed().then(|| view! { <p class="field-error">"That session could not be ended. Try again."</p> })}
                    }
                }
            >
                <p class="sign-in-alert-done">
                    "That session has ended. "
                    <a href=format!("{}#password-heading", routes::SECURITY)>"Change your password"</a>
                    " if you did not sign in there."
                </p>
                <button type="button" class="button button-small button-secondary" on:click=dismiss>
                    "Dismiss"
                </button>
            </Show>
        </section>
    }
}

/// Now, in milliseconds since the Unix epoch, as the browser tells it. Alerts exist only in the
/// browser (they come from the live stream), so the server never renders one.
fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0
    }
}
