//! Shared set-up for the store's tests: a fresh database on the test MongoDB server
//! (`MONGODB_URI`), with the store's indexes, dropped when the test ends.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    ops::Deref,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use mongodb::{Client, Database, options::ClientOptions};

/// The test server's address: `MONGODB_URI`, as the workspace's `scripts/test` sets it.
pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI").expect("MONGODB_URI must point at a MongoDB server (replica set or standalone)")
}

/// A database of its own for one test. Dropped when this value goes out of scope, passing or
/// failing, so a run against a real MongoDB leaves nothing behind.
pub struct TestDatabase(Database);

impl Deref for TestDatabase {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.0
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs outside async code, so the drop command gets a small runtime of its own.
        let name = self.0.name().to_owned();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async { Client::with_uri_str(mongodb_uri()).await.ok()?.database(&name).drop().await.ok() })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("note: could not drop test database {}", self.0.name());
        }
    }
}

/// A fresh database for one test, named `sessionguard_store_test_<pid>_<n>`.
pub async fn fresh_database() -> TestDatabase {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!("sessionguard_store_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut options = ClientOptions::parse(mongodb_uri()).await.unwrap();
    options.server_selection_timeout = Some(Duration::from_secs(5));
    TestDatabase(Client::with_options(options).unwrap().database(&name))
}

/// A database on a port where nothing listens, whose client gives up after `timeout`.
pub async fn unreachable_database(timeout: Duration) -> Database {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut options = ClientOptions::parse(format!("mongodb://127.0.0.1:{port}")).await.unwrap();
    options.server_selection_timeout = Some(timeout);
    options.connect_timeout = Some(timeout);
    Client::with_options(options).unwrap().database("sessionguard_store_unreachable")
}
