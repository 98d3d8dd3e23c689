//! The one feed of changes per instance: a MongoDB change stream where the server offers one
//! ([`change_stream`]), else one batched query a second ([`poll`]). This file picks the mode and
//! reads the security events both modes hand to the hub.

mod change_stream;
mod poll;

use std::time::Duration;

use mongodb::{
    Database,
    bson::{Bson, Document},
};
use sessionguard_store::SessionRegistry;

use super::{ENDING_KINDS, Ending, LiveSessions};
use crate::model::SecurityEventKind;

/// How often the polling feed looks, and how long the change stream waits before reopening.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// How the instance learns of changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedMode {
    /// One change stream on the database (replica sets and sharded clusters).
    ChangeStream,
    /// One batched query a second for every watched user (a standalone server without an oplog).
    Polling,
}

/// The kinds of security event that end sessions, as BSON for a query.
fn ending_kinds() -> Vec<Bson> {
    ENDING_KINDS.iter().filter_map(|k| mongodb::bson::to_bson(k).ok()).collect()
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

/// Starts the feed for `hub` and says which mode it runs in (logged once at start-up): a
/// change stream when the server accepts one, else polling.
pub async fn spawn(db: Database, registry: SessionRegistry, hub: LiveSessions) -> FeedMode {
    let mode = start(db, registry, hub.clone()).await;
    let _ = hub.mode.set(mode);
    mode
}

async fn start(db: Database, registry: SessionRegistry, hub: LiveSessions) -> FeedMode {
    match db.watch().pipeline(change_stream::pipeline()).await {
        Ok(stream) => {
            tracing::info!("live sign-out: one MongoDB change stream on this instance");
            tokio::spawn(change_stream::follow_changes(db, registry, hub, stream));
            FeedMode::ChangeStream
        }
        Err(err) => {
            tracing::info!(%err, "live sign-out: the server offers no change streams; polling once a second instead");
            hub.set_reason_wait(POLL_EVERY + super::REASON_WAIT);
            tokio::spawn(poll::poll(db, registry, hub));
            FeedMode::Polling
        }
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    use super::*;

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
