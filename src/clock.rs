//! The source of "now" for every time the server reads or writes, replaceable in tests: the
//! session store's [`Clock`], shared by the whole app so that one manual clock moves them all.

use time::OffsetDateTime;

#[cfg(feature = "test-util")]
pub use sessionguard_store::ManualClock;
pub use sessionguard_store::{Clock, SystemClock};

/// Milliseconds since the Unix epoch: how instants travel to the browser. Saturates instead
/// of wrapping for instants beyond what an `i64` of milliseconds can hold.
pub fn unix_millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(if t.unix_timestamp() < 0 { i64::MIN } else { i64::MAX })
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
