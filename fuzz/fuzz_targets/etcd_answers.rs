//! The etcd replay store's answers (`gatepass_core::etcd`): whatever etcd, or anything posing as
//! it, sends back. The input is up to `MAX_CALLS` answers separated by `\0\0`; the first byte of
//! each picks none (Envoy's "no answer"), or its status (200, 404, 503 or 500), the rest is the
//! body. Properties: no panic; at most `MAX_CALLS` calls; the insert ends; `Recorded` only after
//! an answer that is etcd's success or holds this insert's own value; `AlreadySeen` only after
//! an answer that read a key back.
#![no_main]

use gatepass_core::client_auth::ReplayOutcome;
use gatepass_core::config::EtcdConfig;
use gatepass_core::etcd::{EtcdInsert, EtcdStep, LeaseCache, MAX_CALLS, TXN_PATH};
use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let config = EtcdConfig {
        cluster: "etcd".into(),
        prefix: "gp/".into(),
        timeout_ms: 100,
        authority: "etcd".into(),
    };
    let mut leases = LeaseCache::new();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let now = 1_900_000_000;
    let (mut insert, mut call) =
        EtcdInsert::begin(&config, &leases, "KEY", now + 120, now, &mut rng);
    let chunks: Vec<&[u8]> = split(data);
    let mut calls = 1usize;
    let mut own_value: Option<String> = None;
    let mut seen_success = false;
    let mut seen_own = false;
    let mut seen_read = false;
    let mut i = 0;
    let outcome = loop {
        if call.path == TXN_PATH {
            let body: serde_json::Value =
                serde_json::from_str(&call.body).expect("core's txn is JSON");
            let value = body["success"][0]["request_put"]["value"]
                .as_str()
                .expect("a put value")
                .to_string();
            if let Some(previous) = &own_value {
                assert_eq!(previous, &value, "one insert puts one value");
            }
            own_value = Some(value);
        }
        let chunk = chunks.get(i).copied().unwrap_or(&[]);
        i += 1;
        let answer = match chunk.split_first() {
            None => None,
            Some((selector, body)) => {
                let status = match selector % 5 {
                    0 => None,
                    1 => Some(200),
                    2 => Some(404),
                    3 => Some(503),
                    _ => Some(500),
                };
                status.map(|s| (s, body))
            }
        };
        if let Some((200, body)) = answer {
            let text = String::from_utf8_lossy(body);
            seen_success |= text.contains("succeeded");
            seen_read |= text.contains("kvs");
            if let Some(v) = &own_value {
                seen_own |= text.contains(v.as_str());
            }
        }
        match insert.answered(&mut leases, answer, now) {
            EtcdStep::Done(outcome) => break outcome,
            EtcdStep::Send(next) => {
                calls += 1;
                assert!(calls <= usize::from(MAX_CALLS), "more than MAX_CALLS calls");
                call = next;
            }
        }
    };
    match outcome {
        ReplayOutcome::Recorded => {
            assert!(seen_success || seen_own, "recorded without etcd's word")
        }
        ReplayOutcome::AlreadySeen => assert!(seen_read, "a replay without a key read back"),
        ReplayOutcome::Unavailable => {}
    }
});

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(2).position(|w| w == b"\0\0") {
        out.push(&rest[..at]);
        rest = &rest[at + 2..];
    }
    out.push(rest);
    out
}
