//! The shape of a session in MongoDB and the conversions to and from `tower-sessions` records.

use std::collections::HashMap;

use mongodb::bson::{self, DateTime, Document, doc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

use super::policy::ExpiryPolicy;
use crate::db::DbError;

/// Session-data key whose string value the store copies to the indexed `user_id` field.
pub const USER_ID_KEY: &str = "user_id";
/// Session-data key whose string value the store copies to the `user_agent` field.
pub const USER_AGENT_KEY: &str = "user_agent";
/// Session-data key whose string value the store copies to the `ip` field.
pub const IP_KEY: &str = "ip";
/// Session-data key of the account's email, so that a page can say who is signed in without
/// reading `users`. Accounts cannot change their email, so the copy never goes stale.
pub const EMAIL_KEY: &str = "email";

/// One session as stored. The session token itself never appears: `_id` is its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionDocument {
    #[serde(rename = "_id")]
    pub key: String,
    pub handle: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
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
}

/// A session as the security page lists it: the stored document without its `data`, which
/// the listing query projects out.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SessionSummary {
    #[serde(rename = "_id")]
    pub key: String,
    pub handle: String,
    #[serde(default)]
    pub user_id: Option<String>,
    pub created_at: DateTime,
    pub last_seen_at: DateTime,
    pub expires_at: DateTime,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
}

/// The fields the store copies out of the session data, so they can be queried and shown.
pub(crate) struct LiftedFields {
    pub data: Document,
    pub user_id: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl LiftedFields {
    /// Encodes a record's data and copies out the well-known keys.
    pub fn from_record(record: &Record) -> Result<Self, DbError> {
        let data = bson::to_document(&record.data).map_err(|e| DbError::Encode(e.to_string()))?;
        let text = |key: &str| record.data.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        Ok(Self { user_id: text(USER_ID_KEY), user_agent: text(USER_AGENT_KEY), ip: text(IP_KEY), data })
    }
}

impl SessionDocument {
    /// A fresh document for `record`, created and last seen at `now`.
    pub fn new(record: &Record, now: OffsetDateTime, expires_at: OffsetDateTime) -> Result<Self, DbError> {
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
        })
    }

    /// Whether this session is live at `now` under `policy`.
    pub fn is_live(&self, policy: &ExpiryPolicy, now: OffsetDateTime) -> bool {
        policy.is_live(self.created_at.to_time_0_3(), self.last_seen_at.to_time_0_3(), self.expires_at.to_time_0_3(), now)
    }

    /// Rebuilds the `tower-sessions` record for the session whose token is `id`.
    pub fn into_record(self, id: Id) -> Result<Record, DbError> {
        let data: HashMap<String, serde_json::Value> = bson::from_document(self.data).map_err(|e| DbError::Decode(e.to_string()))?;
        Ok(Record { id, data, expiry_date: self.expires_at.to_time_0_3() })
    }
}

impl SessionSummary {
    /// Whether this session is live at `now` under `policy`.
    pub fn is_live(&self, policy: &ExpiryPolicy, now: OffsetDateTime) -> bool {
        policy.is_live(self.created_at.to_time_0_3(), self.last_seen_at.to_time_0_3(), self.expires_at.to_time_0_3(), now)
    }
}

/// The `_id` under which the session with token `id` is stored: the hex SHA-256 of the
/// cookie value. Someone who reads the database cannot turn it back into a usable cookie.
pub(crate) fn storage_key(id: &Id) -> String {
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
