//! `/register`: creating an account, which also signs it in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::{action_error, field_error, leave_when_signed_in, page_message, session_ended_alert};
use crate::{
    api::{remembered_email, sign_in::Register},
    components::{credentials_form::CredentialsFields, notice_banner::NoticeBanner},
    routes,
    validation::password_rule,
};

/// The registration page. Works as a plain HTML form; with JavaScript it needs no reload.
/// A new account lands on the security page.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let register = ServerAction::<Register>::new();
    let typed_email = remembered_email::take();
    let message = Signal::derive(move || page_message(&[action_error(&register.value())], None));

    view! {
        <Title text="Create an account"/>
        {leave_when_signed_in(register.value(), Signal::derive(|| routes::SECURITY.to_owned()))}
        <section class="card narrow">
            <h1>"Create an account"</h1>
            <NoticeBanner message alert=session_ended_alert()/>
            <ActionForm action=register attr:class="form">
                <CredentialsFields
                    password_autocomplete="new-password"
                    password_hint=Some(password_rule())
                    email=typed_email
                    email_error=field_error(register.value(), "email")
                    password_error=field_error(register.value(), "password")
                    pending=register.pending()
                    submit_label="Create account"
                    pending_label="Creating your account…"
                />
            </ActionForm>
            <p class="muted">"Already have an account? " <A href=routes::LOGIN>"Sign in"</A></p>
        </section>
    }
}
