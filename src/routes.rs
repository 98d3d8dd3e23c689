//! The path of every page, written once. The route table in `app.rs` spells them as `path!`
//! literals (the macro needs literals); a test checks that the two agree.

/// The landing page.
pub const HOME: &str = "/";
/// Signing in; takes `?next=` (a local path) and `?notice=`.
pub const LOGIN: &str = "/login";
/// Creating an account.
pub const REGISTER: &str = "/register";
/// The signed-in user's sessions and the ways to end them; where sign-in leads by default.
pub const SECURITY: &str = "/account/security";

/// The signed-in account's recent security events.
pub const ACTIVITY: &str = "/account/activity";

/// The live feed of the current session's end (server-sent events; not a page).
pub const SESSION_EVENTS: &str = "/api/session_events";

/// Every page path above, for the check against the route table.
pub const ALL: [&str; 5] = [HOME, LOGIN, REGISTER, SECURITY, ACTIVITY];
