//! `/`: what sessionguard does.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::database_status::DatabaseStatusCheck;

/// The landing page.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Sign-out that is real"/>
        <section class="hero">
            <h1>"Sign-out that is real."</h1>
            <p class="lead">
                "See every place you are signed in, and end any of them: this device, one other, all others, or all at once. "
                "An ended session is removed from the database at once and can never come back."
            </p>
            <A href="/login" attr:class="button">"Sign in"</A>
        </section>
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
                <p>"Idle sessions end after 30 minutes and every session after 12 hours, enforced by the server."</p>
            </article>
        </section>
        <section class="card" aria-labelledby="status-heading">
            <h2 id="status-heading">"Server status"</h2>
            <DatabaseStatusCheck/>
        </section>
    }
}
