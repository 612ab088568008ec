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
//! lock and fetch with `dispatch_http_call`. A failed fetch keeps the last good set. Every
//! rule (when a fetch is due, the kid-miss cooldown, what answer is taken) is core's
//! `jwks_refresh`; this file does the host calls.

use std::time::Duration;

use gatepass_core::config::RemoteJwks;
use gatepass_core::jwk::JwkSet;
use gatepass_core::jwks_refresh::{self, FetchState, RefreshPolicy, SharedNames};

use crate::host::{self, SetError};

fn read_state(keys: &SharedNames) -> Option<(FetchState, u32)> {
    let (value, cas) = host::get_shared_data(&keys.state).ok()?;
    Some((FetchState::parse(&value?)?, cas?))
}

/// Changes the state with CAS; `change` returns `None` to leave it alone.
fn update_state(keys: &SharedNames, change: impl Fn(FetchState) -> Option<FetchState>) -> bool {
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
    let keys = SharedNames::new(provider, source);
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
    shared: SharedNames,
    /// The refresh rules of `source`, read once.
    pub policy: RefreshPolicy,
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
            shared: SharedNames::new(&name, &source),
            policy: RefreshPolicy::of(&source),
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
        // The set was checked by the VM that fetched it; a parse failure here would be a bug,
        // and keeps whatever this VM had.
        match jwks_refresh::decode_shared_set(&value) {
            Ok((fetched_at, set)) => {
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
        let policy = self.policy;
        let held = self.keys.is_some().then_some(self.fetched_at);
        let took = update_state(&self.shared, |s| policy.take_fetch(s, held, now));
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
        update_state(&self.shared, |s| Some(RefreshPolicy::release(s)));
    }

    /// Handles the fetch response: a good set becomes the shared set; anything else keeps the
    /// last good one. Returns whether the fetch succeeded.
    pub fn on_response(&mut self, body_size: usize, now: u64) -> Result<(), String> {
        self.in_flight = None;
        let result = (|| {
            // The answer's bytes are the issuer's, untrusted: checked by core as bytes.
            let status = host::header_value(host::MAP_HTTP_CALL_RESPONSE_HEADERS, ":status")
                .unwrap_or_default();
            RefreshPolicy::check_head(&status, body_size).map_err(|e| e.to_string())?;
            let body =
                host::buffer(host::BUFFER_HTTP_CALL_RESPONSE_BODY, body_size).unwrap_or_default();
            RefreshPolicy::accept(&body).map_err(|e| e.to_string())?;
            host::set_shared_data(
                &self.shared.set,
                &jwks_refresh::encode_shared_set(now, &body),
                None,
            )
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
        read_state(&self.shared)
            .is_some_and(|(s, _)| RefreshPolicy::first_fetch_pending(s, self.keys.is_some(), now))
    }

    /// An unknown `kid` was seen: ask for a refetch, at most once per cooldown across all VMs.
    pub fn request_refetch(&self, now: u64) -> bool {
        let policy = self.policy;
        update_state(&self.shared, |s| policy.kid_miss(s, now))
    }
}
