//! The signed-in user's sessions: list them and end them, and the account's recent activity.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use self::ssr::session_row;

use crate::{
    error::AppError,
    model::{EventList, RevokeOutcome, SessionList},
};

/// The signed-in user's live sessions, most recently active first, this one flagged.
///
/// # Errors
/// 401 when not signed in, 503 when the database is unavailable.
#[server(endpoint = "list_sessions")]
pub async fn list_sessions() -> Result<SessionList, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let sessions = cx.state.registry.list_for_user(&signed_in.user_id).await?;
    let rows = sessions.into_iter().map(|session| session_row(session, Some(&signed_in.session_id))).collect();
    Ok(SessionList { now_ms: cx.now_ms(), sessions: rows })
}

/// Ends one of the signed-in user's sessions by its handle. The current session's handle
/// logs this device out. A handle that is unknown or belongs to someone else ends nothing
/// and gets the same answer, `ended: false`.
///
/// # Errors
/// 401 when not signed in, 503 when the database is unavailable or cannot confirm.
#[server(endpoint = "revoke_session")]
pub async fn revoke_session(
    /// The public handle of the session to end, as `list_sessions` reports it.
    handle: String,
) -> Result<RevokeOutcome, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let current_handle = cx.state.registry.handle_of(&signed_in.session_id).await?;
    if current_handle.as_deref() == Some(handle.as_str()) {
        cx.end_current_session(&signed_in, SecurityEventKind::Logout, None).await?;
        cx.redirect(routes::LOGIN, Notice::SignedOut);
        return Ok(RevokeOutcome { ended: true, was_current: true });
    }
    let ended = cx.state.registry.revoke(&signed_in.user_id, &handle).await.map_err(others_unconfirmed)?;
    if ended {
        cx.record(&signed_in.user_id, SecurityEventKind::Revoke, Some(handle), Some(1)).await;
    }
    cx.redirect(routes::SECURITY, if ended { Notice::Revoked } else { Notice::AlreadyEnded });
    Ok(RevokeOutcome { ended, was_current: false })
}

/// Ends every session of the signed-in user except this one. Returns how many were ended.
///
/// # Errors
/// 401 when not signed in, 503 when the database is unavailable or cannot confirm.
#[server(endpoint = "sign_out_others")]
pub async fn sign_out_others() -> Result<u64, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    // The acting session's handle is read first, so that the ending's record follows its delete
    // at once: the other tabs learn why their session ended without waiting on another read.
    let handle = cx.state.registry.handle_of(&signed_in.session_id).await.ok().flatten();
    let ended = cx.state.registry.end_others(&signed_in.user_id, &signed_in.session_id).await.map_err(others_unconfirmed)?;
    let count = ended.count;
    cx.record_ending(&signed_in.user_id, SecurityEventKind::SignOutOthers, handle, ended).await;
    cx.redirect(routes::SECURITY, Notice::OthersSignedOut { count });
    Ok(count)
}

/// Ends every session of the signed-in user, this one included, and removes this device's
/// cookie. Returns how many were ended.
///
/// # Errors
/// 401 when not signed in, 503 when the database is unavailable or cannot confirm.
#[server(endpoint = "logout_everywhere")]
pub async fn logout_everywhere() -> Result<u64, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let handle = cx.state.registry.handle_of(&signed_in.session_id).await.map_err(unconfirmed)?;
    let ended = cx.state.registry.end_all_for_user(&signed_in.user_id).await.map_err(unconfirmed)?;
    cx.flush().await;
    clear_site_data();
    let count = ended.count;
    cx.record_ending(&signed_in.user_id, SecurityEventKind::LogoutEverywhere, handle, ended).await;
    cx.redirect(routes::LOGIN, Notice::SignedOutEverywhere { count });
    Ok(count)
}

/// The signed-in user's recent security activity, newest first, with the server's time so
/// "(5 minutes ago)" is measured from now.
///
/// # Errors
/// 401 when not signed in, 503 when the database is unavailable.
#[server(endpoint = "security_events")]
pub async fn security_events() -> Result<EventList, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let events = cx.state.events.recent(&signed_in.user_id, RECENT_EVENTS).await?;
    Ok(EventList { now_ms: cx.now_ms(), events })
}

#[cfg(feature = "ssr")]
mod ssr {
    pub use crate::{
        api::{
            request::RequestContext,
            session_lifecycle::{clear_site_data, others_unconfirmed, unconfirmed},
        },
        model::SecurityEventKind,
        notice::Notice,
        routes,
    };
    use sessionguard_store::SessionInfo;
    use tower_sessions::session::Id;

    use crate::{auth::device_summary, clock::unix_millis, model::SessionRow};

    /// How many security events the security page shows.
    pub const RECENT_EVENTS: i64 = 20;

    /// A stored session as the security page (and `sessionguard sessions list --json`) shows
    /// it; `current` is the token of the session that asked, if a session asked.
    pub fn session_row(session: SessionInfo, current: Option<&Id>) -> SessionRow {
        let current = current.is_some_and(|id| session.has_token(id));
        let user_agent = session.user_agent.unwrap_or_default();
        let (device, mobile) = device_summary(&user_agent);
        SessionRow {
            handle: session.handle,
            device,
            mobile,
            user_agent,
            ip: session.ip.unwrap_or_else(|| "unknown".into()),
            signed_in_ms: unix_millis(session.created_at),
            last_active_ms: unix_millis(session.last_seen_at),
            current,
            new_device: session.new_device,
        }
    }
}
