//! The server's shared state and the typed accessors server functions use to reach it.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::{LeptosOptions, use_context};

use crate::{
    auth::{LoginThrottle, Passwords, SecurityEvents, Users},
    clock::Clock,
    config::Config,
    error::AppError,
    live::LiveSessions,
};
use sessionguard_store::{ExpiryPolicy, MongoSessionStore, SessionRegistry};

/// Everything a request may need, built once at start-up. Cheap to clone.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    /// Leptos' site settings (output name, site root, address).
    pub leptos_options: LeptosOptions,
    /// The configuration this process was started with.
    pub config: Arc<Config>,
    /// The MongoDB database holding sessions, users and security events.
    pub db: mongodb::Database,
    /// The `tower-sessions` store behind the session layer.
    pub store: MongoSessionStore,
    /// The shared handle that ends and lists sessions.
    pub registry: SessionRegistry,
    /// The accounts.
    pub users: Users,
    /// The security event log.
    pub events: SecurityEvents,
    /// The failed-sign-in counters.
    pub throttle: LoginThrottle,
    /// Password hashing, capped at `config.hash_concurrency` at a time.
    pub passwords: Passwords,
    /// The tabs connected to this instance for live sign-out; fed by [`crate::live::feed::spawn`].
    pub live: LiveSessions,
    /// The changes still running (every `POST`), answered or not: a request deadline never cuts
    /// one short (`server::deadline`), and a graceful shutdown waits for them.
    pub unfinished: tokio_util::task::TaskTracker,
    /// The one source of "now" for everything above.
    pub clock: Arc<dyn Clock>,
    /// Where a test can hold a sign-in between its password check and its new session.
    #[cfg(feature = "test-util")]
    #[from_ref(skip)]
    pub after_password_check: crate::checkpoint::Checkpoint,
    /// Where a test can hold an account deletion after its first step (the account is gone, its
    /// sessions not yet ended).
    #[cfg(feature = "test-util")]
    #[from_ref(skip)]
    pub after_account_deleted: crate::checkpoint::Checkpoint,
}

impl AppState {
    /// Wires the stores for `db` under `config`'s expiry policy and limits.
    ///
    /// Connects nothing and creates no index: pass a database from [`crate::db::connect`] on
    /// which [`crate::db::ensure_indexes`] has run.
    pub fn new(leptos_options: LeptosOptions, config: Config, db: mongodb::Database, clock: Arc<dyn Clock>) -> Self {
        let store = session_store(&db, &config, clock.clone());
        Self {
            leptos_options,
            registry: store.registry(),
            store,
            users: Users::new(&db, clock.clone()),
            events: SecurityEvents::new(&db, clock.clone()),
            throttle: LoginThrottle::new(&db, &config, clock.clone()),
            passwords: Passwords::new(config.hash_concurrency),
            live: LiveSessions::new(config.max_session_streams, config.max_streams_per_account),
            config: Arc::new(config),
            db,
            clock,
            unfinished: tokio_util::task::TaskTracker::new(),
            #[cfg(feature = "test-util")]
            after_password_check: Default::default(),
            #[cfg(feature = "test-util")]
            after_account_deleted: Default::default(),
        }
    }
}

/// The session store on `db` with `config`'s expiry policy, reading the time from `clock`: the
/// one place the server and the command line make it.
pub fn session_store(db: &mongodb::Database, config: &Config, clock: Arc<dyn Clock>) -> MongoSessionStore {
    let policy = ExpiryPolicy::new(config.idle_timeout, config.absolute_timeout, config.touch_interval);
    MongoSessionStore::new(db).with_collection(crate::db::SESSIONS).with_policy(policy).with_clock(clock)
}

/// The application state, provided to every server function and page render.
///
/// # Errors
/// [`AppError::Internal`] if called outside a request the router set up (a wiring bug).
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}
