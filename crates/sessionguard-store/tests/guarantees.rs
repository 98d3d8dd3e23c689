//! The store's guarantees, against the test MongoDB server (`MONGODB_URI`). Every test looks
//! at the `sessions` documents afterwards.

// A failed unwrap is a failed test: that is what tests are for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{collections::HashMap, sync::Arc, time::Duration as StdDuration};

use futures_util::TryStreamExt;
use mongodb::{
    Collection,
    bson::{Bson, Document, doc},
};
use sessionguard_store::{
    DEFAULT_COLLECTION, ExpiryPolicy, IP_KEY, ManualClock, MongoSessionStore, NEW_DEVICE_KEY, SessionRegistry, StoreError, USER_AGENT_KEY,
    USER_ID_KEY,
};
use time::{Duration, OffsetDateTime};
use tower_sessions::{
    ExpiredDeletion, Expiry, Session, SessionStore,
    session::{Id, Record},
};

struct Fixture {
    db: common::TestDatabase,
    store: MongoSessionStore,
    registry: SessionRegistry,
    clock: ManualClock,
}

impl Fixture {
    async fn new() -> Self {
        Self::with_policy(default_policy()).await
    }

    async fn with_policy(policy: ExpiryPolicy) -> Self {
        let db = common::fresh_database().await;
        let clock = ManualClock::new(OffsetDateTime::now_utc());
        let store = MongoSessionStore::new(&db).with_policy(policy).with_clock(Arc::new(clock.clone()));
        store.migrate().await.unwrap();
        Self { registry: store.registry(), db, store, clock }
    }

    fn sessions(&self) -> Collection<Document> {
        self.db.collection(DEFAULT_COLLECTION)
    }

    async fn all_documents(&self) -> Vec<Document> {
        self.sessions().find(doc! {}).await.unwrap().try_collect().await.unwrap()
    }

    async fn count(&self, filter: Document) -> u64 {
        self.sessions().count_documents(filter).await.unwrap()
    }

    /// Creates a session through the store, as the session layer does at login.
    async fn signed_in(&self, user: &str, agent: &str) -> Record {
        let mut record = record_for(Some(user), agent);
        self.store.create(&mut record).await.unwrap();
        record
    }

    async fn document_of(&self, record: &Record) -> Option<Document> {
        self.sessions().find_one(doc! { "handle": self.handle_of(record).await }).await.unwrap()
    }

    async fn handle_of(&self, record: &Record) -> Option<String> {
        self.registry.handle_of(&record.id).await.unwrap()
    }
}

/// The store's default policy: 30 minutes idle, 12 hours absolute, a touch a minute.
fn default_policy() -> ExpiryPolicy {
    ExpiryPolicy::default()
}

fn record_for(user: Option<&str>, agent: &str) -> Record {
    let mut data = HashMap::new();
    if let Some(user) = user {
        data.insert(USER_ID_KEY.to_owned(), serde_json::json!(user));
    }
    data.insert(USER_AGENT_KEY.to_owned(), serde_json::json!(agent));
    data.insert(IP_KEY.to_owned(), serde_json::json!("203.0.113.7"));
    data.insert("theme".to_owned(), serde_json::json!({ "dark": true, "size": 3 }));
    // What tower-sessions sets for `Expiry::OnSessionEnd` (the app's setting): two weeks from
    // now, far beyond the policy, so the policy's deadlines decide.
    Record { id: Id::default(), data, expiry_date: OffsetDateTime::now_utc() + Duration::weeks(2) }
}

fn all_strings(value: &Bson, out: &mut Vec<String>) {
    match value {
        Bson::String(s) => out.push(s.clone()),
        Bson::Document(d) => d.values().for_each(|v| all_strings(v, out)),
        Bson::Array(a) => a.iter().for_each(|v| all_strings(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn create_stores_every_field_with_its_type_and_never_the_token() {
    let f = Fixture::new().await;
    let record = f.signed_in("user-1", "Firefox").await;

    let documents = f.all_documents().await;
    assert_eq!(documents.len(), 1);
    let d = &documents[0];
    let key = d.get_str("_id").unwrap();
    assert_eq!(key.len(), 64, "the _id is a hex SHA-256");
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(d.get_str("user_id").unwrap(), "user-1");
    assert_eq!(d.get_str("user_agent").unwrap(), "Firefox");
    assert_eq!(d.get_str("ip").unwrap(), "203.0.113.7");
    assert_eq!(d.get_str("handle").unwrap().len(), 24);
    for field in ["created_at", "last_seen_at", "expires_at"] {
        assert!(d.get_datetime(field).is_ok(), "{field} must be a BSON date, got {:?}", d.get(field));
    }
    let data = d.get_document("data").unwrap();
    assert!(data.get_document("theme").unwrap().get_bool("dark").unwrap());
    let expires = d.get_datetime("expires_at").unwrap().timestamp_millis() - d.get_datetime("created_at").unwrap().timestamp_millis();
    assert_eq!(expires, 30 * 60 * 1000, "a fresh session expires after the idle timeout");

    let token = record.id.to_string();
    let mut strings = Vec::new();
    all_strings(&Bson::Document(d.clone()), &mut strings);
    assert!(strings.iter().all(|s| !s.contains(&token)), "the cookie value must not be stored");
    assert_ne!(d.get_str("handle").unwrap(), token);

    let loaded = f.store.load(&record.id).await.unwrap().expect("the session loads");
    assert_eq!(loaded.data, record.data);
}

#[tokio::test]
async fn create_on_a_taken_id_draws_a_new_one_and_overwrites_nothing() {
    let f = Fixture::new().await;
    let first = f.signed_in("owner", "Original").await;

    let mut intruder = record_for(Some("intruder"), "Collider");
    intruder.id = first.id;
    f.store.create(&mut intruder).await.unwrap();

    assert_ne!(intruder.id, first.id, "the colliding record got a fresh id");
    assert_eq!(f.count(doc! {}).await, 2);
    let original = f.store.load(&first.id).await.unwrap().unwrap();
    assert_eq!(original.data[USER_ID_KEY], "owner", "the first session is untouched");
    assert_eq!(f.count(doc! { "user_id": "owner", "user_agent": "Original" }).await, 1);
    let second = f.store.load(&intruder.id).await.unwrap().unwrap();
    assert_eq!(second.data[USER_ID_KEY], "intruder");
}

#[tokio::test]
async fn a_late_save_after_delete_does_not_bring_the_session_back() {
    let f = Fixture::new().await;
    let mut record = f.signed_in("user-1", "Firefox").await;
    let in_flight = f.store.load(&record.id).await.unwrap().unwrap();

    f.store.delete(&record.id).await.unwrap();
    assert_eq!(f.count(doc! {}).await, 0);

    record.data.insert("written_late".into(), serde_json::json!(true));
    f.store.save(&in_flight).await.unwrap();
    f.store.save(&record).await.unwrap();
    assert_eq!(f.count(doc! {}).await, 0, "save must never upsert");
    assert!(f.store.load(&record.id).await.unwrap().is_none());
}

#[tokio::test]
async fn fifty_concurrent_late_saves_after_delete_leave_nothing() {
    let f = Fixture::new().await;
    let record = f.signed_in("user-1", "Firefox").await;
    f.registry.end(&record.id).await.unwrap();

    let saves = (0..50).map(|i| {
        let store = f.store.clone();
        let mut record = record.clone();
        record.data.insert("request".into(), serde_json::json!(i));
        tokio::spawn(async move { store.save(&record).await })
    });
    for save in saves.collect::<Vec<_>>() {
        save.await.unwrap().unwrap();
    }
    assert_eq!(f.count(doc! {}).await, 0);
}

#[tokio::test]
async fn saves_racing_a_delete_cannot_outlive_it() {
    let f = Fixture::new().await;
    let record = f.signed_in("user-1", "Firefox").await;

    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = f.store.clone();
        let mut late = record.clone();
        late.data.insert("request".into(), serde_json::json!(i));
        tasks.push(tokio::spawn(async move { store.save(&late).await.map_err(|e| e.to_string()) }));
        if i == 10 {
            let registry = f.registry.clone();
            let id = record.id;
            tasks.push(tokio::spawn(async move { registry.end(&id).await.map(drop).map_err(|e| e.to_string()) }));
        }
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(f.count(doc! {}).await, 0, "whatever the interleaving, the ended session stays ended");
}

#[tokio::test]
async fn an_idle_session_expires_and_activity_keeps_it_alive() {
    let f = Fixture::new().await;
    let active = f.signed_in("user-1", "Active").await;
    let idle = f.signed_in("user-1", "Idle").await;

    for _ in 0..3 {
        f.clock.advance(Duration::minutes(20));
        assert!(f.store.load(&active.id).await.unwrap().is_some(), "used every 20 minutes, it stays valid");
    }
    assert!(f.store.load(&idle.id).await.unwrap().is_none(), "unused for 60 minutes, it has expired");
    let document = f.document_of(&active).await.unwrap();
    assert!(document.get_datetime("last_seen_at").unwrap() > document.get_datetime("created_at").unwrap());
}

#[tokio::test]
async fn the_absolute_lifetime_ends_even_an_active_session() {
    let policy = ExpiryPolicy::new(StdDuration::from_secs(30 * 60), StdDuration::from_secs(3600), StdDuration::from_secs(60));
    let f = Fixture::with_policy(policy).await;
    let record = f.signed_in("user-1", "Firefox").await;

    for _ in 0..2 {
        f.clock.advance(Duration::minutes(25));
        assert!(f.store.load(&record.id).await.unwrap().is_some());
    }
    f.clock.advance(Duration::minutes(10));
    assert!(f.store.load(&record.id).await.unwrap().is_none(), "60 minutes after login it is over");
    let document = f.sessions().find_one(doc! {}).await.unwrap().unwrap();
    let lifetime =
        document.get_datetime("expires_at").unwrap().timestamp_millis() - document.get_datetime("created_at").unwrap().timestamp_millis();
    assert_eq!(lifetime, 3600 * 1000, "touches never push expires_at past the absolute lifetime");
}

#[tokio::test]
async fn an_expired_session_cannot_be_saved_back_to_life() {
    let f = Fixture::new().await;
    let record = f.signed_in("user-1", "Firefox").await;
    let before = f.sessions().find_one(doc! {}).await.unwrap().unwrap();

    f.clock.advance(Duration::minutes(31));
    f.store.save(&record).await.unwrap();
    let after = f.sessions().find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(after.get_datetime("expires_at").unwrap(), before.get_datetime("expires_at").unwrap());
    assert!(f.store.load(&record.id).await.unwrap().is_none());
}

#[tokio::test]
async fn an_unchanged_session_is_written_at_most_once_per_touch_interval() {
    let f = Fixture::new().await;
    let record = f.signed_in("user-1", "Firefox").await;
    let last_seen = |d: Document| d.get_datetime("last_seen_at").unwrap().timestamp_millis();
    let created = last_seen(f.sessions().find_one(doc! {}).await.unwrap().unwrap());

    for _ in 0..5 {
        f.clock.advance(Duration::seconds(10));
        f.store.load(&record.id).await.unwrap().unwrap();
    }
    let after_50s = last_seen(f.sessions().find_one(doc! {}).await.unwrap().unwrap());
    assert_eq!(after_50s, created, "page views within the interval write nothing");

    f.clock.advance(Duration::seconds(10));
    f.store.load(&record.id).await.unwrap().unwrap();
    let after_60s = last_seen(f.sessions().find_one(doc! {}).await.unwrap().unwrap());
    assert_eq!(after_60s, created + 60_000, "the first view after the interval touches the session");
}

#[tokio::test]
async fn the_sweep_deletes_only_expired_documents() {
    let f = Fixture::new().await;
    let old = f.signed_in("user-1", "Old").await;
    f.clock.advance(Duration::minutes(20));
    let fresh = f.signed_in("user-1", "Fresh").await;
    f.clock.advance(Duration::minutes(15));

    assert_eq!(f.store.sweep_expired().await.unwrap(), 1, "the sweep reports what it deleted");
    f.store.delete_expired().await.unwrap();
    assert!(f.document_of(&old).await.is_none());
    assert_eq!(f.count(doc! {}).await, 1);
    assert!(f.store.load(&fresh.id).await.unwrap().is_some());
}

#[tokio::test]
async fn end_all_for_user_removes_ten_thousand_sessions_in_one_call() {
    let f = Fixture::new().await;
    let template = f.signed_in("heavy", "Template").await;
    let mut base = f.sessions().find_one(doc! {}).await.unwrap().unwrap();
    f.store.delete(&template.id).await.unwrap();

    let mut documents = Vec::new();
    for i in 0..10_100 {
        base.insert("_id", format!("{:064x}", i));
        base.insert("handle", format!("{:024x}", i));
        base.insert("user_id", if i < 10_000 { "heavy" } else { "other" });
        documents.push(base.clone());
    }
    for chunk in documents.chunks(2_000) {
        f.sessions().insert_many(chunk.to_vec()).await.unwrap();
    }
    assert_eq!(f.count(doc! { "user_id": "heavy" }).await, 10_000);

    let started = std::time::Instant::now();
    let ended = f.registry.end_all_for_user("heavy").await.unwrap().count;
    let elapsed = started.elapsed();
    eprintln!("end_all_for_user: 10000 sessions ended in {elapsed:?}");

    assert_eq!(ended, 10_000);
    assert_eq!(f.count(doc! { "user_id": "heavy" }).await, 0);
    assert_eq!(f.count(doc! { "user_id": "other" }).await, 100);
}

#[tokio::test]
async fn end_others_keeps_only_the_current_session() {
    let f = Fixture::new().await;
    let current = f.signed_in("alice", "Current").await;
    f.signed_in("alice", "Laptop").await;
    f.signed_in("alice", "Phone").await;
    let bob = f.signed_in("bob", "Bob").await;

    assert_eq!(f.registry.end_others("alice", &current.id).await.unwrap().count, 2);
    assert_eq!(f.count(doc! { "user_id": "alice" }).await, 1);
    assert!(f.store.load(&current.id).await.unwrap().is_some());
    assert!(f.store.load(&bob.id).await.unwrap().is_some());
}

#[tokio::test]
async fn revoke_ends_an_own_session_and_ignores_someone_elses() {
    let f = Fixture::new().await;
    let alice_laptop = f.signed_in("alice", "Laptop").await;
    let bob_phone = f.signed_in("bob", "Phone").await;
    let bob_handle = f.handle_of(&bob_phone).await.unwrap();

    assert!(!f.registry.revoke("alice", &bob_handle).await.unwrap(), "another user's handle ends nothing");
    assert!(!f.registry.revoke("alice", "0123456789abcdef01234567").await.unwrap(), "same answer as an unknown handle");
    assert_eq!(f.count(doc! {}).await, 2);
    assert!(f.store.load(&bob_phone.id).await.unwrap().is_some());

    let alice_handle = f.handle_of(&alice_laptop).await.unwrap();
    assert!(f.registry.revoke("alice", &alice_handle).await.unwrap());
    assert_eq!(f.count(doc! { "user_id": "alice" }).await, 0);
    assert!(f.store.load(&alice_laptop.id).await.unwrap().is_none());
}

#[tokio::test]
async fn list_for_user_orders_by_activity_flags_the_current_and_hides_tokens() {
    let f = Fixture::new().await;
    let oldest = f.signed_in("alice", "Oldest").await;
    f.clock.advance(Duration::minutes(2));
    let current = f.signed_in("alice", "Current").await;
    f.clock.advance(Duration::minutes(2));
    f.signed_in("alice", "Newest").await;
    f.signed_in("bob", "Bob").await;
    f.clock.advance(Duration::minutes(2));
    f.store.load(&oldest.id).await.unwrap().unwrap();

    let rows = f.registry.list_for_user("alice").await.unwrap();
    let agents: Vec<_> = rows.iter().map(|r| r.user_agent.as_deref().unwrap()).collect();
    assert_eq!(agents, ["Oldest", "Newest", "Current"], "most recent activity first");
    assert_eq!(rows.iter().filter(|r| r.has_token(&current.id)).count(), 1);
    assert!(rows[2].has_token(&current.id));
    for row in &rows {
        assert!(!row.handle.contains(&current.id.to_string()));
        assert_eq!(row.ip.as_deref(), Some("203.0.113.7"));
    }
    f.clock.advance(Duration::minutes(29));
    let rows = f.registry.list_for_user("alice").await.unwrap();
    assert_eq!(rows.len(), 1, "expired sessions are not listed: only the one touched 29 minutes ago remains");
}

#[tokio::test]
async fn the_new_device_mark_is_listed_as_the_session_data_says_after_create_and_after_save() {
    let f = Fixture::new().await;
    let marked = |rows: Vec<sessionguard_store::SessionInfo>| {
        rows.iter().filter(|r| r.new_device).map(|r| r.user_agent.clone().unwrap()).collect::<Vec<_>>()
    };
    let mut phone = record_for(Some("alice"), "Phone");
    phone.data.insert(NEW_DEVICE_KEY.to_owned(), serde_json::json!(true));
    f.store.create(&mut phone).await.unwrap();
    let mut laptop = f.signed_in("alice", "Laptop").await;
    assert_eq!(marked(f.registry.list_for_user("alice").await.unwrap()), ["Phone"], "copied out on create");

    laptop.data.insert(NEW_DEVICE_KEY.to_owned(), serde_json::json!(true));
    f.store.save(&laptop).await.unwrap();
    phone.data.remove(NEW_DEVICE_KEY);
    f.store.save(&phone).await.unwrap();
    assert_eq!(marked(f.registry.list_for_user("alice").await.unwrap()), ["Laptop"], "and on save, both ways");
}

#[tokio::test]
async fn a_stopped_database_yields_unavailable_quickly_and_never_panics() {
    let db = common::unreachable_database(StdDuration::from_millis(500)).await;
    let store = MongoSessionStore::new(&db);
    let registry = store.registry();
    let id = Id::default();
    let started = std::time::Instant::now();

    let unavailable = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Unavailable(_)));
    assert!(unavailable(registry.end(&id).await.map(drop)));
    assert!(unavailable(registry.end_all_for_user("u").await.map(drop)));
    assert!(unavailable(registry.end_others("u", &id).await.map(drop)));
    assert!(unavailable(registry.revoke("u", "h").await.map(drop)));
    assert!(unavailable(registry.list_for_user("u").await.map(drop)));
    assert!(unavailable(store.migrate().await.map(drop)));
    let mut record = record_for(Some("u"), "x");
    assert!(store.create(&mut record).await.is_err());
    assert!(store.load(&id).await.is_err());
    assert!(store.save(&record).await.is_err());
    assert!(store.delete(&id).await.is_err());
    assert!(started.elapsed() < StdDuration::from_secs(15), "ten calls took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_shorter_expiry_set_through_tower_sessions_is_honoured_on_create_save_and_load() {
    let f = Fixture::new().await;
    let (store, clock) = (Arc::new(f.store.clone()), &f.clock);
    let now = OffsetDateTime::now_utc();

    // Created with a five-minute life.
    let short = Session::new(None, store.clone(), Some(Expiry::AtDateTime(now + Duration::minutes(5))));
    short.insert("user_id", "u1").await.unwrap();
    short.save().await.unwrap();
    let short_id = short.id().unwrap();

    // Created with the policy's life, then shortened to two minutes and saved.
    let shortened = Session::new(None, store.clone(), None);
    shortened.insert("user_id", "u2").await.unwrap();
    shortened.save().await.unwrap();
    let shortened_id = shortened.id().unwrap();
    let reloaded = Session::new(Some(shortened_id), store.clone(), None);
    reloaded.set_expiry(Some(Expiry::AtDateTime(now + Duration::minutes(2))));
    reloaded.insert("step", 2).await.unwrap();
    reloaded.save().await.unwrap();

    clock.advance(Duration::minutes(3));
    assert!(store.load(&shortened_id).await.unwrap().is_none(), "past the two minutes set with set_expiry");
    assert!(store.load(&short_id).await.unwrap().is_some(), "still inside its five minutes (and this load touches it)");
    clock.advance(Duration::minutes(3));
    assert!(store.load(&short_id).await.unwrap().is_none(), "a touch never extends a session past its own expiry");
}

#[tokio::test]
async fn migrate_creates_exactly_the_indexes_the_store_relies_on_in_the_collection_it_is_given() {
    let db = common::fresh_database().await;
    let store = MongoSessionStore::new(&db).with_collection("web_sessions");
    assert!(store.migrate().await.unwrap().ttl, "the test server accepts TTL indexes");
    let mut record = record_for(Some("alice"), "Firefox");
    store.create(&mut record).await.unwrap();

    let indexes: Vec<mongodb::IndexModel> =
        db.collection::<Document>("web_sessions").list_indexes().await.unwrap().try_collect().await.unwrap();
    let mut described: Vec<String> = indexes
        .iter()
        .map(|index| {
            let options = index.options.as_ref();
            let unique = options.and_then(|o| o.unique).unwrap_or(false);
            let ttl = options.and_then(|o| o.expire_after).map(|after| after.as_secs());
            format!("{:?} unique={unique} ttl={ttl:?}", index.keys.keys().collect::<Vec<_>>())
        })
        .collect();
    described.sort();
    assert_eq!(
        described,
        [
            r#"["_id"] unique=false ttl=None"#,
            r#"["expires_at"] unique=false ttl=Some(0)"#,
            r#"["handle"] unique=true ttl=None"#,
            r#"["user_id"] unique=false ttl=None"#,
        ]
    );
    assert_eq!(db.collection::<Document>("web_sessions").count_documents(doc! {}).await.unwrap(), 1);
    assert_eq!(
        db.collection::<Document>(DEFAULT_COLLECTION).count_documents(doc! {}).await.unwrap(),
        0,
        "nothing in the default collection"
    );
    assert_eq!(store.registry().end_all_for_user("alice").await.unwrap().count, 1, "the registry works on the same collection");
}

#[tokio::test]
async fn ending_an_expired_session_deletes_it_and_reports_no_live_session() {
    let f = Fixture::new().await;
    let record = f.signed_in("alice", "Firefox").await;
    f.clock.advance(Duration::minutes(31));
    assert_eq!(f.registry.end(&record.id).await.unwrap(), None, "it had already ended at its idle deadline");
    assert_eq!(f.count(doc! {}).await, 0, "and its document is gone all the same");

    let live = f.signed_in("alice", "Chrome").await;
    let ended = f.registry.end(&live.id).await.unwrap().expect("a live session was ended");
    assert_eq!((ended.user_id.as_deref(), ended.user_agent.as_deref()), (Some("alice"), Some("Chrome")));
    assert!(ended.has_token(&live.id));
    assert_eq!(f.count(doc! {}).await, 0);
}
