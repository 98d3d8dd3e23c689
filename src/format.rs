//! Times as people read them. Pure functions of their inputs, so the server-rendered page and
//! the hydrated one print the same text.

use time::{OffsetDateTime, macros::format_description};

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago": how long before `now_ms` the
/// instant `then_ms` was (both milliseconds since the Unix epoch).
pub fn relative_time(now_ms: i64, then_ms: i64) -> String {
    let seconds = (now_ms - then_ms).max(0) / 1000;
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match seconds {
        0..=59 => "just now".into(),
        60..=3599 => plural(seconds / 60, "minute"),
        3600..=86_399 => plural(seconds / 3600, "hour"),
        _ => plural(seconds / 86_400, "day"),
    }
}

/// A duration as people say it: "30 minutes", "12 hours", "1 day", "90 seconds". Uses the
/// largest unit that divides it exactly, so nothing is rounded away.
pub fn duration_words(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

/// The instant `ms` (milliseconds since the Unix epoch) as "2026-11-26 05:10 UTC".
pub fn utc_minute(ms: i64) -> String {
    instant(ms).format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).unwrap_or_default()
}

/// The instant as an RFC 3339 string to the second, for `<time datetime>`.
pub fn rfc3339(ms: i64) -> String {
    instant(ms).format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")).unwrap_or_default()
}

/// The instant `ms` milliseconds after the Unix epoch, in UTC. Instants beyond what `time`
/// represents (past the year 9999) cannot come from the server's clock; they read as the epoch.
fn instant(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = 1_800_000_000_000;
        assert_eq!(relative_time(now, now - 5_000), "just now");
        assert_eq!(relative_time(now, now - 60_000), "1 minute ago");
        assert_eq!(relative_time(now, now - 2 * 60_000), "2 minutes ago");
        assert_eq!(relative_time(now, now - 3 * 3_600_000), "3 hours ago");
        assert_eq!(relative_time(now, now - 49 * 3_600_000), "2 days ago");
        assert_eq!(relative_time(now, now + 5_000), "just now", "clock skew never reads as the future");
    }

    #[test]
    fn durations_read_in_their_largest_exact_unit() {
        assert_eq!(duration_words(1800), "30 minutes");
        assert_eq!(duration_words(43_200), "12 hours");
        assert_eq!(duration_words(3600), "1 hour");
        assert_eq!(duration_words(90), "90 seconds");
        assert_eq!(duration_words(172_800), "2 days");
    }

    #[test]
    fn utc_formatting_matches_known_instants() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(1_795_000_000_000), "2026-11-18 11:06 UTC");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
