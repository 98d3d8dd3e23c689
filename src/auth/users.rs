//! The `users` collection: one document per account, keyed by a normalized email.

use std::sync::Arc;

use mongodb::{
    Collection, Database,
    bson::{Bson, DateTime, Document, doc, oid::ObjectId},
};
use serde::{Deserialize, Deserializer, Serialize};

use super::{DeviceKey, KnownDevices, password::PasswordHashString};
use crate::{
    clock::Clock,
    db::{self, DbError, is_duplicate_key},
};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct UserDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    email: String,
    password_hash: String,
    created_at: DateTime,
    password_changed_at: DateTime,
    /// Set by an operator (`sessionguard users disable`): the account cannot sign in.
    #[serde(default)]
    disabled: bool,
    /// The devices it signed in from; absent in accounts stored before accounts kept them.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "readable_or_absent")]
    known_devices: Option<KnownDevices>,
}

/// A `known_devices` field that cannot be read counts as absent: the account then learns its
/// devices again from its sign-in records, rather than fail every sign-in.
fn readable_or_absent<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<KnownDevices>, D::Error> {
    let stored = Option::<Bson>::deserialize(deserializer)?;
    Ok(stored.and_then(|value| mongodb::bson::from_bson(value).ok()))
}

/// An account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The account id, as stored in sessions' `user_id`.
    pub id: String,
    /// The normalized email address.
    pub email: String,
    /// When its password last changed (or the account was created), as read. A session started
    /// on the strength of this password is only good while the stored value is unchanged.
    pub password_changed_at: DateTime,
    /// Whether an operator disabled the account, as read.
    pub disabled: bool,
}

/// What decides whether a session of an account may start: the fields that
/// [`Users::sign_in_state`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SignInState {
    /// When the password last changed.
    pub password_changed_at: DateTime,
    /// Whether an operator disabled the account.
    #[serde(default)]
    pub disabled: bool,
}

/// An account with what checking its password needs.
#[derive(Debug, Clone)]
pub struct StoredAccount {
    /// The account.
    pub user: User,
    /// Its password hash.
    pub hash: PasswordHashString,
    /// The devices it signed in from, or `None` for an account stored before accounts kept them.
    pub known_devices: Option<KnownDevices>,
}

impl From<UserDocument> for StoredAccount {
    fn from(d: UserDocument) -> Self {
        Self { user: User::from(&d), hash: PasswordHashString::from_stored(d.password_hash), known_devices: d.known_devices }
    }
}

impl From<&UserDocument> for User {
    fn from(d: &UserDocument) -> Self {
        Self { id: d.id.to_hex(), email: d.email.clone(), password_changed_at: d.password_changed_at, disabled: d.disabled }
    }
}

/// Access to the `users` collection. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Users {
    users: Collection<UserDocument>,
    /// The same collection for the known devices, written with the client's default write
    /// concern: a best-effort record whose loss costs one extra alert, not a majority write.
    devices: Collection<Document>,
    clock: Arc<dyn Clock>,
}

impl Users {
    /// The accounts in `db`, time-stamped by `clock`.
    pub fn new(db: &Database, clock: Arc<dyn Clock>) -> Self {
        // Majority writes: a password change must not be rolled back after it ended sessions.
        Self { users: db.collection_with_options(db::USERS, db::durable()), devices: db.collection(db::USERS), clock }
    }

    /// Stores a new account for `email` (already normalized and validated) with `hash`, that
    /// knows `first_device` (the registering browser's; `None` from the `create-user` command).
    /// Returns `None` when the email already has an account (the unique index decides, so two
    /// concurrent registrations cannot both succeed).
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn insert(
        &self,
        email: String,
        hash: &PasswordHashString,
        first_device: Option<&DeviceKey>,
    ) -> Result<Option<User>, DbError> {
        let at = self.clock.now();
        let now = DateTime::from_time_0_3(at);
        let document = UserDocument {
            id: ObjectId::new(),
            email,
            password_hash: hash.as_str().to_owned(),
            created_at: now,
            password_changed_at: now,
            disabled: false,
            known_devices: Some(KnownDevices::first(first_device, at)),
        };
        match self.users.insert_one(&document).await {
            Ok(_) => Ok(Some(User::from(&document))),
            Err(err) if is_duplicate_key(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The account with this normalized email and its password hash, if any.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn find_by_email(&self, email: &str) -> Result<Option<StoredAccount>, DbError> {
        Ok(self.users.find_one(doc! { "email": email }).await?.map(StoredAccount::from))
    }

    /// Remembers that `device` signed in to account `id` now, and drops the keys `forget` (what
    /// [`KnownDevices::to_forget`] names): one update by `_id`, of those keys alone, so sign-ins
    /// from two devices at once both count.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn remember_device(&self, id: &str, device: &DeviceKey, forget: &[String]) -> Result<(), DbError> {
        let Ok(id) = ObjectId::parse_str(id) else {
            return Ok(());
        };
        let now = DateTime::from_time_0_3(self.clock.now());
        let mut update = doc! { "$set": { format!("known_devices.{}", device.as_str()): now } };
        if !forget.is_empty() {
            let keys: Document = forget.iter().map(|key| (format!("known_devices.{key}"), Bson::from(""))).collect();
            update.insert("$unset", keys);
        }
        self.devices.update_one(doc! { "_id": id }, update).await?;
        Ok(())
    }

    /// Stores `known` as the devices of account `id`, if it keeps none yet: an account stored
    /// before accounts kept their devices, which learned them from its sign-in records.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn adopt_devices(&self, id: &str, known: &KnownDevices) -> Result<(), DbError> {
        let Ok(id) = ObjectId::parse_str(id) else {
            return Ok(());
        };
        let known = mongodb::bson::to_bson(known).map_err(|err| DbError::Encode(err.to_string()))?;
        let filter = doc! { "_id": id, "known_devices": { "$exists": false } };
        self.devices.update_one(filter, doc! { "$set": { "known_devices": known } }).await?;
        Ok(())
    }

    /// The account with this id and its password hash, if any. A malformed id finds nothing.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn find_by_id(&self, id: &str) -> Result<Option<StoredAccount>, DbError> {
        let Ok(id) = ObjectId::parse_str(id) else {
            return Ok(None);
        };
        Ok(self.users.find_one(doc! { "_id": id }).await?.map(StoredAccount::from))
    }

    /// When the password of account `id` last changed and whether it is disabled, or `None`
    /// when there is no such account. Reads those two fields only (every new session pays for
    /// this read).
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn sign_in_state(&self, id: &str) -> Result<Option<SignInState>, DbError> {
        let Ok(id) = ObjectId::parse_str(id) else {
            return Ok(None);
        };
        let projection = doc! { "_id": 0, "password_changed_at": 1, "disabled": 1 };
        Ok(self.users.clone_with_type::<SignInState>().find_one(doc! { "_id": id }).projection(projection).await?)
    }

    /// Disables (`disabled`) or enables the account with this normalized email, at write
    /// concern `majority`. Returns the account as it is now, or `None` when there is none.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached or did not confirm the write.
    pub async fn set_disabled(&self, email: &str, disabled: bool) -> Result<Option<User>, DbError> {
        let updated = self
            .users
            .find_one_and_update(doc! { "email": email }, doc! { "$set": { "disabled": disabled } })
            .return_document(mongodb::options::ReturnDocument::After)
            .await?;
        Ok(updated.as_ref().map(User::from))
    }

    /// Deletes the account `id`. Returns whether there was one.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn delete(&self, id: &str) -> Result<bool, DbError> {
        let Ok(id) = ObjectId::parse_str(id) else {
            return Ok(false);
        };
        Ok(self.users.delete_one(doc! { "_id": id }).await?.deleted_count == 1)
    }

    /// Replaces the password of account `user` and records when. Returns the account as it is
    /// now (with the new `password_changed_at`), or `None` when it no longer exists.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached, or did not confirm the write: the
    /// password may then have changed or not.
    pub async fn set_password(&self, user: &User, hash: &PasswordHashString) -> Result<Option<User>, DbError> {
        let Ok(id) = ObjectId::parse_str(&user.id) else {
            return Ok(None);
        };
        let now = DateTime::from_time_0_3(self.clock.now());
        let result = self
            .users
            .update_one(doc! { "_id": id }, doc! { "$set": { "password_hash": hash.as_str(), "password_changed_at": now } })
            .await?;
        Ok((result.matched_count == 1).then(|| User { password_changed_at: now, ..user.clone() }))
    }
}
