//! The shape of a session in MongoDB and the conversions to and from `tower-sessions` records.

use std::collections::HashMap;

use mongodb::bson::{self, DateTime, Document, doc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

use super::policy::ExpiryPolicy;
use crate::error::StoreError;

/// Session-data key whose string value the store copies to the indexed `user_id` field.
pub const USER_ID_KEY: &str = "user_id";
/// Session-data key whose string value the store copies to the `user_agent` field.
pub const USER_AGENT_KEY: &str = "user_agent";
/// Session-data key whose string value the store copies to the `ip` field.
pub const IP_KEY: &str = "ip";
/// Session-data key whose boolean value the store copies to the `new_device` field: whether the
/// app judged the sign-in to come from a device new to the account, so a list of sessions can
/// say so without another query.
pub const NEW_DEVICE_KEY: &str = "new_device";

/// One session as stored. The session token itself never appears: `_id` is its SHA-256.
///
/// Reads that project `data` out (listing, peeking, ending) decode into this same type, with
/// empty `data`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionDocument {
    #[serde(rename = "_id")]
    pub key: String,
    pub handle: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default)]
    pub data: Document,
    pub created_at: DateTime,
    pub last_seen_at: DateTime,
    pub expires_at: DateTime,
    /// The tower-sessions record's own expiry as last written, which `expires_at` never passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_expires_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_device: Option<bool>,
}

/// The fields the store copies out of the session data, so they can be queried and shown.
pub(crate) struct LiftedFields {
    pub data: Document,
    pub user_id: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub new_device: Option<bool>,
}

impl LiftedFields {
    /// Encodes a record's data and copies out the well-known keys.
    pub fn from_record(record: &Record) -> Result<Self, StoreError> {
        let data = bson::to_document(&record.data).map_err(|e| StoreError::Encode(e.to_string()))?;
        let text = |key: &str| record.data.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let new_device = record.data.get(NEW_DEVICE_KEY).and_then(serde_json::Value::as_bool);
        Ok(Self { user_id: text(USER_ID_KEY), user_agent: text(USER_AGENT_KEY), ip: text(IP_KEY), new_device, data })
    }
}

impl SessionDocument {
    /// A fresh document for `record`, created and last seen at `now`.
    pub fn new(record: &Record, now: OffsetDateTime, expires_at: OffsetDateTime) -> Result<Self, StoreError> {
        let fields = LiftedFields::from_record(record)?;
        Ok(Self {
            key: storage_key(&record.id),
            handle: new_handle(),
            user_id: fields.user_id,
            data: fields.data,
            created_at: DateTime::from_time_0_3(now),
            last_seen_at: DateTime::from_time_0_3(now),
            expires_at: DateTime::from_time_0_3(expires_at),
            record_expires_at: Some(DateTime::from_time_0_3(record.expiry_date)),
            user_agent: fields.user_agent,
            ip: fields.ip,
            new_device: fields.new_device,
        })
    }

    /// Whether this session is live at `now` under `policy`.
    pub fn is_live(&self, policy: &ExpiryPolicy, now: OffsetDateTime) -> bool {
        policy.is_live(self.created_at.to_time_0_3(), self.last_seen_at.to_time_0_3(), self.expires_at.to_time_0_3(), now)
    }

    /// Rebuilds the `tower-sessions` record for the session whose token is `id`.
    pub fn into_record(self, id: Id) -> Result<Record, StoreError> {
        let data: HashMap<String, serde_json::Value> = bson::from_document(self.data).map_err(|e| StoreError::Decode(e.to_string()))?;
        Ok(Record { id, data, expiry_date: self.expires_at.to_time_0_3() })
    }
}

/// One session as the store reports it to callers: who owns it, where it was signed in, and
/// its times. Holds no token and no session data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The storage key (`_id`, the SHA-256 of the token), which change events name.
    pub key: String,
    /// The public handle: random, unrelated to the token, safe to show and to put in a form.
    pub handle: String,
    /// The owner, copied from the session data's [`USER_ID_KEY`]; `None` before sign-in.
    pub user_id: Option<String>,
    /// The session data's [`USER_AGENT_KEY`], if set.
    pub user_agent: Option<String>,
    /// The session data's [`IP_KEY`], if set.
    pub ip: Option<String>,
    /// The session data's [`NEW_DEVICE_KEY`]: whether it signed in from a device new to the
    /// account (`false` when not set).
    pub new_device: bool,
    /// When the session was created.
    pub created_at: OffsetDateTime,
    /// When it was last used (to within the policy's touch interval).
    pub last_seen_at: OffsetDateTime,
    /// When it expires unless used again.
    pub expires_at: OffsetDateTime,
}

impl SessionInfo {
    /// Whether this is the session whose cookie carries token `id`.
    pub fn has_token(&self, id: &Id) -> bool {
        self.key == storage_key(id)
    }
}

impl From<SessionDocument> for SessionInfo {
    fn from(document: SessionDocument) -> Self {
        Self {
            key: document.key,
            handle: document.handle,
            user_id: document.user_id,
            user_agent: document.user_agent,
            ip: document.ip,
            new_device: document.new_device.unwrap_or(false),
            created_at: document.created_at.to_time_0_3(),
            last_seen_at: document.last_seen_at.to_time_0_3(),
            expires_at: document.expires_at.to_time_0_3(),
        }
    }
}

/// The `_id` under which the session with token `id` is stored: the hex SHA-256 of the
/// cookie value. Someone who reads the database cannot turn it back into a usable cookie, and
/// code that holds a token can still find its document (or match it in a change event).
pub fn storage_key(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

/// A new public handle: 96 random bits, hex. Unrelated to the token, so showing it is harmless.
pub(crate) fn new_handle() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The `_id` filter for the session with token `id`.
pub(crate) fn by_key(id: &Id) -> Document {
    doc! { "_id": storage_key(id) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_key_is_a_hash_not_the_token() {
        let id = Id::default();
        let key = storage_key(&id);
        assert_eq!(key.len(), 64);
        assert!(!key.contains(&id.to_string()));
        assert_eq!(key, storage_key(&id), "the key must be stable for one token");
        assert_ne!(key, storage_key(&Id::default()));
    }

    #[test]
    fn handles_are_random_and_unrelated_to_tokens() {
        assert_ne!(new_handle(), new_handle());
        assert_eq!(new_handle().len(), 24);
    }
}
