//! Rules for what users type, shared by the server (which enforces them) and the browser
//! (which shows the same messages before a round trip).

/// Shortest accepted password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest accepted password, in characters; bounds the hashing work one request can cause.
pub const PASSWORD_MAX_CHARS: usize = 128;
/// Longest accepted email address (RFC 5321's path limit).
pub const EMAIL_MAX_CHARS: usize = 254;

/// A form field that an error can be about; serialized as the field's `name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The email address.
    Email,
    /// The password (sign-in and registration).
    Password,
    /// The current password (password change).
    Current,
    /// The new password (password change).
    New,
}

impl Field {
    /// The field's `name` in the forms and the server functions' arguments.
    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Password => "password",
            Self::Current => "current",
            Self::New => "new",
        }
    }
}

/// What is wrong with a field's value; each says how to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
pub enum FieldProblem {
    /// No email address.
    #[error("Enter your email address.")]
    EmailMissing,
    /// Longer than an address can be.
    #[error("That email address is too long.")]
    EmailTooLong,
    /// Not shaped like an address.
    #[error("Enter an email address like name@example.com.")]
    EmailMalformed,
    /// A new password that is too short.
    #[error("Use at least {PASSWORD_MIN_CHARS} characters for your password.")]
    PasswordTooShort,
    /// A new password that is too long.
    #[error("Use at most {PASSWORD_MAX_CHARS} characters for your password.")]
    PasswordTooLong,
    /// The current password, given to change it, is wrong.
    #[error("Your current password is not correct.")]
    CurrentPasswordWrong,
}

/// The canonical form of an email address: trimmed and lower-cased, so one person has one account.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks a (normalized) email address and says what is wrong with it.
///
/// # Errors
/// The problem, for the email field.
pub fn validate_email(email: &str) -> Result<(), FieldProblem> {
    if email.is_empty() {
        return Err(FieldProblem::EmailMissing);
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err(FieldProblem::EmailTooLong);
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(FieldProblem::EmailMalformed);
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty() || domain.contains('@') || !domain_ok || email.chars().any(char::is_whitespace) {
        return Err(FieldProblem::EmailMalformed);
    }
    Ok(())
}

/// The password rule as the forms state it, e.g. "8 to 128 characters.".
pub fn password_rule() -> String {
    format!("{PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters.")
}

/// Checks a new password's length.
///
/// # Errors
/// The problem, for the password field.
pub fn validate_password(password: &str) -> Result<(), FieldProblem> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(FieldProblem::PasswordTooShort);
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(FieldProblem::PasswordTooLong);
    }
    Ok(())
}

/// Where to go after signing in: `next` if it is a path on this site, else the security page.
/// Refuses anything that could leave the site (`//host`, `/\\host`, `https:`), so the sign-in
/// page is no open redirect.
pub fn safe_next(next: Option<&str>) -> &str {
    const DEFAULT: &str = crate::routes::SECURITY;
    let Some(next) = next else { return DEFAULT };
    let local =
        next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") && !next.chars().any(|c| c.is_control() || c == '\\');
    if local { next } else { DEFAULT }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(normalize_email("  Alice@Example.COM "), "alice@example.com");
    }

    #[test]
    fn plausible_emails_pass_and_others_say_why() {
        assert!(validate_email("a@example.com").is_ok());
        assert!(validate_email("first.last+tag@sub.example.org").is_ok());
        for bad in ["", "alice", "@example.com", "a@b", "a@@b.com", "a b@example.com", "a@.example.com", "a@example..com"] {
            assert!(validate_email(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/account/security?tab=1")), "/account/security?tab=1");
        assert_eq!(safe_next(Some("/")), "/");
        for bad in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/a\nb", "evil"] {
            assert_eq!(safe_next(Some(bad)), "/account/security", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/account/security");
    }

    #[test]
    fn the_stated_rule_is_the_enforced_one() {
        assert_eq!(password_rule(), "8 to 128 characters.");
        assert_eq!(validate_password("short").unwrap_err().to_string(), "Use at least 8 characters for your password.");
    }

    #[test]
    fn passwords_must_be_8_to_128_characters() {
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password(&"é".repeat(128)).is_ok(), "characters, not bytes");
        assert!(validate_password(&"x".repeat(129)).is_err());
    }
}
