//! The module's process-wide state: one shared library per Envoy process, so a filter
//! configuration (shared by every worker thread) holds one verified-token cache and one replay
//! store for all workers. Both are sharded behind short mutexes; a lock poisoned by a panic
//! elsewhere is taken over (the data stays consistent: every critical section is one map
//! operation).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use gatepass_core::cache::{CacheKey, TokenCache};
use gatepass_core::client_auth::ReplayOutcome;
use gatepass_core::gateway::VerifiedTokens;
use gatepass_core::verify::VerifiedAccessToken;

const SHARDS: usize = 16;

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Verified tokens for every worker, in [`SHARDS`] caches chosen by the key's first byte (the
/// key is a SHA-256, so shards fill evenly).
#[derive(Debug)]
pub struct SharedCache {
    shards: Vec<Mutex<TokenCache>>,
}

impl SharedCache {
    /// A cache of about `capacity` tokens in all (0 disables it).
    pub fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        SharedCache {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(TokenCache::new(per_shard)))
                .collect(),
        }
    }

    fn shard(&self, key: &CacheKey) -> Option<&Mutex<TokenCache>> {
        self.shards.get(usize::from(key[0]) % SHARDS)
    }
}

/// A worker's handle on the shared cache for one decision.
#[derive(Debug)]
pub struct CacheHandle<'a>(pub &'a SharedCache);

impl VerifiedTokens for CacheHandle<'_> {
    fn get(&mut self, key: &CacheKey, now: u64) -> Option<Arc<VerifiedAccessToken>> {
        self.0.shard(key).and_then(|s| lock(s).get(key, now))
    }

    fn insert(
        &mut self,
        key: CacheKey,
        token: Arc<VerifiedAccessToken>,
        valid_until: u64,
        now: u64,
    ) {
        if let Some(s) = self.0.shard(&key) {
            lock(s).insert(key, token, valid_until, now);
        }
    }
}

/// The replay store of the token endpoint (RFC 7523 §3 item 7: a `jti` is accepted once): an
/// atomic insert-if-absent shared by every worker, each key kept until its expiry.
#[derive(Debug)]
pub struct ReplayStore {
    shards: Vec<Mutex<HashMap<String, u64>>>,
    per_shard: usize,
}

impl ReplayStore {
    /// A store of at most about `capacity` live keys.
    pub fn new(capacity: usize) -> Self {
        ReplayStore {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    /// Records `key` until `expires_at` if it is absent (or expired) at `now`. A full shard
    /// whose keys are all still live cannot take another: the answer is `Unavailable` (fail
    /// closed: the assertion is not accepted, the client may retry).
    pub fn record(&self, key: &str, expires_at: u64, now: u64) -> ReplayOutcome {
        let index = key.bytes().next().map_or(0, usize::from) % SHARDS;
        let Some(shard) = self.shards.get(index) else {
            return ReplayOutcome::Unavailable;
        };
        let mut map = lock(shard);
        match map.get(key) {
            Some(&until) if until > now => return ReplayOutcome::AlreadySeen,
            _ => {}
        }
        if map.len() >= self.per_shard {
            map.retain(|_, until| *until > now);
            if map.len() >= self.per_shard {
                return ReplayOutcome::Unavailable;
            }
        }
        map.insert(String::from(key), expires_at);
        ReplayOutcome::Recorded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_recorded_once_until_it_expires_and_a_full_store_fails_closed() {
        let store = ReplayStore::new(SHARDS);
        assert_eq!(store.record("a1", 100, 10), ReplayOutcome::Recorded);
        assert_eq!(store.record("a1", 100, 50), ReplayOutcome::AlreadySeen);
        // Expired: the assertion itself would be refused as expired; the key may go.
        assert_eq!(store.record("a1", 200, 100), ReplayOutcome::Recorded);
        // One key per shard: another live key in the same shard does not fit.
        assert_eq!(store.record("a2", 300, 100), ReplayOutcome::Unavailable);
        assert_eq!(store.record("a2", 300, 250), ReplayOutcome::Recorded);
    }

    #[test]
    fn the_shared_cache_answers_what_was_inserted_until_it_is_no_longer_valid() {
        use gatepass_core::cache;
        let shared = SharedCache::new(32);
        let mut handle = CacheHandle(&shared);
        let key = cache::key(0, "t");
        assert!(handle.get(&key, 10).is_none());
        let token = Arc::new(VerifiedAccessToken {
            issuer: "https://as.example".into(),
            subject: None,
            audience: vec!["https://api.example".into()],
            expires_at: 100,
            issued_at: None,
            not_before: None,
            jti: None,
            client_id: None,
            scopes: Default::default(),
            payload_b64: String::new(),
            claims: Default::default(),
        });
        handle.insert(key, token, 100, 10);
        assert!(handle.get(&key, 99).is_some());
        assert!(handle.get(&key, 100).is_none());
    }
}
