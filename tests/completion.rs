//! Every ending completes: no deadline, race, corrupt document or stored hash may leave alive a
//! session the user was told is gone, or count a server failure against the user. Each test
//! forces its bad timing with the server's `failCommand` fail point (`blockConnection` to hold a
//! command past a deadline or across a race) and checks the documents in MongoDB afterwards.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, http::StatusCode};
use common::http::Device;
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use sessionguard::{clock::SystemClock, config::Config, server::router, state::AppState};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new password";
const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const ALICE: &str = "alice@example.com";

/// How long a held command is held: far past the deadlines below, short enough for the suite.
const HELD_FOR_MS: i32 = 1500;

/// The app on a fresh database, with its state kept so a test can wait for unfinished changes,
/// and a second instance on the same database with the default deadline, for setting the scene
/// (a short deadline must bite the request under test, not the registration before it).
struct World {
    db: common::TestDatabase,
    state: AppState,
    app: Router,
    patient: Router,
}

impl World {
    async fn new(configure: impl FnOnce(&mut Config)) -> Self {
        Self::on(common::fresh_database().await, configure)
    }

    fn on(db: common::TestDatabase, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = common::test_config(&db);
        configure(&mut config);
        let patient = router(common::app_state(db.clone()));
        let state = common::app_state_with_clock(db.clone(), config, Arc::new(SystemClock));
        Self { app: router(state.clone()), patient, db, state }
    }

    /// A new device from its own address (so per-address throttles never interfere).
    fn device(&self, last_octet: u8) -> Device {
        let mut device = Device::new(self.app.clone(), FIREFOX);
        device.ip = SocketAddr::from(([198, 51, 100, last_octet], 1));
        device
    }

    /// A device registered with `email` (through the patient instance), talking to the app.
    async fn registered(&self, email: &str) -> Device {
        let mut device = self.device(1).on(self.patient.clone());
        let answer = device.call("register", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        device.on(self.app.clone())
    }

    /// A device signed in as `email` (through the patient instance), talking to the app.
    async fn signed_in(&self, email: &str, last_octet: u8) -> Device {
        let mut device = self.device(last_octet).on(self.patient.clone());
        let answer = device.call("login", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        device.on(self.app.clone())
    }

    async fn password_hash(&self, email: &str) -> String {
        let user = self.db.collection::<Document>("users").find_one(doc! { "email": email }).await.unwrap().unwrap();
        user.get_str("password_hash").unwrap().to_owned()
    }

    async fn count(&self, collection: &str, filter: Document) -> u64 {
        self.db.collection::<Document>(collection).count_documents(filter).await.unwrap()
    }

    /// Waits until every change the server accepted has run to its end (at most 20 s).
    async fn changes_finished(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.state.unfinished.is_empty() {
            assert!(Instant::now() < deadline, "changes were still running after 20 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Whether `cookie` still signs in, asked as a browser (or a thief replaying it) would.
async fn cookie_works(device: &Device, cookie: &str) -> bool {
    let answer = device.holding(cookie).call("list_sessions", &[]).await;
    assert!(matches!(answer.status, StatusCode::OK | StatusCode::UNAUTHORIZED), "{answer:?}");
    answer.status == StatusCode::OK
}

#[tokio::test]
async fn a_password_change_held_past_its_deadline_runs_to_its_end_and_leaves_no_other_session() {
    let mut held_cells = 0;
    for command in ["update", "delete"] {
        for skip in 0.. {
            let cell = format!("`{command}` number {} of a password change held {HELD_FOR_MS} ms", skip + 1);
            let world = World::new(|config| config.request_timeout = Duration::from_millis(400)).await;
            let mut a = world.registered(ALICE).await;
            let b = world.signed_in(ALICE, 2).await;
            let b_cookie = b.cookie.clone().unwrap();
            let user_id = world.db.user_id(ALICE).await;
            let hash_before = world.password_hash(ALICE).await;

            let held = doc! { "failCommands": [command], "blockConnection": true, "blockTimeMS": HELD_FOR_MS };
            let fail_point = common::fail_point(&world.db, doc! { "skip": skip }, held).await;
            let answer = a.call("change_password", &[("current", PASSWORD), ("new", NEW_PASSWORD)]).await;
            fail_point.off().await;
            world.changes_finished().await;

            let changed = world.password_hash(ALICE).await != hash_before;
            if changed {
                assert!(
                    world.db.session_of_cookie(&b_cookie).await.is_none(),
                    "{cell}: the password changed, yet B's session document lives"
                );
                assert!(!cookie_works(&a, &b_cookie).await, "{cell}: the password changed, yet B's cookie still signs in");
            }
            if answer.status == StatusCode::OK {
                assert!(changed, "{cell}: answered 200 but the password is unchanged");
                assert_eq!(world.count("sessions", doc! { "user_id": &user_id }).await, 1, "{cell}: only A's new session");
                break;
            }
            held_cells += 1;
            assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{cell}: {answer:?}");
            assert_eq!(
                answer.message(),
                "The server is taking long to confirm this change. It may still complete: reload the page in a moment to see whether it did.",
                "{cell}"
            );
            assert!(changed, "{cell}: a change held past its deadline still runs to its end");
            // A's new session went out only in the answer that was never delivered: it is ended too.
            assert_eq!(world.count("sessions", doc! { "user_id": &user_id }).await, 0, "{cell}: no session that nobody holds");
            assert!(!cookie_works(&a, a.cookie.as_deref().unwrap()).await, "{cell}: A's old cookie was cycled away");
            assert!(skip < 10, "{cell}: the fail point never held a command");
        }
    }
    assert!(held_cells >= 4, "the fail point must hold several steps of the sequence: only {held_cells} did");
}

#[tokio::test]
async fn a_sign_in_answered_after_its_deadline_leaves_no_session_that_nobody_holds() {
    let world = World::new(|config| config.request_timeout = Duration::from_millis(400)).await;
    let a = world.registered(ALICE).await;
    let user_id = world.db.user_id(ALICE).await;
    let held = doc! { "failCommands": ["insert"], "blockConnection": true, "blockTimeMS": HELD_FOR_MS };
    let fail_point = common::fail_point(&world.db, doc! { "times": 1 }, held).await;
    let mut late = world.device(3);
    let answer = late.call("login", &[("email", ALICE), ("password", PASSWORD)]).await;
    fail_point.off().await;
    world.changes_finished().await;

    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert!(late.cookie.is_none(), "a 503 hands out no cookie");
    let sessions = world.db.sessions_of(ALICE).await;
    assert_eq!(sessions.len(), 1, "only A's session: the late sign-in's session was ended, not orphaned: {sessions:?}");
    assert!(world.db.session_of_cookie(a.cookie.as_deref().unwrap()).await.is_some());
    assert_eq!(world.count("sessions", doc! { "user_id": &user_id }).await, 1);
}

#[tokio::test]
async fn sign_ins_racing_an_account_deletion_leave_no_session_and_no_working_cookie() {
    let world = World::new(|config| {
        config.hash_concurrency = 32;
        config.request_timeout = Duration::from_secs(30);
    })
    .await;
    let mut a = world.registered(ALICE).await;
    let user_id = world.db.user_id(ALICE).await;
    // Every delete is held, so the deletion's steps stretch over seconds while sign-ins land
    // between them.
    let held = doc! { "failCommands": ["delete"], "blockConnection": true, "blockTimeMS": 300 };
    let fail_point = common::fail_point(&world.db, doc! { "times": 1000 }, held).await;

    let deletion = tokio::spawn(async move { a.call("delete_account", &[("password", PASSWORD)]).await });
    let mut sign_ins = Vec::new();
    for attempt in 0..20u8 {
        let mut device = world.device(10 + attempt);
        sign_ins.push(tokio::spawn(async move {
            let answer = device.call("login", &[("email", ALICE), ("password", PASSWORD)]).await;
            (answer, device.cookie)
        }));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deleted = deletion.await.unwrap();
    let mut cookies = Vec::new();
    for sign_in in sign_ins {
        let (answer, cookie) = sign_in.await.unwrap();
        if answer.status == StatusCode::OK {
            cookies.push(cookie.expect("a successful sign-in sets a cookie"));
        }
    }
    fail_point.off().await;
    world.changes_finished().await;

    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
    assert_eq!(world.count("users", doc! {}).await, 0);
    println!("{} sign-ins succeeded while the account was being deleted", cookies.len());
    assert_eq!(world.count("sessions", doc! { "user_id": &user_id }).await, 0, "no session of the deleted account survives");
    let probe = world.device(99);
    for cookie in &cookies {
        assert!(world.db.session_of_cookie(cookie).await.is_none(), "a racing sign-in's session document survived");
        assert!(!cookie_works(&probe, cookie).await, "a racing sign-in's cookie still works");
    }
}

#[tokio::test]
async fn a_stored_hash_that_cannot_be_checked_answers_503_and_counts_nothing_against_the_account() {
    let world = World::new(|_| {}).await;
    world.registered(ALICE).await;
    world
        .db
        .collection::<Document>("users")
        .update_one(doc! { "email": ALICE }, doc! { "$set": { "password_hash": "not a PHC string" } })
        .await
        .unwrap();

    for attempt in 0..6 {
        let mut device = world.device(2);
        let answer = device.call("login", &[("email", ALICE), ("password", PASSWORD)]).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "attempt {attempt}: {answer:?}");
        assert_eq!(answer.message(), "Passwords cannot be checked right now. Please try again later.");
        assert!(device.cookie.is_none());
    }
    let counters: Vec<Document> =
        world.db.collection::<Document>("login_throttle").find(doc! {}).await.unwrap().try_collect().await.unwrap();
    let sign_in_counters: Vec<&Document> = counters.iter().filter(|c| !c.get_str("_id").unwrap().starts_with("register:")).collect();
    assert_eq!(sign_in_counters.len(), 3, "the attempts were reserved on the three sign-in counters: {counters:?}");
    for counter in sign_in_counters {
        let count = match counter.get("count") {
            Some(Bson::Int32(n)) => i64::from(*n),
            Some(Bson::Int64(n)) => *n,
            other => panic!("a counter without a count: {other:?}"),
        };
        assert_eq!(count, 0, "a server failure is never counted as a failed sign-in: {counter:?}");
    }
    assert!(world.db.events_of(ALICE, "failed_login").await.is_empty(), "and never recorded as one");
    assert_eq!(world.count("sessions", doc! {}).await, 1, "only the registration's session");
}

#[tokio::test]
async fn a_session_document_that_cannot_be_decoded_ends_that_session_and_is_not_an_outage() {
    let world = World::new(|_| {}).await;
    let mut a = world.registered(ALICE).await;
    let mut b = world.signed_in(ALICE, 2).await;
    let a_cookie = a.cookie.clone().unwrap();
    let key = common::session_key(&a_cookie);
    world
        .db
        .collection::<Document>("sessions")
        .update_one(doc! { "_id": &key }, doc! { "$set": { "data": "not a document" } })
        .await
        .unwrap();

    let answer = a.call("list_sessions", &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "a corrupt session is an ended one: {answer:?}");
    assert_eq!(answer.message(), "Your session ended. Please sign in again.");
    assert!(world.db.session_of_cookie(&a_cookie).await.is_none(), "and its document is gone");
    assert_eq!(b.call("list_sessions", &[]).await.status, StatusCode::OK, "other sessions are untouched");
}

#[tokio::test]
async fn a_known_email_and_an_unknown_one_cost_the_same_commands_and_one_hash() {
    let (db, log) = common::fresh_database_logging_commands().await;
    let world = World::on(db, |_| {});
    world.registered(ALICE).await;

    let attempt = async |email: &str| {
        let (mark, runs) = (log.mark(), world.state.passwords.runs());
        let answer = world.device(7).call("login", &[("email", email), ("password", "a wrong password")]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
        assert_eq!(answer.message(), "That email and password do not match an account.");
        let commands: Vec<(String, String)> = log.since(mark).into_iter().map(|c| (c.name, c.collection)).collect();
        (commands, world.state.passwords.runs() - runs)
    };
    let (known, known_hashes) = attempt(ALICE).await;
    let (unknown, unknown_hashes) = attempt("nobody@example.com").await;
    assert_eq!(known, unknown, "the same commands, in the same order, for a known and an unknown email");
    assert!(known.iter().any(|(name, _)| name == "find"), "the account lookup was observed: {known:?}");
    assert_eq!((known_hashes, unknown_hashes), (1, 1), "exactly one Argon2 run on each path");
}

#[tokio::test]
async fn a_sign_in_during_an_account_deletion_is_refused_once_the_account_is_gone() {
    let world = World::new(|_| {}).await;
    let mut a = world.registered(ALICE).await;
    let user_id = world.db.user_id(ALICE).await;
    // Held after its first step: the account is deleted, its sessions not yet ended.
    let held = world.state.after_account_deleted.arm();
    let deletion = tokio::spawn(async move { a.call("delete_account", &[("password", PASSWORD)]).await });
    held.reached().await;

    let mut late = world.device(3);
    let answer = late.call("login", &[("email", ALICE), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "no sign-in once the deletion's first step is done: {answer:?}");
    assert!(late.cookie.is_none());
    held.release().await;
    assert_eq!(deletion.await.unwrap().status, StatusCode::OK);
    assert_eq!(world.count("sessions", doc! { "user_id": &user_id }).await, 0, "no session of the deleted account");
}

#[tokio::test]
async fn a_sign_in_past_its_password_check_when_the_account_goes_ends_its_own_session() {
    let world = World::new(|_| {}).await;
    let mut a = world.registered(ALICE).await;
    let user_id = world.db.user_id(ALICE).await;
    // The sign-in has checked the password against the account as it was; then the account goes.
    let held = world.state.after_password_check.arm();
    let mut late = world.device(3);
    let sign_in = tokio::spawn(async move {
        let answer = late.call("login", &[("email", ALICE), ("password", PASSWORD)]).await;
        (answer, late.cookie)
    });
    held.reached().await;
    assert_eq!(a.call("delete_account", &[("password", PASSWORD)]).await.status, StatusCode::OK);
    held.release().await;

    let (answer, cookie) = sign_in.await.unwrap();
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "its re-check saw the account gone: {answer:?}");
    assert!(cookie.is_none(), "and it hands out no cookie");
    assert_eq!(world.count("sessions", doc! { "user_id": &user_id }).await, 0, "the session it wrote was ended again");
}

#[tokio::test]
async fn a_password_change_racing_an_account_deletion_leaves_no_session() {
    let (db, log) = common::fresh_database_logging_commands().await;
    let world = World::on(db, |config| config.request_timeout = Duration::from_secs(30));
    let mut a = world.registered(ALICE).await;
    let mut b = world.signed_in(ALICE, 2).await;
    let user_id = world.db.user_id(ALICE).await;
    // B's password change is held at its first delete (ending the other sessions), after its
    // new password is stored; A deletes the account meanwhile.
    let held = doc! { "failCommands": ["delete"], "blockConnection": true, "blockTimeMS": HELD_FOR_MS };
    let fail_point = common::fail_point(&world.db, doc! { "times": 1 }, held).await;
    let mark = log.mark();
    let change = tokio::spawn(async move {
        let answer = b.call("change_password", &[("current", PASSWORD), ("new", NEW_PASSWORD)]).await;
        (answer, b)
    });
    log.wait_for(mark, 1, "delete", "sessions", Duration::from_secs(10)).await;
    // B's new password is stored by now; A (the owner, or the thief) deletes with it.
    let deleted = a.call("delete_account", &[("password", NEW_PASSWORD)]).await;
    let (changed, b) = change.await.unwrap();
    fail_point.off().await;
    world.changes_finished().await;

    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
    assert_ne!(changed.status, StatusCode::OK, "the change cannot sign B in to a deleted account: {changed:?}");
    assert_eq!(world.count("sessions", doc! { "user_id": &user_id }).await, 0, "no session of the deleted account survives");
    if let Some(cookie) = &b.cookie {
        assert!(!cookie_works(&b, cookie).await, "B's cookie signs in to nothing");
    }
}
