//! `/account/security`: every session of the signed-in user, and the ways to end them.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Redirect},
    hooks::use_query_map,
};

use super::{action_error, field_error, focus_element, page_message, query_notice, session_ended_alert, sign_in_path};
use crate::{
    api::{
        account::{ChangePassword, DeleteAccount},
        sessions::{LogoutEverywhere, RevokeSession, SignOutOthers, list_sessions},
    },
    components::{
        form::{SubmitButton, TextField},
        notice_banner::{NOTICE_ID, NoticeBanner},
        session_row::SessionRowView,
    },
    model::{EndReason, RevokeOutcome, SessionList},
    routes,
    session_watch::{own_ending, own_request, use_live_session},
    validation::password_rule,
};

/// The account security page.
#[component]
pub fn SecurityPage() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let others = ServerAction::<SignOutOthers>::new();
    let everywhere = ServerAction::<LogoutEverywhere>::new();
    let change = ServerAction::<ChangePassword>::new();
    let delete = ServerAction::<DeleteAccount>::new();
    let live = use_live_session();
    // The list refreshes after this page's own actions and when the live feed says it changed:
    // no polling, so an idle page never counts as activity.
    let refetch_key = move || (revoke.version().get(), others.version().get(), change.version().get(), live.sessions_changed.get());
    let sessions = Resource::new(refetch_key, |_| list_sessions());
    let query = use_query_map();
    let confirming = Memo::new(move |_| query.read().get("confirm").as_deref() == Some("everywhere"));
    let confirming_delete = Memo::new(move |_| query.read().get("confirm").as_deref() == Some("delete"));
    let notice = query_notice();
    let message = Signal::derive(move || {
        let errors = [
            action_error(&revoke.value()),
            action_error(&others.value()),
            action_error(&everywhere.value()),
            action_error(&change.value()),
            action_error(&delete.value()),
        ];
        page_message(&errors, notice.get())
    });

    // The actions that may cycle or end this tab's own session (see `session_watch`).
    own_ending(live, everywhere.pending(), move || matches!(everywhere.value().get(), Some(Ok(_))), EndReason::SignedOutEverywhere);
    own_ending(
        live,
        revoke.pending(),
        move || matches!(revoke.value().get(), Some(Ok(RevokeOutcome { was_current: true, .. }))),
        EndReason::LoggedOutInAnotherTab,
    );
    own_ending(live, delete.pending(), move || matches!(delete.value().get(), Some(Ok(_))), EndReason::Ended);
    own_request(live, change.pending());

    // After a revoke the list changes under the button that was pressed: focus goes to the
    // line that says what happened.
    Effect::new(move |_| {
        if matches!(revoke.value().get(), Some(Ok(RevokeOutcome { was_current: false, .. }))) {
            focus_element(NOTICE_ID);
        }
    });
    // What was typed stays out of the page once the change is done (the password fields keep
    // their text after an answer without a reload otherwise).
    let change_form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if matches!(change.value().get(), Some(Ok(_)))
            && let Some(form) = change_form.get_untracked()
        {
            form.reset();
        }
    });

    let session_section = move || {
        Suspend::new(async move {
            match sessions.await {
                Ok(list) => view! { <SessionsCard list revoke others everywhere confirming/> }.into_any(),
                Err(error) if error.needs_sign_in() => {
                    view! { <Redirect path=sign_in_path(&error, live.was_signed_in.get_untracked(), routes::SECURITY)/> }.into_any()
                }
                Err(error) => view! { <p class="notice notice-error" role="alert">{error.to_string()}</p> }.into_any(),
            }
        })
    };

    view! {
        <Title text="Security"/>
        <h1>"Where you are signed in"</h1>
        <NoticeBanner message alert=session_ended_alert()/>
        <Transition fallback=|| view! { <section class="card"><p class="muted">"Loading your sessions…"</p></section> }>
            {session_section}
        </Transition>
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change password"</h2>
            <p class="muted">"Changing your password signs out all your other sessions. This device stays signed in."</p>
            <ActionForm action=change node_ref=change_form attr:class="form">
                <TextField
                    label="Current password"
                    name="current"
                    input_type="password"
                    autocomplete="current-password"
                    error=field_error(change.value(), "current")
                />
                <TextField
                    label="New password"
                    name="new"
                    input_type="password"
                    autocomplete="new-password"
                    hint=Some(password_rule())
                    error=field_error(change.value(), "new")
                />
                <div class="button-row">
                    <SubmitButton pending=change.pending() label="Change password" pending_label="Changing…"/>
                </div>
            </ActionForm>
        </section>
        <DeleteAccountCard delete confirming=confirming_delete/>
        <p class="page-footer-link">
            <A href=routes::ACTIVITY>"Recent security activity →"</A>
        </p>
    }
}

/// The session list and the bulk actions, which need to know how many sessions there are.
#[component]
fn SessionsCard(
    list: SessionList,
    revoke: ServerAction<RevokeSession>,
    others: ServerAction<SignOutOthers>,
    everywhere: ServerAction<LogoutEverywhere>,
    confirming: Memo<bool>,
) -> impl IntoView {
    let now_ms = list.now_ms;
    let other_count = list.sessions.iter().filter(|s| !s.current).count();
    let summary = match list.sessions.len() {
        1 => "You are signed in on this device only.".to_owned(),
        n => format!("You are signed in on {n} devices or browsers."),
    };
    let rows = list.sessions.into_iter().map(|row| view! { <SessionRowView row now_ms revoke/> }).collect_view();
    let others_pending = others.pending();
    let everywhere_pending = everywhere.pending();
    view! {
        <section class="card" aria-labelledby="sessions-heading">
            <div class="section-header">
                <h2 id="sessions-heading">"Active sessions"</h2>
                <p class="muted" data-testid="session-summary">{summary}</p>
            </div>
            <ul class="session-list">{rows}</ul>
        </section>
        <section class="card" aria-labelledby="end-heading">
            <h2 id="end-heading">"End sessions"</h2>
            <div class="button-row">
                <ActionForm action=others>
                    <button
                        type="submit"
                        class="button button-secondary"
                        disabled=move || other_count == 0 || others_pending.get()
                        aria-describedby=(other_count == 0).then_some("no-other-sessions")
                    >
                        "Sign out all other sessions"
                    </button>
                </ActionForm>
                <a href=format!("{}?confirm=everywhere", routes::SECURITY) class="button button-danger">"Log out everywhere…"</a>
            </div>
            {(other_count == 0).then(|| view! { <p class="field-hint" id="no-other-sessions">"There are no other sessions: this device is the only one signed in."</p> })}
            <Show when=move || confirming.get()>
                <div class="confirm-box" role="group" aria-labelledby="confirm-heading">
                    <h3 id="confirm-heading">"Log out everywhere?"</h3>
                    <p>"This ends every session of your account, including this one. You will need to sign in again on every device."</p>
                    <div class="button-row">
                        <ActionForm action=everywhere>
                            <button type="submit" class="button button-danger" disabled=move || everywhere_pending.get()>
                                "Yes, log out everywhere"
                            </button>
                        </ActionForm>
                        <a href=routes::SECURITY class="button button-secondary">"Cancel"</a>
                    </div>
                </div>
            </Show>
        </section>
    }
}

/// The id of the "Delete my account…" button, which gets focus back when its confirmation closes.
const DELETE_LINK_ID: &str = "delete-account";

/// Deleting the account: a warning, then a confirmation that asks for the password again. A
/// plain link and form, so it works without JavaScript.
#[component]
fn DeleteAccountCard(delete: ServerAction<DeleteAccount>, confirming: Memo<bool>) -> impl IntoView {
    let pending = delete.pending();
    // Opening the confirmation takes focus to its field; closing it gives focus back to the
    // button that opened it.
    Effect::new(move |was: Option<bool>| {
        let open = confirming.get();
        if was.is_some_and(|was| was != open) {
            focus_element(if open { "field-password" } else { DELETE_LINK_ID });
        }
        open
    });
    view! {
        <section class="card" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete account"</h2>
            <p class="muted">"Deleting your account ends every session, removes your security activity, and cannot be undone."</p>
            <Show
                when=move || confirming.get()
                fallback=|| view! { <a id=DELETE_LINK_ID href=format!("{}?confirm=delete", routes::SECURITY) class="button button-danger">"Delete my account…"</a> }
            >
                <div class="confirm-box" role="group" aria-labelledby="confirm-delete-heading">
                    <h3 id="confirm-delete-heading">"Delete your account?"</h3>
                    <p>"Enter your password to confirm. Every device will be signed out."</p>
                    <ActionForm action=delete attr:class="form">
                        <TextField
                            label="Password"
                            name="password"
                            input_type="password"
                            autocomplete="current-password"
                            error=field_error(delete.value(), "password")
                        />
                        <div class="button-row">
                            <button type="submit" class="button button-danger" disabled=move || pending.get()>
                                "Yes, delete my account"
                            </button>
                            <a href=routes::SECURITY class="button button-secondary">"Cancel"</a>
                        </div>
                    </ActionForm>
                </div>
            </Show>
        </section>
    }
}
