//! What operators can graph: every metric's name and labels, defined here once, and the
//! listener that serves them in Prometheus' text format on `METRICS_ADDR`.
//!
//! Recording goes through the `metrics` facade, so it costs nothing until [`install`] has run
//! (tests and the command line never install it).

use std::{net::SocketAddr, time::Duration};

use axum::{Router, routing::get};
use http::StatusCode;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::{
    live::{LiveSessions, feed::FeedMode},
    model::SecurityEventKind,
};

/// Sign-in attempts, by `outcome`.
pub const SIGN_INS: &str = "sessionguard_sign_ins_total";
/// Sessions ended, by `reason`.
pub const SESSIONS_ENDED: &str = "sessionguard_sessions_ended_total";
/// Tabs connected to this instance for live sign-out.
pub const LIVE_TABS: &str = "sessionguard_live_tabs";
/// 1 for the live feed's current `mode` (`change_stream` or `polling`), 0 for the other.
pub const LIVE_FEED_MODE: &str = "sessionguard_live_feed_mode";
/// Commands sent to MongoDB, by `command`.
pub const DB_COMMANDS: &str = "sessionguard_db_commands_total";
/// Failed data access, by `kind` (`unavailable`, `encode`, `decode`, `refused`).
pub const DB_ERRORS: &str = "sessionguard_db_errors_total";
/// Time to answer an HTTP request, by `route` pattern and `status` class (`2xx`…).
pub const HTTP_DURATION: &str = "sessionguard_http_request_duration_seconds";

/// How a sign-in attempt ended, as `SIGN_INS` counts it. `UnknownAccount` is for operators
/// only: the client gets the same answer as for a wrong password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    /// Signed in.
    Ok,
    /// The account exists; the password was wrong.
    WrongPassword,
    /// No account has the email.
    UnknownAccount,
    /// Refused by the throttle before the password was checked.
    Throttled,
    /// Every password-hashing slot was taken.
    Busy,
    /// The password was right; the account is disabled.
    Disabled,
    /// Missing or oversized fields.
    Invalid,
    /// The database or the password check failed.
    Unavailable,
}

impl SignInOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::WrongPassword => "wrong_password",
            Self::UnknownAccount => "unknown_account",
            Self::Throttled => "throttled",
            Self::Busy => "busy",
            Self::Disabled => "disabled",
            Self::Invalid => "invalid",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Counts one sign-in attempt.
pub fn sign_in(outcome: SignInOutcome) {
    counter!(SIGN_INS, "outcome" => outcome.label()).increment(1);
}

/// Why sessions ended, as `SESSIONS_ENDED` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndingReason {
    /// An ending recorded as this security event kind (logout, revoke, sign out others, log out
    /// everywhere, password change, session limit, admin).
    Recorded(SecurityEventKind),
    /// The account was deleted.
    AccountDeleted,
    /// The sweep removed sessions past their deadline (the TTL monitor's removals are
    /// MongoDB's own and are not reported to the app).
    Expired,
}

impl EndingReason {
    fn label(self) -> Option<&'static str> {
        Some(match self {
            Self::Recorded(SecurityEventKind::Logout) => "logout",
            Self::Recorded(SecurityEventKind::Revoke) => "revoke",
            Self::Recorded(SecurityEventKind::SignOutOthers) => "sign_out_others",
            Self::Recorded(SecurityEventKind::LogoutEverywhere) => "logout_everywhere",
            Self::Recorded(SecurityEventKind::PasswordChange) => "password_change",
            Self::Recorded(SecurityEventKind::SessionLimit) => "session_limit",
            Self::Recorded(SecurityEventKind::AdminEnd) => "admin",
            Self::Recorded(SecurityEventKind::Registered | SecurityEventKind::Login | SecurityEventKind::FailedLogin) => return None,
            Self::AccountDeleted => "account_deleted",
            Self::Expired => "expired",
        })
    }
}

/// Counts `count` sessions ended for `reason` (events that end nothing are not counted).
pub fn sessions_ended(reason: EndingReason, count: u64) {
    if let Some(label) = reason.label()
        && count > 0
    {
        counter!(SESSIONS_ENDED, "reason" => label).increment(count);
    }
}

/// Counts one command sent to MongoDB.
pub fn db_command(name: String) {
    counter!(DB_COMMANDS, "command" => name).increment(1);
}

/// Counts one failed data access of `kind`.
pub fn db_error(kind: &'static str) {
    counter!(DB_ERRORS, "kind" => kind).increment(1);
}

/// Records one answered request: its route pattern (never the raw path), its status class and
/// how long it took.
pub fn http_request(route: &str, status: StatusCode, took: Duration) {
    let class = match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    histogram!(HTTP_DURATION, "route" => route.to_owned(), "status" => class).record(took.as_secs_f64());
}

/// Installs the Prometheus recorder for this process. Call once, before serving.
///
/// # Errors
/// The exporter's message when a recorder is already installed.
pub fn install() -> Result<PrometheusHandle, String> {
    const BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &BUCKETS)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| format!("installing the metrics recorder: {e}"))
}

/// Serves `GET /metrics` on `addr` (and nothing else) until the process ends. The live gauges
/// are read from `live` at each scrape.
///
/// # Errors
/// A sentence naming `METRICS_ADDR` when the address cannot be bound.
pub async fn serve(addr: SocketAddr, handle: PrometheusHandle, live: LiveSessions) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot serve metrics on {addr} (set METRICS_ADDR to a free address): {e}"))?;
    let scrape = move || {
        let (handle, live) = (handle.clone(), live.clone());
        async move {
            gauge!(LIVE_TABS).set(live.tab_count() as f64);
            let mode = live.feed_mode();
            for (name, this) in [("change_stream", FeedMode::ChangeStream), ("polling", FeedMode::Polling)] {
                gauge!(LIVE_FEED_MODE, "mode" => name).set(if mode == Some(this) { 1.0 } else { 0.0 });
            }
            handle.render()
        }
    };
    let app = Router::new().route("/metrics", get(scrape));
    tracing::info!("serving metrics on http://{addr}/metrics");
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "the metrics listener stopped");
        }
    });
    Ok(())
}
