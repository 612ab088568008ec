//! A client as configured (`clients[]` of the server configuration). The record a client store
//! keeps for a registered client is its own format, in `stored`.

use super::*;

/// A client as written in configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
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
    /// A configured client may name its server's issuer, nothing else (the member a stored
    /// record carries; accepted here so that such a record can be configured as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// This client's access token lifetime (default: the server's `token_ttl`; at most the
    /// server's `max_token_ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl: Option<RawDuration>,
    /// Static claims added to this client's access tokens (for example a tenant id); never a
    /// registered claim name ([`crate::claims::RESERVED_CLAIMS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    /// A disabled client gets `invalid_client`, as for a wrong secret; its record is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// The client may call the RFC 7662 introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection: Option<bool>,
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
        let token_ttl = match &self.token_ttl {
            None => None,
            Some(d) => Some(d.seconds("token_ttl")?)
                .filter(|t| (1..=MAX_TOKEN_TTL).contains(t))
                .map(Some)
                .ok_or_else(|| ConfigError::new("token_ttl", "must be between 1 s and 24 h"))?,
        };
        let claims = self.claims.unwrap_or_default();
        crate::claims::check_extra_claims(&claims).map_err(|e| {
            let field = e.field();
            ConfigError::new(field, e.problem)
        })?;
        Ok(ClientRecord {
            token_ttl,
            claims,
            disabled: self.disabled.unwrap_or(false),
            introspection: self.introspection.unwrap_or(false),
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
}
