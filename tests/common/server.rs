//! A SecantusDB server of a test's own, for tests that stop and restart the database.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use mongodb::{Client, bson::doc};

/// A SecantusDB replica set of this test's own, on disk, that can be stopped and started again.
pub struct OwnServer {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl OwnServer {
    /// Starts a single-node replica set on `port` keeping its data in `dir`, syncing every commit.
    pub fn start(port: u16, dir: std::path::PathBuf) -> Self {
        let binary = std::env::var("SECANTUSD").expect("SECANTUSD must name secantusd-py; run the tests through scripts/test");
        let child = Command::new(binary)
            .args(["--sync-on-commit", "--host", "127.0.0.1", "--port", &port.to_string(), "--storage-path"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting SecantusDB");
        Self { child, port, dir }
    }

    /// A server of its own on a free port, with a directory named after `name`, and its
    /// database `name` with every index `main` creates.
    pub async fn with_database(name: &str) -> (Self, mongodb::Database) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("{name}-{}-{port}", std::process::id()));
        let server = Self::start(port, dir);
        let db = server.client().await.database(name);
        sessionguard::db::ensure_indexes(&db).await.unwrap();
        (server, db)
    }

    /// A client, once the server answers a ping (at most 30 s).
    pub async fn client(&self) -> Client {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(client) = Client::with_uri_str(format!("mongodb://127.0.0.1:{}/?serverSelectionTimeoutMS=1000", self.port)).await
                && client.database("admin").run_command(doc! { "ping": 1 }).await.is_ok()
            {
                return client;
            }
            assert!(Instant::now() < deadline, "SecantusDB did not start on port {}", self.port);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn stop(mut self) -> (u16, std::path::PathBuf) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.port, self.dir.clone())
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
