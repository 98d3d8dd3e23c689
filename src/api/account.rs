//! Accounts: register, sign in, sign out, who am I, change password.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use self::ssr::create_account;
use crate::{
    error::AppError,
    model::{AccountDeletion, CurrentUser},
};

/// Creates an account and signs it in on this device.
///
/// # Errors
/// 400 for an invalid email or password (the message says which rule), 409 when the email is
/// taken, 503 when the database is unavailable.
#[server(endpoint = "register")]
pub async fn register(
    /// The email address to sign in with.
    email: String,
    /// The new account's password (see `validation::password_rule`).
    password: String,
) -> Result<CurrentUser, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let result = async {
        throttled(cx.state.throttle.reserve_registration(&cx.client.throttle_key()).await?)?;
        let user = create_account(&cx.state.users, &cx.state.passwords, &email, password).await?;
        let handle = match cx.start_session(&user).await {
            Ok(handle) => handle,
            Err(err) => {
                // Undo the account too, so that trying again registers it instead of answering "taken".
                if let Err(undo) = cx.state.users.delete(&user.id).await {
                    tracing::warn!(%undo, "could not remove an account whose registration failed");
                }
                return Err(err);
            }
        };
        cx.record(&user.id, SecurityEventKind::Registered, handle, None).await;
        Ok(CurrentUser { email: user.email })
    }
    .await;
    cx.keep_email_on_failure(Register::PATH, &email, result)
}

/// Signs in with email and password, on a new session id.
///
/// The same answer and about the same time for an unknown email and a wrong password.
/// Failed attempts are limited per account and per client address within a window
/// (`Config::max_failures_per_account`, `max_failures_per_ip`, `throttle_window`); over a
/// limit, attempts are refused with 429 and `Retry-After` until the window passes.
///
/// # Errors
/// 400 for an empty field, 401 for a wrong email or password, 429 when throttled, 503 when the
/// database is unavailable.
#[server(endpoint = "login")]
pub async fn login(
    /// The account's email address (case and surrounding spaces do not matter).
    email: String,
    /// The account's password.
    password: String,
) -> Result<CurrentUser, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let result = sign_in(&cx, &email, password).await;
    cx.keep_email_on_failure(Login::PATH, &email, result)
}

/// Logs this device out: the session is deleted on the server and confirmed gone, and the
/// cookie is removed. Logging out without a session succeeds and changes nothing.
///
/// # Errors
/// 503 with "We could not confirm you were signed out on the server. Please try again." when
/// the database cannot confirm; the session is then left as it was, so a retry can finish it.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    cx.log_out().await?;
    cx.redirect(routes::LOGIN, Notice::SignedOut);
    Ok(())
}

/// The signed-in user, or `None` when this request has no live session. Reads only the session
/// (which every page loads anyway); `users` only for a session older than the email in it.
///
/// # Errors
/// 503 when the database is unavailable.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<CurrentUser>, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let Some(signed_in) = cx.signed_in().await? else { return Ok(None) };
    if let Some(email) = cx.session_email().await? {
        return Ok(Some(CurrentUser { email }));
    }
    let found = cx.state.users.find_by_id(&signed_in.user_id).await?;
    Ok(found.map(|account| CurrentUser { email: account.user.email }))
}

/// Changes the password after checking the current one, ends every other session of the
/// user (ASVS 3.3.3) and moves this device to a new session id. Returns how many other
/// sessions were ended.
///
/// Wrong current passwords count towards the sign-in throttle of the account. If the password
/// changed but the other sessions could not be ended, the answer says exactly that (503), and
/// `sign_out_others` finishes the job.
///
/// # Errors
/// 401 when not signed in, 400 when the current password is wrong or the new one breaks a
/// rule, 429 after too many wrong current passwords, 503 when the database is unavailable or
/// the other sessions could not be ended.
#[server(endpoint = "change_password")]
pub async fn change_password(
    /// The password in use now.
    current: String,
    /// The password to use from now on.
    new: String,
) -> Result<u64, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let user = reauthenticate(&cx, &signed_in.user_id, current, Field::Current).await?;
    validation::validate_password(&new).map_err(|problem| AppError::Invalid { field: Field::New, problem })?;
    let new_hash = cx.state.passwords.hash(new).await?;
    if !cx.state.users.set_password(&user.id, &new_hash).await? {
        return Err(AppError::NotSignedIn);
    }
    let ended = cx.state.registry.end_others(&user.id, &signed_in.session_id).await.map_err(|err| {
        tracing::warn!(%err, "password changed, but the other sessions could not be ended");
        AppError::Unavailable(Outage::OtherSessionsRemain)
    })?;
    let handle = cx.start_session(&user).await.map_err(|err| {
        tracing::warn!(?err, "password changed, but this device's new session could not be written");
        AppError::Unavailable(Outage::PasswordChangedSignInAgain)
    })?;
    cx.record(&user.id, SecurityEventKind::PasswordChange, handle, Some(ended)).await;
    cx.redirect(routes::SECURITY, Notice::PasswordChanged { count: ended });
    Ok(ended)
}

/// Deletes the signed-in user's account after checking the password again: every session ends
/// first (write concern `majority`), then the account's security events and throttle counters
/// go, then the account. Answers what was removed; this device is signed out.
///
/// If it stops halfway, no session is left alive (they went first), and signing in again and
/// deleting again finishes the job.
///
/// # Errors
/// 401 when not signed in, 400 when the password is wrong, 429 after too many wrong passwords,
/// 503 when the database is unavailable (with what to do when the sessions already ended).
#[server(endpoint = "delete_account")]
pub async fn delete_account(
    /// The account's password, entered again.
    password: String,
) -> Result<AccountDeletion, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let user = reauthenticate(&cx, &signed_in.user_id, password, Field::Password).await?;
    let sessions_ended = cx.state.registry.end_all_for_user(&user.id).await.map_err(unconfirmed)?;
    cx.flush().await;
    clear_site_data();
    let unfinished = |err: DbError| {
        tracing::warn!(%err, "account deletion stopped after its sessions ended");
        AppError::Unavailable(Outage::DeletionUnfinished)
    };
    let events_removed = cx.state.events.delete_all(&user.id).await.map_err(unfinished)?;
    cx.state.throttle.forget_account(&user.email).await.map_err(unfinished)?;
    cx.state.users.delete(&user.id).await.map_err(unfinished)?;
    tracing::info!(user = %user.id, sessions_ended, events_removed, "account deleted");
    cx.redirect(routes::LOGIN, Notice::AccountDeleted { count: sessions_ended });
    Ok(AccountDeletion { sessions_ended, events_removed })
}

#[cfg(feature = "ssr")]
mod ssr {
    pub use leptos::server_fn::ServerFn;

    pub use crate::{
        api::request::{RequestContext, clear_site_data, throttled, unconfirmed},
        auth::{Passwords, User, Users},
        db::DbError,
        error::{AppError, BadInput, Field, FieldProblem, Outage},
        model::{AccountDeletion, CurrentUser, SecurityEventKind},
        notice::Notice,
        routes, validation,
    };

    /// Creates an account after checking the email and password rules; the one way accounts
    /// are made (the `register` server function and the `create-user` command both call it).
    ///
    /// # Errors
    /// [`AppError::Invalid`] naming the field and the rule broken, [`AppError::EmailTaken`]
    /// when the email already has an account, [`AppError::Busy`] when every hashing slot is
    /// taken, [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn create_account(users: &Users, passwords: &Passwords, email: &str, password: String) -> Result<User, AppError> {
        let email = validation::normalize_email(email);
        validation::validate_email(&email).map_err(|problem| AppError::Invalid { field: Field::Email, problem })?;
        validation::validate_password(&password).map_err(|problem| AppError::Invalid { field: Field::Password, problem })?;
        let hash = passwords.hash(password).await?;
        users.insert(email, &hash).await?.ok_or(AppError::EmailTaken)
    }

    /// Checks the signed-in user's password again before a sensitive change (ASVS 3.7.1). Wrong
    /// passwords count like failed sign-ins, so a stolen session cannot guess it; a wrong one is
    /// reported on the form field `field`.
    pub async fn reauthenticate(cx: &RequestContext, user_id: &str, password: String, field: Field) -> Result<User, AppError> {
        let account = cx.state.users.find_by_id(user_id).await?.ok_or(AppError::NotSignedIn)?;
        let key = cx.client.throttle_key();
        throttled(cx.state.throttle.reserve_sign_in(&account.user.email, &key).await?)?;
        if password.chars().count() > validation::PASSWORD_MAX_CHARS || !cx.state.passwords.verify(password, Some(account.hash)).await? {
            return Err(AppError::Invalid { field, problem: FieldProblem::CurrentPasswordWrong });
        }
        cx.state.throttle.sign_in_succeeded(&account.user.email, &key).await?;
        Ok(account.user)
    }

    /// The body of `login`. Bounds first (nothing oversized becomes a lookup or a throttle
    /// key), then the attempt is reserved, then the password checked, then a new session.
    pub async fn sign_in(cx: &RequestContext, email: &str, password: String) -> Result<CurrentUser, AppError> {
        let email = validation::normalize_email(email);
        if email.is_empty() || password.is_empty() {
            return Err(AppError::BadInput(BadInput::MissingCredentials));
        }
        if email.chars().count() > validation::EMAIL_MAX_CHARS {
            return Err(AppError::BadInput(BadInput::EmailTooLong));
        }
        if password.chars().count() > validation::PASSWORD_MAX_CHARS {
            return Err(AppError::BadInput(BadInput::PasswordTooLong));
        }
        let key = cx.client.throttle_key();
        throttled(cx.state.throttle.reserve_sign_in(&email, &key).await?)?;
        let account = cx.state.users.find_by_email(&email).await?;
        let (user, hash, checked_at) = match account {
            Some(account) => (Some(account.user), Some(account.hash), Some(account.password_changed_at)),
            None => (None, None, None),
        };
        let matched = cx.state.passwords.verify(password, hash).await?;
        let (Some(user), Some(checked_at), true) = (user.clone(), checked_at, matched) else {
            if let Some(user) = user {
                cx.record(&user.id, SecurityEventKind::FailedLogin, None, None).await;
            }
            return Err(AppError::WrongCredentials);
        };
        cx.state.throttle.sign_in_succeeded(&email, &key).await?;
        #[cfg(feature = "test-util")]
        cx.state.after_password_check.pass().await;
        let handle = cx.start_session(&user).await?;
        // The password was checked against the hash read above. If it changed since, the
        // change's `end_others` may have run before this session existed: end it here instead.
        // Either this re-read sees the change, or the change's `end_others` runs after this
        // session was written and ends it; no interleaving leaves it alive.
        let still_valid = match cx.state.users.password_changed_at(&user.id).await {
            Ok(changed_at) if changed_at == Some(checked_at) => Ok(()),
            Ok(_) => Err(AppError::WrongCredentials),
            Err(err) => Err(err.into()),
        };
        cx.undo_session_on_failure(still_valid).await?;
        cx.record(&user.id, SecurityEventKind::Login, handle, None).await;
        Ok(CurrentUser { email: user.email })
    }
}
