//! Argon2id password hashing, off the async runtime.

use std::sync::LazyLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

/// A PHC-format Argon2id hash. Deliberately not `Serialize` and not `Display`, so it cannot
/// leak into a response or a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

impl std::fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHashString([redacted])")
    }
}

impl PasswordHashString {
    /// Wraps a PHC string read from the database.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storing.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hashing could not run: the blocking thread pool is gone, or Argon2 refused its input.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashingFailed(String);

/// The hasher: `Argon2::default()` is Argon2id v0x13 with OWASP's recommended parameters
/// (m = 19 456 KiB, t = 2, p = 1), fixed by the crate rather than rebuilt here.
fn hasher() -> Argon2<'static> {
    Argon2::default()
}

/// A hash of a password nobody has, verified against when the email is unknown so that an
/// unknown account costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    hasher().hash_password(b"sessionguard-no-such-account", &salt).ok().map(|h| h.to_string())
});

/// Hashes `password` with a fresh salt, on a blocking thread.
///
/// # Errors
/// [`HashingFailed`] only if the blocking pool is gone or Argon2 rejects the input.
pub async fn hash_password(password: String) -> Result<PasswordHashString, HashingFailed> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| PasswordHashString(h.to_string()))
            .map_err(|e| HashingFailed(e.to_string()))
    })
    .await
    .map_err(|e| HashingFailed(e.to_string()))?
}

/// Whether `password` matches `stored`; with `None`, burns the same time and returns `false`.
/// Runs on a blocking thread; the comparison inside Argon2 is constant-time.
pub async fn verify_password(password: String, stored: Option<PasswordHashString>) -> bool {
    tokio::task::spawn_blocking(move || {
        let phc = match &stored {
            Some(hash) => Some(hash.0.as_str()),
            None => DUMMY_HASH.as_deref(),
        };
        let Some(parsed) = phc.and_then(|phc| PasswordHash::new(phc).ok()) else {
            return false;
        };
        let matches = hasher().verify_password(password.as_bytes(), &parsed).is_ok();
        matches && stored.is_some()
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "OWASP's parameters: {}", hash.as_str());
        assert!(verify_password("correct horse".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(hash.clone())).await);
        assert!(!verify_password("sessionguard-no-such-account".into(), None).await);
        assert_eq!(format!("{hash:?}"), "PasswordHashString([redacted])");
    }
}
