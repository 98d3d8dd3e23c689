//! The one feed of changes per instance: a MongoDB change stream where the server offers one,
//! else one batched query a second.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use futures_util::{FutureExt, StreamExt, TryStreamExt};
use mongodb::{
    Database,
    bson::{Bson, DateTime, Document, doc, oid::ObjectId},
    change_stream::event::{ChangeStreamEvent, OperationType, ResumeToken},
};

use sessionguard_store::SessionRegistry;
use super::{ENDING_KINDS, Ending, LiveSessions};
use crate::{
    db::{self, DbError},
    model::SecurityEventKind,
};

/// How often the polling feed looks, and how long the change stream waits before reopening.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// How long the change stream lets changes gather after a fetch before it asks for more, so
/// that a busy server answers one `getMore` per batch rather than one per change. It is the
/// most this adds to a live notice.
const GATHER: Duration = Duration::from_millis(25);

/// How the instance learns of changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedMode {
    /// One change stream on the database (replica sets and sharded clusters).
    ChangeStream,
    /// One batched query a second for every watched user (a standalone server without an oplog).
    Polling,
}

/// How far back each look at the security events reaches before the previous look. An event
/// is stamped before its insert commits, so one that commits late carries a time the previous
/// look has already passed; the overlap reads it anyway, and [`SeenEvents`] drops the repeats.
const OVERLAP: Duration = Duration::from_secs(5);

/// The kinds of security event that end sessions, as BSON for a query.
fn ending_kinds() -> Vec<Bson> {
    ENDING_KINDS.iter().filter_map(|k| mongodb::bson::to_bson(k).ok()).collect()
}

/// The change stream's filter: session inserts and deletes, and inserts of security events that
/// end sessions, projected to the few fields the hub reads (the session data never travels).
fn pipeline() -> Vec<Document> {
    vec![
        doc! { "$match": { "$or": [
            { "ns.coll": db::SESSIONS, "operationType": { "$in": ["insert", "delete"] } },
            { "ns.coll": db::SECURITY_EVENTS, "operationType": "insert", "fullDocument.kind": { "$in": ending_kinds() } },
        ] } },
        doc! { "$project": {
            "operationType": 1, "ns": 1, "documentKey": 1,
            "fullDocument.user_id": 1, "fullDocument.kind": 1, "fullDocument.session_handle": 1,
            "fullDocument.ended_handles": 1,
        } },
    ]
}

/// The ending a security-event document records, with its user; `None` for other kinds.
fn ending_in(event: &Document) -> Option<(&str, Ending)> {
    let kind = mongodb::bson::from_bson::<SecurityEventKind>(event.get("kind")?.clone()).ok()?;
    if !ENDING_KINDS.contains(&kind) {
        return None;
    }
    let ended_handles = event
        .get_array("ended_handles")
        .map(|handles| handles.iter().filter_map(|h| h.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let handle = event.get_str("session_handle").ok().map(str::to_owned);
    Some((event.get_str("user_id").ok()?, Ending { kind, handle, ended_handles }))
}

/// The security events already handed to the hub, by `_id`, so that overlapping looks hand
/// each over once. An event is forgotten once it is older than any later look reaches.
#[derive(Debug, Default)]
struct SeenEvents(HashMap<ObjectId, DateTime>);

impl SeenEvents {
    /// Whether the event `id`, stamped `at`, is seen for the first time.
    fn first_time(&mut self, id: ObjectId, at: DateTime) -> bool {
        self.0.insert(id, at).is_none()
    }

    /// Forgets the events stamped before `from`: no look from `from` on returns them again.
    fn forget_before(&mut self, from: DateTime) {
        self.0.retain(|_, at| *at >= from);
    }
}

/// Starts the feed for `hub` and says which mode it runs in (logged once at start-up): a
/// change stream when the server accepts one, else polling.
pub async fn spawn(db: Database, registry: SessionRegistry, hub: LiveSessions) -> FeedMode {
    let mode = start(db, registry, hub.clone()).await;
    let _ = hub.mode.set(mode);
    mode
}

async fn start(db: Database, registry: SessionRegistry, hub: LiveSessions) -> FeedMode {
    match db.watch().pipeline(pipeline()).await {
        Ok(stream) => {
            tracing::info!("live sign-out: one MongoDB change stream on this instance");
            tokio::spawn(follow_changes(db, registry, hub, stream));
            FeedMode::ChangeStream
        }
        Err(err) => {
            tracing::info!(%err, "live sign-out: the server offers no change streams; polling once a second instead");
            hub.set_reason_wait(POLL_EVERY + super::REASON_WAIT);
            tokio::spawn(poll(db, registry, hub));
            FeedMode::Polling
        }
    }
}

/// Reads the change stream for as long as the runtime lives. After an error it reopens where
/// it left off (the resume token); if that fails too it opens afresh, and then compares every
/// watched user's sessions once, so nothing that happened in between is missed.
async fn follow_changes(
    db: Database,
    registry: SessionRegistry,
    hub: LiveSessions,
    mut stream: mongodb::change_stream::ChangeStream<ChangeStreamEvent<Document>>,
) {
    let mut resume: Option<ResumeToken> = None;
    let mut seen = SeenEvents::default();
    loop {
        let mut fetched_at: Option<Instant> = None;
        loop {
            // After a fetch from the server, let changes gather before the next one.
            if let Some(at) = fetched_at.take() {
                tokio::time::sleep(GATHER.saturating_sub(at.elapsed())).await;
            }
            // A change already buffered is ready at once; otherwise this waits for a fetch.
            let next = match stream.next().now_or_never() {
                Some(next) => next,
                None => {
                    let next = stream.next().await;
                    fetched_at = Some(Instant::now());
                    next
                }
            };
            let Some(next) = next else { break };
            match next {
                Ok(event) => {
                    resume = stream.resume_token();
                    dispatch(&hub, &event);
                }
                Err(err) => {
                    tracing::warn!(%err, "live sign-out: the change stream failed; reopening");
                    break;
                }
            }
        }
        let broken_at = DateTime::now();
        stream = loop {
            tokio::time::sleep(POLL_EVERY).await;
            let resumed = db.watch().pipeline(pipeline()).resume_after(resume.clone()).await;
            let reopened = match resumed {
                Ok(stream) => Ok(stream),
                Err(_) => db.watch().pipeline(pipeline()).await,
            };
            match reopened {
                Ok(stream) => break stream,
                Err(err) => tracing::warn!(%err, "live sign-out: cannot reopen the change stream yet"),
            }
        };
        // Whatever the resumed stream replays, or a fresh one missed: the endings recorded since
        // the break first (so their reasons are known), then every watched user's sessions.
        let caught_up = match read_endings(&db, &hub, broken_at, &mut seen).await {
            Ok(_) => resync(&registry, &hub).await,
            Err(err) => Err(err),
        };
        if let Err(err) = caught_up {
            tracing::warn!(%err, "live sign-out: could not catch up after reopening");
        }
        tracing::info!("live sign-out: change stream reopened");
    }
}

/// Hands one change event to the hub.
fn dispatch(hub: &LiveSessions, event: &ChangeStreamEvent<Document>) {
    let collection = event.ns.as_ref().and_then(|ns| ns.coll.as_deref());
    let key = event.document_key.as_ref().and_then(|k| k.get_str("_id").ok());
    let full = event.full_document.as_ref();
    let text = |field: &str| full.and_then(|d| d.get_str(field).ok());
    match (collection, &event.operation_type) {
        (Some(db::SESSIONS), OperationType::Delete) => {
            if let Some(key) = key {
                hub.session_deleted(key);
            }
        }
        (Some(db::SESSIONS), OperationType::Insert) => {
            if let (Some(key), Some(user_id)) = (key, text("user_id")) {
                hub.session_created(key, user_id);
            }
        }
        (Some(db::SECURITY_EVENTS), OperationType::Insert) => {
            if let Some((user_id, ending)) = full.and_then(ending_in) {
                hub.ending_recorded(user_id, ending);
            }
        }
        _ => {}
    }
}

/// Compares every watched user's sessions with what the hub knows: one query for all of them.
async fn resync(registry: &SessionRegistry, hub: &LiveSessions) -> Result<(), DbError> {
    let users = hub.watched_users();
    if users.is_empty() {
        return Ok(());
    }
    let known_before: HashMap<String, HashSet<String>> = users.iter().map(|u| (u.clone(), hub.known_keys(u))).collect();
    let mut keys: HashMap<String, HashSet<String>> = users.iter().map(|u| (u.clone(), HashSet::new())).collect();
    for (user_id, key) in registry.keys_of_users(&users).await? {
        keys.entry(user_id).or_default().insert(key);
    }
    for (user_id, keys) in keys {
        hub.reconcile(&user_id, &keys, &known_before[&user_id]);
    }
    Ok(())
}

/// Hands the hub the endings of watched users recorded since `since` less [`OVERLAP`], in one
/// query, each event once (`seen`). Returns the time of this look, the `since` of the next.
async fn read_endings(db: &Database, hub: &LiveSessions, since: DateTime, seen: &mut SeenEvents) -> Result<DateTime, DbError> {
    let looked_at = DateTime::now();
    let users = hub.watched_users();
    if users.is_empty() {
        return Ok(looked_at);
    }
    let overlap_ms = i64::try_from(OVERLAP.as_millis()).unwrap_or(i64::MAX);
    let from = DateTime::from_millis(since.timestamp_millis().saturating_sub(overlap_ms));
    let filter = doc! { "user_id": { "$in": &users }, "at": { "$gte": from }, "kind": { "$in": ending_kinds() } };
    let found: Vec<Document> = db.collection::<Document>(db::SECURITY_EVENTS).find(filter).await?.try_collect().await?;
    for event in &found {
        let first_time = match (event.get_object_id("_id"), event.get_datetime("at")) {
            (Ok(id), Ok(at)) => seen.first_time(id, *at),
            _ => true,
        };
        if first_time && let Some((user_id, ending)) = ending_in(event) {
            hub.ending_recorded(user_id, ending);
        }
    }
    seen.forget_before(from);
    Ok(looked_at)
}

/// The polling feed: once a second, the endings recorded since the last look (and a little
/// before, for events that committed late), then every watched user's session keys, each in
/// one query for all users. Reads only; never a touch.
async fn poll(db: Database, registry: SessionRegistry, hub: LiveSessions) {
    let mut since = DateTime::now();
    let mut seen = SeenEvents::default();
    let mut ticks = tokio::time::interval(POLL_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match read_endings(&db, &hub, since, &mut seen).await {
            Ok(looked_at) => since = looked_at,
            Err(err) => tracing::warn!(%err, "live sign-out: polling security events failed; will retry"),
        }
        if let Err(err) = resync(&registry, &hub).await {
            tracing::warn!(%err, "live sign-out: polling sessions failed; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_read_by_overlapping_looks_is_handed_over_once_and_then_forgotten() {
        let mut seen = SeenEvents::default();
        let (early, late) = (DateTime::from_millis(1_000), DateTime::from_millis(9_000));
        let (a, b) = (ObjectId::new(), ObjectId::new());
        assert!(seen.first_time(a, early));
        assert!(seen.first_time(b, late));
        assert!(!seen.first_time(a, early), "the next look reads it again: a repeat");
        seen.forget_before(DateTime::from_millis(5_000));
        assert_eq!(seen.0.len(), 1, "older than any later look reaches: forgotten");
        assert!(!seen.first_time(b, late));
    }

    #[test]
    fn only_endings_are_read_from_security_events() {
        let failed = doc! { "user_id": "u", "kind": "failed_login", "session_handle": "h" };
        assert_eq!(ending_in(&failed), None, "anyone who knows an email can write these");
        let others = doc! { "user_id": "u", "kind": "sign_out_others", "session_handle": "h", "ended_handles": ["x", "y"] };
        let expected =
            Ending { kind: SecurityEventKind::SignOutOthers, handle: Some("h".into()), ended_handles: vec!["x".into(), "y".into()] };
        assert_eq!(ending_in(&others), Some(("u", expected)));
    }
}
