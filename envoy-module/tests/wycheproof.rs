#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The Wycheproof primitive vectors through the native module's signature check
//! ([`gatepass_envoy::crypto::check`]: `ring` for ECDSA and RSA, core's primitives for Ed25519),
//! every case against its label: the same vectors and checks as core's own test
//! (`core/tests/wycheproof.rs`), shared in `core/tests/wycheproof_primitives/`.

#[path = "../../core/tests/wycheproof_primitives/mod.rs"]
mod wycheproof_primitives;

use gatepass_core::crypto::Algorithm;
use gatepass_core::jwk::Jwk;
use gatepass_core::jws::SignatureCheck;

/// The module's check, as the enforcer calls it.
fn native_verify(alg: Algorithm, jwk: &Jwk, msg: &[u8], sig: &[u8]) -> bool {
    gatepass_envoy::crypto::check(&SignatureCheck {
        alg,
        key: jwk,
        signing_input: msg,
        signature: sig,
    })
}

#[test]
fn ecdsa_p256_sha256_p1363_through_ring() {
    wycheproof_primitives::ecdsa_p256_sha256_p1363(&native_verify);
}

#[test]
fn ed25519_through_the_module() {
    wycheproof_primitives::ed25519(&native_verify);
}

#[test]
fn rsa_pkcs1_2048_sha256_through_ring() {
    wycheproof_primitives::rsa_pkcs1_2048_sha256(&native_verify);
}

#[test]
fn rsa_pss_2048_sha256_mgf1_32_through_ring() {
    wycheproof_primitives::rsa_pss_2048_sha256_mgf1_32(&native_verify);
}
