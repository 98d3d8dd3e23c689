//! `/`: what sessionguard does, or a greeting when signed in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::session_ended_alert;
use crate::{
    api::rules::session_rules,
    components::{email_text::EmailText, notice_banner::NoticeBanner},
    current_user::use_current_user,
    format::duration_words,
    routes,
};

/// The landing page.
#[component]
pub fn HomePage() -> impl IntoView {
    let user = use_current_user();
    let rules = Resource::new(|| (), |()| session_rules());
    let expiry = move || {
        Suspend::new(async move {
            rules.await.ok().map(|rules| {
                format!(
                    "Idle sessions end after {} and every session after {}, enforced by the server.",
                    duration_words(rules.idle_timeout_secs),
                    duration_words(rules.absolute_timeout_secs)
                )
            })
        })
    };
    let hero = move || {
        Suspend::new(async move {
            match user.0.await {
                Ok(Some(me)) => view! {
                    <h1>"Welcome back."</h1>
                    <p class="lead">"You are signed in as " <strong><EmailText email=me.email/></strong> ". See where else you are signed in, and end any session you do not recognise."</p>
                    <A href=routes::SECURITY attr:class="button">"Review your sessions"</A>
                }
                .into_any(),
                _ => view! {
                    <h1>"Sign-out that is real."</h1>
                    <p class="lead">
                        "See every place you are signed in, and end any of them: this device, one other, all others, or all at once. "
                        "An ended session is removed from the database at once and can never come back."
                    </p>
                    <div class="button-row">
                        <A href=routes::LOGIN attr:class="button">"Sign in"</A>
                        <A href=routes::REGISTER attr:class="button button-secondary">"Create an account"</A>
                    </div>
                }
                .into_any(),
            }
        })
    };
    view! {
        <Title text="Sign-out that is real"/>
        <section class="hero">
            <Transition>{hero}</Transition>
        </section>
        <NoticeBanner alert=session_ended_alert()/>
        <section class="card-grid" aria-label="What sessionguard guarantees">
            <article class="card">
                <h2>"Gone means gone"</h2>
                <p>"Logging out deletes the session on the server and removes the cookie. A request still in flight cannot write it back."</p>
            </article>
            <article class="card">
                <h2>"Every device, listed"</h2>
                <p>"Sessions are stored by user, so the security page shows them all and can end them in one step."</p>
            </article>
            <article class="card">
                <h2>"Expires on its own"</h2>
                <p data-testid="expiry-rule"><Transition>{expiry}</Transition></p>
            </article>
        </section>
    }
}
