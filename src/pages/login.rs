//! `/login`: signing in, then on to `next` (a local path) or the security page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::{action_error, field_error, leave_when_signed_in, page_message, query_notice, session_ended_alert};
use crate::{
    api::{remembered_email, sign_in::Login},
    components::{
        credentials_form::CredentialsFields,
        notice_banner::{NOTICE_ID, NoticeBanner},
    },
    error::AppError,
    routes,
    validation::safe_next,
};

/// The sign-in page. Works as a plain HTML form; with JavaScript it signs in without a reload.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = Signal::derive(move || safe_next(query.read().get("next").as_deref()).to_owned());
    let typed_email = remembered_email::take();
    let notice = query_notice();
    let message = Signal::derive(move || page_message(&[action_error(&login.value())], notice.get()));
    // A wrong email or password belongs to both fields: they point at the page's message.
    let explained_by =
        Signal::derive(move || matches!(action_error(&login.value()), Some(AppError::WrongCredentials)).then_some(NOTICE_ID));

    view! {
        <Title text="Sign in"/>
        {leave_when_signed_in(login.value(), next)}
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <NoticeBanner message alert=session_ended_alert()/>
            <ActionForm action=login attr:class="form">
                <CredentialsFields
                    password_autocomplete="current-password"
                    email=typed_email
                    email_error=field_error(login.value(), "email")
                    password_error=field_error(login.value(), "password")
                    explained_by
                    pending=login.pending()
                    submit_label="Sign in"
                    pending_label="Signing in…"
                />
            </ActionForm>
            <p class="muted">"No account yet? " <A href=routes::REGISTER>"Create one"</A></p>
        </section>
    }
}
