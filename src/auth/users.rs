//! The `users` collection: one document per account, keyed by a normalized email.

use std::sync::Arc;

use mongodb::{
    Collection, Database,
    bson::{DateTime, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

use super::password::PasswordHashString;
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
}

/// An account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The account id, as stored in sessions' `user_id`.
    pub id: String,
    /// The normalized email address.
    pub email: String,
}

impl From<&UserDocument> for User {
    fn from(d: &UserDocument) -> Self {
        Self { id: d.id.to_hex(), email: d.email.clone() }
    }
}

/// Access to the `users` collection. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Users {
    users: Collection<UserDocument>,
    clock: Arc<dyn Clock>,
}

impl Users {
    /// The accounts in `db`, time-stamped by `clock`.
    pub fn new(db: &Database, clock: Arc<dyn Clock>) -> Self {
        Self { users: db.collection(db::USERS), clock }
    }

    /// Stores a new account for `email` (already normalized and validated) with `hash`.
    /// Returns `None` when the email already has an account (the unique index decides, so two
    /// concurrent registrations cannot both succeed).
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn insert(&self, email: String, hash: &PasswordHashString) -> Result<Option<User>, DbError> {
        let now = DateTime::from_time_0_3(self.clock.now());
        let document =
            UserDocument { id: ObjectId::new(), email, password_hash: hash.as_str().to_owned(), created_at: now, password_changed_at: now };
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
    pub async fn find_by_email(&self, email: &str) -> Result<Option<(User, PasswordHashString)>, DbError> {
        let found = self.users.find_one(doc! { "email": email }).await?;
        Ok(found.map(|d| (User::from(&d), PasswordHashString::from_stored(d.password_hash))))
    }

    /// The account with this id and its password hash, if any. A malformed id finds nothing.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn find_by_id(&self, id: &str) -> Result<Option<(User, PasswordHashString)>, DbError> {
        let Ok(id) = ObjectId::parse_str(id) else {
            return Ok(None);
        };
        let found = self.users.find_one(doc! { "_id": id }).await?;
        Ok(found.map(|d| (User::from(&d), PasswordHashString::from_stored(d.password_hash))))
    }

    /// Replaces the password of account `id` and records when. Returns whether the account exists.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn set_password(&self, id: &str, hash: &PasswordHashString) -> Result<bool, DbError> {
        let Ok(id) = ObjectId::parse_str(id) else {
            return Ok(false);
        };
        let now = DateTime::from_time_0_3(self.clock.now());
        let result = self
            .users
            .update_one(doc! { "_id": id }, doc! { "$set": { "password_hash": hash.as_str(), "password_changed_at": now } })
            .await?;
        Ok(result.matched_count == 1)
    }
}
