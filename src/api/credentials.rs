//! Checking a password: counted on the sign-in throttle before the check, and given back
//! when the server, not the password, failed.

use crate::{
    api::{errors::throttled, request::RequestContext},
    auth::{PasswordHashString, StoredAccount, User},
    error::{AppError, Field, FieldProblem},
    validation,
};

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
    // A session that outlived a disable whose ending failed still cannot change anything.
    if account.user.disabled {
        return Err(AppError::AccountDisabled);
    }
    Ok(account.user)
}

/// Checks `password` against `hash` for an attempt reserved on the throttle for `email` from
/// `key`. When the check itself fails (busy, or a hash that cannot be checked), the
/// reservation is given back: a server failure never counts as a wrong password.
pub async fn verify_counted(
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
