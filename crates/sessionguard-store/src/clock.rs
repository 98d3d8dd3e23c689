//! The source of "now" for every expiry decision, replaceable in tests.

use std::fmt::Debug;

use time::OffsetDateTime;

/// Tells the current time. The store reads it for every deadline it writes and every expiry
/// check it makes, instead of the system clock, so time-dependent rules can be tested without
/// waiting.
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock, and the store's default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

#[cfg(feature = "test-util")]
pub use manual::ManualClock;

#[cfg(feature = "test-util")]
mod manual {
    use std::sync::{Arc, Mutex};

    use time::{Duration, OffsetDateTime};

    use super::Clock;

    /// A clock that only moves when told to; clones share one time. A test double, built only
    /// with the `test-util` feature.
    ///
    /// Start it at the real time (the TTL index on `expires_at` keys off the server's clock),
    /// then [`advance`](ManualClock::advance) it.
    #[derive(Debug, Clone)]
    pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

    impl ManualClock {
        /// A clock that reads `start` until it is advanced.
        pub fn new(start: OffsetDateTime) -> Self {
            Self(Arc::new(Mutex::new(start)))
        }

        /// Moves this clock and all its clones forward by `by`.
        pub fn advance(&self, by: Duration) {
            let mut now = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *now += by;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> OffsetDateTime {
            *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }
}
