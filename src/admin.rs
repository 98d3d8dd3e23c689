//! What operators do from the command line (`sessionguard sessions …`, `users …`): list and end
//! an account's sessions, and disable or enable the account. Every ending is confirmed by the
//! database (write concern `majority`), recorded as [`SecurityEventKind::AdminEnd`], and heard
//! by the ended sessions' open tabs as `ended_by_admin`.

use std::sync::Arc;

use mongodb::Database;
use sessionguard_store::{EndedSessions, SessionInfo, SessionRegistry};

use crate::{
    auth::{ClientInfo, SecurityEvents, User, Users},
    clock::SystemClock,
    config::Config,
    db::DbError,
    model::SecurityEventKind,
    state::session_store,
    validation,
};

/// Why an operator's command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No account has this email.
    #[error("no account has the email {0}")]
    UnknownAccount(String),
    /// The account has no live session with this handle.
    #[error("{email} has no live session with the handle {handle} (see: sessionguard sessions list {email})")]
    UnknownHandle {
        /// The account's email.
        email: String,
        /// The handle asked for.
        handle: String,
    },
    /// The account is disabled, but ending its sessions was not confirmed: they may still work.
    #[error("{email} is disabled, but its sessions could not be confirmed ended ({reason}); run the command again")]
    DisabledNotEnded {
        /// The account's email.
        email: String,
        /// The database's last answer.
        reason: String,
    },
    /// The database could not be reached or refused.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// How often `disable` tries to end the sessions after the flag is set, a second apart.
const END_ATTEMPTS: u32 = 3;

impl From<sessionguard_store::StoreError> for AdminError {
    fn from(err: sessionguard_store::StoreError) -> Self {
        Self::Db(err.into())
    }
}

/// The operator's tools, on one database.
#[derive(Debug, Clone)]
pub struct Admin {
    users: Users,
    registry: SessionRegistry,
    events: SecurityEvents,
}

impl Admin {
    /// The tools on `db`, with `config`'s expiry policy deciding which sessions are live.
    pub fn new(db: &Database, config: &Config) -> Self {
        let clock = Arc::new(SystemClock);
        let store = session_store(db, config, clock.clone());
        Self { users: Users::new(db, clock.clone()), registry: store.registry(), events: SecurityEvents::new(db, clock) }
    }

    /// The account with `email` (normalized as sign-in does).
    async fn account(&self, email: &str) -> Result<User, AdminError> {
        let email = validation::normalize_email(email);
        let account = self.users.find_by_email(&email).await?;
        account.map(|account| account.user).ok_or(AdminError::UnknownAccount(email))
    }

    /// The live sessions of the account, most recently signed in first, with the account.
    ///
    /// # Errors
    /// [`AdminError::UnknownAccount`], or [`AdminError::Db`] when MongoDB cannot be reached.
    pub async fn sessions(&self, email: &str) -> Result<(User, Vec<SessionInfo>), AdminError> {
        let user = self.account(email).await?;
        let mut sessions = self.registry.list_for_user(&user.id).await?;
        sessions.sort_by_key(|session| std::cmp::Reverse(session.created_at));
        Ok((user, sessions))
    }

    /// Ends the account's session `handle`, or every session of the account when `handle` is
    /// `None`. Returns how many ended.
    ///
    /// # Errors
    /// [`AdminError::UnknownAccount`]; [`AdminError::UnknownHandle`] when no live session of the
    /// account has that handle (nothing is ended); [`AdminError::Db`] when MongoDB cannot be
    /// reached or did not confirm: the sessions may or may not have ended, so run it again.
    pub async fn end_sessions(&self, email: &str, handle: Option<&str>) -> Result<u64, AdminError> {
        let user = self.account(email).await?;
        let ended = match handle {
            Some(handle) => {
                if !self.registry.revoke(&user.id, handle).await? {
                    return Err(AdminError::UnknownHandle { email: user.email, handle: handle.to_owned() });
                }
                EndedSessions { count: 1, handles: vec![handle.to_owned()] }
            }
            None => self.registry.end_all_for_user(&user.id).await?,
        };
        Ok(self.record(&user, ended).await)
    }

    /// Disables the account, then ends every session of it: in that order, so that no sign-in
    /// can start a session in between (a sign-in already past its password check re-reads the
    /// account once its session is written, and ends it). Ending is tried [`END_ATTEMPTS`]
    /// times. Returns how many sessions ended.
    ///
    /// # Errors
    /// [`AdminError::UnknownAccount`]; [`AdminError::Db`] when the flag could not be confirmed
    /// set; [`AdminError::DisabledNotEnded`] when it was, but the ending was not confirmed. Either
    /// way, running it again finishes the job.
    pub async fn disable(&self, email: &str) -> Result<u64, AdminError> {
        let email = validation::normalize_email(email);
        let user = self.users.set_disabled(&email, true).await?.ok_or(AdminError::UnknownAccount(email))?;
        let mut attempt = 1;
        let ended = loop {
            match self.registry.end_all_for_user(&user.id).await {
                Ok(ended) => break ended,
                Err(err) if attempt >= END_ATTEMPTS => {
                    return Err(AdminError::DisabledNotEnded { email: user.email, reason: err.to_string() });
                }
                Err(_) => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        };
        Ok(self.record(&user, ended).await)
    }

    /// Lets the account sign in again.
    ///
    /// # Errors
    /// [`AdminError::UnknownAccount`], or [`AdminError::Db`] when MongoDB cannot be reached.
    pub async fn enable(&self, email: &str) -> Result<(), AdminError> {
        let email = validation::normalize_email(email);
        self.users.set_disabled(&email, false).await?.map(drop).ok_or(AdminError::UnknownAccount(email))
    }

    /// Records the ending (when it ended anything) and returns how many ended.
    async fn record(&self, user: &User, ended: EndedSessions) -> u64 {
        let count = ended.count;
        if count > 0 {
            self.events.record_ending(&user.id, SecurityEventKind::AdminEnd, &ClientInfo::operator(), None, ended).await;
        }
        count
    }
}
