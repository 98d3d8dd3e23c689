//! The `users` collection: one document per account, keyed by a normalized email.

use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, doc, oid::ObjectId},
    options::IndexOptions,
};
use serde::{Deserialize, Serialize};

use super::password::{PasswordHashString, hash_password};
use crate::{
    error::AppError,
    validation::{normalize_email, validate_email, validate_password},
};

/// The collection that holds accounts.
pub const USERS_COLLECTION: &str = "users";

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
}

impl Users {
    /// The accounts in `db`.
    pub fn new(db: &Database) -> Self {
        Self { users: db.collection(USERS_COLLECTION) }
    }

    /// Creates the unique index on `email`.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn ensure_indexes(&self) -> Result<(), AppError> {
        let unique = IndexOptions::builder().unique(true).build();
        self.users
            .create_index(IndexModel::builder().keys(doc! { "email": 1 }).options(unique).build())
            .await
            .map_err(AppError::from)?;
        Ok(())
    }

    /// Creates an account after checking the email and password rules.
    ///
    /// # Errors
    /// [`AppError::Invalid`] naming the field and the rule broken, [`AppError::EmailTaken`] when the email
    /// already has an account, [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn create(&self, email: &str, password: String) -> Result<User, AppError> {
        let email = normalize_email(email);
        validate_email(&email).map_err(|m| AppError::invalid("email", m))?;
        validate_password(&password).map_err(|m| AppError::invalid("password", m))?;
        let hash = hash_password(password).await.map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            AppError::Internal
        })?;
        let now = DateTime::now();
        let document = UserDocument {
            id: ObjectId::new(),
            email,
            password_hash: hash.as_str().to_owned(),
            created_at: now,
            password_changed_at: now,
        };
        match self.users.insert_one(&document).await {
            Ok(_) => Ok(User::from(&document)),
            Err(err) if crate::store::is_duplicate_key(&err) => Err(AppError::EmailTaken),
            Err(err) => Err(err.into()),
        }
    }

    /// The account with this email (normalized here) and its password hash, if any.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn find_by_email(&self, email: &str) -> Result<Option<(User, PasswordHashString)>, AppError> {
        let found = self
            .users
            .find_one(doc! { "email": normalize_email(email) })
            .await
            .map_err(AppError::from)?;
        Ok(found.map(|d| (User::from(&d), PasswordHashString::from_stored(d.password_hash))))
    }

    /// The account with this id and its password hash, if any.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn find_by_id(&self, id: &str) -> Result<Option<(User, PasswordHashString)>, AppError> {
        let Ok(id) = ObjectId::parse_str(id) else {
            return Ok(None);
        };
        let found = self.users.find_one(doc! { "_id": id }).await.map_err(AppError::from)?;
        Ok(found.map(|d| (User::from(&d), PasswordHashString::from_stored(d.password_hash))))
    }

    /// Replaces the password of account `id` and records when.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn set_password(&self, id: &str, hash: &PasswordHashString) -> Result<(), AppError> {
        let id = ObjectId::parse_str(id).map_err(|_| AppError::NotSignedIn)?;
        self.users
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "password_hash": hash.as_str(), "password_changed_at": DateTime::now() } },
            )
            .await
            .map_err(AppError::from)?;
        Ok(())
    }
}
