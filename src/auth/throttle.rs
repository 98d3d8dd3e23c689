//! Counting failed sign-ins in MongoDB, so every app instance sees the same counts.

use std::{sync::Arc, time::Duration};

use futures_util::TryStreamExt;
use mongodb::{
    Collection, Database,
    bson::{DateTime, doc},
};
use serde::{Deserialize, Serialize};

use crate::{
    clock::Clock,
    config::Config,
    db::{self, DbError},
};

/// What a failure counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Scope {
    /// Failures for one account (normalized email).
    Account,
    /// Failures from one client address.
    Address,
}

/// One counter as stored. `_id` is `"<scope>:<key>"`, so one account and one address each have
/// exactly one counter; the scope is also stored as its own field, which is what readers use.
#[derive(Debug, Clone, Deserialize)]
struct Counter {
    scope: Scope,
    count: i64,
    expires_at: DateTime,
}

fn counter_id(scope: Scope, key: &str) -> String {
    match scope {
        Scope::Account => format!("account:{key}"),
        Scope::Address => format!("ip:{key}"),
    }
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleVerdict {
    /// Under every limit.
    Allowed,
    /// Over a limit; the window that blocks it passes in `retry_after_secs` (at least 1).
    Refused {
        /// Seconds until the blocking window passes.
        retry_after_secs: u64,
    },
}

/// Failed-sign-in limits (`Config::max_failures_per_account`, `Config::max_failures_per_ip`,
/// `Config::throttle_window`): once one account or one address has that many failures within
/// one window, further attempts are refused until that window has passed. A successful
/// sign-in clears the account's counter.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    counters: Collection<Counter>,
    per_account: u32,
    per_ip: u32,
    window: Duration,
    clock: Arc<dyn Clock>,
}

impl LoginThrottle {
    /// The throttle on `db` with the limits of `config`, windows measured by `clock`.
    pub fn new(db: &Database, config: &Config, clock: Arc<dyn Clock>) -> Self {
        Self {
            counters: db.collection(db::LOGIN_THROTTLE),
            per_account: config.max_failures_per_account,
            per_ip: config.max_failures_per_ip,
            window: config.throttle_window,
            clock,
        }
    }

    fn limit(&self, scope: Scope) -> i64 {
        i64::from(match scope {
            Scope::Account => self.per_account,
            Scope::Address => self.per_ip,
        })
    }

    /// Whether a sign-in for the account (normalized email) from address `ip` may go ahead.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn check(&self, email: &str, ip: &str) -> Result<ThrottleVerdict, DbError> {
        let now = DateTime::from_time_0_3(self.clock.now());
        let ids = [counter_id(Scope::Account, email), counter_id(Scope::Address, ip)];
        let counters: Vec<Counter> = self.counters.find(doc! { "_id": { "$in": ids.to_vec() } }).await?.try_collect().await?;
        let retry_after_ms = counters
            .iter()
            .filter(|c| c.expires_at > now && c.count >= self.limit(c.scope))
            .map(|c| c.expires_at.timestamp_millis() - now.timestamp_millis())
            .max();
        Ok(match retry_after_ms {
            Some(ms) => ThrottleVerdict::Refused { retry_after_secs: u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1) },
            None => ThrottleVerdict::Allowed,
        })
    }

    /// Counts one failed attempt against the account and the address. A counter whose window
    /// has passed starts again at one.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn record_failure(&self, email: &str, ip: &str) -> Result<(), DbError> {
        let now = self.clock.now();
        let fresh_until = DateTime::from_time_0_3(now.saturating_add(self.window.try_into().unwrap_or(time::Duration::MAX)));
        let now = DateTime::from_time_0_3(now);
        let in_window = doc! { "$gt": ["$expires_at", now] };
        for (scope, key) in [(Scope::Account, email), (Scope::Address, ip)] {
            let scope_name = mongodb::bson::to_bson(&scope).map_err(|e| DbError::Encode(e.to_string()))?;
            let update = vec![doc! { "$set": {
                "scope": scope_name,
                "count": { "$cond": [in_window.clone(), { "$add": ["$count", 1_i64] }, 1_i64] },
                "expires_at": { "$cond": [in_window.clone(), "$expires_at", fresh_until] },
            } }];
            self.counters.update_one(doc! { "_id": counter_id(scope, key) }, update).upsert(true).await?;
        }
        Ok(())
    }

    /// Forgets the account's failures after a successful sign-in. The address keeps its count.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn clear_account(&self, email: &str) -> Result<(), DbError> {
        self.counters.delete_one(doc! { "_id": counter_id(Scope::Account, email) }).await?;
        Ok(())
    }
}
