//! Times as people read them. Pure functions of their inputs, so the server-rendered page and
//! the hydrated one print the same text.

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
    let (date, hour, minute) = civil(ms);
    format!("{date} {hour:02}:{minute:02} UTC")
}

/// The instant as an RFC 3339 string, for `<time datetime>`.
pub fn rfc3339(ms: i64) -> String {
    let (date, hour, minute) = civil(ms);
    let second = ms.div_euclid(1000).rem_euclid(60);
    format!("{date}T{hour:02}:{minute:02}:{second:02}Z")
}

/// (date, hour, minute) in UTC, by Howard Hinnant's days-to-civil algorithm.
fn civil(ms: i64) -> (String, i64, i64) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (format!("{year:04}-{month:02}-{day:02}"), of_day / 3600, of_day % 3600 / 60)
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
