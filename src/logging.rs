//! The log: what the server writes (`RUST_LOG` or the default filter) and how (`LOG_FORMAT`).

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

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human text, coloured only when the output is a terminal (the default).
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

impl LogFormat {
    /// The format `LOG_FORMAT` names: `json`, or text for anything else (and when unset).
    pub fn from_env(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("json") => Self::Json,
            _ => Self::Text,
        }
    }
}

/// Installs the process's log subscriber: `RUST_LOG`'s filter ([`log_filter`]) in `format`,
/// written to stdout for the server, or to stderr for the command line (`to_stderr`), whose
/// stdout is its answer.
pub fn init(format: LogFormat, to_stderr: bool) {
    use std::io::IsTerminal;

    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match (format, to_stderr) {
        (LogFormat::Json, false) => builder.json().flatten_event(true).with_current_span(false).init(),
        (LogFormat::Json, true) => builder.json().flatten_event(true).with_current_span(false).with_writer(std::io::stderr).init(),
        (LogFormat::Text, false) => builder.with_ansi(std::io::stdout().is_terminal()).init(),
        (LogFormat::Text, true) => builder.with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr).init(),
    }
}
