//! Rules for what users type, shared by the server (which enforces them) and the browser
//! (which shows the same messages before a round trip).

/// Shortest accepted password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest accepted password, in characters; bounds the hashing work one request can cause.
pub const PASSWORD_MAX_CHARS: usize = 128;
/// Longest accepted email address (RFC 5321's path limit).
pub const EMAIL_MAX_CHARS: usize = 254;

/// The canonical form of an email address: trimmed and lower-cased, so one person has one account.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks a (normalized) email address and says what is wrong with it.
///
/// # Errors
/// A message for the email field.
pub fn validate_email(email: &str) -> Result<(), &'static str> {
    if email.is_empty() {
        return Err("Enter your email address.");
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err("That email address is too long.");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("Enter an email address like name@example.com.");
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty() || domain.contains('@') || !domain_ok || email.chars().any(char::is_whitespace) {
        return Err("Enter an email address like name@example.com.");
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
/// A message for the password field.
pub fn validate_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(format!("Use at least {PASSWORD_MIN_CHARS} characters for your password."));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(format!("Use at most {PASSWORD_MAX_CHARS} characters for your password."));
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
        assert_eq!(validate_password("short").unwrap_err(), "Use at least 8 characters for your password.");
    }

    #[test]
    fn passwords_must_be_8_to_128_characters() {
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password(&"é".repeat(128)).is_ok(), "characters, not bytes");
        assert!(validate_password(&"x".repeat(129)).is_err());
    }
}
