//! Signature checks through `ring` (native, constant-time, assembly-optimised) for the
//! algorithms where it is far faster than core's pure-Rust primitives: ECDSA P-256/P-384 and
//! RSA PKCS#1 v1.5 / PSS. Everything else (Ed25519, ES512, HMAC) goes to core's primitives,
//! which are native code here too.
//!
//! Core decides everything before this point: the algorithm is allowed, it matches the key
//! found by `kid` (RFC 8725 §2.1, §3.1), and the signing input and signature are the token's;
//! [`check`] only answers whether the signature verifies. The rules match core's:
//! the JWS ECDSA signature is the fixed-length `r || s` (RFC 7518 §3.4), an RSA signature is
//! exactly the modulus length, PSS uses MGF1 with the same hash and a salt of the hash length
//! (RFC 7518 §3.5); RSA keys are at least 2048 bits in both (RFC 7518 §3.3).

use gatepass_core::crypto::{Algorithm, EncodedPublicKey};
use gatepass_core::jws::SignatureCheck;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm};

/// Whether the signature of `check` verifies.
pub fn check(check: &SignatureCheck<'_>) -> bool {
    let key = check.key.key.encoded();
    match (check.alg, key) {
        (Algorithm::ES256, Some(EncodedPublicKey::Ec(point))) => {
            ecdsa(&signature::ECDSA_P256_SHA256_FIXED, &point, check, 64)
        }
        (Algorithm::ES384, Some(EncodedPublicKey::Ec(point))) => {
            ecdsa(&signature::ECDSA_P384_SHA384_FIXED, &point, check, 96)
        }
        (
            alg @ (Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512),
            Some(EncodedPublicKey::Rsa { n, e }),
        ) => {
            // RFC 7518 §3.3/§3.5: the signature is exactly the modulus length.
            if check.signature.len() != n.len() {
                return false;
            }
            let params = match alg {
                Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                _ => &signature::RSA_PSS_2048_8192_SHA512,
            };
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(params, check.signing_input, check.signature)
                .is_ok()
        }
        // Ed25519 (core's strict check), ES512 (ring has no P-521), HMAC, and any key that
        // does not fit (core answers false).
        _ => check.verify_builtin(),
    }
}

fn ecdsa(
    alg: &'static dyn VerificationAlgorithm,
    point: &[u8],
    check: &SignatureCheck<'_>,
    len: usize,
) -> bool {
    check.signature.len() == len
        && UnparsedPublicKey::new(alg, point)
            .verify(check.signing_input, check.signature)
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatepass_core::crypto;
    use gatepass_core::jwk::{Jwk, SigningJwk};
    use rand_core::OsRng;

    /// Every algorithm: ring's verdict is core's on a good signature, a flipped bit, a
    /// truncated signature and another key's signature.
    #[test]
    fn ring_agrees_with_core_on_good_and_bad_signatures() {
        let message = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0";
        for alg in [
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::ES512,
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::PS512,
            Algorithm::EdDSA,
        ] {
            let key = SigningJwk::generate(alg, &mut OsRng).unwrap();
            let other = SigningJwk::generate(alg, &mut OsRng).unwrap();
            let public: Jwk = key.public_jwk();
            let good = crypto::sign(alg, &key.key, message, &mut OsRng).unwrap();
            let foreign = crypto::sign(alg, &other.key, message, &mut OsRng).unwrap();
            let mut flipped = good.clone();
            if let Some(b) = flipped.get_mut(5) {
                *b ^= 1;
            }
            let truncated = &good[..good.len() - 1];
            for (signature, want) in [
                (&good[..], true),
                (&flipped[..], false),
                (truncated, false),
                (&foreign[..], false),
            ] {
                let c = SignatureCheck {
                    alg,
                    key: &public,
                    signing_input: message,
                    signature,
                };
                assert_eq!(check(&c), want, "{alg:?}");
                assert_eq!(c.verify_builtin(), want, "{alg:?} (core)");
            }
        }
    }
}
