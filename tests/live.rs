//! Live sign-out through the real router: a tab's event stream (`GET /api/session_events`)
//! against a MongoDB replica set (one change stream) and a standalone server (the polling
//! fallback), across a database restart, and at the idle deadline.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/live_app.rs"]
mod live_app;

use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use common::http::Device;
use live_app::{FIREFOX, Next, Stream, instance, signed_in};
use mongodb::{
    Database,
    bson::{DateTime, Document, doc},
};
use sessionguard::live::feed::FeedMode;

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
    for tab in [&mut b_tab, &mut b_second_tab, &mut a_tab, &mut bob_tab] {
        tab.settle().await;
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
        assert_eq!(tab.next(Duration::from_secs(3)).await, Next::ended("ended_from_another_device"));
    }
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    for tab in [&mut b_tab, &mut b_second_tab] {
        assert_eq!(tab.next(Duration::from_secs(1)).await, Next::Closed, "the stream closes after its end");
    }
    assert_eq!(a_tab.next(Duration::from_secs(3)).await, Next::sessions(), "the revoking tab's list refreshes");
    assert_eq!(bob_tab.next(Duration::from_millis(1500)).await, Next::Quiet, "another user hears nothing, on a stream still open");

    let mut a_again = Stream::open(&app, &a).await.unwrap();
    assert_eq!(a.call("logout_everywhere", &[]).await.status, StatusCode::OK);
    for tab in [&mut a_tab, &mut a_again] {
        assert_eq!(tab.next_besides_list_changes(Duration::from_secs(3)).await, Next::ended("signed_out_everywhere"));
        assert_eq!(tab.next(Duration::from_secs(1)).await, Next::Closed);
    }
    assert_eq!(bob_tab.next(Duration::from_millis(1500)).await, Next::Quiet, "bob's stream is open and quiet");
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
    let Err(refusal) = Stream::try_open(&app, &device).await else { panic!("over the bound, a stream opened") };
    assert_eq!(refusal.status, StatusCode::SERVICE_UNAVAILABLE, "{refusal:?}");
    assert_eq!(refusal.json["error"]["LiveBusy"]["retry_after_secs"], 5, "busy, not a database outage: {refusal:?}");
    assert_eq!(refusal.headers.get(header::RETRY_AFTER).map(|v| v.to_str().unwrap()), Some("5"));
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
    // The TTL monitor may remove an expired document at any moment; this test reads it after
    // its expiry, so it removes the TTL index from its own database.
    db.collection::<Document>("sessions").drop_index("expires_at_1").await.unwrap();
    let idle = Duration::from_secs(3);
    let (_, app, _) = instance(&db, |c| {
        c.idle_timeout = idle;
        c.touch_interval = Duration::from_secs(1);
    })
    .await;
    let device = signed_in(&app, "alice@example.com", true).await;
    let before = db.collection::<Document>("sessions").find_one(doc! {}).await.unwrap().unwrap();
    let last_seen = *before.get_datetime("last_seen_at").unwrap();
    let mut tab = Stream::open(&app, &device).await.unwrap();
    assert_eq!(tab.next(Duration::from_secs(8)).await, Next::ended("expired"));
    // Measured from the session's own last activity, not from when the tab connected.
    let idle_for = DateTime::now().saturating_duration_since(last_seen);
    assert!(idle_for >= idle && idle_for < idle + Duration::from_secs(2), "told after {idle_for:?} without activity");
    assert_eq!(tab.next(Duration::from_secs(1)).await, Next::Closed);
    let after = db.collection::<Document>("sessions").find_one(doc! { "_id": before.get_str("_id").unwrap() }).await.unwrap();
    let after = after.expect("nothing deletes an expired session before the sweep, and this database has no TTL index");
    for field in ["last_seen_at", "expires_at"] {
        assert_eq!(after.get_datetime(field).unwrap(), before.get_datetime(field).unwrap(), "watching is not activity: {field}");
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
    let give_up = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        let answer = a.call("sign_out_others", &[]).await;
        if answer.status != StatusCode::SERVICE_UNAVAILABLE {
            break answer;
        }
        assert!(Instant::now() < give_up, "the app still answers 503 30 s after the database came back: {answer:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(b_tab.next(Duration::from_secs(10)).await, Next::ended("ended_from_another_device"));
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_live_stream_is_never_compressed_even_when_the_browser_accepts_it() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let device = signed_in(&app, "alice@example.com", true).await;
    let request = axum::http::Request::get("/api/session_events")
        .header(header::HOST, common::http::HOST)
        .header(header::ACCEPT, "text/event-stream")
        .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
        .header(header::COOKIE, device.cookie.clone().unwrap())
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app, request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    assert!(response.headers().get(header::CONTENT_ENCODING).is_none(), "compression would hold events back: {:?}", response.headers());
}
