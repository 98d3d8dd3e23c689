//! Server-side helpers shared by the server functions: the request's session, client and
//! signed-in user, and the ways a session starts and ends.

use tower_sessions::{Session, session::Id};

use crate::{
    auth::{ClientInfo, User},
    error::AppError,
    model::SecurityEventKind,
    state::{AppState, app_state},
    store::{IP_KEY, USER_AGENT_KEY, USER_ID_KEY},
};

/// What a server function knows about the request it is answering.
pub struct RequestContext {
    pub state: AppState,
    pub session: Session,
    pub client: ClientInfo,
}

/// A signed-in session: its token and its user.
pub struct SignedIn {
    pub session_id: Id,
    pub user_id: String,
}

fn session_error(err: tower_sessions::session::Error) -> AppError {
    tracing::warn!(%err, "session layer error");
    AppError::Unavailable(AppError::DATABASE_UNAVAILABLE.into())
}

impl RequestContext {
    /// The context of the current server-function call.
    pub async fn current() -> Result<Self, AppError> {
        let state = app_state()?;
        let session = leptos_axum::extract::<Session>().await.map_err(|err| {
            tracing::error!(%err, "no session layer in front of the server functions");
            AppError::Internal
        })?;
        let parts = leptos::prelude::use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
        let client = ClientInfo::from_request(&parts, state.config.trust_proxy);
        Ok(Self { state, session, client })
    }

    /// The signed-in user of this request, if the session cookie names a live session.
    pub async fn signed_in(&self) -> Result<Option<SignedIn>, AppError> {
        let user_id = self.session.get::<String>(USER_ID_KEY).await.map_err(session_error)?;
        // `id()` is read after `get`, which clears it when the stored session is gone.
        Ok(user_id.zip(self.session.id()).map(|(user_id, session_id)| SignedIn { session_id, user_id }))
    }

    /// The signed-in user, or 401.
    pub async fn require_user(&self) -> Result<SignedIn, AppError> {
        self.signed_in().await?.ok_or(AppError::NotSignedIn)
    }

    /// Signs `user` in on this request: a new session id (the old one is deleted: fixation
    /// defence, ASVS 3.2.1), the user, address and browser recorded, and the document written
    /// now so the answer is only "signed in" once the session exists. Returns its handle.
    pub async fn start_session(&self, user: &User) -> Result<Option<String>, AppError> {
        let session = &self.session;
        session.cycle_id().await.map_err(session_error)?;
        session.insert(USER_ID_KEY, &user.id).await.map_err(session_error)?;
        session.insert(USER_AGENT_KEY, &self.client.user_agent).await.map_err(session_error)?;
        session.insert(IP_KEY, &self.client.ip).await.map_err(session_error)?;
        session.save().await.map_err(session_error)?;
        let id = session.id().ok_or(AppError::Internal)?;
        Ok(self.state.registry.handle_of(&id).await?)
    }

    /// Ends this request's session both ways: first explicitly through the registry, which
    /// deletes and confirms; then through the session layer (`flush`), which clears the data
    /// and sends the removal cookie. The registry goes first so that when the database cannot
    /// confirm, the browser keeps its cookie and the user can retry, instead of believing a
    /// session is over that still exists on the server.
    pub async fn end_current_session(&self, signed_in: &SignedIn, kind: SecurityEventKind, ended: Option<u64>) -> Result<(), AppError> {
        let handle = self.state.registry.handle_of(&signed_in.session_id).await.map_err(unconfirmed)?;
        self.state.registry.end(&signed_in.session_id).await.map_err(unconfirmed)?;
        self.flush().await;
        self.record(&signed_in.user_id, kind, handle, ended).await;
        Ok(())
    }

    /// Clears the session and makes the middleware remove the cookie. The stored document is
    /// already gone (or never existed) when this is called, so a failed delete here is only logged.
    pub async fn flush(&self) {
        if let Err(err) = self.session.flush().await {
            tracing::warn!(%err, "session flush could not delete an already-ended session");
        }
    }

    /// Records a security event for `user_id` from this request's client.
    pub async fn record(&self, user_id: &str, kind: SecurityEventKind, handle: Option<String>, ended: Option<u64>) {
        self.state.events.record(user_id, kind, &self.client, handle, ended).await;
    }
}

/// Any failure while ending sessions: the user must not be told they were signed out.
pub fn unconfirmed(err: crate::store::StoreError) -> AppError {
    tracing::warn!(%err, "could not confirm that sessions ended");
    AppError::Unavailable(AppError::SIGN_OUT_UNCONFIRMED.into())
}
