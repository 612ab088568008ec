//! The client-assertion replay store on etcd, for a fleet of Envoys: sans-I/O. Core writes each
//! call to etcd's v3 JSON gateway (`POST /v3/lease/grant`, `POST /v3/kv/txn`) and reads each
//! answer; an Envoy shell only sends the call to the configured cluster and hands back what came
//! back (or that nothing did). `replay_store.etcd` in the token endpoint's configuration.
//!
//! **Insert-if-absent** is one etcd transaction (etcd API, "Transaction"): if the key's
//! `create_revision` is 0 (the key does not exist), put it; otherwise read it. etcd commits a
//! transaction through Raft, so it is linearizable: of two Envoys inserting the same key at
//! once, exactly one sees `succeeded`. A member without a quorum cannot commit and does not
//! answer in time: the assertion is not accepted (fail closed, [`ReplayOutcome::Unavailable`]).
//! proto3 JSON omits fields at their default, so an answer without `succeeded` is a failed
//! compare: the key exists.
//!
//! **Retries are idempotent.** The value put is a random nonce of this insert. A call that got
//! no answer (a timeout, a member that went away) may or may not have committed; the retry's
//! failed compare reads the key back, and finding this insert's own nonce means the first call
//! committed: `Recorded`, not a false replay.
//!
//! **Keys expire with leases**, one per bucket of [`LEASE_BUCKET_SECONDS`] of expiry time: a key
//! that must be kept until `expires_at` (the assertion's `exp` plus the clock skew, RFC 7523 §3
//! item 7: a `jti` need only be remembered while the assertion could still be accepted) is put
//! with the lease of the bucket that ends at or after `expires_at`, granted once (per worker)
//! with a TTL that reaches past the bucket's end. [`LeaseCache`] keeps them; an answer that the
//! lease is gone (etcd restarted without its data, or it expired) grants a new one.

use alloc::string::String;
use alloc::vec::Vec;
use rand_core::CryptoRngCore;
use serde_json::Value;

use crate::b64;
use crate::client_auth::ReplayOutcome;
use crate::config::EtcdConfig;

/// Width of a lease's bucket of expiry times, in seconds.
pub const LEASE_BUCKET_SECONDS: u64 = 60;
/// A lease lives this much longer than its bucket's end (etcd's TTL counts from the grant, by
/// the granting Envoy's clock): the clock disagreement between the Envoys of a fleet that the
/// store tolerates. An Envoy whose clock runs behind accepts an assertion until its own
/// `exp` + skew; the key outlives that by up to this margin.
pub const LEASE_MARGIN_SECONDS: u64 = 60;
/// Calls one insert may make: a grant and a transaction, each once more after a failure, or
/// once more after the lease was gone.
pub const MAX_CALLS: u8 = 4;
/// Largest answer read from etcd; a longer one is not an answer this store asked for.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The etcd gateway path of a lease grant.
pub const LEASE_GRANT_PATH: &str = "/v3/lease/grant";
/// The etcd gateway path of a transaction.
pub const TXN_PATH: &str = "/v3/kv/txn";

/// One call to make: `POST path` with a JSON body, to the configured cluster, with the
/// configured timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdCall {
    /// Gateway path.
    pub path: &'static str,
    /// JSON body.
    pub body: String,
}

/// What an answered call leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtcdStep {
    /// Make this call next.
    Send(EtcdCall),
    /// The insert is over.
    Done(ReplayOutcome),
}

/// Where a shell is with an insert: a call to send (the first, from [`EtcdInsert::begin`]), or
/// the last call's answer to read (`None`: none came).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtcdNext {
    /// Send this call.
    Send(EtcdCall),
    /// The last call's status and body, or `None`.
    Answer(Option<(u16, Vec<u8>)>),
}

/// The leases one worker has granted, by the end of their bucket.
#[derive(Debug, Default, Clone)]
pub struct LeaseCache {
    leases: Vec<(u64, i64)>,
}

impl LeaseCache {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    fn get(&self, bucket_end: u64) -> Option<i64> {
        self.leases
            .iter()
            .find(|(end, _)| *end == bucket_end)
            .map(|(_, id)| *id)
    }

    fn insert(&mut self, bucket_end: u64, id: i64, now: u64) {
        // Buckets already over can hold no key still needed: their leases are dropped here.
        self.leases
            .retain(|(end, _)| *end > now && *end != bucket_end);
        self.leases.push((bucket_end, id));
    }

    fn forget(&mut self, bucket_end: u64) {
        self.leases.retain(|(end, _)| *end != bucket_end);
    }

    /// Leases held (for tests and stats).
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Grant,
    Txn(i64),
    Over,
}

/// One insert-if-absent in progress (see the module docs).
#[derive(Debug)]
pub struct EtcdInsert {
    key: String,
    nonce: String,
    bucket_end: u64,
    phase: Phase,
    calls: u8,
}

/// The end of the lease bucket that holds a key kept until `expires_at`.
pub fn bucket_end(expires_at: u64) -> u64 {
    expires_at
        .div_ceil(LEASE_BUCKET_SECONDS)
        .saturating_mul(LEASE_BUCKET_SECONDS)
}

impl EtcdInsert {
    /// Starts inserting `replay_key` (core's [`crate::client_auth::PendingAssertion::replay_key`])
    /// until `expires_at`; returns the first call to make.
    pub fn begin(
        config: &EtcdConfig,
        leases: &LeaseCache,
        replay_key: &str,
        expires_at: u64,
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> (Self, EtcdCall) {
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let bucket_end = bucket_end(expires_at);
        let mut insert = EtcdInsert {
            key: alloc::format!("{}{replay_key}", config.prefix),
            nonce: b64::encode_url(&nonce),
            bucket_end,
            phase: Phase::Grant,
            calls: 1,
        };
        if let Some(id) = leases.get(bucket_end) {
            insert.phase = Phase::Txn(id);
        }
        let call = insert.call_for_phase(now);
        (insert, call)
    }

    /// The etcd key this insert writes (prefix and replay key).
    pub fn key(&self) -> &str {
        &self.key
    }

    fn call_for_phase(&self, now: u64) -> EtcdCall {
        match self.phase {
            Phase::Txn(lease) => self.txn(lease),
            _ => self.grant(now),
        }
    }

    fn grant(&self, now: u64) -> EtcdCall {
        // etcd counts the TTL from the grant: from `now` past the bucket's end.
        let ttl = self
            .bucket_end
            .saturating_sub(now.min(self.bucket_end))
            .saturating_add(LEASE_MARGIN_SECONDS);
        EtcdCall {
            path: LEASE_GRANT_PATH,
            // int64 as a string, as proto3 JSON writes it.
            body: alloc::format!("{{\"TTL\":\"{ttl}\"}}"),
        }
    }

    fn txn(&self, lease: i64) -> EtcdCall {
        // Written out: every value is base64 or digits, nothing to escape.
        let key = b64::encode_standard(self.key.as_bytes());
        let value = b64::encode_standard(self.nonce.as_bytes());
        EtcdCall {
            path: TXN_PATH,
            body: alloc::format!(
                "{{\"compare\":[{{\"key\":\"{key}\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}}],\
                 \"success\":[{{\"request_put\":{{\"key\":\"{key}\",\"value\":\"{value}\",\"lease\":\"{lease}\"}}}}],\
                 \"failure\":[{{\"request_range\":{{\"key\":\"{key}\"}}}}]}}"
            ),
        }
    }

    /// One step for a shell: a call still to send is passed through, an answer is read
    /// ([`EtcdInsert::answered`]).
    pub fn resume(&mut self, leases: &mut LeaseCache, next: EtcdNext, now: u64) -> EtcdStep {
        match next {
            EtcdNext::Send(call) => EtcdStep::Send(call),
            EtcdNext::Answer(answer) => {
                let answer = answer.as_ref().map(|(s, b)| (*s, b.as_slice()));
                self.answered(leases, answer, now)
            }
        }
    }

    /// The answer to the last call: `Some((status, body))`, or `None` when none came (timeout,
    /// reset, no healthy member). `now` in Unix seconds.
    pub fn answered(
        &mut self,
        leases: &mut LeaseCache,
        answer: Option<(u16, &[u8])>,
        now: u64,
    ) -> EtcdStep {
        let parsed = answer.and_then(|(status, body)| {
            if body.len() > MAX_ANSWER_BYTES {
                return None;
            }
            serde_json::from_slice::<Value>(body)
                .ok()
                .map(|v| (status, v))
        });
        // The outcome, or `None`: make a call (the next step, or the same one again after a
        // failure; either counts against `MAX_CALLS`).
        let outcome = match (self.phase, parsed) {
            (Phase::Grant, Some((200, v))) => {
                if let Some(id) = lease_id(&v) {
                    leases.insert(self.bucket_end, id, now);
                    self.phase = Phase::Txn(id);
                }
                None
            }
            (Phase::Txn(_), Some((200, v))) => self.txn_outcome(&v),
            (Phase::Txn(_), Some((_, v))) if lease_not_found(&v) => {
                leases.forget(self.bucket_end);
                self.phase = Phase::Grant;
                None
            }
            (Phase::Over, _) => Some(ReplayOutcome::Unavailable),
            _ => None,
        };
        match outcome {
            Some(outcome) => self.finish(outcome),
            None if self.calls >= MAX_CALLS => self.finish(ReplayOutcome::Unavailable),
            None => {
                self.calls += 1;
                EtcdStep::Send(self.call_for_phase(now))
            }
        }
    }

    fn finish(&mut self, outcome: ReplayOutcome) -> EtcdStep {
        self.phase = Phase::Over;
        EtcdStep::Done(outcome)
    }

    /// A transaction's answer: put (recorded), or the key read back (this insert's own nonce:
    /// an earlier call of it committed; another value: a replay).
    fn txn_outcome(&self, v: &Value) -> Option<ReplayOutcome> {
        // The header is in every answer etcd gives; without it this is not a txn answer.
        v.get("header")?;
        if v.get("succeeded").and_then(Value::as_bool) == Some(true) {
            return Some(ReplayOutcome::Recorded);
        }
        let kvs = v
            .get("responses")?
            .get(0)?
            .get("response_range")?
            .get("kvs")
            .and_then(Value::as_array);
        let value = kvs
            .and_then(|kvs| kvs.first())
            .and_then(|kv| kv.get("value"))
            .and_then(Value::as_str)
            .and_then(|v| b64::decode_standard(v).ok());
        match value {
            Some(value) if value == self.nonce.as_bytes() => Some(ReplayOutcome::Recorded),
            Some(_) => Some(ReplayOutcome::AlreadySeen),
            // The compare failed but the read found nothing: the key expired in between. Not
            // an answer to rely on either way.
            None => None,
        }
    }
}

/// A lease grant's `ID` (int64: a string in proto3 JSON, or a number).
fn lease_id(v: &Value) -> Option<i64> {
    if v.get("error").is_some() {
        return None;
    }
    let id = match v.get("ID")? {
        Value::String(s) => s.parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    (id != 0).then_some(id)
}

/// etcd's "requested lease not found" (gRPC code 5, NOT_FOUND, through the gateway).
fn lease_not_found(v: &Value) -> bool {
    v.get("code").and_then(Value::as_i64) == Some(5)
        && v.get("error")
            .and_then(Value::as_str)
            .is_some_and(|e| e.contains("lease not found"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn config() -> EtcdConfig {
        EtcdConfig {
            cluster: "etcd".into(),
            prefix: "gp/".into(),
            timeout_ms: 500,
            authority: "etcd".into(),
        }
    }

    use alloc::string::ToString;
    use serde_json::json;

    fn body(call: &EtcdCall) -> Value {
        serde_json::from_str(&call.body).unwrap()
    }

    const GRANT_OK: &[u8] = br#"{"header":{"revision":"1"},"ID":"7587862","TTL":"70"}"#;
    const TXN_OK: &[u8] =
        br#"{"header":{"revision":"2"},"succeeded":true,"responses":[{"response_put":{}}]}"#;

    fn txn_found(value: &[u8]) -> Vec<u8> {
        json!({"header": {"revision": "3"}, "responses": [{"response_range": {"header": {},
            "kvs": [{"key": "Z3Av", "value": b64::encode_standard(value)}], "count": "1"}}]})
        .to_string()
        .into_bytes()
    }

    fn begin(leases: &LeaseCache) -> (EtcdInsert, EtcdCall) {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        EtcdInsert::begin(&config(), leases, "KEY", 1_000_030, 1_000_000, &mut rng)
    }

    #[test]
    fn first_insert_grants_a_lease_for_its_bucket_then_puts_the_key_with_it() {
        let mut leases = LeaseCache::new();
        let (mut insert, call) = begin(&leases);
        assert_eq!(call.path, LEASE_GRANT_PATH);
        // Kept until 1_000_030: bucket end 1_000_080 (a multiple of 60); granted at 1_000_000
        // for 80 + 60 s.
        assert_eq!(bucket_end(1_000_030), 1_000_080);
        assert_eq!(body(&call)["TTL"], "140");
        let step = insert.answered(&mut leases, Some((200, GRANT_OK)), 1_000_000);
        let EtcdStep::Send(txn) = step else {
            panic!("{step:?}")
        };
        assert_eq!(txn.path, TXN_PATH);
        let b = body(&txn);
        let key = b64::encode_standard(b"gp/KEY");
        assert_eq!(b["compare"][0]["key"], key.as_str());
        assert_eq!(b["compare"][0]["target"], "CREATE");
        assert_eq!(b["compare"][0]["create_revision"], "0");
        assert_eq!(b["success"][0]["request_put"]["key"], key.as_str());
        assert_eq!(b["success"][0]["request_put"]["lease"], "7587862");
        assert_eq!(b["failure"][0]["request_range"]["key"], key.as_str());
        assert_eq!(
            insert.answered(&mut leases, Some((200, TXN_OK)), 1_000_000),
            EtcdStep::Done(ReplayOutcome::Recorded)
        );
        assert_eq!(leases.len(), 1);
        // The next insert in the same bucket reuses the lease: straight to the transaction.
        let (_, call) = begin(&leases);
        assert_eq!(call.path, TXN_PATH);
        assert_eq!(body(&call)["success"][0]["request_put"]["lease"], "7587862");
    }

    #[test]
    fn the_grant_asks_for_a_ttl_past_the_bucket_end() {
        let leases = LeaseCache::new();
        let (mut insert, _) = begin(&leases);
        let mut l = LeaseCache::new();
        // A failed grant is retried from the new `now`: TTL = bucket end - now + margin.
        let EtcdStep::Send(again) = insert.answered(&mut l, None, 1_000_020) else {
            panic!()
        };
        assert_eq!(again.path, LEASE_GRANT_PATH);
        assert_eq!(body(&again)["TTL"], "120");
    }

    #[test]
    fn a_failed_compare_is_a_replay_unless_the_key_holds_this_inserts_own_nonce() {
        let mut leases = LeaseCache::new();
        let (mut insert, _) = begin(&leases);
        insert.answered(&mut leases, Some((200, GRANT_OK)), 1_000_000);
        assert_eq!(
            insert.answered(
                &mut leases,
                Some((200, &txn_found(b"someone else"))),
                1_000_000
            ),
            EtcdStep::Done(ReplayOutcome::AlreadySeen)
        );
        // A retry after a lost answer: the first call had committed, and the key holds this
        // insert's nonce.
        let (mut insert, _) = begin(&leases);
        let nonce = insert.nonce.clone();
        let EtcdStep::Send(retry) = insert.answered(&mut leases, None, 1_000_000) else {
            panic!()
        };
        assert_eq!(retry.path, TXN_PATH);
        assert_eq!(
            insert.answered(
                &mut leases,
                Some((200, &txn_found(nonce.as_bytes()))),
                1_000_000
            ),
            EtcdStep::Done(ReplayOutcome::Recorded)
        );
    }

    #[test]
    fn an_answer_without_etcds_header_is_not_trusted_either_way() {
        let mut leases = LeaseCache::new();
        let (mut insert, _) = begin(&leases);
        let nonce = insert.nonce.clone();
        insert.answered(&mut leases, Some((200, GRANT_OK)), 1_000_000);
        // A success, or this insert's own value read back, but without the header every etcd
        // answer has: not etcd's answer; the call is made again.
        let mut headless_read: Value =
            serde_json::from_slice(&txn_found(nonce.as_bytes())).unwrap();
        headless_read.as_object_mut().unwrap().remove("header");
        for body in [
            br#"{"succeeded":true,"responses":[{"response_put":{}}]}"#.to_vec(),
            headless_read.to_string().into_bytes(),
        ] {
            let step = insert.answered(&mut leases, Some((200, &body)), 1_000_000);
            assert!(
                matches!(step, EtcdStep::Send(ref c) if c.path == TXN_PATH),
                "{step:?}"
            );
        }
        // proto3 JSON leaves `succeeded: false` out: with the header and the key read back
        // holding another value, that is a replay.
        assert_eq!(
            insert.answered(&mut leases, Some((200, &txn_found(b"other"))), 1_000_000),
            EtcdStep::Done(ReplayOutcome::AlreadySeen)
        );
    }

    #[test]
    fn a_lost_lease_is_granted_again_and_the_put_retried() {
        let mut leases = LeaseCache::new();
        let (mut insert, _) = begin(&leases);
        insert.answered(&mut leases, Some((200, GRANT_OK)), 1_000_000);
        let gone = br#"{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}"#;
        let EtcdStep::Send(grant) = insert.answered(&mut leases, Some((404, gone)), 1_000_000)
        else {
            panic!()
        };
        assert_eq!(grant.path, LEASE_GRANT_PATH);
        assert!(leases.is_empty());
        let second = br#"{"header":{},"ID":"99","TTL":"90"}"#;
        let EtcdStep::Send(txn) = insert.answered(&mut leases, Some((200, second)), 1_000_000)
        else {
            panic!()
        };
        assert_eq!(body(&txn)["success"][0]["request_put"]["lease"], "99");
        assert_eq!(
            insert.answered(&mut leases, Some((200, TXN_OK)), 1_000_000),
            EtcdStep::Done(ReplayOutcome::Recorded)
        );
    }

    #[test]
    fn no_answer_fails_closed_after_a_bounded_number_of_calls() {
        let mut leases = LeaseCache::new();
        let (mut insert, _) = begin(&leases);
        let mut calls = 1;
        loop {
            match insert.answered(&mut leases, None, 1_000_000) {
                EtcdStep::Send(_) => calls += 1,
                EtcdStep::Done(outcome) => {
                    assert_eq!(outcome, ReplayOutcome::Unavailable);
                    break;
                }
            }
        }
        assert_eq!(calls, MAX_CALLS);
        // Errors and nonsense count the same as silence; an answer after the end changes nothing.
        for (status, answer) in [
            (
                503,
                &br#"{"error":"etcdserver: request timed out","code":14}"#[..],
            ),
            (200, b"not json"),
            (200, br#"{"ID":"0"}"#),
            (500, b""),
        ] {
            let (mut insert, _) = begin(&LeaseCache::new());
            let mut l = LeaseCache::new();
            let mut step = insert.answered(&mut l, Some((status, answer)), 1_000_000);
            while let EtcdStep::Send(_) = step {
                step = insert.answered(&mut l, Some((status, answer)), 1_000_000);
            }
            assert_eq!(step, EtcdStep::Done(ReplayOutcome::Unavailable), "{status}");
            assert_eq!(
                insert.answered(&mut l, Some((200, TXN_OK)), 1_000_000),
                EtcdStep::Done(ReplayOutcome::Unavailable)
            );
        }
    }

    #[test]
    fn an_oversized_answer_is_not_read() {
        let mut leases = LeaseCache::new();
        let (mut insert, _) = begin(&leases);
        insert.answered(&mut leases, Some((200, GRANT_OK)), 1_000_000);
        let mut big = TXN_OK.to_vec();
        big.resize(MAX_ANSWER_BYTES + 1, b' ');
        let step = insert.answered(&mut leases, Some((200, &big)), 1_000_000);
        assert!(matches!(step, EtcdStep::Send(_)), "{step:?}");
    }

    #[test]
    fn leases_of_buckets_already_over_are_dropped() {
        let mut leases = LeaseCache::new();
        leases.insert(120, 1, 100);
        leases.insert(180, 2, 100);
        assert_eq!(leases.len(), 2);
        leases.insert(240, 3, 130);
        assert_eq!(leases.get(120), None);
        assert_eq!(leases.get(180), Some(2));
        assert_eq!(leases.get(240), Some(3));
    }
}
