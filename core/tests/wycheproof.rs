#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Wycheproof vectors (C2SP/wycheproof, copied unchanged into `tests/vectors/wycheproof/`).
//!
//! Two layers are checked:
//!
//! * the JWS layer: every case of `json_web_signature_test.json` through
//!   [`jws::verify_compact`], with the group's key parsed the way configuration parses it
//!   ([`JwkSet::from_json`], strict);
//! * the primitive layer: ECDSA P-256 (P1363 `r || s`), Ed25519, RSASSA-PKCS1-v1_5 and
//!   RSASSA-PSS with SHA-256 through [`crypto::verify`], with keys built as JWKs and parsed by
//!   [`Jwk::from_map`] (the production path), and HMAC-SHA-256 through
//!   [`crypto::hmac_verify_raw`].

use std::collections::{BTreeMap, BTreeSet};

use gatepass_core::b64;
use gatepass_core::crypto::{self, Algorithm, ALL_ALGORITHMS};
use gatepass_core::jwk::{Jwk, JwkSet, SetStrictness};
use gatepass_core::jws;
use serde_json::{json, Value};

mod wycheproof_primitives;
use wycheproof_primitives::{
    expected, groups, hex, load, object, str_field, tc_id, tests, Expected, Tally,
};

// ---------------------------------------------------------------------------------------------
// JWS layer
// ---------------------------------------------------------------------------------------------

/// Cases of `json_web_signature_test.json` whose upstream label no correct verifier can follow.
/// The test asserts that the set of deviating cases is exactly this set.
const KNOWN_LABEL_DEFECTS: &[(u64, &str)] = &[
    (
        367,
        "byte-identical to the valid tcId 357 (same key) but labelled invalid \
         (\"invalidBase64Padding\"; C2SP/wycheproof issue #236): no deterministic verifier \
         can satisfy both labels; we accept it",
    ),
    (
        370,
        "byte-identical to the valid tcId 357 (same key) but labelled invalid \
         (\"invalidBase64PaddingInPayload\"; C2SP/wycheproof issue #236): no deterministic \
         verifier can satisfy both labels; we accept it",
    ),
    (
        372,
        "labelled valid but has a '?' inside the base64url header: RFC 7515 §2 / §7.1 (and \
         RFC 7519 §7.2) require refusing characters outside the base64url alphabet; we reject it",
    ),
    (
        373,
        "labelled valid but has a '?' inside the base64url payload: RFC 7515 §2 / §7.1 (and \
         RFC 7519 §7.2) require refusing characters outside the base64url alphabet; we reject it",
    ),
];

/// Cases labelled valid whose group JWK pins an `alg` other than the JWS's `alg`. The key is
/// bound to its algorithm (RFC 8725 §3.1: "each key MUST be used with exactly one algorithm, and
/// this MUST be checked when the cryptographic operation is performed"; RFC 7517 §4.4), so the
/// verifier refuses them. The test checks that the signatures themselves are good: with the
/// group's JWK minus `alg`, each of them verifies.
const KEY_ALG_CONFLICTS: &[(u64, &str)] = &[
    (
        346,
        "RFC 7520 Figure 20: JWS alg PS384, group JWK pins alg PS256 (key alg binding)",
    ),
    (
        347,
        "RFC 7520 Figure 27: JWS alg ES512, group JWK has alg \"ES521\" (not a registered JWS \
         algorithm, RFC 7518 §3.1; the strict key set refuses it, and it is not ES512 anyway)",
    ),
    (
        350,
        "RFC 7520 Figure 20 (key_ops variant): JWS alg PS384, group JWK pins alg PS256",
    ),
    (
        351,
        "RFC 7520 Figure 27 (key_ops variant): JWS alg ES512, group JWK has alg \"ES521\"",
    ),
];

/// The tcId whose token 367 and 370 duplicate.
const DUPLICATED_VALID_CASE: u64 = 357;

struct JwsCase {
    expected: Expected,
    accepted: bool,
    token: String,
    comment: String,
    why: String,
    /// The group's JWK.
    jwk: Value,
}

fn run_jws_file() -> BTreeMap<u64, JwsCase> {
    let file = load("json_web_signature_test.json");
    let mut cases = BTreeMap::new();
    for group in groups(&file) {
        // Only oct (HMAC) groups lack a public key; their shared secret is the verification key.
        let jwk = match group.get("public") {
            Some(public) => public.clone(),
            None => group["private"].clone(),
        };
        assert!(jwk.is_object(), "group {} has no key", group["comment"]);
        let set_text = serde_json::to_vec(&json!({ "keys": [jwk] })).unwrap();
        let keys = JwkSet::from_json(&set_text, SetStrictness::Strict, true);
        for test in tests(group) {
            let id = tc_id(test);
            // The JSON serialization (a JSON object) is passed as its text: it is not compact.
            let token = match &test["jws"] {
                Value::String(s) => s.clone(),
                other @ Value::Object(_) => serde_json::to_string(other).unwrap(),
                other => panic!("tcId {id}: jws is neither a string nor an object: {other}"),
            };
            let (accepted, why) = match &keys {
                Err(e) => (false, format!("key set refused: {e}")),
                Ok(keys) => match jws::verify_compact(
                    &token,
                    keys,
                    &ALL_ALGORITHMS,
                    jws::DEFAULT_MAX_TOKEN_BYTES,
                ) {
                    Ok(_) => (true, String::from("accepted")),
                    Err(e) => (false, format!("{e:?}")),
                },
            };
            let case = JwsCase {
                expected: expected(test),
                accepted,
                token,
                comment: test["comment"].as_str().unwrap_or("").to_string(),
                why,
                jwk: jwk.clone(),
            };
            assert!(cases.insert(id, case).is_none(), "tcId {id} appears twice");
        }
    }
    cases
}

#[test]
fn json_web_signature_every_case() {
    let cases = run_jws_file();
    assert_eq!(cases.len(), 401, "json_web_signature_test.json case count");

    let mut valid_accepted = 0usize;
    let mut invalid_rejected = 0usize;
    let mut deviations: BTreeMap<u64, &JwsCase> = BTreeMap::new();
    for (&id, case) in &cases {
        match (case.expected, case.accepted) {
            (Expected::Valid, true) => valid_accepted += 1,
            (Expected::Invalid, false) => invalid_rejected += 1,
            (Expected::Acceptable, _) => {
                panic!("tcId {id}: unexpected 'acceptable' in the JWS file")
            }
            _ => {
                deviations.insert(id, case);
            }
        }
    }

    let known: BTreeSet<u64> = KNOWN_LABEL_DEFECTS
        .iter()
        .chain(KEY_ALG_CONFLICTS)
        .map(|(id, _)| *id)
        .collect();
    let found: BTreeSet<u64> = deviations.keys().copied().collect();
    if found != known {
        let mut report = String::new();
        for (id, case) in &deviations {
            report.push_str(&format!(
                "  tcId {id} ({}) labelled {:?}, ours {}: {} [{}]\n",
                case.comment,
                case.expected,
                if case.accepted { "accepts" } else { "rejects" },
                case.why,
                case.token,
            ));
        }
        panic!(
            "deviations from the labels are {found:?}, expected exactly the known label defects \
             and key alg conflicts {known:?}:\n{report}"
        );
    }

    // The defects are what we say they are.
    let original = &cases[&DUPLICATED_VALID_CASE];
    assert_eq!(original.expected, Expected::Valid);
    assert!(original.accepted);
    for id in [367, 370] {
        let case = &cases[&id];
        assert_eq!(
            case.token, original.token,
            "tcId {id} is byte-identical to tcId {DUPLICATED_VALID_CASE}"
        );
        assert_eq!(case.expected, Expected::Invalid);
        assert!(
            case.accepted,
            "tcId {id} is accepted like {DUPLICATED_VALID_CASE}"
        );
    }
    for (id, part) in [(372, 0usize), (373, 1usize)] {
        let case = &cases[&id];
        assert_eq!(case.expected, Expected::Valid);
        assert!(!case.accepted);
        let segment = case.token.split('.').nth(part).unwrap();
        assert!(
            segment.contains('?'),
            "tcId {id}: part {part} holds a non-base64url character"
        );
        assert!(
            b64::decode_url(segment).is_err(),
            "tcId {id}: our base64url decoder refuses part {part}"
        );
    }

    // The key alg conflicts are refused only because of the key's `alg`: the same JWK without
    // it verifies each of them.
    for (id, _) in KEY_ALG_CONFLICTS {
        let case = &cases[id];
        assert_eq!(case.expected, Expected::Valid);
        assert!(!case.accepted);
        let header_alg = {
            let header = b64::decode_url(case.token.split('.').next().unwrap()).unwrap();
            let header: Value = serde_json::from_slice(&header).unwrap();
            header["alg"].as_str().unwrap().to_string()
        };
        let key_alg = str_field(&case.jwk, "alg");
        assert_ne!(key_alg, header_alg, "tcId {id}: the key pins another alg");
        let mut unpinned = object(case.jwk.clone());
        assert!(unpinned.remove("alg").is_some());
        let set_text = serde_json::to_vec(&json!({ "keys": [unpinned] })).unwrap();
        let keys = JwkSet::from_json(&set_text, SetStrictness::Strict, true).unwrap();
        let verified = jws::verify_compact(
            &case.token,
            &keys,
            &ALL_ALGORITHMS,
            jws::DEFAULT_MAX_TOKEN_BYTES,
        );
        assert!(
            verified.is_ok(),
            "tcId {id}: without the key's alg {key_alg} the {header_alg} JWS verifies: {verified:?}"
        );
    }

    let total = cases.len();
    let as_labelled = valid_accepted + invalid_rejected;
    assert_eq!(
        as_labelled + KNOWN_LABEL_DEFECTS.len() + KEY_ALG_CONFLICTS.len(),
        total
    );
    println!(
        "wycheproof json_web_signature_test.json: {total} cases, {as_labelled} as labelled \
         (valid accepted: {valid_accepted}, invalid rejected: {invalid_rejected}), {} known label \
         defects: 367 370 (byte-identical to valid 357) 372 373 (non-base64url character), {} \
         refused by the key's alg binding (RFC 8725 §3.1): 346 350 (key alg PS256, JWS PS384) \
         347 351 (key alg \"ES521\", JWS ES512)",
        KNOWN_LABEL_DEFECTS.len(),
        KEY_ALG_CONFLICTS.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Primitive layer (core's primitives; the vectors and their checks are shared with the native
// Envoy module's test of its `ring` path)
// ---------------------------------------------------------------------------------------------

/// Core's signature check.
fn core_verify(alg: Algorithm, jwk: &Jwk, msg: &[u8], sig: &[u8]) -> bool {
    crypto::verify(alg, &jwk.key, msg, sig)
}

#[test]
fn ecdsa_p256_sha256_p1363() {
    wycheproof_primitives::ecdsa_p256_sha256_p1363(&core_verify);
}

#[test]
fn ed25519() {
    wycheproof_primitives::ed25519(&core_verify);
}

#[test]
fn rsa_pkcs1_2048_sha256() {
    wycheproof_primitives::rsa_pkcs1_2048_sha256(&core_verify);
}

#[test]
fn rsa_pss_2048_sha256_mgf1_32() {
    wycheproof_primitives::rsa_pss_2048_sha256_mgf1_32(&core_verify);
}

#[test]
fn hmac_sha256() {
    let name = "hmac_sha256_test.json";
    let file = load(name);
    let mut tally = Tally::default();
    for group in groups(&file) {
        assert_eq!(str_field(group, "type"), "MacTest");
        let tag_bits = group["tagSize"].as_u64().unwrap();
        for test in tests(group) {
            let id = tc_id(test);
            let comment = test["comment"].as_str().unwrap_or("");
            let key = hex(str_field(test, "key"));
            let msg = hex(str_field(test, "msg"));
            let tag = hex(str_field(test, "tag"));
            let accepted = crypto::hmac_verify_raw(Algorithm::HS256, &key, &msg, &tag);
            if tag_bits == 256 {
                tally.record(id, comment, expected(test), accepted);
            } else {
                // JWS HMAC uses the full tag (RFC 7518 §3.2): truncated tags are always refused,
                // whatever their label for a truncated MAC.
                assert!(tag_bits < 256, "tcId {id}: tag size {tag_bits}");
                tally.total += 1;
                if accepted {
                    tally.failures.push(format!(
                        "tcId {id} ({comment}): {tag_bits}-bit truncated tag accepted"
                    ));
                } else {
                    tally.truncated_refused += 1;
                }
            }
        }
    }
    assert!(tally.truncated_refused > 0, "truncated tags were exercised");
    tally.finish(name, &file["numberOfTests"]);
}
