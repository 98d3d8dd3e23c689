//! Property tests (proptest) on everything that reads input from outside: cookies and session
//! ids, every server function's arguments, the configuration loader, and the `next` redirect
//! validator. The normal suite runs a few hundred cases; `bench/fuzz` runs many more for a
//! bounded time. Crashes found are kept as regression cases below.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    path::Path,
    str::FromStr,
    sync::{Mutex, OnceLock},
};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use base64::Engine;
use http_body_util::BodyExt;
use proptest::prelude::*;
use sessionguard::{config::Config, validation::safe_next};
use tower::ServiceExt;

/// One app for all cases, on one database: building one per case would measure set-up, not input.
fn app() -> &'static (tokio::runtime::Runtime, Router, common::TestDatabase) {
    static APP: OnceLock<(tokio::runtime::Runtime, Router, common::TestDatabase)> = OnceLock::new();
    APP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (router, db) = runtime.block_on(async {
            let db = common::fresh_database().await;
            let mut config = common::test_config(&db);
            config.max_registrations_per_ip = u32::MAX;
            // Fuzzed passwords are wrong passwords: no throttle may stop the signed-in cases
            // from signing in again after a case ended their session.
            config.max_failures_per_account_and_ip = u32::MAX;
            config.max_failures_per_account = u32::MAX;
            config.max_failures_per_ip = u32::MAX;
            let state = common::app_state_with_clock(db.clone(), config, std::sync::Arc::new(sessionguard::clock::SystemClock));
            (sessionguard::server::router(state), db)
        });
        (runtime, router, db)
    })
}

/// One answer of the app: status, headers and the body as JSON (`Null` when it is not JSON).
fn answer_of(request: Request<Body>) -> (StatusCode, header::HeaderMap, serde_json::Value) {
    let (runtime, router, _) = app();
    runtime.block_on(async {
        let mut request = request;
        request.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([192, 0, 2, 1], 1))));
        let response = router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    })
}

/// Sends `request` to the app and returns the status.
fn status_of(request: Request<Body>) -> StatusCode {
    answer_of(request).0
}

/// A `POST /api/<endpoint>` from the site, with `payload` as its form body and `cookie` if any.
fn api_call(endpoint: &str, payload: Vec<u8>, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::post(format!("/api/{endpoint}"))
        .header(header::HOST, common::http::HOST)
        .header(header::ORIGIN, format!("http://{}", common::http::HOST))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(payload)).unwrap()
}

/// The session cookie the signed-in cases send: a live session of the fuzz account, signed in
/// again whenever a case ended the last one (`logout`, `logout_everywhere`).
static SIGNED_IN: Mutex<Option<String>> = Mutex::new(None);

const FUZZ_EMAIL: &str = "fuzz@example.com";
const FUZZ_PASSWORD: &str = "correct horse battery";

/// A cookie (`name=value`) of a live session of the fuzz account, registering it on first use.
fn live_cookie() -> String {
    if let Some(cookie) = SIGNED_IN.lock().unwrap().clone() {
        return cookie;
    }
    let credentials = format!("email={FUZZ_EMAIL}&password={}", FUZZ_PASSWORD.replace(' ', "+")).into_bytes();
    let (status, headers, _) = answer_of(api_call("login", credentials.clone(), None));
    let headers = if status == StatusCode::UNAUTHORIZED { answer_of(api_call("register", credentials, None)).1 } else { headers };
    keep_session_cookie(&headers);
    SIGNED_IN.lock().unwrap().clone().expect("signing the fuzz account in gave a session cookie")
}

/// Follows the answer's session cookie, as a browser would: a new id replaces the kept one, a
/// removal forgets it (the next signed-in case signs in again).
fn keep_session_cookie(headers: &header::HeaderMap) {
    for set in headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        let pair = set.split(';').next().unwrap_or_default();
        if pair.starts_with("sessionguard=") {
            *SIGNED_IN.lock().unwrap() = (!set.contains("Max-Age=0")).then(|| pair.to_owned());
        }
    }
}

const ENDPOINTS: [&str; 11] = [
    "register",
    "login",
    "logout",
    "me",
    "list_sessions",
    "revoke_session",
    "sign_out_others",
    "logout_everywhere",
    "change_password",
    "security_events",
    "delete_account",
];

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Any Cookie header, on a page, an API call and the live stream: never a 5xx. Forged
    /// ids that are well formed (128 bits, base64url) reach the store and must be just unknown.
    #[test]
    fn any_cookie_is_just_signed_out(cookie in "[ -~]{0,200}", value in ".{0,64}", forged in prop::array::uniform16(any::<u8>())) {
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
        for header in [cookie.clone(), format!("sessionguard={value}"), format!("sessionguard={cookie}; other=1"), format!("sessionguard={forged}")] {
            let Ok(header) = header::HeaderValue::from_str(&header) else { continue };
            for (method, path) in [("GET", "/account/security"), ("POST", "/api/list_sessions"), ("GET", "/api/session_events")] {
                let request = Request::builder()
                    .method(method)
                    .uri(path)
                    .header(header::HOST, common::http::HOST)
                    .header(header::ORIGIN, format!("http://{}", common::http::HOST))
                    .header(header::COOKIE, header.clone())
                    .body(Body::empty())
                    .unwrap();
                let status = status_of(request);
                prop_assert!(!status.is_server_error(), "{method} {path}: {status}");
            }
        }
        let _ = tower_sessions::session::Id::from_str(&value);
    }

    /// Any form body to any server function, signed out and signed in: a 4xx or a success,
    /// never a 5xx. Signed in, the call gets past the sign-in check to its arguments.
    #[test]
    fn any_arguments_get_a_clear_answer(endpoint in prop::sample::select(ENDPOINTS.to_vec()), body in prop::collection::vec(any::<u8>(), 0..512), pairs in prop::collection::vec(("[a-z_]{1,10}", ".{0,40}"), 0..4)) {
        let form = pairs.iter().map(|(k, v)| format!("{k}={}", v.replace('&', "%26"))).collect::<Vec<_>>().join("&");
        for payload in [body.clone(), form.into_bytes()] {
            let status = status_of(api_call(endpoint, payload.clone(), None));
            prop_assert!(!status.is_server_error(), "{endpoint}, signed out: {status}");

            let (status, headers, json) = answer_of(api_call(endpoint, payload, Some(&live_cookie())));
            prop_assert!(!status.is_server_error(), "{endpoint}, signed in: {status}");
            prop_assert!(json["error"] != "NotSignedIn" && json["error"] != "SessionEnded", "{endpoint}, signed in: the session was not live: {json}");
            keep_session_cookie(&headers);
        }
    }

    /// Any configuration file and environment: a configuration or an error that names what is
    /// wrong, never a panic.
    #[test]
    fn any_configuration_loads_or_says_why(text in "[\\[\\]a-z_=\"0-9. \n:/]{0,300}", name in prop::sample::select(vec!["IDLE_TIMEOUT_SECS", "PUBLIC_ORIGIN", "SITE_ADDR", "TRUST_PROXY_HOPS", "HASH_CONCURRENCY", "MONGODB_TIMEOUT_MS", "COOKIE_SECURE"]), value in ".{0,40}") {
        let env = |n: &str| (n == name).then(|| value.clone());
        match Config::from_sources(Some((Path::new("fuzz.toml"), &text)), env) {
            Ok(config) => prop_assert!(config.touch_interval < config.idle_timeout),
            Err(err) => prop_assert!(!err.to_string().is_empty()),
        }
    }

    /// Whatever `next` holds, signing in never leads off the site.
    #[test]
    fn next_never_leaves_the_site(next in ".{0,80}") {
        let target = safe_next(Some(&next));
        let base = url::Url::parse("https://sessions.example.com/login").unwrap();
        let resolved = base.join(target).unwrap();
        prop_assert_eq!(resolved.origin(), base.origin(), "{:?} led to {}", next, resolved);
    }
}

/// Cases the fuzzers found, kept.
#[test]
fn regressions() {
    // A form body that is not UTF-8 answered 500.
    for endpoint in ENDPOINTS {
        let request = Request::post(format!("/api/{endpoint}"))
            .header(header::HOST, common::http::HOST)
            .header(header::ORIGIN, format!("http://{}", common::http::HOST))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(vec![0x80]))
            .unwrap();
        assert!(!status_of(request).is_server_error(), "{endpoint}");
    }
    for next in ["/\t/evil.example", "/%5C/evil.example", "/\\evil.example", "\\\\evil.example"] {
        let base = url::Url::parse("https://sessions.example.com/login").unwrap();
        assert_eq!(base.join(safe_next(Some(next))).unwrap().origin(), base.origin(), "{next:?}");
    }
}
