//! The fault matrix: every endpoint, with each database command it may issue failing once, and
//! with the database hanging; plus the whole database stopped and restarted mid-traffic. The
//! way MongoDB's drivers test theirs: SecantusDB's `failCommand` fail point, scoped to this
//! test's own client. docs/faults.md tabulates what this asserts.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, http::StatusCode};
use common::http::{Answer, Device};
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use sessionguard::{clock::SystemClock, server::router};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new password";
const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// The commands the server sends (`count_documents` is an `aggregate`).
const COMMANDS: [&str; 6] = ["find", "insert", "update", "delete", "findAndModify", "aggregate"];

/// MaxTimeMSExpired: a transient server error that no driver retries, so the server must cope.
const TRANSIENT: i32 = 50;

/// The messages a 503 may carry: the server's own sentences, each saying what to do.
const OUTAGE_MESSAGES: [&str; 5] = [
    "The database is not answering right now. Please try again in a moment.",
    "We could not confirm you were signed out on the server. Please try again.",
    "We could not confirm that those sessions ended. Please try again.",
    "Your password was changed, but we could not sign out your other sessions. Use “Sign out all other sessions” to finish.",
    "Your password was changed and your other sessions were signed out, but this device was signed out too. Sign in with your new password.",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Register,
    Login,
    Logout,
    Me,
    ListSessions,
    RevokeOther,
    SignOutOthers,
    LogoutEverywhere,
    ChangePassword,
    SecurityEvents,
}

const ENDPOINTS: [Endpoint; 10] = [
    Endpoint::Register,
    Endpoint::Login,
    Endpoint::Logout,
    Endpoint::Me,
    Endpoint::ListSessions,
    Endpoint::RevokeOther,
    Endpoint::SignOutOthers,
    Endpoint::LogoutEverywhere,
    Endpoint::ChangePassword,
    Endpoint::SecurityEvents,
];

/// Alice signed in on two devices, A (which acts) and B.
struct Scene {
    db: common::TestDatabase,
    app: Router,
    a: Device,
    b: Device,
    b_handle: String,
    /// The cookie the last sign-in or registration left its new device with.
    fresh_cookie: Option<String>,
}

async fn scene(request_timeout: Duration) -> Scene {
    let db = common::fresh_database().await;
    let mut config = common::test_config(&db);
    config.request_timeout = request_timeout;
    let app = router(common::app_state_with_clock(db.clone(), config, Arc::new(SystemClock)));
    let mut a = Device::new(app.clone(), FIREFOX);
    a.ip = SocketAddr::from(([198, 51, 100, 1], 1));
    assert_eq!(a.call("register", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);
    let mut b = Device::new(app.clone(), FIREFOX);
    b.ip = SocketAddr::from(([198, 51, 100, 2], 1));
    assert_eq!(b.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);
    let list = a.call("list_sessions", &[]).await;
    let b_handle = list.json["sessions"].as_array().unwrap().iter().find(|s| !s["current"].as_bool().unwrap()).unwrap()["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    Scene { db, app, a, b, b_handle, fresh_cookie: None }
}

impl Scene {
    async fn call(&mut self, endpoint: Endpoint) -> Answer {
        let handle = self.b_handle.clone();
        match endpoint {
            Endpoint::Register => {
                let mut fresh = Device::new(self.app.clone(), FIREFOX);
                let answer = fresh.call("register", &[("email", "carol@example.com"), ("password", PASSWORD)]).await;
                self.fresh_cookie = fresh.cookie;
                answer
            }
            Endpoint::Login => {
                let mut fresh = Device::new(self.app.clone(), FIREFOX);
                fresh.ip = SocketAddr::from(([198, 51, 100, 3], 1));
                let answer = fresh.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
                self.fresh_cookie = fresh.cookie;
                answer
            }
            Endpoint::Logout => self.a.call("logout", &[]).await,
            Endpoint::Me => self.a.call("me", &[]).await,
            Endpoint::ListSessions => self.a.call("list_sessions", &[]).await,
            Endpoint::RevokeOther => self.a.call("revoke_session", &[("handle", &handle)]).await,
            Endpoint::SignOutOthers => self.a.call("sign_out_others", &[]).await,
            Endpoint::LogoutEverywhere => self.a.call("logout_everywhere", &[]).await,
            Endpoint::ChangePassword => self.a.call("change_password", &[("current", PASSWORD), ("new", NEW_PASSWORD)]).await,
            Endpoint::SecurityEvents => self.a.call("security_events", &[]).await,
        }
    }

    async fn sessions(&self, filter: Document) -> Vec<Document> {
        self.db.collection::<Document>("sessions").find(filter).await.unwrap().try_collect().await.unwrap()
    }

    async fn alice_sessions(&self) -> usize {
        let user = self.db.collection::<Document>("users").find_one(doc! { "email": "alice@example.com" }).await.unwrap().unwrap();
        self.sessions(doc! { "user_id": user.get_object_id("_id").unwrap().to_hex() }).await.len()
    }

    /// Whether `device`'s cookie still names a live session (asked through the API, as a browser would).
    async fn signed_in(&self, device: &Device) -> bool {
        let mut probe = device.clone();
        probe.call("list_sessions", &[]).await.status == StatusCode::OK
    }

    /// What the database must hold after `answer`, which `endpoint` gave with Alice's sessions
    /// at `before`: a success is true, a failure changed nothing a user could be misled by.
    async fn check(&self, endpoint: Endpoint, answer: &Answer, before: usize, cell: &str) {
        let ok = answer.status == StatusCode::OK;
        let sessions = self.alice_sessions().await;
        match endpoint {
            Endpoint::Register | Endpoint::Login => {
                assert_eq!(ok, self.fresh_cookie.is_some(), "{cell}: a cookie exactly when signed in");
                let new_sessions = self.sessions(doc! {}).await.len() - before;
                let expected = usize::from(ok);
                assert_eq!(new_sessions, expected, "{cell}: no orphan session without a cookie, one with it");
            }
            Endpoint::Logout => {
                if ok {
                    assert!(!self.signed_in(&self.a).await, "{cell}: 'signed out' while the session exists");
                } else {
                    assert!(!answer.removes_cookie(), "{cell}: an unconfirmed logout keeps the cookie, so a retry can finish");
                }
            }
            Endpoint::RevokeOther => {
                if ok {
                    assert_eq!(answer.json["ended"], true, "{cell}");
                    assert!(!self.signed_in(&self.b).await, "{cell}: revoked but still signed in");
                }
            }
            Endpoint::SignOutOthers => {
                if ok {
                    assert_eq!(sessions, 1, "{cell}: others signed out but sessions remain");
                }
            }
            Endpoint::LogoutEverywhere => {
                if ok {
                    assert_eq!(sessions, 0, "{cell}: signed out everywhere but sessions remain");
                }
            }
            Endpoint::ChangePassword => {
                if ok {
                    assert_eq!(sessions, 1, "{cell}: password changed but other sessions remain");
                    assert!(!self.signed_in(&self.b).await, "{cell}");
                }
            }
            Endpoint::Me | Endpoint::ListSessions | Endpoint::SecurityEvents => {
                assert_eq!(sessions, before, "{cell}: a read ended nothing");
            }
        }
    }
}

impl Scene {
    /// After a 503, what the message told the user to do succeeds: the identical request, or,
    /// where the password had already changed, the step the message names.
    async fn follow_up(&mut self, endpoint: Endpoint, answer: &Answer, before: usize, cell: &str) {
        let follow_up = match answer.message() {
            m if m.starts_with("Your password was changed, but we could not sign out") => self.a.call("sign_out_others", &[]).await,
            m if m.starts_with("Your password was changed and your other sessions") => {
                let mut fresh = Device::new(self.app.clone(), FIREFOX);
                fresh.call("login", &[("email", "alice@example.com"), ("password", NEW_PASSWORD)]).await
            }
            _ => {
                let retry = self.call(endpoint).await;
                self.check(endpoint, &retry, before, &format!("{cell}, retried")).await;
                retry
            }
        };
        assert_eq!(follow_up.status, StatusCode::OK, "{cell}: the next request succeeds: {follow_up:?}");
    }
}

fn assert_honest(answer: &Answer, cell: &str) {
    assert_ne!(answer.status, StatusCode::INTERNAL_SERVER_ERROR, "{cell}: never a 500: {answer:?}");
    assert!(
        answer.status == StatusCode::OK || answer.status == StatusCode::SERVICE_UNAVAILABLE,
        "{cell}: a success or a 503, nothing else: {answer:?}"
    );
    if answer.status == StatusCode::SERVICE_UNAVAILABLE {
        assert!(OUTAGE_MESSAGES.contains(&answer.message()), "{cell}: a 503 with the right message: {answer:?}");
    }
}

#[tokio::test]
async fn every_endpoint_survives_each_command_failing_once() {
    let mut failures_seen = 0;
    for endpoint in ENDPOINTS {
        for command in COMMANDS {
            let cell = format!("{endpoint:?} × {command} fails once");
            let mut scene = scene(Duration::from_secs(5)).await;
            let before = if matches!(endpoint, Endpoint::Register | Endpoint::Login) {
                scene.sessions(doc! {}).await.len()
            } else {
                scene.alice_sessions().await
            };
            let fail_point = common::fail_commands(&scene.db, &[command], TRANSIENT, doc! { "times": 1 }).await;
            let answer = scene.call(endpoint).await;
            fail_point.off().await;
            assert_honest(&answer, &cell);
            scene.check(endpoint, &answer, before, &cell).await;
            println!("cell {endpoint:?} | {command} | {} | {}", answer.status.as_u16(), answer.message());
            if answer.status != StatusCode::OK {
                failures_seen += 1;
                scene.follow_up(endpoint, &answer, before, &cell).await;
            }
        }
    }
    assert!(failures_seen >= 20, "the fail point must actually bite: only {failures_seen} cells failed");
}

#[tokio::test]
async fn a_hung_database_gives_503_in_bounded_time_and_healthz_stays_responsive() {
    for endpoint in ENDPOINTS {
        let cell = format!("{endpoint:?} with the database hanging");
        let mut scene = scene(Duration::from_millis(800)).await;
        let before = scene.alice_sessions().await;
        let commands: Vec<&str> = COMMANDS.to_vec();
        let data = doc! { "failCommands": commands, "blockConnection": true, "blockTimeMS": 2500 };
        let fail_point = common::fail_point(&scene.db, doc! { "times": 1 }, data).await;
        let started = Instant::now();
        let health = {
            let app = scene.app.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let started = Instant::now();
                let mut probe = Device::new(app, FIREFOX);
                let answer = probe
                    .send(axum::http::Request::get("/healthz").header("host", common::http::HOST).body(axum::body::Body::empty()).unwrap())
                    .await;
                (answer.status, started.elapsed())
            })
        };
        let answer = scene.call(endpoint).await;
        let took = started.elapsed();
        let (health_status, health_took) = health.await.unwrap();
        fail_point.off().await;
        assert!(took < Duration::from_millis(2000), "{cell}: answered after {took:?}");
        assert_honest(&answer, &cell);
        assert_eq!(health_status, StatusCode::OK, "{cell}: /healthz while hanging");
        assert!(health_took < Duration::from_secs(1), "{cell}: /healthz took {health_took:?}");
        tokio::time::sleep(Duration::from_millis(2600)).await;
        if !matches!(endpoint, Endpoint::Register | Endpoint::Login) {
            scene.check(endpoint, &answer, before, &cell).await;
        }
        if answer.status != StatusCode::OK {
            scene.follow_up(endpoint, &answer, before, &cell).await;
        }
    }
}

#[tokio::test]
async fn a_database_restart_mid_traffic_recovers_without_an_app_restart() {
    let (server, db) = common::server::OwnServer::with_database("sessionguard_faults").await;
    let mut config = common::test_config(&db);
    config.request_timeout = Duration::from_secs(3);
    let app = router(common::app_state_with_clock(db.clone(), config, Arc::new(SystemClock)));
    let mut a = Device::new(app.clone(), FIREFOX);
    assert_eq!(a.call("register", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);

    let (port, dir) = server.stop();
    let answer = a.call("logout", &[]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(answer.message(), "We could not confirm you were signed out on the server. Please try again.");
    assert!(!answer.removes_cookie(), "the cookie stays for the retry");

    let server = common::server::OwnServer::start(port, dir.clone());
    server.client().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        let answer = a.call("logout", &[]).await;
        if answer.status == StatusCode::OK || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(answer.status, StatusCode::OK, "the same app instance recovers: {answer:?}");
    assert!(answer.removes_cookie());
    assert_eq!(
        db.collection::<Document>("sessions").count_documents(doc! {}).await.unwrap(),
        0,
        "the session whose logout failed is gone now"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_account_deletion_that_stops_halfway_leaves_no_session_and_a_retry_finishes() {
    let mut scene = scene(Duration::from_secs(5)).await;
    // Deletes, in order: the sessions, the session layer's own (already gone), the events, the
    // counters, the account. The fifth, the account's, fails.
    let fail_point = common::fail_commands(&scene.db, &["delete"], TRANSIENT, doc! { "skip": 4 }).await;
    let answer = scene.a.call("delete_account", &[("password", PASSWORD)]).await;
    fail_point.off().await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(answer.message(), "Your sessions were ended, but the account could not be deleted completely. Sign in and delete it again.");
    assert_eq!(scene.alice_sessions().await, 0, "no session is left alive");
    assert!(!scene.signed_in(&scene.b).await);

    let mut again = Device::new(scene.app.clone(), FIREFOX);
    assert_eq!(again.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);
    assert_eq!(again.call("delete_account", &[("password", PASSWORD)]).await.status, StatusCode::OK, "the retry finishes the job");
    assert_eq!(scene.db.collection::<Document>("users").count_documents(doc! {}).await.unwrap(), 0);
    assert_eq!(scene.db.collection::<Document>("sessions").count_documents(doc! {}).await.unwrap(), 0);
}
