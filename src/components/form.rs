//! Form fields with their label, hint and error message side by side.

use leptos::{html, prelude::*};

/// A labelled input whose error (if any) is shown under it, linked by `aria-describedby`, and
/// which takes focus when an error arrives, so keyboard and screen-reader users land on it.
/// The `name` must match the server function's argument.
#[component]
pub fn TextField(
    /// The visible label.
    label: &'static str,
    /// The form field name, and the base of the element ids.
    name: &'static str,
    /// `email`, `password`, …
    input_type: &'static str,
    /// The `autocomplete` token, so password managers fill the right field.
    autocomplete: &'static str,
    /// A hint shown under the field.
    #[prop(optional_no_strip)]
    hint: Option<String>,
    /// The value the field starts with (never used for passwords).
    #[prop(optional_no_strip)]
    value: Option<String>,
    /// The error for this field, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// The id of a message elsewhere on the page that says why this field is wrong, when the
    /// error belongs to the whole form (a failed sign-in names no one field).
    #[prop(optional, into)]
    explained_by: Signal<Option<&'static str>>,
) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let invalid = move || error.get().is_some() || explained_by.get().is_some();
    let id = format!("field-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described_by = {
        let (hint_id, error_id, has_hint) = (hint_id.clone(), error_id.clone(), hint.is_some());
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if error.get().is_some() {
                ids.push(error_id.clone());
            }
            if let Some(message_id) = explained_by.get() {
                ids.push(message_id.to_owned());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    // Focus goes to the first field in error of the form: each field in error takes it only
    // when no field before it is in error too.
    Effect::new(move |_| {
        if invalid()
            && let Some(input) = input.get()
        {
            let first_in_error = input.form().and_then(|form| form.query_selector("[aria-invalid=\"true\"]").ok().flatten());
            if first_in_error.is_none_or(|first| first.is_same_node(Some(&input))) {
                let _ = input.focus();
            }
        }
    });
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                node_ref=input
                id=id
                name=name
                type=input_type
                autocomplete=autocomplete
                value=value
                required
                aria-invalid=move || invalid().then_some("true")
                aria-describedby=described_by
                autofocus=invalid
            />
            {hint.map(|hint| view! { <p class="field-hint" id=hint_id>{hint}</p> })}
            {move || error.get().map(|message| view! { <p class="field-error" id=error_id.clone()>{message}</p> })}
        </div>
    }
}

/// A form's submit button: disabled, with its pending label, while the action runs.
#[component]
pub fn SubmitButton(
    /// Whether the form's action is running.
    #[prop(into)]
    pending: Signal<bool>,
    /// The label when idle.
    label: &'static str,
    /// The label while the action runs, e.g. "Signing in…".
    pending_label: &'static str,
) -> impl IntoView {
    view! {
        <button type="submit" class="button" disabled=move || pending.get()>
            {move || if pending.get() { pending_label } else { label }}
        </button>
    }
}
