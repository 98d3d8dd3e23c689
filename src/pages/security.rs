//! `/account/security`: the sessions of the signed-in user.

use leptos::prelude::*;
use leptos_meta::Title;

/// The account security page.
#[component]
pub fn SecurityPage() -> impl IntoView {
    view! {
        <Title text="Security"/>
        <section class="card">
            <h1>"Where you are signed in"</h1>
            <p>"Your sessions will be listed here once sign-in is available."</p>
        </section>
    }
}
