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
    // The sign-in page is about 3 KB here, and brotli at its fastest level halves it, give or take a byte.
    assert!(compressed * 3 < plain * 2, "the page shrinks by a third at least: {compressed} bytes against {plain}");

    let json = app.oneshot(request("/healthz", "gzip")).await.unwrap();
    assert_eq!(json.status(), 200);
    assert_eq!(json.headers()["content-encoding"], "gzip");
}

/// A site root holding what a release build writes: a bundle file under its hashed name with
/// the `.br` and `.gz` the build compressed, and a file without a hash.
fn built_site() -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("sessionguard-site-{}", unique_suffix()));
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("sessionguard.Ab3_-xYz0123456789AbCd.wasm"), vec![b'w'; 4096]).unwrap();
    std::fs::write(pkg.join("sessionguard.Ab3_-xYz0123456789AbCd.wasm.br"), b"as the build compressed it (br)").unwrap();
    std::fs::write(pkg.join("sessionguard.Ab3_-xYz0123456789AbCd.wasm.gz"), b"as the build compressed it (gz)").unwrap();
    std::fs::write(pkg.join("notes.js"), vec![b'j'; 4096]).unwrap();
    std::fs::write(root.join("favicon.svg"), vec![b's'; 4096]).unwrap();
    std::fs::write(root.join("favicon.svg.br"), b"as the build compressed it (br)").unwrap();
    root
}

fn unique_suffix() -> String {
    format!("{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

#[tokio::test]
async fn the_bundle_is_served_as_the_build_compressed_it_and_cached_for_a_year_only_under_a_hashed_name() {
    let db = common::fresh_database().await;
    let mut state = common::app_state(db.clone());
    let site = built_site();
    state.leptos_options.site_root = site.to_string_lossy().into_owned().into();
    let app = router(state);
    let get = |path: &str, encoding: &str| Request::get(path).header("accept-encoding", encoding).body(Body::empty()).unwrap();
    let body = |response: axum::response::Response| async { response.into_body().collect().await.unwrap().to_bytes() };
    let wasm = "/pkg/sessionguard.Ab3_-xYz0123456789AbCd.wasm";

    let brotli = app.clone().oneshot(get(wasm, "gzip, deflate, br")).await.unwrap();
    assert_eq!(brotli.status(), 200);
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(brotli.headers()["content-type"], "application/wasm");
    assert_eq!(brotli.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(brotli.headers()["vary"], "accept-encoding", "a shared cache must not hand br to a browser without it");
    assert!(brotli.headers().get("set-cookie").is_none());
    assert_eq!(&body(brotli).await[..], b"as the build compressed it (br)", "served as written, not compressed again");

    let gzip = app.clone().oneshot(get(wasm, "gzip")).await.unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    assert_eq!(&body(gzip).await[..], b"as the build compressed it (gz)");

    let plain = app.clone().oneshot(get(wasm, "identity")).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(body(plain).await.len(), 4096);

    let unhashed = app.clone().oneshot(get("/pkg/notes.js", "br")).await.unwrap();
    assert_eq!(unhashed.headers()["cache-control"], "no-cache", "a name that outlives its content must be revalidated");
    assert_eq!(unhashed.headers()["content-encoding"], "br", "compressed on the fly when the build did not");

    let with_forged_cookie =
        Request::get(wasm).header("accept-encoding", "br").header("cookie", "sessionguard=not-a-session-id").body(Body::empty()).unwrap();
    let forged = app.clone().oneshot(with_forged_cookie).await.unwrap();
    assert_eq!(forged.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(forged.headers().get("set-cookie").is_none(), "an answer cached for a year carries no cookie: {:?}", forged.headers());

    let public = app.clone().oneshot(get("/favicon.svg", "br")).await.unwrap();
    assert_eq!(public.headers()["content-encoding"], "br");
    assert_eq!(public.headers()["vary"], "accept-encoding", "the public files come from their .br too");

    let missing = app.oneshot(get("/pkg/sessionguard.Zz3_-xYz0123456789AbCd.wasm", "br")).await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get("cache-control").is_none(), "a miss is never cached for a year");
    std::fs::remove_dir_all(site).unwrap();
}
