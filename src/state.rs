//! The server's shared state and the typed accessors server functions use to reach it.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::{LeptosOptions, use_context};

use crate::{
    auth::{LoginThrottle, SecurityEvents, Users},
    config::Config,
    error::AppError,
    store::{Clock, ExpiryPolicy, MongoSessionStore, SessionRegistry},
};

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
}

impl AppState {
    /// Wires the stores for `db` under `config`'s expiry policy and limits.
    ///
    /// Connects nothing: pass a database from [`crate::database::connect`].
    pub fn new(leptos_options: LeptosOptions, config: Config, db: mongodb::Database, clock: Arc<dyn Clock>) -> Self {
        let policy = ExpiryPolicy::new(config.idle_timeout, config.absolute_timeout, config.touch_interval);
        let store = MongoSessionStore::new(&db, policy, clock);
        Self {
            leptos_options,
            registry: store.registry(),
            store,
            users: Users::new(&db),
            events: SecurityEvents::new(&db),
            throttle: LoginThrottle::new(&db, &config),
            config: Arc::new(config),
            db,
        }
    }
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
