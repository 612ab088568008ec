//! JSON Web Keys (RFC 7517) and key sets: EC P-256/P-384/P-521, OKP Ed25519 (RFC 8037),
//! RSA of at least 2048 bits, and `oct` secrets where a configuration asks for them.
//!
//! A key's algorithm is bound to the key: when the JWK names an `alg`, only that algorithm is
//! accepted with it; otherwise the key's family decides (RFC 8725 §3.1). A public key set never
//! contains private parameters: a set given as public with `d` in it is refused, and exported
//! sets are built from the public halves only.

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::b64;
use crate::crypto::{
    Algorithm, Curve, KeyFamily, PrivateKey, PublicKey, RSA_MAX_BITS, RSA_MIN_BITS,
};
use crate::json;
use crate::limits::MAX_SET_KEYS;

/// Why a JWK was refused: the member and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwkError {
    /// The JWK member at fault (`kty`, `x`, `n`, ...), or empty for the whole key.
    pub member: &'static str,
    /// What is wrong.
    pub message: String,
}

impl JwkError {
    pub(crate) fn new(member: &'static str, message: impl Into<String>) -> Self {
        JwkError {
            member,
            message: message.into(),
        }
    }
}

impl fmt::Display for JwkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.member.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.member, self.message)
        }
    }
}

impl From<JwkError> for crate::ConfigError {
    fn from(e: JwkError) -> Self {
        crate::ConfigError::new(e.member, e.message)
    }
}

/// A verification key with its JWK metadata.
#[derive(Debug, Clone)]
pub struct Jwk {
    /// `kid`, if any.
    pub kid: Option<String>,
    /// `alg`, if the JWK pins one.
    pub alg: Option<Algorithm>,
    /// The key.
    pub key: PublicKey,
}

fn str_member<'a>(
    map: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, JwkError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JwkError::new(name, "must be a string")),
    }
}

fn required_str<'a>(map: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, JwkError> {
    str_member(map, name)?.ok_or_else(|| JwkError::new(name, "is required"))
}

fn b64_member(map: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JwkError> {
    let text = required_str(map, name)?;
    b64::decode_url(text).map_err(|_| JwkError::new(name, "is not canonical base64url"))
}

fn secret_member(
    map: &Map<String, Value>,
    name: &'static str,
) -> Result<Zeroizing<Vec<u8>>, JwkError> {
    b64_member(map, name).map(Zeroizing::new)
}

fn uint_member(map: &Map<String, Value>, name: &'static str) -> Result<BigUint, JwkError> {
    let bytes = b64_member(map, name)?;
    if bytes.is_empty() {
        return Err(JwkError::new(name, "is empty"));
    }
    Ok(BigUint::from_bytes_be(&bytes))
}

/// What a key will be used for, checked against `use` and `key_ops` (RFC 7517 §4.2, §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Verify,
    Sign,
}

fn check_use(map: &Map<String, Value>, purpose: Purpose) -> Result<(), JwkError> {
    if let Some(u) = str_member(map, "use")? {
        if u != "sig" {
            return Err(JwkError::new(
                "use",
                "is not \"sig\": the key is not for signatures",
            ));
        }
    }
    match map.get("key_ops") {
        None => Ok(()),
        Some(Value::Array(ops)) => {
            let wanted = match purpose {
                Purpose::Verify => "verify",
                Purpose::Sign => "sign",
            };
            if ops.iter().any(|op| op.as_str() == Some(wanted)) {
                Ok(())
            } else {
                Err(JwkError::new(
                    "key_ops",
                    alloc::format!("does not include \"{wanted}\""),
                ))
            }
        }
        Some(_) => Err(JwkError::new("key_ops", "must be an array of strings")),
    }
}

fn parse_alg(map: &Map<String, Value>) -> Result<Option<Algorithm>, JwkError> {
    match str_member(map, "alg")? {
        None => Ok(None),
        Some(name) => Algorithm::from_name(name).map(Some).ok_or_else(|| {
            JwkError::new("alg", alloc::format!("unsupported algorithm \"{name}\""))
        }),
    }
}

fn parse_curve(name: &str) -> Result<Curve, JwkError> {
    match name {
        "P-256" => Ok(Curve::P256),
        "P-384" => Ok(Curve::P384),
        "P-521" => Ok(Curve::P521),
        _ => Err(JwkError::new(
            "crv",
            alloc::format!("unsupported EC curve \"{name}\""),
        )),
    }
}

fn ec_public(map: &Map<String, Value>) -> Result<PublicKey, JwkError> {
    let curve = parse_curve(required_str(map, "crv")?)?;
    let x = b64_member(map, "x")?;
    let y = b64_member(map, "y")?;
    let len = curve.coordinate_len();
    if x.len() != len {
        return Err(JwkError::new("x", alloc::format!("must be {len} bytes")));
    }
    if y.len() != len {
        return Err(JwkError::new("y", alloc::format!("must be {len} bytes")));
    }
    let mut sec1 = Vec::with_capacity(1 + 2 * len);
    sec1.push(4u8);
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    let bad = || JwkError::new("x", "is not a point on the curve");
    Ok(match curve {
        Curve::P256 => {
            PublicKey::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| bad())?)
        }
        Curve::P384 => {
            PublicKey::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| bad())?)
        }
        Curve::P521 => {
            PublicKey::P521(p521::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| bad())?)
        }
    })
}

fn okp_public(map: &Map<String, Value>) -> Result<PublicKey, JwkError> {
    let crv = required_str(map, "crv")?;
    if crv != "Ed25519" {
        return Err(JwkError::new(
            "crv",
            alloc::format!("unsupported OKP curve \"{crv}\""),
        ));
    }
    let x = b64_member(map, "x")?;
    let bytes: [u8; 32] = x
        .as_slice()
        .try_into()
        .map_err(|_| JwkError::new("x", "must be 32 bytes"))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| JwkError::new("x", "is not a valid Ed25519 point"))?;
    if key.is_weak() {
        return Err(JwkError::new("x", "is a small-order (weak) Ed25519 key"));
    }
    Ok(PublicKey::Ed25519(key))
}

fn rsa_public(map: &Map<String, Value>) -> Result<RsaPublicKey, JwkError> {
    let n = uint_member(map, "n")?;
    let e = uint_member(map, "e")?;
    let bits = n.bits();
    if bits < RSA_MIN_BITS {
        return Err(JwkError::new(
            "n",
            alloc::format!("RSA modulus of {bits} bits is below the {RSA_MIN_BITS}-bit minimum (RFC 7518 §3.3)"),
        ));
    }
    RsaPublicKey::new_with_max_size(n, e, RSA_MAX_BITS).map_err(|_| {
        JwkError::new(
            "e",
            "is not a valid RSA public key (exponent or modulus size)",
        )
    })
}

fn has_private_members(map: &Map<String, Value>) -> bool {
    ["d", "p", "q", "dp", "dq", "qi", "oth"]
        .iter()
        .any(|m| map.contains_key(*m))
}

impl Jwk {
    /// Parses a JWK used to verify signatures. `allow_oct` admits `oct` secrets (HMAC keys);
    /// a key with private parameters (`d`, ...) is refused, since a public set must not carry them.
    pub fn from_map(map: &Map<String, Value>, allow_oct: bool) -> Result<Jwk, JwkError> {
        let kty = required_str(map, "kty")?;
        check_use(map, Purpose::Verify)?;
        let alg = parse_alg(map)?;
        let kid = str_member(map, "kid")?.map(String::from);
        if kty != "oct" && has_private_members(map) {
            return Err(JwkError::new(
                "d",
                "a verification key must not contain private key parameters",
            ));
        }
        let key = match kty {
            "EC" => ec_public(map)?,
            "OKP" => okp_public(map)?,
            "RSA" => PublicKey::Rsa(rsa_public(map)?),
            "oct" if allow_oct => PublicKey::Oct(secret_member(map, "k")?),
            "oct" => {
                return Err(JwkError::new(
                    "kty",
                    "symmetric (oct) keys are not accepted here",
                ))
            }
            other => {
                return Err(JwkError::new(
                    "kty",
                    alloc::format!("unsupported key type \"{other}\""),
                ))
            }
        };
        if let Some(alg) = alg {
            if !key.fits(alg) {
                return Err(JwkError::new(
                    "alg",
                    alloc::format!("{alg} does not fit this key (type or size)"),
                ));
            }
        }
        Ok(Jwk { kid, alg, key })
    }

    /// Parses a JWK from JSON text.
    pub fn from_json(text: &[u8], allow_oct: bool) -> Result<Jwk, JwkError> {
        let map = json::parse_object(text).map_err(|e| JwkError::new("", e.to_string()))?;
        Self::from_map(&map, allow_oct)
    }

    /// A JWK for an HMAC secret (client_secret_jwt): not published, never exported.
    pub fn from_secret(secret: &[u8]) -> Jwk {
        Jwk {
            kid: None,
            alg: None,
            key: PublicKey::Oct(Zeroizing::new(secret.to_vec())),
        }
    }

    /// Whether a JWS with `alg` may be verified with this key: the algorithm pinned by the JWK
    /// if it has one, else any algorithm of the key's family (RFC 8725 §3.1).
    pub fn allows(&self, alg: Algorithm) -> bool {
        match self.alg {
            Some(pinned) => pinned.same_as(alg),
            None => self.key.fits(alg),
        }
    }

    /// The public members, as required by RFC 7638 §3.2 (lexicographic order), or `None` for
    /// a symmetric key, which has no public form.
    fn required_members(&self) -> Option<Value> {
        Some(match &self.key {
            PublicKey::Ed25519(k) => {
                json!({"crv": "Ed25519", "kty": "OKP", "x": b64::encode_url(k.as_bytes())})
            }
            PublicKey::P256(k) => {
                let p = k.to_encoded_point(false);
                ec_members(Curve::P256, p.x().map(|x| &x[..]), p.y().map(|y| &y[..]))
            }
            PublicKey::P384(k) => {
                let p = k.to_encoded_point(false);
                ec_members(Curve::P384, p.x().map(|x| &x[..]), p.y().map(|y| &y[..]))
            }
            PublicKey::P521(k) => {
                let p = k.to_encoded_point(false);
                ec_members(Curve::P521, p.x().map(|x| &x[..]), p.y().map(|y| &y[..]))
            }
            PublicKey::Rsa(k) => json!({
                "e": b64::encode_url(&k.e().to_bytes_be()),
                "kty": "RSA",
                "n": b64::encode_url(&k.n().to_bytes_be()),
            }),
            PublicKey::Oct(_) => return None,
        })
    }

    /// RFC 7638 JWK thumbprint (SHA-256, base64url). `None` for symmetric keys.
    pub fn thumbprint(&self) -> Option<String> {
        let members = self.required_members()?;
        // serde_json's map is ordered by key, and `to_vec` writes no whitespace: exactly the
        // RFC 7638 §3 canonical form.
        let canonical = serde_json::to_vec(&members).ok()?;
        Some(b64::encode_url(&Sha256::digest(&canonical)))
    }

    /// The public JWK as JSON, with `kid`, `alg` and `use: "sig"`. `None` for symmetric keys.
    pub fn to_public_json(&self) -> Option<Value> {
        let mut value = self.required_members()?;
        if let Value::Object(map) = &mut value {
            if let Some(kid) = &self.kid {
                map.insert("kid".into(), Value::String(kid.clone()));
            }
            if let Some(alg) = self.alg {
                map.insert("alg".into(), Value::String(alg.name().into()));
            }
            map.insert("use".into(), Value::String("sig".into()));
        }
        Some(value)
    }
}

fn ec_members(curve: Curve, x: Option<&[u8]>, y: Option<&[u8]>) -> Value {
    json!({
        "crv": curve.name(),
        "kty": "EC",
        "x": b64::encode_url(x.unwrap_or_default()),
        "y": b64::encode_url(y.unwrap_or_default()),
    })
}

/// Why a key could not be chosen for a JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLookupError {
    /// No key has the JWS's `kid` (a host with a remote JWKS may refetch).
    UnknownKid,
    /// Keys match, but none allows the JWS's `alg`.
    AlgorithmNotAllowed,
    /// The JWS has no `kid` and more than one key could verify it.
    AmbiguousKey,
    /// The JWS has no `kid` and no key could verify it.
    NoKey,
}

/// A set of verification keys (RFC 7517 §5).
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    /// The keys, in document order.
    pub keys: Vec<Jwk>,
}

/// How strictly a key set is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetStrictness {
    /// Configuration: every key must be usable, or the set is refused with the key's index.
    Strict,
    /// A published remote set: keys this crate cannot use (other types, encryption keys) are
    /// skipped, as RFC 7517 §5 advises; the set must still hold at least one usable key.
    SkipUnusable,
}

impl JwkSet {
    /// Parses a JWK set (`{"keys": [...]}`) from JSON text.
    pub fn from_json(
        text: &[u8],
        strictness: SetStrictness,
        allow_oct: bool,
    ) -> Result<JwkSet, JwkError> {
        let map = json::parse_object(text).map_err(|e| JwkError::new("", e.to_string()))?;
        Self::from_map(&map, strictness, allow_oct)
    }

    /// Parses a JWK set from a parsed JSON object.
    pub fn from_map(
        map: &Map<String, Value>,
        strictness: SetStrictness,
        allow_oct: bool,
    ) -> Result<JwkSet, JwkError> {
        let Some(Value::Array(items)) = map.get("keys") else {
            return Err(JwkError::new("keys", "must be an array of JWKs"));
        };
        if items.len() > MAX_SET_KEYS {
            return Err(JwkError::new(
                "keys",
                alloc::format!("holds more than {MAX_SET_KEYS} keys"),
            ));
        }
        let mut keys: Vec<Jwk> = Vec::with_capacity(items.len());
        let mut kids: BTreeSet<String> = BTreeSet::new();
        for (index, item) in items.iter().enumerate() {
            // A published set carrying a private key is broken as a whole (the issuer leaked a
            // signing key): refused, not skipped, whatever the strictness, so a fetching host
            // keeps its last good set and says why.
            if let Value::Object(m) = item {
                let oct = m.get("kty").and_then(Value::as_str) == Some("oct");
                if !oct && has_private_members(m) {
                    return Err(JwkError::new(
                        "keys",
                        alloc::format!("key {index} contains private key parameters"),
                    ));
                }
            }
            let parsed = match item {
                Value::Object(m) => Jwk::from_map(m, allow_oct),
                _ => Err(JwkError::new("", "is not a JSON object")),
            };
            match parsed {
                Ok(jwk) => {
                    if let Some(kid) = &jwk.kid {
                        if !kids.insert(kid.clone()) {
                            return Err(JwkError::new(
                                "keys",
                                alloc::format!("kid \"{kid}\" appears twice"),
                            ));
                        }
                    }
                    keys.push(jwk);
                }
                Err(e) if strictness == SetStrictness::Strict => {
                    return Err(JwkError::new("keys", alloc::format!("key {index}: {e}")))
                }
                Err(_) => {}
            }
        }
        if keys.is_empty() {
            return Err(JwkError::new("keys", "holds no usable key"));
        }
        Ok(JwkSet { keys })
    }

    /// Chooses the key for a JWS with `alg` and optional `kid`.
    ///
    /// With a `kid`, the key with that `kid` is used, or else the single key without a `kid`.
    /// Without a `kid`, exactly one key must allow `alg`. The chosen key must allow `alg`
    /// (the algorithm is bound to the key, RFC 8725 §3.1); only one key is ever tried.
    pub fn select(&self, alg: Algorithm, kid: Option<&str>) -> Result<&Jwk, KeyLookupError> {
        let candidate = match kid {
            Some(kid) => match self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)) {
                Some(k) => k,
                None => {
                    let mut unnamed = self
                        .keys
                        .iter()
                        .filter(|k| k.kid.is_none() && k.allows(alg));
                    match (unnamed.next(), unnamed.next()) {
                        (Some(k), None) => k,
                        (Some(_), Some(_)) => return Err(KeyLookupError::AmbiguousKey),
                        (None, _) => return Err(KeyLookupError::UnknownKid),
                    }
                }
            },
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.allows(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(k), None) => k,
                    (Some(_), Some(_)) => return Err(KeyLookupError::AmbiguousKey),
                    (None, _) => return Err(KeyLookupError::NoKey),
                }
            }
        };
        if candidate.allows(alg) {
            Ok(candidate)
        } else {
            Err(KeyLookupError::AlgorithmNotAllowed)
        }
    }

    /// The public JWK set as JSON (symmetric keys are left out).
    pub fn to_public_json(&self) -> Value {
        let keys: Vec<Value> = self.keys.iter().filter_map(Jwk::to_public_json).collect();
        json!({ "keys": keys })
    }
}

/// The public JWK set of private signing JWKs given as JSON: one JWK, an array of them, or a
/// set (`{"keys": [...]}`). What a server publishes and a provider's `local_jwks` holds, for
/// every tool that needs it (the CLI's `jwks`, the npm package's `publicJwks`). Each key is
/// checked as a signing key; an error names it (`keys[2]: ...`).
pub fn public_set_of_private(text: &[u8]) -> Result<Value, String> {
    let doc: Value = serde_json::from_slice(text).map_err(|e| alloc::format!("not JSON: {e}"))?;
    let items = match doc {
        Value::Object(mut m) if m.contains_key("keys") => match m.remove("keys") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        Value::Array(a) => a,
        other => alloc::vec![other],
    };
    let mut keys = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(map) = item else {
            return Err(alloc::format!("keys[{i}]: not a JWK object"));
        };
        let key = SigningJwk::from_map(map).map_err(|e| alloc::format!("keys[{i}]: {e}"))?;
        keys.extend(key.public_jwk().to_public_json());
    }
    Ok(json!({ "keys": keys }))
}

/// A private signing key with its `kid` and algorithm, as configured for minting.
#[derive(Debug, Clone)]
pub struct SigningJwk {
    /// `kid` (defaults to the RFC 7638 thumbprint).
    pub kid: String,
    /// The algorithm the key signs with.
    pub alg: Algorithm,
    /// The private key.
    pub key: PrivateKey,
}

fn rsa_private(map: &Map<String, Value>) -> Result<RsaPrivateKey, JwkError> {
    let public = rsa_public(map)?;
    let d = uint_member(map, "d")?;
    let p = uint_member(map, "p")?;
    let q = uint_member(map, "q")?;
    if map.contains_key("oth") {
        return Err(JwkError::new(
            "oth",
            "multi-prime RSA keys are not supported",
        ));
    }
    let mut key = RsaPrivateKey::from_components(
        public.n().clone(),
        public.e().clone(),
        d,
        alloc::vec![p, q],
    )
    .map_err(|_| JwkError::new("d", "the RSA private parameters are inconsistent"))?;
    key.validate()
        .map_err(|_| JwkError::new("d", "the RSA private parameters are inconsistent"))?;
    key.precompute()
        .map_err(|_| JwkError::new("d", "the RSA private parameters are inconsistent"))?;
    Ok(key)
}

/// The outcome of [`SigningJwk::generate_or_ask`].
#[derive(Debug)]
pub enum Generated {
    /// The key, made here.
    Key(alloc::boxed::Box<SigningJwk>),
    /// This build makes no RSA keys: the host generates one with a modulus of `bits` bits and
    /// public exponent 65537, and [`SigningJwk::adopt_named`] takes it.
    HostMakesRsa {
        /// The modulus size to generate (RFC 7518 §3.3: at least 2048).
        bits: usize,
    },
}

/// The algorithm key generation was asked for, by its JWA name (RFC 7518 §3.1): asymmetric only
/// (a signing key is published in a JWKS; HMAC keys are client secrets); `kid`, when given, not
/// empty — the same rule as a configured key's (a set's keys are told apart by it). The error
/// names the argument.
fn signing_alg_named(name: &str, kid: Option<&str>) -> Result<Algorithm, String> {
    let alg = Algorithm::from_name(name)
        .filter(|a| !a.is_symmetric())
        .ok_or_else(|| alloc::format!("alg: unsupported signing algorithm {name}"))?;
    if kid.is_some_and(str::is_empty) {
        return Err(String::from("kid: must not be empty"));
    }
    Ok(alg)
}

impl SigningJwk {
    /// Parses a private JWK for signing access tokens. The JWK must carry `alg` unless the
    /// key type implies exactly one (EC curve, Ed25519); RSA keys must name RS* or PS*.
    pub fn from_map(map: &Map<String, Value>) -> Result<SigningJwk, JwkError> {
        let kty = required_str(map, "kty")?;
        check_use(map, Purpose::Sign)?;
        let alg = parse_alg(map)?;
        let key = match kty {
            "EC" => {
                let curve = parse_curve(required_str(map, "crv")?)?;
                let d = secret_member(map, "d")?;
                if d.len() != curve.coordinate_len() {
                    return Err(JwkError::new(
                        "d",
                        alloc::format!("must be {} bytes", curve.coordinate_len()),
                    ));
                }
                let bad = || JwkError::new("d", "is not a valid private scalar");
                match curve {
                    Curve::P256 => PrivateKey::P256(
                        p256::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad())?,
                    ),
                    Curve::P384 => PrivateKey::P384(
                        p384::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad())?,
                    ),
                    Curve::P521 => PrivateKey::P521(
                        p521::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad())?,
                    ),
                }
            }
            "OKP" => {
                let crv = required_str(map, "crv")?;
                if crv != "Ed25519" {
                    return Err(JwkError::new(
                        "crv",
                        alloc::format!("unsupported OKP curve \"{crv}\""),
                    ));
                }
                let d = secret_member(map, "d")?;
                let seed: [u8; 32] = d
                    .as_slice()
                    .try_into()
                    .map_err(|_| JwkError::new("d", "must be 32 bytes"))?;
                let seed = Zeroizing::new(seed);
                PrivateKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            "RSA" => PrivateKey::Rsa(rsa_private(map)?),
            "oct" => {
                return Err(JwkError::new(
                    "kty",
                    "access tokens are signed with asymmetric keys only",
                ))
            }
            other => {
                return Err(JwkError::new(
                    "kty",
                    alloc::format!("unsupported key type \"{other}\""),
                ))
            }
        };
        let public = key.public_key();
        let alg = match (alg, public.family()) {
            (Some(a), _) if public.fits(a) => a,
            (Some(a), _) => {
                return Err(JwkError::new(
                    "alg",
                    alloc::format!("{a} does not fit this key"),
                ))
            }
            (None, KeyFamily::Ed25519) => Algorithm::EdDSA,
            (None, KeyFamily::Ec(Curve::P256)) => Algorithm::ES256,
            (None, KeyFamily::Ec(Curve::P384)) => Algorithm::ES384,
            (None, KeyFamily::Ec(Curve::P521)) => Algorithm::ES512,
            (None, _) => {
                return Err(JwkError::new(
                    "alg",
                    "is required for RSA signing keys (RS256 or PS256, ...)",
                ))
            }
        };
        // The public members given alongside the private ones must describe the same key.
        let derived = Jwk {
            kid: None,
            alg: Some(alg),
            key: public,
        };
        let given_public = match kty {
            "EC" => Some(ec_public(map)?),
            "OKP" => Some(okp_public(map)?),
            _ => None,
        };
        if let Some(given) = given_public {
            let given = Jwk {
                kid: None,
                alg: None,
                key: given,
            };
            if given.thumbprint() != derived.thumbprint() {
                return Err(JwkError::new(
                    "x",
                    "the public key does not match the private key",
                ));
            }
        }
        let kid = match str_member(map, "kid")? {
            Some(kid) if !kid.is_empty() => String::from(kid),
            Some(_) => return Err(JwkError::new("kid", "must not be empty")),
            None => derived
                .thumbprint()
                .ok_or_else(|| JwkError::new("kid", "cannot compute a thumbprint"))?,
        };
        Ok(SigningJwk { kid, alg, key })
    }

    /// Parses a private JWK from JSON text.
    pub fn from_json(text: &[u8]) -> Result<SigningJwk, JwkError> {
        let map = json::parse_object(text).map_err(|e| JwkError::new("", e.to_string()))?;
        Self::from_map(&map)
    }

    /// Generates a key for `alg` from the caller's randomness; `kid` is the RFC 7638 thumbprint.
    pub fn generate(
        alg: Algorithm,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<SigningJwk, crate::crypto::SignError> {
        let key = PrivateKey::generate(alg, rng)?;
        let public = Jwk {
            kid: None,
            alg: Some(alg),
            key: key.public_key(),
        };
        let kid = public.thumbprint().unwrap_or_default();
        Ok(SigningJwk { kid, alg, key })
    }

    /// Key generation as the tools offer it (CLI `keygen`, npm `generateSigningKey`): `alg` by
    /// its JWA name (RFC 7518 §3.1), asymmetric only (a signing key is published in a JWKS;
    /// HMAC keys are client secrets), and `kid` as given or else the RFC 7638 thumbprint. The
    /// error names the argument: `alg: ...` or `kid: ...`.
    pub fn generate_named(
        alg: &str,
        kid: Option<&str>,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<SigningJwk, String> {
        match Self::generate_or_ask(alg, kid, rng)? {
            Generated::Key(key) => Ok(*key),
            Generated::HostMakesRsa { .. } => Err(String::from(
                "alg: this build leaves RSA key generation to the host",
            )),
        }
    }

    /// [`SigningJwk::generate_named`] for a build that may leave RSA key generation to the host
    /// (the npm package, built without `rsa-keygen`): either the key, or the RSA modulus size to
    /// ask the host for, whose key [`SigningJwk::adopt_named`] then checks and names.
    pub fn generate_or_ask(
        alg: &str,
        kid: Option<&str>,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<Generated, String> {
        let alg = signing_alg_named(alg, kid)?;
        match Self::generate(alg, rng) {
            Ok(mut key) => {
                if let Some(kid) = kid {
                    key.kid = String::from(kid);
                }
                Ok(Generated::Key(alloc::boxed::Box::new(key)))
            }
            Err(crate::crypto::SignError::HostGeneratesKey(bits)) => {
                Ok(Generated::HostMakesRsa { bits })
            }
            Err(e) => Err(alloc::format!("alg: {e}")),
        }
    }

    /// The signing key for `alg` from an RSA private JWK the host generated (the answer to
    /// [`Generated::HostMakesRsa`]). Only the RSA members are read (a runtime's export adds
    /// `key_ops`, `ext`, its own `alg`); the key then passes every check a configured key does
    /// ([`SigningJwk::from_map`]: consistent private parameters, at least 2048 bits, the
    /// algorithm fits), and `kid` is as given or else the RFC 7638 thumbprint.
    pub fn adopt_named(
        alg: &str,
        kid: Option<&str>,
        host_jwk: &[u8],
    ) -> Result<SigningJwk, String> {
        let alg = signing_alg_named(alg, kid)?;
        if alg.family() != KeyFamily::Rsa {
            return Err(alloc::format!("alg: {alg} keys are not made by the host"));
        }
        let given = json::parse_object(host_jwk).map_err(|e| alloc::format!("key: {e}"))?;
        if given.get("kty").and_then(Value::as_str) != Some("RSA") {
            return Err(alloc::format!("key: kty: must be \"RSA\" for {alg}"));
        }
        let mut map = Map::new();
        for member in ["kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"] {
            if let Some(value) = given.get(member) {
                map.insert(String::from(member), value.clone());
            }
        }
        map.insert(String::from("alg"), Value::from(alg.name()));
        if let Some(kid) = kid {
            map.insert(String::from("kid"), Value::from(kid));
        }
        Self::from_map(&map).map_err(|e| alloc::format!("key: {e}"))
    }

    /// The public half as a [`Jwk`] (with `kid` and `alg`).
    pub fn public_jwk(&self) -> Jwk {
        Jwk {
            kid: Some(self.kid.clone()),
            alg: Some(self.alg),
            key: self.key.public_key(),
        }
    }

    /// The private JWK as JSON (for key generation tools). Handle with care.
    pub fn to_private_json(&self) -> Value {
        let mut value = self.public_jwk().to_public_json().unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            match &self.key {
                PrivateKey::Ed25519(k) => {
                    map.insert("d".into(), b64::encode_url(k.as_bytes()).into());
                }
                PrivateKey::P256(k) => {
                    map.insert("d".into(), b64::encode_url(&k.to_bytes()).into());
                }
                PrivateKey::P384(k) => {
                    map.insert("d".into(), b64::encode_url(&k.to_bytes()).into());
                }
                PrivateKey::P521(k) => {
                    map.insert("d".into(), b64::encode_url(&k.to_bytes()).into());
                }
                PrivateKey::Rsa(k) => {
                    let primes = k.primes();
                    if let (Some(p), Some(q)) = (primes.first(), primes.get(1)) {
                        let one = BigUint::from(1u32);
                        let two = BigUint::from(2u32);
                        let dp = k.d() % (p - &one);
                        let dq = k.d() % (q - &one);
                        // p is prime, so q^(p-2) mod p is q's inverse mod p (Fermat).
                        let qi = q.modpow(&(p - &two), p);
                        map.insert("d".into(), b64::encode_url(&k.d().to_bytes_be()).into());
                        map.insert("p".into(), b64::encode_url(&p.to_bytes_be()).into());
                        map.insert("q".into(), b64::encode_url(&q.to_bytes_be()).into());
                        map.insert("dp".into(), b64::encode_url(&dp.to_bytes_be()).into());
                        map.insert("dq".into(), b64::encode_url(&dq.to_bytes_be()).into());
                        map.insert("qi".into(), b64::encode_url(&qi.to_bytes_be()).into());
                    }
                }
            }
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(3)
    }

    #[test]
    fn keys_generated_by_name_have_a_thumbprint_or_the_given_kid_and_refuse_hmac_and_empty_kids() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
        let key = SigningJwk::generate_named("ES256", None, &mut rng).unwrap();
        assert_eq!(key.alg, Algorithm::ES256);
        assert_eq!(Some(key.kid.clone()), key.public_jwk().thumbprint());
        let named = SigningJwk::generate_named("EdDSA", Some("k1"), &mut rng).unwrap();
        assert_eq!(named.kid, "k1");
        // What the tool writes loads as a configured signing key.
        let text = named.to_private_json().to_string();
        assert_eq!(SigningJwk::from_json(text.as_bytes()).unwrap().kid, "k1");
        for (alg, kid, want) in [
            ("HS256", None, "alg: unsupported signing algorithm HS256"),
            ("none", None, "alg: unsupported signing algorithm none"),
            ("ES256", Some(""), "kid: must not be empty"),
        ] {
            assert_eq!(
                SigningJwk::generate_named(alg, kid, &mut rng).unwrap_err(),
                want
            );
        }
    }

    #[test]
    fn an_rsa_key_the_host_made_is_checked_like_a_configured_key_and_named() {
        let made = SigningJwk::generate(Algorithm::RS256, &mut rng()).unwrap();
        // As a runtime exports it: its own alg, key_ops, ext and a kid the package does not use.
        let mut exported = made.to_private_json();
        exported["alg"] = "RS256".into();
        exported["kid"] = "host".into();
        exported["key_ops"] = serde_json::json!(["sign"]);
        exported["ext"] = true.into();
        let text = serde_json::to_vec(&exported).unwrap();
        let key = SigningJwk::adopt_named("PS256", None, &text).unwrap();
        assert_eq!(key.alg, Algorithm::PS256);
        assert_eq!(Some(key.kid.clone()), key.public_jwk().thumbprint());
        let private = key.to_private_json();
        assert!(private.get("key_ops").is_none() && private.get("ext").is_none());
        assert_eq!(
            SigningJwk::adopt_named("RS512", Some("k9"), &text)
                .unwrap()
                .kid,
            "k9"
        );

        // Refused as a configured key would be, the error naming the argument.
        let small = SigningJwk {
            kid: String::from("s"),
            alg: Algorithm::RS256,
            key: PrivateKey::Rsa(RsaPrivateKey::new(&mut rng(), 1024).unwrap()),
        };
        let small = serde_json::to_vec(&small.to_private_json()).unwrap();
        let mut inconsistent = exported.clone();
        inconsistent["d"] = exported["dp"].clone();
        let inconsistent = serde_json::to_vec(&inconsistent).unwrap();
        let ec = SigningJwk::generate(Algorithm::ES256, &mut rng()).unwrap();
        let ec = serde_json::to_vec(&ec.to_private_json()).unwrap();
        for (alg, kid, jwk, want) in [
            (
                "ES256",
                None,
                &text,
                "alg: ES256 keys are not made by the host",
            ),
            (
                "HS256",
                None,
                &text,
                "alg: unsupported signing algorithm HS256",
            ),
            ("RS256", Some(""), &text, "kid: must not be empty"),
            ("RS256", None, &small, "key: n: "),
            (
                "RS256",
                None,
                &inconsistent,
                "key: d: the RSA private parameters are inconsistent",
            ),
            ("RS256", None, &ec, "key: kty: must be \"RSA\" for RS256"),
        ] {
            let e = SigningJwk::adopt_named(alg, kid, jwk).unwrap_err();
            assert!(e.starts_with(want), "{alg}: {e}");
        }
        assert!(SigningJwk::adopt_named("RS256", None, b"[1]")
            .unwrap_err()
            .starts_with("key: "));
    }

    #[test]
    fn generated_private_keys_round_trip_through_their_jwk_with_all_rsa_crt_members() {
        for alg in [
            Algorithm::EdDSA,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::ES512,
            Algorithm::RS256,
        ] {
            let key = SigningJwk::generate(alg, &mut rng()).unwrap();
            let json = key.to_private_json();
            if alg == Algorithm::RS256 {
                // RFC 7518 §6.3.2: with any CRT member present, all of them must be.
                for member in ["d", "p", "q", "dp", "dq", "qi"] {
                    assert!(json.get(member).is_some(), "{member} missing");
                }
            }
            let text = serde_json::to_vec(&json).unwrap();
            let back = SigningJwk::from_json(&text).unwrap();
            assert_eq!(back.kid, key.kid);
            assert_eq!(back.alg, alg);
            assert_eq!(
                back.public_jwk().thumbprint(),
                key.public_jwk().thumbprint()
            );
            // The kid defaults to the RFC 7638 thumbprint.
            assert_eq!(Some(key.kid.clone()), key.public_jwk().thumbprint());
        }
    }

    #[test]
    fn rsa_crt_members_are_correct() {
        let key = SigningJwk::generate(Algorithm::RS256, &mut rng()).unwrap();
        let json = key.to_private_json();
        let get =
            |m: &str| BigUint::from_bytes_be(&b64::decode_url(json[m].as_str().unwrap()).unwrap());
        let (p, q, d, dp, dq, qi) = (
            get("p"),
            get("q"),
            get("d"),
            get("dp"),
            get("dq"),
            get("qi"),
        );
        let one = BigUint::from(1u32);
        assert_eq!(dp, &d % (&p - &one));
        assert_eq!(dq, &d % (&q - &one));
        assert_eq!((&qi * &q) % &p, one);
    }

    #[test]
    fn a_published_set_with_a_private_key_is_refused_as_a_whole_even_when_skipping() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let good = SigningJwk::generate(Algorithm::EdDSA, &mut rng).unwrap();
        let leaked = SigningJwk::generate(Algorithm::ES256, &mut rng).unwrap();
        let text = serde_json::json!({ "keys": [
            good.public_jwk().to_public_json().unwrap(),
            leaked.to_private_json(),
        ]})
        .to_string();
        for strictness in [SetStrictness::Strict, SetStrictness::SkipUnusable] {
            let e = JwkSet::from_json(text.as_bytes(), strictness, false).unwrap_err();
            assert!(e.to_string().contains("private"), "{e}");
        }
        // Keys it cannot use are still skipped when skipping.
        let text = serde_json::json!({ "keys": [
            good.public_jwk().to_public_json().unwrap(),
            { "kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA" },
        ]})
        .to_string();
        let set = JwkSet::from_json(text.as_bytes(), SetStrictness::SkipUnusable, false).unwrap();
        assert_eq!(set.keys.len(), 1);
    }

    #[test]
    fn private_key_with_a_mismatched_public_part_is_refused() {
        let a = SigningJwk::generate(Algorithm::ES256, &mut rng())
            .unwrap()
            .to_private_json();
        let b = SigningJwk::generate(
            Algorithm::ES256,
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(99),
        )
        .unwrap()
        .to_private_json();
        let mut mixed = a.clone();
        mixed["x"] = b["x"].clone();
        mixed["y"] = b["y"].clone();
        let err = SigningJwk::from_json(&serde_json::to_vec(&mixed).unwrap()).unwrap_err();
        assert_eq!(err.member, "x");
    }

    #[test]
    fn verification_keys_must_be_for_signatures_and_public() {
        let key = SigningJwk::generate(Algorithm::ES256, &mut rng()).unwrap();
        let mut public = key.public_jwk().to_public_json().unwrap();
        assert!(Jwk::from_json(&serde_json::to_vec(&public).unwrap(), false).is_ok());
        public["use"] = "enc".into();
        assert_eq!(
            Jwk::from_json(&serde_json::to_vec(&public).unwrap(), false)
                .unwrap_err()
                .member,
            "use"
        );
        public["use"] = "sig".into();
        public["key_ops"] = serde_json::json!(["encrypt"]);
        assert_eq!(
            Jwk::from_json(&serde_json::to_vec(&public).unwrap(), false)
                .unwrap_err()
                .member,
            "key_ops"
        );
        let private = key.to_private_json();
        assert_eq!(
            Jwk::from_json(&serde_json::to_vec(&private).unwrap(), false)
                .unwrap_err()
                .member,
            "d"
        );
    }

    #[test]
    fn small_rsa_keys_and_weak_ed25519_keys_are_refused() {
        // A 1024-bit modulus (RFC 7518 §3.3 requires 2048).
        let n = b64::encode_url(&[0xc5; 128]);
        let doc = alloc::format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB"}}"#);
        assert_eq!(
            Jwk::from_json(doc.as_bytes(), false).unwrap_err().member,
            "n"
        );
        // The identity point is a small-order Ed25519 key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let doc = alloc::format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#,
            b64::encode_url(&identity)
        );
        assert_eq!(
            Jwk::from_json(doc.as_bytes(), false).unwrap_err().member,
            "x"
        );
    }

    #[test]
    fn key_choice_binds_the_algorithm_to_the_key() {
        let ed = SigningJwk::generate(Algorithm::EdDSA, &mut rng())
            .unwrap()
            .public_jwk();
        let ec = SigningJwk::generate(Algorithm::ES256, &mut rng())
            .unwrap()
            .public_jwk();
        let set = JwkSet {
            keys: alloc::vec![ed.clone(), ec.clone()],
        };
        let ed_kid = ed.kid.clone().unwrap();
        assert!(set.select(Algorithm::EdDSA, Some(&ed_kid)).is_ok());
        assert_eq!(
            set.select(Algorithm::ES256, Some(&ed_kid)).unwrap_err(),
            KeyLookupError::AlgorithmNotAllowed
        );
        assert_eq!(
            set.select(Algorithm::EdDSA, Some("nope")).unwrap_err(),
            KeyLookupError::UnknownKid
        );
        assert!(
            set.select(Algorithm::ES256, None).is_ok(),
            "one key fits ES256"
        );
        assert_eq!(
            set.select(Algorithm::HS256, None).unwrap_err(),
            KeyLookupError::NoKey
        );
    }
}
