//! The change-stream feed: one MongoDB change stream per instance, on session inserts and
//! deletes and on inserts of security events that end sessions.

use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use mongodb::{
    Database,
    bson::{DateTime, Document, doc},
    change_stream::{
        ChangeStream,
        event::{ChangeStreamEvent, OperationType, ResumeToken},
    },
};
use sessionguard_store::SessionRegistry;

use super::{
    POLL_EVERY, ending_in, hand_over,
    poll::{SeenEvents, read_endings, resync},
    watched_kinds,
};
use crate::{
    db,
    live::{Ending, LiveSessions},
    model::SecurityEventKind,
    telemetry::{self, EndingReason},
};

/// How long the change stream lets changes gather after a fetch before it asks for more, so
/// that a busy server answers one `getMore` per batch rather than one per change. It is the
/// most this adds to a live notice.
const GATHER: Duration = Duration::from_millis(25);

/// The change stream's filter: session inserts and deletes, and inserts of security events that
/// end sessions, projected to the few fields the hub reads (the session data never travels).
pub(super) fn pipeline() -> Vec<Document> {
    vec![
        doc! { "$match": { "$or": [
            { "ns.coll": db::SESSIONS, "operationType": { "$in": ["insert", "delete"] } },
            { "ns.coll": db::SECURITY_EVENTS, "operationType": "insert", "fullDocument.kind": { "$in": watched_kinds() } },
        ] } },
        doc! { "$project": {
            "operationType": 1, "ns": 1, "documentKey": 1,
            "fullDocument.user_id": 1, "fullDocument.kind": 1, "fullDocument.session_handle": 1,
            "fullDocument.ended_handles": 1, "fullDocument.sessions_ended": 1,
            "fullDocument.ip": 1, "fullDocument.at": 1, "fullDocument.sign_in": 1,
        } },
    ]
}

/// Reads the change stream for as long as the runtime lives. After an error it reopens where
/// it left off (the resume token); if that fails too it opens afresh, and then compares every
/// watched user's sessions once, so nothing that happened in between is missed.
pub(super) async fn follow_changes(
    db: Database,
    registry: SessionRegistry,
    hub: LiveSessions,
    mut stream: ChangeStream<ChangeStreamEvent<Document>>,
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
            if let Some(full) = full {
                if let Some((_, ending)) = ending_in(full) {
                    count_admin_ending(&ending, full);
                }
                hand_over(hub, full);
            }
        }
        _ => {}
    }
}

/// Operators end sessions from the command line, a process of its own whose counters no one
/// scrapes; every instance counts their endings here instead, as its change stream sees them
/// (so across instances, take the `max`, not the `sum`).
fn count_admin_ending(ending: &Ending, event: &Document) {
    if ending.kind == SecurityEventKind::AdminEnd {
        let count = event.get_i64("sessions_ended").ok().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        telemetry::sessions_ended(EndingReason::Recorded(SecurityEventKind::AdminEnd), count);
    }
}
