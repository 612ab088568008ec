//! The authorization server (token endpoint, registration).

use super::*;

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
    /// Names of the static `claims` a registering client may set (default: none; a registered
    /// name is never allowed).
    #[serde(default)]
    pub allowed_claims: Vec<String>,
    /// Whether a registered client may disable itself through RFC 7592 (`"disabled": true` in
    /// an update; default false). Only the operator enables a client again.
    #[serde(default)]
    pub clients_may_disable: bool,
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
    /// Static claim names a registering client may set.
    pub allowed_claims: Vec<String>,
    /// Whether a client may disable itself through RFC 7592.
    pub clients_may_disable: bool,
    /// The longest `token_ttl` a client may register (the server's `max_token_ttl`).
    pub max_token_ttl: u64,
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
    /// The longest access token lifetime a client may have through its own `token_ttl`
    /// (default: `token_ttl`, so a client may only shorten it; at most 24 h).
    #[serde(default)]
    pub max_token_ttl: Option<RawDuration>,
    /// A token request must name its audience (`resource`, RFC 8707, or `audience`); default
    /// false, when a request without one gets all of the client's audiences.
    #[serde(default)]
    pub require_audience: bool,
    /// Path of RFC 7662 token introspection (default `/oauth/introspect` under the issuer's
    /// path).
    #[serde(default)]
    pub introspection_path: Option<String>,
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
    /// Largest request body read by the token, registration and client configuration
    /// endpoints, in bytes (default 64 KiB, at most 1 MiB); a longer one is answered 413.
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
    /// Where the Envoy token endpoint records client assertions' `jti`s (default: Envoy shared
    /// data, one Envoy). The npm package takes its stores as objects instead.
    #[serde(default)]
    pub replay_store: Option<RawReplayStore>,
}

/// `replay_store` as written: exactly one of its members.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawReplayStore {
    /// Envoy shared data: every worker of one Envoy (`{}`; the default).
    #[serde(default)]
    pub shared_data: Option<RawSharedData>,
    /// etcd, shared by every Envoy that names the same cluster and prefix.
    #[serde(default)]
    pub etcd: Option<RawEtcd>,
}

/// `replay_store.shared_data`: no settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSharedData {}

/// `replay_store.etcd` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawEtcd {
    /// The Envoy cluster of the etcd members' client URLs (etcd's v3 JSON gateway).
    pub cluster: String,
    /// Prefix of every key written (default `gatepass/replay/`); Envoys that must refuse each
    /// other's replays share it.
    #[serde(default)]
    pub prefix: Option<String>,
    /// How long one call to etcd may take (default 1 s; `"250ms"` or `"2s"`, 10 ms to 10 s).
    #[serde(default)]
    pub timeout: Option<RawDuration>,
    /// `:authority` of the calls (default: the cluster's name).
    #[serde(default)]
    pub authority: Option<String>,
}

/// Where the token endpoint records assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayStoreConfig {
    /// Envoy shared data.
    SharedData,
    /// etcd.
    Etcd(EtcdConfig),
}

/// The typed `replay_store.etcd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdConfig {
    /// Envoy cluster.
    pub cluster: String,
    /// Key prefix.
    pub prefix: String,
    /// Timeout of one call, in milliseconds.
    pub timeout_ms: u64,
    /// `:authority` of the calls.
    pub authority: String,
}

impl ServerConfig {
    /// For a host that takes its stores as objects (the npm package): a configuration that
    /// names an Envoy replay store is refused, naming the field.
    pub fn require_host_stores(&self) -> Result<(), ConfigError> {
        match self.replay_store {
            ReplayStoreConfig::SharedData => Ok(()),
            ReplayStoreConfig::Etcd(_) => Err(ConfigError::new(
                "replay_store",
                "is for the Envoy token endpoint; here the replay store is an object (replayStore)",
            )),
        }
    }
}

/// Default of `replay_store.etcd.prefix`.
pub const DEFAULT_ETCD_PREFIX: &str = "gatepass/replay/";

impl TryFrom<&RawReplayStore> for ReplayStoreConfig {
    type Error = ConfigError;

    fn try_from(raw: &RawReplayStore) -> Result<Self, ConfigError> {
        match (&raw.shared_data, &raw.etcd) {
            (Some(_), None) => Ok(ReplayStoreConfig::SharedData),
            (None, Some(etcd)) => {
                let field = |f: &str| alloc::format!("etcd.{f}");
                let name_like = |v: &str| {
                    !v.is_empty() && v.len() <= 255 && v.bytes().all(|b| b.is_ascii_graphic())
                };
                if !name_like(&etcd.cluster) {
                    return Err(ConfigError::new(
                        field("cluster"),
                        "must name an Envoy cluster (printable ASCII, no spaces)",
                    ));
                }
                let prefix = etcd
                    .prefix
                    .clone()
                    .unwrap_or_else(|| String::from(DEFAULT_ETCD_PREFIX));
                if !name_like(&prefix) {
                    return Err(ConfigError::new(
                        field("prefix"),
                        "must be 1 to 255 printable ASCII characters without spaces",
                    ));
                }
                let timeout_ms = match &etcd.timeout {
                    None => 1000,
                    Some(t) => t.millis(&field("timeout"))?,
                };
                if !(10..=10_000).contains(&timeout_ms) {
                    return Err(ConfigError::new(
                        field("timeout"),
                        "must be between 10ms and 10s",
                    ));
                }
                let authority = etcd
                    .authority
                    .clone()
                    .unwrap_or_else(|| etcd.cluster.clone());
                if !name_like(&authority) {
                    return Err(ConfigError::new(
                        field("authority"),
                        "must be a host[:port] (printable ASCII, no spaces)",
                    ));
                }
                Ok(ReplayStoreConfig::Etcd(EtcdConfig {
                    cluster: etcd.cluster.clone(),
                    prefix,
                    timeout_ms,
                    authority,
                }))
            }
            _ => Err(ConfigError::new(
                "",
                "set exactly one of shared_data or etcd",
            )),
        }
    }
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
    /// Introspection endpoint URL (RFC 7662).
    pub introspection_endpoint: String,
    /// Request path of the introspection endpoint.
    pub introspection_path: String,
    /// Whether a token request must name its audience (`require_audience`).
    pub require_audience: bool,
    /// The longest `token_ttl` a client may have.
    pub max_token_ttl: u64,
    /// How introspection verifies a token ([`crate::introspection`]): this issuer, every
    /// audience it issues tokens for, its signing algorithms, no clock skew.
    pub introspection_policy: VerifierPolicy,
    /// The public half of `signing_keys`, for introspection.
    pub verification_keys: JwkSet,
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
    /// Largest request body the endpoints read (`max_body_bytes`).
    pub max_body_bytes: usize,
    /// Where the Envoy token endpoint records assertions (`replay_store`).
    pub replay_store: ReplayStoreConfig,
}

/// The longest access token lifetime any setting may give: 24 h.
pub const MAX_TOKEN_TTL: u64 = 86_400;

/// A client's own `token_ttl` (already 1 s to 24 h) must be at most the server's
/// `max_token_ttl`: a configured client and an operator's change are refused otherwise (a
/// stored record is cut to it instead, [`ServerConfig::stored_client`]).
pub(super) fn client_token_ttl_within(record: &ClientRecord, max: u64) -> Result<(), ConfigError> {
    match record.token_ttl {
        Some(t) if t > max => Err(ConfigError::new(
            "token_ttl",
            "must be at most the server's max_token_ttl",
        )),
        _ => Ok(()),
    }
}

/// Default of `max_body_bytes`: the token parser's own bound ([`crate::limits::MAX_BODY_BYTES`]).
pub const DEFAULT_MAX_BODY_BYTES: usize = crate::limits::MAX_BODY_BYTES;
/// Largest `max_body_bytes` a configuration may set.
pub const MAX_CONFIGURED_BODY_BYTES: usize = 1024 * 1024;

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
        let introspection_path = check_path(
            "introspection_path",
            raw.introspection_path
                .as_deref()
                .unwrap_or(&alloc::format!("{issuer_path}/oauth/introspect")),
        )?;
        let registration_path = check_path(
            "registration_path",
            raw.registration_path
                .as_deref()
                .unwrap_or(&alloc::format!("{issuer_path}/oauth/register")),
        )?;
        // Every endpoint has its own path: a request goes to one of them.
        let paths = [
            ("path", &token_path),
            ("introspection_path", &introspection_path),
            ("jwks_path", &jwks_path),
            ("metadata_path", &metadata_path),
            ("registration_path", &registration_path),
        ];
        for (i, (field, path)) in paths.iter().enumerate() {
            if let Some((other, _)) = paths.iter().take(i).find(|(_, p)| p == path) {
                return Err(ConfigError::new(
                    *field,
                    alloc::format!("is the same path as {other}"),
                ));
            }
        }
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
        let token_ttl = match &raw.token_ttl {
            Some(d) => d.seconds("token_ttl")?,
            None => 3600,
        };
        if token_ttl == 0 || token_ttl > MAX_TOKEN_TTL {
            return Err(ConfigError::new(
                "token_ttl",
                "must be between 1 s and 24 h",
            ));
        }
        let max_token_ttl = match &raw.max_token_ttl {
            Some(d) => d.seconds("max_token_ttl")?,
            None => token_ttl,
        };
        if max_token_ttl < token_ttl || max_token_ttl > MAX_TOKEN_TTL {
            return Err(ConfigError::new(
                "max_token_ttl",
                "must be between token_ttl and 24 h",
            ));
        }
        let mut clients: Vec<ClientRecord> = Vec::with_capacity(raw.clients.len());
        for (i, c) in raw.clients.into_iter().enumerate() {
            let field = alloc::format!("clients[{i}]");
            let record = c
                .into_record(&raw.default_audiences)
                .map_err(|e| e.within(&field))?;
            client_token_ttl_within(&record, max_token_ttl).map_err(|e| e.within(&field))?;
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
        let max_body_bytes = match raw.max_body_bytes {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_CONFIGURED_BODY_BYTES)
                .ok_or_else(|| {
                    ConfigError::new("max_body_bytes", "must be at most 1048576 (1 MiB)")
                })?,
        };
        assertion.allow_legacy_audience = raw.allow_legacy_assertion_audience;
        assertion.require_explicit_typ = raw.require_explicit_assertion_typ;
        let replay_store = match &raw.replay_store {
            None => ReplayStoreConfig::SharedData,
            Some(r) => ReplayStoreConfig::try_from(r).map_err(|e| e.within("replay_store"))?,
        };
        // Read once: it bounds new registrations and, on or off, the clients already stored.
        let allowed_scopes = match &raw.registration {
            Some(r) => scopes_field("registration.allowed_scope", &r.allowed_scope)?,
            None => Vec::new(),
        };
        let stored_clients = raw.registration.as_ref().map(|_| StoredClientPolicy {
            allowed_scopes: allowed_scopes.iter().cloned().collect(),
            audiences: raw.default_audiences.clone(),
            max_token_ttl,
        });
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
                for (i, name) in r.allowed_claims.iter().enumerate() {
                    if let Some(problem) = crate::claims::claim_name_problem(name) {
                        return Err(ConfigError::new(
                            alloc::format!("registration.allowed_claims[{i}]"),
                            problem,
                        ));
                    }
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
                    allowed_claims: r.allowed_claims.clone(),
                    clients_may_disable: r.clients_may_disable,
                    max_token_ttl,
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
        // Every audience a token of this server can carry: the clients' and the defaults
        // (registered clients' are cut to the defaults).
        let mut issued_audiences = raw.default_audiences.clone();
        for aud in clients.iter().flat_map(|c| c.audiences.iter()) {
            if !issued_audiences.contains(aud) {
                issued_audiences.push(aud.clone());
            }
        }
        let mut introspection_policy = VerifierPolicy::new(issuer.clone(), issued_audiences);
        introspection_policy.algorithms = signing_keys.keys().iter().map(|k| k.alg).collect();
        introspection_policy.clock_skew_seconds = 0;
        introspection_policy.max_lifetime = Some(MAX_TOKEN_TTL);
        let verification_keys = signing_keys.verification_set();
        Ok(ServerConfig {
            introspection_policy,
            verification_keys,
            jwks_uri: alloc::format!("{origin}{jwks_path}"),
            registration_endpoint: registration
                .as_ref()
                .map(|_| alloc::format!("{origin}{registration_path}")),
            introspection_endpoint: alloc::format!("{origin}{introspection_path}"),
            introspection_path,
            require_audience: raw.require_audience,
            max_token_ttl,
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
            max_body_bytes,
            replay_store,
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
}
