//! Changes to the signed-in account: its password, and deleting it.

use leptos::prelude::*;

use crate::{error::AppError, model::AccountDeletion};

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
    cx.start_session(&user, DeviceMark::Keep).await.map_err(|err| {
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
    telemetry::sessions_ended(EndingReason::AccountDeleted, sessions_ended);
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
    pub use crate::{
        api::{
            credentials::{check_password, reauthenticate},
            request::RequestContext,
            session_lifecycle::{DeviceMark, clear_site_data},
        },
        error::{AppError, Field, Outage},
        model::{AccountDeletion, SecurityEventKind},
        notice::Notice,
        routes,
        telemetry::{self, EndingReason},
        validation,
    };
}
