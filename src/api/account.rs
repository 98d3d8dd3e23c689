//! Accounts: register, sign in, sign out, who am I, change password.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use self::ssr::create_account;
use crate::{error::AppError, model::CurrentUser};

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
        let user = create_account(&cx.state.users, &email, password).await?;
        let handle = cx.start_session(&user).await?;
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
    match cx.signed_in().await.map_err(|_| AppError::Unavailable(AppError::SIGN_OUT_UNCONFIRMED.into()))? {
        Some(signed_in) => cx.end_current_session(&signed_in, SecurityEventKind::Logout, None).await?,
        None => cx.flush().await,
    }
    cx.redirect(routes::LOGIN, Notice::SignedOut);
    Ok(())
}

/// The signed-in user, or `None` when this request has no live session.
///
/// # Errors
/// 503 when the database is unavailable.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<CurrentUser>, AppError> {
    use self::ssr::*;
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
pub async fn change_password(
    /// The password in use now.
    current: String,
    /// The password to use from now on.
    new: String,
) -> Result<u64, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let (user, hash) = cx.state.users.find_by_id(&signed_in.user_id).await?.ok_or(AppError::NotSignedIn)?;
    // Wrong current passwords count like failed sign-ins, so a stolen session cannot guess it.
    throttle_check(&cx, &user.email).await?;
    if current.chars().count() > validation::PASSWORD_MAX_CHARS || !verify_password(current, Some(hash)).await {
        cx.state.throttle.record_failure(&user.email, &cx.client.ip).await?;
        return Err(AppError::invalid("current", "Your current password is not correct."));
    }
    validation::validate_password(&new).map_err(|m| AppError::invalid("new", m))?;
    let new_hash = hash_password(new).await?;
    if !cx.state.users.set_password(&user.id, &new_hash).await? {
        return Err(AppError::NotSignedIn);
    }
    let ended = cx.state.registry.end_others(&user.id, &signed_in.session_id).await.map_err(unconfirmed)?;
    let handle = cx.start_session(&user).await?;
    cx.record(&user.id, SecurityEventKind::PasswordChange, handle, Some(ended)).await;
    cx.redirect(routes::SECURITY, Notice::PasswordChanged { count: ended });
    Ok(ended)
}

#[cfg(feature = "ssr")]
mod ssr {
    pub use leptos::server_fn::ServerFn;

    pub use crate::api::request::{RequestContext, unconfirmed};
    pub use crate::{
        auth::{ThrottleVerdict, User, Users, hash_password, verify_password},
        error::AppError,
        model::{CurrentUser, SecurityEventKind},
        notice::Notice,
        routes, validation,
    };

    /// Creates an account after checking the email and password rules; the one way accounts
    /// are made (the `register` server function and the `create-user` command both call it).
    ///
    /// # Errors
    /// [`AppError::Invalid`] naming the field and the rule broken, [`AppError::EmailTaken`]
    /// when the email already has an account, [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn create_account(users: &Users, email: &str, password: String) -> Result<User, AppError> {
        let email = validation::normalize_email(email);
        validation::validate_email(&email).map_err(|m| AppError::invalid("email", m))?;
        validation::validate_password(&password).map_err(|m| AppError::invalid("password", m))?;
        let hash = hash_password(password).await?;
        users.insert(email, &hash).await?.ok_or(AppError::EmailTaken)
    }

    /// Refuses with 429 when the account or this client's address is over its failure limit.
    pub async fn throttle_check(cx: &RequestContext, email: &str) -> Result<(), AppError> {
        match cx.state.throttle.check(email, &cx.client.ip).await? {
            ThrottleVerdict::Allowed => Ok(()),
            ThrottleVerdict::Refused { retry_after_secs } => Err(AppError::Throttled { retry_after_secs }),
        }
    }

    /// The body of `login`: throttle, verify, then a new session.
    pub async fn sign_in(cx: &RequestContext, email: &str, password: String) -> Result<CurrentUser, AppError> {
        let email = validation::normalize_email(email);
        if email.is_empty() || password.is_empty() {
            return Err(AppError::BadInput("Enter your email address and password.".into()));
        }
        if password.chars().count() > validation::PASSWORD_MAX_CHARS {
            return Err(AppError::BadInput(format!("Passwords are at most {} characters.", validation::PASSWORD_MAX_CHARS)));
        }
        throttle_check(cx, &email).await?;
        let found = cx.state.users.find_by_email(&email).await?;
        let (user, hash) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
        if !verify_password(password, hash).await {
            cx.state.throttle.record_failure(&email, &cx.client.ip).await?;
            if let Some(user) = user {
                cx.record(&user.id, SecurityEventKind::FailedLogin, None, None).await;
            }
            return Err(AppError::WrongCredentials);
        }
        let Some(user) = user else { return Err(AppError::WrongCredentials) };
        cx.state.throttle.clear_account(&email).await?;
        let handle = cx.start_session(&user).await?;
        cx.record(&user.id, SecurityEventKind::Login, handle, None).await;
        Ok(CurrentUser { email: user.email })
    }
}
