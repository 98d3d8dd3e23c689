//! Why a session ended: the security events that end sessions, and how one is matched to the
//! session a tab shows. Matching is by the session's handle, never by time.

use super::Tab;
use crate::model::{EndReason, SecurityEventKind};

/// The security events that end sessions: the only ones the hub keeps.
pub const ENDING_KINDS: [SecurityEventKind; 7] = [
    SecurityEventKind::Logout,
    SecurityEventKind::Revoke,
    SecurityEventKind::SignOutOthers,
    SecurityEventKind::LogoutEverywhere,
    SecurityEventKind::PasswordChange,
    SecurityEventKind::SessionLimit,
    SecurityEventKind::AdminEnd,
];

/// An ending as the security log recorded it: what explains why a deleted session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// What happened.
    pub kind: SecurityEventKind,
    /// The session the event names: the one logged out or revoked, or the one that acted.
    pub handle: Option<String>,
    /// The sessions the action ended, for actions that end several (sign out others, password
    /// change, session limit, log out everywhere).
    pub ended_handles: Vec<String>,
}

impl Ending {
    /// Why the session `tab` shows ended, judged from this ending of its owner; `None` when
    /// this ending was about other sessions.
    pub(super) fn reason_for(&self, tab: &Tab) -> Option<EndReason> {
        let named = self.handle.as_deref() == Some(tab.handle.as_str());
        let ended = self.ended_handles.contains(&tab.handle);
        match self.kind {
            SecurityEventKind::Logout if named => Some(EndReason::LoggedOutInAnotherTab),
            SecurityEventKind::Revoke if named => Some(EndReason::EndedFromAnotherDevice),
            SecurityEventKind::SignOutOthers | SecurityEventKind::PasswordChange | SecurityEventKind::SessionLimit if ended => {
                Some(EndReason::EndedFromAnotherDevice)
            }
            SecurityEventKind::LogoutEverywhere if ended => Some(EndReason::SignedOutEverywhere),
            SecurityEventKind::AdminEnd if ended => Some(EndReason::EndedByAdmin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ending(kind: SecurityEventKind, handle: &str, ended: &[&str]) -> Ending {
        Ending { kind, handle: Some(handle.into()), ended_handles: ended.iter().map(|h| (*h).to_owned()).collect() }
    }

    #[test]
    fn reasons_match_the_ended_session_by_handle() {
        use SecurityEventKind::*;
        let mine = Tab { key: "k".into(), user_id: "u".into(), handle: "mine".into() };
        let cases = [
            (ending(Logout, "mine", &[]), Some(EndReason::LoggedOutInAnotherTab)),
            (ending(Logout, "other", &[]), None),
            (ending(Revoke, "mine", &[]), Some(EndReason::EndedFromAnotherDevice)),
            (ending(Revoke, "other", &[]), None),
            (ending(SignOutOthers, "other", &["mine", "third"]), Some(EndReason::EndedFromAnotherDevice)),
            (ending(SignOutOthers, "other", &["third"]), None),
            (ending(PasswordChange, "new", &["mine"]), Some(EndReason::EndedFromAnotherDevice)),
            (ending(PasswordChange, "new", &[]), None),
            (ending(SessionLimit, "new", &["mine"]), Some(EndReason::EndedFromAnotherDevice)),
            (ending(SessionLimit, "new", &["oldest"]), None),
            (ending(LogoutEverywhere, "other", &["other", "mine"]), Some(EndReason::SignedOutEverywhere)),
            (ending(LogoutEverywhere, "other", &["other"]), None),
            (ending(AdminEnd, "", &["third", "mine"]), Some(EndReason::EndedByAdmin)),
            (ending(AdminEnd, "", &["third"]), None),
            (ending(FailedLogin, "mine", &["mine"]), None),
        ];
        for (ending, expected) in cases {
            assert_eq!(ending.reason_for(&mine), expected, "{ending:?}");
        }
    }
}
