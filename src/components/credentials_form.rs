//! The email and password fields and the submit button that sign-in and registration share.

use leptos::prelude::*;

use super::form::{SubmitButton, TextField};

/// Email, password and a submit button, each field with its error. Goes inside the page's
/// `ActionForm`, whose server function takes `email` and `password`.
#[component]
pub fn CredentialsFields(
    /// `current-password` when signing in, `new-password` when registering, so password
    /// managers fill or suggest the right thing.
    password_autocomplete: &'static str,
    /// A hint under the password field (the password rules, when choosing one).
    #[prop(optional_no_strip)]
    password_hint: Option<String>,
    /// The email the field starts with: what the user typed before a round trip without
    /// JavaScript. The password is never kept.
    #[prop(optional_no_strip)]
    email: Option<String>,
    /// The error for the email field, if any.
    #[prop(into)]
    email_error: Signal<Option<String>>,
    /// The error for the password field, if any.
    #[prop(into)]
    password_error: Signal<Option<String>>,
    /// The id of the page's message when it explains an error of both fields together (a
    /// failed sign-in), so both are marked invalid and point at it.
    #[prop(optional, into)]
    explained_by: Signal<Option<&'static str>>,
    /// Whether the form's action is running.
    #[prop(into)]
    pending: Signal<bool>,
    /// The button's label when idle, e.g. "Sign in".
    submit_label: &'static str,
    /// The button's label while the action runs, e.g. "Signing in…".
    pending_label: &'static str,
) -> impl IntoView {
    view! {
        <TextField label="Email" name="email" input_type="email" autocomplete="username" value=email error=email_error explained_by/>
        <TextField
            label="Password"
            name="password"
            input_type="password"
            autocomplete=password_autocomplete
            hint=password_hint
            error=password_error
            explained_by
        />
        <SubmitButton pending label=submit_label pending_label/>
    }
}
