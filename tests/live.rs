//! Live sign-out through the real router: a tab's event stream (`GET /api/session_events`)
//! against a MongoDB replica set (one change stream) and a standalone server (the polling
//! fallback), across a database restart, and at the idle deadline.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use common::http::{Device, HOST};
use http_body_util::BodyExt;
use mongodb::{
    Database,
    bson::{Document, doc},
};
use sessionguard::{
    clock::SystemClock,
    config::Config,
    live::feed::{self, FeedMode},
    server::router,
    state::AppState,
};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";
const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// An app instance with its live feed running on `db`.
async fn instance(db: &Database, adjust: impl FnOnce(&mut Config)) -> (AppState, Router, FeedMode) {
    let mut config = common::test_config(db);
    adjust(&mut config);
    let state = common::app_state_with_clock(db.clone(), config, Arc::new(SystemClock));
    let mode = feed::spawn(state.db.clone(), state.registry.clone(), state.live.clone()).await;
    (state.clone(), router(state), mode)
}

async fn signed_in(app: &Router, email: &str, register: bool) -> Device {
    let mut device = Device::new(app.clone(), FIREFOX);
    device.ip = SocketAddr::from(([198, 51, 100, 7], 1));
    let endpoint = if register { "register" } else { "login" };
    let answer = device.call(endpoint, &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    device
}

/// An open event stream, read frame by frame.
struct Stream(Body);

impl Stream {
    async fn open(app: &Router, device: &Device) -> Result<Self, StatusCode> {
        let request = Request::get("/api/session_events")
            .header(header::HOST, HOST)
            .header(header::ACCEPT, "text/event-stream")
            .header(header::COOKIE, device.cookie.clone().unwrap_or_default())
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        if response.status() != StatusCode::OK {
            return Err(response.status());
        }
        Ok(Self(response.into_body()))
    }

    /// The next named event (`event:` and `data:`), skipping heartbeats, within `limit`.
    async fn next(&mut self, limit: Duration) -> Option<(String, String)> {
        let deadline = Instant::now() + limit;
        let mut text = String::new();
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let frame = tokio::time::timeout(left, self.0.frame()).await.ok()??.ok()?;
            if let Ok(data) = frame.into_data() {
                text.push_str(&String::from_utf8_lossy(&data));
            }
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned());
                if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
                    return Some((event, data));
                }
            }
        }
    }
}

async fn sessions(db: &Database) -> u64 {
    db.collection::<Document>("sessions").count_documents(doc! {}).await.unwrap()
}

/// Revoke, sign-out-others and log-out-everywhere each reach exactly the tabs they end, with
/// their reason, and the other tabs of the user hear that the list changed.
async fn fan_out_on(db: &Database, expected: FeedMode) {
    let (_, app, mode) = instance(db, |_| {}).await;
    assert_eq!(mode, expected);
    let mut a = signed_in(&app, "alice@example.com", true).await;
    let b = signed_in(&app, "alice@example.com", false).await;
    let bob = signed_in(&app, "bob@example.com", true).await;
    let mut b_tab = Stream::open(&app, &b).await.unwrap();
    let mut b_second_tab = Stream::open(&app, &b).await.unwrap();
    let mut a_tab = Stream::open(&app, &a).await.unwrap();
    let mut bob_tab = Stream::open(&app, &bob).await.unwrap();
    // The sign-ins above may still be on their way through the feed, which lets changes gather
    // for 25 ms after each fetch: a tab may first hear that its own user's list changed.
    for tab in [&mut b_tab, &mut b_second_tab, &mut a_tab, &mut bob_tab] {
        while let Some(event) = tab.next(Duration::from_millis(300)).await {
            assert_eq!(event, ("sessions".into(), "{}".into()), "before anything ended, only list changes");
        }
    }

    let b_handle = {
        let list = a.call("list_sessions", &[]).await;
        list.json["sessions"].as_array().unwrap().iter().find(|s| !s["current"].as_bool().unwrap()).unwrap()["handle"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let started = Instant::now();
    assert_eq!(a.call("revoke_session", &[("handle", &b_handle)]).await.status, StatusCode::OK);
    for tab in [&mut b_tab, &mut b_second_tab] {
        let event = tab.next(Duration::from_secs(3)).await;
        assert_eq!(event, Some(("ended".into(), "\"ended_from_another_device\"".into())));
    }
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(b_tab.next(Duration::from_millis(200)).await, None, "the stream closes after its end");
    assert_eq!(a_tab.next(Duration::from_secs(3)).await, Some(("sessions".into(), "{}".into())), "the revoking tab's list refreshes");
    assert_eq!(bob_tab.next(Duration::from_millis(1500)).await, None, "another user hears nothing");

    let mut a_again = Stream::open(&app, &a).await.unwrap();
    assert_eq!(a.call("logout_everywhere", &[]).await.status, StatusCode::OK);
    for tab in [&mut a_tab, &mut a_again] {
        let event = loop {
            match tab.next(Duration::from_secs(3)).await {
                Some((name, _)) if name == "sessions" => continue,
                other => break other,
            }
        };
        assert_eq!(event, Some(("ended".into(), "\"signed_out_everywhere\"".into())));
    }
    assert_eq!(bob_tab.next(Duration::from_millis(1500)).await, None);
    assert_eq!(sessions(db).await, 1, "bob's session is all that is left");
}

#[tokio::test]
async fn on_a_replica_set_one_change_stream_fans_out_to_exactly_the_ended_tabs() {
    let db = common::fresh_database().await;
    fan_out_on(&db, FeedMode::ChangeStream).await;
}

#[tokio::test]
async fn on_a_standalone_server_the_polling_fallback_does_the_same() {
    let db = common::fresh_standalone_database().await;
    fan_out_on(&db, FeedMode::Polling).await;
}

#[tokio::test]
async fn a_dead_or_missing_session_cannot_open_a_stream_and_a_full_instance_says_503() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |c| c.max_session_streams = 1).await;
    let mut device = signed_in(&app, "alice@example.com", true).await;
    assert_eq!(Stream::open(&app, &Device::new(app.clone(), FIREFOX)).await.err(), Some(StatusCode::UNAUTHORIZED));
    let first = Stream::open(&app, &device).await.unwrap();
    assert_eq!(Stream::open(&app, &device).await.err(), Some(StatusCode::SERVICE_UNAVAILABLE), "over the bound");
    drop(first);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let old_cookie = device.cookie.clone();
    assert_eq!(device.call("logout", &[]).await.status, StatusCode::OK);
    device.cookie = old_cookie;
    assert_eq!(Stream::open(&app, &device).await.err(), Some(StatusCode::UNAUTHORIZED), "an ended session");
}

#[tokio::test]
async fn an_idle_watched_session_expires_on_time_and_watching_never_touches_it() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |c| {
        c.idle_timeout = Duration::from_secs(3);
        c.touch_interval = Duration::from_secs(1);
    })
    .await;
    let device = signed_in(&app, "alice@example.com", true).await;
    let before = db.collection::<Document>("sessions").find_one(doc! {}).await.unwrap().unwrap();
    let started = Instant::now();
    let mut tab = Stream::open(&app, &device).await.unwrap();
    let event = tab.next(Duration::from_secs(6)).await;
    assert_eq!(event, Some(("ended".into(), "\"expired\"".into())));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(2500) && waited < Duration::from_secs(5), "expired after {waited:?}");
    let after = db.collection::<Document>("sessions").find_one(doc! {}).await.unwrap();
    if let Some(after) = after {
        assert_eq!(after.get_datetime("last_seen_at").unwrap(), before.get_datetime("last_seen_at").unwrap(), "watching is not activity");
    }
}

#[tokio::test]
async fn the_change_stream_resumes_after_the_database_restarts() {
    let (server, db) = common::server::OwnServer::with_database("sessionguard_restart").await;
    let (_, app, mode) = instance(&db, |_| {}).await;
    assert_eq!(mode, FeedMode::ChangeStream);
    let a = signed_in(&app, "alice@example.com", true).await;
    let b = signed_in(&app, "alice@example.com", false).await;
    let mut b_tab = Stream::open(&app, &b).await.unwrap();

    let (port, dir) = server.stop();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let server = common::server::OwnServer::start(port, dir.clone());
    server.client().await;

    // The app was not restarted: the same instance ends B once the server is back.
    let mut a = a;
    let answer = loop {
        let answer = a.call("sign_out_others", &[]).await;
        if answer.status != StatusCode::SERVICE_UNAVAILABLE {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let event = b_tab.next(Duration::from_secs(10)).await;
    assert_eq!(event, Some(("ended".into(), "\"ended_from_another_device\"".into())));
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
