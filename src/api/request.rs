//! Server-side helpers shared by the server functions: the request's session, client and
//! signed-in user, and the ways a session starts and ends.

use http::{HeaderName, HeaderValue};
use leptos::{prelude::use_context, server_fn::error::ServerFnUrlError};
use leptos_axum::ResponseOptions;
use sessionguard_store::{EndedSessions, IP_KEY, SessionInfo, USER_AGENT_KEY, USER_ID_KEY};
use tower_sessions::{Session, cookie::Cookie, session::Id};

use crate::{
    auth::{ClientInfo, PasswordError, ThrottleVerdict, User},
    clock::unix_millis,
    cookie::cookie_name,
    db::DbError,
    error::{AppError, BadInput, Outage, is_plain_form_post},
    model::SecurityEventKind,
    notice::Notice,
    state::{AppState, app_state},
};

/// Session-data key of the account's email, so that a page can say who is signed in without
/// reading `users`. Accounts cannot change their email, so the copy never goes stale.
const EMAIL_KEY: &str = "email";

/// How often ending a session that a failed sign-in left behind is tried again after the answer,
/// a second apart, then two, and so on.
const END_RETRIES: u32 = 5;

/// What a server function knows about the request it is answering.
pub struct RequestContext {
    pub state: AppState,
    pub session: Session,
    pub client: ClientInfo,
    /// Whether the request carried a session cookie at all, read from the header because the
    /// session forgets its id once it finds the stored session gone.
    had_cookie: bool,
    /// The page a plain form was posted from (`Referer`), for the redirect back on failure.
    referer: Option<String>,
}

/// A signed-in session: its token and its user.
pub struct SignedIn {
    pub session_id: Id,
    pub user_id: String,
}

/// A session-layer failure as an answer: data that cannot be read means this one session is
/// unusable, so it counts as ended (401); anything else is the database being away (503).
fn session_error(err: tower_sessions::session::Error) -> AppError {
    use tower_sessions::{session::Error, session_store};
    match err {
        Error::SerdeJson(_) | Error::Store(session_store::Error::Decode(_)) => {
            tracing::error!(%err, "a session's stored data cannot be read; treating the session as ended");
            AppError::SessionEnded
        }
        Error::Store(_) => {
            tracing::warn!(%err, "session layer error");
            AppError::Unavailable(Outage::Database)
        }
    }
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
        let trusted_hops = state.config.trust_proxy.then_some(state.config.trust_proxy_hops);
        let client = ClientInfo::from_request(&parts, trusted_hops).map_err(|err| {
            tracing::warn!(%err, "refused a request whose client address is unknown");
            AppError::BadInput(BadInput::ForwardedFor)
        })?;
        let had_cookie = has_cookie(&parts.headers, cookie_name(&state.config));
        let referer = parts.headers.get(http::header::REFERER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Self { state, session, client, had_cookie, referer })
    }

    /// The signed-in user of this request, if the session cookie names a live session.
    pub async fn signed_in(&self) -> Result<Option<SignedIn>, AppError> {
        Ok(self.session_state().await?.ok())
    }

    /// The signed-in user, or 401: [`AppError::SessionEnded`] when the request carried a
    /// cookie for a session that no longer exists, [`AppError::NotSignedIn`] when it carried none.
    pub async fn require_user(&self) -> Result<SignedIn, AppError> {
        self.session_state().await?
    }

    /// The signed-in account's email as the session holds it; `None` for a session written
    /// before sign-in started keeping it there.
    pub async fn session_email(&self) -> Result<Option<String>, AppError> {
        self.session.get::<String>(EMAIL_KEY).await.map_err(session_error)
    }

    async fn session_state(&self) -> Result<Result<SignedIn, AppError>, AppError> {
        let user_id = self.session.get::<String>(USER_ID_KEY).await.map_err(session_error)?;
        // `id()` is read after `get`, which clears it when the stored session is gone.
        Ok(match (user_id, self.session.id()) {
            (Some(user_id), Some(session_id)) => Ok(SignedIn { session_id, user_id }),
            _ if self.had_cookie => Err(AppError::SessionEnded),
            _ => Err(AppError::NotSignedIn),
        })
    }

    /// Signs `user` in on this request: a new session id (the old one is deleted: fixation
    /// defence, ASVS 3.2.1), the user, address and browser recorded, and the document written
    /// now so the answer is only "signed in" once the session exists. Beyond
    /// `Config::max_sessions_per_user` live sessions, the oldest end, and the security log
    /// says so. Returns the new session's handle.
    ///
    /// If a step after the session was written fails, the session is ended again before the
    /// error is returned: a failed answer carries no cookie, so a session left behind would be
    /// one nobody holds (the fault matrix found this).
    ///
    /// The session is started on the strength of the password as `user.password_changed_at`
    /// says it was. Once the session is written, the account is read again: if it is gone or its
    /// password changed meanwhile, the ending that did it may have run before this session
    /// existed, so this session is ended here instead and the answer is
    /// [`AppError::WrongCredentials`]. Either this re-read sees the change, or that ending runs
    /// after this session was written and ends it: no interleaving leaves it alive.
    pub async fn start_session(&self, user: &User) -> Result<Option<String>, AppError> {
        let session = &self.session;
        // A request without a session id gets a fresh one from `create`: nothing to cycle.
        if session.id().is_some() {
            session.cycle_id().await.map_err(session_error)?;
        }
        session.insert(USER_ID_KEY, &user.id).await.map_err(session_error)?;
        session.insert(EMAIL_KEY, &user.email).await.map_err(session_error)?;
        session.insert(USER_AGENT_KEY, &self.client.user_agent).await.map_err(session_error)?;
        session.insert(IP_KEY, &self.client.ip).await.map_err(session_error)?;
        session.save().await.map_err(session_error)?;
        let id = session.id().ok_or(AppError::Internal)?;
        let finished = async {
            let handle = self.state.store.created_handle(&id);
            let over_cap = self.state.registry.end_oldest_beyond(&user.id, self.state.config.max_sessions_per_user).await?;
            if over_cap.count > 0 {
                self.record_ending(&user.id, SecurityEventKind::SessionLimit, handle.clone(), over_cap).await;
            }
            match self.state.users.password_changed_at(&user.id).await? {
                Some(changed_at) if changed_at == user.password_changed_at => Ok(handle),
                _ => Err(AppError::WrongCredentials),
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

    /// Sends the browser to `path` with `notice` once the call is answered: a 302 for a form
    /// posted without JavaScript, a client-side navigation for the hydrated app. Programs that
    /// ask for JSON get their answer as usual and may ignore the redirect headers.
    pub fn redirect(&self, path: &str, notice: Notice) {
        leptos_axum::redirect(&format!("{path}?{}", notice.to_query()));
    }

    /// Keeps what the user typed in `email` when a form posted without JavaScript fails: the
    /// browser is sent back to the form with `email` in the query (never the password), next to
    /// the error that Leptos carries there. With JavaScript the input keeps its value anyway.
    pub fn keep_email_on_failure<T>(&self, server_fn_path: &str, email: &str, result: Result<T, AppError>) -> Result<T, AppError> {
        if let (Err(error), Some(referer)) = (&result, &self.referer)
            && is_plain_form_post()
            && let Ok(mut back) = url::Url::parse(referer)
        {
            let kept: Vec<(String, String)> = back
                .query_pairs()
                .filter(|(key, _)| !matches!(key.as_ref(), "email" | "__path" | "__err"))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            back.query_pairs_mut().clear().extend_pairs(kept).append_pair("email", email);
            if let Ok(url) = ServerFnUrlError::new(server_fn_path, *error).to_url(back.as_str()) {
                leptos_axum::redirect(url.as_str());
            }
        }
        result
    }

    /// The server's time, in milliseconds since the Unix epoch, for answers that show "ago" texts.
    pub fn now_ms(&self) -> i64 {
        unix_millis(self.state.clock.now())
    }

    /// Records a security event for `user_id` from this request's client.
    pub async fn record(&self, user_id: &str, kind: SecurityEventKind, handle: Option<String>, ended: Option<u64>) {
        self.state.events.record(user_id, kind, &self.client, handle, ended).await;
    }

    /// Records that `kind`, acting from the session `handle`, ended the sessions `ended`, from
    /// this request's client; the handles tell each ended session's open tabs why.
    pub async fn record_ending(&self, user_id: &str, kind: SecurityEventKind, handle: Option<String>, ended: EndedSessions) {
        self.state.events.record_ending(user_id, kind, &self.client, handle, ended).await;
    }
}

/// Whether the `Cookie` header holds a non-empty cookie called `name`.
fn has_cookie(headers: &http::HeaderMap, name: &str) -> bool {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .flatten()
        .any(|cookie| cookie.name() == name && !cookie.value().is_empty())
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

/// 429 for a refused attempt.
///
/// # Errors
/// [`AppError::Throttled`] with the seconds until the blocking window passes.
pub fn throttled(verdict: ThrottleVerdict) -> Result<(), AppError> {
    match verdict {
        ThrottleVerdict::Allowed => Ok(()),
        ThrottleVerdict::Refused { retry_after_secs } => Err(AppError::Throttled { retry_after_secs }),
    }
}

/// Tells the browser that answers this request to forget the site's cookies and storage
/// (`Clear-Site-Data`): this device's session has ended, and nothing of it should linger.
pub fn clear_site_data() {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.insert_header(HeaderName::from_static("clear-site-data"), HeaderValue::from_static("\"cookies\", \"storage\""));
    }
}

/// The `api` edge, where data-access errors become HTTP answers: 503 when the database is away
/// or could not confirm, 500 otherwise (the detail goes to the log, never to the client).
impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(_) => {
                tracing::warn!(%err, "database unavailable");
                Self::Unavailable(Outage::Database)
            }
            DbError::Encode(_) | DbError::Decode(_) | DbError::Refused(_) => {
                tracing::error!(%err, "database error");
                Self::Internal
            }
        }
    }
}

/// The session store's errors take the same way as every other data-access error.
impl From<sessionguard_store::StoreError> for AppError {
    fn from(err: sessionguard_store::StoreError) -> Self {
        DbError::from(err).into()
    }
}

impl From<PasswordError> for AppError {
    fn from(err: PasswordError) -> Self {
        match err {
            PasswordError::Busy => {
                tracing::warn!("every password-hashing slot is in use; answering 503");
                Self::Busy { retry_after_secs: 1 }
            }
            PasswordError::Failed(_) => {
                tracing::error!(%err, "password hashing failed; answering 503");
                Self::Unavailable(Outage::PasswordCheckFailed)
            }
        }
    }
}
