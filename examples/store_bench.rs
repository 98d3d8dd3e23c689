//! Measures the session store against the MongoDB server at `MONGODB_URI` and prints numbers.
//! Run it through `bench/store`, which starts a throw-away server.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use mongodb::{
    Client,
    bson::{Document, doc},
};
use sessionguard::db::{self, ensure_indexes};
use sessionguard_store::{MongoSessionStore, USER_ID_KEY};
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
};

const LOADS: u32 = 1_000;
const HEAVY_USER_SESSIONS: usize = 10_000;

fn per_op(total: Duration, n: u32) -> String {
    format!("{total:.2?} total, {:.2?} per call, {:.0} calls/s", total / n, f64::from(n) / total.as_secs_f64())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::var("MONGODB_URI").map_err(|_| "set MONGODB_URI (bench/store does)")?;
    let db = Client::with_uri_str(&uri).await?.database(&format!("sessionguard_bench_{}", std::process::id()));
    ensure_indexes(&db).await?;
    // The store's default policy is the server's default configuration (30 min, 12 h, 60 s).
    let store = MongoSessionStore::new(&db);
    let registry = store.registry();
    let raw = db.collection::<Document>(db::SESSIONS);

    let mut record = Record {
        id: Id::default(),
        data: HashMap::from([(USER_ID_KEY.to_owned(), serde_json::json!("bench-user"))]),
        expiry_date: time::OffsetDateTime::now_utc(),
    };
    store.create(&mut record).await?;
    let key = raw.find_one(doc! {}).await?.ok_or("no document")?.get_str("_id")?.to_owned();

    let started = Instant::now();
    for _ in 0..LOADS {
        raw.find_one(doc! { "_id": &key }).await?;
    }
    println!("database ceiling: {LOADS} find_one by _id: {}", per_op(started.elapsed(), LOADS));

    let started = Instant::now();
    for _ in 0..LOADS {
        store.load(&record.id).await?.ok_or("session vanished")?;
    }
    println!("store: {LOADS} load calls (touch throttled, no writes): {}", per_op(started.elapsed(), LOADS));

    let mut template = raw.find_one(doc! {}).await?.ok_or("no document")?;
    let mut documents = Vec::with_capacity(HEAVY_USER_SESSIONS + 100);
    for i in 0..HEAVY_USER_SESSIONS + 100 {
        template.insert("_id", format!("{i:064x}"));
        template.insert("handle", format!("{i:024x}"));
        template.insert("user_id", if i < HEAVY_USER_SESSIONS { "heavy" } else { "other" });
        documents.push(template.clone());
    }
    for chunk in documents.chunks(2_000) {
        raw.insert_many(chunk.to_vec()).await?;
    }
    let started = Instant::now();
    let rows = registry.list_for_user("bench-user").await?;
    println!("list_for_user (1 of {} sessions in the collection): {:.2?}", HEAVY_USER_SESSIONS + 101, started.elapsed());
    assert_eq!(rows.len(), 1);

    let started = Instant::now();
    let ended = registry.end_all_for_user("heavy").await?.count;
    println!("end_all_for_user: {ended} sessions ended in one delete_many: {:.2?}", started.elapsed());
    assert_eq!(raw.count_documents(doc! { "user_id": "other" }).await?, 100);

    db.drop().await?;
    Ok(())
}
