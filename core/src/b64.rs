//! Strict base64 codecs.
//!
//! JOSE uses base64url without padding (RFC 7515 §2, Appendix C). The decoder here accepts only
//! the canonical form: no padding, no whitespace, no characters outside the URL-safe alphabet
//! and no non-zero trailing bits, so one value has exactly one encoding (RFC 7515 §7.1 forbids
//! "line breaks, whitespace, or other additional characters").

use alloc::string::String;
use alloc::vec::Vec;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

const URL_SAFE_NO_PAD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Standard base64 with canonical padding, as used by HTTP Basic (RFC 7617 §2).
const STANDARD_CANONICAL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(false),
);

/// The input was not canonical base64(url).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError;

/// Encodes bytes as base64url without padding.
pub fn encode_url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes canonical base64url without padding.
pub fn decode_url(text: &str) -> Result<Vec<u8>, DecodeError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| DecodeError)
}

/// Encodes bytes as standard padded base64.
pub fn encode_standard(bytes: &[u8]) -> String {
    STANDARD_CANONICAL.encode(bytes)
}

/// Decodes canonical standard padded base64.
pub fn decode_standard(text: &str) -> Result<Vec<u8>, DecodeError> {
    STANDARD_CANONICAL.decode(text).map_err(|_| DecodeError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decoder_refuses_padding_whitespace_and_trailing_bits() {
        assert_eq!(decode_url("Zm9v").as_deref(), Ok(&b"foo"[..]));
        assert_eq!(decode_url("Zm8"), Ok(b"fo".to_vec()));
        assert_eq!(decode_url("Zm8="), Err(DecodeError));
        assert_eq!(decode_url("Zm 9v"), Err(DecodeError));
        assert_eq!(decode_url("Zm9v\n"), Err(DecodeError));
        assert_eq!(
            decode_url("Zm9"),
            Err(DecodeError),
            "non-zero trailing bits"
        );
        assert_eq!(decode_url("Zm+v"), Err(DecodeError), "standard alphabet");
        assert_eq!(decode_url("A"), Err(DecodeError), "impossible length");
    }

    #[test]
    fn standard_decoder_requires_canonical_padding() {
        assert_eq!(decode_standard("Zm8="), Ok(b"fo".to_vec()));
        assert_eq!(decode_standard("Zm8"), Err(DecodeError));
        assert_eq!(encode_standard(b"fo"), "Zm8=");
    }
}
