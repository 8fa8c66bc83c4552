//! Password hashing (argon2id, OWASP parameters) and generation. Hashing costs ~20 MB and tens of
//! milliseconds of CPU by design, so it runs on the blocking pool (a login never stalls the
//! async workers) and at most the configured number at a time (`config::hash_concurrency_from_env`,
//! installed by the edge): a storm of sign-ins queues for the hashing slots instead of taking every core, so other routes keep their latency.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::FieldError;

pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_LEN: usize = 128;

fn argon2() -> Argon2<'static> {
    // OWASP 2023 minimum for argon2id: m=19 MiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

/// Half the cores (at least 1): the hashing slots when the edge configured none.
pub fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map(|n| (n.get() / 2).max(1)).unwrap_or(1)
}

/// Blocking work behind a fixed number of slots. The slot travels into the blocking task, so a
/// caller that gives up waiting (a dropped request) cannot let more computations run than slots.
pub struct HashPool {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    peak: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl HashPool {
    pub fn new(slots: usize) -> Self {
        Self {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(slots.max(1))),
            in_flight: Default::default(),
            peak: Default::default(),
        }
    }

    /// Runs `work` on the blocking pool once a slot is free; `None` if it panicked.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        use std::sync::atomic::Ordering;
        let slot = self.slots.clone().acquire_owned().await.ok()?;
        let (in_flight, peak) = (self.in_flight.clone(), self.peak.clone());
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let out = work();
            in_flight.fetch_sub(1, Ordering::SeqCst);
            out
        })
        .await
        .ok()
    }

    /// The most computations that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::SeqCst)
    }
}

static POOL: std::sync::OnceLock<HashPool> = std::sync::OnceLock::new();

/// Sets how many argon2 computations may run at once in this process (the edge reads it from its
/// configuration). Only the first call before any hashing counts: the pool is process-wide.
pub fn install_hash_concurrency(slots: usize) {
    let _ = POOL.set(HashPool::new(slots));
}

fn pool() -> &'static HashPool {
    POOL.get_or_init(|| HashPool::new(default_hash_concurrency()))
}

pub async fn hash(password: SecretString) -> Result<String, HashError> {
    pool()
        .run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|_| HashError)
        })
        .await
        .ok_or(HashError)?
}

/// Verifies against a stored PHC string. A malformed hash verifies as false.
pub async fn verify(password: SecretString, phc: String) -> bool {
    pool()
        .run(move || {
            PasswordHash::new(&phc)
                .map(|parsed| argon2().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false)
}

/// A hash of a random password, computed once: verifying against it when the email is unknown
/// makes a wrong email cost the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(generate().expose_secret().as_bytes(), &salt)
            .expect("hashing a fresh password")
            .to_string()
    })
}

/// A one-time password: 20 characters from an alphabet without look-alikes (0/O, 1/l/I),
/// about 115 bits of entropy, easy to type from an email.
pub fn generate() -> SecretString {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    let s: String = (0..20).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    SecretString::from(s)
}

/// The password policy for new passwords, as field errors for `field`.
pub fn check_policy(field: &str, password: &str) -> Vec<FieldError> {
    let len = password.chars().count();
    let mut errors = Vec::new();
    if len < MIN_PASSWORD_LEN {
        errors.push(FieldError::new(field, "too_short", format!("must be at least {MIN_PASSWORD_LEN} characters")));
    }
    if len > MAX_PASSWORD_LEN {
        errors.push(FieldError::new(field, "too_long", format!("must be at most {MAX_PASSWORD_LEN} characters")));
    }
    if len >= MIN_PASSWORD_LEN && password.chars().collect::<std::collections::HashSet<_>>().len() < 4 {
        errors.push(FieldError::new(field, "too_simple", "must use at least 4 different characters"));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash(SecretString::from("correct horse battery")).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(SecretString::from("correct horse battery"), h.clone()).await);
        assert!(!verify(SecretString::from("wrong horse battery"), h).await);
        assert!(!verify(SecretString::from("x"), "not a hash".into()).await);
        assert!(!verify(SecretString::from("x"), dummy_hash().to_string()).await);
    }

    /// A burst of hashes never runs more argon2 computations at once than the pool has slots
    /// (the blocking pool alone would run all of them, taking every core).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn hashing_runs_at_most_the_pool_size_at_once() {
        let pool = std::sync::Arc::new(HashPool::new(2));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                // Blocking work long enough for the burst to overlap (argon2 itself is slow
                // unoptimised; the pool does not care what the work is).
                tokio::spawn(async move {
                    pool.run(|| {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        true
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), Some(true));
        }
        assert!(pool.peak() >= 1 && pool.peak() <= 2, "peak {}", pool.peak());
    }

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let a = generate();
        let b = generate();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(check_policy("p", a.expose_secret()).is_empty());
    }

    #[test]
    fn policy() {
        assert_eq!(check_policy("new_password", "short")[0].code, "too_short");
        assert_eq!(check_policy("new_password", "aaaaaaaaaaaaaa")[0].code, "too_simple");
        assert!(check_policy("new_password", "a fine long passphrase").is_empty());
    }
}
