//! Counting attempts in MongoDB, so every app instance sees the same counts.

use std::{sync::Arc, time::Duration};

use mongodb::{
    Collection, Database,
    bson::{DateTime, Document, doc},
    options::ReturnDocument,
};
use serde::Deserialize;

use crate::{
    clock::Clock,
    config::Config,
    db::{self, DbError, is_duplicate_key},
};

/// How often an increment that lost a race to create its counter is tried again.
const UPSERT_ATTEMPTS: usize = 3;

/// What a counter counts. Each has its own limit and window from [`Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Sign-in attempts for one account from one client address: the low limit.
    AccountAndAddress,
    /// Sign-in attempts for one account from all addresses together: the high limit.
    Account,
    /// Sign-in attempts from one address, whatever the account.
    Address,
    /// Accounts created from one address.
    Registration,
}

impl Scope {
    fn prefix(self) -> &'static str {
        match self {
            Self::AccountAndAddress => "account_ip",
            Self::Account => "account",
            Self::Address => "ip",
            Self::Registration => "register",
        }
    }
}

/// One counter as stored, `_id` being `"<scope>:<key>"`; counters of an account also carry its
/// email as `account`, so that they can be found without parsing `_id`.
#[derive(Debug, Clone, Deserialize)]
struct Counter {
    count: i64,
    expires_at: DateTime,
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleVerdict {
    /// Under every limit; the attempt has been counted.
    Allowed,
    /// Over a limit; the window that blocks it passes in `retry_after_secs` (at least 1).
    Refused {
        /// Seconds until the blocking window passes.
        retry_after_secs: u64,
    },
}

/// Attempt limits shared by every instance.
///
/// Each sign-in attempt is **reserved before the password is checked**: one atomic
/// `findAndModify` per counter (`$inc`, upsert, the new count returned), refused when the new
/// count passes the limit. Concurrent guesses therefore cannot all slip past a read of the old
/// count: at most `limit` of them ever reach the password check in one window.
///
/// Three counters guard sign-in (defaults in [`Config`]): per account *and* client address (5:
/// an attacker on one address gets 5 guesses), per account over all addresses (100: a
/// distributed guesser is still capped, while one attacker can no longer lock the owner out),
/// and per address over all accounts (20: one address cannot spray many accounts). A successful
/// sign-in clears its account-and-address counter and gives back its reservation on the others.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    counters: Collection<Counter>,
    per_account_and_ip: u32,
    per_account: u32,
    per_ip: u32,
    per_ip_registrations: u32,
    window: Duration,
    registration_window: Duration,
    clock: Arc<dyn Clock>,
}

impl LoginThrottle {
    /// The throttle on `db` with the limits of `config`, windows measured by `clock`.
    pub fn new(db: &Database, config: &Config, clock: Arc<dyn Clock>) -> Self {
        Self {
            counters: db.collection(db::LOGIN_THROTTLE),
            per_account_and_ip: config.max_failures_per_account_and_ip,
            per_account: config.max_failures_per_account,
            per_ip: config.max_failures_per_ip,
            per_ip_registrations: config.max_registrations_per_ip,
            window: config.throttle_window,
            registration_window: config.registration_window,
            clock,
        }
    }

    fn limit(&self, scope: Scope) -> (u32, Duration) {
        match scope {
            Scope::AccountAndAddress => (self.per_account_and_ip, self.window),
            Scope::Account => (self.per_account, self.window),
            Scope::Address => (self.per_ip, self.window),
            Scope::Registration => (self.per_ip_registrations, self.registration_window),
        }
    }

    /// The counters of a sign-in attempt, narrowest first: [`reserve`](Self::reserve) stops at
    /// the first that refuses, so one address past its own limits can no longer raise the
    /// account's counter, which would lock the owner out everywhere.
    fn sign_in_counters(email: &str, ip: &str) -> [CounterKey; 3] {
        [
            CounterKey { scope: Scope::Address, key: ip.to_owned(), account: None },
            CounterKey { scope: Scope::AccountAndAddress, key: format!("{email}|{ip}"), account: Some(email.to_owned()) },
            CounterKey { scope: Scope::Account, key: email.to_owned(), account: Some(email.to_owned()) },
        ]
    }

    /// Counts a sign-in attempt (or a current-password check) for the account (normalized
    /// email) from the client address key `ip`, before the password is checked, and says
    /// whether it may go ahead.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn reserve_sign_in(&self, email: &str, ip: &str) -> Result<ThrottleVerdict, DbError> {
        self.reserve(&Self::sign_in_counters(email, ip)).await
    }

    /// After a successful sign-in, in one write: the account-and-address counter starts again
    /// at zero, and the account and address counters give this attempt's reservation back.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn sign_in_succeeded(&self, email: &str, ip: &str) -> Result<(), DbError> {
        self.give_back(email, ip, true).await
    }

    /// After an attempt whose password could not be checked at all (a hashing failure, not a
    /// wrong password), in one write: every counter gives this attempt's reservation back, so
    /// the server's failure never counts against the account.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn attempt_not_made(&self, email: &str, ip: &str) -> Result<(), DbError> {
        self.give_back(email, ip, false).await
    }

    /// Gives one reservation back on each sign-in counter; with `reset_pair`, the
    /// account-and-address counter starts again at zero instead.
    async fn give_back(&self, email: &str, ip: &str, reset_pair: bool) -> Result<(), DbError> {
        let counters = Self::sign_in_counters(email, ip);
        let pair = counters.iter().find(|counter| counter.scope == Scope::AccountAndAddress).map(CounterKey::id);
        let ids = counters.map(|counter| counter.id());
        let given_back = doc! { "$max": [0_i64, { "$subtract": ["$count", 1_i64] }] };
        let count = if reset_pair {
            doc! { "$cond": [{ "$eq": ["$_id", pair] }, 0_i64, given_back] }
        } else {
            given_back
        };
        self.counters.update_many(doc! { "_id": { "$in": ids.to_vec() } }, vec![doc! { "$set": { "count": count } }]).await?;
        Ok(())
    }

    /// Forgets every counter of the account (normalized email): its own and those per address.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn forget_account(&self, email: &str) -> Result<(), DbError> {
        self.counters.delete_many(doc! { "account": email }).await?;
        Ok(())
    }

    /// Counts an account registration from the client address key `ip` and says whether it
    /// may go ahead.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] when MongoDB cannot be reached.
    pub async fn reserve_registration(&self, ip: &str) -> Result<ThrottleVerdict, DbError> {
        self.reserve(&[CounterKey { scope: Scope::Registration, key: ip.to_owned(), account: None }]).await
    }

    /// Adds one to each counter atomically, in order, and refuses at the first that passed its
    /// limit, leaving the later ones untouched. A counter whose window has passed starts again
    /// at one.
    async fn reserve(&self, counters: &[CounterKey]) -> Result<ThrottleVerdict, DbError> {
        let now = self.clock.now();
        for key in counters {
            let (limit, window) = self.limit(key.scope);
            let counter = self.increment(key, now, window).await?;
            if counter.count > i64::from(limit) {
                let wait_ms = counter.expires_at.timestamp_millis() - DateTime::from_time_0_3(now).timestamp_millis();
                return Ok(ThrottleVerdict::Refused { retry_after_secs: u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1) });
            }
        }
        Ok(ThrottleVerdict::Allowed)
    }

    async fn increment(&self, key: &CounterKey, now: time::OffsetDateTime, window: Duration) -> Result<Counter, DbError> {
        let fresh_until = DateTime::from_time_0_3(now.saturating_add(window.try_into().unwrap_or(time::Duration::MAX)));
        let now = DateTime::from_time_0_3(now);
        let in_window = doc! { "$gt": ["$expires_at", now] };
        let mut set = doc! {
            "scope": key.scope.prefix(),
            "count": { "$cond": [in_window.clone(), { "$add": ["$count", 1_i64] }, 1_i64] },
            "expires_at": { "$cond": [in_window, "$expires_at", fresh_until] },
        };
        if let Some(account) = &key.account {
            set.insert("account", doc! { "$literal": account });
        }
        let update: Vec<Document> = vec![doc! { "$set": set }];
        // Two first attempts at once can both try to insert the counter. MongoDB answers the
        // loser with a duplicate key, SecantusDB with no document; either way the counter now
        // exists, and the retry increments it.
        for _ in 0..UPSERT_ATTEMPTS {
            let result = self
                .counters
                .find_one_and_update(doc! { "_id": key.id() }, update.clone())
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await;
            match result {
                Ok(Some(counter)) => return Ok(counter),
                Ok(None) => continue,
                Err(err) if is_duplicate_key(&err) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(DbError::Refused(format!("a {} throttle counter could not be incremented", key.scope.prefix())))
    }
}

/// Which counter: its scope, its key within the scope, and the account (normalized email) it
/// belongs to, if any.
#[derive(Debug, Clone)]
struct CounterKey {
    scope: Scope,
    key: String,
    account: Option<String>,
}

impl CounterKey {
    /// The counter's `_id`, `"<scope>:<key>"`.
    fn id(&self) -> String {
        format!("{}:{}", self.scope.prefix(), self.key)
    }
}
