//! The server functions through the real router, in process, against the test MongoDB.
//! Every test checks the documents in MongoDB afterwards.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use common::http::{Answer, Device};
use mongodb::bson::{Document, doc};
use sessionguard::{clock::SystemClock, server::router};

const PASSWORD: &str = "correct horse battery";
const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

struct World {
    db: common::TestDatabase,
    app: Router,
}

impl World {
    async fn new() -> Self {
        let db = common::fresh_database().await;
        let app = router(common::app_state(db.clone()));
        Self { db, app }
    }

    fn device(&self, user_agent: &str) -> Device {
        Device::new(self.app.clone(), user_agent)
    }

    async fn registered(&self, email: &str) -> Device {
        let mut device = self.device(FIREFOX);
        let answer = device.call("register", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        device
    }

    async fn signed_in(&self, email: &str, user_agent: &str) -> Device {
        let mut device = self.device(user_agent);
        let answer = device.call("login", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        device
    }

    async fn all_sessions(&self) -> u64 {
        self.db.collection::<Document>("sessions").count_documents(doc! {}).await.unwrap()
    }
}

fn handles(answer: &Answer) -> Vec<(String, bool)> {
    answer.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["handle"].as_str().unwrap().to_owned(), r["current"].as_bool().unwrap()))
        .collect()
}

#[tokio::test]
async fn register_and_login_create_exactly_one_session_on_a_new_id() {
    let w = World::new().await;
    let mut device = w.registered("Alice@Example.com ").await;
    let registered_cookie = device.cookie.clone().expect("registering signs in");
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1);

    let answer = device.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["email"], "alice@example.com");
    let sessions = w.db.sessions_of("alice@example.com").await;
    assert_eq!(sessions.len(), 1, "logging in again replaces the session instead of adding one");
    assert_ne!(device.cookie.as_ref().unwrap(), &registered_cookie, "a new id on login");
    assert_eq!(sessions[0].get_str("user_agent").unwrap(), FIREFOX);
    assert_eq!(sessions[0].get_str("ip").unwrap(), "192.0.2.10");

    let mut old = device.clone();
    old.cookie = Some(registered_cookie);
    assert_eq!(old.call("list_sessions", &[]).await.status, StatusCode::UNAUTHORIZED, "the pre-login id is dead");
    assert_eq!(w.db.events_of("alice@example.com", "login").await.len(), 1);
}

#[tokio::test]
async fn a_cookie_planted_before_login_is_not_adopted() {
    let w = World::new().await;
    w.registered("alice@example.com").await;
    let mut victim = w.device(FIREFOX);
    let planted = "sessionguard=AAAAAAAAAAAAAAAAAAAAAA";
    victim.cookie = Some(planted.into());
    assert_eq!(victim.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);
    assert_ne!(victim.cookie.as_deref(), Some(planted));
    let mut attacker = w.device(FIREFOX);
    attacker.cookie = Some(planted.into());
    assert_eq!(attacker.call("me", &[]).await.json, serde_json::Value::Null, "the planted id is not signed in");
}

#[tokio::test]
async fn a_wrong_password_is_refused_generically_and_recorded() {
    let w = World::new().await;
    let mut registered = w.registered("alice@example.com").await;
    registered.call("logout", &[]).await;

    let mut device = w.device(FIREFOX);
    let wrong = device.call("login", &[("email", "alice@example.com"), ("password", "wrong password")]).await;
    let unknown = device.call("login", &[("email", "nobody@example.com"), ("password", "wrong password")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.message(), unknown.message(), "no hint whether the account exists");
    assert!(device.cookie.is_none());
    assert!(w.db.sessions_of("alice@example.com").await.is_empty());
    assert_eq!(w.db.events_of("alice@example.com", "failed_login").await.len(), 1);
}

#[tokio::test]
async fn the_sixth_failure_in_the_window_is_throttled() {
    let w = World::new().await;
    w.registered("alice@example.com").await;
    let mut device = w.device(FIREFOX);
    for _ in 0..5 {
        let answer = device.call("login", &[("email", "alice@example.com"), ("password", "wrong password")]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let answer = device.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits: {answer:?}");
    let retry_after: u64 = answer.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after));
    assert!(answer.message().contains("Try again in"));
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1, "only the registration session");
}

#[tokio::test]
async fn logout_deletes_the_document_removes_the_cookie_and_kills_the_old_cookie() {
    let w = World::new().await;
    let mut device = w.registered("alice@example.com").await;
    let old_cookie = device.cookie.clone();

    let answer = device.call("logout", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.removes_cookie(), "a removal cookie is sent: {:?}", answer.set_cookies());
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert!(w.db.sessions_of("alice@example.com").await.is_empty());

    let mut replay = w.device(FIREFOX);
    replay.cookie = old_cookie;
    let answer = replay.call("list_sessions", &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json["error"], "SessionEnded");
    assert_eq!(answer.message(), "Your session ended. Please sign in again.");
    let mut stranger = w.device(FIREFOX);
    assert_eq!(stranger.call("list_sessions", &[]).await.json["error"], "NotSignedIn", "no cookie: a plain sign-in request");
    assert_eq!(w.all_sessions().await, 0, "the rejected request did not create a session");
    assert_eq!(w.db.events_of("alice@example.com", "logout").await.len(), 1);
}

#[tokio::test]
async fn who_is_signed_in_comes_from_the_session_and_older_sessions_still_answer() {
    let w = World::new().await;
    let mut device = w.registered("alice@example.com").await;
    let session = w.db.sessions_of("alice@example.com").await.pop().unwrap();
    assert_eq!(
        session.get_document("data").unwrap().get_str("email").unwrap(),
        "alice@example.com",
        "sign-in keeps the email in the session"
    );
    assert_eq!(device.call("me", &[]).await.json["email"], "alice@example.com");

    // A session written before the email travelled in it: `me` reads the account instead.
    let sessions = w.db.collection::<Document>("sessions");
    sessions.update_one(doc! { "_id": session.get_str("_id").unwrap() }, doc! { "$unset": { "data.email": "" } }).await.unwrap();
    assert_eq!(device.call("me", &[]).await.json["email"], "alice@example.com");
}

#[tokio::test]
async fn logging_out_a_timed_out_session_deletes_it_without_a_logout_event() {
    let w = World::new().await;
    let mut device = w.registered("alice@example.com").await;
    let past = mongodb::bson::DateTime::from_millis(mongodb::bson::DateTime::now().timestamp_millis() - 3_600_000);
    w.db.collection::<Document>("sessions")
        .update_many(doc! {}, doc! { "$set": { "expires_at": past, "last_seen_at": past } })
        .await
        .unwrap();

    let answer = device.call("logout", &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert!(answer.removes_cookie());
    assert_eq!(w.all_sessions().await, 0, "the expired document is gone too");
    assert!(
        w.db.events_of("alice@example.com", "logout").await.is_empty(),
        "a session that had already timed out was not logged out by anyone"
    );
}

#[tokio::test]
async fn sign_out_others_keeps_only_this_device() {
    let w = World::new().await;
    w.registered("alice@example.com").await;
    let mut a = w.signed_in("alice@example.com", FIREFOX).await;
    let mut b = w.signed_in("alice@example.com", PHONE).await;
    let _c = w.signed_in("alice@example.com", FIREFOX).await;
    let mut bob = w.registered("bob@example.com").await;
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 4);

    let answer = a.call("sign_out_others", &[]).await;
    assert_eq!(answer.json, 3);
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1);
    assert_eq!(handles(&a.call("list_sessions", &[]).await).len(), 1);
    assert_eq!(b.call("list_sessions", &[]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bob.call("list_sessions", &[]).await.status, StatusCode::OK, "other users are untouched");
}

#[tokio::test]
async fn logout_everywhere_leaves_no_session_at_all() {
    let w = World::new().await;
    let mut a = w.registered("alice@example.com").await;
    let mut b = w.signed_in("alice@example.com", PHONE).await;
    w.signed_in("alice@example.com", FIREFOX).await;

    let answer = a.call("logout_everywhere", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json, 3);
    assert!(answer.removes_cookie());
    assert!(w.db.sessions_of("alice@example.com").await.is_empty());
    assert_eq!(b.call("list_sessions", &[]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(w.db.events_of("alice@example.com", "logout_everywhere").await[0].get_i64("sessions_ended").unwrap(), 3);
}

#[tokio::test]
async fn revoke_ends_an_own_session_and_nothing_of_anyone_else() {
    let w = World::new().await;
    let mut a = w.registered("alice@example.com").await;
    let mut b = w.signed_in("alice@example.com", PHONE).await;
    let mut bob = w.registered("bob@example.com").await;

    let listed = handles(&a.call("list_sessions", &[]).await);
    let other = listed.iter().find(|(_, current)| !current).unwrap().0.clone();
    let bobs = handles(&bob.call("list_sessions", &[]).await)[0].0.clone();

    let foreign = a.call("revoke_session", &[("handle", &bobs)]).await;
    let unknown = a.call("revoke_session", &[("handle", "ffffffffffffffffffffffff")]).await;
    assert_eq!(foreign.status, StatusCode::OK);
    assert_eq!(foreign.json, unknown.json, "another user's handle answers like an unknown one");
    assert_eq!(foreign.json["ended"], false);
    assert_eq!(w.db.sessions_of("bob@example.com").await.len(), 1);
    assert_eq!(bob.call("list_sessions", &[]).await.status, StatusCode::OK);

    let answer = a.call("revoke_session", &[("handle", &other)]).await;
    assert_eq!(answer.json, serde_json::json!({ "ended": true, "was_current": false }));
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1);
    assert_eq!(b.call("list_sessions", &[]).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoking_the_current_handle_is_a_logout() {
    let w = World::new().await;
    let mut a = w.registered("alice@example.com").await;
    let own = handles(&a.call("list_sessions", &[]).await)[0].0.clone();
    let answer = a.call("revoke_session", &[("handle", &own)]).await;
    assert_eq!(answer.json, serde_json::json!({ "ended": true, "was_current": true }));
    assert!(answer.removes_cookie());
    assert!(w.db.sessions_of("alice@example.com").await.is_empty());
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_and_cycles_this_one() {
    let w = World::new().await;
    let mut a = w.registered("alice@example.com").await;
    let mut b = w.signed_in("alice@example.com", PHONE).await;
    let before = a.cookie.clone();

    let wrong = a.call("change_password", &[("current", "not my password"), ("new", "a brand new password")]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 2, "a wrong current password changes nothing");

    let answer = a.call("change_password", &[("current", PASSWORD), ("new", "a brand new password")]).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.json, 1);
    assert_ne!(a.cookie, before, "this device moved to a new session id");
    let sessions = w.db.sessions_of("alice@example.com").await;
    assert_eq!(sessions.len(), 1);
    assert_eq!(a.call("list_sessions", &[]).await.status, StatusCode::OK);
    assert_eq!(b.call("list_sessions", &[]).await.status, StatusCode::UNAUTHORIZED);

    let mut fresh = w.device(FIREFOX);
    assert_eq!(fresh.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(fresh.call("login", &[("email", "alice@example.com"), ("password", "a brand new password")]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn cross_site_requests_are_refused_before_touching_anything() {
    let w = World::new().await;
    let mut a = w.registered("alice@example.com").await;
    let b = w.signed_in("alice@example.com", PHONE).await;
    let handle = handles(&a.call("list_sessions", &[]).await).into_iter().find(|(_, c)| !c).unwrap().0;
    let users_before = w.db.collection::<Document>("users").count_documents(doc! {}).await.unwrap();

    let calls: [(&str, Vec<(&str, &str)>); 7] = [
        ("login", vec![("email", "alice@example.com"), ("password", PASSWORD)]),
        ("register", vec![("email", "mallory@example.com"), ("password", PASSWORD)]),
        ("logout", vec![]),
        ("logout_everywhere", vec![]),
        ("sign_out_others", vec![]),
        ("revoke_session", vec![("handle", &handle)]),
        ("change_password", vec![("current", PASSWORD), ("new", "mallory's password")]),
    ];
    for (endpoint, form) in &calls {
        for headers in [&[("origin", "https://evil.example")][..], &[("sec-fetch-site", "cross-site")][..], &[("origin", "null")][..]] {
            let answer = a.call_with(endpoint, form, headers).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{endpoint} with {headers:?}");
            assert_eq!(answer.json["error"], "CrossSite");
            assert!(answer.set_cookies().is_empty());
        }
    }
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 2, "no session ended");
    assert_eq!(w.db.collection::<Document>("users").count_documents(doc! {}).await.unwrap(), users_before);
    assert_eq!(a.call("list_sessions", &[]).await.status, StatusCode::OK);
    drop(b);
}

#[tokio::test]
async fn server_functions_are_post_only_and_bound_their_input() {
    let w = World::new().await;
    let mut device = w.registered("alice@example.com").await;
    let get = device.send(Request::get("/api/logout").header("host", common::http::HOST).body(Body::empty()).unwrap()).await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1);

    let huge = "x".repeat(64 * 1024);
    let answer = device.call("login", &[("email", "alice@example.com"), ("password", &huge)]).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);

    let answer = device.call("login", &[("email", "alice@example.com")]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "a missing field is the client's mistake: {answer:?}");
    let answer = device.call("register", &[("email", "not-an-email"), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.message(), "Enter an email address like name@example.com.");
    assert_eq!(answer.json["error"]["Invalid"]["field"], "email");
    let answer = device.call("register", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn malformed_and_forged_cookies_are_just_signed_out() {
    let w = World::new().await;
    let mut device = w.registered("alice@example.com").await;
    for forged in
        ["sessionguard=not-base64!!", "sessionguard=", "sessionguard=AAAAAAAAAAAAAAAAAAAAAA", &format!("sessionguard={}", "A".repeat(4000))]
    {
        device.cookie = Some(forged.to_owned());
        let answer = device.call("list_sessions", &[]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{forged}");
        let expected = if forged == "sessionguard=" { "NotSignedIn" } else { "SessionEnded" };
        assert_eq!(answer.json["error"], expected, "{forged}");
    }
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1);
}

#[tokio::test]
async fn when_the_database_is_gone_logout_says_so_and_keeps_the_session() {
    let w = World::new().await;
    let mut device = w.registered("alice@example.com").await;

    let down_db = common::unreachable_database(Duration::from_millis(500)).await;
    let mut config = common::test_config(&w.db);
    config.server_selection_timeout = Duration::from_millis(500);
    let down = router(common::app_state_with_clock(down_db, config, Arc::new(SystemClock)));
    let mut cut_off = device.on(down);

    for endpoint in ["logout", "logout_everywhere", "sign_out_others"] {
        let answer = cut_off.call(endpoint, &[]).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{endpoint}: {answer:?}");
        assert!(!answer.removes_cookie(), "{endpoint} must not pretend");
    }
    let answer = cut_off.call("logout", &[]).await;
    assert_eq!(answer.message(), "We could not confirm you were signed out on the server. Please try again.");
    let answer = cut_off.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);

    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1, "the session is intact, so the user can retry");
    assert_eq!(device.call("logout", &[]).await.status, StatusCode::OK);
    assert!(w.db.sessions_of("alice@example.com").await.is_empty());
}

/// How many requests are in flight during the logout: fewer than the driver's 10 pooled
/// connections, so that the logout is not queued behind their held writes.
const IN_FLIGHT: usize = 6;

#[tokio::test]
async fn requests_in_flight_during_logout_cannot_bring_the_session_back() {
    let (db, commands) = common::fresh_database_logging_commands().await;
    let mut config = common::test_config(&db);
    // Every request that loads the session also writes it back (the touch, an `update`): the
    // write that a store which upserts would turn into a resurrection.
    config.touch_interval = Duration::ZERO;
    let app = router(common::app_state_with_clock(db.clone(), config, Arc::new(SystemClock)));
    let mut device = Device::new(app, FIREFOX);
    assert_eq!(device.call("register", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);
    let cookie = device.cookie.clone().unwrap();

    // The database holds each in-flight request's write until long after the logout: each
    // request has read the live session, and its write arrives only once it is deleted.
    let mark = commands.mark();
    let held = doc! { "failCommands": ["update"], "blockConnection": true, "blockTimeMS": 2000 };
    let fail_point = common::fail_point(&db, doc! { "times": i32::try_from(IN_FLIGHT).unwrap() }, held).await;
    let in_flight: Vec<_> = (0..IN_FLIGHT)
        .map(|i| {
            let mut tab = device.clone();
            let endpoint = if i % 2 == 0 { "me" } else { "list_sessions" };
            tokio::spawn(async move { tab.call(endpoint, &[]).await.status })
        })
        .collect();
    commands.wait_for(mark, IN_FLIGHT, "update", "sessions", Duration::from_secs(10)).await;
    let logout = device.call("logout", &[]).await;
    fail_point.off().await;
    assert_eq!(logout.status, StatusCode::OK, "{logout:?}");
    assert!(db.session_of_cookie(&cookie).await.is_none(), "the logout's answer comes after the delete");

    for request in in_flight {
        assert_eq!(request.await.unwrap(), StatusCode::OK, "each request in flight had read the live session");
    }
    assert!(db.session_of_cookie(&cookie).await.is_none(), "a write that arrived after the logout brought the session back");
    assert_eq!(db.collection::<Document>("sessions").count_documents(doc! {}).await.unwrap(), 0);
    assert_eq!(device.holding(&cookie).call("list_sessions", &[]).await.status, StatusCode::UNAUTHORIZED, "the old cookie is dead");
}

#[tokio::test]
async fn a_secure_deployment_sets_a_host_prefixed_secure_cookie() {
    let db = common::fresh_database().await;
    let mut config = common::test_config(&db);
    config.cookie_secure = true;
    let app = router(common::app_state_with_clock(db.clone(), config, Arc::new(SystemClock)));
    let mut device = Device::new(app, FIREFOX);
    let answer = device.call("register", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let cookie = answer.set_cookies().into_iter().find(|c| c.starts_with("__Host-sessionguard=")).expect("a __Host- cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    assert!(!cookie.contains("Domain"), "__Host- cookies carry no Domain: {cookie}");

    let answer = device.call("logout", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.removes_cookie(), "logout removes the __Host- cookie: {:?}", answer.set_cookies());
    let removal = answer.set_cookies().into_iter().find(|c| c.starts_with("__Host-sessionguard=;")).unwrap();
    // A browser ignores a __Host- Set-Cookie without Secure, a removal included.
    for attribute in ["Secure", "Path=/", "Max-Age=0", "HttpOnly", "SameSite=Lax"] {
        assert!(removal.contains(attribute), "{attribute} missing from the removal cookie {removal}");
    }
    assert!(device.cookie.is_none());
    assert_eq!(db.collection::<Document>("sessions").count_documents(doc! {}).await.unwrap(), 0);
}

#[tokio::test]
async fn the_development_cookie_is_http_only_and_same_site() {
    let w = World::new().await;
    let mut device = w.device(FIREFOX);
    let answer = device.call("register", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
    let cookie = answer.set_cookies().into_iter().find(|c| c.starts_with("sessionguard=")).unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP in development: {cookie}");
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled() {
    let w = World::new().await;
    let mut a = w.registered("alice@example.com").await;
    for _ in 0..5 {
        let answer = a.call("change_password", &[("current", "a wrong guess"), ("new", "a brand new password")]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    }
    let answer = a.call("change_password", &[("current", PASSWORD), ("new", "a brand new password")]).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    let user = w.db.collection::<Document>("users").find_one(doc! { "email": "alice@example.com" }).await.unwrap().unwrap();
    assert_eq!(user.get_datetime("password_changed_at").unwrap(), user.get_datetime("created_at").unwrap(), "the password did not change");
}

#[tokio::test]
async fn deleting_the_account_ends_every_session_then_removes_events_counters_and_the_user() {
    let w = World::new().await;
    let mut a = w.registered("alice@example.com").await;
    let mut b = w.signed_in("alice@example.com", PHONE).await;
    let mut bob = w.registered("bob@example.com").await;
    let mut guesser = w.device(FIREFOX);
    assert_eq!(
        guesser.call("login", &[("email", "alice@example.com"), ("password", "a wrong guess")]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let user_id = w.db.user_id("alice@example.com").await;

    let wrong = a.call("delete_account", &[("password", "not my password")]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json["error"]["Invalid"]["field"], "password");
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 2, "a wrong password deletes nothing");

    let answer = a.call("delete_account", &[("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.json["sessions_ended"], 2);
    assert!(answer.json["events_removed"].as_u64().unwrap() >= 3, "registered, login, failed login: {answer:?}");
    assert!(answer.removes_cookie());
    let count = |collection: &'static str, filter: Document| {
        let db = w.db.clone();
        async move { db.collection::<Document>(collection).count_documents(filter).await.unwrap() }
    };
    assert_eq!(count("users", doc! { "email": "alice@example.com" }).await, 0);
    assert_eq!(count("sessions", doc! { "user_id": &user_id }).await, 0);
    assert_eq!(count("security_events", doc! { "user_id": &user_id }).await, 0);
    assert_eq!(count("login_throttle", doc! { "_id": { "$regex": "alice@example.com" } }).await, 0, "its throttle counters are gone");
    assert_eq!(b.call("list_sessions", &[]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bob.call("list_sessions", &[]).await.status, StatusCode::OK, "other accounts are untouched");
    assert_eq!(
        w.device(FIREFOX).call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status,
        StatusCode::UNAUTHORIZED
    );
}
