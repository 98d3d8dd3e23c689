//! The log filter: what the server writes to its log, from `RUST_LOG` or the default.

use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is unset: our own information, and only warnings from the
/// session layer and the MongoDB driver.
pub const DEFAULT_LOG_FILTER: &str = "info,tower_sessions=warn,mongodb=warn";

/// tower-sessions warns "possibly suspicious activity: record not found in store" whenever a
/// cookie names a session that no longer exists. Here that is routine: every logout, revoke and
/// expiry leaves such cookies in other tabs and in requests already on their way, so the
/// warning would bury real ones. Its warning for a malformed session id (target
/// `tower_sessions::service`) is kept.
const ENDED_SESSION_COOKIES: &str = "tower_sessions_core::session=error";

/// The filter for `rust_log` (the value of `RUST_LOG`), or the default when it is unset or
/// cannot be parsed. Ended sessions' cookies are not logged as suspicious unless `rust_log`
/// names `tower_sessions_core` itself.
pub fn log_filter(rust_log: Option<&str>) -> EnvFilter {
    let spec = rust_log.filter(|spec| EnvFilter::try_new(spec).is_ok()).unwrap_or(DEFAULT_LOG_FILTER);
    if spec.contains("tower_sessions_core") { EnvFilter::new(spec) } else { EnvFilter::new(format!("{spec},{ENDED_SESSION_COOKIES}")) }
}
