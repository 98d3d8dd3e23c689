//! What a server function knows about the request it answers: the session, the client and the
//! signed-in user, where the browser goes next, and the security events it records.

use leptos::server_fn::error::ServerFnUrlError;
use sessionguard_store::{EndedSessions, USER_ID_KEY};
use tower_sessions::{Session, session::Id};

use crate::{
    auth::ClientInfo,
    clock::unix_millis,
    cookie::session_cookie_value,
    error::{AppError, BadInput, Outage, is_plain_form_post},
    model::SecurityEventKind,
    notice::Notice,
    server::RequestUser,
    state::{AppState, app_state},
};

/// Session-data key of the account's email, so that a page can say who is signed in without
/// reading `users`. Accounts cannot change their email, so the copy never goes stale.
pub(super) const EMAIL_KEY: &str = "email";

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
    /// Where the request's log line learns the signed-in user.
    user: RequestUser,
}

/// A signed-in session: its token and its user.
pub struct SignedIn {
    pub session_id: Id,
    pub user_id: String,
}

/// A session-layer failure as an answer: data that cannot be read means this one session is
/// unusable, so it counts as ended (401); anything else is the database being away (503).
pub(super) fn session_error(err: tower_sessions::session::Error) -> AppError {
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
        let had_cookie = session_cookie_value(&parts.headers, &state.config).is_some_and(|value| !value.is_empty());
        let user = parts.extensions.get::<RequestUser>().cloned().unwrap_or_default();
        let referer = parts.headers.get(http::header::REFERER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Self { state, session, client, had_cookie, referer, user })
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
            (Some(user_id), Some(session_id)) => {
                self.name_user(&user_id);
                Ok(SignedIn { session_id, user_id })
            }
            _ if self.had_cookie => Err(AppError::SessionEnded),
            _ => Err(AppError::NotSignedIn),
        })
    }

    /// Sends the browser to `path` with `notice` once the call is answered: a 302 for a form
    /// posted without JavaScript, a client-side navigation for the hydrated app. Programs that
    /// ask for JSON get their answer as usual and may ignore the redirect headers.
    pub fn redirect(&self, path: &str, notice: Notice) {
        leptos_axum::redirect(&format!("{path}?{}", notice.to_query()));
    }

    /// Keeps what the user typed in `email` when a form posted without JavaScript fails: the
    /// browser is sent back to the form, with the error that Leptos carries in the query, and
    /// the email in a short-lived cookie for that page ([`crate::api::remembered_email`]),
    /// never in the URL. The password is kept nowhere. With JavaScript the input keeps its
    /// value anyway.
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
            back.query_pairs_mut().clear().extend_pairs(kept);
            if let Ok(url) = ServerFnUrlError::new(server_fn_path, *error).to_url(back.as_str()) {
                crate::api::remembered_email::remember(&self.state.config, email, back.path());
                leptos_axum::redirect(url.as_str());
            }
        }
        result
    }

    /// Names the request's signed-in user for its log line.
    pub(super) fn name_user(&self, user_id: &str) {
        self.user.set(user_id);
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
