//! The remote JWKS refresh policy, without I/O and with the clock injected.
//!
//! A host that fetches a provider's `remote_jwks` (the Envoy filter, on every worker) keeps one
//! [`FetchState`] per provider and key-set URL where all its workers see it (Envoy shared data,
//! changed with compare-and-swap), and one last good set. This module decides, from that state
//! and `now`:
//!
//! * **when a fetch is due** ([`RefreshPolicy::take_fetch`]): no set yet → every
//!   [`FIRST_LOAD_RETRY`] s; a set older than `cache_duration` → at once, then every
//!   [`STALE_RETRY`] s while attempts fail; an unknown `kid` asked for a refetch → at once; never
//!   while another worker holds the fetch lock (until its timeout + 1 s);
//! * **unknown-`kid` refetches** ([`RefreshPolicy::kid_miss`]): at most one per
//!   `jwks_kid_miss_cooldown` across every worker, so a flood of random `kid`s costs one fetch;
//! * **what a fetch answer is worth** ([`RefreshPolicy::accept`]): only a 200 of at most
//!   [`MAX_JWKS_BYTES`] (refused before the body is read) holding a usable JWK set and no
//!   private key; anything else is a failed fetch and the host keeps its last good set
//!   (availability over fast key removal, SECURITY.md).
//!
//! The host only performs the fetch it is told to, stores what it is told to, and reports.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use sha2::{Digest, Sha256};

use crate::config::RemoteJwks;
use crate::jwk::{JwkError, JwkSet, SetStrictness};

/// Seconds between fetch attempts while no key set was ever loaded.
pub const FIRST_LOAD_RETRY: u64 = 1;
/// Seconds between attempts to refresh a stale set while the issuer keeps failing.
pub const STALE_RETRY: u64 = 5;
/// Largest JWKS document accepted (a set of a few dozen RSA keys is ~20 KiB); a larger answer
/// is a failed fetch, refused before it is read, and the last good set stays.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The fetch state every worker of one host shares for one provider and key-set URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchState {
    /// Until when (Unix seconds) a worker holds the fetch lock.
    pub lock_until: u64,
    /// When the last fetch was started (0: never).
    pub last_attempt: u64,
    /// When an unknown `kid` last asked for a refetch.
    pub last_kid_miss: u64,
    /// A refetch was asked for and not started yet.
    pub refetch: bool,
}

impl FetchState {
    /// The shared form: `"<lock_until> <last_attempt> <last_kid_miss> <refetch 0|1>"`. Bytes
    /// that are not this form (another version, a corrupted entry) give `None`.
    pub fn parse(text: &[u8]) -> Option<Self> {
        let text = core::str::from_utf8(text).ok()?;
        let mut parts = text.split(' ').map(|p| p.parse::<u64>().ok());
        let state = FetchState {
            lock_until: parts.next()??,
            last_attempt: parts.next()??,
            last_kid_miss: parts.next()??,
            refetch: match parts.next()?? {
                0 => false,
                1 => true,
                _ => return None,
            },
        };
        parts.next().is_none().then_some(state)
    }

    /// The shared form ([`FetchState::parse`] reads it back).
    pub fn encode(&self) -> String {
        format!(
            "{} {} {} {}",
            self.lock_until,
            self.last_attempt,
            self.last_kid_miss,
            u8::from(self.refetch)
        )
    }
}

/// The names under which a host shares one provider's key set and fetch state. The key-set
/// URL's SHA-256 is part of the name, so a configuration that moves a provider to another URL
/// never trusts keys fetched from the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedNames {
    /// The last good set: [`encode_shared_set`].
    pub set: String,
    /// The [`FetchState`].
    pub state: String,
}

impl SharedNames {
    /// `gatepass.jwks.<provider>.<hex sha256(uri)>` and the same with `.state`.
    pub fn new(provider: &str, source: &RemoteJwks) -> Self {
        let digest = Sha256::digest(source.uri.as_bytes());
        let mut set = format!("gatepass.jwks.{provider}.");
        for b in digest {
            set.push_str(&format!("{b:02x}"));
        }
        SharedNames {
            state: format!("{set}.state"),
            set,
        }
    }
}

/// The shared form of a good set: `"<fetched_at>\n<the JWKS document as fetched>"`.
pub fn encode_shared_set(fetched_at: u64, body: &[u8]) -> Vec<u8> {
    let mut value = format!("{fetched_at}\n").into_bytes();
    value.extend_from_slice(body);
    value
}

/// Reads a shared set back: when it was fetched, and the set. It was checked by the worker
/// that fetched it ([`RefreshPolicy::accept`]); bytes that do not parse are an error.
pub fn decode_shared_set(value: &[u8]) -> Result<(u64, JwkSet), JwkError> {
    let newline = value
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| JwkError::new("", "shared key set has no fetch time"))?;
    let fetched_at = value
        .get(..newline)
        .and_then(|t| core::str::from_utf8(t).ok())
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0);
    let set = JwkSet::from_json(
        value.get(newline + 1..).unwrap_or_default(),
        SetStrictness::SkipUnusable,
        false,
    )?;
    Ok((fetched_at, set))
}

/// Why a fetch answer was not taken (the host logs it, counts it, and keeps its last set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Not a 200 (the status as received, escaped; empty when there was no answer).
    Status(String),
    /// Larger than [`MAX_JWKS_BYTES`].
    TooLarge(usize),
    /// Not a usable JWK set (or one leaking a private key).
    BadSet(JwkError),
}

impl core::fmt::Display for FetchError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FetchError::Status(s) if s.is_empty() => f.write_str("status none (no answer)"),
            FetchError::Status(s) => write!(f, "status {s}"),
            FetchError::TooLarge(n) => {
                write!(
                    f,
                    "JWKS of {n} bytes is over the {MAX_JWKS_BYTES}-byte limit"
                )
            }
            FetchError::BadSet(e) => write!(f, "bad JWKS: {e}"),
        }
    }
}

/// The refresh rules of one remote provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// `cache_duration`: a set older than this is refreshed.
    pub cache_duration: u64,
    /// `jwks_kid_miss_cooldown`: least seconds between unknown-`kid` refetches.
    pub kid_miss_cooldown: u64,
    /// The fetch timeout, in milliseconds.
    pub timeout_ms: u64,
}

impl RefreshPolicy {
    /// The rules of a configured `remote_jwks`.
    pub fn of(source: &RemoteJwks) -> Self {
        RefreshPolicy {
            cache_duration: source.cache_duration,
            kid_miss_cooldown: source.kid_miss_cooldown,
            timeout_ms: source.timeout_ms,
        }
    }

    /// How long a worker holds the fetch lock: the timeout, rounded up, plus a second, so a
    /// worker whose fetch never answers does not keep the others from fetching.
    pub fn lock_seconds(&self) -> u64 {
        self.timeout_ms.div_ceil(1000) + 1
    }

    /// How long a request may wait for a provider's first key set, in seconds: as long as one
    /// fetch may take (the lock's length, [`Self::lock_seconds`]); after that it is answered
    /// without keys.
    pub fn first_fetch_wait_seconds(&self) -> u64 {
        self.lock_seconds()
    }

    /// Whether this worker should fetch now, given the shared state, the set it holds (`None`:
    /// none yet) with its fetch time, and `now`. `Some(next)`: store `next` (with
    /// compare-and-swap: only the worker whose swap succeeds fetches) and start the fetch.
    pub fn take_fetch(&self, state: FetchState, held: Option<u64>, now: u64) -> Option<FetchState> {
        let due = match held {
            None => now >= state.last_attempt.saturating_add(FIRST_LOAD_RETRY),
            Some(fetched_at) => {
                let stale = now >= fetched_at.saturating_add(self.cache_duration);
                // The retry delay applies only after a failed attempt: one that brought no
                // newer set than the one this worker holds.
                let last_failed = state.last_attempt > fetched_at;
                (stale && (!last_failed || now >= state.last_attempt.saturating_add(STALE_RETRY)))
                    || state.refetch
            }
        };
        (due && state.lock_until <= now).then_some(FetchState {
            lock_until: now.saturating_add(self.lock_seconds()),
            last_attempt: now,
            refetch: false,
            ..state
        })
    }

    /// The state once this worker's fetch is over (answered, failed or never started): the lock
    /// is released.
    pub fn release(state: FetchState) -> FetchState {
        FetchState {
            lock_until: 0,
            ..state
        }
    }

    /// An unknown `kid` was seen at `now`: `Some(next)` asks for a refetch (store with
    /// compare-and-swap), `None` when one was asked within the cooldown.
    pub fn kid_miss(&self, state: FetchState, now: u64) -> Option<FetchState> {
        (now >= state.last_kid_miss.saturating_add(self.kid_miss_cooldown)).then_some(FetchState {
            last_kid_miss: now,
            refetch: true,
            ..state
        })
    }

    /// Whether a first fetch is still to come or in flight somewhere, so a request that needs
    /// this provider is worth holding back briefly rather than refused at once.
    pub fn first_fetch_pending(state: FetchState, held: bool, now: u64) -> bool {
        !held && (state.last_attempt == 0 || state.lock_until > now)
    }

    /// Checks the head of a fetch answer before its body is read: a 200 of at most
    /// [`MAX_JWKS_BYTES`]. The status is the issuer's bytes, compared as bytes.
    pub fn check_head(status: &[u8], body_size: usize) -> Result<(), FetchError> {
        if status != b"200" {
            return Err(FetchError::Status(status.escape_ascii().to_string()));
        }
        if body_size > MAX_JWKS_BYTES {
            return Err(FetchError::TooLarge(body_size));
        }
        Ok(())
    }

    /// The answer's body as a key set: usable keys kept, unusable ones skipped (RFC 7517 §5),
    /// a set leaking a private key refused as a whole.
    pub fn accept(body: &[u8]) -> Result<JwkSet, FetchError> {
        JwkSet::from_json(body, SetStrictness::SkipUnusable, false).map_err(FetchError::BadSet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RefreshPolicy = RefreshPolicy {
        cache_duration: 600,
        kid_miss_cooldown: 30,
        timeout_ms: 2500,
    };
    const T: u64 = 1_900_000_000;

    fn source() -> RemoteJwks {
        RemoteJwks {
            uri: "https://issuer.example/jwks".into(),
            authority: "issuer.example".into(),
            path: "/jwks".into(),
            cluster: "issuer".into(),
            timeout_ms: 2500,
            cache_duration: 600,
            kid_miss_cooldown: 30,
        }
    }

    #[test]
    fn the_state_round_trips_and_refuses_other_forms() {
        let s = FetchState {
            lock_until: T + 4,
            last_attempt: T,
            last_kid_miss: T - 30,
            refetch: true,
        };
        assert_eq!(FetchState::parse(s.encode().as_bytes()), Some(s));
        for bad in [
            &b""[..],
            b"1 2 3",
            b"1 2 3 2",
            b"1 2 3 1 5",
            b"a 2 3 1",
            b"\xff",
        ] {
            assert_eq!(FetchState::parse(bad), None, "{bad:?}");
        }
        assert_eq!(RefreshPolicy::of(&source()), POLICY);
    }

    #[test]
    fn shared_names_carry_the_url_digest() {
        let a = SharedNames::new("main", &source());
        let mut moved = source();
        moved.uri = "https://other.example/jwks".into();
        let b = SharedNames::new("main", &moved);
        assert!(a.set.starts_with("gatepass.jwks.main."));
        assert_eq!(a.set.len(), "gatepass.jwks.main.".len() + 64);
        assert_eq!(a.state, alloc::format!("{}.state", a.set));
        assert_ne!(a.set, b.set, "another URL, other keys");
    }

    #[test]
    fn without_a_set_a_fetch_is_due_every_second() {
        let s = FetchState::default();
        let next = POLICY.take_fetch(s, None, T).unwrap();
        assert_eq!(next.last_attempt, T);
        assert_eq!(
            next.lock_until,
            T + 4,
            "2.5 s timeout rounded up, plus one second"
        );
        // The fetch failed and released its lock: the next attempt waits FIRST_LOAD_RETRY.
        let failed = RefreshPolicy::release(next);
        assert_eq!(POLICY.take_fetch(failed, None, T), None);
        assert!(POLICY
            .take_fetch(failed, None, T + FIRST_LOAD_RETRY)
            .is_some());
        assert!(RefreshPolicy::first_fetch_pending(s, false, T));
        assert!(
            RefreshPolicy::first_fetch_pending(next, false, T + 1),
            "in flight"
        );
        assert!(
            !RefreshPolicy::first_fetch_pending(failed, false, T + 1),
            "failed, not pending"
        );
        assert!(
            !RefreshPolicy::first_fetch_pending(s, true, T),
            "a set is held"
        );
    }

    #[test]
    fn a_held_lock_keeps_other_workers_from_fetching_until_it_expires() {
        let taken = POLICY.take_fetch(FetchState::default(), None, T).unwrap();
        assert_eq!(
            POLICY.take_fetch(taken, None, T + 2),
            None,
            "another worker fetches"
        );
        // The fetching worker never answered: its lock expires after timeout + 1 s.
        assert!(POLICY.take_fetch(taken, None, T + 4).is_some());
    }

    #[test]
    fn a_fresh_set_is_kept_until_cache_duration() {
        let fetched =
            RefreshPolicy::release(POLICY.take_fetch(FetchState::default(), None, T).unwrap());
        assert_eq!(POLICY.take_fetch(fetched, Some(T), T + 599), None);
        let next = POLICY.take_fetch(fetched, Some(T), T + 600).unwrap();
        assert_eq!(next.last_attempt, T + 600);
    }

    #[test]
    fn a_stale_set_is_retried_every_five_seconds_while_the_issuer_fails() {
        let state = FetchState {
            last_attempt: T + 600,
            ..FetchState::default()
        };
        // The attempt at T + 600 brought nothing newer than the set fetched at T.
        assert_eq!(POLICY.take_fetch(state, Some(T), T + 604), None);
        assert!(POLICY.take_fetch(state, Some(T), T + 605).is_some());
        // Another worker's attempt did bring a newer set (fetched at T + 600): not a failure,
        // and that set is fresh.
        assert_eq!(POLICY.take_fetch(state, Some(T + 600), T + 601), None);
    }

    #[test]
    fn an_unknown_kid_asks_for_one_refetch_per_cooldown_across_workers() {
        let s = FetchState {
            last_attempt: T,
            ..FetchState::default()
        };
        let asked = POLICY.kid_miss(s, T + 10).unwrap();
        assert!(asked.refetch);
        // A flood of other unknown kids within the cooldown asks for nothing more.
        assert_eq!(POLICY.kid_miss(asked, T + 39), None);
        assert!(POLICY.kid_miss(asked, T + 40).is_some());
        // The refetch is due at once, even with a fresh set, and clears the request.
        let fetch = POLICY.take_fetch(asked, Some(T), T + 11).unwrap();
        assert!(!fetch.refetch);
        assert_eq!(fetch.last_kid_miss, T + 10);
        // ... but not while another worker holds the lock.
        let locked = FetchState {
            lock_until: T + 12,
            ..asked
        };
        assert_eq!(POLICY.take_fetch(locked, Some(T), T + 11), None);
    }

    #[test]
    fn only_a_200_within_the_size_limit_with_a_usable_public_set_is_taken() {
        assert!(RefreshPolicy::check_head(b"200", 100).is_ok());
        assert_eq!(
            RefreshPolicy::check_head(b"503", 100),
            Err(FetchError::Status("503".into()))
        );
        assert_eq!(
            RefreshPolicy::check_head(b"", 0).unwrap_err().to_string(),
            "status none (no answer)"
        );
        assert_eq!(
            RefreshPolicy::check_head(b"2\xff0", 1)
                .unwrap_err()
                .to_string(),
            "status 2\\xff0"
        );
        assert_eq!(
            RefreshPolicy::check_head(b"200", MAX_JWKS_BYTES + 1),
            Err(FetchError::TooLarge(MAX_JWKS_BYTES + 1))
        );
        let ed = r#"{"kty":"OKP","crv":"Ed25519","x":"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg","kid":"ed"}"#;
        // Unusable keys (an encryption key type) are skipped, the usable one kept.
        let mixed = alloc::format!(r#"{{"keys":[{{"kty":"ZZ","kid":"x"}},{ed}]}}"#);
        assert_eq!(
            RefreshPolicy::accept(mixed.as_bytes()).unwrap().keys.len(),
            1
        );
        for bad in [
            String::from("not json"),
            String::from(r#"{"keys":[]}"#),
            // A leaked private key refuses the whole set.
            alloc::format!(
                r#"{{"keys":[{}]}}"#,
                ed.replace(
                    "\"kid\"",
                    "\"d\":\"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1-f4CBgoM\",\"kid\""
                )
            ),
        ] {
            assert!(matches!(
                RefreshPolicy::accept(bad.as_bytes()),
                Err(FetchError::BadSet(_))
            ));
        }
        // What is shared reads back as the same set with its fetch time.
        let shared = encode_shared_set(T, mixed.as_bytes());
        let (at, set) = decode_shared_set(&shared).unwrap();
        assert_eq!((at, set.keys.len()), (T, 1));
        assert!(decode_shared_set(b"no newline").is_err());
    }
}
