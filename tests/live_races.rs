//! Live sign-out under timing and load: a session ended while its tab subscribes, endings told
//! apart by the sessions they ended (not by when they happened), a security event that commits
//! late on the polling feed, and the per-account cap on open streams. Each test fails on the
//! code before its fix (issue 16, §3 and §4).

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/live_app.rs"]
mod live_app;

use std::time::Duration;

use axum::{
    Router,
    http::{StatusCode, header},
};
use common::http::Device;
use live_app::{Next, PASSWORD, Stream, instance, signed_in};
use mongodb::{
    Client,
    bson::{DateTime, Document, doc},
    options::ClientOptions,
};
use sessionguard::{live::feed::FeedMode, server::router};

/// The handle of `device`'s own session, as `list_sessions` shows it.
async fn own_handle(device: &mut Device) -> String {
    let list = device.call("list_sessions", &[]).await;
    let sessions = list.json["sessions"].as_array().unwrap_or_else(|| panic!("no session list: {list:?}"));
    let current = sessions.iter().find(|s| s["current"] == true).unwrap_or_else(|| panic!("no current session: {list:?}"));
    current["handle"].as_str().unwrap().to_owned()
}

/// A second app instance on the same database as `db`, through a client of its own: another
/// `appName`, so a fail point armed for `db`'s client does not touch it.
async fn second_instance(db: &mongodb::Database) -> Router {
    let mut options = ClientOptions::parse(common::mongodb_uri()).await.unwrap();
    options.app_name = Some(format!("{}_second", db.name()));
    let db = Client::with_options(options).unwrap().database(db.name());
    router(common::app_state(db))
}

/// A session revoked while its tab subscribes (after the session was read, before the tab is
/// registered with the hub) is still announced at once, with its reason: the tab is registered
/// before the slow read of the user's other sessions, so the feed's delete reaches it.
#[tokio::test]
async fn a_session_revoked_while_its_tab_subscribes_is_announced_at_once() {
    let (db, log) = common::fresh_database_logging_commands().await;
    let (_, app, mode) = instance(&db, |_| {}).await;
    assert_eq!(mode, FeedMode::ChangeStream);
    let elsewhere = second_instance(&db).await;
    let mut a = signed_in(&elsewhere, "alice@example.com", true).await;
    let b = signed_in(&elsewhere, "alice@example.com", false).await;
    let b_handle = own_handle(&mut b.clone()).await;

    // The tab's instance reads the session (first `find`), then the user's session keys (second
    // `find`), which the fail point holds for 3 s.
    let mark = log.mark();
    let fail_point =
        common::fail_point(&db, doc! { "skip": 1 }, doc! { "failCommands": ["find"], "blockConnection": true, "blockTimeMS": 3000 }).await;
    let opening = tokio::spawn({
        let (app, b) = (app.clone(), b.on(app.clone()));
        async move { Stream::open(&app, &b).await }
    });
    log.wait_for(mark, 2, "find", "sessions", Duration::from_secs(5)).await;
    // Meanwhile, on another instance, A revokes B.
    assert_eq!(a.call("revoke_session", &[("handle", &b_handle)]).await.status, StatusCode::OK);
    fail_point.off().await;

    let mut tab = opening.await.unwrap().expect("the session was live when the tab asked");
    assert_eq!(
        tab.next_besides_list_changes(Duration::from_secs(3)).await,
        Next::ended("ended_from_another_device"),
        "the tab must not wait for its deadline to hear it ended"
    );
}

/// An ending is matched to the sessions it ended: a session deleted seconds after "sign out
/// other sessions" (here, directly in the database) is not reported as ended from another
/// device, and the session that changed the password is not told it was ended from elsewhere.
#[tokio::test]
async fn endings_are_matched_to_the_sessions_they_ended_not_to_the_time() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |_| {}).await;
    let mut a = signed_in(&app, "alice@example.com", true).await;
    let b = signed_in(&app, "alice@example.com", false).await;
    let mut a_tab = Stream::open(&app, &a).await.unwrap();
    let mut b_tab = Stream::open(&app, &b).await.unwrap();
    for tab in [&mut a_tab, &mut b_tab] {
        tab.settle().await;
    }

    assert_eq!(a.call("sign_out_others", &[]).await.status, StatusCode::OK);
    assert_eq!(b_tab.next(Duration::from_secs(3)).await, Next::ended("ended_from_another_device"));

    let c = signed_in(&app, "alice@example.com", false).await;
    let mut c_tab = Stream::open(&app, &c).await.unwrap();
    c_tab.settle().await;
    let c_key = common::session_key(c.cookie.as_deref().unwrap());
    let deleted = db.collection::<Document>("sessions").delete_one(doc! { "_id": &c_key }).await.unwrap();
    assert_eq!(deleted.deleted_count, 1);
    assert_eq!(c_tab.next(Duration::from_secs(3)).await, Next::ended("ended"), "no ending names C: a plain end");

    // A password change ends B's successor D from elsewhere, and moves A to a new session: A's
    // own old session is not "ended from another device".
    let d = signed_in(&app, "alice@example.com", false).await;
    let mut d_tab = Stream::open(&app, &d).await.unwrap();
    d_tab.settle().await;
    a_tab.settle().await;
    let new_password = "another horse battery";
    let changed = a.call("change_password", &[("current", PASSWORD), ("new", new_password)]).await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(d_tab.next_besides_list_changes(Duration::from_secs(3)).await, Next::ended("ended_from_another_device"));
    assert_eq!(a_tab.next_besides_list_changes(Duration::from_secs(3)).await, Next::ended("ended"), "A's own change");
}

/// Every ending of several sessions names them in its security event, so each of their tabs
/// hears why: past the session limit, after a password change, and on "log out everywhere".
#[tokio::test]
async fn each_ending_of_several_sessions_tells_their_tabs_why() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |c| c.max_sessions_per_user = 2).await;
    let a = signed_in(&app, "alice@example.com", true).await;
    let b = signed_in(&app, "alice@example.com", false).await;
    let mut a_tab = Stream::open(&app, &a).await.unwrap();
    let mut b_tab = Stream::open(&app, &b).await.unwrap();
    for tab in [&mut a_tab, &mut b_tab] {
        tab.settle().await;
    }

    // A third sign-in ends the oldest session, A.
    let mut c = signed_in(&app, "alice@example.com", false).await;
    assert_eq!(a_tab.next_besides_list_changes(Duration::from_secs(3)).await, Next::ended("ended_from_another_device"));
    let events = db.events_of("alice@example.com", "session_limit").await;
    assert_eq!(events.len(), 1);
    let named: Vec<&str> = events[0].get_array("ended_handles").unwrap().iter().filter_map(|h| h.as_str()).collect();
    assert_eq!(named.len(), 1, "exactly the one session that ended: {events:?}");

    // C changes the password: B ends from another device.
    let mut c_tab = Stream::open(&app, &c).await.unwrap();
    c_tab.settle().await;
    let changed = c.call("change_password", &[("current", PASSWORD), ("new", "another horse battery")]).await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(b_tab.next_besides_list_changes(Duration::from_secs(3)).await, Next::ended("ended_from_another_device"));
    assert_eq!(c_tab.next_besides_list_changes(Duration::from_secs(3)).await, Next::ended("ended"), "C's own change");

    // Log out everywhere reaches C's new session's tab.
    let mut c_new_tab = Stream::open(&app, &c).await.unwrap();
    c_new_tab.settle().await;
    assert_eq!(c.call("logout_everywhere", &[]).await.status, StatusCode::OK);
    assert_eq!(c_new_tab.next_besides_list_changes(Duration::from_secs(3)).await, Next::ended("signed_out_everywhere"));
}

/// On a standalone server (the polling feed), a security event that commits after the look that
/// its time stamp belongs to still gives the ended tab its reason.
#[tokio::test]
async fn on_the_polling_feed_an_ending_that_commits_late_still_gives_its_reason() {
    let db = common::fresh_standalone_database().await;
    let (_, app, mode) = instance(&db, |_| {}).await;
    assert_eq!(mode, FeedMode::Polling);
    signed_in(&app, "alice@example.com", true).await;
    let mut b = signed_in(&app, "alice@example.com", false).await;
    let b_handle = own_handle(&mut b).await;
    let mut b_tab = Stream::open(&app, &b).await.unwrap();
    b_tab.settle().await;

    // B is revoked: its session goes, and the revoke's event, stamped 2 s ago, commits now, after
    // the last poll (at most 1 s ago) looked for events from that poll's time on.
    let user_id = db.user_id("alice@example.com").await;
    let deleted = db.collection::<Document>("sessions").delete_one(doc! { "handle": &b_handle }).await.unwrap();
    assert_eq!(deleted.deleted_count, 1);
    let stamped = DateTime::from_millis(DateTime::now().timestamp_millis() - 2000);
    let event = doc! {
        "user_id": &user_id, "kind": "revoke", "at": stamped, "session_handle": &b_handle,
        "ip": "198.51.100.7", "user_agent": live_app::FIREFOX, "sessions_ended": 1_i64,
    };
    db.collection::<Document>("security_events").insert_one(event).await.unwrap();

    assert_eq!(b_tab.next_besides_list_changes(Duration::from_secs(4)).await, Next::ended("ended_from_another_device"));
}

/// One account cannot take every live stream: past its own cap it gets 429 with its own code,
/// while other accounts still connect; past the instance's total, 503 "busy" with
/// `Retry-After`, never a database outage.
#[tokio::test]
async fn one_account_cannot_take_every_live_stream() {
    let db = common::fresh_database().await;
    let (_, app, _) = instance(&db, |c| {
        c.max_streams_per_account = 3;
        c.max_session_streams = 5;
    })
    .await;
    let alice = signed_in(&app, "alice@example.com", true).await;
    let bob = signed_in(&app, "bob@example.com", true).await;

    let mut alice_tabs = Vec::new();
    for _ in 0..3 {
        alice_tabs.push(Stream::open(&app, &alice).await.unwrap());
    }
    let Err(refusal) = Stream::try_open(&app, &alice).await else { panic!("alice's fourth tab was served") };
    assert_eq!(refusal.status, StatusCode::TOO_MANY_REQUESTS, "{refusal:?}");
    assert_eq!(refusal.json["error"], "TooManyTabs", "{refusal:?}");
    assert!(refusal.json["message"].as_str().unwrap().contains("Too many open tabs"), "{refusal:?}");

    let mut bob_tabs = vec![Stream::open(&app, &bob).await.expect("bob is not held back by alice's tabs")];
    bob_tabs.push(Stream::open(&app, &bob).await.unwrap());
    let Err(refusal) = Stream::try_open(&app, &bob).await else { panic!("a sixth stream was served") };
    assert_eq!(refusal.status, StatusCode::SERVICE_UNAVAILABLE, "{refusal:?}");
    assert_eq!(refusal.json["error"]["LiveBusy"]["retry_after_secs"], 5, "busy, not a database outage: {refusal:?}");
    assert_eq!(refusal.headers.get(header::RETRY_AFTER).map(|v| v.to_str().unwrap()), Some("5"));

    drop(alice_tabs.pop());
    let mut again = Stream::open(&app, &alice).await.expect("a closed tab frees its place");
    assert_eq!(again.next(Duration::from_millis(300)).await, Next::Quiet, "and the new one is served");
}
