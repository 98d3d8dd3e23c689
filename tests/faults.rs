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

/// The 503 of a change that outlived the request deadline: it runs on to its end (and a session
/// whose cookie only that late answer carried is ended, since no browser holds it).
const MAY_STILL_COMPLETE: &str =
    "The server is taking long to confirm this change. It may still complete: reload the page in a moment to see whether it did.";

/// The messages a 503 may carry: the server's own sentences, each saying what to do.
const OUTAGE_MESSAGES: [&str; 6] = [
    MAY_STILL_COMPLETE,
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
    b_handle: String,
    /// B's cookie, which no call of A's changes.
    b_cookie: String,
    /// The cookie A sent with the last call: after a successful ending the browser drops it,
    /// so the checks replay this copy, as a thief who kept it would.
    a_cookie_sent: String,
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
    let a_cookie_sent = a.cookie.clone().expect("registering signs A in");
    let b_cookie = b.cookie.clone().expect("signing in gives B a cookie");
    Scene { db, app, a, b_handle, b_cookie, a_cookie_sent, fresh_cookie: None }
}

impl Scene {
    async fn call(&mut self, endpoint: Endpoint) -> Answer {
        let handle = self.b_handle.clone();
        if !matches!(endpoint, Endpoint::Register | Endpoint::Login) {
            self.a_cookie_sent = self.a.cookie.clone().expect("A holds a cookie before each of its calls");
        }
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

    /// What [`Scene::check`] compares against: every session for a sign-in (which adds one to
    /// the whole collection), Alice's for the rest.
    async fn sessions_before(&self, endpoint: Endpoint) -> usize {
        if matches!(endpoint, Endpoint::Register | Endpoint::Login) {
            self.sessions(doc! {}).await.len()
        } else {
            self.alice_sessions().await
        }
    }

    /// Whether `cookie` still names a live session, both ways: its document by `_id` (the
    /// database) and a call with it (what a browser or a thief holding it would get). The two
    /// must agree.
    async fn alive(&self, cookie: &str, cell: &str) -> bool {
        let stored = self.db.session_of_cookie(cookie).await.is_some();
        let answered = self.a.holding(cookie).call("list_sessions", &[]).await.status;
        assert!(answered == StatusCode::OK || answered == StatusCode::UNAUTHORIZED, "{cell}: {answered} for a session check");
        assert_eq!(stored, answered == StatusCode::OK, "{cell}: the document (stored: {stored}) and the answer ({answered}) disagree");
        stored
    }

    /// Whether Alice's password is still the one she registered with (the account's
    /// `password_changed_at` is still its `created_at`).
    async fn password_unchanged(&self) -> bool {
        let user = self.db.collection::<Document>("users").find_one(doc! { "email": "alice@example.com" }).await.unwrap().unwrap();
        user.get_datetime("password_changed_at").unwrap() == user.get_datetime("created_at").unwrap()
    }

    /// What the database must hold after `answer`, which `endpoint` gave with
    /// [`Scene::sessions_before`] at `before`: a success is true, and a 503 left exactly the
    /// state its message describes. Every branch asserts, and every session is checked by the
    /// `_id` its cookie names, with the cookie replayed even when the answer removed it.
    async fn check(&self, endpoint: Endpoint, answer: &Answer, before: usize, cell: &str) {
        let ok = answer.status == StatusCode::OK;
        let a_cookie = self.a_cookie_sent.as_str();
        if answer.message() == MAY_STILL_COMPLETE {
            return self.check_completed_late(endpoint, answer, before, cell).await;
        }
        match endpoint {
            Endpoint::Register | Endpoint::Login => {
                assert_eq!(ok, self.fresh_cookie.is_some(), "{cell}: a cookie exactly when signed in");
                let new_sessions = self.sessions(doc! {}).await.len() - before;
                assert_eq!(new_sessions, usize::from(ok), "{cell}: no orphan session without a cookie, one with it");
                if let Some(cookie) = &self.fresh_cookie {
                    assert!(self.alive(cookie, cell).await, "{cell}: the new cookie names the new session");
                }
            }
            Endpoint::Logout => {
                assert_eq!(answer.removes_cookie(), ok, "{cell}: the cookie goes exactly when the logout is confirmed");
                if ok {
                    assert!(!self.alive(a_cookie, cell).await, "{cell}: 'signed out' while the session exists");
                }
                assert!(self.alive(&self.b_cookie, cell).await, "{cell}: logging out one device leaves the other");
            }
            Endpoint::RevokeOther => {
                if ok {
                    assert_eq!(answer.json["ended"], true, "{cell}");
                    assert!(!self.alive(&self.b_cookie, cell).await, "{cell}: revoked but still signed in");
                }
                assert!(self.alive(a_cookie, cell).await, "{cell}: revoking another device leaves this one signed in");
            }
            Endpoint::SignOutOthers => {
                if ok {
                    assert_eq!(self.alice_sessions().await, 1, "{cell}: others signed out but sessions remain");
                    assert!(!self.alive(&self.b_cookie, cell).await, "{cell}: B signed out");
                }
                assert!(self.alive(a_cookie, cell).await, "{cell}: this device stays signed in");
            }
            Endpoint::LogoutEverywhere => {
                assert_eq!(
                    answer.removes_cookie(),
                    ok,
                    "{cell}: the cookie goes exactly when the ending is confirmed, else it stays for the retry"
                );
                if ok {
                    assert_eq!(self.alice_sessions().await, 0, "{cell}: signed out everywhere but sessions remain");
                    assert!(!self.alive(a_cookie, cell).await, "{cell}: this device's old cookie is dead");
                    assert!(!self.alive(&self.b_cookie, cell).await, "{cell}: B's cookie is dead");
                }
            }
            Endpoint::ChangePassword => self.check_password_change(answer, before, cell).await,
            Endpoint::Me | Endpoint::ListSessions | Endpoint::SecurityEvents => {
                assert_eq!(self.alice_sessions().await, before, "{cell}: a read ended nothing");
                assert!(self.alive(a_cookie, cell).await && self.alive(&self.b_cookie, cell).await, "{cell}: a read ended nothing");
            }
        }
    }

    /// [`Scene::check`] for a change answered "may still complete" by the deadline, once its
    /// held command has run: the change ran to its end, no cookie reached the browser, and a
    /// session that only the late answer's cookie named has been ended.
    async fn check_completed_late(&self, endpoint: Endpoint, answer: &Answer, before: usize, cell: &str) {
        let a_cookie = self.a_cookie_sent.as_str();
        assert!(answer.set_cookies().is_empty(), "{cell}: a late answer sets no cookie");
        match endpoint {
            Endpoint::Register | Endpoint::Login => {
                assert_eq!(self.sessions(doc! {}).await.len(), before, "{cell}: no session that nobody holds");
                if endpoint == Endpoint::Register {
                    let carol =
                        self.db.collection::<Document>("users").count_documents(doc! { "email": "carol@example.com" }).await.unwrap();
                    assert_eq!(carol, 1, "{cell}: the registration completed");
                }
            }
            Endpoint::Logout => {
                assert!(!self.alive(a_cookie, cell).await, "{cell}: the logout completed");
                assert!(self.alive(&self.b_cookie, cell).await, "{cell}: and ended only this device");
            }
            Endpoint::RevokeOther => {
                assert!(!self.alive(&self.b_cookie, cell).await, "{cell}: the revoke completed");
                assert!(self.alive(a_cookie, cell).await, "{cell}: and left this device");
            }
            Endpoint::SignOutOthers => {
                assert_eq!(self.alice_sessions().await, 1, "{cell}: the sign-out completed");
                assert!(self.alive(a_cookie, cell).await, "{cell}: and left this device");
            }
            Endpoint::LogoutEverywhere => assert_eq!(self.alice_sessions().await, 0, "{cell}: the ending completed"),
            Endpoint::ChangePassword => {
                assert!(!self.password_unchanged().await, "{cell}: the change completed");
                assert_eq!(self.alice_sessions().await, 0, "{cell}: the others ended, and this device's new session went to nobody");
            }
            Endpoint::Me | Endpoint::ListSessions | Endpoint::SecurityEvents => {
                assert_eq!(self.alice_sessions().await, before, "{cell}: a read ended nothing");
                assert!(self.alive(a_cookie, cell).await && self.alive(&self.b_cookie, cell).await, "{cell}: a read ended nothing");
            }
        }
    }

    /// [`Scene::check`] for a password change: the state that each possible answer names.
    async fn check_password_change(&self, answer: &Answer, before: usize, cell: &str) {
        let a_cookie = self.a_cookie_sent.as_str();
        let message = answer.message();
        if answer.status == StatusCode::OK {
            assert!(!self.password_unchanged().await, "{cell}: 'changed' but the password is the old one");
            assert_eq!(self.alice_sessions().await, 1, "{cell}: password changed but other sessions remain");
            assert!(!self.alive(&self.b_cookie, cell).await, "{cell}: B signed out");
            assert!(!self.alive(a_cookie, cell).await, "{cell}: this device moved to a new session id");
            let new_cookie = self.a.cookie.as_deref().expect("a new cookie for this device");
            assert!(self.alive(new_cookie, cell).await, "{cell}: this device's new cookie works");
        } else if message.starts_with("Your password was changed, but we could not sign out") {
            assert!(!self.password_unchanged().await, "{cell}: the message says the password changed");
            assert!(self.alive(&self.b_cookie, cell).await, "{cell}: the message says the others remain");
            assert!(self.alive(a_cookie, cell).await, "{cell}: this device can finish the job");
        } else if message.starts_with("Your password was changed and your other sessions") {
            assert!(!self.password_unchanged().await, "{cell}: the message says the password changed");
            assert_eq!(self.alice_sessions().await, 0, "{cell}: the message says every session ended, this one too");
        } else {
            assert!(self.password_unchanged().await, "{cell}: a failure without that sentence changed no password");
            assert_eq!(self.alice_sessions().await, before, "{cell}: and ended nothing");
            assert!(self.alive(a_cookie, cell).await, "{cell}: this device stays signed in for the retry");
        }
    }
}

impl Scene {
    /// After a 503, what the message told the user to do succeeds: the identical request, or,
    /// where the password had already changed, the step the message names.
    async fn follow_up(&mut self, endpoint: Endpoint, answer: &Answer, before: usize, cell: &str) {
        let follow_up = match answer.message() {
            m if m.starts_with("Your password was changed, but we could not sign out") => {
                let finished = self.a.call("sign_out_others", &[]).await;
                assert_eq!(self.alice_sessions().await, 1, "{cell}: the named step finished the job");
                assert!(!self.alive(&self.b_cookie, cell).await, "{cell}: B is signed out now");
                finished
            }
            m if m.starts_with("Your password was changed and your other sessions") => {
                let mut fresh = Device::new(self.app.clone(), FIREFOX);
                fresh.call("login", &[("email", "alice@example.com"), ("password", NEW_PASSWORD)]).await
            }
            // "Reload to see whether it did": it did, so the account it left signs in, and a
            // reload of this device's page answers.
            MAY_STILL_COMPLETE => {
                let mut fresh = Device::new(self.app.clone(), FIREFOX);
                match endpoint {
                    Endpoint::Register => fresh.call("login", &[("email", "carol@example.com"), ("password", PASSWORD)]).await,
                    Endpoint::ChangePassword => fresh.call("login", &[("email", "alice@example.com"), ("password", NEW_PASSWORD)]).await,
                    Endpoint::Login => fresh.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await,
                    _ => self.a.call("me", &[]).await,
                }
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
            let before = scene.sessions_before(endpoint).await;
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

/// How long the hung database holds the first command of each call: far longer than the
/// request deadline, so that "answered by the deadline" and "answered by the database" are
/// seconds apart, not milliseconds.
const HANG: Duration = Duration::from_secs(3);

/// How long after the hang the checks wait: the held command has run by then, and so has the
/// rest of a change that outlived its deadline, with seconds to spare for work that takes
/// milliseconds.
const SETTLE: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_hung_database_gives_503_in_bounded_time_and_healthz_stays_responsive() {
    let request_timeout = Duration::from_millis(800);
    for endpoint in ENDPOINTS {
        let cell = format!("{endpoint:?} with the database hanging");
        let mut scene = scene(request_timeout).await;
        let before = scene.sessions_before(endpoint).await;
        let commands: Vec<&str> = COMMANDS.to_vec();
        let hang_ms = i64::try_from(HANG.as_millis()).unwrap();
        let data = doc! { "failCommands": commands, "blockConnection": true, "blockTimeMS": hang_ms };
        let fail_point = common::fail_point(&scene.db, doc! { "times": 1 }, data).await;
        let started = Instant::now();
        let health = {
            let app = scene.app.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let mut probe = Device::new(app, FIREFOX);
                let answer = probe
                    .send(axum::http::Request::get("/healthz").header("host", common::http::HOST).body(axum::body::Body::empty()).unwrap())
                    .await;
                (answer.status, Instant::now())
            })
        };
        let answer = scene.call(endpoint).await;
        let took = started.elapsed();
        let (health_status, health_answered) = health.await.unwrap();
        fail_point.off().await;
        // Every call's first command hangs, so only the deadline can have answered it.
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{cell}: {answer:?}");
        assert_honest(&answer, &cell);
        assert!(took >= request_timeout && took < HANG, "{cell}: answered after {took:?}, not by the deadline");
        assert_eq!(health_status, StatusCode::OK, "{cell}: /healthz while hanging");
        let health_took = health_answered - started;
        assert!(health_took < HANG, "{cell}: /healthz answered only after {health_took:?}, when the database let go");
        // The checks look at the state after the held command ran: a write that lands after the
        // 503 (an orphan session, an ending nobody was told of) must show.
        tokio::time::sleep_until((started + HANG + SETTLE).into()).await;
        scene.check(endpoint, &answer, before, &cell).await;
        scene.follow_up(endpoint, &answer, before, &cell).await;
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
    let a_cookie = scene.a.cookie.clone().unwrap();
    // Deletes, in order: the account, its sessions, the session layer's own (already gone), the
    // events, the counters. The second, the sessions', fails.
    let fail_point = common::fail_commands(&scene.db, &["delete"], TRANSIENT, doc! { "skip": 1 }).await;
    let answer = scene.a.call("delete_account", &[("password", PASSWORD)]).await;
    fail_point.off().await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(answer.message(), "Your account was deleted, but we could not confirm that all of its sessions ended. Please try again.");
    assert_eq!(scene.db.collection::<Document>("users").count_documents(doc! {}).await.unwrap(), 0, "no one can sign in any more");
    let mut late = Device::new(scene.app.clone(), FIREFOX);
    assert_eq!(late.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status, StatusCode::UNAUTHORIZED);
    assert!(scene.alive(&a_cookie, "account deletion stopped halfway").await, "this device keeps its session, to retry with");

    let retry = scene.a.call("delete_account", &[("password", PASSWORD)]).await;
    assert_eq!(retry.status, StatusCode::OK, "the same request again finishes the job: {retry:?}");
    assert!(retry.removes_cookie());
    assert_eq!(scene.db.collection::<Document>("sessions").count_documents(doc! {}).await.unwrap(), 0, "no session is left alive");
    assert!(!scene.alive(&scene.b_cookie, "after the retry").await, "B's cookie is dead");
    assert!(!scene.alive(&a_cookie, "after the retry").await, "A's cookie is dead");
}

#[tokio::test]
async fn an_account_deletion_whose_first_write_is_unconfirmed_signs_every_session_out() {
    let mut scene = scene(Duration::from_secs(5)).await;
    let a_cookie = scene.a.cookie.clone().unwrap();
    // The first delete, the account's, fails: it may or may not have been applied.
    let fail_point = common::fail_commands(&scene.db, &["delete"], TRANSIENT, doc! { "times": 1 }).await;
    let answer = scene.a.call("delete_account", &[("password", PASSWORD)]).await;
    fail_point.off().await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(
        answer.message(),
        "We could not confirm that your account was deleted, so all of its sessions were signed out to be safe. Sign in again: if you can, delete it again."
    );
    assert_eq!(scene.alice_sessions().await, 0, "every session was signed out");
    assert!(!scene.alive(&a_cookie, "unconfirmed deletion").await);
    assert!(!scene.alive(&scene.b_cookie, "unconfirmed deletion").await);

    let mut again = Device::new(scene.app.clone(), FIREFOX);
    assert_eq!(again.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);
    assert_eq!(again.call("delete_account", &[("password", PASSWORD)]).await.status, StatusCode::OK, "signing in and deleting again works");
    assert_eq!(scene.db.collection::<Document>("users").count_documents(doc! {}).await.unwrap(), 0);
    assert_eq!(scene.db.collection::<Document>("sessions").count_documents(doc! {}).await.unwrap(), 0);
}

#[tokio::test]
async fn a_password_change_whose_write_is_unconfirmed_signs_the_other_sessions_out() {
    let mut scene = scene(Duration::from_secs(5)).await;
    // Updates, in order: the throttle's bookkeeping, then the password. The second fails: it
    // may or may not have been applied.
    let fail_point = common::fail_commands(&scene.db, &["update"], TRANSIENT, doc! { "skip": 1 }).await;
    let answer = scene.a.call("change_password", &[("current", PASSWORD), ("new", NEW_PASSWORD)]).await;
    fail_point.off().await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(
        answer.message(),
        "We could not confirm that your password was changed, so your other sessions were signed out to be safe. Try again; if your current password is refused, the new one is in effect."
    );
    assert!(!scene.alive(&scene.b_cookie, "unconfirmed password change").await, "B is signed out to be safe");
    assert_eq!(scene.alice_sessions().await, 1, "only this device's session");
    let retry = scene.a.call("change_password", &[("current", PASSWORD), ("new", NEW_PASSWORD)]).await;
    assert_eq!(retry.status, StatusCode::OK, "the retry, as the message says, finishes: {retry:?}");
}
