//! One batched look at the database for all watched users: the endings recorded since the last
//! look, and every watched user's session keys. The polling feed looks once a second; the
//! change stream looks once after each break, to catch up on what it missed.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use futures_util::TryStreamExt;
use mongodb::{
    Database,
    bson::{DateTime, Document, doc, oid::ObjectId},
};
use sessionguard_store::SessionRegistry;

use super::{POLL_EVERY, hand_over, watched_kinds};
use crate::{
    db::{self, DbError},
    live::LiveSessions,
};

/// How far back each look at the security events reaches before the previous look. An event
/// is stamped before its insert commits, so one that commits late carries a time the previous
/// look has already passed; the overlap reads it anyway, and [`SeenEvents`] drops the repeats.
const OVERLAP: Duration = Duration::from_secs(5);

/// The security events already handed to the hub, by `_id`, so that overlapping looks hand
/// each over once. An event is forgotten once it is older than any later look reaches.
#[derive(Debug, Default)]
pub(super) struct SeenEvents(HashMap<ObjectId, DateTime>);

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

/// Compares every watched user's sessions with what the hub knows: one query for all of them.
pub(super) async fn resync(registry: &SessionRegistry, hub: &LiveSessions) -> Result<(), DbError> {
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
pub(super) async fn read_endings(db: &Database, hub: &LiveSessions, since: DateTime, seen: &mut SeenEvents) -> Result<DateTime, DbError> {
    let looked_at = DateTime::now();
    let users = hub.watched_users();
    if users.is_empty() {
        return Ok(looked_at);
    }
    let overlap_ms = i64::try_from(OVERLAP.as_millis()).unwrap_or(i64::MAX);
    let from = DateTime::from_millis(since.timestamp_millis().saturating_sub(overlap_ms));
    let filter = doc! { "user_id": { "$in": &users }, "at": { "$gte": from }, "kind": { "$in": watched_kinds() } };
    let found: Vec<Document> = db.collection::<Document>(db::SECURITY_EVENTS).find(filter).await?.try_collect().await?;
    for event in &found {
        let first_time = match (event.get_object_id("_id"), event.get_datetime("at")) {
            (Ok(id), Ok(at)) => seen.first_time(id, *at),
            _ => true,
        };
        if first_time {
            hand_over(hub, event);
        }
    }
    seen.forget_before(from);
    Ok(looked_at)
}

/// The polling feed: once a second, the endings recorded since the last look (and a little
/// before, for events that committed late), then every watched user's session keys, each in
/// one query for all users. Reads only; never a touch.
pub(super) async fn poll(db: Database, registry: SessionRegistry, hub: LiveSessions) {
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
}
