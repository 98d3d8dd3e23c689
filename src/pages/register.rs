//! `/register`: creating an account, which also signs it in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::{action_error, field_error, leave_when_signed_in, page_message};
use crate::{
    api::account::Register,
    components::{
        form::{SubmitButton, TextField},
        notice_banner::NoticeBanner,
    },
};

/// Where a new account lands.
const AFTER_REGISTER: &str = "/account/security";

/// The registration page. Works as a plain HTML form; with JavaScript it needs no reload.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let register = ServerAction::<Register>::new();
    let message = Signal::derive(move || page_message(&[action_error(&register.value())], None));

    view! {
        <Title text="Create an account"/>
        {leave_when_signed_in(register.value(), Signal::derive(|| AFTER_REGISTER.to_owned()))}
        <section class="card narrow">
            <h1>"Create an account"</h1>
            <NoticeBanner message/>
            <ActionForm action=register attr:class="form">
                <TextField label="Email" name="email" input_type="email" autocomplete="username" error=field_error(register.value(), "email")/>
                <TextField
                    label="Password"
                    name="password"
                    input_type="password"
                    autocomplete="new-password"
                    hint="8 to 128 characters."
                    error=field_error(register.value(), "password")
                />
                <SubmitButton pending=register.pending() label="Create account" pending_label="Creating your account…"/>
            </ActionForm>
            <p class="muted">"Already have an account? " <A href="/login">"Sign in"</A></p>
        </section>
    }
}
