//! Argon2id password hashing: off the async runtime, and never more at once than the machine
//! can hold.

use std::sync::{Arc, LazyLock};

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every hashing slot is taken; the caller should answer 503 with `Retry-After`.
    #[error("every password-hashing slot is in use")]
    Busy,
    /// The blocking thread pool is gone, or Argon2 refused its input.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

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

/// Hashes and verifies passwords on blocking threads, at most `concurrency` at a time
/// (`Config::hash_concurrency`). Each Argon2 run holds 19 MiB and a core; without a cap, a burst
/// of sign-ins would start up to 512 blocking threads (about 9.5 GiB). Over the cap a request is
/// refused at once with [`PasswordError::Busy`], never queued. Cheap to clone: clones share the slots.
#[derive(Debug, Clone)]
pub struct Passwords {
    slots: Arc<Semaphore>,
}

impl Passwords {
    /// At most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> Self {
        Self { slots: Arc::new(Semaphore::new(concurrency)) }
    }

    /// A slot, or [`PasswordError::Busy`]. The slot travels into the blocking task, so it is
    /// held until Argon2 has finished even if the request is abandoned.
    fn slot(&self) -> Result<OwnedSemaphorePermit, PasswordError> {
        self.slots.clone().try_acquire_owned().map_err(|_| PasswordError::Busy)
    }

    /// Takes every free slot and holds them while the guard lives: for tests of the busy answer.
    #[cfg(feature = "test-util")]
    pub fn occupy_all(&self) -> OwnedSemaphorePermit {
        let free = u32::try_from(self.slots.available_permits()).unwrap_or(u32::MAX);
        self.slots.clone().try_acquire_many_owned(free).unwrap_or_else(|_| unreachable!("the permits were just counted"))
    }

    /// Hashes `password` with a fresh salt.
    ///
    /// # Errors
    /// [`PasswordError::Busy`] when every slot is taken; [`PasswordError::Failed`] if the
    /// blocking pool is gone or Argon2 rejects the input.
    pub async fn hash(&self, password: String) -> Result<PasswordHashString, PasswordError> {
        let slot = self.slot()?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let salt = SaltString::generate(&mut OsRng);
            hasher()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| PasswordHashString(h.to_string()))
                .map_err(|e| PasswordError::Failed(e.to_string()))
        })
        .await
        .map_err(|e| PasswordError::Failed(e.to_string()))?
    }

    /// Whether `password` matches `stored`; with `None`, burns the same time and answers `false`.
    /// The comparison inside Argon2 is constant-time.
    ///
    /// # Errors
    /// [`PasswordError::Busy`] when every slot is taken.
    pub async fn verify(&self, password: String, stored: Option<PasswordHashString>) -> Result<bool, PasswordError> {
        let slot = self.slot()?;
        let matched = tokio::task::spawn_blocking(move || {
            let _slot = slot;
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
        .unwrap_or(false);
        Ok(matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let passwords = Passwords::new(2);
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "OWASP's parameters: {}", hash.as_str());
        assert!(passwords.verify("correct horse".into(), Some(hash.clone())).await.unwrap());
        assert!(!passwords.verify("wrong horse".into(), Some(hash.clone())).await.unwrap());
        assert!(!passwords.verify("sessionguard-no-such-account".into(), None).await.unwrap());
        assert_eq!(format!("{hash:?}"), "PasswordHashString([redacted])");
    }

    #[tokio::test]
    async fn over_the_cap_a_request_is_refused_not_queued() {
        let passwords = Passwords::new(1);
        let slot = passwords.slot().unwrap();
        assert!(matches!(passwords.hash("x".repeat(10)).await, Err(PasswordError::Busy)));
        assert!(matches!(passwords.verify("x".repeat(10), None).await, Err(PasswordError::Busy)));
        drop(slot);
        assert!(passwords.hash("x".repeat(10)).await.is_ok(), "a freed slot serves the next request");
    }
}
