//! The Wycheproof primitive-layer vectors (C2SP/wycheproof, in `tests/vectors/wycheproof/`):
//! ECDSA P-256 (P1363 `r || s`), Ed25519, RSASSA-PKCS1-v1_5 and RSASSA-PSS with SHA-256, every
//! case checked against its label, with keys built as JWKs and parsed by [`Jwk::from_map`] (the
//! production path). Shared by core's own test (`core/tests/wycheproof.rs`, core's primitives)
//! and the native Envoy module's (`envoy-module/tests/wycheproof.rs`, its `ring` path), which
//! pass the signature check under test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(dead_code)]

use gatepass_core::b64;
use gatepass_core::crypto::Algorithm;
use gatepass_core::jwk::Jwk;
use serde_json::{json, Map, Value};

/// A signature check: algorithm, public key, signing input, signature → verifies.
pub type Verify<'a> = &'a dyn Fn(Algorithm, &Jwk, &[u8], &[u8]) -> bool;

pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/wycheproof/");

pub fn load(name: &str) -> Value {
    let path = format!("{DIR}{name}");
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

pub fn groups(file: &Value) -> &Vec<Value> {
    file["testGroups"].as_array().unwrap()
}

pub fn tests(group: &Value) -> &Vec<Value> {
    group["tests"].as_array().unwrap()
}

pub fn tc_id(test: &Value) -> u64 {
    test["tcId"].as_u64().unwrap()
}

pub fn str_field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not a string in {value}"))
}

pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Wycheproof's three verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Valid,
    Invalid,
    Acceptable,
}

pub fn expected(test: &Value) -> Expected {
    match str_field(test, "result") {
        "valid" => Expected::Valid,
        "invalid" => Expected::Invalid,
        "acceptable" => Expected::Acceptable,
        other => panic!("tcId {}: unknown result {other:?}", tc_id(test)),
    }
}

/// Per-file tallies for the primitive vectors.
#[derive(Debug, Default)]
pub struct Tally {
    pub total: usize,
    pub valid_ok: usize,
    pub invalid_ok: usize,
    pub acceptable: usize,
    pub acceptable_accepted: usize,
    /// Cases whose key `Jwk::from_map` refused (counted as rejected).
    pub key_refused: usize,
    /// HMAC only: cases with a truncated tag, all of which must be refused.
    pub truncated_refused: usize,
    pub failures: Vec<String>,
}

impl Tally {
    pub fn record(&mut self, id: u64, comment: &str, expected: Expected, accepted: bool) {
        self.total += 1;
        match (expected, accepted) {
            (Expected::Valid, true) => self.valid_ok += 1,
            (Expected::Invalid, false) => self.invalid_ok += 1,
            (Expected::Acceptable, accepted) => {
                self.acceptable += 1;
                if accepted {
                    self.acceptable_accepted += 1;
                }
            }
            (Expected::Valid, false) => self
                .failures
                .push(format!("tcId {id} ({comment}): valid but rejected")),
            (Expected::Invalid, true) => self
                .failures
                .push(format!("tcId {id} ({comment}): invalid but accepted")),
        }
    }

    pub fn finish(self, name: &str, declared: &Value) {
        println!(
            "wycheproof {name}: total {}, valid ok {}, invalid ok {}, acceptable {} ({} accepted), \
             key refused {}, truncated tags refused {}",
            self.total,
            self.valid_ok,
            self.invalid_ok,
            self.acceptable,
            self.acceptable_accepted,
            self.key_refused,
            self.truncated_refused,
        );
        assert!(
            self.failures.is_empty(),
            "{name}: {} case(s) disagree with the label:\n  {}",
            self.failures.len(),
            self.failures.join("\n  ")
        );
        assert_eq!(
            Some(self.total as u64),
            declared.as_u64(),
            "{name}: every case ran (numberOfTests)"
        );
        assert!(
            self.valid_ok > 0 && self.invalid_ok > 0,
            "{name}: both kinds ran"
        );
    }
}

/// Runs every case of a signature file whose groups each carry one public key.
/// `verify` is the signature check under test; `jwk_of` builds the group's JWK; `check_group`
/// asserts the group's parameters.
pub fn run_signature_file(
    name: &str,
    alg: Algorithm,
    verify: Verify<'_>,
    check_group: impl Fn(&Value),
    jwk_of: impl Fn(&Value) -> Value,
) {
    let file = load(name);
    let mut tally = Tally::default();
    for group in groups(&file) {
        check_group(group);
        let key = Jwk::from_map(&object(jwk_of(group)), false);
        if let Ok(jwk) = &key {
            assert!(jwk.key.fits(alg), "{name}: the key fits {alg}");
        }
        for test in tests(group) {
            let id = tc_id(test);
            let comment = test["comment"].as_str().unwrap_or("");
            let expected = expected(test);
            let accepted = match &key {
                Ok(jwk) => verify(
                    alg,
                    jwk,
                    &hex(str_field(test, "msg")),
                    &hex(str_field(test, "sig")),
                ),
                Err(e) => {
                    assert_ne!(
                        expected,
                        Expected::Valid,
                        "{name} tcId {id}: the key was refused ({e}) but the case is valid"
                    );
                    tally.key_refused += 1;
                    false
                }
            };
            tally.record(id, comment, expected, accepted);
        }
    }
    tally.finish(name, &file["numberOfTests"]);
}

/// Strips the leading zero bytes a DER-style hex integer carries (RFC 7518 §6.3.1.1: `n` and
/// `e` are unsigned big-endian without leading zeros).
pub fn unsigned_b64(hex_text: &str) -> String {
    let bytes = hex(hex_text);
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    b64::encode_url(&bytes[first..])
}

pub fn rsa_jwk(group: &Value) -> Value {
    let public = &group["publicKey"];
    let n = unsigned_b64(str_field(public, "modulus"));
    let e = unsigned_b64(str_field(public, "publicExponent"));
    // The file's own JWK must describe the same key (a check on our conversion).
    if let Some(given) = group.get("keyJwk").or_else(|| group.get("publicKeyJwk")) {
        assert_eq!(str_field(given, "n"), n, "modulus matches the file's JWK");
        assert_eq!(str_field(given, "e"), e, "exponent matches the file's JWK");
    }
    json!({ "kty": "RSA", "n": n, "e": e })
}

pub fn ecdsa_p256_sha256_p1363(verify: Verify<'_>) {
    run_signature_file(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        Algorithm::ES256,
        verify,
        |group| {
            assert_eq!(str_field(group, "type"), "EcdsaP1363Verify");
            assert_eq!(str_field(group, "sha"), "SHA-256");
            assert_eq!(str_field(&group["publicKey"], "curve"), "secp256r1");
        },
        |group| {
            let point = hex(str_field(&group["publicKey"], "uncompressed"));
            assert_eq!(point.len(), 65, "uncompressed SEC1 point");
            assert_eq!(point[0], 4, "uncompressed SEC1 point");
            json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64::encode_url(&point[1..33]),
                "y": b64::encode_url(&point[33..]),
            })
        },
    );
}

pub fn ed25519(verify: Verify<'_>) {
    run_signature_file(
        "ed25519_test.json",
        Algorithm::EdDSA,
        verify,
        |group| {
            assert_eq!(str_field(group, "type"), "EddsaVerify");
            assert_eq!(str_field(&group["publicKey"], "curve"), "edwards25519");
        },
        |group| {
            json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64::encode_url(&hex(str_field(&group["publicKey"], "pk"))),
            })
        },
    );
}

pub fn rsa_pkcs1_2048_sha256(verify: Verify<'_>) {
    run_signature_file(
        "rsa_signature_2048_sha256_test.json",
        Algorithm::RS256,
        verify,
        |group| {
            assert_eq!(str_field(group, "type"), "RsassaPkcs1Verify");
            assert_eq!(str_field(group, "sha"), "SHA-256");
            assert_eq!(group["keySize"].as_u64(), Some(2048));
        },
        rsa_jwk,
    );
}

pub fn rsa_pss_2048_sha256_mgf1_32(verify: Verify<'_>) {
    run_signature_file(
        "rsa_pss_2048_sha256_mgf1_32_test.json",
        Algorithm::PS256,
        verify,
        |group| {
            // PS256 is exactly SHA-256, MGF1 with SHA-256 and a 32-byte salt (RFC 7518 §3.5).
            assert_eq!(str_field(group, "type"), "RsassaPssVerify");
            assert_eq!(str_field(group, "sha"), "SHA-256");
            assert_eq!(str_field(group, "mgf"), "MGF1");
            assert_eq!(str_field(group, "mgfSha"), "SHA-256");
            assert_eq!(group["sLen"].as_u64(), Some(32));
            assert_eq!(group["keySize"].as_u64(), Some(2048));
        },
        rsa_jwk,
    );
}
