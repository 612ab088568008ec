//! Configuration, checked once.
//!
//! Raw structs mirror the JSON a user writes (`deny_unknown_fields`, so a misspelt field is an
//! error rather than a silently ignored default); `TryFrom` turns them into typed values at
//! load time, and every error names the field (`clients[2].jwks: ...`). Names follow Envoy's
//! `jwt_authn` where the concept is the same (`issuer`, `audiences`, `local_jwks`,
//! `remote_jwks`, `from_headers`, `forward`, `forward_payload_header`, `claim_to_headers`,
//! `clock_skew_seconds`, `max_lifetime`).

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::client_auth::{self, AssertionPolicy, AuthMethod, ClientCredential, ClientRecord};
use crate::crypto::Algorithm;
use crate::error::ConfigError;
use crate::grant::CLIENT_CREDENTIALS;
use crate::json::StrictValue;
use crate::jwk::{JwkSet, SetStrictness, SigningJwk};
use crate::mint::{MintSettings, SigningKeySet};
use crate::request::parse_scope;
use crate::secret::SecretHash;
use crate::verify::{VerifierPolicy, ACCESS_TOKEN_TYP};

/// A duration: integer seconds, or a string of seconds with an `s` suffix (`"300s"`, the
/// protobuf JSON form Envoy configs use).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RawDuration {
    /// Seconds.
    Seconds(u64),
    /// `"<seconds>s"`.
    Text(String),
}

impl RawDuration {
    fn seconds(&self, field: &str) -> Result<u64, ConfigError> {
        match self {
            RawDuration::Seconds(s) => Ok(*s),
            RawDuration::Text(t) => t
                .strip_suffix('s')
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| {
                    ConfigError::new(field, "must be a number of seconds like \"300s\"")
                }),
        }
    }
}

fn parse_json<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, ConfigError> {
    // The error carries the path of the field (`clients[3].client_secrt`) and serde_json's
    // message names an unknown or missing field and its position.
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        ConfigError::new(field, e.inner().to_string())
    })?;
    de.end().map_err(|e| ConfigError::new("", e.to_string()))?;
    Ok(value)
}

fn require_url(field: &str, value: &str) -> Result<(), ConfigError> {
    let (origin, _) = split_origin(value);
    let loopback = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|host| {
            origin == *host
                || origin
                    .strip_prefix(host)
                    .is_some_and(|rest| rest.starts_with(':'))
        });
    let ok = (value.starts_with("https://") && origin.len() > "https://".len()) || loopback;
    if !ok || value.contains('#') || value.contains('?') || value.bytes().any(|b| b <= b' ') {
        return Err(ConfigError::new(
            field,
            "must be an https URL without query or fragment (http only for loopback)",
        ));
    }
    Ok(())
}

/// `scheme://authority` and the path of an issuer URL.
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url.get(after_scheme..).and_then(|rest| rest.find('/')) {
        Some(slash) => url.split_at(after_scheme + slash),
        None => (url, ""),
    }
}

fn parse_algorithms(field: &str, names: &[String]) -> Result<Vec<Algorithm>, ConfigError> {
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let alg = Algorithm::from_name(name).ok_or_else(|| {
            ConfigError::new(
                alloc::format!("{field}[{i}]"),
                alloc::format!("unsupported algorithm \"{name}\""),
            )
        })?;
        out.push(alg);
    }
    Ok(out)
}

/// A client's own key set holds at most [`crate::limits::MAX_CLIENT_KEYS`] keys, counted
/// before any key is parsed.
pub(crate) fn check_client_key_count(set: &Map<String, Value>) -> Result<(), String> {
    match set.get("keys") {
        Some(Value::Array(items)) if items.len() > crate::limits::MAX_CLIENT_KEYS => Err(
            alloc::format!("holds more than {} keys", crate::limits::MAX_CLIENT_KEYS),
        ),
        _ => Ok(()),
    }
}

fn scopes_field(field: &str, text: &Option<String>) -> Result<Vec<String>, ConfigError> {
    match text {
        None => Ok(Vec::new()),
        Some(t) if t.is_empty() => Ok(Vec::new()),
        Some(t) => parse_scope(t).ok_or_else(|| {
            ConfigError::new(
                field,
                "must be space-separated scope tokens (RFC 6749 §3.3)",
            )
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

/// A client as written in configuration or stored by a client store.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret_basic` (default), `client_secret_post`, `client_secret_jwt` or
    /// `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// `sha256:<base64url>` of the secret (basic and post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<String>,
    /// The secret itself, only for `client_secret_jwt` (it is the HMAC key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The client's public keys, only for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// The only assertion algorithm accepted, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg: Option<String>,
    /// Grant types (default `["client_credentials"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Allowed scopes, space-separated (RFC 7591 `scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Allowed audiences (RFC 8707 resources); default: the server's `default_audiences`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// Secret expiry (Unix seconds, 0 = never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    /// Registration time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_issued_at: Option<u64>,
    /// `sha256:<base64url>` of the RFC 7592 registration access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_access_token_hash: Option<String>,
    /// Informational metadata (`client_name`, `contacts`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// The issuer of the server that registered this client (stored records; a configured
    /// client may name its server's issuer, nothing else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

impl RawClient {
    /// Converts to a typed record; `default_audiences` fill in a missing `audiences`.
    pub fn into_record(self, default_audiences: &[String]) -> Result<ClientRecord, ConfigError> {
        let method_name = self
            .token_endpoint_auth_method
            .as_deref()
            .unwrap_or("client_secret_basic");
        let auth_method = AuthMethod::from_name(method_name).ok_or_else(|| {
            ConfigError::new(
                "token_endpoint_auth_method",
                alloc::format!("\"{method_name}\" is not one of client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt"),
            )
        })?;
        if !crate::limits::is_client_id(&self.client_id) {
            return Err(ConfigError::new(
                "client_id",
                "must be 1 to 255 visible ASCII characters (RFC 6749 Appendix A.1)",
            ));
        }
        let refuse = |field: &str| {
            Err(ConfigError::new(
                field,
                alloc::format!("is not used with {method_name}"),
            ))
        };
        let credential = match auth_method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                if self.client_secret.is_some() {
                    return Err(ConfigError::new(
                        "client_secret",
                        "store only client_secret_hash for this method (sha256:...)",
                    ));
                }
                if self.jwks.is_some() {
                    return refuse("jwks");
                }
                let stored = self.client_secret_hash.as_deref().ok_or_else(|| {
                    ConfigError::new("client_secret_hash", "is required for this method")
                })?;
                ClientCredential::SecretHash(SecretHash::parse(stored).ok_or_else(|| {
                    ConfigError::new(
                        "client_secret_hash",
                        "must be sha256:<base64url of 32 bytes>",
                    )
                })?)
            }
            AuthMethod::ClientSecretJwt => {
                if self.client_secret_hash.is_some() {
                    return refuse("client_secret_hash");
                }
                if self.jwks.is_some() {
                    return refuse("jwks");
                }
                let secret = self.client_secret.clone().ok_or_else(|| {
                    ConfigError::new(
                        "client_secret",
                        "is required for client_secret_jwt (it is the HMAC key)",
                    )
                })?;
                let min = self
                    .token_endpoint_auth_signing_alg
                    .as_deref()
                    .and_then(Algorithm::from_name)
                    .filter(|a| a.is_symmetric())
                    .map_or(32, Algorithm::min_hmac_key_len);
                if secret.len() < min {
                    return Err(ConfigError::new(
                        "client_secret",
                        alloc::format!(
                            "must be at least {min} bytes for its HMAC algorithm (RFC 7518 §3.2)"
                        ),
                    ));
                }
                ClientCredential::Secret(Zeroizing::new(secret))
            }
            AuthMethod::PrivateKeyJwt => {
                if self.client_secret_hash.is_some() {
                    return refuse("client_secret_hash");
                }
                if self.client_secret.is_some() {
                    return refuse("client_secret");
                }
                let jwks = self
                    .jwks
                    .as_ref()
                    .ok_or_else(|| ConfigError::new("jwks", "is required for private_key_jwt"))?;
                let Value::Object(map) = jwks else {
                    return Err(ConfigError::new("jwks", "must be a JWK set object"));
                };
                check_client_key_count(map).map_err(|e| ConfigError::new("jwks", e))?;
                let set = JwkSet::from_map(map, SetStrictness::Strict, false)
                    .map_err(|e| ConfigError::from(e).within("jwks"))?;
                ClientCredential::Jwks(set)
            }
        };
        let signing_alg = match &self.token_endpoint_auth_signing_alg {
            None => None,
            Some(name) => {
                let alg = Algorithm::from_name(name).ok_or_else(|| {
                    ConfigError::new("token_endpoint_auth_signing_alg", "unsupported algorithm")
                })?;
                let symmetric_method = auth_method == AuthMethod::ClientSecretJwt;
                // The pinned algorithm must be usable with at least one registered key.
                let usable = match &credential {
                    ClientCredential::Jwks(set) => set.keys.iter().any(|k| k.allows(alg)),
                    _ => true,
                };
                if alg.is_symmetric() != symmetric_method
                    || !usable
                    || matches!(
                        auth_method,
                        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
                    )
                {
                    return Err(ConfigError::new(
                        "token_endpoint_auth_signing_alg",
                        alloc::format!("{name} does not fit {method_name}"),
                    ));
                }
                Some(alg)
            }
        };
        let grant_types = self
            .grant_types
            .clone()
            .unwrap_or_else(|| alloc::vec![String::from(CLIENT_CREDENTIALS)]);
        if let Some(bad) = grant_types.iter().find(|g| *g != CLIENT_CREDENTIALS) {
            return Err(ConfigError::new(
                "grant_types",
                alloc::format!("\"{bad}\" is not supported (only client_credentials)"),
            ));
        }
        let scopes = scopes_field("scope", &self.scope)?;
        let audiences = self
            .audiences
            .clone()
            .unwrap_or_else(|| default_audiences.to_vec());
        for (i, aud) in audiences.iter().enumerate() {
            if !crate::request::is_valid_resource(aud) {
                return Err(ConfigError::new(
                    alloc::format!("audiences[{i}]"),
                    "must be an absolute URI (RFC 8707 §2)",
                ));
            }
        }
        // RFC 9068 §2.2: every access token has an aud; a client without one could never get
        // a token, so refuse it now rather than at the first request.
        if audiences.is_empty() {
            return Err(ConfigError::new(
                "audiences",
                "the client has no audience (set audiences, or default_audiences on the server)",
            ));
        }
        let registration_access_token_hash = match &self.registration_access_token_hash {
            None => None,
            Some(s) => Some(SecretHash::parse(s).ok_or_else(|| {
                ConfigError::new(
                    "registration_access_token_hash",
                    "must be sha256:<base64url of 32 bytes>",
                )
            })?),
        };
        Ok(ClientRecord {
            client_id: self.client_id,
            auth_method,
            credential,
            signing_alg,
            grant_types,
            scopes,
            audiences,
            secret_expires_at: self.client_secret_expires_at,
            client_id_issued_at: self.client_id_issued_at,
            registration_access_token_hash,
            metadata: self.metadata.unwrap_or_default(),
            issuer: self.issuer,
        })
    }

    /// Parses and converts a stored client record (JSON).
    pub fn record_from_json(
        text: &str,
        default_audiences: &[String],
    ) -> Result<ClientRecord, ConfigError> {
        let raw: RawClient = parse_json(text)?;
        raw.into_record(default_audiences)
    }
}

impl ClientRecord {
    /// The stored form (what a client store keeps), from which [`RawClient::into_record`]
    /// rebuilds the record.
    pub fn to_raw(&self) -> RawClient {
        let (client_secret_hash, client_secret, jwks) = match &self.credential {
            ClientCredential::SecretHash(h) => (Some(h.to_stored()), None, None),
            ClientCredential::Secret(s) => (None, Some(String::from(s.as_str())), None),
            ClientCredential::Jwks(set) => (None, None, Some(set.to_public_json())),
        };
        RawClient {
            client_id: self.client_id.clone(),
            token_endpoint_auth_method: Some(self.auth_method.name().into()),
            client_secret_hash,
            client_secret,
            jwks,
            token_endpoint_auth_signing_alg: self.signing_alg.map(|a| a.name().into()),
            grant_types: Some(self.grant_types.clone()),
            scope: Some(self.scopes.join(" ")),
            audiences: Some(self.audiences.clone()),
            client_secret_expires_at: self.secret_expires_at,
            client_id_issued_at: self.client_id_issued_at,
            registration_access_token_hash: self
                .registration_access_token_hash
                .as_ref()
                .map(SecretHash::to_stored),
            metadata: if self.metadata.is_empty() {
                None
            } else {
                Some(self.metadata.clone())
            },
            issuer: self.issuer.clone(),
        }
    }

    /// The stored form as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_raw()).unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// Authorization server

/// Dynamic registration settings (RFC 7591).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegistration {
    /// Whether `POST {registration_path}` is served (default true when this section exists).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `sha256:` hash of the initial access token required to register (RFC 7591 §3); without
    /// it registration is open.
    #[serde(default)]
    pub initial_access_token_hash: Option<String>,
    /// Scopes a registering client may ask for (space-separated).
    #[serde(default)]
    pub allowed_scope: Option<String>,
    /// Scopes given when the client asks for none (space-separated; default: none).
    #[serde(default)]
    pub default_scope: Option<String>,
    /// Lifetime of issued client secrets (default: they do not expire).
    #[serde(default)]
    pub client_secret_ttl: Option<RawDuration>,
    /// Serve registration without an initial access token: anyone who can reach the endpoint
    /// may register clients (within `allowed_scope`). Must be set, and only then, when
    /// `initial_access_token_hash` is absent.
    #[serde(default)]
    pub open_registration: bool,
}

/// Typed registration settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationPolicy {
    /// Required initial access token, if any.
    pub initial_access_token: Option<SecretHash>,
    /// Scopes a client may register for.
    pub allowed_scopes: Vec<String>,
    /// Scopes given when none are asked for.
    pub default_scopes: Vec<String>,
    /// Audiences every registered client gets.
    pub audiences: Vec<String>,
    /// Secret lifetime in seconds.
    pub client_secret_ttl: Option<u64>,
}

/// What clients loaded from a client store may hold today: registration's current
/// `allowed_scope` and audiences. A stored record is cut down to them at every load, so
/// narrowing the policy narrows existing clients too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClientPolicy {
    /// Scopes a stored client may keep.
    pub allowed_scopes: BTreeSet<String>,
    /// Audiences a stored client may keep.
    pub audiences: Vec<String>,
}

/// The authorization server (token endpoint) configuration, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawServerConfig {
    /// The issuer identifier (RFC 8414 §2): an https URL without query or fragment.
    pub issuer: String,
    /// Private JWKs that sign access tokens.
    pub signing_keys: Vec<Value>,
    /// `kid` of the key that signs (default: the first); the others are published only.
    #[serde(default)]
    pub active_kid: Option<String>,
    /// Statically configured clients.
    #[serde(default)]
    pub clients: Vec<RawClient>,
    /// Audiences for clients that configure none.
    #[serde(default)]
    pub default_audiences: Vec<String>,
    /// Access token lifetime (default 3600 s).
    #[serde(default)]
    pub token_ttl: Option<RawDuration>,
    /// Path of the token endpoint (default `/oauth/token` under the issuer's path).
    #[serde(default)]
    pub path: Option<String>,
    /// Path of the JWKS (default `/.well-known/jwks.json` under the issuer's path).
    #[serde(default)]
    pub jwks_path: Option<String>,
    /// Path of the RFC 8414 metadata (default `/.well-known/oauth-authorization-server`
    /// followed by the issuer's path, RFC 8414 §3.1).
    #[serde(default)]
    pub metadata_path: Option<String>,
    /// Path of client registration (default `/oauth/register` under the issuer's path).
    #[serde(default)]
    pub registration_path: Option<String>,
    /// Dynamic registration; absent means off.
    #[serde(default)]
    pub registration: Option<RawRegistration>,
    /// Longest client assertion lifetime, `exp - iat` (default and maximum 3600 s).
    #[serde(default)]
    pub assertion_max_lifetime: Option<RawDuration>,
    /// Clock skew for assertions (default 60 s).
    #[serde(default)]
    pub clock_skew_seconds: Option<u64>,
    /// Accept the token endpoint URL or arrays as assertion `aud` (legacy RFC 7523 reading).
    #[serde(default)]
    pub allow_legacy_assertion_audience: bool,
    /// Accept only assertions typed `client-authentication+jwt` (draft-ietf-oauth-rfc7523bis
    /// §4); by default `typ` may also be absent or `JWT`.
    #[serde(default)]
    pub require_explicit_assertion_typ: bool,
}

/// The typed authorization server configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Issuer identifier.
    pub issuer: String,
    /// Token endpoint URL.
    pub token_endpoint: String,
    /// JWKS URL.
    pub jwks_uri: String,
    /// Registration endpoint URL, when registration is on.
    pub registration_endpoint: Option<String>,
    /// Request path of the token endpoint.
    pub token_path: String,
    /// Request path of the JWKS.
    pub jwks_path: String,
    /// Request path of the metadata.
    pub metadata_path: String,
    /// Request path of registration (and the prefix of RFC 7592 client URIs).
    pub registration_path: String,
    /// Signing keys.
    pub signing_keys: SigningKeySet,
    /// Static clients.
    pub clients: Vec<ClientRecord>,
    /// Audiences for clients without their own.
    pub default_audiences: Vec<String>,
    /// Issuer and token lifetime.
    pub mint: MintSettings,
    /// Client assertion rules.
    pub assertion: AssertionPolicy,
    /// Registration, when on.
    pub registration: Option<RegistrationPolicy>,
    /// Bounds of clients loaded from a client store: present when the configuration has a
    /// `registration` section (on, or `enabled: false` to keep serving registered clients
    /// without registering new ones); without one no stored client loads.
    pub stored_clients: Option<StoredClientPolicy>,
    /// Every scope any client may hold (for metadata).
    pub scopes_supported: Vec<String>,
}

fn check_path(field: &str, path: &str) -> Result<String, ConfigError> {
    if !path.starts_with('/')
        || path.contains('?')
        || path.contains('#')
        || path.bytes().any(|b| b <= b' ')
    {
        return Err(ConfigError::new(
            field,
            "must be an absolute path without query or fragment",
        ));
    }
    Ok(String::from(path))
}

impl TryFrom<RawServerConfig> for ServerConfig {
    type Error = ConfigError;

    fn try_from(raw: RawServerConfig) -> Result<Self, ConfigError> {
        require_url("issuer", &raw.issuer)?;
        let issuer = raw.issuer.trim_end_matches('/').to_string();
        if issuer != raw.issuer {
            return Err(ConfigError::new(
                "issuer",
                "must not end with a slash (RFC 8414 §2: compared as a string)",
            ));
        }
        let (origin, issuer_path) = split_origin(&issuer);
        let token_path = check_path(
            "path",
            raw.path
                .as_deref()
                .unwrap_or(&alloc::format!("{issuer_path}/oauth/token")),
        )?;
        let jwks_path = check_path(
            "jwks_path",
            raw.jwks_path
                .as_deref()
                .unwrap_or(&alloc::format!("{issuer_path}/.well-known/jwks.json")),
        )?;
        let metadata_path = check_path(
            "metadata_path",
            raw.metadata_path.as_deref().unwrap_or(&alloc::format!(
                "/.well-known/oauth-authorization-server{issuer_path}"
            )),
        )?;
        let registration_path = check_path(
            "registration_path",
            raw.registration_path
                .as_deref()
                .unwrap_or(&alloc::format!("{issuer_path}/oauth/register")),
        )?;
        let mut keys = Vec::with_capacity(raw.signing_keys.len());
        for (i, value) in raw.signing_keys.iter().enumerate() {
            let Value::Object(map) = value else {
                return Err(ConfigError::new(
                    alloc::format!("signing_keys[{i}]"),
                    "must be a JWK object",
                ));
            };
            let key = SigningJwk::from_map(map)
                .map_err(|e| ConfigError::from(e).within(&alloc::format!("signing_keys[{i}]")))?;
            keys.push(key);
        }
        let signing_keys = SigningKeySet::new(keys, raw.active_kid.as_deref())?;
        for (i, aud) in raw.default_audiences.iter().enumerate() {
            if !crate::request::is_valid_resource(aud) {
                return Err(ConfigError::new(
                    alloc::format!("default_audiences[{i}]"),
                    "must be an absolute URI",
                ));
            }
        }
        let mut clients: Vec<ClientRecord> = Vec::with_capacity(raw.clients.len());
        for (i, c) in raw.clients.into_iter().enumerate() {
            let field = alloc::format!("clients[{i}]");
            let record = c
                .into_record(&raw.default_audiences)
                .map_err(|e| e.within(&field))?;
            if record.issuer.as_deref().is_some_and(|i| i != issuer) {
                return Err(ConfigError::new(
                    alloc::format!("{field}.issuer"),
                    "must be this server's issuer (or absent)",
                ));
            }
            if clients
                .iter()
                .any(|other| other.client_id == record.client_id)
            {
                return Err(ConfigError::new(
                    field,
                    alloc::format!("client_id \"{}\" appears twice", record.client_id),
                ));
            }
            clients.push(record);
        }
        let token_ttl = match &raw.token_ttl {
            Some(d) => d.seconds("token_ttl")?,
            None => 3600,
        };
        if token_ttl == 0 || token_ttl > 86_400 {
            return Err(ConfigError::new(
                "token_ttl",
                "must be between 1 s and 24 h",
            ));
        }
        let token_endpoint = alloc::format!("{origin}{token_path}");
        let mut assertion = AssertionPolicy::new(issuer.clone(), token_endpoint.clone());
        if let Some(d) = &raw.assertion_max_lifetime {
            assertion.max_lifetime = d.seconds("assertion_max_lifetime")?;
            if assertion.max_lifetime == 0
                || assertion.max_lifetime > client_auth::DEFAULT_ASSERTION_MAX_LIFETIME
            {
                return Err(ConfigError::new(
                    "assertion_max_lifetime",
                    "must be between 1 s and 1 h",
                ));
            }
        }
        if let Some(skew) = raw.clock_skew_seconds {
            if skew > 600 {
                return Err(ConfigError::new(
                    "clock_skew_seconds",
                    "must be at most 600",
                ));
            }
            assertion.clock_skew_seconds = skew;
        }
        assertion.allow_legacy_audience = raw.allow_legacy_assertion_audience;
        assertion.require_explicit_typ = raw.require_explicit_assertion_typ;
        let stored_clients = match &raw.registration {
            Some(r) => Some(StoredClientPolicy {
                allowed_scopes: scopes_field("registration.allowed_scope", &r.allowed_scope)?
                    .into_iter()
                    .collect(),
                audiences: raw.default_audiences.clone(),
            }),
            None => None,
        };
        let registration = match raw.registration {
            Some(r) if r.enabled != Some(false) => {
                // RFC 7591 §3: registration MAY be open; here only when the operator says so.
                match (&r.initial_access_token_hash, r.open_registration) {
                    (None, false) => {
                        return Err(ConfigError::new(
                            "registration.open_registration",
                            "must be true to serve registration without initial_access_token_hash (anyone could register clients)",
                        ))
                    }
                    (Some(_), true) => {
                        return Err(ConfigError::new(
                            "registration.open_registration",
                            "cannot be true with initial_access_token_hash",
                        ))
                    }
                    _ => {}
                }
                let initial_access_token = match &r.initial_access_token_hash {
                    None => None,
                    Some(s) => Some(SecretHash::parse(s).ok_or_else(|| {
                        ConfigError::new(
                            "registration.initial_access_token_hash",
                            "must be sha256:<base64url of 32 bytes>",
                        )
                    })?),
                };
                let allowed_scopes = scopes_field("registration.allowed_scope", &r.allowed_scope)?;
                let default_scopes = scopes_field("registration.default_scope", &r.default_scope)?;
                if let Some(bad) = default_scopes.iter().find(|s| !allowed_scopes.contains(s)) {
                    return Err(ConfigError::new(
                        "registration.default_scope",
                        alloc::format!("\"{bad}\" is not in allowed_scope"),
                    ));
                }
                if raw.default_audiences.is_empty() {
                    return Err(ConfigError::new("default_audiences", "is required when registration is on (registered clients get these audiences)"));
                }
                let client_secret_ttl = match &r.client_secret_ttl {
                    Some(d) => Some(d.seconds("registration.client_secret_ttl")?),
                    None => None,
                };
                Some(RegistrationPolicy {
                    initial_access_token,
                    allowed_scopes,
                    default_scopes,
                    audiences: raw.default_audiences.clone(),
                    client_secret_ttl,
                })
            }
            _ => None,
        };
        let mut scopes_supported: Vec<String> = Vec::new();
        let registered = registration.iter().flat_map(|r| r.allowed_scopes.iter());
        for s in clients
            .iter()
            .flat_map(|c| c.scopes.iter())
            .chain(registered)
        {
            if !scopes_supported.contains(s) {
                scopes_supported.push(s.clone());
            }
        }
        Ok(ServerConfig {
            jwks_uri: alloc::format!("{origin}{jwks_path}"),
            registration_endpoint: registration
                .as_ref()
                .map(|_| alloc::format!("{origin}{registration_path}")),
            token_endpoint,
            issuer: issuer.clone(),
            token_path,
            jwks_path,
            metadata_path,
            registration_path,
            signing_keys,
            clients,
            default_audiences: raw.default_audiences,
            mint: MintSettings { issuer, token_ttl },
            assertion,
            registration,
            stored_clients,
            scopes_supported,
        })
    }
}

impl ServerConfig {
    /// Parses and checks a JSON configuration.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        Self::try_from(parse_json::<RawServerConfig>(text)?)
    }

    /// A statically configured client.
    pub fn client(&self, client_id: &str) -> Option<&ClientRecord> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// A client record read from a client store (the JSON [`ClientRecord::to_json`] wrote),
    /// as this server may use it today: refused unless this issuer registered it (a store
    /// shared by two servers does not lend one's clients to the other), and its scopes and
    /// audiences cut to the current [`StoredClientPolicy`]. `None` for a record that is
    /// malformed, another issuer's, left without an audience, or when the configuration has
    /// no `registration` section: the host answers as for an unknown client.
    pub fn stored_client(&self, text: &str) -> Option<ClientRecord> {
        let policy = self.stored_clients.as_ref()?;
        let mut record = RawClient::record_from_json(text, &self.default_audiences).ok()?;
        if record.issuer.as_deref() != Some(self.issuer.as_str()) {
            return None;
        }
        record.scopes.retain(|s| policy.allowed_scopes.contains(s));
        record.audiences.retain(|a| policy.audiences.contains(a));
        if record.audiences.is_empty() {
            return None;
        }
        Some(record)
    }
}

// ---------------------------------------------------------------------------------------------
// Resource server (provider)

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

/// Parses untrusted JSON into a value with the strict parser (for hosts that read documents
/// such as a client's registration request).
pub fn strict_value(text: &[u8]) -> Option<Value> {
    serde_json::from_slice::<StrictValue>(text)
        .ok()
        .map(|v| v.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_must_be_https_or_exactly_loopback() {
        for ok in [
            "https://as.example",
            "https://as.example/t1",
            "http://localhost:8080",
            "http://127.0.0.1",
            "http://[::1]:9000/x",
        ] {
            assert!(require_url("issuer", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://as.example",
            "http://localhost.evil.example",
            "https://",
            "https://a.example/?q",
            "https://a.example/#f",
            "ftp://x",
        ] {
            assert!(require_url("issuer", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_accept_seconds_and_the_envoy_string_form() {
        assert_eq!(RawDuration::Seconds(5).seconds("f"), Ok(5));
        assert_eq!(RawDuration::Text("300s".into()).seconds("f"), Ok(300));
        assert_eq!(
            RawDuration::Text("5m".into())
                .seconds("f")
                .unwrap_err()
                .field,
            "f"
        );
    }
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn unknown_fields_are_reported_with_their_path() {
        let doc = r#"{"issuer":"https://as.example","signing_keys":[],"clients":[{"client_id":"a","client_secrt":"x"}]}"#;
        let err = ServerConfig::from_json(doc).unwrap_err();
        assert_eq!(err.field, "clients[0].client_secrt");
        assert!(
            err.message.contains("unknown field `client_secrt`"),
            "{err}"
        );
        let err = Provider::from_json(r#"{"issuer":"x","audiences":["a"],"remote_jwks":{"http_uri":{"uri":"https://x","cluster":"c","timout":"1s"}}}"#).unwrap_err();
        assert_eq!(err.field, "remote_jwks.http_uri.timout");
    }
}

// ---------------------------------------------------------------------------------------------
// The Envoy filter

/// A rule's `match`, with the names and meanings of Envoy's `config.route.v3.RouteMatch`:
/// exactly one of `prefix`, `path` and `path_separated_prefix`, and `case_sensitive`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// Path prefix, a plain string prefix (`/public` also matches `/public-internal`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Exact path (`/admin` does not match `/admin/`).
    #[serde(default)]
    pub path: Option<String>,
    /// The path or anything below it (`/api` matches `/api`, `/api/` and `/api/x`, not
    /// `/apix`); must not end with `/`.
    #[serde(default)]
    pub path_separated_prefix: Option<String>,
    /// Whether the path comparison is case-sensitive (default true; false compares ASCII
    /// letters without case).
    #[serde(default)]
    pub case_sensitive: Option<bool>,
    /// Methods (any when absent).
    #[serde(default)]
    pub methods: Option<Vec<String>>,
}

/// A rule's `requires`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequires {
    /// Provider that must have issued the token.
    pub provider_name: String,
    /// Scopes the token must carry.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A rule's `allow_missing`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllowMissing {
    /// Provider that must have issued a token, if one is present.
    pub provider_name: String,
}

/// A rule as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Which requests.
    #[serde(rename = "match")]
    pub match_: RawMatch,
    /// A valid token with scopes.
    #[serde(default)]
    pub requires: Option<RawRequires>,
    /// A token is optional but checked when present.
    #[serde(default)]
    pub allow_missing: Option<RawAllowMissing>,
}

/// The filter's plugin configuration as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilterConfig {
    /// Token issuers, by name.
    #[serde(default)]
    pub providers: alloc::collections::BTreeMap<String, RawProvider>,
    /// Which requests need which token, first match wins.
    #[serde(default)]
    pub rules: Vec<RawRule>,
    /// `realm` of the `WWW-Authenticate: Bearer` challenge (default `gatepass`).
    #[serde(default)]
    pub realm: Option<String>,
    /// Verified tokens kept per worker (default 1000; 0 disables the cache).
    #[serde(default)]
    pub jwt_cache_size: Option<usize>,
    /// Serve a token endpoint, JWKS and metadata from this Envoy.
    #[serde(default)]
    pub token_endpoint: Option<RawServerConfig>,
}

/// The typed filter configuration.
#[derive(Debug, Clone)]
pub struct FilterConfig {
    /// Providers in name order; rules refer to them by index.
    pub providers: Vec<(String, Provider)>,
    /// Rules.
    pub rules: Vec<crate::rules::Rule>,
    /// Bearer realm.
    pub realm: String,
    /// Cache capacity.
    pub jwt_cache_size: usize,
    /// Token endpoint, if served.
    pub token_endpoint: Option<ServerConfig>,
}

/// A rule's path condition: exactly one of the three Envoy path specifiers, checked as Envoy
/// checks them (`RouteMatch`: `path_separated_prefix` has no `?` or `#` and does not end with
/// `/`), plus what makes a rule unable to ever match here.
fn rule_path(m: &RawMatch) -> Result<crate::rules::PathMatch, ConfigError> {
    use crate::rules::PathMatch;
    let set = [
        ("prefix", &m.prefix),
        ("path", &m.path),
        ("path_separated_prefix", &m.path_separated_prefix),
    ];
    let mut chosen = set.iter().filter_map(|(f, v)| v.as_ref().map(|v| (*f, v)));
    let (field, value) = match (chosen.next(), chosen.next()) {
        (Some(one), None) => one,
        (None, _) => {
            return Err(ConfigError::new(
                "",
                "set one of prefix, path or path_separated_prefix",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "",
                "set only one of prefix, path and path_separated_prefix",
            ))
        }
    };
    if !value.starts_with('/') {
        return Err(ConfigError::new(field, "paths start with /"));
    }
    // The query string and fragment are not part of the path the rules compare, so a rule
    // containing them could never match.
    if value.contains(['?', '#']) {
        return Err(ConfigError::new(
            field,
            "must not contain ? or # (the query string is not part of the path)",
        ));
    }
    // A request whose path has parameters is refused when removing them changes its rule
    // (rules.rs), so a rule that names a parameter could only ever refuse.
    if value.contains(';') || value.to_ascii_lowercase().contains("%3b") {
        return Err(ConfigError::new(
            field,
            "must not contain ; or %3B (path parameters are not matched, RFC 3986 §3.3)",
        ));
    }
    Ok(match field {
        "prefix" => PathMatch::Prefix(value.clone()),
        "path" => PathMatch::Exact(value.clone()),
        _ => {
            // As in Envoy, where the field's pattern is `^[^?#]+[^?#/]$`.
            if value.ends_with('/') {
                return Err(ConfigError::new(
                    field,
                    "must not end with / (/api already matches /api/ and /api/x; for every path use prefix \"/\")",
                ));
            }
            PathMatch::PathSeparatedPrefix(value.clone())
        }
    })
}

impl TryFrom<RawFilterConfig> for FilterConfig {
    type Error = ConfigError;

    fn try_from(raw: RawFilterConfig) -> Result<Self, ConfigError> {
        use crate::rules::{Requirement, Rule};
        let mut providers = Vec::with_capacity(raw.providers.len());
        for (name, p) in raw.providers {
            let field = alloc::format!("providers.{name}");
            providers.push((name, Provider::try_from(p).map_err(|e| e.within(&field))?));
        }
        let index = |field: &str, name: &str| {
            providers
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| {
                    ConfigError::new(field, alloc::format!("no provider named \"{name}\""))
                })
        };
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (i, r) in raw.rules.iter().enumerate() {
            let at = |f: &str| alloc::format!("rules[{i}].{f}");
            let path = rule_path(&r.match_).map_err(|e| e.within(&at("match")))?;
            let methods: Vec<String> = r
                .match_
                .methods
                .clone()
                .unwrap_or_default()
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .collect();
            let requirement = match (&r.requires, &r.allow_missing) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::new(
                        at("requires"),
                        "set requires or allow_missing, not both",
                    ))
                }
                (Some(req), None) => {
                    for (j, s) in req.scopes.iter().enumerate() {
                        if parse_scope(s).is_none_or(|v| v.len() != 1) {
                            return Err(ConfigError::new(
                                alloc::format!("rules[{i}].requires.scopes[{j}]"),
                                "must be one scope token (RFC 6749 §3.3)",
                            ));
                        }
                    }
                    Requirement::Token {
                        provider: index(&at("requires.provider_name"), &req.provider_name)?,
                        scopes: req.scopes.clone(),
                    }
                }
                (None, Some(allow)) => Requirement::AllowMissing {
                    provider: index(&at("allow_missing.provider_name"), &allow.provider_name)?,
                },
                (None, None) => Requirement::None,
            };
            rules.push(Rule {
                path,
                case_sensitive: r.match_.case_sensitive.unwrap_or(true),
                methods,
                requirement,
            });
        }
        let realm = raw.realm.unwrap_or_else(|| String::from("gatepass"));
        if realm.is_empty() || realm.contains('"') || realm.contains('\\') {
            return Err(ConfigError::new(
                "realm",
                "must be non-empty without quotes or backslashes",
            ));
        }
        let token_endpoint = match raw.token_endpoint {
            None => None,
            Some(t) => Some(ServerConfig::try_from(t).map_err(|e| e.within("token_endpoint"))?),
        };
        if providers.is_empty() && token_endpoint.is_none() {
            return Err(ConfigError::new(
                "providers",
                "configure at least one provider or a token_endpoint",
            ));
        }
        Ok(FilterConfig {
            providers,
            rules,
            realm,
            jwt_cache_size: raw.jwt_cache_size.unwrap_or(1000),
            token_endpoint,
        })
    }
}

impl FilterConfig {
    /// Parses and checks the plugin configuration (JSON).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        Self::try_from(parse_json::<RawFilterConfig>(text)?)
    }
}

#[cfg(test)]
mod rule_config_tests {
    use super::*;
    use crate::rules::PathMatch;
    use serde_json::json;

    /// A filter configuration with one provider and `rules`.
    fn filter(rules: serde_json::Value) -> Result<FilterConfig, ConfigError> {
        let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "alg": "EdDSA",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]});
        FilterConfig::from_json(
            &json!({
                "providers": {"main": {
                    "issuer": "https://as.example",
                    "audiences": ["https://api.example"],
                    "local_jwks": {"inline_string": jwks.to_string()},
                }},
                "rules": rules,
            })
            .to_string(),
        )
    }

    #[test]
    fn each_envoy_path_specifier_becomes_its_rule() {
        let config = filter(json!([
            {"match": {"prefix": "/public"}},
            {"match": {"path": "/health"}},
            {"match": {"path_separated_prefix": "/orders", "methods": ["put"]},
             "requires": {"provider_name": "main"}},
            {"match": {"path_separated_prefix": "/admin", "case_sensitive": false},
             "requires": {"provider_name": "main"}},
        ]))
        .unwrap();
        let paths: Vec<_> = config
            .rules
            .iter()
            .map(|r| (r.path.clone(), r.case_sensitive))
            .collect();
        assert_eq!(
            paths,
            [
                (PathMatch::Prefix("/public".into()), true),
                (PathMatch::Exact("/health".into()), true),
                (PathMatch::PathSeparatedPrefix("/orders".into()), true),
                (PathMatch::PathSeparatedPrefix("/admin".into()), false),
            ]
        );
        assert_eq!(config.rules[2].methods, ["PUT"]);
    }

    #[test]
    fn bad_rule_matches_are_refused_naming_the_field() {
        for (name, m, field) in [
            (
                "two specifiers",
                json!({"prefix": "/a", "path": "/a"}),
                "rules[0].match",
            ),
            (
                "three specifiers",
                json!({"prefix": "/a", "path": "/a", "path_separated_prefix": "/a"}),
                "rules[0].match",
            ),
            (
                "prefix and path_separated_prefix",
                json!({"prefix": "/a", "path_separated_prefix": "/a"}),
                "rules[0].match",
            ),
            (
                "no specifier",
                json!({"methods": ["GET"]}),
                "rules[0].match",
            ),
            (
                "trailing slash on path_separated_prefix",
                json!({"path_separated_prefix": "/api/"}),
                "rules[0].match.path_separated_prefix",
            ),
            (
                "path_separated_prefix of only /",
                json!({"path_separated_prefix": "/"}),
                "rules[0].match.path_separated_prefix",
            ),
            (
                "relative path",
                json!({"path": "admin"}),
                "rules[0].match.path",
            ),
            (
                "query string in a prefix",
                json!({"prefix": "/a?x"}),
                "rules[0].match.prefix",
            ),
            (
                "fragment in a path_separated_prefix",
                json!({"path_separated_prefix": "/a#x"}),
                "rules[0].match.path_separated_prefix",
            ),
            (
                "path parameter in a path",
                json!({"path": "/admin;x"}),
                "rules[0].match.path",
            ),
            (
                "encoded path parameter in a prefix",
                json!({"prefix": "/admin%3bx"}),
                "rules[0].match.prefix",
            ),
            (
                "case_sensitive not a boolean",
                json!({"prefix": "/a", "case_sensitive": "false"}),
                "rules[0].match.case_sensitive",
            ),
            (
                "unknown field",
                json!({"prefix": "/a", "path_seperated_prefix": "/b"}),
                "rules[0].match.path_seperated_prefix",
            ),
        ] {
            let rules = json!([{"match": m, "requires": {"provider_name": "main"}}]);
            let err = filter(rules)
                .err()
                .unwrap_or_else(|| panic!("{name}: accepted"));
            assert_eq!(err.field, field, "{name}: {err}");
        }
        let err = filter(json!([{"match": {"path_separated_prefix": "/api/"}}])).unwrap_err();
        assert!(err.message.contains("must not end with /"), "{err}");
        let err = filter(json!([{"match": {"prefix": "/a", "path": "/a"}}])).unwrap_err();
        assert!(err.message.contains("only one of"), "{err}");
        let err = filter(json!([{"match": {"prefx": "/a"}}])).unwrap_err();
        assert!(err.message.contains("unknown field `prefx`"), "{err}");
    }
}
