//! Signature checks through `ring` (native, constant-time, assembly-optimised) for the
//! algorithms where it is far faster than core's pure-Rust primitives: ECDSA P-256/P-384 and
//! RSA PKCS#1 v1.5 / PSS. Everything else (Ed25519, ES512, HMAC) goes to core's primitives,
//! which are native code here too. The token endpoint signs through `ring` as well
//! ([`Signers`]: Ed25519, ECDSA P-256/P-384, RSA; P-521 by core).
//!
//! Core decides everything before this point: the algorithm is allowed, it matches the key
//! found by `kid` (RFC 8725 §2.1, §3.1), and the signing input and signature are the token's;
//! [`check`] only answers whether the signature verifies. The rules match core's:
//! the JWS ECDSA signature is the fixed-length `r || s` (RFC 7518 §3.4), an RSA signature is
//! exactly the modulus length, PSS uses MGF1 with the same hash and a salt of the hash length
//! (RFC 7518 §3.5); RSA keys are at least 2048 bits in both (RFC 7518 §3.3).

use gatepass_core::crypto::{Algorithm, EncodedPrivateKey, EncodedPublicKey};
use gatepass_core::jwk::SigningJwk;
use gatepass_core::jws::SignatureCheck;
use ring::rand::SystemRandom;
use ring::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey,
    VerificationAlgorithm,
};

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

/// The token endpoint's signing keys as `ring` key pairs, made once when the configuration
/// loads. Core has already chosen the algorithm and `kid` (the active signing key's); a key
/// `ring` cannot take (P-521, or one it refuses) is left to core's primitives (`sign` answers
/// None). ECDSA signatures are the fixed-length `r || s` (RFC 7518 §3.4); PSS uses a salt of
/// the hash length (RFC 7518 §3.5).
pub struct Signers {
    keys: Vec<(String, Algorithm, RingKey)>,
    rng: SystemRandom,
}

enum RingKey {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl std::fmt::Debug for Signers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(kid, _, _)| kid.as_str()).collect();
        write!(f, "Signers({kids:?})")
    }
}

impl Signers {
    /// `ring` key pairs for the keys it can take.
    pub fn new(keys: &[SigningJwk]) -> Signers {
        let rng = SystemRandom::new();
        let keys = keys
            .iter()
            .filter_map(|k| Some((k.kid.clone(), k.alg, ring_key(k, &rng)?)))
            .collect();
        Signers { keys, rng }
    }

    /// The signature over `input` with key `kid` under `alg`, or None for core to make it.
    pub fn sign(&self, alg: Algorithm, kid: &str, input: &[u8]) -> Option<Vec<u8>> {
        let (_, key_alg, key) = self.keys.iter().find(|(k, _, _)| k == kid)?;
        if *key_alg != alg {
            return None;
        }
        match key {
            RingKey::Ed25519(pair) => Some(pair.sign(input).as_ref().to_vec()),
            RingKey::Ecdsa(pair) => pair
                .sign(&self.rng, input)
                .ok()
                .map(|s| s.as_ref().to_vec()),
            RingKey::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_SHA384,
                    Algorithm::PS512 => &signature::RSA_PSS_SHA512,
                    _ => return None,
                };
                let mut out = vec![0u8; pair.public().modulus_len()];
                pair.sign(padding, &self.rng, input, &mut out).ok()?;
                Some(out)
            }
        }
    }
}

fn ring_key(key: &SigningJwk, rng: &SystemRandom) -> Option<RingKey> {
    Some(match (key.alg, key.key.encoded()?) {
        (Algorithm::EdDSA | Algorithm::Ed25519, EncodedPrivateKey::Ed25519 { seed, public }) => {
            RingKey::Ed25519(Ed25519KeyPair::from_seed_and_public_key(&seed[..], &public).ok()?)
        }
        (alg @ (Algorithm::ES256 | Algorithm::ES384), EncodedPrivateKey::Ec { scalar, public }) => {
            let curve = if alg == Algorithm::ES256 {
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &signature::ECDSA_P384_SHA384_FIXED_SIGNING
            };
            RingKey::Ecdsa(
                EcdsaKeyPair::from_private_key_and_public_key(curve, &scalar, &public, rng).ok()?,
            )
        }
        (
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
            EncodedPrivateKey::Rsa {
                n,
                e,
                d,
                p,
                q,
                dp,
                dq,
                qinv,
            },
        ) => RingKey::Rsa(
            RsaKeyPair::from_components(&ring::rsa::KeyPairComponents {
                public_key: ring::rsa::PublicKeyComponents {
                    n: &n[..],
                    e: &e[..],
                },
                d: &d[..],
                p: &p[..],
                q: &q[..],
                dP: &dp[..],
                dQ: &dq[..],
                qInv: &qinv[..],
            })
            .ok()?,
        ),
        // ES512 (ring has no P-521) and anything else: core signs.
        _ => return None,
    })
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

    /// Every signing algorithm: ring's signature verifies with core's check (and ring's), and
    /// ES512 (no P-521 in ring), another kid or another algorithm are left to core.
    #[test]
    fn ring_signs_what_core_verifies_and_leaves_the_rest_to_core() {
        let message = b"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0";
        for alg in [
            Algorithm::EdDSA,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::RS256,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
        ] {
            let key = SigningJwk::generate(alg, &mut OsRng).unwrap();
            let signers = Signers::new(std::slice::from_ref(&key));
            let signature = signers.sign(alg, &key.kid, message).expect("ring signs");
            let public: Jwk = key.public_jwk();
            assert!(
                crypto::verify(alg, &public.key, message, &signature),
                "{alg:?}"
            );
            let c = SignatureCheck {
                alg,
                key: &public,
                signing_input: message,
                signature: &signature,
            };
            assert!(check(&c), "{alg:?} (ring)");
            assert_eq!(signers.sign(alg, "another-kid", message), None);
        }
        let rsa = SigningJwk::generate(Algorithm::RS256, &mut OsRng).unwrap();
        assert_eq!(
            Signers::new(std::slice::from_ref(&rsa)).sign(Algorithm::ES256, &rsa.kid, message),
            None
        );
        let p521 = SigningJwk::generate(Algorithm::ES512, &mut OsRng).unwrap();
        assert_eq!(
            Signers::new(std::slice::from_ref(&p521)).sign(Algorithm::ES512, &p521.kid, message),
            None
        );
    }

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
