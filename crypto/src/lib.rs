//! Algorithms (RFC 7518 §3, RFC 8037 §3.1) and the signature primitives under them.
//!
//! This is the one place that signs and verifies with the cryptographic crates. Everything above
//! it works with [`Algorithm`], [`PublicKey`] and [`PrivateKey`]. Verification is a pure function
//! returning a bool; signing takes the caller's random number generator (RSA blinding and PSS
//! salts).
//!
//! `gatepass-core` re-exports this crate as `gatepass_core::crypto`. It is a crate of its own so
//! that a build can optimise it apart from the rest: the curve arithmetic of the signature
//! checks is generic code, compiled in the crate that instantiates it, which is this one (the
//! Envoy filter's `filter` profile builds core for size and this crate for speed). [`verify`]
//! and [`sign`] are therefore not generic.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;
use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

/// A JWS algorithm this crate implements. `none` is not one of them (RFC 8725 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// Ed25519 (RFC 8037 §3.1).
    EdDSA,
    /// Ed25519 under its fully-specified name (RFC 9864 §2.2), which some clients (e.g.
    /// oauth4webapi) send; the same signature as `EdDSA` with an Ed25519 key.
    Ed25519,
    /// ECDSA P-256 SHA-256 (RFC 7518 §3.4).
    ES256,
    /// ECDSA P-384 SHA-384.
    ES384,
    /// ECDSA P-521 SHA-512.
    ES512,
    /// RSASSA-PKCS1-v1_5 SHA-256 (RFC 7518 §3.3).
    RS256,
    /// RSASSA-PKCS1-v1_5 SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 SHA-512.
    RS512,
    /// RSASSA-PSS SHA-256, MGF1 SHA-256, salt 32 (RFC 7518 §3.5).
    PS256,
    /// RSASSA-PSS SHA-384.
    PS384,
    /// RSASSA-PSS SHA-512.
    PS512,
    /// HMAC SHA-256 (RFC 7518 §3.2).
    HS256,
    /// HMAC SHA-384.
    HS384,
    /// HMAC SHA-512.
    HS512,
}

/// The kind of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// OKP Ed25519.
    Ed25519,
    /// EC with the given curve.
    Ec(Curve),
    /// RSA.
    Rsa,
    /// Symmetric (`oct`).
    Oct,
}

/// NIST curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// P-256.
    P256,
    /// P-384.
    P384,
    /// P-521.
    P521,
}

impl Curve {
    /// JWK `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }
    /// Coordinate length in bytes (RFC 7518 §6.2.1.2: full length, leading zeros kept).
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// Every algorithm, in a stable order.
pub const ALL_ALGORITHMS: [Algorithm; 14] = [
    Algorithm::EdDSA,
    Algorithm::Ed25519,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
];

impl Algorithm {
    /// The `alg` name (RFC 7518 §3.1, RFC 8037 §3.1). Case-sensitive.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::Ed25519 => "Ed25519",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
        }
    }

    /// Parses an `alg` name; `none` and unknown names give `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        ALL_ALGORITHMS.iter().copied().find(|a| a.name() == name)
    }

    /// The key family the algorithm needs.
    pub fn family(self) -> KeyFamily {
        match self {
            Algorithm::EdDSA | Algorithm::Ed25519 => KeyFamily::Ed25519,
            Algorithm::ES256 => KeyFamily::Ec(Curve::P256),
            Algorithm::ES384 => KeyFamily::Ec(Curve::P384),
            Algorithm::ES512 => KeyFamily::Ec(Curve::P521),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyFamily::Rsa,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => KeyFamily::Oct,
        }
    }

    /// Whether two algorithm names denote the same algorithm (`EdDSA` with an Ed25519 key and
    /// RFC 9864 `Ed25519`).
    pub fn same_as(self, other: Algorithm) -> bool {
        let canonical = |a: Algorithm| {
            if a == Algorithm::Ed25519 {
                Algorithm::EdDSA
            } else {
                a
            }
        };
        canonical(self) == canonical(other)
    }

    /// True for the HMAC algorithms.
    pub fn is_symmetric(self) -> bool {
        self.family() == KeyFamily::Oct
    }

    /// RFC 7518 §3.2: an HMAC key MUST be at least as long as the hash output.
    pub fn min_hmac_key_len(self) -> usize {
        match self {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Smallest RSA modulus accepted (RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used").
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted (bounds the cost of one verification).
pub const RSA_MAX_BITS: usize = 8192;

/// A public (verification) key. `Oct` holds a shared secret and is never published.
#[derive(Clone)]
pub enum PublicKey {
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// P-384.
    P384(p384::ecdsa::VerifyingKey),
    /// P-521.
    P521(p521::ecdsa::VerifyingKey),
    /// RSA.
    Rsa(RsaPublicKey),
    /// HMAC secret.
    Oct(Zeroizing<Vec<u8>>),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PublicKey::Ed25519(_) => "PublicKey::Ed25519",
            PublicKey::P256(_) => "PublicKey::P256",
            PublicKey::P384(_) => "PublicKey::P384",
            PublicKey::P521(_) => "PublicKey::P521",
            PublicKey::Rsa(_) => "PublicKey::Rsa",
            PublicKey::Oct(_) => "PublicKey::Oct(..)",
        })
    }
}

impl PublicKey {
    /// The key family.
    pub fn family(&self) -> KeyFamily {
        match self {
            PublicKey::Ed25519(_) => KeyFamily::Ed25519,
            PublicKey::P256(_) => KeyFamily::Ec(Curve::P256),
            PublicKey::P384(_) => KeyFamily::Ec(Curve::P384),
            PublicKey::P521(_) => KeyFamily::Ec(Curve::P521),
            PublicKey::Rsa(_) => KeyFamily::Rsa,
            PublicKey::Oct(_) => KeyFamily::Oct,
        }
    }

    /// Whether this key can be used with `alg` at all (family and, for HMAC, key length).
    pub fn fits(&self, alg: Algorithm) -> bool {
        match self {
            PublicKey::Oct(k) => alg.is_symmetric() && k.len() >= alg.min_hmac_key_len(),
            _ => self.family() == alg.family(),
        }
    }

    /// The key in the standard encoding a native crypto library takes, for hosts that check
    /// signatures themselves (the native Envoy module): `None` for HMAC secrets.
    pub fn encoded(&self) -> Option<EncodedPublicKey> {
        use rsa::traits::PublicKeyParts;
        Some(match self {
            PublicKey::Ed25519(k) => EncodedPublicKey::Ed25519(k.to_bytes()),
            PublicKey::P256(k) => {
                EncodedPublicKey::Ec(k.to_encoded_point(false).as_bytes().to_vec())
            }
            PublicKey::P384(k) => {
                EncodedPublicKey::Ec(k.to_encoded_point(false).as_bytes().to_vec())
            }
            PublicKey::P521(k) => {
                EncodedPublicKey::Ec(k.to_encoded_point(false).as_bytes().to_vec())
            }
            PublicKey::Rsa(k) => EncodedPublicKey::Rsa {
                n: k.n().to_bytes_be(),
                e: k.e().to_bytes_be(),
            },
            PublicKey::Oct(_) => return None,
        })
    }
}

/// A public key's standard encoding ([`PublicKey::encoded`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodedPublicKey {
    /// The 32-byte Ed25519 public key (RFC 8032 §5.1.5).
    Ed25519([u8; 32]),
    /// An uncompressed SEC1 point, `0x04 || x || y` (SEC 1 §2.3.3).
    Ec(Vec<u8>),
    /// RSA modulus and public exponent, big-endian without leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
}

/// Verifies `signature` over `message` with `key` under `alg`. Returns false for every failure,
/// including a key that does not fit the algorithm and a signature of the wrong length.
///
/// * ECDSA: the JWS form is the fixed-length `r || s` (RFC 7518 §3.4); `r` and `s` must be in
///   `[1, n-1]`, which rejects the all-zero "psychic signature".
/// * Ed25519: the strict check (canonical `S`, no small-order `R` or key), as RFC 8032 §5.1.7
///   verification with the cofactorless equation.
/// * RSA: the signature must be exactly the modulus length; PSS uses a salt of the hash length
///   (RFC 7518 §3.5).
/// * HMAC: constant-time comparison of the full tag (RFC 7518 §3.2).
// Never inlined: a caller built for size would otherwise take the curve arithmetic in with it
// (see the crate docs).
#[inline(never)]
pub fn verify(alg: Algorithm, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    use p256::ecdsa::signature::Verifier;
    if !key.fits(alg) {
        return false;
    }
    match (alg, key) {
        (Algorithm::EdDSA | Algorithm::Ed25519, PublicKey::Ed25519(k)) => {
            match ed25519_dalek::Signature::from_slice(signature) {
                Ok(sig) => k.verify_strict(message, &sig).is_ok(),
                Err(_) => false,
            }
        }
        (Algorithm::ES256, PublicKey::P256(k)) => {
            match p256::ecdsa::Signature::from_slice(signature) {
                Ok(sig) if signature.len() == 64 => k.verify(message, &sig).is_ok(),
                _ => false,
            }
        }
        (Algorithm::ES384, PublicKey::P384(k)) => {
            match p384::ecdsa::Signature::from_slice(signature) {
                Ok(sig) if signature.len() == 96 => k.verify(message, &sig).is_ok(),
                _ => false,
            }
        }
        (Algorithm::ES512, PublicKey::P521(k)) => {
            match p521::ecdsa::Signature::from_slice(signature) {
                Ok(sig) if signature.len() == 132 => k.verify(message, &sig).is_ok(),
                _ => false,
            }
        }
        (_, PublicKey::Rsa(k)) => verify_rsa(alg, k, message, signature),
        (_, PublicKey::Oct(secret)) => hmac_verify_raw(alg, secret, message, signature),
        _ => false,
    }
}

/// The bare HMAC primitive: constant-time check of a full-length tag, with no key-length
/// policy (that is [`PublicKey::fits`]'s job). `false` for non-HMAC algorithms.
pub fn hmac_verify_raw(alg: Algorithm, secret: &[u8], message: &[u8], tag: &[u8]) -> bool {
    match alg {
        Algorithm::HS256 => hmac_verify::<Hmac<Sha256>>(secret, message, tag),
        Algorithm::HS384 => hmac_verify::<Hmac<Sha384>>(secret, message, tag),
        Algorithm::HS512 => hmac_verify::<Hmac<Sha512>>(secret, message, tag),
        _ => false,
    }
}

fn hmac_verify<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8], tag: &[u8]) -> bool {
    match <M as hmac::digest::KeyInit>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(message);
            // `verify_slice` compares in constant time and requires the full tag length.
            mac.verify_slice(tag).is_ok()
        }
        Err(_) => false,
    }
}

// The DigestInfo prefixes of EMSA-PKCS1-v1_5 (RFC 8017 §9.2, Note 1): the DER encoding of the
// digest's AlgorithmIdentifier (NULL parameters) and the OCTET STRING header of the hash. Written
// out instead of `Pkcs1v15Sign::new::<D>()`, which DER-encodes them at each call and so links the
// `der` crate's encoder (about 27 KB of wasm) for three constant byte strings; a test compares.
const PKCS1_DIGEST_INFO_SHA256: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const PKCS1_DIGEST_INFO_SHA384: &[u8] = &[
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
const PKCS1_DIGEST_INFO_SHA512: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// RSASSA-PKCS1-v1_5 with the digest whose DigestInfo prefix is `prefix`; the hash length is the
/// prefix's last byte (the OCTET STRING length).
fn pkcs1v15(prefix: &[u8]) -> Pkcs1v15Sign {
    Pkcs1v15Sign {
        hash_len: prefix.last().map(|&len| usize::from(len)),
        prefix: prefix.into(),
    }
}

fn rsa_modulus_len(key: &RsaPublicKey) -> usize {
    use rsa::traits::PublicKeyParts;
    key.size()
}

fn verify_rsa(alg: Algorithm, key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
    if signature.len() != rsa_modulus_len(key) {
        return false;
    }
    let result = match alg {
        Algorithm::RS256 => key.verify(
            pkcs1v15(PKCS1_DIGEST_INFO_SHA256),
            &Sha256::digest(message),
            signature,
        ),
        Algorithm::RS384 => key.verify(
            pkcs1v15(PKCS1_DIGEST_INFO_SHA384),
            &Sha384::digest(message),
            signature,
        ),
        Algorithm::RS512 => key.verify(
            pkcs1v15(PKCS1_DIGEST_INFO_SHA512),
            &Sha512::digest(message),
            signature,
        ),
        Algorithm::PS256 => key.verify(
            Pss::new_with_salt::<Sha256>(32),
            &Sha256::digest(message),
            signature,
        ),
        Algorithm::PS384 => key.verify(
            Pss::new_with_salt::<Sha384>(48),
            &Sha384::digest(message),
            signature,
        ),
        Algorithm::PS512 => key.verify(
            Pss::new_with_salt::<Sha512>(64),
            &Sha512::digest(message),
            signature,
        ),
        _ => return false,
    };
    result.is_ok()
}

/// A private (signing) key for access tokens. Symmetric keys are not used to mint tokens.
#[derive(Clone)]
pub enum PrivateKey {
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey),
    /// P-256.
    P256(p256::ecdsa::SigningKey),
    /// P-384.
    P384(p384::ecdsa::SigningKey),
    /// P-521.
    P521(p521::ecdsa::SigningKey),
    /// RSA.
    Rsa(RsaPrivateKey),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

impl PrivateKey {
    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            PrivateKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            PrivateKey::P256(k) => PublicKey::P256(*k.verifying_key()),
            PrivateKey::P384(k) => PublicKey::P384(*k.verifying_key()),
            PrivateKey::P521(k) => PublicKey::P521(p521::ecdsa::VerifyingKey::from(k)),
            PrivateKey::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
        }
    }

    /// The key's components as bytes, for a host that signs with its own library (the native
    /// Envoy module's `ring`); None for a key it cannot take (an RSA key without exactly two
    /// primes and its CRT values).
    pub fn encoded(&self) -> Option<EncodedPrivateKey> {
        use rsa::traits::{PrivateKeyParts, PublicKeyParts};
        let public = self.public_key().encoded()?;
        Some(match (self, public) {
            (PrivateKey::Ed25519(k), EncodedPublicKey::Ed25519(public)) => {
                EncodedPrivateKey::Ed25519 {
                    seed: Zeroizing::new(k.to_bytes()),
                    public,
                }
            }
            (PrivateKey::P256(k), EncodedPublicKey::Ec(public)) => EncodedPrivateKey::Ec {
                scalar: Zeroizing::new(k.to_bytes().to_vec()),
                public,
            },
            (PrivateKey::P384(k), EncodedPublicKey::Ec(public)) => EncodedPrivateKey::Ec {
                scalar: Zeroizing::new(k.to_bytes().to_vec()),
                public,
            },
            (PrivateKey::P521(k), EncodedPublicKey::Ec(public)) => EncodedPrivateKey::Ec {
                scalar: Zeroizing::new(k.to_bytes().to_vec()),
                public,
            },
            (PrivateKey::Rsa(k), EncodedPublicKey::Rsa { .. }) => {
                let [p, q] = k.primes() else {
                    return None;
                };
                // q^-1 mod p is positive; a negative one would be a broken key.
                let qinv = k.qinv()?.to_biguint()?.to_bytes_be();
                let secret = |v: Vec<u8>| Zeroizing::new(v);
                EncodedPrivateKey::Rsa {
                    n: k.n().to_bytes_be(),
                    e: k.e().to_bytes_be(),
                    d: secret(k.d().to_bytes_be()),
                    p: secret(p.to_bytes_be()),
                    q: secret(q.to_bytes_be()),
                    dp: secret(k.dp()?.to_bytes_be()),
                    dq: secret(k.dq()?.to_bytes_be()),
                    qinv: secret(qinv),
                }
            }
            _ => return None,
        })
    }

    /// Generates a new key for `alg` from the caller's randomness. RSA keys are 2048 bits.
    pub fn generate(alg: Algorithm, rng: &mut impl CryptoRngCore) -> Result<Self, SignError> {
        Ok(match alg.family() {
            KeyFamily::Ed25519 => {
                let mut seed = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(seed.as_mut());
                PrivateKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            KeyFamily::Ec(Curve::P256) => PrivateKey::P256(p256::ecdsa::SigningKey::random(rng)),
            KeyFamily::Ec(Curve::P384) => PrivateKey::P384(p384::ecdsa::SigningKey::random(rng)),
            KeyFamily::Ec(Curve::P521) => PrivateKey::P521(p521::ecdsa::SigningKey::random(rng)),
            #[cfg(feature = "rsa-keygen")]
            KeyFamily::Rsa => PrivateKey::Rsa(
                RsaPrivateKey::new(rng, RSA_MIN_BITS).map_err(|_| SignError::KeyGeneration)?,
            ),
            #[cfg(not(feature = "rsa-keygen"))]
            KeyFamily::Rsa => return Err(SignError::HostGeneratesKey(RSA_MIN_BITS)),
            KeyFamily::Oct => return Err(SignError::KeyDoesNotFit),
        })
    }
}

/// A private key's components as big-endian bytes ([`PrivateKey::encoded`]); the secret ones
/// are zeroed when dropped.
pub enum EncodedPrivateKey {
    /// Ed25519: the 32-byte seed (RFC 8032 §5.1.5) and the public key.
    Ed25519 {
        /// The private seed.
        seed: Zeroizing<[u8; 32]>,
        /// The public key.
        public: [u8; 32],
    },
    /// ECDSA: the private scalar and the uncompressed SEC1 public point.
    Ec {
        /// The private scalar, fixed length for the curve.
        scalar: Zeroizing<Vec<u8>>,
        /// `0x04 || x || y`.
        public: Vec<u8>,
    },
    /// RSA with two primes and its CRT values (RFC 8017 §3.2).
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
        /// Private exponent.
        d: Zeroizing<Vec<u8>>,
        /// First prime.
        p: Zeroizing<Vec<u8>>,
        /// Second prime.
        q: Zeroizing<Vec<u8>>,
        /// d mod (p - 1).
        dp: Zeroizing<Vec<u8>>,
        /// d mod (q - 1).
        dq: Zeroizing<Vec<u8>>,
        /// q^-1 mod p.
        qinv: Zeroizing<Vec<u8>>,
    },
}

impl fmt::Debug for EncodedPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncodedPrivateKey(..)")
    }
}

/// Why a signature could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignError {
    /// The key does not fit the algorithm.
    KeyDoesNotFit,
    /// The signature primitive failed.
    Primitive,
    /// Key generation failed.
    KeyGeneration,
    /// This build generates no keys of this kind (RSA without the `rsa-keygen` feature): the host
    /// makes one of the given modulus size, and the caller loads it as a private JWK.
    HostGeneratesKey(usize),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignError::KeyDoesNotFit => "the key does not fit the algorithm",
            SignError::Primitive => "the signature primitive failed",
            SignError::KeyGeneration => "key generation failed",
            SignError::HostGeneratesKey(_) => "this build leaves RSA key generation to the host",
        })
    }
}

/// Signs `message` with `key` under `alg`. ES256/ES384 use RFC 6979 deterministic nonces, ES512
/// a nonce from the caller's RNG; RSA uses the caller's RNG for blinding (PKCS#1 v1.5) and for
/// the PSS salt.
#[inline(never)]
pub fn sign(
    alg: Algorithm,
    key: &PrivateKey,
    message: &[u8],
    rng: &mut dyn CryptoRngCore,
) -> Result<Vec<u8>, SignError> {
    use p256::ecdsa::signature::Signer;
    // `&mut dyn CryptoRngCore` is itself a (sized) CryptoRngCore for the primitives' generics.
    let mut rng = rng;
    let rng = &mut rng;
    match (alg, key) {
        (Algorithm::EdDSA | Algorithm::Ed25519, PrivateKey::Ed25519(k)) => {
            Ok(k.sign(message).to_bytes().to_vec())
        }
        (Algorithm::ES256, PrivateKey::P256(k)) => {
            let sig: p256::ecdsa::Signature = k.sign(message);
            Ok(sig.to_bytes().to_vec())
        }
        (Algorithm::ES384, PrivateKey::P384(k)) => {
            let sig: p384::ecdsa::Signature = k.sign(message);
            Ok(sig.to_bytes().to_vec())
        }
        (Algorithm::ES512, PrivateKey::P521(k)) => {
            let sig: p521::ecdsa::Signature =
                p521::ecdsa::signature::RandomizedSigner::sign_with_rng(k, rng, message);
            Ok(sig.to_bytes().to_vec())
        }
        (_, PrivateKey::Rsa(k)) => {
            let result = match alg {
                Algorithm::RS256 => k.sign_with_rng(
                    rng,
                    pkcs1v15(PKCS1_DIGEST_INFO_SHA256),
                    &Sha256::digest(message),
                ),
                Algorithm::RS384 => k.sign_with_rng(
                    rng,
                    pkcs1v15(PKCS1_DIGEST_INFO_SHA384),
                    &Sha384::digest(message),
                ),
                Algorithm::RS512 => k.sign_with_rng(
                    rng,
                    pkcs1v15(PKCS1_DIGEST_INFO_SHA512),
                    &Sha512::digest(message),
                ),
                Algorithm::PS256 => k.sign_with_rng(
                    rng,
                    Pss::new_with_salt::<Sha256>(32),
                    &Sha256::digest(message),
                ),
                Algorithm::PS384 => k.sign_with_rng(
                    rng,
                    Pss::new_with_salt::<Sha384>(48),
                    &Sha384::digest(message),
                ),
                Algorithm::PS512 => k.sign_with_rng(
                    rng,
                    Pss::new_with_salt::<Sha512>(64),
                    &Sha512::digest(message),
                ),
                _ => return Err(SignError::KeyDoesNotFit),
            };
            result.map_err(|_| SignError::Primitive)
        }
        _ => Err(SignError::KeyDoesNotFit),
    }
}

/// HMAC tag for `client_secret_jwt` tests and tools (RFC 7518 §3.2). The primitive only: the
/// key-length rule is applied where keys are accepted ([`PublicKey::fits`]).
pub fn hmac_sign(alg: Algorithm, secret: &[u8], message: &[u8]) -> Result<Vec<u8>, SignError> {
    fn tag<M: Mac + hmac::digest::KeyInit>(
        secret: &[u8],
        message: &[u8],
    ) -> Result<Vec<u8>, SignError> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret)
            .map_err(|_| SignError::KeyDoesNotFit)?;
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
    match alg {
        Algorithm::HS256 => tag::<Hmac<Sha256>>(secret, message),
        Algorithm::HS384 => tag::<Hmac<Sha384>>(secret, message),
        Algorithm::HS512 => tag::<Hmac<Sha512>>(secret, message),
        _ => Err(SignError::KeyDoesNotFit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_info_prefixes_are_the_ones_rsa_derives_from_the_digest_oids() {
        for (written, derived) in [
            (
                pkcs1v15(PKCS1_DIGEST_INFO_SHA256),
                Pkcs1v15Sign::new::<Sha256>(),
            ),
            (
                pkcs1v15(PKCS1_DIGEST_INFO_SHA384),
                Pkcs1v15Sign::new::<Sha384>(),
            ),
            (
                pkcs1v15(PKCS1_DIGEST_INFO_SHA512),
                Pkcs1v15Sign::new::<Sha512>(),
            ),
        ] {
            assert_eq!(written.prefix, derived.prefix);
            assert_eq!(written.hash_len, derived.hash_len);
        }
    }
}
