//! `/register`: creating an account, which also signs it in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Redirect},
    hooks::use_navigate,
};

use super::{action_error, field_error, page_message};
use crate::{
    api::account::Register,
    components::{current_user::use_current_user, form::TextField, notice_banner::NoticeBanner},
};

/// Where a new account lands.
const AFTER_REGISTER: &str = "/account/security";

/// The registration page. Works as a plain HTML form; with JavaScript it needs no reload.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let register = ServerAction::<Register>::new();
    let message = Signal::derive(move || page_message(&[action_error(&register.value())], None));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(register.value().get(), Some(Ok(_))) {
            navigate(AFTER_REGISTER, Default::default());
        }
    });
    let user = use_current_user();
    let redirect_when_signed_in =
        move || Suspend::new(async move { matches!(user.0.await, Ok(Some(_))).then(|| view! { <Redirect path=AFTER_REGISTER/> }) });
    let pending = register.pending();

    view! {
        <Title text="Create an account"/>
        <Transition>{redirect_when_signed_in}</Transition>
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
                <button type="submit" class="button" disabled=move || pending.get()>
                    {move || if pending.get() { "Creating your account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="muted">"Already have an account? " <A href="/login">"Sign in"</A></p>
        </section>
    }
}
