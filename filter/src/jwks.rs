//! Remote JWKS: fetched by one VM at a time, shared with every VM of this Envoy.
//!
//! Shared data, per provider `P` and key-set URL (created in `on_configure`, before traffic;
//! `H` is the hex SHA-256 of `remote_jwks.http_uri.uri`, so a configuration that moves a
//! provider to another URL never trusts the keys fetched from the old one):
//! * `gatepass.jwks.P.H` — the last good key set: `"<fetched_at>\n<jwks json>"`;
//! * `gatepass.jwks.P.H.state` — `"<lock_until> <last_attempt> <last_kid_miss> <refetch>"`,
//!   changed only with compare-and-swap, so exactly one VM holds the fetch lock at a time and
//!   an unknown `kid` asks for at most one refetch per cooldown across all workers.
//!
//! Every VM, on its tick, adopts a newer shared set (parsed once per VM per change), and, if
//! the set is missing, stale (`cache_duration`) or a refetch was asked for, tries to take the
//! lock and fetch with `dispatch_http_call`. A failed fetch keeps the last good set.

use std::time::Duration;

use gatepass_core::config::RemoteJwks;
use gatepass_core::jwk::{JwkSet, SetStrictness};
use sha2::{Digest, Sha256};

use crate::host::{self, SetError};

/// Seconds between fetch attempts while no key set was ever loaded.
const FIRST_LOAD_RETRY: u64 = 1;
/// Seconds between attempts to refresh a stale set while the issuer keeps failing.
const STALE_RETRY: u64 = 5;
/// Largest JWKS document accepted (a set of a few dozen RSA keys is ~20 KiB); a larger answer
/// is a failed fetch, refused before it is read, and the last good set stays.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The shared-data keys of one provider's key set and fetch state.
#[derive(Debug, Clone)]
struct SharedKeys {
    set: String,
    state: String,
}

impl SharedKeys {
    fn new(provider: &str, source: &RemoteJwks) -> Self {
        let digest = Sha256::digest(source.uri.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let set = format!("gatepass.jwks.{provider}.{hex}");
        SharedKeys {
            state: format!("{set}.state"),
            set,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FetchState {
    lock_until: u64,
    last_attempt: u64,
    last_kid_miss: u64,
    refetch: bool,
}

impl FetchState {
    fn parse(text: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(text).ok()?;
        let mut parts = text.split(' ').map(|p| p.parse::<u64>().ok());
        Some(FetchState {
            lock_until: parts.next()??,
            last_attempt: parts.next()??,
            last_kid_miss: parts.next()??,
            refetch: parts.next()?? == 1,
        })
    }

    fn encode(&self) -> String {
        format!(
            "{} {} {} {}",
            self.lock_until,
            self.last_attempt,
            self.last_kid_miss,
            u8::from(self.refetch)
        )
    }
}

fn read_state(keys: &SharedKeys) -> Option<(FetchState, u32)> {
    let (value, cas) = host::get_shared_data(&keys.state).ok()?;
    Some((FetchState::parse(&value?)?, cas?))
}

/// Changes the state with CAS; `change` returns `None` to leave it alone.
fn update_state(keys: &SharedKeys, change: impl Fn(FetchState) -> Option<FetchState>) -> bool {
    for _ in 0..16 {
        let Some((current, cas)) = read_state(keys) else {
            return false;
        };
        let Some(next) = change(current) else {
            return false;
        };
        match host::set_shared_data(&keys.state, next.encode().as_bytes(), Some(cas)) {
            Ok(()) => return true,
            Err(SetError::CasMismatch) => continue,
            Err(_) => return false,
        }
    }
    false
}

/// Creates the shared entries that do not exist yet (in `on_configure`).
pub fn prepare(provider: &str, source: &RemoteJwks) -> Result<(), String> {
    let keys = SharedKeys::new(provider, source);
    let (value, _) = host::get_shared_data(&keys.state).map_err(|s| format!("status {s}"))?;
    if value.is_none() {
        host::set_shared_data(&keys.state, FetchState::default().encode().as_bytes(), None)
            .map_err(|s| format!("{s:?}"))?;
    }
    Ok(())
}

/// One remote provider as seen by this VM.
pub struct RemoteProvider {
    /// Provider index in the filter config.
    pub index: usize,
    pub name: String,
    pub source: RemoteJwks,
    shared: SharedKeys,
    /// The parsed key set this VM uses, and the CAS of the shared entry it came from.
    pub keys: Option<JwkSet>,
    seen_cas: Option<u32>,
    fetched_at: u64,
    /// The dispatch token of this VM's fetch in flight.
    pub in_flight: Option<u32>,
}

impl RemoteProvider {
    pub fn new(index: usize, name: String, source: RemoteJwks) -> Self {
        RemoteProvider {
            index,
            shared: SharedKeys::new(&name, &source),
            name,
            source,
            keys: None,
            seen_cas: None,
            fetched_at: 0,
            in_flight: None,
        }
    }

    /// Adopts the shared key set if it changed since this VM last parsed it. Returns true when
    /// this VM's key set changed (including its first set).
    pub fn adopt_shared(&mut self) -> bool {
        let Ok((Some(value), cas)) = host::get_shared_data(&self.shared.set) else {
            return false;
        };
        if cas.is_some() && cas == self.seen_cas {
            return false;
        }
        self.seen_cas = cas;
        let Some(newline) = value.iter().position(|&b| b == b'\n') else {
            return false;
        };
        let fetched_at = std::str::from_utf8(value.get(..newline).unwrap_or_default())
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        // The set was checked by the VM that fetched it; a parse failure here would be a bug,
        // and keeps whatever this VM had.
        match JwkSet::from_json(
            value.get(newline + 1..).unwrap_or_default(),
            SetStrictness::SkipUnusable,
            false,
        ) {
            Ok(set) => {
                self.keys = Some(set);
                self.fetched_at = fetched_at;
                true
            }
            Err(e) => {
                host::log_error(&format!(
                    "shared JWKS of provider {} does not parse: {e}",
                    self.name
                ));
                false
            }
        }
    }

    /// Starts a fetch if one is due and no VM holds the lock. Returns the dispatch token.
    pub fn maybe_fetch(&mut self, now: u64) -> Option<u32> {
        if self.in_flight.is_some() {
            return None;
        }
        let timeout = Duration::from_millis(self.source.timeout_ms.max(1));
        let lock_for = self.source.timeout_ms.div_ceil(1000) + 1;
        let loaded = self.keys.is_some();
        let stale = loaded && now >= self.fetched_at.saturating_add(self.source.cache_duration);
        let took = update_state(&self.shared, |s| {
            let due = if !loaded {
                now >= s.last_attempt.saturating_add(FIRST_LOAD_RETRY)
            } else {
                // The retry delay applies only after a failed attempt (one that
                // brought no newer set than the one this VM has).
                let last_failed = s.last_attempt > self.fetched_at;
                (stale && (!last_failed || now >= s.last_attempt.saturating_add(STALE_RETRY)))
                    || s.refetch
            };
            (due && s.lock_until <= now).then_some(FetchState {
                lock_until: now + lock_for,
                last_attempt: now,
                refetch: false,
                ..s
            })
        });
        if !took {
            return None;
        }
        let headers = vec![
            (":method", "GET"),
            (":path", self.source.path.as_str()),
            (":authority", self.source.authority.as_str()),
            ("accept", "application/json"),
        ];
        // The SDK's call (see host.rs: its dispatcher must register the token). Its inputs are
        // the checked configuration's cluster and URL.
        match proxy_wasm::hostcalls::dispatch_http_call(
            &self.source.cluster,
            headers,
            None,
            vec![],
            timeout,
        ) {
            Ok(token) => {
                self.in_flight = Some(token);
                Some(token)
            }
            Err(e) => {
                host::log_warn(&format!(
                    "JWKS fetch for provider {} could not start: {e:?}",
                    self.name
                ));
                self.release(now);
                None
            }
        }
    }

    fn release(&self, _now: u64) {
        update_state(&self.shared, |s| Some(FetchState { lock_until: 0, ..s }));
    }

    /// Handles the fetch response: a good set becomes the shared set; anything else keeps the
    /// last good one. Returns whether the fetch succeeded.
    pub fn on_response(&mut self, body_size: usize, now: u64) -> Result<(), String> {
        self.in_flight = None;
        let result = (|| {
            // The answer's bytes are the issuer's, untrusted: compared as bytes, shown escaped.
            let status = host::header_value(host::MAP_HTTP_CALL_RESPONSE_HEADERS, ":status")
                .unwrap_or_default();
            if status != b"200" {
                return Err(format!(
                    "status {}",
                    if status.is_empty() {
                        String::from("none (no answer)")
                    } else {
                        status.escape_ascii().to_string()
                    }
                ));
            }
            if body_size > MAX_JWKS_BYTES {
                return Err(format!(
                    "JWKS of {body_size} bytes is over the {MAX_JWKS_BYTES}-byte limit"
                ));
            }
            let body =
                host::buffer(host::BUFFER_HTTP_CALL_RESPONSE_BODY, body_size).unwrap_or_default();
            JwkSet::from_json(&body, SetStrictness::SkipUnusable, false)
                .map_err(|e| format!("bad JWKS: {e}"))?;
            let mut value = format!("{now}\n").into_bytes();
            value.extend_from_slice(&body);
            host::set_shared_data(&self.shared.set, &value, None)
                .map_err(|e| format!("cannot share the set: {e:?}"))?;
            Ok(())
        })();
        self.release(now);
        if result.is_ok() {
            self.adopt_shared();
        }
        result
    }

    /// Whether a first fetch is still to come or in flight (somewhere in this Envoy), so a
    /// request needing this provider is worth holding back briefly.
    pub fn first_fetch_pending(&self, now: u64) -> bool {
        self.keys.is_none()
            && read_state(&self.shared)
                .is_some_and(|(s, _)| s.last_attempt == 0 || s.lock_until > now)
    }

    /// An unknown `kid` was seen: ask for a refetch, at most once per cooldown across all VMs.
    pub fn request_refetch(&self, now: u64) -> bool {
        let cooldown = self.source.kid_miss_cooldown;
        update_state(&self.shared, |s| {
            (now >= s.last_kid_miss.saturating_add(cooldown)).then_some(FetchState {
                last_kid_miss: now,
                refetch: true,
                ..s
            })
        })
    }
}
