//! When a session stops being valid, and when an unchanged session is worth writing.

use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime};

/// The expiry rules for every session, in one place (OWASP ASVS 3.3.2).
///
/// A session is valid while both hold:
/// - it was seen less than `idle_timeout` ago, and
/// - it was created (at login) less than `absolute_lifetime` ago.
///
/// An unchanged session has its `last_seen_at` refreshed at most once per `touch_interval`, so
/// most page views cost one read and no write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryPolicy {
    idle_timeout: Duration,
    absolute_lifetime: Duration,
    touch_interval: Duration,
}

impl Default for ExpiryPolicy {
    /// OWASP's suggestion for an ordinary application: 30 minutes idle, 12 hours absolute, and
    /// a touch at most once a minute.
    fn default() -> Self {
        Self::new(StdDuration::from_secs(30 * 60), StdDuration::from_secs(12 * 3600), StdDuration::from_secs(60))
    }
}

impl ExpiryPolicy {
    /// A policy with the given idle timeout, absolute lifetime and touch interval.
    ///
    /// Durations beyond what a timestamp can hold are clamped, never wrapped.
    pub fn new(idle_timeout: StdDuration, absolute_lifetime: StdDuration, touch_interval: StdDuration) -> Self {
        let convert = |d: StdDuration| Duration::try_from(d).unwrap_or(Duration::MAX);
        Self { idle_timeout: convert(idle_timeout), absolute_lifetime: convert(absolute_lifetime), touch_interval: convert(touch_interval) }
    }

    /// How long a session may go unused.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// How long a session may live after login, however active.
    pub fn absolute_lifetime(&self) -> Duration {
        self.absolute_lifetime
    }

    /// The instant a session created at `created_at` and last seen at `last_seen_at` expires:
    /// the earlier of its idle and absolute deadlines.
    pub fn expires_at(&self, created_at: OffsetDateTime, last_seen_at: OffsetDateTime) -> OffsetDateTime {
        let idle_deadline = last_seen_at.saturating_add(self.idle_timeout);
        let absolute_deadline = created_at.saturating_add(self.absolute_lifetime);
        idle_deadline.min(absolute_deadline)
    }

    /// Whether a session with these timestamps is still valid at `now`, judged by this policy
    /// (not by a stored deadline that an older, looser policy may have written).
    pub fn is_valid(&self, created_at: OffsetDateTime, last_seen_at: OffsetDateTime, now: OffsetDateTime) -> bool {
        now < self.expires_at(created_at, last_seen_at)
    }

    /// Whether a stored session is live at `now`: before its stored deadline `expires_at`, and
    /// valid under this policy. The one expiry check every read of a session goes through.
    pub fn is_live(
        &self,
        created_at: OffsetDateTime,
        last_seen_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        now < expires_at && self.is_valid(created_at, last_seen_at, now)
    }

    /// Whether an unchanged session last seen at `last_seen_at` should be written at `now`.
    pub fn needs_touch(&self, last_seen_at: OffsetDateTime, now: OffsetDateTime) -> bool {
        now - last_seen_at >= self.touch_interval
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn policy() -> ExpiryPolicy {
        ExpiryPolicy::new(StdDuration::from_secs(30 * 60), StdDuration::from_secs(12 * 3600), StdDuration::from_secs(60))
    }

    #[test]
    fn idle_deadline_applies_while_far_from_absolute() {
        let created = datetime!(2026-01-01 08:00 UTC);
        let seen = datetime!(2026-01-01 09:00 UTC);
        assert_eq!(policy().expires_at(created, seen), datetime!(2026-01-01 09:30 UTC));
        assert!(policy().is_valid(created, seen, datetime!(2026-01-01 09:29:59 UTC)));
        assert!(!policy().is_valid(created, seen, datetime!(2026-01-01 09:30 UTC)));
    }

    #[test]
    fn absolute_deadline_caps_an_active_session() {
        let created = datetime!(2026-01-01 08:00 UTC);
        let seen = datetime!(2026-01-01 19:50 UTC);
        assert_eq!(policy().expires_at(created, seen), datetime!(2026-01-01 20:00 UTC));
        assert!(!policy().is_valid(created, seen, datetime!(2026-01-01 20:00 UTC)));
    }

    #[test]
    fn touch_is_throttled_to_the_interval() {
        let seen = datetime!(2026-01-01 09:00 UTC);
        assert!(!policy().needs_touch(seen, datetime!(2026-01-01 09:00:59 UTC)));
        assert!(policy().needs_touch(seen, datetime!(2026-01-01 09:01 UTC)));
    }

    #[test]
    fn huge_durations_clamp_instead_of_overflowing() {
        let p = ExpiryPolicy::new(StdDuration::MAX, StdDuration::MAX, StdDuration::MAX);
        let t = datetime!(2026-01-01 09:00 UTC);
        assert!(p.is_valid(t, t, t));
    }
}
