//! The `security_events` collection: what happened to an account, kept for 90 days.

use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, doc},
    options::IndexOptions,
};
use serde::{Deserialize, Serialize};

use super::client::ClientInfo;
use crate::{
    error::AppError,
    model::{SecurityEventKind, SecurityEventRow},
    store::StoreError,
};

/// The collection that holds security events.
pub const SECURITY_EVENTS_COLLECTION: &str = "security_events";

/// How long events are kept before the TTL index removes them.
const RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

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
}

impl SecurityEvents {
    /// The events in `db`.
    pub fn new(db: &Database) -> Self {
        Self { events: db.collection(SECURITY_EVENTS_COLLECTION) }
    }

    /// Creates the `(user_id, at)` index and the 90-day TTL on `at`.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn ensure_indexes(&self) -> Result<(), AppError> {
        self.events
            .create_index(IndexModel::builder().keys(doc! { "user_id": 1, "at": -1 }).build())
            .await
            .map_err(AppError::from)?;
        let ttl = IndexOptions::builder().expire_after(RETENTION).build();
        if let Err(err) = self.events.create_index(IndexModel::builder().keys(doc! { "at": 1 }).options(ttl).build()).await {
            let err = StoreError::from(err);
            if err.is_unavailable() {
                return Err(err.into());
            }
            tracing::warn!(%err, "no TTL index on security_events; events are kept until deleted by hand");
        }
        Ok(())
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
            at: DateTime::now(),
            session_handle,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            sessions_ended: sessions_ended.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        };
        if let Err(err) = self.events.insert_one(&event).await {
            tracing::warn!(%err, ?kind, "could not record a security event");
        }
    }

    /// The `limit` most recent events of `user_id`, newest first.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn recent(&self, user_id: &str, limit: i64) -> Result<Vec<SecurityEventRow>, AppError> {
        let documents: Vec<EventDocument> = self
            .events
            .find(doc! { "user_id": user_id })
            .sort(doc! { "at": -1 })
            .limit(limit)
            .await
            .map_err(AppError::from)?
            .try_collect()
            .await
            .map_err(AppError::from)?;
        Ok(documents
            .into_iter()
            .map(|d| SecurityEventRow {
                kind: d.kind,
                at_ms: d.at.timestamp_millis(),
                session_handle: d.session_handle,
                device: super::client::device_summary(&d.user_agent).0,
                ip: d.ip,
                sessions_ended: d.sessions_ended.and_then(|n| u64::try_from(n).ok()),
            })
            .collect())
    }
}
