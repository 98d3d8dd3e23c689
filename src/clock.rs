//! The source of "now" for every time the server reads or writes, replaceable in tests.

use std::fmt::Debug;

use time::OffsetDateTime;

/// Tells the current time. Every expiry decision, timestamp and throttle window reads it
/// instead of the system clock, so time-dependent rules can be tested without waiting.
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock. Use this in production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Milliseconds since the Unix epoch: how instants travel to the browser. Saturates instead
/// of wrapping for instants beyond what an `i64` of milliseconds can hold.
pub fn unix_millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(if t.unix_timestamp() < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(any(test, feature = "test-util"))]
pub use manual::ManualClock;

#[cfg(any(test, feature = "test-util"))]
mod manual {
    use std::sync::{Arc, Mutex};

    use time::{Duration, OffsetDateTime};

    use super::Clock;

    /// A clock that only moves when told to; clones share one time. A test double, built only
    /// for tests and with the `test-util` feature.
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

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::unix_millis;

    #[test]
    fn millis_are_whole_milliseconds_since_the_epoch() {
        assert_eq!(unix_millis(datetime!(1970-01-01 00:00:01.5 UTC)), 1500);
        assert_eq!(unix_millis(datetime!(2026-11-18 11:06:40 UTC)), 1_795_000_000_000);
    }
}
