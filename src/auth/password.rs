//! Argon2id password hashing: off the async runtime, and never more at once than the machine
//! can hold.

use std::sync::{Arc, LazyLock, Mutex};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version,
    password_hash::{self, Output, ParamsString, Salt, SaltString, rand_core::OsRng},
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

/// Argon2 over working memory from the pool rather than a fresh allocation: the output of
/// `argon` for `password` and `salt`. `memory` grows to the block count `argon` needs.
fn hash_with(argon: &Argon2<'_>, password: &[u8], salt: Salt<'_>, memory: &mut Vec<Block>) -> password_hash::Result<Output> {
    let mut salt_buffer = [0u8; Salt::MAX_LENGTH];
    let salt = salt.decode_b64(&mut salt_buffer)?;
    memory.resize(argon.params().block_count(), Block::default());
    let output_len = argon.params().output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    Output::init_with(output_len, |out| Ok(argon.hash_password_into_with_memory(password, salt, out, memory.as_mut_slice())?))
}

/// A new PHC string for `password` under [`hasher`]'s parameters and a fresh salt.
fn new_hash(password: &[u8], memory: &mut Vec<Block>) -> password_hash::Result<String> {
    let argon = hasher();
    let salt = SaltString::generate(&mut OsRng);
    let output = hash_with(&argon, password, salt.as_salt(), memory)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, under the parameters `phc` names. The
/// comparison of the outputs is constant-time (`Output`'s `PartialEq`). A string that is not a
/// complete PHC hash is an error, never "no match".
fn verify_phc(password: &[u8], phc: &str, memory: &mut Vec<Block>) -> password_hash::Result<bool> {
    let parsed = PasswordHash::new(phc)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(password_hash::Error::PhcStringField);
    };
    let version = parsed.version.map(Version::try_from).transpose()?.unwrap_or_default();
    let argon = Argon2::new(Algorithm::try_from(parsed.algorithm)?, version, Params::try_from(&parsed)?);
    Ok(hash_with(&argon, password, salt, memory)? == expected)
}

/// Hashes and verifies passwords on blocking threads, at most `concurrency` at a time
/// (`Config::hash_concurrency`). Each Argon2 run holds 19 MiB and a core; without a cap, a burst
/// of sign-ins would start up to 512 blocking threads (about 9.5 GiB). Over the cap a request is
/// refused at once with [`PasswordError::Busy`], never queued. Cheap to clone: clones share the slots.
///
/// The 19 MiB working areas are kept in a pool and reused, so the process holds at most
/// `concurrency` of them, whatever the number of sign-ins. Allocating one per run let the
/// allocator keep a freed area in each thread's arena: 476 MiB of peak memory in the
/// `login-logout` benchmark, against 94.5 MiB with the pool at four slots (bench/RESULTS.md).
#[derive(Debug, Clone)]
pub struct Passwords {
    slots: Arc<Semaphore>,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    /// How many Argon2 runs have started, for tests that check each path does the same work.
    #[cfg(feature = "test-util")]
    runs: Arc<std::sync::atomic::AtomicU64>,
}

/// A slot, and a working area that goes back to the pool when the run is over.
struct Run {
    _slot: OwnedSemaphorePermit,
    memory: Vec<Block>,
    pool: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Drop for Run {
    fn drop(&mut self) {
        let memory = std::mem::take(&mut self.memory);
        self.pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(memory);
    }
}

impl Passwords {
    /// At most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency)),
            memory: Arc::default(),
            #[cfg(feature = "test-util")]
            runs: Arc::default(),
        }
    }

    /// How many Argon2 runs (hashes and verifications) have started on these slots.
    #[cfg(feature = "test-util")]
    pub fn runs(&self) -> u64 {
        self.runs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A slot with its working area, or [`PasswordError::Busy`]. The run travels into the
    /// blocking task, so the slot is held until Argon2 has finished even if the request is
    /// abandoned.
    fn run(&self) -> Result<Run, PasswordError> {
        let slot = self.slots.clone().try_acquire_owned().map_err(|_| PasswordError::Busy)?;
        #[cfg(feature = "test-util")]
        self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let memory = self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop().unwrap_or_default();
        Ok(Run { _slot: slot, memory, pool: self.memory.clone() })
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
        let mut run = self.run()?;
        tokio::task::spawn_blocking(move || {
            new_hash(password.as_bytes(), &mut run.memory).map(PasswordHashString).map_err(|e| PasswordError::Failed(e.to_string()))
        })
        .await
        .map_err(|e| PasswordError::Failed(e.to_string()))?
    }

    /// Whether `password` matches `stored`; with `None`, burns the same time and answers `false`.
    /// The comparison is constant-time. Exactly one Argon2 run either way.
    ///
    /// # Errors
    /// [`PasswordError::Busy`] when every slot is taken; [`PasswordError::Failed`] when the
    /// stored hash does not parse or the hashing task failed. A failure is never a "wrong
    /// password": the caller must not count it against the account.
    pub async fn verify(&self, password: String, stored: Option<PasswordHashString>) -> Result<bool, PasswordError> {
        let mut run = self.run()?;
        tokio::task::spawn_blocking(move || {
            let phc = match &stored {
                Some(hash) => hash.0.as_str(),
                None => DUMMY_HASH.as_deref().ok_or_else(|| PasswordError::Failed("the stand-in hash could not be made".into()))?,
            };
            let matched = verify_phc(password.as_bytes(), phc, &mut run.memory)
                .map_err(|e| PasswordError::Failed(format!("the stored hash cannot be checked: {e}")))?;
            Ok(matched && stored.is_some())
        })
        .await
        .map_err(|e| PasswordError::Failed(e.to_string()))?
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
    async fn a_stored_hash_that_does_not_parse_is_an_error_not_a_wrong_password() {
        let passwords = Passwords::new(1);
        for broken in ["not a hash", "$argon2id$v=19$m=19456,t=2,p=1", ""] {
            let outcome = passwords.verify("correct horse".into(), Some(PasswordHashString(broken.into()))).await;
            assert!(matches!(outcome, Err(PasswordError::Failed(_))), "{broken:?} gave {outcome:?}");
        }
    }

    #[tokio::test]
    async fn over_the_cap_a_request_is_refused_not_queued() {
        let passwords = Passwords::new(1);
        let slot = passwords.run().unwrap();
        assert!(matches!(passwords.hash("x".repeat(10)).await, Err(PasswordError::Busy)));
        assert!(matches!(passwords.verify("x".repeat(10), None).await, Err(PasswordError::Busy)));
        drop(slot);
        assert!(passwords.hash("x".repeat(10)).await.is_ok(), "a freed slot serves the next request");
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own_api() {
        let passwords = Passwords::new(1);
        let salt = SaltString::generate(&mut OsRng);
        let theirs = hasher().hash_password(b"correct horse", &salt).unwrap().to_string();
        assert!(
            passwords.verify("correct horse".into(), Some(PasswordHashString(theirs.clone()))).await.unwrap(),
            "stored hashes still verify"
        );
        assert!(!passwords.verify("wrong horse".into(), Some(PasswordHashString(theirs))).await.unwrap());
        let ours = passwords.hash("correct horse".into()).await.unwrap();
        let parsed = PasswordHash::new(ours.as_str()).unwrap();
        assert!(argon2::PasswordVerifier::verify_password(&hasher(), b"correct horse", &parsed).is_ok(), "and ours verify with the crate");
    }

    #[tokio::test]
    async fn working_memory_is_reused_never_more_than_the_slots() {
        let passwords = Passwords::new(2);
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        for _ in 0..3 {
            let (a, b) = tokio::join!(
                passwords.verify("correct horse".into(), Some(hash.clone())),
                passwords.verify("wrong horse".into(), Some(hash.clone())),
            );
            assert!(a.unwrap() && !b.unwrap());
        }
        let pool = passwords.memory.lock().unwrap();
        assert!(pool.len() <= 2, "{} working areas for 2 slots", pool.len());
        assert!(pool.iter().all(|area| area.len() == hasher().params().block_count()), "each area is one run's 19 MiB, kept");
    }
}
