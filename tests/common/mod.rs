//! Shared set-up for the integration tests: a fresh database on the test MongoDB server,
//! dropped when the test ends.
#![allow(dead_code)]

pub mod http;
pub mod server;

use std::{
    ops::Deref,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::TryStreamExt;
use leptos::config::get_configuration;
use mongodb::{
    Client, Database,
    bson::{Document, doc},
    event::{EventHandler, command::CommandEvent},
    options::ClientOptions,
};
use sessionguard::{
    clock::{Clock, SystemClock},
    config::Config,
    db::ensure_indexes,
    state::AppState,
};
use sha2::Digest;

/// The test server's address: `MONGODB_URI`, as scripts/test sets it.
pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI").expect("MONGODB_URI must point at the test MongoDB server; run the tests through scripts/test")
}

/// A database of its own for one test, with every index `main` creates (through the same
/// `ensure_indexes`). Dropped when this value goes out of scope, passing or failing, so a
/// run against a real MongoDB leaves no `sessionguard_test_*` databases behind.
pub struct TestDatabase(Database, String);

impl Deref for TestDatabase {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.0
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs outside async code, so the drop command gets a small runtime of its own.
        let (name, uri) = (self.0.name().to_owned(), self.1.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let client = Client::with_uri_str(uri).await.ok()?;
                client.database(&name).drop().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("note: could not drop test database {}", self.0.name());
        }
    }
}

impl TestDatabase {
    /// The id of the account with this email, as sessions and events store it.
    pub async fn user_id(&self, email: &str) -> String {
        let user = self.0.collection::<Document>("users").find_one(doc! { "email": email }).await.unwrap().unwrap();
        user.get_object_id("_id").unwrap().to_hex()
    }

    /// The session documents of the account with this email.
    pub async fn sessions_of(&self, email: &str) -> Vec<Document> {
        let user_id = self.user_id(email).await;
        self.0.collection::<Document>("sessions").find(doc! { "user_id": user_id }).await.unwrap().try_collect().await.unwrap()
    }

    /// The session document that the session cookie `cookie` (`name=value`) names, looked up
    /// by `_id` as the server does; `None` when there is none.
    pub async fn session_of_cookie(&self, cookie: &str) -> Option<Document> {
        self.0.collection::<Document>("sessions").find_one(doc! { "_id": session_key(cookie) }).await.unwrap()
    }

    /// The security events of kind `kind` of the account with this email.
    pub async fn events_of(&self, email: &str, kind: &str) -> Vec<Document> {
        let user_id = self.user_id(email).await;
        let filter = doc! { "user_id": user_id, "kind": kind };
        self.0.collection::<Document>("security_events").find(filter).await.unwrap().try_collect().await.unwrap()
    }
}

/// A fresh, indexed database for one test on the main test server (a replica set). Its
/// client's `appName` is the database's name, so a `failCommand` fail point can target this
/// test's commands alone ([`fail_commands`]).
pub async fn fresh_database() -> TestDatabase {
    fresh_database_on(mongodb_uri()).await
}

/// A fresh, indexed database on the standalone test server (`MONGODB_STANDALONE_URI`), which
/// offers no change streams.
pub async fn fresh_standalone_database() -> TestDatabase {
    let uri = std::env::var("MONGODB_STANDALONE_URI")
        .expect("MONGODB_STANDALONE_URI must point at a standalone server; run the tests through scripts/test");
    fresh_database_on(uri).await
}

/// A fresh, indexed database on the main test server whose client records every command it
/// sends (the driver's command monitoring), for tests that check what reached MongoDB.
pub async fn fresh_database_logging_commands() -> (TestDatabase, CommandLog) {
    let log = CommandLog::default();
    let db = fresh_database_with(mongodb_uri(), Some(log.clone())).await;
    (db, log)
}

async fn fresh_database_on(uri: String) -> TestDatabase {
    fresh_database_with(uri, None).await
}

async fn fresh_database_with(uri: String, log: Option<CommandLog>) -> TestDatabase {
    let name = format!("sessionguard_test_{}", unique_suffix());
    let mut options = ClientOptions::parse(&uri).await.unwrap();
    options.server_selection_timeout = Some(Duration::from_secs(5));
    options.app_name = Some(name.clone());
    options.command_event_handler = log.map(|log| EventHandler::callback(move |event| log.record(event)));
    let client = Client::with_options(options).unwrap();
    let db = client.database(&name);
    ensure_indexes(&db).await.expect("creating indexes on the test database");
    TestDatabase(db, uri)
}

/// The `_id` under which the session of cookie `cookie` (`name=value`) is stored: the hex
/// SHA-256 of the cookie's value (DESIGN.md §3), so a test can find a session by its `_id`.
pub fn session_key(cookie: &str) -> String {
    let (_, token) = cookie.split_once('=').expect("a session cookie is name=value");
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// One command a test database's client sent: its name, the collection it names (empty for
/// commands on the database, such as `ping`) and the whole command as sent.
#[derive(Debug, Clone)]
pub struct SentCommand {
    pub name: String,
    pub collection: String,
    pub body: Document,
}

/// The commands a client sent, in order, as the driver's command monitoring reported them.
#[derive(Debug, Clone, Default)]
pub struct CommandLog(Arc<Mutex<Vec<SentCommand>>>);

impl CommandLog {
    /// Keeps each command as it starts; what the server answered is not kept.
    fn record(&self, event: CommandEvent) {
        if let CommandEvent::Started(started) = event {
            let collection = started.command.get_str(&started.command_name).unwrap_or_default().to_owned();
            let sent = SentCommand { name: started.command_name, collection, body: started.command };
            self.0.lock().unwrap().push(sent);
        }
    }

    /// A mark for [`CommandLog::since`]: how many commands have been sent so far.
    pub fn mark(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The commands sent after `mark` (a [`CommandLog::mark`] taken earlier).
    pub fn since(&self, mark: usize) -> Vec<SentCommand> {
        self.0.lock().unwrap()[mark..].to_vec()
    }

    /// Waits until `count` commands named `name` on `collection` have been sent after `mark`,
    /// failing the test if that takes longer than `limit`.
    pub async fn wait_for(&self, mark: usize, count: usize, name: &str, collection: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let sent = self.since(mark).iter().filter(|c| c.name == name && c.collection == collection).count();
            if sent >= count {
                return;
            }
            assert!(Instant::now() < deadline, "only {sent} of {count} `{name}` commands on {collection} were sent within {limit:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
    format!("{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The configuration tests run with: the defaults, pointed at `db`, served as
/// `http://sessionguard.test` (plain HTTP, so the cookie is not `Secure`).
pub fn test_config(db: &Database) -> Config {
    Config {
        mongodb_uri: mongodb_uri(),
        mongodb_db: db.name().to_owned(),
        cookie_secure: false,
        public_origin: format!("http://{}", http::HOST),
        ..Config::default()
    }
}

/// The server's one `failCommand` fail point, held by one test at a time: configuring it
/// replaces whatever another test set.
static FAIL_POINT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An armed `failCommand` fail point; [`FailPoint::off`] disarms it and lets the next test have it.
pub struct FailPoint {
    db: Database,
    _held: tokio::sync::MutexGuard<'static, ()>,
}

/// Makes commands named in `commands` that `db`'s own client sends fail with MongoDB error
/// `code`, in `mode` (`{times: n}`, or `{skip: n}` to let the first `n` through and fail every
/// one after), through the server's `failCommand` fail point. The server must run with test
/// commands enabled, as scripts/test starts it. Other tests' clients are untouched: the fail
/// point matches this test's `appName` only.
pub async fn fail_commands(db: &Database, commands: &[&str], code: i32, mode: mongodb::bson::Document) -> FailPoint {
    fail_point(db, mode, mongodb::bson::doc! { "failCommands": commands, "errorCode": code }).await
}

/// Arms the `failCommand` fail point for `db`'s own client with `mode` and the fail point's
/// `data` (for example `{failCommands: ["find"], blockConnection: true, blockTimeMS: 3000}`).
pub async fn fail_point(db: &Database, mode: mongodb::bson::Document, data: mongodb::bson::Document) -> FailPoint {
    let held = FAIL_POINT.lock().await;
    configure(db, mongodb::bson::Bson::Document(mode), data).await;
    FailPoint { db: db.clone(), _held: held }
}

impl FailPoint {
    /// Disarms the fail point.
    pub async fn off(self) {
        configure(&self.db, "off".into(), mongodb::bson::doc! { "failCommands": [] }).await;
    }
}

async fn configure(db: &Database, mode: mongodb::bson::Bson, mut data: mongodb::bson::Document) {
    data.insert("appName", db.name());
    db.client()
        .database("admin")
        .run_command(mongodb::bson::doc! { "configureFailPoint": "failCommand", "mode": mode, "data": data })
        .await
        .expect("configureFailPoint failed: start the test server with --enable-test-commands (scripts/test does)");
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
