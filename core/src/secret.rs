//! Client secrets, registration access tokens and identifiers.
//!
//! Generated secrets carry 256 bits from the caller's RNG and are stored only as SHA-256: for a
//! high-entropy secret a slow password hash adds nothing (there is no dictionary to slow down),
//! and a fast hash keeps the token endpoint cheap. Comparison is constant-time.

use alloc::string::String;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::b64;

const PREFIX: &str = "sha256:";

/// The stored form of a secret: `sha256:` followed by the base64url SHA-256 of the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl core::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

impl SecretHash {
    /// Hashes a secret.
    pub fn of(secret: &str) -> Self {
        SecretHash(Sha256::digest(secret.as_bytes()).into())
    }

    /// Parses the stored form (`sha256:<base64url of 32 bytes>`).
    pub fn parse(stored: &str) -> Option<Self> {
        let encoded = stored.strip_prefix(PREFIX)?;
        let bytes = b64::decode_url(encoded).ok()?;
        let array: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(SecretHash(array))
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        let mut out = String::from(PREFIX);
        out.push_str(&b64::encode_url(&self.0));
        out
    }

    /// Whether `presented` hashes to this value, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let candidate: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(self.0.ct_eq(&candidate))
    }
}

/// Compares two byte strings in constant time (for equal lengths).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// A new 256-bit secret, base64url (43 characters).
pub fn generate_secret(rng: &mut impl CryptoRngCore) -> String {
    random_string(rng, 32)
}

/// `len` random bytes, base64url.
pub fn random_string(rng: &mut impl CryptoRngCore, len: usize) -> String {
    let mut bytes = alloc::vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    b64::encode_url(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hash_round_trips_and_matches_only_the_secret() {
        let hash = SecretHash::of("s3cret");
        let stored = hash.to_stored();
        assert!(stored.starts_with("sha256:"));
        let parsed = SecretHash::parse(&stored).expect("parses");
        assert!(parsed.matches("s3cret"));
        assert!(!parsed.matches("s3cret "));
        assert!(!parsed.matches(""));
        assert_eq!(SecretHash::parse("md5:abc"), None);
        assert_eq!(SecretHash::parse("sha256:AAAA"), None);
    }
}
