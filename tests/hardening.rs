//! The holes a security review found, each tried the way an attacker would, through the real
//! router against the test MongoDB. SECURITY.md names these tests requirement by requirement.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{net::SocketAddr, sync::Arc};

use axum::{Router, http::StatusCode};
use base64::Engine;
use common::http::{Answer, Device, HOST};
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use sessionguard::{clock::SystemClock, config::Config, server::router, state::AppState};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new password";
const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// One app on a fresh database, with the test configuration changed by `adjust`.
struct World {
    db: common::TestDatabase,
    state: AppState,
    app: Router,
}

impl World {
    async fn new() -> Self {
        Self::with(|_| {}).await
    }

    async fn with(adjust: impl FnOnce(&mut Config)) -> Self {
        let db = common::fresh_database().await;
        let mut config = common::test_config(&db);
        adjust(&mut config);
        let state = common::app_state_with_clock(db.clone(), config, Arc::new(SystemClock));
        Self { app: router(state.clone()), state, db }
    }

    /// A device at client address `ip` (the socket peer).
    fn device_at(&self, ip: [u8; 4]) -> Device {
        let mut device = Device::new(self.app.clone(), FIREFOX);
        device.ip = SocketAddr::from((ip, 40000));
        device
    }

    async fn register(&self, email: &str) {
        let mut device = self.device_at([192, 0, 2, 200]);
        let answer = device.call("register", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    }
}

async fn login(device: &mut Device, email: &str, password: &str) -> Answer {
    device.call("login", &[("email", email), ("password", password)]).await
}

#[tokio::test]
async fn concurrent_wrong_guesses_cannot_race_past_the_throttle() {
    // Enough hashing slots that no guess is turned away as busy: only the throttle decides.
    let w = World::with(|c| {
        c.hash_concurrency = 64;
        // Only the per-account-and-address limit decides.
        c.max_failures_per_account = 1000;
        c.max_failures_per_ip = 1000;
        // Fifty password checks at once take seconds on a small machine: no deadline decides.
        c.request_timeout = std::time::Duration::from_secs(120);
    })
    .await;
    w.register("alice@example.com").await;
    let attacker = w.device_at([203, 0, 113, 9]);
    let guesses: Vec<_> = (0..50)
        .map(|i| {
            let mut device = attacker.clone();
            tokio::spawn(async move { login(&mut device, "alice@example.com", &format!("guess number {i}")).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        let answer = guess.await.unwrap();
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&answer.status),
            "a guess is checked (401) or refused (429), nothing else: {answer:?}"
        );
        statuses.push(answer.status);
    }
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let limit = usize::try_from(w.state.config.max_failures_per_account_and_ip).unwrap();
    // At most the limit, and at least one: a throttle that refuses everything proves nothing.
    // (Exactly the limit on MongoDB; SecantusDB's `findAndModify` may answer two concurrent
    // reservations with the same later count, so fewer can pass there, never more.)
    assert!((1..=limit).contains(&checked), "1 to {limit} guesses may reach the password check, {checked} did: {statuses:?}");
    let events = w.db.events_of("alice@example.com", "failed_login").await;
    assert_eq!(events.len(), checked, "one failed_login event per guess checked, and none for a refused one");
}

#[tokio::test]
async fn an_attacker_on_one_address_cannot_lock_the_owner_out() {
    let w = World::new().await;
    w.register("alice@example.com").await;
    let mut attacker = w.device_at([203, 0, 113, 9]);
    for _ in 0..5 {
        assert_eq!(login(&mut attacker, "alice@example.com", "a wrong guess").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login(&mut attacker, "alice@example.com", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's address is blocked"
    );
    let mut owner = w.device_at([198, 51, 100, 20]);
    let answer = login(&mut owner, "alice@example.com", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK, "the owner, elsewhere, still signs in: {answer:?}");
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 2, "registration and the owner's sign-in");
}

#[tokio::test]
async fn refused_attempts_from_one_address_never_raise_the_accounts_counter() {
    // One address keeps trying long after it is refused. Counted against the account, its
    // refusals alone would pass the account's limit and lock the owner out from everywhere.
    let w = World::with(|c| c.max_failures_per_account = 10).await;
    w.register("alice@example.com").await;
    let mut attacker = w.device_at([203, 0, 113, 9]);
    for _ in 0..30 {
        let status = login(&mut attacker, "alice@example.com", "a wrong guess").await.status;
        assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS, "{status}");
    }
    let mut owner = w.device_at([198, 51, 100, 20]);
    let answer = login(&mut owner, "alice@example.com", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK, "the owner, elsewhere, still signs in: {answer:?}");
    let account =
        w.db.collection::<Document>("login_throttle").find_one(doc! { "_id": "account:alice@example.com" }).await.unwrap().unwrap();
    assert!(account.get_i64("count").unwrap() <= 5, "only the attempts that reached the password check count: {account}");
}

#[tokio::test]
async fn guesses_spread_over_many_addresses_still_meet_the_account_limit() {
    let w = World::with(|c| c.max_failures_per_account = 8).await;
    w.register("alice@example.com").await;
    for address in 1..=4u8 {
        let mut attacker = w.device_at([203, 0, 113, address]);
        for _ in 0..2 {
            assert_eq!(login(&mut attacker, "alice@example.com", "a wrong guess").await.status, StatusCode::UNAUTHORIZED);
        }
    }
    let mut fifth = w.device_at([203, 0, 113, 5]);
    let answer = login(&mut fifth, "alice@example.com", "a wrong guess").await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "the ninth guess over all addresses is refused");
    assert!(answer.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn password_hashing_is_capped_and_busy_answers_503_with_retry_after() {
    let w = World::new().await;
    w.register("alice@example.com").await;
    let slots = w.state.passwords.occupy_all();
    let mut device = w.device_at([198, 51, 100, 20]);
    let answer = login(&mut device, "alice@example.com", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(answer.json["error"]["Busy"]["retry_after_secs"], 1);
    assert_eq!(answer.headers["retry-after"], "1");
    let answer = device.call("register", &[("email", "bob@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "registration hashes too: {answer:?}");
    assert_eq!(w.db.collection::<Document>("users").count_documents(doc! {}).await.unwrap(), 1, "nothing was created");
    drop(slots);
    assert_eq!(login(&mut device, "alice@example.com", PASSWORD).await.status, StatusCode::OK, "freed slots serve again");
}

#[tokio::test]
async fn registration_is_limited_per_address() {
    let w = World::with(|c| c.max_registrations_per_ip = 3).await;
    let mut device = w.device_at([203, 0, 113, 50]);
    for i in 0..3 {
        let email = format!("user{i}@example.com");
        assert_eq!(device.call("register", &[("email", &email), ("password", PASSWORD)]).await.status, StatusCode::OK);
    }
    let answer = device.call("register", &[("email", "user9@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{answer:?}");
    assert_eq!(w.db.collection::<Document>("users").count_documents(doc! {}).await.unwrap(), 3);
    let mut elsewhere = w.device_at([198, 51, 100, 50]);
    assert_eq!(elsewhere.call("register", &[("email", "user9@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_sign_in_checked_against_the_old_password_does_not_survive_the_change() {
    let w = World::new().await;
    w.register("alice@example.com").await;
    let mut owner = w.device_at([198, 51, 100, 20]);
    assert_eq!(login(&mut owner, "alice@example.com", PASSWORD).await.status, StatusCode::OK);

    // The thief's sign-in passes the password check with the old password, then is held there.
    let held = w.state.after_password_check.arm();
    let mut thief = w.device_at([203, 0, 113, 9]);
    let thief_login = tokio::spawn(async move { (login(&mut thief, "alice@example.com", PASSWORD).await, thief) });
    held.reached().await;

    // Meanwhile the owner changes the password, which ends every other session there is.
    let changed = owner.call("change_password", &[("current", PASSWORD), ("new", NEW_PASSWORD)]).await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");

    // Now the thief's sign-in goes on to create its session: it must not outlive the change.
    held.release().await;
    let (answer, mut thief) = thief_login.await.unwrap();
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1, "only the owner's session remains");
    assert_eq!(thief.call("list_sessions", &[]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(owner.call("list_sessions", &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_whose_sign_outs_failed_says_so_and_can_be_finished() {
    let w = World::new().await;
    w.register("alice@example.com").await;
    let mut owner = w.device_at([198, 51, 100, 20]);
    assert_eq!(login(&mut owner, "alice@example.com", PASSWORD).await.status, StatusCode::OK);
    let mut other = w.device_at([198, 51, 100, 21]);
    assert_eq!(login(&mut other, "alice@example.com", PASSWORD).await.status, StatusCode::OK);

    // The first delete of the change, the one that ends the other sessions, fails
    // (WriteConcernFailed); the throttle's bookkeeping before it is an update.
    let fail_point = common::fail_commands(&w.db, &["delete"], 64, doc! { "times": 1 }).await;
    let answer = owner.call("change_password", &[("current", PASSWORD), ("new", NEW_PASSWORD)]).await;
    fail_point.off().await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(
        answer.message(),
        "Your password was changed, but we could not sign out your other sessions. Use “Sign out all other sessions” to finish."
    );
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 3, "nothing was ended yet");

    let retry = owner.call("sign_out_others", &[]).await;
    assert_eq!(retry.status, StatusCode::OK, "{retry:?}");
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1, "the retry finished the job");
    assert_eq!(other.call("list_sessions", &[]).await.status, StatusCode::UNAUTHORIZED);
    let mut fresh = w.device_at([198, 51, 100, 22]);
    assert_eq!(login(&mut fresh, "alice@example.com", NEW_PASSWORD).await.status, StatusCode::OK, "the new password is in force");
}

#[tokio::test]
async fn behind_a_proxy_the_client_is_counted_from_the_right() {
    let w = World::with(|c| {
        c.trust_proxy = true;
        c.trust_proxy_hops = 1;
    })
    .await;
    w.register_via_proxy("alice@example.com").await;
    // The proxy (10.0.0.2) appends the real client, 203.0.113.9; the attacker writes the rest.
    let mut attacker = w.device_at([10, 0, 0, 2]);
    for i in 0..5 {
        let spoofed = format!("198.51.100.{i}, 203.0.113.9");
        let answer = attacker
            .call_with(
                "login",
                &[("email", "alice@example.com"), ("password", "wrong")],
                &[("origin", &format!("http://{HOST}")), ("x-forwarded-for", &spoofed)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let answer = attacker
        .call_with(
            "login",
            &[("email", "alice@example.com"), ("password", "wrong")],
            &[("origin", &format!("http://{HOST}")), ("x-forwarded-for", "198.51.100.99, 203.0.113.9")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "rotating the left-hand entries does not escape the per-address limit");
    let events = w.db.events_of("alice@example.com", "failed_login").await;
    assert_eq!(events.len(), 5, "one event per checked guess, none for the refused sixth: {events:?}");
    assert!(events.iter().all(|e| e.get_str("ip").unwrap() == "203.0.113.9"), "the log records the real client: {events:?}");

    for malformed in ["", "not-an-address", "203.0.113.9 203.0.113.10"] {
        let answer = attacker
            .call_with(
                "login",
                &[("email", "alice@example.com"), ("password", PASSWORD)],
                &[("origin", &format!("http://{HOST}")), ("x-forwarded-for", malformed)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{malformed:?}: {answer:?}");
        assert_eq!(answer.json["error"]["BadInput"], "ForwardedFor");
    }
    let answer = attacker.call("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "no header behind a proxy: never the proxy's own address");
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1, "only the registration's session");
}

impl World {
    async fn register_via_proxy(&self, email: &str) {
        let mut device = self.device_at([10, 0, 0, 2]);
        let headers = [("origin", format!("http://{HOST}")), ("x-forwarded-for", "192.0.2.200".to_owned())];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = device.call_with("register", &[("email", email), ("password", PASSWORD)], &headers).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    }
}

#[tokio::test]
async fn state_changing_calls_must_prove_they_come_from_the_public_origin() {
    let w = World::new().await;
    w.register("alice@example.com").await;
    let mut device = w.device_at([198, 51, 100, 20]);
    assert_eq!(login(&mut device, "alice@example.com", PASSWORD).await.status, StatusCode::OK);
    let refused: [&[(&str, &str)]; 6] = [
        &[("origin", "https://sessionguard.test")],
        &[("origin", "http://sessionguard.test:8080")],
        &[("origin", "http://evil.example"), ("host", "evil.example")],
        &[("referer", "http://evil.example/page")],
        &[("sec-fetch-site", "same-site")],
        &[],
    ];
    for headers in refused {
        let answer = device.call_with("logout", &[], headers).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert_eq!(answer.json["error"], "CrossSite");
    }
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 2, "nothing ended");
    let answer = device.call_with("logout", &[], &[("referer", "http://sessionguard.test/account/security")]).await;
    assert_eq!(answer.status, StatusCode::OK, "a same-origin Referer is evidence enough: {answer:?}");
    assert_eq!(w.db.sessions_of("alice@example.com").await.len(), 1);
}

/// The policy of every answer that is not a page: nothing may load, run, frame or post it.
const STRICT_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The value of header `name` in `answer`; a missing header fails the test, naming `what`.
fn header<'a>(answer: &'a Answer, name: &str, what: &str) -> &'a str {
    answer.headers.get(name).unwrap_or_else(|| panic!("{what}: no {name} header in {:?}", answer.headers)).to_str().unwrap()
}

/// The headers every answer carries, page or API, signed in or out, success or error, over
/// plain HTTP (ASVS 8.2.1, 14.4.4, 14.4.5, 14.4.6, 14.4.7).
fn assert_every_answers_headers(answer: &Answer, what: &str) {
    assert_eq!(header(answer, "cache-control", what), "no-store", "{what}");
    assert_eq!(header(answer, "x-content-type-options", what), "nosniff", "{what}");
    assert_eq!(header(answer, "referrer-policy", what), "same-origin", "{what}");
    assert_eq!(header(answer, "x-frame-options", what), "DENY", "{what}");
    assert!(!answer.headers.contains_key("strict-transport-security"), "{what}: no HSTS over plain HTTP");
}

/// The headers of a rendered page (ASVS 14.4.1, 14.4.3): HTML in UTF-8 under a policy whose
/// nonce is the one on the page's inline scripts. Returns the policy.
fn assert_page_headers(page: &Answer, what: &str) -> String {
    assert_every_answers_headers(page, what);
    assert_eq!(header(page, "content-type", what), "text/html; charset=utf-8", "{what}");
    let policy = header(page, "content-security-policy", what).to_owned();
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce in the policy");
    assert!(page.text.contains(&format!("nonce=\"{nonce}\"")), "{what}: the page's scripts carry the policy's nonce");
    for directive in [
        "script-src 'self' 'nonce-",
        "'wasm-unsafe-eval'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{what}: {directive} missing from {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{what}: {policy}");
    policy
}

#[tokio::test]
async fn pages_carry_a_nonce_policy_and_every_answer_the_security_headers() {
    let w = World::new().await;
    w.register("alice@example.com").await;
    let mut signed_out = w.device_at([198, 51, 100, 20]);
    let mut signed_in = w.device_at([198, 51, 100, 21]);
    assert_eq!(login(&mut signed_in, "alice@example.com", PASSWORD).await.status, StatusCode::OK);

    // Every page of the route table, signed in and out, and the not-found page. A page meant
    // for the other state sends the browser on; that answer carries the headers too.
    let paths: Vec<&str> = sessionguard::routes::ALL.iter().copied().chain(["/no-such-page"]).collect();
    for path in &paths {
        for (signed_in_now, device) in [(false, &mut signed_out), (true, &mut signed_in)] {
            let what = format!("{path}, signed {}", if signed_in_now { "in" } else { "out" });
            let page = device.page(path).await;
            let sends_on = match *path {
                "/login" | "/register" => signed_in_now,
                p if p.starts_with("/account/") => !signed_in_now,
                _ => false,
            };
            if sends_on {
                assert_eq!(page.status, StatusCode::FOUND, "{what}");
                header(&page, "location", &what);
                assert_every_answers_headers(&page, &what);
                assert!(header(&page, "content-security-policy", &what).contains("frame-ancestors 'none'"), "{what}");
            } else {
                let expected = if *path == "/no-such-page" { StatusCode::NOT_FOUND } else { StatusCode::OK };
                assert_eq!(page.status, expected, "{what}");
                assert_page_headers(&page, &what);
            }
        }
    }
    let policy = assert_page_headers(&signed_out.page("/login").await, "/login");
    assert_ne!(header(&signed_out.page("/login").await, "content-security-policy", "/login"), policy, "a new nonce per page");

    // Every server function there is, each called with a live session, and the live stream.
    let endpoints: Vec<String> = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned()).collect();
    assert!(endpoints.len() >= 12 && endpoints.iter().any(|p| p == "/api/login"), "the server functions are registered: {endpoints:?}");
    for endpoint in &endpoints {
        let name = endpoint.strip_prefix("/api/").expect("every server function lives under /api/");
        let mut device = w.device_at([198, 51, 100, 22]);
        assert_eq!(login(&mut device, "alice@example.com", PASSWORD).await.status, StatusCode::OK);
        let answer = device.call(name, &[]).await;
        assert_api_headers(&answer, endpoint);
    }
    let stream = signed_out
        .send(axum::http::Request::get("/api/session_events").header("host", HOST).body(axum::body::Body::empty()).unwrap())
        .await;
    assert_eq!(stream.status, StatusCode::UNAUTHORIZED, "{stream:?}");
    assert_api_headers(&stream, "/api/session_events");

    let secure = World::with(|c| c.cookie_secure = true).await;
    let answer = secure.device_at([198, 51, 100, 20]).page("/").await;
    assert_eq!(answer.headers["strict-transport-security"], "max-age=31536000; includeSubDomains");
}

/// The headers of an API answer (ASVS 14.4.1, 14.4.2, 14.4.3): JSON, never rendered, under
/// the strict policy.
fn assert_api_headers(answer: &Answer, what: &str) {
    assert_every_answers_headers(answer, what);
    assert_eq!(header(answer, "content-security-policy", what), STRICT_POLICY, "{what}");
    assert_eq!(header(answer, "content-disposition", what), "attachment; filename=\"api.json\"", "{what}");
    assert_eq!(header(answer, "content-type", what), "application/json", "{what}: JSON is UTF-8 by definition (RFC 8259)");
}

#[tokio::test]
async fn ending_this_devices_session_tells_the_browser_to_clear_site_data() {
    let w = World::new().await;
    w.register("alice@example.com").await;
    let mut device = w.device_at([198, 51, 100, 20]);
    for endpoint in ["logout", "logout_everywhere"] {
        assert_eq!(login(&mut device, "alice@example.com", PASSWORD).await.status, StatusCode::OK);
        let answer = device.call(endpoint, &[]).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.headers["clear-site-data"], "\"cookies\", \"storage\"", "{endpoint}");
    }
    assert_eq!(login(&mut device, "alice@example.com", PASSWORD).await.status, StatusCode::OK);
    assert!(!device.call("sign_out_others", &[]).await.headers.contains_key("clear-site-data"), "this device stays signed in");
}

#[tokio::test]
async fn the_error_banner_shows_only_the_servers_own_sentences() {
    let w = World::new().await;
    let crafted = br#"{"error":{"BadInput":"Your account is locked. Call +1 555 0100 to unlock it."},"message":"Call +1 555 0100"}"#;
    let err = base64::engine::general_purpose::URL_SAFE.encode(crafted);
    let mut device = w.device_at([198, 51, 100, 20]);
    let page = device.page(&format!("/login?__path=/api/login&__err={err}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("555 0100"), "attacker text reached the page");
    let relabelled = base64::engine::general_purpose::URL_SAFE.encode(br#"{"error":"WrongCredentials","message":"Call +1 555 0100"}"#);
    let page = device.page(&format!("/login?__path=/api/login&__err={relabelled}")).await;
    assert!(!page.text.contains("555 0100"));
    assert!(page.text.contains("That email and password do not match an account."), "a real code shows our sentence");
}

/// Without JavaScript a failed sign-in or registration goes back to its form. What the user
/// typed as email comes back in a short-lived cookie that only that page receives and reads
/// once, never in the URL, which browser history and access logs keep; the password in neither.
#[tokio::test]
async fn a_failed_form_keeps_the_email_in_a_one_minute_cookie_never_in_the_url() {
    let w = World::new().await;
    w.register("alice+x@example.com").await;
    let attempts = [
        ("/login?next=/account/activity", "login", "alice+x@example.com", "not the password"),
        ("/register", "register", "bob+y@example.com", "short77"),
    ];
    for (form_page, endpoint, email, password) in attempts {
        let path = form_page.split('?').next().unwrap();
        let mut device = w.device_at([198, 51, 100, 20]);
        let answer = device.submit_from(form_page, endpoint, &[("email", email), ("password", password)]).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{answer:?}");
        let location = header(&answer, "location", endpoint).to_owned();
        assert!(location.contains("__err="), "back to the form with the error: {location}");
        let (user, _) = email.split_once('@').unwrap();
        let user = user.split('+').next().unwrap();
        assert!(!location.contains("email") && !location.contains(user), "the URL carries no email: {location}");
        if endpoint == "login" {
            assert!(location.contains("next=%2Faccount%2Factivity"), "the rest of the form's query survives: {location}");
        }

        let set_cookies = answer.set_cookies();
        let kept_password = |c: &String| ["not%20the", "not+the", "not the", "short77"].iter().any(|p| c.contains(p));
        assert!(!set_cookies.iter().any(kept_password), "the password is kept nowhere: {set_cookies:?}");
        let kept = set_cookies.iter().find(|c| c.starts_with("sessionguard-email=")).unwrap_or_else(|| panic!("{set_cookies:?}"));
        for attribute in ["HttpOnly", "SameSite=Strict", "Max-Age=60", &format!("Path={path}")] {
            assert!(kept.split("; ").any(|a| a == attribute), "{attribute} missing from {kept}");
        }

        // The form's page shows the email once, and tells the browser to drop the cookie.
        let pair = kept.split(';').next().unwrap();
        let page = device.holding(pair).page(location.strip_prefix(&format!("http://{HOST}")).unwrap()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains(&format!("value=\"{email}\"")), "the field is filled from the cookie");
        let removal = page.set_cookies().into_iter().find(|c| c.starts_with("sessionguard-email=")).expect("the page removes the cookie");
        for attribute in ["Max-Age=0", "HttpOnly", "SameSite=Strict", &format!("Path={path}")] {
            assert!(removal.split("; ").any(|a| a == attribute), "{attribute} missing from {removal}");
        }
        let again = device.page(form_page).await;
        assert!(!again.text.contains(email), "read once: without the cookie the field is empty");
    }
}

#[tokio::test]
async fn an_oversized_email_is_refused_before_any_lookup_or_counter() {
    let w = World::new().await;
    let mut device = w.device_at([198, 51, 100, 20]);
    let email = format!("{}@example.com", "a".repeat(250));
    let answer = login(&mut device, &email, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{answer:?}");
    assert_eq!(answer.json["error"]["BadInput"], "EmailTooLong");
    assert_eq!(w.db.collection::<Document>("login_throttle").count_documents(doc! {}).await.unwrap(), 0, "it never became a throttle key");
}

#[tokio::test]
async fn past_the_session_cap_the_oldest_session_ends_and_the_log_says_so() {
    let w = World::with(|c| c.max_sessions_per_user = 3).await;
    w.register("alice@example.com").await;
    let mut devices = Vec::new();
    for i in 0..3u8 {
        let mut device = w.device_at([198, 51, 100, 30 + i]);
        assert_eq!(login(&mut device, "alice@example.com", PASSWORD).await.status, StatusCode::OK);
        devices.push(device);
    }
    let sessions = w.db.sessions_of("alice@example.com").await;
    assert_eq!(sessions.len(), 3, "registration's session was the oldest and ended");
    assert!(sessions.iter().all(|s| s.get_str("ip").unwrap() != "192.0.2.200"));
    let events = w.db.events_of("alice@example.com", "session_limit").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].get_i64("sessions_ended").unwrap(), 1);
    for device in &mut devices {
        assert_eq!(device.call("list_sessions", &[]).await.status, StatusCode::OK);
    }
}

/// How many real sign-ins the session-id check collects: 4 096 bits of ids.
const SIGN_INS: usize = 32;

#[tokio::test]
async fn session_ids_are_128_random_bits_and_never_leave_the_cookie() {
    let w = World::new().await;
    w.register("alice@example.com").await;
    // The ids the app really issues: the cookies of real sign-ins.
    let mut tokens = std::collections::HashSet::new();
    let mut ones = 0;
    for _ in 0..SIGN_INS {
        let mut device = w.device_at([198, 51, 100, 20]);
        assert_eq!(login(&mut device, "alice@example.com", PASSWORD).await.status, StatusCode::OK);
        let token = device.cookie.clone().unwrap().split_once('=').unwrap().1.to_owned();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&token).expect("the cookie value is base64url");
        assert_eq!(bytes.len(), 16, "128 bits");
        ones += bytes.iter().map(|b| b.count_ones()).sum::<u32>();
        tokens.insert(token);
    }
    assert_eq!(tokens.len(), SIGN_INS, "no id repeats");
    // Random bits are ones half the time: 2 048 of 4 096, give or take 32 (one standard
    // deviation); a counter, a timestamp or a short seed lands far outside ±256.
    let bits = u32::try_from(SIGN_INS * 128).unwrap();
    assert!(ones.abs_diff(bits / 2) < 256, "{ones} of {bits} bits set: not random");

    let mut device = w.device_at([198, 51, 100, 20]);
    let answer = login(&mut device, "alice@example.com", PASSWORD).await;
    let token = device.cookie.clone().unwrap().split_once('=').unwrap().1.to_owned();
    let mut seen = vec![answer.text.clone(), format!("{:?}", answer.headers.get("location"))];
    for endpoint in ["me", "list_sessions", "security_events"] {
        let answer = device.call(endpoint, &[]).await;
        seen.push(answer.text);
        seen.push(format!("{:?}", answer.headers.get("location")));
    }
    seen.push(device.page("/account/security").await.text);
    // A form posted without JavaScript is answered with a redirect: its target must not carry
    // the token either.
    let mut form = w.device_at([198, 51, 100, 20]);
    let redirected = form.submit("login", &[("email", "alice@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(redirected.status, StatusCode::FOUND, "{redirected:?}");
    let location = header(&redirected, "location", "the sign-in form's redirect").to_owned();
    assert!(location.starts_with(&format!("http://{HOST}/login")), "back to the form, which sends a signed-in user on: {location}");
    let form_token = form.cookie.clone().expect("the form's sign-in set a cookie").split_once('=').unwrap().1.to_owned();
    assert!(!location.contains(&form_token) && !redirected.text.contains(&form_token), "the redirect carries no token");
    assert!(seen.iter().all(|text| !text.contains(&token)), "the token appears only in the cookie");
    let stored: Vec<Document> = w.db.collection::<Document>("sessions").find(doc! {}).await.unwrap().try_collect().await.unwrap();
    for token in tokens.iter().chain([&token, &form_token]) {
        assert!(stored.iter().all(|d| !format!("{d}").contains(token.as_str())), "the database holds the token's hash, never the token");
    }
}

/// The commands among `sent` that delete session documents: `delete`, and `findAndModify`
/// with `remove` (logout's delete that returns what it deleted).
fn session_deletes(sent: &[common::SentCommand]) -> Vec<&common::SentCommand> {
    sent.iter()
        .filter(|c| c.collection == "sessions")
        .filter(|c| c.name == "delete" || (c.name == "findAndModify" && c.body.get_bool("remove").unwrap_or(false)))
        .collect()
}

#[tokio::test]
async fn every_session_ending_is_written_at_write_concern_majority() {
    let (db, commands) = common::fresh_database_logging_commands().await;
    let mut config = common::test_config(&db);
    config.max_sessions_per_user = 3;
    let app = router(common::app_state_with_clock(db.clone(), config, Arc::new(SystemClock)));
    let device = |ip: u8| {
        let mut device = Device::new(app.clone(), FIREFOX);
        device.ip = SocketAddr::from(([198, 51, 100, ip], 40000));
        device
    };
    let mut first = device(1);
    assert_eq!(first.call("register", &[("email", "alice@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);
    for ip in 2..=3 {
        assert_eq!(login(&mut device(ip), "alice@example.com", PASSWORD).await.status, StatusCode::OK);
    }

    // Each way a session ends, with the commands it sent to MongoDB.
    let mut endings: Vec<(&str, Vec<common::SentCommand>)> = Vec::new();
    let mut ending = async |name: &'static str, device: &mut Device, endpoint: &str, form: &[(&str, &str)]| {
        let mark = commands.mark();
        let answer = device.call(endpoint, form).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {answer:?}");
        endings.push((name, commands.since(mark)));
    };
    let (mut a, mut b) = (device(4), device(5));
    let alice = [("email", "alice@example.com"), ("password", PASSWORD)];
    ending("a sign-in beyond the session cap", &mut a, "login", &alice).await;
    ending("a sign-in over a live session (its id cycled)", &mut a, "login", &alice).await;
    assert_eq!(login(&mut b, "alice@example.com", PASSWORD).await.status, StatusCode::OK);
    let listed = a.call("list_sessions", &[]).await;
    let other =
        listed.json["sessions"].as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["handle"].as_str().unwrap().to_owned();
    ending("revoke", &mut a, "revoke_session", &[("handle", &other)]).await;
    ending("sign out others", &mut a, "sign_out_others", &[]).await;
    assert_eq!(login(&mut b, "alice@example.com", PASSWORD).await.status, StatusCode::OK);
    ending("password change", &mut a, "change_password", &[("current", PASSWORD), ("new", NEW_PASSWORD)]).await;
    ending("logout", &mut a, "logout", &[]).await;
    assert_eq!(login(&mut a, "alice@example.com", NEW_PASSWORD).await.status, StatusCode::OK);
    assert_eq!(login(&mut b, "alice@example.com", NEW_PASSWORD).await.status, StatusCode::OK);
    ending("log out everywhere", &mut a, "logout_everywhere", &[]).await;
    assert_eq!(login(&mut a, "alice@example.com", NEW_PASSWORD).await.status, StatusCode::OK);
    ending("account deletion", &mut a, "delete_account", &[("password", NEW_PASSWORD)]).await;

    let mut not_durable = Vec::new();
    for (name, sent) in &endings {
        let deletes = session_deletes(sent);
        assert!(!deletes.is_empty(), "{name}: no delete of a session was sent: {sent:?}");
        for delete in deletes {
            let concern = delete.body.get_document("writeConcern").ok().and_then(|wc| wc.get_str("w").ok());
            if concern != Some("majority") {
                not_durable.push(format!("{name}: {} {:?}", delete.name, delete.body.get(&delete.name).zip(delete.body.get("deletes"))));
            }
        }
    }
    assert!(not_durable.is_empty(), "sessions ended without write concern majority:\n{}", not_durable.join("\n"));
}
