//! Accounts: register, sign in, sign out, who am I, change password.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::request::{RequestContext, unconfirmed};
use crate::{error::AppError, model::CurrentUser};
#[cfg(feature = "ssr")]
use crate::{auth::verify_password, model::SecurityEventKind, notice::Notice, validation};

/// Creates an account and signs it in on this device.
///
/// # Errors
/// 400 for an invalid email or password (the message says which rule), 409 when the email is
/// taken, 503 when the database is unavailable.
#[server(endpoint = "register")]
pub async fn register(email: String, password: String) -> Result<CurrentUser, AppError> {
    let cx = RequestContext::current().await?;
    let user = cx.state.users.create(&email, password).await?;
    let handle = cx.start_session(&user).await?;
    cx.record(&user.id, SecurityEventKind::Registered, handle, None).await;
    Ok(CurrentUser { email: user.email })
}

/// Signs in with email and password, on a new session id.
///
/// The same answer and about the same time for an unknown email and a wrong password.
/// After 5 failures for one account or 20 from one address within 15 minutes (configurable),
/// attempts are refused with 429 and `Retry-After` until the window passes.
///
/// # Errors
/// 400 for an empty field, 401 for a wrong email or password, 429 when throttled, 503 when the
/// database is unavailable.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<CurrentUser, AppError> {
    let cx = RequestContext::current().await?;
    let email = validation::normalize_email(&email);
    if email.is_empty() || password.is_empty() {
        return Err(AppError::BadInput("Enter your email address and password.".into()));
    }
    if password.chars().count() > validation::PASSWORD_MAX_CHARS {
        return Err(AppError::BadInput("Passwords are at most 128 characters.".into()));
    }
    let throttle = &cx.state.throttle;
    throttle.check(&email, &cx.client.ip).await?;
    let found = cx.state.users.find_by_email(&email).await?;
    let (user, hash) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
    if !verify_password(password, hash).await {
        throttle.record_failure(&email, &cx.client.ip).await?;
        if let Some(user) = user {
            cx.record(&user.id, SecurityEventKind::FailedLogin, None, None).await;
        }
        return Err(AppError::WrongCredentials);
    }
    let Some(user) = user else { return Err(AppError::WrongCredentials) };
    throttle.clear_account(&email).await?;
    let handle = cx.start_session(&user).await?;
    cx.record(&user.id, SecurityEventKind::Login, handle, None).await;
    Ok(CurrentUser { email: user.email })
}

/// Logs this device out: the session is deleted on the server and confirmed gone, and the
/// cookie is removed. Logging out without a session succeeds and changes nothing.
///
/// # Errors
/// 503 with "We could not confirm you were signed out on the server. Please try again." when
/// the database cannot confirm; the session is then left as it was, so a retry can finish it.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let cx = RequestContext::current().await?;
    match cx.signed_in().await.map_err(|_| AppError::Unavailable(AppError::SIGN_OUT_UNCONFIRMED.into()))? {
        Some(signed_in) => cx.end_current_session(&signed_in, SecurityEventKind::Logout, None).await?,
        None => cx.flush().await,
    }
    cx.redirect("/login", Notice::SignedOut);
    Ok(())
}

/// The signed-in user, or `None` when this request has no live session.
///
/// # Errors
/// 503 when the database is unavailable.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<CurrentUser>, AppError> {
    let cx = RequestContext::current().await?;
    let Some(signed_in) = cx.signed_in().await? else { return Ok(None) };
    let found = cx.state.users.find_by_id(&signed_in.user_id).await?;
    Ok(found.map(|(user, _)| CurrentUser { email: user.email }))
}

/// Changes the password after checking the current one, ends every other session of the
/// user (ASVS 3.3.3) and moves this device to a new session id. Returns how many other
/// sessions were ended.
///
/// Wrong current passwords count towards the sign-in throttle of the account.
///
/// # Errors
/// 401 when not signed in, 400 when the current password is wrong or the new one breaks a
/// rule, 429 after too many wrong current passwords, 503 when the database is unavailable or
/// cannot confirm the other sessions ended.
#[server(endpoint = "change_password")]
pub async fn change_password(current: String, new: String) -> Result<u64, AppError> {
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let (user, hash) = cx.state.users.find_by_id(&signed_in.user_id).await?.ok_or(AppError::NotSignedIn)?;
    // Wrong current passwords count like failed sign-ins, so a stolen session cannot guess it.
    cx.state.throttle.check(&user.email, &cx.client.ip).await?;
    if current.chars().count() > validation::PASSWORD_MAX_CHARS || !verify_password(current, Some(hash)).await {
        cx.state.throttle.record_failure(&user.email, &cx.client.ip).await?;
        return Err(AppError::invalid("current", "Your current password is not correct."));
    }
    validation::validate_password(&new).map_err(|m| AppError::invalid("new", m))?;
    let new_hash = crate::auth::hash_password(new).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        AppError::Internal
    })?;
    cx.state.users.set_password(&user.id, &new_hash).await?;
    let ended = cx.state.registry.end_others(&user.id, &signed_in.session_id).await.map_err(unconfirmed)?;
    let handle = cx.start_session(&user).await?;
    cx.record(&user.id, SecurityEventKind::PasswordChange, handle, Some(ended)).await;
    cx.redirect("/account/security", Notice::PasswordChanged { count: ended });
    Ok(ended)
}
