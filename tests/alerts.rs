//! New-sign-in alerts: every open tab of an account hears of a sign-in elsewhere as
//! `new_sign_in`, on any instance, through the change stream and through the polling fallback;
//! and whether a sign-in came from a new device, decided from the account's own document.

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

/// Whether `device`'s latest sign-in, as its security event keeps it, was from a new device.
async fn signed_in_as_new(db: &Database, device: &Device) -> bool {
    let handle = handle_of(db, device).await;
    let record = db.collection::<Document>("security_events").find_one(doc! { "session_handle": handle }).await.unwrap().unwrap();
    record.get_document("sign_in").unwrap().get_bool("new_device").unwrap()
}

/// Signs in to `EMAIL` from browser `agent` at address `ip`, and says whether that sign-in was
/// recorded as from a new device.
async fn signs_in_as_new(db: &Database, app: &Router, agent: &str, ip: [u8; 4]) -> bool {
    let mut next = device(app, agent, ip);
    assert_eq!(sign_in(&mut next).await, StatusCode::OK);
    signed_in_as_new(db, &next).await
}

/// The devices the account `EMAIL` keeps, or `None` when its document has no such field.
async fn known_devices(db: &Database) -> Option<Document> {
    let user = db.collection::<Document>("users").find_one(doc! { "email": EMAIL }).await.unwrap().unwrap();
    user.get_document("known_devices").ok().cloned()
}

#[tokio::test]
async fn the_new_device_decision_reads_the_account_alone_and_one_update_remembers_the_device() {
    let (db, log) = common::fresh_database_logging_commands().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let _laptop = signed_in(&app, EMAIL, true).await;
    let before = known_devices(&db).await.unwrap();
    let mut intruder = device(&app, ANDROID, [10, 2, 0, 5]);
    let refused = intruder.call("login", &[("email", EMAIL), ("password", "not the password")]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(known_devices(&db).await.unwrap(), before, "a refused sign-in remembers nothing");

    let mark = log.mark();
    let mut phone = device(&app, ANDROID, [10, 2, 0, 5]);
    assert_eq!(sign_in(&mut phone).await, StatusCode::OK);
    let sent = log.since(mark);
    // The live feed's own polling reads events of many accounts at once (`user_id: {$in}`); it is not the sign-in's.
    let event_reads: Vec<_> = sent
        .iter()
        .filter(|c| c.name == "find" && c.collection == "security_events")
        .filter(|c| c.body.get_document("filter").is_ok_and(|f| f.get_str("user_id").is_ok()))
        .collect();
    assert!(event_reads.is_empty(), "a sign-in reads none of the account's security events: {event_reads:?}");
    let account_writes: Vec<_> = sent.iter().filter(|c| c.collection == "users" && c.name == "update").collect();
    assert_eq!(account_writes.len(), 1, "one update remembers the device");
    let update = account_writes[0].body.get_array("updates").unwrap()[0].as_document().unwrap().get_document("u").unwrap();
    let set: Vec<&String> = update.get_document("$set").unwrap().keys().collect();
    assert!(set.len() == 1 && set[0].starts_with("known_devices."), "of that device's key alone: {update}");
    assert!(signed_in_as_new(&db, &phone).await);
    assert_eq!(known_devices(&db).await.unwrap().len(), 2, "the registering laptop and the phone");
}

#[tokio::test]
async fn the_session_list_says_which_sessions_are_new_devices_in_two_finds_of_sessions_alone() {
    let (db, log) = common::fresh_database_logging_commands().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let mut laptop = signed_in(&app, EMAIL, true).await;
    let mut phone = device(&app, ANDROID, [10, 2, 0, 5]);
    assert_eq!(sign_in(&mut phone).await, StatusCode::OK);
    let phone_handle = handle_of(&db, &phone).await;

    let mark = log.mark();
    let list = laptop.call("list_sessions", &[]).await;
    let flagged: Vec<&str> = list.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["new_device"] == true)
        .map(|row| row["handle"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, [phone_handle.as_str()]);
    let asked: Vec<(String, String)> = log
        .since(mark)
        .into_iter()
        .filter(|c| ["sessions", "users", "security_events"].contains(&c.collection.as_str()))
        .map(|c| (c.name, c.collection))
        .collect();
    let find_sessions = ("find".to_owned(), "sessions".to_owned());
    assert_eq!(asked, [find_sessions.clone(), find_sessions], "the session by its id, then the account's list; nothing else");
}

#[tokio::test]
async fn the_mark_belongs_to_one_sign_in_it_stays_through_a_password_change_and_not_into_the_next_sign_in() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let laptop = signed_in(&app, EMAIL, true).await;
    let mut phone = device(&app, ANDROID, [10, 2, 0, 5]);
    assert_eq!(sign_in(&mut phone).await, StatusCode::OK);
    let marked = |list: serde_json::Value| list["sessions"].as_array().unwrap().iter().filter(|row| row["new_device"] == true).count();
    assert_eq!(marked(phone.call("list_sessions", &[]).await.json), 1);

    let changed = phone.call("change_password", &[("current", PASSWORD), ("new", "another long passphrase")]).await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(marked(phone.call("list_sessions", &[]).await.json), 1, "a password change keeps this device's sign-in and its mark");

    // The same browser signs in again while its marked session is live: a known device now.
    let again = phone.call("login", &[("email", EMAIL), ("password", "another long passphrase")]).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(!signed_in_as_new(&db, &phone).await);
    assert_eq!(marked(phone.call("list_sessions", &[]).await.json), 0, "the new session does not inherit the old one's mark");
    drop(laptop);
}

#[tokio::test]
async fn a_device_unseen_for_90_days_is_new_again() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let _laptop = signed_in(&app, EMAIL, true).await;
    let mut known = known_devices(&db).await.unwrap();
    let long_ago = mongodb::bson::DateTime::from_time_0_3(time::OffsetDateTime::now_utc() - time::Duration::days(91));
    for (_, last) in known.iter_mut() {
        *last = long_ago.into();
    }
    db.collection::<Document>("users").update_one(doc! { "email": EMAIL }, doc! { "$set": { "known_devices": known } }).await.unwrap();

    assert!(signs_in_as_new(&db, &app, live_app::FIREFOX, [198, 51, 100, 7]).await, "91 days after its last sign-in");
    assert!(!signs_in_as_new(&db, &app, live_app::FIREFOX, [198, 51, 100, 7]).await, "and known again after it");
}

#[tokio::test]
async fn a_known_devices_field_that_cannot_be_read_does_not_stop_a_sign_in() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let _laptop = signed_in(&app, EMAIL, true).await;
    db.collection::<Document>("users").update_one(doc! { "email": EMAIL }, doc! { "$set": { "known_devices": "garbled" } }).await.unwrap();
    assert!(!signs_in_as_new(&db, &app, live_app::FIREFOX, [198, 51, 100, 7]).await, "its sign-in records still know the laptop");
}

#[tokio::test]
async fn an_account_stored_before_it_kept_its_devices_learns_them_from_its_sign_in_records() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let _laptop = signed_in(&app, EMAIL, true).await;
    assert!(signs_in_as_new(&db, &app, ANDROID, [10, 2, 0, 5]).await);
    // As an account stored before this field existed.
    db.collection::<Document>("users").update_one(doc! { "email": EMAIL }, doc! { "$unset": { "known_devices": "" } }).await.unwrap();
    assert_eq!(known_devices(&db).await, None);

    assert!(!signs_in_as_new(&db, &app, ANDROID, [10, 2, 0, 5]).await, "its sign-in records know the phone");
    assert_eq!(known_devices(&db).await.unwrap().len(), 2, "and the laptop too: every device in the records is kept");
    assert!(!signs_in_as_new(&db, &app, live_app::FIREFOX, [198, 51, 100, 7]).await, "the laptop, known from the records, is not new");
}
