//! The signed-in user's sessions: list them and end them.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::request::{RequestContext, unconfirmed};
use crate::{
    error::AppError,
    model::{RevokeOutcome, SecurityEventRow, SessionList},
};
#[cfg(feature = "ssr")]
use crate::{
    model::{SecurityEventKind, SessionRow},
    notice::Notice,
};

/// Where session actions send the browser back to.
#[cfg(feature = "ssr")]
const SECURITY_PAGE: &str = "/account/security";

/// How many security events the security page shows.
#[cfg(feature = "ssr")]
const RECENT_EVENTS: i64 = 20;

/// The signed-in user's live sessions, most recently active first, this one flagged.
///
/// # Errors
/// 401 when not signed in, 503 when the database is unavailable.
#[server(endpoint = "list_sessions")]
pub async fn list_sessions() -> Result<SessionList, AppError> {
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let sessions = cx.state.registry.list_for_user(&signed_in.user_id, Some(&signed_in.session_id)).await?;
    let sessions = sessions
        .into_iter()
        .map(|s| {
            let user_agent = s.user_agent.unwrap_or_default();
            let (device, mobile) = crate::auth::device_summary(&user_agent);
            SessionRow {
                handle: s.handle,
                device,
                mobile,
                user_agent,
                ip: s.ip.unwrap_or_else(|| "unknown".into()),
                signed_in_ms: millis(s.created_at),
                last_active_ms: millis(s.last_seen_at),
                current: s.is_current,
            }
        })
        .collect();
    Ok(SessionList { now_ms: millis(time::OffsetDateTime::now_utc()), sessions })
}

#[cfg(feature = "ssr")]
fn millis(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Ends one of the signed-in user's sessions by its handle. The current session's handle
/// logs this device out. A handle that is unknown or belongs to someone else ends nothing
/// and gets the same answer, `ended: false`.
///
/// # Errors
/// 401 when not signed in, 503 when the database is unavailable or cannot confirm.
#[server(endpoint = "revoke_session")]
pub async fn revoke_session(handle: String) -> Result<RevokeOutcome, AppError> {
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let current_handle = cx.state.registry.handle_of(&signed_in.session_id).await?;
    if current_handle.as_deref() == Some(handle.as_str()) {
        cx.end_current_session(&signed_in, SecurityEventKind::Logout, None).await?;
        cx.redirect("/login", Notice::SignedOut);
        return Ok(RevokeOutcome { ended: true, was_current: true });
    }
    let ended = cx.state.registry.revoke(&signed_in.user_id, &handle).await.map_err(unconfirmed)?;
    if ended {
        cx.record(&signed_in.user_id, SecurityEventKind::Revoke, Some(handle), Some(1)).await;
    }
    cx.redirect(SECURITY_PAGE, if ended { Notice::Revoked } else { Notice::AlreadyEnded });
    Ok(RevokeOutcome { ended, was_current: false })
}

/// Ends every session of the signed-in user except this one. Returns how many were ended.
///
/// # Errors
/// 401 when not signed in, 503 when the database is unavailable or cannot confirm.
#[server(endpoint = "sign_out_others")]
pub async fn sign_out_others() -> Result<u64, AppError> {
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let ended = cx.state.registry.end_others(&signed_in.user_id, &signed_in.session_id).await.map_err(unconfirmed)?;
    let handle = cx.state.registry.handle_of(&signed_in.session_id).await.ok().flatten();
    cx.record(&signed_in.user_id, SecurityEventKind::SignOutOthers, handle, Some(ended)).await;
    cx.redirect(SECURITY_PAGE, Notice::OthersSignedOut { count: ended });
    Ok(ended)
}

/// Ends every session of the signed-in user, this one included, and removes this device's
/// cookie. Returns how many were ended.
///
/// # Errors
/// 401 when not signed in, 503 when the database is unavailable or cannot confirm.
#[server(endpoint = "logout_everywhere")]
pub async fn logout_everywhere() -> Result<u64, AppError> {
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    let handle = cx.state.registry.handle_of(&signed_in.session_id).await.map_err(unconfirmed)?;
    let ended = cx.state.registry.end_all_for_user(&signed_in.user_id).await.map_err(unconfirmed)?;
    cx.flush().await;
    cx.record(&signed_in.user_id, SecurityEventKind::LogoutEverywhere, handle, Some(ended)).await;
    cx.redirect("/login", Notice::SignedOutEverywhere { count: ended });
    Ok(ended)
}

/// The signed-in user's recent security activity, newest first.
///
/// # Errors
/// 401 when not signed in, 503 when the database is unavailable.
#[server(endpoint = "security_events")]
pub async fn security_events() -> Result<Vec<SecurityEventRow>, AppError> {
    let cx = RequestContext::current().await?;
    let signed_in = cx.require_user().await?;
    cx.state.events.recent(&signed_in.user_id, RECENT_EVENTS).await
}
