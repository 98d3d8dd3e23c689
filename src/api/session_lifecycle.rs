//! How a request's session starts and ends: sign-in on a fresh id that is undone if the
//! answer fails, and endings that the database confirms before the browser is told.

use http::{HeaderName, HeaderValue};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use sessionguard_store::{IP_KEY, NEW_DEVICE_KEY, SessionInfo, USER_AGENT_KEY, USER_ID_KEY};
use tower_sessions::session::Id;

use super::request::{EMAIL_KEY, RequestContext, SignedIn, session_error};
use crate::{
    auth::User,
    error::{AppError, Outage},
    model::SecurityEventKind,
};

/// What a session that [`RequestContext::start_session`] starts says about its device: the
/// mark that the security page shows as "New device".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceMark {
    /// A device new to the account: the session is marked.
    New,
    /// A device the account knows, or a registration: no mark, even when the session this one
    /// replaces on the same browser had one.
    Known,
    /// The same sign-in continues on a new id (a password change on this device): the mark stays
    /// as it was.
    Keep,
}

/// How often ending a session that a failed sign-in left behind is tried again after the answer,
/// a second apart, then two, and so on.
const END_RETRIES: u32 = 5;

impl RequestContext {
    /// Signs `user` in on this request: a new session id (the old one is deleted: fixation
    /// defence, ASVS 3.2.1), the user, address and browser recorded, and the document written
    /// now so the answer is only "signed in" once the session exists. Beyond
    /// `Config::max_sessions_per_user` live sessions, the oldest end, and the security log
    /// says so. `mark` says whether the session signed in from a device new to the account.
    /// Returns the new session's handle.
    ///
    /// If a step after the session was written fails, the session is ended again before the
    /// error is returned: a failed answer carries no cookie, so a session left behind would be
    /// one nobody holds (the fault matrix found this).
    ///
    /// The session is started on the strength of the password as `user.password_changed_at`
    /// says it was. Once the session is written, the account is read again: if it is gone, its
    /// password changed or an operator disabled it meanwhile, the ending that did it may have run
    /// before this session existed, so this session is ended here instead and the answer is
    /// [`AppError::WrongCredentials`] ([`AppError::AccountDisabled`] for a disabled account).
    /// Either this re-read sees the change, or that ending runs after this session was written
    /// and ends it: no interleaving leaves it alive.
    pub async fn start_session(&self, user: &User, mark: DeviceMark) -> Result<Option<String>, AppError> {
        let session = &self.session;
        // A request without a session id gets a fresh one from `create`: nothing to cycle.
        if session.id().is_some() {
            session.cycle_id().await.map_err(session_error)?;
        }
        session.insert(USER_ID_KEY, &user.id).await.map_err(session_error)?;
        session.insert(EMAIL_KEY, &user.email).await.map_err(session_error)?;
        session.insert(USER_AGENT_KEY, &self.client.user_agent).await.map_err(session_error)?;
        session.insert(IP_KEY, &self.client.ip).await.map_err(session_error)?;
        // A new id keeps the old session's data: the mark is set or removed here, not inherited.
        match mark {
            DeviceMark::New => session.insert(NEW_DEVICE_KEY, true).await.map_err(session_error)?,
            DeviceMark::Known => {
                session.remove_value(NEW_DEVICE_KEY).await.map_err(session_error)?;
            }
            DeviceMark::Keep => {}
        }
        session.save().await.map_err(session_error)?;
        let id = session.id().ok_or(AppError::Internal)?;
        self.name_user(&user.id);
        let finished = async {
            let handle = self.state.store.created_handle(&id);
            let over_cap = self.state.registry.end_oldest_beyond(&user.id, self.state.config.max_sessions_per_user).await?;
            if over_cap.count > 0 {
                self.record_ending(&user.id, SecurityEventKind::SessionLimit, handle.clone(), over_cap).await;
            }
            match self.state.users.sign_in_state(&user.id).await? {
                Some(state) if state.password_changed_at != user.password_changed_at => Err(AppError::WrongCredentials),
                Some(state) if state.disabled => Err(AppError::AccountDisabled),
                Some(_) => Ok(handle),
                None => Err(AppError::WrongCredentials),
            }
        }
        .await;
        self.undo_session_on_failure(finished).await
    }

    /// Passes `result` through; on an error first ends the session this request just started,
    /// which the failed answer will not hand to the browser. If the database cannot confirm
    /// that end, the session is emptied so that the answer carries no cookie for it, and ending
    /// it is tried again after the answer ([`END_RETRIES`] times).
    pub async fn undo_session_on_failure<T>(&self, result: Result<T, AppError>) -> Result<T, AppError> {
        if result.is_err()
            && let Some(id) = self.session.id()
            && let Err(err) = self.end_and_flush(&id).await
        {
            tracing::warn!(?err, "could not end a session whose sign-in failed; retrying after the answer");
            self.session.clear().await;
            let registry = self.state.registry.clone();
            self.state.unfinished.spawn(async move {
                for attempt in 1..=END_RETRIES {
                    tokio::time::sleep(std::time::Duration::from_secs(attempt.into())).await;
                    if registry.end(&id).await.is_ok() {
                        return;
                    }
                }
                tracing::error!("gave up ending a session nobody holds; it expires at its idle timeout");
            });
        }
        result
    }

    /// Ends this request's session, records `kind`, and tells the browser to clear the site's
    /// data. See [`end_and_flush`](Self::end_and_flush) for the order and why.
    pub async fn end_current_session(&self, signed_in: &SignedIn, kind: SecurityEventKind, ended: Option<u64>) -> Result<(), AppError> {
        let handle = self.end_and_flush(&signed_in.session_id).await?.map(|session| session.handle);
        clear_site_data();
        self.record(&signed_in.user_id, kind, handle, ended).await;
        Ok(())
    }

    /// Ends the session `id` both ways: first explicitly through the registry, whose one
    /// `findAndModify` deletes and proves it; then through the session layer (`flush`), which
    /// clears the data and sends the removal cookie. The registry goes first so that when the
    /// database cannot confirm, the browser keeps its cookie and the user can retry, instead of
    /// believing a session is over that still exists on the server. Returns the session it ended,
    /// if it was live.
    async fn end_and_flush(&self, id: &Id) -> Result<Option<SessionInfo>, AppError> {
        let ended = self.state.registry.end(id).await.map_err(unconfirmed)?;
        self.flush().await;
        Ok(ended)
    }

    /// Logs this request's session out, in two round trips: the registry's `findAndModify`,
    /// whose answer proves the delete and names the owner (so the session is never loaded),
    /// and the security event, recorded only when a live session ended. The cookie is removed
    /// either way; a request without one changes nothing.
    ///
    /// # Errors
    /// [`Outage::SignOutUnconfirmed`] when the database cannot confirm; the cookie then stays,
    /// so that a retry can finish.
    pub async fn log_out(&self) -> Result<(), AppError> {
        let Some(id) = self.session.id() else {
            self.flush().await;
            return Ok(());
        };
        let ended = self.end_and_flush(&id).await?;
        clear_site_data();
        if let Some(SessionInfo { handle, user_id: Some(user_id), .. }) = ended {
            self.record(&user_id, SecurityEventKind::Logout, Some(handle), None).await;
        }
        Ok(())
    }

    /// Clears the session and makes the middleware remove the cookie. The stored document is
    /// already gone (or never existed) when this is called, so a failed delete here is only logged.
    pub async fn flush(&self) {
        if let Err(err) = self.session.flush().await {
            tracing::warn!(%err, "session flush could not delete an already-ended session");
        }
    }
}

/// Any failure while ending sessions that include this device's: the user must not be told
/// they were signed out.
pub fn unconfirmed(err: impl std::fmt::Display) -> AppError {
    tracing::warn!(%err, "could not confirm that sessions ended");
    AppError::Unavailable(Outage::SignOutUnconfirmed)
}

/// Any failure while ending other devices' sessions: the user must not be told they ended.
pub fn others_unconfirmed(err: impl std::fmt::Display) -> AppError {
    tracing::warn!(%err, "could not confirm that other sessions ended");
    AppError::Unavailable(Outage::OthersUnconfirmed)
}

/// Tells the browser that answers this request to forget the site's cookies and storage
/// (`Clear-Site-Data`): this device's session has ended, and nothing of it should linger.
pub fn clear_site_data() {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.insert_header(HeaderName::from_static("clear-site-data"), HeaderValue::from_static("\"cookies\", \"storage\""));
    }
}
