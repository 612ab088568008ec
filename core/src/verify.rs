//! Access-token verification at a protected resource (RFC 9068 §4, RFC 6750, RFC 8725).
//!
//! The steps, each a function a host can call between its own I/O:
//!
//! 1. [`extract_bearer`]: the token from the `Authorization` header (RFC 6750 §2.1).
//! 2. [`begin`]: strict compact parse ([`crate::jws`]), the payload parsed as a strict JSON
//!    object, and the key chosen by `kid` with the `alg` bound to it and in the policy's
//!    allowlist. The result is a [`PendingVerification`] that exposes a
//!    [`SignatureCheck`] for hosts that verify signatures themselves.
//! 3. [`PendingVerification::finish`]: the host's signature verdict, then `typ`, `iss`, `aud`,
//!    `exp`, `nbf`, `iat`, the maximum lifetime and the clock skew. The result is a
//!    [`VerifiedAccessToken`], the only type that carries verified claims.
//! 4. [`VerifiedAccessToken::require_scopes`]: the scopes a route needs (RFC 6750 §3.1
//!    `insufficient_scope`).

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use serde_json::{Map, Value};

use crate::claims;
use crate::crypto::Algorithm;
use crate::error::{BearerError, BearerErrorCode};
use crate::json;
use crate::jwk::{JwkSet, KeyLookupError};
use crate::jws::{self, CompactJws, JwsError, KeyChoiceError, SignatureCheck};

/// The `typ` RFC 9068 §2.1 gives access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// What a resource server accepts (one provider in the Envoy filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierPolicy {
    /// The exact `iss` required.
    pub issuer: String,
    /// `aud` must contain at least one of these.
    pub audiences: Vec<String>,
    /// Algorithms accepted (each must also be allowed by the key).
    pub algorithms: Vec<Algorithm>,
    /// Required `typ` (default `at+jwt`); `None` accepts any `typ`.
    pub require_typ: Option<String>,
    /// Leeway for `exp`, `nbf` and `iat`, in seconds.
    pub clock_skew_seconds: u64,
    /// Longest accepted `exp - iat`, in seconds (`iat` is then required).
    pub max_lifetime: Option<u64>,
    /// Longest accepted token, in bytes.
    pub max_token_bytes: usize,
    /// The claims that carry the granted scopes, in order: the first one the token has is
    /// read, the others are not (default `["scope"]`, RFC 9068 §2.2.3).
    pub scope_claims: Vec<String>,
}

/// The claim RFC 9068 §2.2.3 puts scopes in: a space-delimited string.
pub const SCOPE_CLAIM: &str = "scope";

impl VerifierPolicy {
    /// A policy with the defaults: `typ` `at+jwt`, asymmetric algorithms only, 60 s skew,
    /// no lifetime bound, 16 KiB tokens.
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>) -> Self {
        VerifierPolicy {
            issuer: issuer.into(),
            audiences,
            // The one algorithm list, less the symmetric ones (RFC 8725 §3.1: HMAC only where
            // a provider asks for it).
            algorithms: crate::crypto::ALL_ALGORITHMS
                .into_iter()
                .filter(|a| !a.is_symmetric())
                .collect(),
            require_typ: Some(ACCESS_TOKEN_TYP.into()),
            clock_skew_seconds: 60,
            max_lifetime: None,
            max_token_bytes: jws::DEFAULT_MAX_TOKEN_BYTES,
            scope_claims: alloc::vec![String::from(SCOPE_CLAIM)],
        }
    }
}

/// Extracts the token from an `Authorization` header value (RFC 6750 §2.1): the `Bearer`
/// scheme (case-insensitive), one or more spaces, and a `b64token`. `None` means no header.
pub fn extract_bearer(authorization: Option<&str>) -> Result<&str, BearerError> {
    let Some(value) = authorization else {
        return Err(BearerError::missing_token());
    };
    // RFC 7235 §2.1 and RFC 6750 §2.1: the scheme and the token are separated by spaces (SP),
    // and the value is visible ASCII. A tab or any other control or non-ASCII byte (for
    // example `Bearer<TAB>token`) is a malformed request, not "another scheme".
    if !crate::request::is_visible_ascii(value.as_bytes()) {
        return Err(BearerError::new(
            BearerErrorCode::InvalidRequest,
            "malformed Authorization header",
        ));
    }
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    // RFC 7235 §2.1: one or more spaces separate the scheme from the credentials.
    let token = token.trim_start_matches(' ');
    if !scheme.eq_ignore_ascii_case("Bearer") {
        // Another scheme is not a bearer token at all (RFC 6750 §3.1 "lacks any
        // authentication information" for this scheme).
        return Err(BearerError::missing_token());
    }
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if ok {
        Ok(token)
    } else {
        Err(BearerError::new(
            BearerErrorCode::InvalidRequest,
            "malformed Authorization header",
        ))
    }
}

/// A token whose compact form and payload JSON are valid; nothing about it is trusted yet.
#[derive(Debug, Clone)]
pub struct UntrustedToken<'a> {
    jws: CompactJws<'a>,
    claims: Map<String, Value>,
}

fn jws_error(e: JwsError) -> BearerError {
    let description = match e {
        JwsError::TooLarge => "token too large",
        JwsError::NotCompact => "token is not a compact JWS",
        JwsError::Encoding(_) => "token is not canonical base64url",
        JwsError::Header(_) => "token header is not a valid JSON object",
        JwsError::MissingAlg => "token header has no alg",
        JwsError::UnsupportedAlg(_) => "token alg is not supported",
        JwsError::Critical => "token has an unsupported critical header",
        JwsError::UnencodedPayload => "token has an unencoded payload",
        JwsError::NestedJwt => "nested tokens are not supported",
        JwsError::HeaderMember(_) => "token header member has the wrong type",
    };
    BearerError::invalid_token(description)
}

impl<'a> UntrustedToken<'a> {
    /// Parses a token: strict compact JWS and a strict JSON object payload.
    pub fn parse(token: &'a str, max_bytes: usize) -> Result<Self, BearerError> {
        let jws = jws::parse_compact(token, max_bytes).map_err(jws_error)?;
        let claims =
            json::parse_object_within(&jws.payload, crate::limits::MAX_ACCESS_TOKEN_JSON_VALUES)
                .map_err(|_| {
                    BearerError::invalid_token("token payload is not a valid JSON object")
                })?;
        Ok(UntrustedToken { jws, claims })
    }

    /// The header `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.jws.header.kid.as_deref()
    }

    /// The header `alg`.
    pub fn alg(&self) -> Algorithm {
        self.jws.header.alg
    }

    /// The unverified claims (for debugging tools; never for decisions).
    pub fn unverified_claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}

/// A parsed token with its key chosen, waiting for the signature verdict.
#[derive(Debug)]
pub struct PendingVerification<'a> {
    token: UntrustedToken<'a>,
    check_alg: Algorithm,
    key: &'a crate::jwk::Jwk,
    policy: &'a VerifierPolicy,
}

/// Parses `token` and chooses its key from `keys` under `policy`.
pub fn begin<'a>(
    token: &'a str,
    policy: &'a VerifierPolicy,
    keys: &'a JwkSet,
) -> Result<PendingVerification<'a>, BearerError> {
    let token = UntrustedToken::parse(token, policy.max_token_bytes)?;
    let alg = token.alg();
    // RFC 8725 §3.1: the algorithm must be one the resource server accepts and the one bound
    // to the key found by kid.
    let key = jws::choose_key(&token.jws, keys, &policy.algorithms).map_err(|e| match e {
        KeyChoiceError::AlgorithmNotAllowed => {
            BearerError::invalid_token("token alg is not allowed")
        }
        KeyChoiceError::Lookup(KeyLookupError::UnknownKid) => BearerError {
            unknown_kid: true,
            ..BearerError::invalid_token("token kid is unknown")
        },
        KeyChoiceError::Lookup(KeyLookupError::AlgorithmNotAllowed) => {
            BearerError::invalid_token("token alg does not match the key")
        }
        KeyChoiceError::Lookup(KeyLookupError::AmbiguousKey) => {
            BearerError::invalid_token("token has no kid and several keys match")
        }
        KeyChoiceError::Lookup(KeyLookupError::NoKey) => {
            BearerError::invalid_token("no key for the token alg")
        }
    })?;
    Ok(PendingVerification {
        token,
        check_alg: alg,
        key,
        policy,
    })
}

impl<'a> PendingVerification<'a> {
    /// What the host must verify if it checks signatures itself.
    pub fn signature_check(&self) -> SignatureCheck<'_> {
        SignatureCheck {
            alg: self.check_alg,
            key: self.key,
            signing_input: self.token.jws.signing_input.as_bytes(),
            signature: &self.token.jws.signature,
        }
    }

    /// The unverified token.
    pub fn token(&self) -> &UntrustedToken<'a> {
        &self.token
    }

    /// Verifies the signature with the built-in primitives, then finishes.
    pub fn finish_builtin(self, now: u64) -> Result<VerifiedAccessToken, BearerError> {
        let valid = self.signature_check().verify_builtin();
        self.finish(valid, now)
    }

    /// Detaches the pending verification from the token text, the policy and the key set, for
    /// hosts that verify the signature asynchronously and cannot hold these borrows across the
    /// wait (the npm package). The claims are checked here, at `now`, and their outcome is kept;
    /// [`DetachedVerification::finish`] answers it only after a valid signature, so the
    /// verdict is exactly [`PendingVerification::finish`]'s at `now`: a bad signature is
    /// refused as such, whatever the claims say.
    pub fn detach(mut self, now: u64) -> DetachedVerification {
        let alg = self.check_alg;
        let signing_input = String::from(self.token.jws.signing_input);
        // Moved out, not copied: the claim checks below read the claims parsed at `begin`.
        let signature = core::mem::take(&mut self.token.jws.signature);
        let payload = core::mem::take(&mut self.token.jws.payload);
        DetachedVerification {
            alg,
            signing_input,
            signature,
            payload,
            outcome: self.finish(true, now),
        }
    }

    /// Finishes with the host's signature verdict: refuses a bad signature, then checks the
    /// claims (RFC 9068 §4, RFC 7519 §7.2).
    pub fn finish(
        self,
        signature_valid: bool,
        now: u64,
    ) -> Result<VerifiedAccessToken, BearerError> {
        if !signature_valid {
            return Err(BearerError::invalid_token("token signature is invalid"));
        }
        let policy = self.policy;
        let claims = self.token.claims;
        // RFC 9068 §4: "Resource servers MUST verify that the typ header value is at+jwt or
        // application/at+jwt and reject tokens carrying any other value" (this also refuses
        // ID tokens and client assertions presented as access tokens, RFC 8725 §3.11).
        if let Some(expected) = &policy.require_typ {
            match &self.token.jws.header.typ {
                Some(typ) if jws::typ_matches(typ, expected) => {}
                _ => return Err(BearerError::invalid_token("token typ is not accepted")),
            }
        }
        // RFC 9068 §4 / RFC 7519 §4.1.1: iss must match exactly.
        match claims::string(&claims, "iss") {
            Ok(Some(iss)) if iss == policy.issuer => {}
            Ok(Some(_)) => return Err(BearerError::invalid_token("token issuer is not accepted")),
            _ => return Err(BearerError::invalid_token("token has no valid iss claim")),
        }
        // RFC 9068 §4 / RFC 7519 §4.1.3: aud must identify this resource server.
        let aud = match claims::audience(&claims) {
            Ok(Some(a)) => a.values(),
            _ => return Err(BearerError::invalid_token("token has no valid aud claim")),
        };
        if !aud.iter().any(|a| policy.audiences.iter().any(|p| p == a)) {
            return Err(BearerError::invalid_token("token audience is not accepted"));
        }
        let times = claims::check_times(
            &claims,
            now,
            policy.clock_skew_seconds,
            policy.max_lifetime,
            false,
        )
        .map_err(|e| BearerError::invalid_token(e.describe()))?;
        let text = |name: &'static str| {
            claims::string(&claims, name)
                .map_err(|_| BearerError::invalid_token("token claim has the wrong type"))
        };
        let sub = text("sub")?;
        let jti = text("jti")?;
        let client_id = text("client_id")?;
        let scopes = scopes_of(&claims, &policy.scope_claims)?;
        Ok(VerifiedAccessToken {
            issuer: policy.issuer.clone(),
            subject: sub,
            audience: aud,
            expires_at: times.exp,
            issued_at: times.iat,
            not_before: times.nbf,
            jti,
            client_id,
            scopes,
            payload_b64: String::from(self.token.jws.payload_b64),
            claims,
        })
    }
}

/// A [`PendingVerification`] without its borrows: what the host verifies, and the outcome of
/// the claim checks, released only after a valid signature.
#[derive(Debug, Clone)]
pub struct DetachedVerification {
    alg: Algorithm,
    signing_input: String,
    signature: Vec<u8>,
    payload: Vec<u8>,
    outcome: Result<VerifiedAccessToken, BearerError>,
}

impl DetachedVerification {
    /// The algorithm (checked against the key and the allowlist).
    pub fn alg(&self) -> Algorithm {
        self.alg
    }
    /// The bytes that were signed.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }
    /// The signature (for ECDSA, `r || s`, RFC 7518 §3.4).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
    /// The decoded payload, moved out (empty afterwards): the JSON text the claims were parsed
    /// from (strictly: no duplicate members, valid UTF-8), for a host that hands the claims on
    /// as JSON.
    pub fn take_payload(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.payload)
    }
    /// The verdict: a bad signature is refused first, as in [`PendingVerification::finish`].
    pub fn finish(self, signature_valid: bool) -> Result<VerifiedAccessToken, BearerError> {
        if !signature_valid {
            return Err(BearerError::invalid_token("token signature is invalid"));
        }
        self.outcome
    }
}

/// Reads the granted scopes from the first of `scope_claims` the token has (the provider's
/// `scope_claims`): `scope` is a space-delimited string (RFC 9068 §2.2.3); any other claim
/// (`scp`, `permissions` as Auth0's and Mia-Platform's RBAC tokens carry it, ...) a string of
/// the same form or an array of strings. A token with none of them grants no scope; a claim of
/// another type refuses the token (`invalid_token`): it cannot be read as intended.
fn scopes_of(
    claims: &Map<String, Value>,
    scope_claims: &[String],
) -> Result<BTreeSet<String>, BearerError> {
    let mut out = BTreeSet::new();
    let bad = || BearerError::invalid_token("token scope claim has the wrong type");
    let Some((name, value)) = scope_claims
        .iter()
        .find_map(|name| claims.get(name).map(|v| (name, v)))
    else {
        return Ok(out);
    };
    match value {
        Value::String(s) => out.extend(s.split(' ').filter(|t| !t.is_empty()).map(String::from)),
        Value::Array(items) if name != SCOPE_CLAIM => {
            for item in items {
                match item {
                    Value::String(s) => {
                        out.insert(s.clone());
                    }
                    _ => return Err(bad()),
                }
            }
        }
        _ => return Err(bad()),
    }
    Ok(out)
}

/// 403 `insufficient_scope`, `scope=` listing `scopes` (RFC 6750 §3.1).
fn insufficient<S: AsRef<str>>(scopes: &[S], description: &'static str) -> BearerError {
    let mut scope = String::new();
    for s in scopes {
        if !scope.is_empty() {
            scope.push(' ');
        }
        scope.push_str(s.as_ref());
    }
    BearerError::new(BearerErrorCode::InsufficientScope { scope }, description)
}

/// An access token whose signature and claims were verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAccessToken {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: Option<String>,
    /// `aud` values.
    pub audience: Vec<String>,
    /// `exp`.
    pub expires_at: u64,
    /// `iat`.
    pub issued_at: Option<u64>,
    /// `nbf`.
    pub not_before: Option<u64>,
    /// `jti`.
    pub jti: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// Granted scopes (from the first of the provider's `scope_claims` the token has).
    pub scopes: BTreeSet<String>,
    /// The payload as received (base64url), for forwarding upstream.
    pub payload_b64: String,
    /// All claims.
    pub claims: Map<String, Value>,
}

impl VerifiedAccessToken {
    /// RFC 6750 §3.1: every scope in `required` must have been granted, or the answer is 403
    /// `insufficient_scope` with `scope=` listing what the resource needs.
    pub fn require_scopes<S: AsRef<str>>(&self, required: &[S]) -> Result<(), BearerError> {
        if required.iter().all(|s| self.scopes.contains(s.as_ref())) {
            return Ok(());
        }
        Err(insufficient(required, "token lacks a required scope"))
    }

    /// A rule's `requires.claims`: each claim must be a string equal to its value, or an array
    /// holding that string. Otherwise 403 `insufficient_scope`, RFC 6750 §3.1's answer for a
    /// valid token that does not carry the privileges the request needs (a required claim value
    /// is such a privilege; RFC 6750 has no other code for it); `scope=` names the rule's scopes,
    /// if any, as for a missing scope.
    pub fn require_claims<S: AsRef<str>>(
        &self,
        required: &[(String, String)],
        scopes: &[S],
    ) -> Result<(), BearerError> {
        let holds = |name: &str, want: &str| match self.claims.get(name) {
            Some(Value::String(s)) => s == want,
            Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(want)),
            _ => false,
        };
        if required.iter().all(|(name, want)| holds(name, want)) {
            return Ok(());
        }
        Err(insufficient(scopes, "token lacks a required claim value"))
    }

    /// A claim value rendered for a header: strings as-is, numbers and booleans as text, others
    /// as compact JSON. `None` if the claim is absent.
    pub fn claim_as_header(&self, name: &str) -> Option<String> {
        match self.claims.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(alloc::format!("{n}")),
            Value::Bool(b) => Some(alloc::format!("{b}")),
            other => serde_json::to_string(other).ok(),
        }
    }
}

/// One call for hosts that use the built-in signature check: [`begin`] then
/// [`PendingVerification::finish_builtin`].
pub fn verify_access_token(
    token: &str,
    policy: &VerifierPolicy,
    keys: &JwkSet,
    now: u64,
) -> Result<VerifiedAccessToken, BearerError> {
    begin(token, policy, keys)?.finish_builtin(now)
}
