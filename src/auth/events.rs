//! The `security_events` collection: what happened to an account, kept for 90 days.

use std::{collections::HashMap, sync::Arc};

use futures_util::TryStreamExt;
use mongodb::{
    Collection, Database,
    bson::{DateTime, doc},
};
use serde::{Deserialize, Serialize};

use super::{
    DeviceKey, KNOWN_DEVICE_WINDOW, KnownDevices,
    client::{ClientInfo, device_summary},
};
use crate::{
    clock::Clock,
    db::{self, DbError},
    model::{SecurityEventKind, SecurityEventRow},
    telemetry::{self, EndingReason},
};
use sessionguard_store::EndedSessions;

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
    /// The handles of the sessions an ending of several ended, so that live sign-out can tell
    /// each of their tabs why (matched by handle, never by time).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ended_handles: Vec<String>,
    /// For a sign-in or registration: the device summary and network it came from, which later
    /// sign-ins compare with, and whether that pair was new to the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_in: Option<SignInOrigin>,
}

/// Where a sign-in came from, as its security event keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SignInOrigin {
    device: String,
    network: Option<String>,
    new_device: bool,
}

/// How long a failed sign-in for an email without an account is kept: an hour, long enough for
/// an operator to see a burst, short enough that guessing cannot fill the database.
pub const UNKNOWN_ACCOUNT_ATTEMPT_RETENTION: time::Duration = time::Duration::hours(1);

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
        let mut event = self.event(user_id, kind, client, session_handle);
        event.sessions_ended = sessions_ended.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        self.insert(event).await;
    }

    /// Records a sign-in (`kind` [`SecurityEventKind::Login`]) or a registration of `user_id`
    /// from `client`, on the new session `session_handle`, with where it came from and whether
    /// that was a new device (a registration never is).
    /// A failure is logged and swallowed, as in [`record`](Self::record).
    pub async fn record_sign_in(
        &self,
        user_id: &str,
        kind: SecurityEventKind,
        client: &ClientInfo,
        session_handle: Option<String>,
        new_device: bool,
    ) {
        let origin = SignInOrigin { device: device_summary(&client.user_agent).0, network: client.network(), new_device };
        let mut event = self.event(user_id, kind, client, session_handle);
        event.sign_in = Some(origin);
        self.insert(event).await;
    }

    /// The devices `user_id` signed in or registered from within [`KNOWN_DEVICE_WINDOW`], as its
    /// sign-in records say. Asked only for an account stored before accounts kept their devices
    /// ([`KnownDevices`]), until one sign-in has stored what it learned: the query reads through
    /// the account's events, so its cost grows with the account's history.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn known_devices(&self, user_id: &str) -> Result<KnownDevices, DbError> {
        let since = DateTime::from_time_0_3(self.clock.now().saturating_sub(KNOWN_DEVICE_WINDOW));
        let filter = doc! { "user_id": user_id, "at": { "$gte": since }, "sign_in.device": { "$exists": true } };
        let mut records = self
            .events
            .clone_with_type::<mongodb::bson::Document>()
            .find(filter)
            .projection(doc! { "_id": 0, "at": 1, "sign_in.device": 1, "sign_in.network": 1 })
            .await?;
        let mut known = KnownDevices::default();
        while let Some(record) = records.try_next().await? {
            let (Ok(at), Ok(origin)) = (record.get_datetime("at"), record.get_document("sign_in")) else { continue };
            let Ok(device) = origin.get_str("device") else { continue };
            known.saw(DeviceKey::new(device, origin.get_str("network").ok()), *at);
        }
        Ok(known)
    }

    /// Records that `kind`, acting from the session `session_handle`, ended the sessions
    /// `ended`: their number, and their handles, which tell each of their open tabs why it
    /// ended. A failure is logged and swallowed, as in [`record`](Self::record).
    pub async fn record_ending(
        &self,
        user_id: &str,
        kind: SecurityEventKind,
        client: &ClientInfo,
        session_handle: Option<String>,
        ended: EndedSessions,
    ) {
        let mut event = self.event(user_id, kind, client, session_handle);
        event.sessions_ended = Some(i64::try_from(ended.count).unwrap_or(i64::MAX));
        event.ended_handles = ended.handles;
        self.insert(event).await;
    }

    /// The event `kind` of `user_id`, from `client`, involving `session_handle`, stamped now.
    fn event(&self, user_id: &str, kind: SecurityEventKind, client: &ClientInfo, session_handle: Option<String>) -> EventDocument {
        EventDocument {
            user_id: user_id.to_owned(),
            kind,
            at: DateTime::from_time_0_3(self.clock.now()),
            session_handle,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            sessions_ended: None,
            ended_handles: Vec::new(),
            sign_in: None,
        }
    }

    /// Counts the sessions `event` ended (`sessionguard_sessions_ended_total`), then stores it.
    async fn insert(&self, event: EventDocument) {
        let ended = match event.kind {
            SecurityEventKind::Logout | SecurityEventKind::Revoke => event.sessions_ended.unwrap_or(1),
            _ => event.sessions_ended.unwrap_or(0),
        };
        telemetry::sessions_ended(EndingReason::Recorded(event.kind), u64::try_from(ended).unwrap_or(0));
        if let Err(err) = self.events.insert_one(&event).await {
            tracing::warn!(%err, kind = ?event.kind, "could not record a security event");
        }
    }

    /// Records a failed sign-in for an email that has no account, from `client`. It belongs to
    /// no one (no `user_id`), so no activity page shows it; it exists so that a wrong password
    /// and an unknown email cost the same database commands, and so tell an attacker nothing.
    /// It is discarded after [`UNKNOWN_ACCOUNT_ATTEMPT_RETENTION`] (a TTL on `discard_at`), so
    /// guesses at unknown emails cannot fill the collection for 90 days.
    pub async fn record_unknown_account_attempt(&self, client: &ClientInfo) {
        let now = self.clock.now();
        let event = doc! {
            "kind": mongodb::bson::to_bson(&SecurityEventKind::FailedLogin).unwrap_or_default(),
            "at": DateTime::from_time_0_3(now),
            "discard_at": DateTime::from_time_0_3(now.saturating_add(UNKNOWN_ACCOUNT_ATTEMPT_RETENTION)),
            "ip": &client.ip,
            "user_agent": &client.user_agent,
        };
        if let Err(err) = self.events.clone_with_type::<mongodb::bson::Document>().insert_one(event).await {
            tracing::warn!(%err, "could not record a failed sign-in for an unknown email");
        }
    }

    /// Removes every event of `user_id`. Returns how many there were.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn delete_all(&self, user_id: &str) -> Result<u64, DbError> {
        Ok(self.events.delete_many(doc! { "user_id": user_id }).await?.deleted_count)
    }

    /// The `limit` most recent events of `user_id`, newest first. A revoke names the device
    /// it ended, read from that session's sign-in record (one more query, only when the list
    /// holds a revoke).
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn recent(&self, user_id: &str, limit: i64) -> Result<Vec<SecurityEventRow>, DbError> {
        let documents: Vec<EventDocument> =
            self.events.find(doc! { "user_id": user_id }).sort(doc! { "at": -1 }).limit(limit).await?.try_collect().await?;
        let revoked: Vec<&str> =
            documents.iter().filter(|d| d.kind == SecurityEventKind::Revoke).filter_map(|d| d.session_handle.as_deref()).collect();
        let devices = self.sign_in_devices(user_id, &revoked).await?;
        Ok(documents
            .into_iter()
            .map(|d| SecurityEventRow {
                kind: d.kind,
                at_ms: d.at.timestamp_millis(),
                ended_device: (d.kind == SecurityEventKind::Revoke)
                    .then(|| d.session_handle.as_ref().and_then(|h| devices.get(h).cloned()))
                    .flatten(),
                session_handle: d.session_handle,
                device: device_summary(&d.user_agent).0,
                ip: d.ip,
                sessions_ended: d.sessions_ended.and_then(|n| u64::try_from(n).ok()),
            })
            .collect())
    }

    /// The device each of the sessions `handles` signed in from, by handle, as their sign-in
    /// (or registration) records say.
    async fn sign_in_devices(&self, user_id: &str, handles: &[&str]) -> Result<HashMap<String, String>, DbError> {
        if handles.is_empty() {
            return Ok(HashMap::new());
        }
        let filter = doc! {
            "user_id": user_id,
            // `SecurityEventKind::Login` and `Registered`, as serde writes them.
            "kind": { "$in": ["login", "registered"] },
            "session_handle": { "$in": handles },
        };
        let sign_ins: Vec<EventDocument> = self.events.find(filter).await?.try_collect().await?;
        Ok(sign_ins.into_iter().filter_map(|d| Some((d.session_handle?, device_summary(&d.user_agent).0))).collect())
    }
}
