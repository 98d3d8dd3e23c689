//! The `tower-sessions` store on MongoDB.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use mongodb::{
    Collection, Database,
    bson::{Bson, DateTime, Document, doc},
};
use time::OffsetDateTime;
use tower_sessions::{
    ExpiredDeletion, SessionStore,
    session::{Id, Record},
    session_store,
};

use crate::{
    DEFAULT_COLLECTION,
    clock::{Clock, SystemClock},
    document::{LiftedFields, SessionDocument, by_key, storage_key},
    durable,
    error::{StoreError, is_duplicate_key},
    indexes::{IndexReport, ensure_indexes},
    policy::ExpiryPolicy,
    recent::Recent,
    registry::SessionRegistry,
};

/// How many fresh ids `create` draws before giving up; a 128-bit collision even once is
/// already beyond belief, so running out means something else is wrong.
const CREATE_ATTEMPTS: usize = 4;

/// A [`SessionStore`] that keeps one document per session in one collection (`sessions`
/// unless [`with_collection`](Self::with_collection) names another).
///
/// Guarantees:
/// - `create` inserts and never overwrites: on a duplicate key it draws a new id and retries.
/// - `save` only updates a document that exists and has not expired; it never upserts, so a
///   session deleted by anyone (logout, revoke, expiry) stays deleted even if a request that
///   was already in flight saves it afterwards.
/// - `load` returns `None` for a missing session, for one past its idle or absolute deadline
///   under the current [`ExpiryPolicy`], and for one past the record's own expiry (a session
///   given a shorter life with `Session::set_expiry` keeps it: every write takes the earliest
///   of the three deadlines).
/// - A stored session that cannot be decoded is treated as ended: `load` logs it, deletes it
///   and returns `None`, so one corrupt document signs one session out instead of answering
///   "database unavailable" on every request that carries its cookie.
/// - Every delete (the session layer's `cycle_id` and `flush`) waits for a majority of the
///   replica set, like the registry's endings ([`durable`]): an ended session cannot come
///   back in a failover.
/// - An unchanged session is written (touched) at most once per touch interval.
/// - A `save` of exactly the data (and no earlier expiry) that `create` wrote moments ago is skipped: tower-sessions
///   saves again at the end of a request whose handler already saved, and that second write
///   would cost a round trip and, if it failed, answer 500 without a cookie for a session that
///   exists. Skipping a write never brings a session back; it only declines to repeat one.
/// - A `delete` of a session that this store's registry ended moments ago sends nothing: the
///   registry's answer already proved the document gone, and this is the session layer's
///   `flush` that follows it in the same request.
/// - The cookie value is never stored: documents are keyed by its SHA-256.
#[derive(Debug, Clone)]
pub struct MongoSessionStore {
    db: Database,
    sessions: Collection<SessionDocument>,
    /// The same collection with [`durable`] options, for every delete.
    ending: Collection<SessionDocument>,
    policy: ExpiryPolicy,
    clock: Arc<dyn Clock>,
    just_created: Recent<JustCreated>,
    recently_ended: Recent<()>,
}

/// What `create` wrote, remembered briefly: its data, to recognise the end-of-request `save` of
/// the same data, and its handle, so the sign-in need not read it back.
#[derive(Debug)]
struct JustCreated {
    data: Document,
    handle: String,
    expires_at: OffsetDateTime,
}

impl MongoSessionStore {
    /// A store on `db.sessions` with the [default](ExpiryPolicy::default) expiry policy and the
    /// system clock.
    ///
    /// Call [`migrate`](Self::migrate) once at start-up as well. Loads read from the primary
    /// (the driver's default, kept on purpose: a secondary may still hold a session that has
    /// ended).
    pub fn new(db: &Database) -> Self {
        Self {
            db: db.clone(),
            sessions: db.collection(DEFAULT_COLLECTION),
            ending: db.collection_with_options(DEFAULT_COLLECTION, durable()),
            policy: ExpiryPolicy::default(),
            clock: Arc::new(SystemClock),
            just_created: Recent::default(),
            recently_ended: Recent::default(),
        }
    }

    /// This store on the collection `name` of the same database instead.
    pub fn with_collection(mut self, name: &str) -> Self {
        self.sessions = self.db.collection(name);
        self.ending = self.db.collection_with_options(name, durable());
        self
    }

    /// This store with the expiry rules `policy`.
    pub fn with_policy(mut self, policy: ExpiryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// This store reading the time from `clock` (a test can move it forward).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The expiry rules this store applies.
    pub fn policy(&self) -> ExpiryPolicy {
        self.policy
    }

    /// The name of the collection that holds the sessions.
    pub fn collection_name(&self) -> &str {
        self.sessions.name()
    }

    /// Creates the indexes this store relies on (see [`ensure_indexes`]). Safe on every start
    /// and from many instances at once.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached; [`StoreError::Backend`] when
    /// it refuses one of the indexes the store cannot do without.
    pub async fn migrate(&self) -> Result<IndexReport, StoreError> {
        ensure_indexes(&self.db, self.collection_name()).await
    }

    /// The public handle of the session this store created for token `id` moments ago (in the
    /// same request), without asking the database; `None` for any other session.
    pub fn created_handle(&self, id: &Id) -> Option<String> {
        self.just_created.peek(id, |created| created.handle.clone())
    }

    /// The shared handle for ending and listing sessions, on the same collection (with
    /// [`durable`] options: majority writes, majority reads from the primary), policy and clock.
    pub fn registry(&self) -> SessionRegistry {
        SessionRegistry::new(self.ending.clone(), self.policy, self.clock.clone(), self.recently_ended.clone())
    }

    /// The pipeline update that marks a live session as seen now and recomputes its deadline:
    /// the earliest of the idle deadline, its own `created_at` plus the absolute lifetime (so
    /// the lifetime survives every touch), and the record's own expiry `record_expiry`.
    fn touch_update(&self, now: OffsetDateTime, record_expiry: Option<OffsetDateTime>, extra: Document) -> Vec<Document> {
        let idle_deadline = now.saturating_add(self.policy.idle_timeout());
        let own_deadline = DateTime::from_time_0_3(record_expiry.map_or(idle_deadline, |expiry| expiry.min(idle_deadline)));
        let lifetime_ms = self.policy.absolute_lifetime().whole_milliseconds();
        let lifetime_ms = i64::try_from(lifetime_ms).unwrap_or(i64::MAX);
        let mut set = extra;
        set.insert("last_seen_at", DateTime::from_time_0_3(now));
        set.insert("expires_at", doc! { "$min": [own_deadline, { "$add": ["$created_at", lifetime_ms] }] });
        vec![doc! { "$set": set }]
    }

    /// Deletes the undecodable session `id` and reports it gone; see the type's guarantees.
    async fn discard_corrupt(&self, id: &Id, reason: &str) -> session_store::Result<Option<Record>> {
        tracing::error!(key = %storage_key(id), %reason, "a stored session cannot be decoded; ending it");
        if let Err(err) = self.ending.delete_one(by_key(id)).await {
            tracing::warn!(%err, "could not delete an undecodable session; it stays unusable until it expires");
        }
        Ok(None)
    }

    /// The filter that matches the session only while it is live, so no write revives it.
    fn live_filter(id: &Id, now: OffsetDateTime) -> Document {
        let mut filter = by_key(id);
        filter.insert("expires_at", doc! { "$gt": DateTime::from_time_0_3(now) });
        filter
    }
}

#[async_trait]
impl SessionStore for MongoSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        for _ in 0..CREATE_ATTEMPTS {
            let now = self.clock.now();
            let document = SessionDocument::new(record, now, self.policy.expires_at(now, now).min(record.expiry_date))?;
            match self.sessions.insert_one(&document).await {
                Ok(_) => {
                    let expires_at = document.expires_at.to_time_0_3();
                    self.just_created.remember(record.id, JustCreated { data: document.data, handle: document.handle, expires_at });
                    return Ok(());
                }
                Err(err) if is_duplicate_key(&err) => {
                    tracing::warn!("session id or handle collision on create; drawing a new id");
                    record.id = Id::default();
                }
                Err(err) => return Err(StoreError::from(err).into()),
            }
        }
        Err(StoreError::Backend("could not draw a unique session id".into()).into())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let now = self.clock.now();
        let fields = LiftedFields::from_record(record)?;
        let unchanged = |created: JustCreated| created.data == fields.data && record.expiry_date >= created.expires_at;
        if self.just_created.take(&record.id).is_some_and(unchanged) {
            return Ok(());
        }
        let optional = |value: Option<String>| value.map_or(Bson::Null, Bson::String);
        let mut extra = doc! { "data": { "$literal": fields.data }, "record_expires_at": DateTime::from_time_0_3(record.expiry_date) };
        // Values come from the session, so `$literal` keeps a "$..." string from being read as a field path.
        extra.insert("user_id", doc! { "$literal": optional(fields.user_id) });
        extra.insert("user_agent", doc! { "$literal": optional(fields.user_agent) });
        extra.insert("ip", doc! { "$literal": optional(fields.ip) });
        extra.insert("new_device", doc! { "$literal": fields.new_device.map_or(Bson::Null, Bson::Boolean) });
        let update = self.touch_update(now, Some(record.expiry_date), extra);
        self.sessions.update_one(Self::live_filter(&record.id, now), update).await.map_err(StoreError::from)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let now = self.clock.now();
        // By `_id` alone: index-only on every MongoDB-compatible server; expiry is checked below.
        let document = match self.sessions.find_one(by_key(session_id)).await.map_err(StoreError::from) {
            Ok(Some(document)) => document,
            Ok(None) => return Ok(None),
            Err(StoreError::Decode(reason)) => return self.discard_corrupt(session_id, &reason).await,
            Err(err) => return Err(err.into()),
        };
        if !document.is_live(&self.policy, now) {
            return Ok(None);
        }
        if self.policy.needs_touch(document.last_seen_at.to_time_0_3(), now) {
            let record_expiry = document.record_expires_at.map(DateTime::to_time_0_3);
            self.sessions
                .update_one(Self::live_filter(session_id, now), self.touch_update(now, record_expiry, Document::new()))
                .await
                .map_err(StoreError::from)?;
        }
        match document.into_record(*session_id) {
            Ok(record) => Ok(Some(record)),
            Err(err) => self.discard_corrupt(session_id, &err.to_string()).await,
        }
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        if self.recently_ended.take(session_id).is_some() {
            return Ok(());
        }
        self.ending.delete_one(by_key(session_id)).await.map_err(StoreError::from)?;
        Ok(())
    }
}

impl MongoSessionStore {
    /// Deletes every session past its stored deadline, in one `delete_many` on the
    /// `expires_at` index. Returns how many it deleted (not those the TTL monitor removed).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when MongoDB cannot be reached.
    pub async fn sweep_expired(&self) -> Result<u64, StoreError> {
        let now = DateTime::from_time_0_3(self.clock.now());
        Ok(self.sessions.delete_many(doc! { "expires_at": { "$lte": now } }).await?.deleted_count)
    }
}

#[async_trait]
impl ExpiredDeletion for MongoSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.sweep_expired().await?;
        Ok(())
    }
}

/// Runs [`MongoSessionStore::sweep_expired`] every `period` for as long as the runtime lives,
/// and tells `swept` how many sessions each sweep deleted (for a metric; `|_| {}` if unneeded).
///
/// A failed sweep is logged and retried at the next tick, so a database outage never stops it.
/// This backs up the TTL index, and replaces it on servers that refuse TTL indexes.
/// (tower-sessions' own `continuously_delete_expired` returns at the first error, which would
/// stop sweeping for good after one outage; hence our own loop.)
pub fn spawn_expired_sweeper(
    store: MongoSessionStore,
    period: Duration,
    swept: impl Fn(u64) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.sweep_expired().await {
                Ok(count) => swept(count),
                Err(err) => tracing::warn!(%err, "expired-session sweep failed; will retry"),
            }
        }
    })
}
