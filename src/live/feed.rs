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
use crate::model::{NewSignIn, SecurityEventKind};

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

/// The kinds of security event the feed reads, as BSON for a query: those that end sessions,
/// and sign-ins (which every other open tab of the account hears of).
fn watched_kinds() -> Vec<Bson> {
    ENDING_KINDS.iter().chain([&SecurityEventKind::Login]).filter_map(|k| mongodb::bson::to_bson(k).ok()).collect()
}

/// The sign-in a security-event document records, with its user; `None` for other kinds and
/// for a sign-in recorded without its origin (before new-sign-in alerts existed).
fn sign_in_in(event: &Document) -> Option<(&str, NewSignIn)> {
    let kind = mongodb::bson::from_bson::<SecurityEventKind>(event.get("kind")?.clone()).ok()?;
    if kind != SecurityEventKind::Login {
        return None;
    }
    let origin = event.get_document("sign_in").ok()?;
    let sign_in = NewSignIn {
        handle: event.get_str("session_handle").ok()?.to_owned(),
        device: origin.get_str("device").ok()?.to_owned(),
        ip: event.get_str("ip").ok()?.to_owned(),
        signed_in_at_ms: event.get_datetime("at").ok()?.timestamp_millis(),
        new_device: origin.get_bool("new_device").unwrap_or(false),
    };
    Some((event.get_str("user_id").ok()?, sign_in))
}

/// Hands the hub one security event the feed read: an ending, or a sign-in.
fn hand_over(hub: &LiveSessions, event: &Document) {
    if let Some((user_id, ending)) = ending_in(event) {
        hub.ending_recorded(user_id, ending);
    } else if let Some((user_id, sign_in)) = sign_in_in(event) {
        hub.sign_in_recorded(user_id, sign_in);
    }
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
