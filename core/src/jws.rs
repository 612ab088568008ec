//! Strict compact JWS parsing (RFC 7515 §7.1) and the signature step a host can perform.
//!
//! Refused here, before any key is touched: anything but exactly three dot-separated parts
//! (so the JSON serialization is refused), non-canonical base64url in any part (RFC 7515 §2),
//! a header that is not a JSON object or repeats a member (RFC 7515 §5.2, RFC 8725 §3),
//! a missing or unknown `alg` (including `none`, RFC 8725 §3.1), any `crit` (RFC 7515
//! §4.1.11: we understand no extension, so every listed one is "not understood"), `b64`
//! (RFC 7797 is not supported), a nested JWT (`cty: JWT`), an empty signature, and input over
//! the size limit. The `jwk`, `jku`, `x5u`, `x5c` and `x5t` headers are never consulted:
//! keys come only from the configured set (RFC 8725 §3.10).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use serde_json::{Map, Value};

use crate::b64;
use crate::crypto::{self, Algorithm};
use crate::json::{self, JsonError};
use crate::jwk::{Jwk, JwkSet, KeyLookupError};

/// Default upper bound of a compact JWS, in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = crate::limits::MAX_TOKEN_BYTES;

/// The parts of the protected header this crate uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoseHeader {
    /// `alg`.
    pub alg: Algorithm,
    /// `kid`.
    pub kid: Option<String>,
    /// `typ`.
    pub typ: Option<String>,
}

/// Which part of a compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The protected header.
    Header,
    /// The payload.
    Payload,
    /// The signature.
    Signature,
}

/// Why a compact JWS was refused before its signature was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwsError {
    /// Longer than the configured limit.
    TooLarge,
    /// Not three dot-separated parts.
    NotCompact,
    /// A part is not canonical base64url, or is empty where it must not be.
    Encoding(Part),
    /// The header is not a strict JSON object.
    Header(JsonError),
    /// `alg` is missing or not a string.
    MissingAlg,
    /// `alg` names an algorithm that is not supported (`none` among them).
    UnsupportedAlg(String),
    /// `crit` is present.
    Critical,
    /// `b64` is present (RFC 7797 unencoded payloads are not supported).
    UnencodedPayload,
    /// `cty` says the payload is a nested JWT.
    NestedJwt,
    /// A header member has the wrong JSON type.
    HeaderMember(&'static str),
}

impl fmt::Display for JwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwsError::TooLarge => f.write_str("token too large"),
            JwsError::NotCompact => f.write_str("not a compact JWS"),
            JwsError::Encoding(Part::Header) => f.write_str("header is not base64url"),
            JwsError::Encoding(Part::Payload) => f.write_str("payload is not base64url"),
            JwsError::Encoding(Part::Signature) => f.write_str("signature is not base64url"),
            JwsError::Header(e) => write!(f, "header: {e}"),
            JwsError::MissingAlg => f.write_str("header has no alg"),
            JwsError::UnsupportedAlg(_) => f.write_str("unsupported alg"),
            JwsError::Critical => f.write_str("unsupported critical header"),
            JwsError::UnencodedPayload => f.write_str("unencoded payloads are not supported"),
            JwsError::NestedJwt => f.write_str("nested JWTs are not supported"),
            JwsError::HeaderMember(m) => write!(f, "header member {m} has the wrong type"),
        }
    }
}

/// A compact JWS whose form is valid and whose signature has not been checked.
#[derive(Debug, Clone)]
pub struct CompactJws<'a> {
    /// The protected header.
    pub header: JoseHeader,
    /// The full header as parsed (for hosts that log it).
    pub header_json: Map<String, Value>,
    /// `BASE64URL(header) . BASE64URL(payload)`, the bytes that were signed.
    pub signing_input: &'a str,
    /// The encoded payload, as received.
    pub payload_b64: &'a str,
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

fn header_str(map: &Map<String, Value>, name: &'static str) -> Result<Option<String>, JwsError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JwsError::HeaderMember(name)),
    }
}

/// Parses a compact JWS strictly (see the module docs for what is refused).
pub fn parse_compact(token: &str, max_bytes: usize) -> Result<CompactJws<'_>, JwsError> {
    if token.len() > max_bytes {
        return Err(JwsError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::NotCompact);
    };
    if h.is_empty() {
        return Err(JwsError::Encoding(Part::Header));
    }
    if s.is_empty() {
        return Err(JwsError::Encoding(Part::Signature));
    }
    let header_bytes = b64::decode_url(h).map_err(|_| JwsError::Encoding(Part::Header))?;
    let payload = b64::decode_url(p).map_err(|_| JwsError::Encoding(Part::Payload))?;
    let signature = b64::decode_url(s).map_err(|_| JwsError::Encoding(Part::Signature))?;
    // A JOSE header holds a handful of members: parsed with the small-document bound.
    let header_json =
        json::parse_object_within(&header_bytes, crate::limits::MAX_SMALL_JSON_VALUES)
            .map_err(JwsError::Header)?;

    let alg_name = match header_json.get("alg") {
        Some(Value::String(a)) => a.as_str(),
        _ => return Err(JwsError::MissingAlg),
    };
    let alg = Algorithm::from_name(alg_name)
        .ok_or_else(|| JwsError::UnsupportedAlg(alg_name.to_string()))?;
    if header_json.contains_key("crit") {
        return Err(JwsError::Critical);
    }
    if header_json.contains_key("b64") {
        return Err(JwsError::UnencodedPayload);
    }
    if let Some(cty) = header_str(&header_json, "cty")? {
        // RFC 7519 §5.2: "JWT" marks a nested JWT; it is not supported.
        if cty.eq_ignore_ascii_case("JWT") || cty.eq_ignore_ascii_case("application/jwt") {
            return Err(JwsError::NestedJwt);
        }
    }
    let header = JoseHeader {
        alg,
        kid: header_str(&header_json, "kid")?,
        typ: header_str(&header_json, "typ")?,
    };
    let signing_input_len = h.len() + 1 + p.len();
    Ok(CompactJws {
        header,
        header_json,
        signing_input: token.get(..signing_input_len).unwrap_or_default(),
        payload_b64: p,
        payload,
        signature,
    })
}

/// Compares a `typ` value with an expected media type: case-insensitively, and with the
/// `application/` prefix optional on either side (RFC 7515 §4.1.9).
pub fn typ_matches(typ: &str, expected: &str) -> bool {
    fn short(t: &str) -> &str {
        match t.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => {
                t.get(12..).unwrap_or("")
            }
            _ => t,
        }
    }
    short(typ).eq_ignore_ascii_case(short(expected))
}

/// Everything a host needs to check one signature itself (e.g. with WebCrypto): the algorithm,
/// the key it is bound to, the signing input and the signature.
#[derive(Debug, Clone, Copy)]
pub struct SignatureCheck<'a> {
    /// The algorithm (already checked against the key and the allowlist).
    pub alg: Algorithm,
    /// The key chosen by `kid`.
    pub key: &'a Jwk,
    /// The bytes that were signed.
    pub signing_input: &'a [u8],
    /// The signature bytes (for ECDSA, `r || s` as in RFC 7518 §3.4).
    pub signature: &'a [u8],
}

impl SignatureCheck<'_> {
    /// Checks the signature with the built-in pure-Rust primitives.
    pub fn verify_builtin(&self) -> bool {
        crypto::verify(self.alg, &self.key.key, self.signing_input, self.signature)
    }
}

/// Why no key could be used for a JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoiceError {
    /// The `alg` is not in the caller's allowlist.
    AlgorithmNotAllowed,
    /// The key set had no suitable key.
    Lookup(KeyLookupError),
}

/// Chooses the key for a parsed JWS: `alg` must be in `algorithms` (RFC 8725 §3.1) and be the
/// algorithm bound to the key found by `kid` ([`JwkSet::select`]). Exactly one key is tried.
pub fn choose_key<'k>(
    jws: &CompactJws<'_>,
    keys: &'k JwkSet,
    algorithms: &[Algorithm],
) -> Result<&'k Jwk, KeyChoiceError> {
    if !algorithms.iter().any(|a| a.same_as(jws.header.alg)) {
        return Err(KeyChoiceError::AlgorithmNotAllowed);
    }
    keys.select(jws.header.alg, jws.header.kid.as_deref())
        .map_err(KeyChoiceError::Lookup)
}

/// Why [`verify_compact`] refused a JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwsVerifyError {
    /// The form is invalid.
    Form(JwsError),
    /// No key could be used.
    Key(KeyChoiceError),
    /// The signature does not verify.
    Signature,
}

/// Verifies a compact JWS with the built-in primitives: the same parse, key choice and
/// signature steps the access-token verifier uses, without any claim checks (the payload
/// need not be JSON). Returns the verified JWS.
pub fn verify_compact<'a>(
    token: &'a str,
    keys: &JwkSet,
    algorithms: &[Algorithm],
    max_bytes: usize,
) -> Result<CompactJws<'a>, JwsVerifyError> {
    let jws = parse_compact(token, max_bytes).map_err(JwsVerifyError::Form)?;
    let key = choose_key(&jws, keys, algorithms).map_err(JwsVerifyError::Key)?;
    let check = SignatureCheck {
        alg: jws.header.alg,
        key,
        signing_input: jws.signing_input.as_bytes(),
        signature: &jws.signature,
    };
    if check.verify_builtin() {
        Ok(jws)
    } else {
        Err(JwsVerifyError::Signature)
    }
}

/// Builds a compact JWS signing input from a header and payload object.
pub fn signing_input(header: &Value, payload: &Value) -> String {
    let h = serde_json::to_vec(header).unwrap_or_default();
    let p = serde_json::to_vec(payload).unwrap_or_default();
    signing_input_of_json(&h, &p)
}

/// [`signing_input`] of a header and payload already written as JSON text.
pub fn signing_input_of_json(header: &[u8], payload: &[u8]) -> String {
    let mut out = b64::encode_url(header);
    out.push('.');
    out.push_str(&b64::encode_url(payload));
    out
}

/// Appends a signature to a signing input.
pub fn assemble(signing_input: &str, signature: &[u8]) -> String {
    let mut out = String::with_capacity(signing_input.len() + 1 + signature.len() * 4 / 3 + 4);
    out.push_str(signing_input);
    out.push('.');
    out.push_str(&b64::encode_url(signature));
    out
}
