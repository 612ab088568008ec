//! The client-assertion replay store: Envoy shared data, shared by every worker VM of one
//! Envoy, with compare-and-swap; or etcd (`replay_store.etcd`), shared by a fleet, where core
//! writes every call and reads every answer (`gatepass_core::etcd`) and this module only sends
//! them.
//!
//! Envoy's `set_shared_data` checks the CAS only for keys that exist, so insert-if-absent on a
//! key of its own would race. Instead the replay keys live in 64 shard entries (by the first
//! character of the base64url replay key) that are created in `on_configure`, before traffic;
//! each insert reads its shard with its CAS, refuses a key already present, drops expired
//! entries, appends, and writes back with the CAS, retrying on a mismatch. Two workers racing
//! with the same assertion: one write wins, the other retries and finds the key.

use std::time::Duration;

use gatepass_core::client_auth::ReplayOutcome;
use gatepass_core::config::ReplayStoreConfig;
use gatepass_core::etcd::{EtcdCall, MAX_ANSWER_BYTES};

use crate::host::{self, SetError};

const SHARD_CHARS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Marks a created shard (so an existing shard is never mistaken for a missing one).
const HEADER: &str = "gatepass-replay-v1\n";
const MAX_ATTEMPTS: usize = 64;

fn shard_of(key: &str) -> String {
    let c = key.chars().next().unwrap_or('A');
    format!("gatepass.replay.{c}")
}

/// Creates the shards that do not exist yet. Runs in `on_configure`.
pub fn prepare() -> Result<(), String> {
    for c in SHARD_CHARS.chars() {
        let shard = format!("gatepass.replay.{c}");
        let (value, _) = host::get_shared_data(&shard).map_err(|s| format!("status {s}"))?;
        if value.is_none() {
            host::set_shared_data(&shard, HEADER.as_bytes(), None).map_err(|s| format!("{s:?}"))?;
        }
    }
    Ok(())
}

/// Inserts `key` until `expires_at` if absent.
pub fn record(key: &str, expires_at: u64, now: u64) -> Result<ReplayOutcome, String> {
    let shard = shard_of(key);
    for _ in 0..MAX_ATTEMPTS {
        let (value, cas) = host::get_shared_data(&shard).map_err(|s| format!("status {s}"))?;
        let (Some(value), Some(cas)) = (value, cas) else {
            // Fail closed: the shard should exist since on_configure.
            return Err(format!("replay shard {shard} is missing"));
        };
        let text = String::from_utf8(value).map_err(|_| "replay shard is corrupt".to_string())?;
        let Some(entries) = text.strip_prefix(HEADER) else {
            return Err("replay shard is corrupt".into());
        };
        let mut kept = String::from(HEADER);
        for line in entries.lines() {
            let Some((k, exp)) = line.split_once(' ') else {
                continue;
            };
            let Ok(exp) = exp.parse::<u64>() else {
                continue;
            };
            if exp <= now {
                continue; // expired: the assertion would be refused anyway
            }
            if k == key {
                return Ok(ReplayOutcome::AlreadySeen);
            }
            kept.push_str(line);
            kept.push('\n');
        }
        kept.push_str(&format!("{key} {expires_at}\n"));
        match host::set_shared_data(&shard, kept.as_bytes(), Some(cas)) {
            Ok(()) => return Ok(ReplayOutcome::Recorded),
            Err(SetError::CasMismatch) => continue,
            Err(s) => return Err(format!("{s:?}")),
        }
    }
    Err("replay store is contended".into())
}

/// Sends one of core's etcd calls (`replay_store.etcd`) to the configured cluster; returns the
/// dispatch token its answer comes back with.
pub fn dispatch_etcd(store: &ReplayStoreConfig, call: &EtcdCall) -> Result<u32, String> {
    let ReplayStoreConfig::Etcd(etcd) = store else {
        return Err("the replay store is not etcd".into());
    };
    let headers = vec![
        (":method", "POST"),
        (":path", call.path),
        (":authority", etcd.authority.as_str()),
        ("content-type", "application/json"),
    ];
    // The SDK's call (see host.rs: its dispatcher must register the token, so that the answer
    // reaches this request's context). Its inputs are the checked configuration's and core's.
    proxy_wasm::hostcalls::dispatch_http_call(
        &etcd.cluster,
        headers,
        Some(call.body.as_bytes()),
        vec![],
        Duration::from_millis(etcd.timeout_ms),
    )
    .map_err(|status| format!("cannot call cluster {}: {status:?}", etcd.cluster))
}

/// The answer to an etcd call, read as bytes: its `:status` and body (at most core's bound and
/// one byte, so that core sees an oversized answer as one), or `None` when Envoy reports that
/// no answer came (a timeout, a reset, no healthy member: no `:status`).
pub fn etcd_answer(body_size: usize) -> Option<(u16, Vec<u8>)> {
    let status = host::header_value(host::MAP_HTTP_CALL_RESPONSE_HEADERS, ":status")?;
    let status = std::str::from_utf8(&status).ok()?.parse::<u16>().ok()?;
    let body = host::buffer(
        host::BUFFER_HTTP_CALL_RESPONSE_BODY,
        body_size.min(MAX_ANSWER_BYTES + 1),
    )
    .unwrap_or_default();
    Some((status, body))
}
