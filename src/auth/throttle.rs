//! Counting failed sign-ins in MongoDB, so every app instance sees the same counts.

use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{DateTime, Document, doc},
    options::IndexOptions,
};

use crate::{config::Config, error::AppError, store::StoreError};

/// The collection that holds one counter per account and per client address.
pub const LOGIN_THROTTLE_COLLECTION: &str = "login_throttle";

/// Failed-sign-in limits: after `max_failures_per_account` failures for one email, or
/// `max_failures_per_ip` from one address, within one window, further attempts are refused
/// until that window has passed. A successful sign-in clears the account's counter.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    counters: Collection<Document>,
    per_account: u32,
    per_ip: u32,
    window: Duration,
}

fn account_key(email: &str) -> String {
    format!("account:{email}")
}

fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

impl LoginThrottle {
    /// The throttle on `db` with the limits of `config`.
    pub fn new(db: &Database, config: &Config) -> Self {
        Self {
            counters: db.collection(LOGIN_THROTTLE_COLLECTION),
            per_account: config.max_failures_per_account,
            per_ip: config.max_failures_per_ip,
            window: config.throttle_window,
        }
    }

    /// Creates the TTL index that removes counters once their window has passed.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn ensure_indexes(db: &Database) -> Result<(), AppError> {
        let ttl = IndexOptions::builder().expire_after(Duration::ZERO).build();
        let counters = db.collection::<Document>(LOGIN_THROTTLE_COLLECTION);
        if let Err(err) = counters
            .create_index(IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl).build())
            .await
        {
            let err = StoreError::from(err);
            if err.is_unavailable() {
                return Err(err.into());
            }
            tracing::warn!(%err, "no TTL index on login_throttle; counters are reset when their window passes");
        }
        Ok(())
    }

    /// Refuses the attempt if the account (normalized email) or the address is over its limit.
    ///
    /// # Errors
    /// [`AppError::Throttled`] with the seconds until the window passes;
    /// [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn check(&self, email: &str, ip: &str) -> Result<(), AppError> {
        let now = DateTime::now();
        let counters: Vec<Document> = self
            .counters
            .find(doc! { "_id": { "$in": [account_key(email), ip_key(ip)] } })
            .await
            .map_err(AppError::from)?
            .try_collect()
            .await
            .map_err(AppError::from)?;
        let mut retry_after_ms = 0i64;
        for counter in counters {
            let Ok(expires_at) = counter.get_datetime("expires_at") else { continue };
            let count = counter.get_i32("count").map(i64::from).or_else(|_| counter.get_i64("count")).unwrap_or(0);
            let limit = if counter.get_str("_id").is_ok_and(|k| k.starts_with("ip:")) { self.per_ip } else { self.per_account };
            if *expires_at > now && count >= i64::from(limit) {
                retry_after_ms = retry_after_ms.max(expires_at.timestamp_millis() - now.timestamp_millis());
            }
        }
        if retry_after_ms > 0 {
            let retry_after_secs = u64::try_from((retry_after_ms + 999) / 1000).unwrap_or(1).max(1);
            return Err(AppError::Throttled { retry_after_secs });
        }
        Ok(())
    }

    /// Counts one failed attempt against the account and the address. A counter whose window
    /// has passed starts again at one.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn record_failure(&self, email: &str, ip: &str) -> Result<(), AppError> {
        let now = DateTime::now();
        let window_ms = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
        let fresh_until = DateTime::from_millis(now.timestamp_millis().saturating_add(window_ms));
        let in_window = doc! { "$gt": ["$expires_at", now] };
        let update = vec![doc! { "$set": {
            "count": { "$cond": [in_window.clone(), { "$add": ["$count", 1] }, 1] },
            "expires_at": { "$cond": [in_window, "$expires_at", fresh_until] },
        } }];
        for key in [account_key(email), ip_key(ip)] {
            self.counters
                .update_one(doc! { "_id": key }, update.clone())
                .upsert(true)
                .await
                .map_err(AppError::from)?;
        }
        Ok(())
    }

    /// Forgets the account's failures after a successful sign-in. The address keeps its count.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn clear_account(&self, email: &str) -> Result<(), AppError> {
        self.counters.delete_one(doc! { "_id": account_key(email) }).await.map_err(AppError::from)?;
        Ok(())
    }
}
