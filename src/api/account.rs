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
    let acting_handle = cx.state.registry.handle_of(&signed_in.session_id).await?;
    let user = match cx.state.users.set_password(&user, &new_hash).await {
        Ok(Some(user)) => user,
        Ok(None) => return Err(AppError::NotSignedIn),
        // The write may have been applied: end the others anyway, as a change must.
        Err(err) => {
            tracing::warn!(%err, "a password change was not confirmed; signing out the other sessions to be safe");
            return Err(match cx.state.registry.end_others(&user.id, &signed_in.session_id).await {
                Ok(_) => AppError::Unavailable(Outage::PasswordChangeUnconfirmed),
                Err(_) => AppError::Unavailable(Outage::Database),
            });
        }
    };
    let ended = cx.state.registry.end_others(&user.id, &signed_in.session_id).await.map_err(|err| {
        tracing::warn!(%err, "password changed, but the other sessions could not be ended");
        AppError::Unavailable(Outage::OtherSessionsRemain)
    })?;
    // Recorded at once after the delete, naming the session that acted: the ended tabs learn
    // why without waiting for this device's new session, and the log has the change even if
    // that new session cannot be written.
    let count = ended.count;
    cx.record_ending(&user.id, SecurityEventKind::PasswordChange, acting_handle, ended).await;
    cx.start_session(&user).await.map_err(|err| {
        tracing::warn!(?err, "password changed, but this device's new session could not be written");
        AppError::Unavailable(Outage::PasswordChangedSignInAgain)
    })?;
    cx.redirect(routes::SECURITY, Notice::PasswordChanged { count });
    Ok(count)
}

/// Deletes the signed-in user's account after checking the password again, in the order that
/// leaves no session alive whatever runs in between: the account goes first, so no sign-in can
/// start a session any more (a sign-in already past its password check sees the account gone
/// when it re-checks, and ends its own session); then every session of the account ends
/// (write concern `majority`); then its security events and throttle counters are cleaned up.
/// Answers what was removed; this device is signed out.
///
/// If the sessions cannot be confirmed ended, the answer says so (503) and the same request
/// again finishes the job: a session of an account that no longer exists may end all of that
/// account's sessions without a password, since there is nothing left to protect.
///
/// # Errors
/// 401 when not signed in, 400 when the password is wrong, 429 after too many wrong passwords,
/// 503 when the database is unavailable (with what to do when the account is already gone).
#[server(endpoint = "delete_account")]
pub async fn delete_account(
    /// The account's password, entered again.
    password: String,
) -> Result<AccountDeletion, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let user_id = signed_in.user_id.as_str();
    // 1. No new sign-in: the account goes. (Already gone: an earlier deletion stopped at step 2.)
    let email = match cx.state.users.find_by_id(user_id).await? {
        Some(account) => {
            let user = check_password(&cx, account, password, Field::Password).await?;
            if let Err(err) = cx.state.users.delete(user_id).await {
                // The delete may have been applied: end every session anyway, as a deletion must.
                tracing::warn!(%err, "an account deletion was not confirmed; signing out every session to be safe");
                return Err(match cx.state.registry.end_all_for_user(user_id).await {
                    Ok(_) => {
                        cx.flush().await;
                        clear_site_data();
                        AppError::Unavailable(Outage::DeletionUnconfirmed)
                    }
                    Err(_) => AppError::Unavailable(Outage::Database),
                });
            }
            Some(user.email)
        }
        None => None,
    };
    #[cfg(feature = "test-util")]
    cx.state.after_account_deleted.pass().await;
    // 2. End what exists.
    let sessions_ended = cx
        .state
        .registry
        .end_all_for_user(user_id)
        .await
        .map_err(|err| {
            tracing::warn!(%err, user = %user_id, "account deleted, but its sessions could not be confirmed ended");
            AppError::Unavailable(Outage::DeletionUnfinished)
        })?
        .count;
    cx.flush().await;
    clear_site_data();
    // 3. Clean up. The account and its sessions are gone whatever happens here: a failure is
    // logged, and the events expire with their TTL, the counters with their window.
    let events_removed = cx.state.events.delete_all(user_id).await.unwrap_or_else(|err| {
        tracing::error!(%err, user = %user_id, "could not remove a deleted account's security events; they expire in 90 days");
        0
    });
    if let Some(email) = email
        && let Err(err) = cx.state.throttle.forget_account(&email).await
    {
        tracing::warn!(%err, "could not remove a deleted account's throttle counters; they expire with their window");
    }
    tracing::info!(user = %user_id, sessions_ended, events_removed, "account deleted");
    cx.redirect(routes::LOGIN, Notice::AccountDeleted { count: sessions_ended });
    Ok(AccountDeletion { sessions_ended, events_removed })
}

#[cfg(feature = "ssr")]
mod ssr {
    pub use leptos::server_fn::ServerFn;

    pub use crate::{
        api::request::{RequestContext, clear_site_data, throttled},
        auth::{PasswordHashString, Passwords, StoredAccount, User, Users},
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
        check_password(cx, account, password, field).await
    }

    /// [`reauthenticate`] for an account already read.
    pub async fn check_password(cx: &RequestContext, account: StoredAccount, password: String, field: Field) -> Result<User, AppError> {
        let key = cx.client.throttle_key();
        throttled(cx.state.throttle.reserve_sign_in(&account.user.email, &key).await?)?;
        let matched = password.chars().count() <= validation::PASSWORD_MAX_CHARS
            && verify_counted(cx, &account.user.email, &key, password, Some(account.hash)).await?;
        if !matched {
            return Err(AppError::Invalid { field, problem: FieldProblem::CurrentPasswordWrong });
        }
        cx.state.throttle.sign_in_succeeded(&account.user.email, &key).await?;
        Ok(account.user)
    }

    /// Checks `password` against `hash` for an attempt reserved on the throttle for `email` from
    /// `key`. When the check itself fails (busy, or a hash that cannot be checked), the
    /// reservation is given back: a server failure never counts as a wrong password.
    async fn verify_counted(
        cx: &RequestContext,
        email: &str,
        key: &str,
        password: String,
        hash: Option<PasswordHashString>,
    ) -> Result<bool, AppError> {
        match cx.state.passwords.verify(password, hash).await {
            Ok(matched) => Ok(matched),
            Err(err) => {
                if let Err(db) = cx.state.throttle.attempt_not_made(email, key).await {
                    tracing::warn!(%db, "could not give back the throttle reservation of an attempt that was never checked");
                }
                Err(err.into())
            }
        }
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
        let (user, hash) = match account {
            Some(account) => (Some(account.user), Some(account.hash)),
            None => (None, None),
        };
        let matched = verify_counted(cx, &email, &key, password, hash).await?;
        let (Some(user), true) = (user.clone(), matched) else {
            // One event write on both paths: a known email must cost exactly what an unknown
            // one does, or the answer's timing tells which emails have accounts.
            match user {
                Some(user) => cx.record(&user.id, SecurityEventKind::FailedLogin, None, None).await,
                None => cx.state.events.record_unknown_account_attempt(&cx.client).await,
            }
            return Err(AppError::WrongCredentials);
        };
        cx.state.throttle.sign_in_succeeded(&email, &key).await?;
        #[cfg(feature = "test-util")]
        cx.state.after_password_check.pass().await;
        let handle = cx.start_session(&user).await?;
        cx.record(&user.id, SecurityEventKind::Login, handle, None).await;
        Ok(CurrentUser { email: user.email })
    }
}
