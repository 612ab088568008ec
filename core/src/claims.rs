//! JWT claim helpers shared by access-token verification and client-assertion checks
//! (RFC 7519 §4.1, §7.2).

use alloc::string::String;
use alloc::vec::Vec;
use serde_json::{Map, Value};

/// A claim is present but has the wrong form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimTypeError(pub &'static str);

/// A NumericDate claim (RFC 7519 §2). Only non-negative integers are accepted: fractional and
/// negative times are refused rather than rounded.
pub fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, ClaimTypeError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(ClaimTypeError(name)),
        Some(_) => Err(ClaimTypeError(name)),
    }
}

/// A string claim.
pub fn string(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, ClaimTypeError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ClaimTypeError(name)),
    }
}

/// The `aud` claim: a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// A single string.
    Single(String),
    /// An array of strings.
    Many(Vec<String>),
}

impl Audience {
    /// All values.
    pub fn values(&self) -> Vec<String> {
        match self {
            Audience::Single(s) => alloc::vec![s.clone()],
            Audience::Many(v) => v.clone(),
        }
    }
}

/// Reads `aud`.
pub fn audience(claims: &Map<String, Value>) -> Result<Option<Audience>, ClaimTypeError> {
    match claims.get("aud") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(Audience::Single(s.clone()))),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => out.push(s.clone()),
                    _ => return Err(ClaimTypeError("aud")),
                }
            }
            Ok(Some(Audience::Many(out)))
        }
        Some(_) => Err(ClaimTypeError("aud")),
    }
}

/// The time claims and the rules applied to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeClaims {
    /// `exp`.
    pub exp: u64,
    /// `iat`.
    pub iat: Option<u64>,
    /// `nbf`.
    pub nbf: Option<u64>,
}

/// Why time claims were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// `exp` is missing.
    MissingExp,
    /// A time claim is not a non-negative integer.
    Malformed(&'static str),
    /// `exp` has passed (beyond the skew).
    Expired,
    /// `nbf` is in the future (beyond the skew).
    NotYetValid,
    /// `iat` is in the future (beyond the skew).
    IssuedInFuture,
    /// `exp` - `iat` (or `exp` - now without `iat`) exceeds the maximum lifetime.
    LifetimeTooLong,
    /// `iat` is required by the policy and missing.
    MissingIat,
}

impl TimeError {
    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            TimeError::MissingExp => "exp claim is missing",
            TimeError::Malformed("exp") => "exp claim is not a NumericDate",
            TimeError::Malformed("iat") => "iat claim is not a NumericDate",
            TimeError::Malformed(_) => "nbf claim is not a NumericDate",
            TimeError::Expired => "token has expired",
            TimeError::NotYetValid => "token is not yet valid (nbf)",
            TimeError::IssuedInFuture => "token is issued in the future (iat)",
            TimeError::LifetimeTooLong => "token lifetime exceeds the maximum",
            TimeError::MissingIat => "iat claim is missing",
        }
    }
}

/// Checks `exp` (required; RFC 7519 §4.1.4: now must be before it), `nbf` (§4.1.5), `iat` not in
/// the future, and `exp - iat <= max_lifetime` when a maximum is set (`iat` is then required,
/// unless `lifetime_from_now` allows measuring from `now`).
pub fn check_times(
    claims: &Map<String, Value>,
    now: u64,
    skew: u64,
    max_lifetime: Option<u64>,
    lifetime_from_now: bool,
) -> Result<TimeClaims, TimeError> {
    let exp = numeric_date(claims, "exp")
        .map_err(|e| TimeError::Malformed(e.0))?
        .ok_or(TimeError::MissingExp)?;
    let iat = numeric_date(claims, "iat").map_err(|e| TimeError::Malformed(e.0))?;
    let nbf = numeric_date(claims, "nbf").map_err(|e| TimeError::Malformed(e.0))?;
    if now >= exp.saturating_add(skew) {
        return Err(TimeError::Expired);
    }
    if let Some(nbf) = nbf {
        if now.saturating_add(skew) < nbf {
            return Err(TimeError::NotYetValid);
        }
    }
    if let Some(iat) = iat {
        if iat > now.saturating_add(skew) {
            return Err(TimeError::IssuedInFuture);
        }
    }
    if let Some(max) = max_lifetime {
        let start = match (iat, lifetime_from_now) {
            (Some(iat), _) => iat,
            (None, true) => now,
            (None, false) => return Err(TimeError::MissingIat),
        };
        if exp.saturating_sub(start) > max {
            return Err(TimeError::LifetimeTooLong);
        }
    }
    Ok(TimeClaims { exp, iat, nbf })
}

/// Claim names a client's static `claims` may not set: the claims of this server's access
/// tokens (RFC 9068 §2.2: `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti`, `scope`,
/// `auth_time`, `acr`, `amr`; RFC 7519 §4.1.5 `nbf`), the ones other specifications give a
/// meaning a gateway acts on (RFC 7800 §3.1 `cnf`, RFC 8693 §4.1 and §4.4 `act`, `may_act`,
/// OpenID Connect Core §2 `azp`), and `scp`, the scope claim many gateways read instead of
/// `scope`: a token must not carry a second scope list that disagrees with what was granted.
pub const RESERVED_CLAIMS: [&str; 17] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "client_id",
    "scope",
    "scp",
    "cnf",
    "auth_time",
    "acr",
    "amr",
    "azp",
    "act",
    "may_act",
];

/// Most static claims one client may have.
pub const MAX_EXTRA_CLAIMS: usize = 32;
/// Longest static claims of one client, as JSON.
pub const MAX_EXTRA_CLAIMS_BYTES: usize = 4096;

/// Why a client's static claims are refused: the claim's name and the problem, for an error
/// that names the field (`claims.iss`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraClaimsError {
    /// The claim (`None`: the whole set).
    pub name: Option<String>,
    /// The problem.
    pub problem: &'static str,
}

/// What is wrong with `name` as the name of a static claim, if anything: a registered name
/// ([`RESERVED_CLAIMS`]), or not 1 to 255 bytes without control characters.
pub fn claim_name_problem(name: &str) -> Option<&'static str> {
    if RESERVED_CLAIMS.contains(&name) {
        Some("is a registered claim this server sets or a gateway acts on; it cannot be a static claim")
    } else if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        Some("must be 1 to 255 bytes without control characters")
    } else {
        None
    }
}

/// Checks a client's static `claims`: no registered name ([`RESERVED_CLAIMS`]),
/// names of 1 to 255 bytes without control characters, at most [`MAX_EXTRA_CLAIMS`] claims and
/// [`MAX_EXTRA_CLAIMS_BYTES`] of JSON.
pub fn check_extra_claims(claims: &Map<String, Value>) -> Result<(), ExtraClaimsError> {
    let whole = |problem| ExtraClaimsError {
        name: None,
        problem,
    };
    if claims.len() > MAX_EXTRA_CLAIMS {
        return Err(whole("has more than 32 claims"));
    }
    if let Some((name, problem)) = claims
        .keys()
        .find_map(|n| claim_name_problem(n).map(|p| (n, p)))
    {
        return Err(ExtraClaimsError {
            name: Some(name.clone()),
            problem,
        });
    }
    let size = serde_json::to_string(claims).map_or(usize::MAX, |s| s.len());
    if size > MAX_EXTRA_CLAIMS_BYTES {
        return Err(whole("is longer than 4096 bytes as JSON"));
    }
    Ok(())
}

impl ExtraClaimsError {
    /// The field to name: `claims` or `claims.<name>`.
    pub fn field(&self) -> String {
        match &self.name {
            None => String::from("claims"),
            Some(name) => alloc::format!("claims.{name}"),
        }
    }
}
