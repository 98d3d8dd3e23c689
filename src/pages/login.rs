//! `/login`: signing in, then on to `next` (a local path) or the security page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::{action_error, field_error, leave_when_signed_in, page_message, query_notice};
use crate::{
    api::account::Login,
    components::{credentials_form::CredentialsFields, notice_banner::NoticeBanner},
    routes,
    validation::safe_next,
};

/// The sign-in page. Works as a plain HTML form; with JavaScript it signs in without a reload.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = Signal::derive(move || safe_next(query.read().get("next").as_deref()).to_owned());
    let typed_email = query.read_untracked().get("email");
    let notice = query_notice();
    let message = Signal::derive(move || page_message(&[action_error(&login.value())], notice.get()));

    view! {
        <Title text="Sign in"/>
        {leave_when_signed_in(login.value(), next)}
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <NoticeBanner message/>
            <ActionForm action=login attr:class="form">
                <CredentialsFields
                    password_autocomplete="current-password"
                    email=typed_email
                    email_error=field_error(login.value(), "email")
                    password_error=field_error(login.value(), "password")
                    pending=login.pending()
                    submit_label="Sign in"
                    pending_label="Signing in…"
                />
            </ActionForm>
            <p class="muted">"No account yet? " <A href=routes::REGISTER>"Create one"</A></p>
        </section>
    }
}
