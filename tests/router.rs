//! The router in process: `/healthz` and page headers.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use axum::{body::Body, http::Request};
use http_body_util::BodyExt;
use sessionguard::server::router;
use tower::ServiceExt;

async fn get_healthz(state: sessionguard::state::AppState) -> (u16, serde_json::Value) {
    let response = router(state).oneshot(Request::get("/healthz").body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn healthz_is_ok_when_mongodb_answers() {
    let db = common::fresh_database().await;
    let state = common::app_state(db.clone());
    let (status, body) = get_healthz(state).await;
    assert_eq!(status, 200);
    assert_eq!(body["mongodb"], "ok");
    assert_eq!(body["live"], serde_json::json!({ "feed": null, "tabs": 0 }), "no feed was started in this test");
    assert!(body.get("commands").is_none(), "a short summary; the counts are on METRICS_ADDR: {body}");
}

#[tokio::test]
async fn healthz_is_503_with_a_reason_when_mongodb_is_gone() {
    let state = common::app_state(common::unreachable_database(Duration::from_millis(500)).await);
    let started = Instant::now();
    let (status, body) = get_healthz(state).await;
    assert_eq!(status, 503);
    assert_eq!(body["mongodb"], "unavailable");
    assert!(body["error"].as_str().unwrap().contains("MONGODB_URI"));
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn pages_are_never_cached() {
    let db = common::fresh_database().await;
    let state = common::app_state(db.clone());
    let app = router(state);
    let page = app.clone().oneshot(Request::get("/login").header("accept", "text/html").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store", "a cached page would outlive logout");
}

#[tokio::test]
async fn pages_and_api_answers_are_compressed_as_the_browser_accepts() {
    let db = common::fresh_database().await;
    let app = router(common::app_state(db.clone()));
    let request = |path: &str, encoding: &str| {
        Request::get(path).header("accept", "text/html").header("accept-encoding", encoding).body(Body::empty()).unwrap()
    };

    let page = app.clone().oneshot(request("/login", "gzip, deflate, br")).await.unwrap();
    assert_eq!(page.headers()["content-encoding"], "br", "{:?}", page.headers());
    let compressed = page.into_body().collect().await.unwrap().to_bytes().len();
    let plain = app.clone().oneshot(request("/login", "identity")).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.into_body().collect().await.unwrap().to_bytes().len();
    assert!(compressed * 2 < plain, "the page shrinks: {compressed} bytes against {plain}");

    let json = app.oneshot(request("/healthz", "gzip")).await.unwrap();
    assert_eq!(json.status(), 200);
    assert_eq!(json.headers()["content-encoding"], "gzip");
}
