//! Shared set-up for the integration tests: a fresh database on the test MongoDB server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod http;

use std::{sync::Arc, time::Duration};

use leptos::config::get_configuration;
use mongodb::{Client, Database, options::ClientOptions};
use sessionguard::{
    config::Config,
    state::AppState,
    store::{Clock, SystemClock, ensure_indexes},
};

/// The test server's address: `MONGODB_URI`, as scripts/test sets it.
pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI").expect("MONGODB_URI must point at the test MongoDB server; run the tests through scripts/test")
}

/// A database of its own for one test, dropped by nobody: the test server is in-memory and
/// thrown away, and each name is unique.
pub async fn fresh_database() -> Database {
    let mut options = ClientOptions::parse(mongodb_uri()).await.unwrap();
    options.server_selection_timeout = Some(Duration::from_secs(5));
    let client = Client::with_options(options).unwrap();
    let name = format!("sessionguard_test_{}", sessionguard_test_suffix());
    let db = client.database(&name);
    ensure_indexes(&db).await.expect("creating indexes on the test database");
    db
}

fn sessionguard_test_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), rand_suffix())
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or_default()
}

/// The configuration tests run with: the defaults, pointed at `db`.
pub fn test_config(db: &Database) -> Config {
    let mut config = Config::from_sources(None, |_| None).unwrap();
    config.mongodb_uri = mongodb_uri();
    config.mongodb_db = db.name().to_owned();
    config
}

/// Application state on `db` with the given clock.
pub fn app_state_with_clock(db: Database, config: Config, clock: Arc<dyn Clock>) -> AppState {
    let leptos_options = get_configuration(None).unwrap().leptos_options;
    AppState::new(leptos_options, config, db, clock)
}

/// Application state on `db` with the system clock and default configuration.
pub fn app_state(db: Database) -> AppState {
    let config = test_config(&db);
    app_state_with_clock(db, config, Arc::new(SystemClock))
}

/// A database handle on a port where nothing listens, failing fast.
pub async fn unreachable_database(timeout: Duration) -> Database {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut options = ClientOptions::parse(format!("mongodb://127.0.0.1:{port}")).await.unwrap();
    options.server_selection_timeout = Some(timeout);
    options.connect_timeout = Some(timeout);
    Client::with_options(options).unwrap().database("sessionguard_unreachable")
}
