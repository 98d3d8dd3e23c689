//! The `security_events` collection: what happened to an account, kept for 90 days.

use std::sync::Arc;

use futures_util::TryStreamExt;
use mongodb::{
    Collection, Database,
    bson::{DateTime, doc},
};
use serde::{Deserialize, Serialize};

use super::client::{ClientInfo, device_summary};
use crate::{
    clock::Clock,
    db::{self, DbError},
    model::{SecurityEventKind, SecurityEventRow},
};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EventDocument {
    user_id: String,
    kind: SecurityEventKind,
    at: DateTime,
    #[serde(default)]
    session_handle: Option<String>,
    ip: String,
    user_agent: String,
    #[serde(default)]
    sessions_ended: Option<i64>,
}

/// Records and lists security events. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SecurityEvents {
    events: Collection<EventDocument>,
    clock: Arc<dyn Clock>,
}

impl SecurityEvents {
    /// The events in `db`, time-stamped by `clock`.
    pub fn new(db: &Database, clock: Arc<dyn Clock>) -> Self {
        Self { events: db.collection(db::SECURITY_EVENTS), clock }
    }

    /// Records that `kind` happened to `user_id`, from `client`, involving the session `handle`.
    ///
    /// A failure is logged and swallowed: losing an audit line must not undo a sign-out.
    pub async fn record(
        &self,
        user_id: &str,
        kind: SecurityEventKind,
        client: &ClientInfo,
        session_handle: Option<String>,
        sessions_ended: Option<u64>,
    ) {
        let event = EventDocument {
            user_id: user_id.to_owned(),
            kind,
            at: DateTime::from_time_0_3(self.clock.now()),
            session_handle,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            sessions_ended: sessions_ended.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        };
        if let Err(err) = self.events.insert_one(&event).await {
            tracing::warn!(%err, ?kind, "could not record a security event");
        }
    }

    /// Removes every event of `user_id`. Returns how many there were.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn delete_all(&self, user_id: &str) -> Result<u64, DbError> {
        Ok(self.events.delete_many(doc! { "user_id": user_id }).await?.deleted_count)
    }

    /// The `limit` most recent events of `user_id`, newest first.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn recent(&self, user_id: &str, limit: i64) -> Result<Vec<SecurityEventRow>, DbError> {
        let documents: Vec<EventDocument> =
            self.events.find(doc! { "user_id": user_id }).sort(doc! { "at": -1 }).limit(limit).await?.try_collect().await?;
        Ok(documents
            .into_iter()
            .map(|d| SecurityEventRow {
                kind: d.kind,
                at_ms: d.at.timestamp_millis(),
                session_handle: d.session_handle,
                device: device_summary(&d.user_agent).0,
                ip: d.ip,
                sessions_ended: d.sessions_ended.and_then(|n| u64::try_from(n).ok()),
            })
            .collect())
    }
}
