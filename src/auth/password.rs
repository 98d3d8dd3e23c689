//! Argon2id password hashing, off the async runtime.

use std::sync::LazyLock;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
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

/// OWASP's recommended Argon2id parameters: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
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
/// Only if the blocking pool is gone or Argon2 rejects its own parameters.
pub async fn hash_password(password: String) -> Result<PasswordHashString, String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| PasswordHashString(h.to_string()))
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
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
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(hash.clone())).await);
        assert!(!verify_password("sessionguard-no-such-account".into(), None).await);
        assert_eq!(format!("{hash:?}"), "PasswordHashString([redacted])");
    }
}
