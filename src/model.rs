//! Data that crosses between server and browser: what server functions answer with.
//! Plain serializable types; no database or UI types.

use serde::{Deserialize, Serialize};

/// The signed-in user, as `me` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    /// The account's normalized email address.
    pub email: String,
}

/// One active session on the security page. Carries a public handle, never a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// The public id to revoke this session with.
    pub handle: String,
    /// A readable device summary, like "Firefox on Windows".
    pub device: String,
    /// Whether the device is a phone or tablet (for the icon).
    pub mobile: bool,
    /// The `User-Agent` recorded at sign-in.
    pub user_agent: String,
    /// The client address recorded at sign-in.
    pub ip: String,
    /// Sign-in time, milliseconds since the Unix epoch.
    pub signed_in_ms: i64,
    /// Last activity, milliseconds since the Unix epoch (to within the touch interval).
    pub last_active_ms: i64,
    /// Whether this is the session that asked.
    pub current: bool,
    /// Whether it signed in from a device and network the account had not used in the 90 days
    /// before (its sign-in record says so).
    pub new_device: bool,
}

/// The signed-in user's sessions, with the server's clock for "2 minutes ago" texts (so the
/// server-rendered and the hydrated page say exactly the same).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    /// The server's time when the list was read, milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// The live sessions, most recently active first.
    pub sessions: Vec<SessionRow>,
}

/// What kind of thing happened to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityEventKind {
    /// An account was created.
    Registered,
    /// A successful sign-in.
    Login,
    /// A sign-in with a wrong password.
    FailedLogin,
    /// A session logged itself out.
    Logout,
    /// A session was ended from another one.
    Revoke,
    /// All other sessions were ended.
    SignOutOthers,
    /// Every session was ended, the current one included.
    LogoutEverywhere,
    /// The password was changed (which ends other sessions).
    PasswordChange,
    /// A sign-in passed the limit of live sessions, so the oldest ended.
    SessionLimit,
    /// An operator ended sessions from the command line (one, all, or all by disabling the
    /// account).
    AdminEnd,
}

impl SecurityEventKind {
    /// How the security page names this event.
    pub fn label(self) -> &'static str {
        match self {
            Self::Registered => "Account created",
            Self::Login => "Signed in",
            Self::FailedLogin => "Failed sign-in attempt",
            Self::Logout => "Logged out",
            Self::Revoke => "Session revoked",
            Self::SignOutOthers => "Signed out other sessions",
            Self::LogoutEverywhere => "Logged out everywhere",
            Self::PasswordChange => "Password changed",
            Self::SessionLimit => "Oldest sessions ended: too many sessions",
            Self::AdminEnd => "Ended by an administrator",
        }
    }
}

/// One entry of the recent security activity list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEventRow {
    /// What happened.
    pub kind: SecurityEventKind,
    /// When, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The public handle of the session involved, if any.
    pub session_handle: Option<String>,
    /// The client address of the request.
    pub ip: String,
    /// A readable summary of the requesting device.
    pub device: String,
    /// For a revoke, a readable summary of the device whose session it ended, as that
    /// session's sign-in recorded it (when that record is still kept).
    pub ended_device: Option<String>,
    /// How many sessions were ended, for actions that end several.
    pub sessions_ended: Option<u64>,
}

/// The signed-in user's recent security activity, with the server's clock for "(5 minutes
/// ago)" texts, measured from now rather than from the newest event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventList {
    /// The server's time when the list was read, milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// The most recent events, newest first.
    pub events: Vec<SecurityEventRow>,
}

/// The session timeouts the server enforces, for pages that state them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTimeouts {
    /// A session unused this long has ended.
    pub idle_timeout_secs: u64,
    /// Every session ends this long after sign-in.
    pub absolute_timeout_secs: u64,
}

/// A sign-in elsewhere, as every other open tab of the account hears it (the live event
/// `new_sign_in`, whose data is this as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSignIn {
    /// The new session's public handle: what "Not you? End it" revokes.
    pub handle: String,
    /// A readable device summary, like "Chrome on Android".
    pub device: String,
    /// The client address it signed in from.
    pub ip: String,
    /// When, milliseconds since the Unix epoch.
    pub signed_in_at_ms: i64,
    /// Whether the account had not used this device and network in the last 90 days.
    pub new_device: bool,
}

/// Why an open page's session ended, as the live feed (`GET /api/session_events`) tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Another tab of this browser logged this session out.
    LoggedOutInAnotherTab,
    /// Another device revoked it, signed out the others, or changed the password.
    EndedFromAnotherDevice,
    /// Someone logged out everywhere.
    SignedOutEverywhere,
    /// It reached its idle or absolute deadline.
    Expired,
    /// An operator ended it (`sessionguard sessions end`, `users disable`).
    EndedByAdmin,
    /// It ended for a reason the server did not record (an operator, the expiry sweep).
    Ended,
}

/// What deleting an account removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDeletion {
    /// Sessions ended, this device's included.
    pub sessions_ended: u64,
    /// Security events removed.
    pub events_removed: u64,
}

/// The answer to a revoke request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeOutcome {
    /// Whether a session was ended. `false` for an unknown handle and for another user's.
    pub ended: bool,
    /// Whether the ended session was the caller's own, which is now logged out.
    pub was_current: bool,
}
