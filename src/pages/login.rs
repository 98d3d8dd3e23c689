//! `/login`: signing in, then on to `next` (a local path) or the security page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Redirect},
    hooks::{use_navigate, use_query_map},
};

use super::{action_error, field_error, page_message};
use crate::{
    api::account::Login,
    components::{current_user::use_current_user, form::TextField, notice_banner::NoticeBanner},
    notice::Notice,
    validation::safe_next,
};

/// The sign-in page. Works as a plain HTML form; with JavaScript it signs in without a reload.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = Memo::new(move |_| safe_next(query.read().get("next").as_deref()).to_owned());
    let notice = Memo::new(move |_| {
        let query = query.read();
        Notice::from_query(query.get("notice").as_deref(), query.get("count").as_deref())
    });
    let message = Signal::derive(move || page_message(&[action_error(&login.value())], notice.get()));

    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(login.value().get(), Some(Ok(_))) {
            navigate(&next.get_untracked(), Default::default());
        }
    });
    // Already signed in (or just signed in by a form posted without JavaScript): move on.
    let user = use_current_user();
    let redirect_when_signed_in = move || {
        Suspend::new(async move { matches!(user.0.await, Ok(Some(_))).then(|| view! { <Redirect path=next.get_untracked()/> }) })
    };
    let pending = login.pending();

    view! {
        <Title text="Sign in"/>
        <Transition>{redirect_when_signed_in}</Transition>
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
                <button type="submit" class="button" disabled=move || pending.get()>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="muted">"No account yet? " <A href="/register">"Create one"</A></p>
        </section>
    }
}
