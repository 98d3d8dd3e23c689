//! The race soak: sign in, then 16 concurrent requests that read and write the session, spread
//! over two app instances on one database, with a logout or a revoke in the middle; afterwards
//! no session document survives and no old cookie works.
//!
//! `soak_50` runs in the normal suite; `bench/soak` runs the 1 000-iteration version
//! (`cargo test --test soak -- --ignored soak_1000 --nocapture`) and prints the counts.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{sync::Arc, time::Duration};

use axum::{Router, http::StatusCode};
use common::http::Device;
use mongodb::bson::{Document, doc};
use sessionguard::{clock::SystemClock, server::router};

const PASSWORD: &str = "correct horse battery";
const AGENT: &str = "soak/1.0";

#[derive(Debug, Default)]
struct Counts {
    iterations: usize,
    requests: usize,
    ok: usize,
    signed_out: usize,
    other: usize,
}

async fn soak(iterations: usize) -> Counts {
    let db = common::fresh_database().await;
    let mut config = common::test_config(&db);
    // Every read is also a write: the touch runs on each request, racing the delete.
    config.touch_interval = Duration::ZERO;
    config.max_failures_per_account_and_ip = u32::MAX;
    let instances: [Router; 2] = [
        router(common::app_state_with_clock(db.clone(), config.clone(), Arc::new(SystemClock))),
        router(common::app_state_with_clock(db.clone(), config, Arc::new(SystemClock))),
    ];
    let mut owner = Device::new(instances[0].clone(), AGENT);
    assert_eq!(owner.call("register", &[("email", "soak@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);
    let mut counts = Counts::default();
    for iteration in 0..iterations {
        let mut device = Device::new(instances[iteration % 2].clone(), AGENT);
        assert_eq!(device.call("login", &[("email", "soak@example.com"), ("password", PASSWORD)]).await.status, StatusCode::OK);
        let cookie = device.cookie.clone();
        let handle = {
            let list = device.call("list_sessions", &[]).await;
            list.json["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["handle"].as_str().unwrap().to_owned()
        };
        let mut tasks = Vec::new();
        for request in 0..16 {
            let mut tab = device.on(instances[request % 2].clone());
            let endpoint = ["me", "list_sessions", "security_events"][request % 3];
            tasks.push(tokio::spawn(async move { tab.call(endpoint, &[]).await.status }));
            // Stagger the starts a little, so requests land before, during and after the end.
            tokio::time::sleep(Duration::from_millis(4)).await;
            if request == 8 {
                // In the middle: this device logs out, or the owner revokes it from elsewhere.
                if iteration % 2 == 0 {
                    let mut tab = device.on(instances[(iteration + 1) % 2].clone());
                    tasks.push(tokio::spawn(async move { tab.call("logout", &[]).await.status }));
                } else {
                    let mut owner = owner.on(instances[iteration % 2].clone());
                    let handle = handle.clone();
                    tasks.push(tokio::spawn(async move { owner.call("revoke_session", &[("handle", &handle)]).await.status }));
                }
            }
        }
        for task in tasks {
            match task.await.unwrap() {
                StatusCode::OK => counts.ok += 1,
                StatusCode::UNAUTHORIZED => counts.signed_out += 1,
                _ => counts.other += 1,
            }
            counts.requests += 1;
        }
        let survivors = db.collection::<Document>("sessions").count_documents(doc! { "handle": &handle }).await.unwrap();
        assert_eq!(survivors, 0, "iteration {iteration}: the ended session came back");
        let mut replay = Device::new(instances[iteration % 2].clone(), AGENT);
        replay.cookie = cookie;
        assert_eq!(replay.call("list_sessions", &[]).await.status, StatusCode::UNAUTHORIZED, "iteration {iteration}: an old cookie works");
        counts.iterations += 1;
    }
    assert_eq!(owner.call("logout", &[]).await.status, StatusCode::OK);
    let left = db.collection::<Document>("sessions").count_documents(doc! {}).await.unwrap();
    println!(
        "soak: {} iterations, {} requests ({} answered 200, {} answered 401, {} other), {left} session documents left",
        counts.iterations, counts.requests, counts.ok, counts.signed_out, counts.other
    );
    assert_eq!(left, 0, "zero session documents survive");
    assert_eq!(counts.other, 0, "every request was answered 200 or 401");
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn soak_50() {
    soak(50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the 1 000-iteration soak runs by its own command: bench/soak"]
async fn soak_1000() {
    soak(1000).await;
}
