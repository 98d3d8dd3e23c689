//! New-sign-in alerts: every open tab of an account hears of a sign-in elsewhere as
//! `new_sign_in`, on any instance, through the change stream and through the polling fallback;
//! and whether a sign-in came from a new device, decided with one indexed query.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/live_app.rs"]
mod live_app;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{Router, http::StatusCode};
use common::http::Device;
use live_app::{Next, PASSWORD, Stream, instance, signed_in};
use mongodb::{
    Database,
    bson::{Document, doc},
};
use sessionguard::live::feed::FeedMode;

const EMAIL: &str = "alice@example.com";
const ANDROID: &str =
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36";

/// A device with browser `agent` at address `ip` on `app`.
fn device(app: &Router, agent: &str, ip: [u8; 4]) -> Device {
    let mut device = Device::new(app.clone(), agent);
    device.ip = SocketAddr::from((ip, 1));
    device
}

async fn sign_in(device: &mut Device) -> StatusCode {
    device.call("login", &[("email", EMAIL), ("password", PASSWORD)]).await.status
}

async fn handle_of(db: &Database, device: &Device) -> String {
    let key = common::session_key(device.cookie.as_deref().unwrap());
    db.collection::<Document>("sessions").find_one(doc! { "_id": key }).await.unwrap().unwrap().get_str("handle").unwrap().to_owned()
}

/// A sign-in through instance B reaches a tab watching on instance A within 2 s, with what the
/// alert shows; a refused sign-in sends nothing.
async fn alert_on(db: &Database, expected: FeedMode) {
    let (_, a, mode) = instance(db, |_| {}).await;
    assert_eq!(mode, expected);
    let (_, b, _) = instance(db, |_| {}).await;
    let laptop = signed_in(&a, EMAIL, true).await;
    let mut tab = Stream::open(&a, &laptop).await.unwrap().hearing_sign_ins();
    tab.settle().await;

    let mut intruder = device(&b, ANDROID, [10, 2, 0, 5]);
    assert_eq!(intruder.call("login", &[("email", EMAIL), ("password", "not the password")]).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(tab.next_besides_list_changes(Duration::from_millis(1500)).await, Next::Quiet, "a refused sign-in sends no alert");

    let started = Instant::now();
    assert_eq!(sign_in(&mut intruder).await, StatusCode::OK);
    let Next::Event(name, data) = tab.next_besides_list_changes(Duration::from_secs(2)).await else { panic!("no alert within 2 s") };
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(name, "new_sign_in");
    let alert: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(alert["handle"], handle_of(db, &intruder).await);
    assert_eq!(alert["device"], "Chrome on Android");
    assert_eq!(alert["ip"], "10.2.0.5");
    assert_eq!(alert["new_device"], true);
    let at = alert["signed_in_at_ms"].as_i64().unwrap();
    assert!((time::OffsetDateTime::now_utc().unix_timestamp() * 1000 - at).abs() < 10_000, "{alert}");
}

#[tokio::test]
async fn a_sign_in_on_another_instance_reaches_a_watched_tab_through_the_change_stream() {
    let db = common::fresh_database().await;
    alert_on(&db, FeedMode::ChangeStream).await;
}

#[tokio::test]
async fn a_sign_in_on_another_instance_reaches_a_watched_tab_through_the_polling_fallback() {
    let db = common::fresh_standalone_database().await;
    alert_on(&db, FeedMode::Polling).await;
}

#[tokio::test]
async fn a_new_device_is_a_new_browser_or_network_within_90_days_and_registration_never_is() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let mut laptop = device(&app, live_app::FIREFOX, [198, 51, 100, 7]);
    assert_eq!(laptop.call("register", &[("email", EMAIL), ("password", PASSWORD)]).await.status, StatusCode::OK);
    let steps = [
        (live_app::FIREFOX, [198, 51, 100, 7], false, "the registering device again"),
        (live_app::FIREFOX, [198, 51, 100, 200], false, "the same browser on the same /24"),
        (live_app::FIREFOX, [203, 0, 113, 7], true, "the same browser on another network"),
        (ANDROID, [198, 51, 100, 7], true, "another browser on a known network"),
        (ANDROID, [198, 51, 100, 9], false, "that phone again on its network"),
    ];
    let mut expected_new = Vec::new();
    for (agent, ip, new, why) in steps {
        let mut next = device(&app, agent, ip);
        assert_eq!(sign_in(&mut next).await, StatusCode::OK, "{why}");
        let handle = handle_of(&db, &next).await;
        let recorded = db.events_of(EMAIL, "login").await;
        let this = recorded.iter().find(|e| e.get_str("session_handle") == Ok(handle.as_str())).expect("its sign-in is recorded");
        assert_eq!(this.get_document("sign_in").unwrap().get_bool("new_device").unwrap(), new, "{why}");
        if new {
            expected_new.push(handle);
        }
    }
    let registered = db.events_of(EMAIL, "registered").await;
    assert!(!registered[0].get_document("sign_in").unwrap().get_bool("new_device").unwrap(), "registration is never a new device");

    let list = laptop.call("list_sessions", &[]).await;
    let mut flagged: Vec<String> = list.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["new_device"] == true)
        .map(|row| row["handle"].as_str().unwrap().to_owned())
        .collect();
    flagged.sort();
    expected_new.sort();
    assert_eq!(flagged, expected_new, "list_sessions rows carry new_device");
}

#[tokio::test]
async fn the_new_device_decision_is_one_query_served_by_the_user_and_time_index() {
    let (db, log) = common::fresh_database_logging_commands().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let _laptop = signed_in(&app, EMAIL, true).await;
    let mark = log.mark();
    let mut phone = device(&app, ANDROID, [10, 2, 0, 5]);
    assert_eq!(sign_in(&mut phone).await, StatusCode::OK);
    let decisions: Vec<_> = log
        .since(mark)
        .into_iter()
        .filter(|c| {
            c.name == "find"
                && c.collection == "security_events"
                && c.body.get_document("filter").is_ok_and(|f| f.contains_key("sign_in.device"))
        })
        .collect();
    assert_eq!(decisions.len(), 1, "one query per sign-in");
    let sent = &decisions[0].body;
    assert_eq!(sent.get_document("projection").unwrap(), &doc! { "_id": 1 });
    let mut find = doc! { "find": "security_events" };
    for field in ["filter", "projection", "limit", "hint"] {
        if let Some(value) = sent.get(field) {
            find.insert(field, value.clone());
        }
    }
    let explained = db.run_command(doc! { "explain": find, "verbosity": "queryPlanner" }).await.unwrap();
    let plan = explained.get_document("queryPlanner").unwrap().get_document("winningPlan").unwrap().to_string();
    assert!(plan.contains("IXSCAN") && plan.contains("user_id_1_at_-1"), "served by the (user_id, at) index: {plan}");
}
