//! A resource server's view of one issuer (a provider) and where its token is read.

use super::*;

/// `local_jwks` as in `jwt_authn`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocalJwks {
    /// The JWKS as a JSON string.
    pub inline_string: String,
}

/// `http_uri` as in Envoy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpUri {
    /// The URL.
    pub uri: String,
    /// The Envoy cluster to call.
    pub cluster: String,
    /// Request timeout (default 5 s).
    #[serde(default)]
    pub timeout: Option<RawDuration>,
}

/// `remote_jwks` as in `jwt_authn`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRemoteJwks {
    /// Where to fetch.
    pub http_uri: RawHttpUri,
    /// How long a fetched set is used before refreshing (default 600 s).
    #[serde(default)]
    pub cache_duration: Option<RawDuration>,
}

/// A header to read the token from (`from_headers` in `jwt_authn`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeaderSource {
    /// Header name.
    pub name: String,
    /// Prefix before the token (e.g. `Bearer `).
    #[serde(default)]
    pub value_prefix: Option<String>,
}

/// `claim_to_headers` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawClaimToHeader {
    /// The header to set.
    pub header_name: String,
    /// The claim to copy.
    pub claim_name: String,
}

/// A token provider (issuer) as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// Exact `iss`.
    pub issuer: String,
    /// Accepted audiences (at least one).
    pub audiences: Vec<String>,
    /// Keys given inline.
    #[serde(default)]
    pub local_jwks: Option<RawLocalJwks>,
    /// Keys fetched from the issuer.
    #[serde(default)]
    pub remote_jwks: Option<RawRemoteJwks>,
    /// Where the token is (default `Authorization: Bearer `).
    #[serde(default)]
    pub from_headers: Option<Vec<RawHeaderSource>>,
    /// Keep the token header when forwarding (default false).
    #[serde(default)]
    pub forward: bool,
    /// Header to carry the base64url payload upstream.
    #[serde(default)]
    pub forward_payload_header: Option<String>,
    /// Claims copied to upstream headers.
    #[serde(default)]
    pub claim_to_headers: Vec<RawClaimToHeader>,
    /// Clock skew (default 60 s).
    #[serde(default)]
    pub clock_skew_seconds: Option<u64>,
    /// Longest accepted `exp - iat`.
    #[serde(default)]
    pub max_lifetime: Option<RawDuration>,
    /// Required `typ` (default `at+jwt`; empty string accepts any).
    #[serde(default)]
    pub require_typ: Option<String>,
    /// Accepted algorithms (default: all asymmetric ones).
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    /// Minimum seconds between JWKS refetches caused by an unknown `kid` (default 30).
    #[serde(default)]
    pub jwks_kid_miss_cooldown: Option<RawDuration>,
    /// The claims that carry the granted scopes, read in order, the first present one only
    /// (default `["scope"]`): for example `["scope", "scp", "permissions"]`.
    #[serde(default)]
    pub scope_claims: Option<Vec<String>>,
}

/// Where a provider's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Inline keys.
    Local(JwkSet),
    /// Fetched keys.
    Remote(RemoteJwks),
}

/// Typed `remote_jwks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteJwks {
    /// URL.
    pub uri: String,
    /// The URL's authority (`host[:port]`), for the `:authority` of the fetch.
    pub authority: String,
    /// The URL's path (with query, if any), for the `:path` of the fetch.
    pub path: String,
    /// Envoy cluster.
    pub cluster: String,
    /// Timeout in milliseconds.
    pub timeout_ms: u64,
    /// Refresh interval in seconds.
    pub cache_duration: u64,
    /// Minimum seconds between unknown-kid refetches.
    pub kid_miss_cooldown: u64,
}

/// Typed token location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderSource {
    /// Lower-case header name.
    pub name: String,
    /// Prefix (compared case-insensitively).
    pub value_prefix: String,
}

impl HeaderSource {
    /// Takes the token out of a header value, or `None` if the prefix does not match.
    pub fn token<'a>(&self, value: &'a str) -> Option<&'a str> {
        let prefix = value.get(..self.value_prefix.len())?;
        if prefix.eq_ignore_ascii_case(&self.value_prefix) {
            value.get(self.value_prefix.len()..)
        } else {
            None
        }
    }
}

/// A typed provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Verification rules.
    pub policy: VerifierPolicy,
    /// Keys.
    pub keys: KeySource,
    /// Token locations.
    pub from_headers: Vec<HeaderSource>,
    /// Keep the token header upstream.
    pub forward: bool,
    /// Payload header.
    pub forward_payload_header: Option<String>,
    /// (header, claim) pairs.
    pub claim_to_headers: Vec<(String, String)>,
}

fn header_name(field: &str, name: &str) -> Result<String, ConfigError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid {
        return Err(ConfigError::new(
            field,
            alloc::format!("\"{name}\" is not a valid header name"),
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// Most claims `scope_claims` may name.
pub const MAX_SCOPE_CLAIMS: usize = 8;

/// `scope_claims`: 1 to [`MAX_SCOPE_CLAIMS`] distinct claim names of 1 to 64 visible ASCII
/// characters.
fn scope_claims(names: &[String]) -> Result<Vec<String>, ConfigError> {
    if names.is_empty() || names.len() > MAX_SCOPE_CLAIMS {
        return Err(ConfigError::new(
            "scope_claims",
            "must name 1 to 8 claims (the first one a token has is read)",
        ));
    }
    for (i, name) in names.iter().enumerate() {
        let field = alloc::format!("scope_claims[{i}]");
        if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(
                field,
                "must be a claim name of 1 to 64 visible ASCII characters",
            ));
        }
        if names[..i].contains(name) {
            return Err(ConfigError::new(field, "is listed twice"));
        }
    }
    Ok(names.to_vec())
}

impl TryFrom<RawProvider> for Provider {
    type Error = ConfigError;

    fn try_from(raw: RawProvider) -> Result<Self, ConfigError> {
        if raw.issuer.is_empty() {
            return Err(ConfigError::new("issuer", "is required"));
        }
        if raw.audiences.is_empty() || raw.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                "audiences",
                "at least one non-empty audience is required (RFC 9068 §4)",
            ));
        }
        let mut policy = VerifierPolicy::new(raw.issuer.clone(), raw.audiences.clone());
        if let Some(names) = &raw.algorithms {
            if names.is_empty() {
                return Err(ConfigError::new("algorithms", "must not be empty"));
            }
            policy.algorithms = parse_algorithms("algorithms", names)?;
        }
        policy.require_typ = match raw.require_typ.as_deref() {
            None => Some(String::from(ACCESS_TOKEN_TYP)),
            Some("") => None,
            Some(t) => Some(String::from(t)),
        };
        if let Some(skew) = raw.clock_skew_seconds {
            if skew > 600 {
                return Err(ConfigError::new(
                    "clock_skew_seconds",
                    "must be at most 600",
                ));
            }
            policy.clock_skew_seconds = skew;
        }
        if let Some(d) = &raw.max_lifetime {
            policy.max_lifetime = Some(d.seconds("max_lifetime")?);
        }
        if let Some(names) = &raw.scope_claims {
            policy.scope_claims = scope_claims(names)?;
        }
        let keys = match (&raw.local_jwks, &raw.remote_jwks) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "local_jwks",
                    "set either local_jwks or remote_jwks, not both",
                ))
            }
            (None, None) => {
                return Err(ConfigError::new(
                    "local_jwks",
                    "one of local_jwks or remote_jwks is required",
                ))
            }
            (Some(local), None) => {
                let allow_oct = policy.algorithms.iter().any(|a| a.is_symmetric());
                let set = JwkSet::from_json(
                    local.inline_string.as_bytes(),
                    SetStrictness::Strict,
                    allow_oct,
                )
                .map_err(|e| ConfigError::from(e).within("local_jwks.inline_string"))?;
                KeySource::Local(set)
            }
            (None, Some(remote)) => {
                require_url("remote_jwks.http_uri.uri", &remote.http_uri.uri)?;
                if remote.http_uri.cluster.is_empty() {
                    return Err(ConfigError::new(
                        "remote_jwks.http_uri.cluster",
                        "is required",
                    ));
                }
                let timeout = match &remote.http_uri.timeout {
                    Some(d) => d.seconds("remote_jwks.http_uri.timeout")?,
                    None => 5,
                };
                let cache_duration = match &remote.cache_duration {
                    Some(d) => d.seconds("remote_jwks.cache_duration")?,
                    None => 600,
                };
                let cooldown = match &raw.jwks_kid_miss_cooldown {
                    Some(d) => d.seconds("jwks_kid_miss_cooldown")?,
                    None => 30,
                };
                let (origin, path) = split_origin(&remote.http_uri.uri);
                let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
                KeySource::Remote(RemoteJwks {
                    authority: String::from(authority),
                    path: String::from(if path.is_empty() { "/" } else { path }),
                    uri: remote.http_uri.uri.clone(),
                    cluster: remote.http_uri.cluster.clone(),
                    timeout_ms: timeout.saturating_mul(1000),
                    cache_duration: cache_duration.max(1),
                    kid_miss_cooldown: cooldown,
                })
            }
        };
        let from_headers = match &raw.from_headers {
            None => alloc::vec![HeaderSource {
                name: "authorization".into(),
                value_prefix: "Bearer ".into(),
            }],
            Some(list) if list.is_empty() => {
                return Err(ConfigError::new("from_headers", "must not be empty"))
            }
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for (i, h) in list.iter().enumerate() {
                    out.push(HeaderSource {
                        name: header_name(&alloc::format!("from_headers[{i}].name"), &h.name)?,
                        value_prefix: h.value_prefix.clone().unwrap_or_default(),
                    });
                }
                out
            }
        };
        let forward_payload_header = match &raw.forward_payload_header {
            None => None,
            Some(h) => Some(header_name("forward_payload_header", h)?),
        };
        let mut claim_to_headers = Vec::with_capacity(raw.claim_to_headers.len());
        for (i, c) in raw.claim_to_headers.iter().enumerate() {
            let header = header_name(
                &alloc::format!("claim_to_headers[{i}].header_name"),
                &c.header_name,
            )?;
            if c.claim_name.is_empty() {
                return Err(ConfigError::new(
                    alloc::format!("claim_to_headers[{i}].claim_name"),
                    "is required",
                ));
            }
            claim_to_headers.push((header, c.claim_name.clone()));
        }
        Ok(Provider {
            policy,
            keys,
            from_headers,
            forward: raw.forward,
            forward_payload_header,
            claim_to_headers,
        })
    }
}

impl Provider {
    /// Parses and checks a JSON provider.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        Self::try_from(parse_json::<RawProvider>(text)?)
    }
}
