//! `/login`: signing in.

use leptos::prelude::*;
use leptos_meta::Title;

/// The sign-in page.
#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <p>"Accounts are not open yet: sign-in and registration arrive with the accounts API."</p>
        </section>
    }
}
