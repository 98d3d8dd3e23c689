//! The outcome messages that survive a redirect: carried in the URL as `?notice=…&count=…`,
//! so a form posted without JavaScript shows the same words as one posted with it.

use crate::model::EndReason;

/// Something that just happened, told to the user on the page they land on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// This device logged out.
    SignedOut,
    /// Every session ended, this one included.
    SignedOutEverywhere {
        /// How many sessions ended.
        count: u64,
    },
    /// The session ended elsewhere (revoked, logged out everywhere, expired).
    SessionEnded,
    /// One other session was revoked.
    Revoked,
    /// The revoked session had already ended.
    AlreadyEnded,
    /// All other sessions were signed out.
    OthersSignedOut {
        /// How many sessions ended.
        count: u64,
    },
    /// The password changed and other sessions were signed out.
    PasswordChanged {
        /// How many other sessions ended.
        count: u64,
    },
    /// An open page learned that its session ended, and why.
    EndedWhileOpen(EndReason),
    /// The account was deleted, with every session.
    AccountDeleted {
        /// How many sessions ended.
        count: u64,
    },
}

impl From<EndReason> for Notice {
    fn from(reason: EndReason) -> Self {
        match reason {
            EndReason::Ended => Self::SessionEnded,
            other => Self::EndedWhileOpen(other),
        }
    }
}

fn sessions(count: u64) -> String {
    if count == 1 { "1 session".into() } else { format!("{count} sessions") }
}

impl Notice {
    /// The sentence shown to the user.
    pub fn message(self) -> String {
        match self {
            Self::SignedOut => "You have been signed out.".into(),
            Self::SignedOutEverywhere { count } => format!("Signed out everywhere: {} ended, including this one.", sessions(count)),
            Self::SessionEnded => "Your session ended. Please sign in again.".into(),
            Self::Revoked => "Signed out that session.".into(),
            Self::AlreadyEnded => "That session had already ended.".into(),
            Self::OthersSignedOut { count: 0 } => "There were no other sessions to sign out.".into(),
            Self::OthersSignedOut { count } => format!("Signed out {} other {}.", count, if count == 1 { "session" } else { "sessions" }),
            Self::PasswordChanged { count } => format!("Password changed. Signed out {} on other devices.", sessions(count)),
            Self::EndedWhileOpen(EndReason::LoggedOutInAnotherTab) => "You logged out in another tab.".into(),
            Self::EndedWhileOpen(EndReason::EndedFromAnotherDevice) => "This session was ended from another device.".into(),
            Self::EndedWhileOpen(EndReason::SignedOutEverywhere) => "You were signed out everywhere.".into(),
            Self::EndedWhileOpen(EndReason::Expired) => "Your session expired. Please sign in again.".into(),
            Self::EndedWhileOpen(EndReason::EndedByAdmin) => "An administrator ended this session.".into(),
            Self::EndedWhileOpen(EndReason::Ended) => Self::SessionEnded.message(),
            Self::AccountDeleted { count } => format!("Your account was deleted, and {} ended with it.", sessions(count)),
        }
    }

    /// Whether the notice reports a problem rather than a success.
    pub fn is_warning(self) -> bool {
        matches!(self, Self::SessionEnded | Self::AlreadyEnded | Self::EndedWhileOpen(_))
    }

    /// The query string (without `?`) that carries this notice.
    pub fn to_query(self) -> String {
        match self {
            Self::SignedOut => "notice=signed_out".into(),
            Self::SignedOutEverywhere { count } => format!("notice=everywhere&count={count}"),
            Self::SessionEnded => "notice=ended".into(),
            Self::Revoked => "notice=revoked".into(),
            Self::AlreadyEnded => "notice=already_ended".into(),
            Self::OthersSignedOut { count } => format!("notice=others&count={count}"),
            Self::PasswordChanged { count } => format!("notice=password&count={count}"),
            Self::EndedWhileOpen(EndReason::LoggedOutInAnotherTab) => "notice=ended_tab".into(),
            Self::EndedWhileOpen(EndReason::EndedFromAnotherDevice) => "notice=ended_device".into(),
            Self::EndedWhileOpen(EndReason::SignedOutEverywhere) => "notice=ended_everywhere".into(),
            Self::EndedWhileOpen(EndReason::Expired) => "notice=expired".into(),
            Self::EndedWhileOpen(EndReason::EndedByAdmin) => "notice=ended_admin".into(),
            Self::EndedWhileOpen(EndReason::Ended) => Self::SessionEnded.to_query(),
            Self::AccountDeleted { count } => format!("notice=deleted&count={count}"),
        }
    }

    /// Reads a notice back from the `notice` and `count` query parameters; anything unknown is
    /// ignored, so a crafted URL can only pick one of these fixed sentences.
    pub fn from_query(notice: Option<&str>, count: Option<&str>) -> Option<Self> {
        let count = count.and_then(|c| c.parse().ok()).unwrap_or(0);
        Some(match notice? {
            "signed_out" => Self::SignedOut,
            "everywhere" => Self::SignedOutEverywhere { count },
            "ended" => Self::SessionEnded,
            "revoked" => Self::Revoked,
            "already_ended" => Self::AlreadyEnded,
            "others" => Self::OthersSignedOut { count },
            "password" => Self::PasswordChanged { count },
            "ended_tab" => Self::EndedWhileOpen(EndReason::LoggedOutInAnotherTab),
            "ended_device" => Self::EndedWhileOpen(EndReason::EndedFromAnotherDevice),
            "ended_everywhere" => Self::EndedWhileOpen(EndReason::SignedOutEverywhere),
            "expired" => Self::EndedWhileOpen(EndReason::Expired),
            "ended_admin" => Self::EndedWhileOpen(EndReason::EndedByAdmin),
            "deleted" => Self::AccountDeleted { count },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_round_trips_through_its_query() {
        for notice in [
            Notice::SignedOut,
            Notice::SignedOutEverywhere { count: 3 },
            Notice::SessionEnded,
            Notice::Revoked,
            Notice::AlreadyEnded,
            Notice::OthersSignedOut { count: 2 },
            Notice::PasswordChanged { count: 1 },
            Notice::EndedWhileOpen(EndReason::LoggedOutInAnotherTab),
            Notice::EndedWhileOpen(EndReason::EndedFromAnotherDevice),
            Notice::EndedWhileOpen(EndReason::SignedOutEverywhere),
            Notice::EndedWhileOpen(EndReason::Expired),
            Notice::EndedWhileOpen(EndReason::EndedByAdmin),
            Notice::AccountDeleted { count: 2 },
        ] {
            let query = notice.to_query();
            let mut pairs = query.split('&').map(|p| p.split_once('=').unwrap().1);
            assert_eq!(Notice::from_query(pairs.next(), pairs.next()), Some(notice));
        }
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(Notice::OthersSignedOut { count: 3 }.message(), "Signed out 3 other sessions.");
        assert_eq!(Notice::OthersSignedOut { count: 1 }.message(), "Signed out 1 other session.");
        assert_eq!(Notice::from_query(Some("<script>"), None), None);
    }
}
