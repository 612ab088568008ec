//! A bounded cache of verified access tokens, keyed by a hash of the whole token.
//!
//! Machine clients reuse one token for its lifetime, so the steady state at a gateway is "seen
//! this exact token before". An entry keeps the verified claims until the token's `exp` plus
//! the provider's skew (the same bound the verifier applies); the route's scope check still
//! runs on every request. The key is the SHA-256 of the token and the provider, so a token is
//! only reused for the provider that verified it.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use sha2::{Digest, Sha256};

use crate::verify::VerifiedAccessToken;

/// Cache key: SHA-256 over provider index and token.
pub type CacheKey = [u8; 32];

/// Computes the key for `token` verified under provider `provider`.
pub fn key(provider: usize, token: &str) -> CacheKey {
    let mut h = Sha256::new();
    h.update((provider as u64).to_be_bytes());
    h.update(token.as_bytes());
    h.finalize().into()
}

#[derive(Debug, Clone)]
struct Entry {
    token: Arc<VerifiedAccessToken>,
    valid_until: u64,
}

/// The cache.
#[derive(Debug, Clone)]
pub struct TokenCache {
    entries: BTreeMap<CacheKey, Entry>,
    capacity: usize,
}

impl TokenCache {
    /// A cache holding at most `capacity` tokens (0 disables it).
    pub fn new(capacity: usize) -> Self {
        TokenCache {
            entries: BTreeMap::new(),
            capacity,
        }
    }

    /// Number of cached tokens.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The verified token for `key`, if cached and still within `exp` + skew at `now`; an
    /// expired entry is dropped.
    pub fn get(&mut self, key: &CacheKey, now: u64) -> Option<Arc<VerifiedAccessToken>> {
        let expired = match self.entries.get(key) {
            None => return None,
            Some(e) => now >= e.valid_until,
        };
        if expired {
            self.entries.remove(key);
            return None;
        }
        self.entries.get(key).map(|e| Arc::clone(&e.token))
    }

    /// Caches a verified token until `valid_until` (its `exp` plus the provider's skew). When
    /// full, expired entries are dropped first, then the entry that expires soonest.
    pub fn insert(
        &mut self,
        key: CacheKey,
        token: Arc<VerifiedAccessToken>,
        valid_until: u64,
        now: u64,
    ) {
        if self.capacity == 0 || valid_until <= now {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            self.entries.retain(|_, e| e.valid_until > now);
            if self.entries.len() >= self.capacity {
                let soonest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.valid_until)
                    .map(|(k, _)| *k);
                if let Some(k) = soonest {
                    self.entries.remove(&k);
                }
            }
        }
        self.entries.insert(key, Entry { token, valid_until });
    }
}
