//! `/login`: signing in, then on to `next` (a local path) or the security page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::{action_error, field_error, leave_when_signed_in, page_message, query_notice};
use crate::{
    api::account::Login,
    components::{
        form::{SubmitButton, TextField},
        notice_banner::NoticeBanner,
    },
    validation::safe_next,
};

/// The sign-in page. Works as a plain HTML form; with JavaScript it signs in without a reload.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = Signal::derive(move || safe_next(query.read().get("next").as_deref()).to_owned());
    let notice = query_notice();
    let message = Signal::derive(move || page_message(&[action_error(&login.value())], notice.get()));

    view! {
        <Title text="Sign in"/>
        {leave_when_signed_in(login.value(), next)}
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <NoticeBanner message/>
            <ActionForm action=login attr:class="form">
                <TextField label="Email" name="email" input_type="email" autocomplete="username" error=field_error(login.value(), "email")/>
                <TextField
                    label="Password"
                    name="password"
                    input_type="password"
                    autocomplete="current-password"
                    error=field_error(login.value(), "password")
                />
                <SubmitButton pending=login.pending() label="Sign in" pending_label="Signing in…"/>
            </ActionForm>
            <p class="muted">"No account yet? " <A href="/register">"Create one"</A></p>
        </section>
    }
}
