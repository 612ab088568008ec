//! Dynamic client registration (RFC 7591) and client configuration management (RFC 7592).
//!
//! Registration validates the client's metadata into a [`ClientRecord`], generates the
//! `client_id`, a 256-bit `client_secret` (methods that use one) and a registration access
//! token from the caller's randomness, keeps only hashes of the secrets the server does not
//! need in plain (the `client_secret_jwt` secret is the HMAC key and is kept), and builds the
//! RFC 7591 §3.2.1 response, the only time the secret is shown.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use rand_core::CryptoRngCore;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::client_auth::{AuthMethod, ClientCredential, ClientRecord};
use crate::config::check_client_key_count;
use crate::config::{RegistrationPolicy, ServerConfig};
use crate::crypto::Algorithm;
use crate::error::{BearerError, RegistrationError, RegistrationErrorCode};
use crate::grant::CLIENT_CREDENTIALS;
use crate::json;
use crate::jwk::{JwkSet, SetStrictness};
use crate::limits::{
    MAX_AUTHORIZATION_BYTES, MAX_BODY_BYTES, MAX_METADATA_ARRAY_ITEMS, MAX_METADATA_TEXT_BYTES,
    MAX_REGISTRATION_JSON_VALUES, MAX_REGISTRATION_MEMBERS, MAX_SCOPE_TOKENS,
};
use crate::request::{parse_requested_scope, ScopeError};
use crate::response::HttpResponse;
use crate::secret::{self, SecretHash};

/// Informational metadata kept as given (strings of at most
/// [`crate::limits::MAX_METADATA_TEXT_BYTES`]), RFC 7591 §2.
pub const TEXT_METADATA: [&str; 7] = [
    "client_name",
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "software_id",
    "software_version",
];

fn metadata_error(field: &str, problem: &str) -> RegistrationError {
    RegistrationError::metadata(alloc::format!("{field}: {problem}"))
}

/// Client metadata after validation, before identifiers and secrets are attached.
struct ValidMetadata {
    auth_method: AuthMethod,
    jwks: Option<JwkSet>,
    signing_alg: Option<Algorithm>,
    scopes: Vec<String>,
    informational: Map<String, Value>,
    token_ttl: Option<u64>,
    /// `claims` as sent (names checked against the registered ones, not yet against
    /// `allowed_claims`: an update may echo the operator's claims back).
    claims: Map<String, Value>,
}

fn validate(
    doc: &Map<String, Value>,
    policy: &RegistrationPolicy,
) -> Result<ValidMetadata, RegistrationError> {
    if doc.contains_key("software_statement") {
        return Err(RegistrationError {
            code: RegistrationErrorCode::InvalidSoftwareStatement,
            description: "software statements are not accepted by this server".into(),
        });
    }
    // Bounds first (see `limits`): the parser already stopped at MAX_JSON_VALUES values;
    // RFC 7591 §2 defines 19 members, and unknown ones are ignored but still counted.
    if doc.len() > MAX_REGISTRATION_MEMBERS {
        return Err(metadata_error(
            "request body",
            &alloc::format!("has more than {MAX_REGISTRATION_MEMBERS} members"),
        ));
    }
    let string = |name: &str, max: usize| -> Result<Option<&str>, RegistrationError> {
        match doc.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.len() <= max => Ok(Some(s.as_str())),
            Some(Value::String(_)) => Err(metadata_error(
                name,
                &alloc::format!("is longer than {max} bytes"),
            )),
            Some(_) => Err(metadata_error(name, "must be a string")),
        }
    };
    let text = |name: &str| string(name, MAX_METADATA_TEXT_BYTES);
    let array = |name: &str| -> Result<Option<&Vec<Value>>, RegistrationError> {
        match doc.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) if items.len() <= MAX_METADATA_ARRAY_ITEMS => Ok(Some(items)),
            Some(Value::Array(_)) => Err(metadata_error(
                name,
                &alloc::format!("has more than {MAX_METADATA_ARRAY_ITEMS} items"),
            )),
            Some(_) => Err(metadata_error(name, "must be an array")),
        }
    };
    // RFC 7591 §2: the default method is client_secret_basic. `none` is a public client, which
    // the client-credentials grant does not allow (RFC 6749 §4.4).
    let method_name = text("token_endpoint_auth_method")?.unwrap_or("client_secret_basic");
    let auth_method = AuthMethod::from_name(method_name).ok_or_else(|| {
        metadata_error(
            "token_endpoint_auth_method",
            "must be client_secret_basic, client_secret_post, client_secret_jwt or private_key_jwt",
        )
    })?;
    if let Some(items) = array("grant_types")? {
        if items.is_empty() || items.iter().any(|g| g.as_str() != Some(CLIENT_CREDENTIALS)) {
            return Err(metadata_error(
                "grant_types",
                "only [\"client_credentials\"] is supported",
            ));
        }
    }
    if !array("response_types")?.is_none_or(Vec::is_empty) {
        return Err(metadata_error(
            "response_types",
            "must be empty: the client-credentials grant uses no authorization endpoint",
        ));
    }
    if !array("redirect_uris")?.is_none_or(Vec::is_empty) {
        return Err(metadata_error(
            "redirect_uris",
            "are not used by the client-credentials grant",
        ));
    }
    if doc.contains_key("jwks_uri") {
        return Err(metadata_error(
            "jwks_uri",
            "is not supported; register the keys with jwks",
        ));
    }
    let jwks = match (doc.get("jwks"), auth_method) {
        (Some(Value::Object(map)), AuthMethod::PrivateKeyJwt) => {
            check_client_key_count(map).map_err(|e| metadata_error("jwks", &e))?;
            Some(
                JwkSet::from_map(map, SetStrictness::Strict, false)
                    .map_err(|e| metadata_error("jwks", &alloc::format!("{e}")))?,
            )
        }
        (None | Some(Value::Null), AuthMethod::PrivateKeyJwt) => {
            return Err(metadata_error("jwks", "is required for private_key_jwt"))
        }
        (Some(_), AuthMethod::PrivateKeyJwt) => {
            return Err(metadata_error("jwks", "must be a JWK set"))
        }
        (None | Some(Value::Null), _) => None,
        (Some(_), _) => return Err(metadata_error("jwks", "is only used with private_key_jwt")),
    };
    let signing_alg = match text("token_endpoint_auth_signing_alg")? {
        None => None,
        Some(name) => {
            let alg = Algorithm::from_name(name).ok_or_else(|| {
                metadata_error("token_endpoint_auth_signing_alg", "unsupported algorithm")
            })?;
            let fits = match (auth_method, &jwks) {
                // The pinned algorithm must be usable with at least one registered key.
                (AuthMethod::PrivateKeyJwt, Some(set)) => set.keys.iter().any(|k| k.allows(alg)),
                (AuthMethod::ClientSecretJwt, _) => alg.is_symmetric(),
                _ => false,
            };
            if !fits {
                return Err(metadata_error(
                    "token_endpoint_auth_signing_alg",
                    "does not fit the token_endpoint_auth_method or the registered keys",
                ));
            }
            Some(alg)
        }
    };
    // The scope list is bounded by its token count, not by the text bound.
    let scopes = match string("scope", MAX_BODY_BYTES)? {
        None => policy.default_scopes.clone(),
        // An empty string registers no scope (and is what `read` returns for such a client).
        Some("") => Vec::new(),
        Some(s) => {
            let requested = parse_requested_scope(s).map_err(|e| match e {
                ScopeError::Malformed => metadata_error("scope", "is not a valid scope list"),
                ScopeError::TooMany => metadata_error(
                    "scope",
                    &alloc::format!("has more than {MAX_SCOPE_TOKENS} scope tokens"),
                ),
            })?;
            let allowed: BTreeSet<&str> =
                policy.allowed_scopes.iter().map(String::as_str).collect();
            if let Some(bad) = requested.iter().find(|r| !allowed.contains(r.as_str())) {
                return Err(metadata_error(
                    "scope",
                    &alloc::format!("\"{bad}\" may not be registered"),
                ));
            }
            requested
        }
    };
    let mut informational = Map::new();
    for name in TEXT_METADATA {
        if let Some(v) = text(name)? {
            informational.insert(name.into(), Value::String(v.into()));
        }
    }
    if let Some(items) = array("contacts")? {
        for item in items {
            match item {
                Value::String(s) if s.len() <= MAX_METADATA_TEXT_BYTES => {}
                Value::String(_) => {
                    return Err(metadata_error(
                        "contacts",
                        &alloc::format!("hold a value longer than {MAX_METADATA_TEXT_BYTES} bytes"),
                    ))
                }
                _ => return Err(metadata_error("contacts", "must be an array of strings")),
            }
        }
        informational.insert("contacts".into(), Value::Array(items.clone()));
    }
    // gatepass's own client metadata (README, "Client settings"): a lifetime within the
    // server's maximum, and static claims (which names a client may set is decided by the
    // caller: registration and update differ).
    let token_ttl = match doc.get("token_ttl") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|t| (1..=policy.max_token_ttl).contains(t))
                .ok_or_else(|| {
                    metadata_error(
                        "token_ttl",
                        &alloc::format!(
                            "must be a number of seconds from 1 to {}",
                            policy.max_token_ttl
                        ),
                    )
                })?,
        ),
    };
    let claims = match doc.get("claims") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => {
            crate::claims::check_extra_claims(map).map_err(|e| {
                let field = e.field();
                metadata_error(&field, e.problem)
            })?;
            map.clone()
        }
        Some(_) => return Err(metadata_error("claims", "must be an object")),
    };
    Ok(ValidMetadata {
        auth_method,
        jwks,
        signing_alg,
        scopes,
        informational,
        token_ttl,
        claims,
    })
}

/// A registered client's static claims after a registration (`current` empty) or an RFC 7592
/// update (`current` the record's): the names in `registration.allowed_claims` are the client's
/// to set and are replaced; any other is the operator's (a tenant id), kept, and a request may
/// only echo it back unchanged.
fn merged_claims(
    policy: &RegistrationPolicy,
    current: &Map<String, Value>,
    sent: Map<String, Value>,
) -> Result<Map<String, Value>, RegistrationError> {
    let may_set = |name: &String| policy.allowed_claims.contains(name);
    if let Some((name, _)) = sent
        .iter()
        .find(|(name, value)| !may_set(name) && current.get(*name) != Some(*value))
    {
        return Err(metadata_error(
            &alloc::format!("claims.{name}"),
            "may not be registered on this server (registration.allowed_claims)",
        ));
    }
    let mut claims: Map<String, Value> = current
        .iter()
        .filter(|(name, _)| !may_set(name))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    claims.extend(sent.into_iter().filter(|(name, _)| may_set(name)));
    crate::claims::check_extra_claims(&claims).map_err(|e| metadata_error("claims", e.problem))?;
    Ok(claims)
}

/// An operator's flag (`introspection`, `disabled`) in a request may only repeat its current
/// value.
fn unchanged_flag(
    doc: &Map<String, Value>,
    name: &str,
    current: bool,
    problem: &str,
) -> Result<(), RegistrationError> {
    match doc.get(name) {
        Some(v) if v != &Value::Bool(current) => Err(metadata_error(name, problem)),
        _ => Ok(()),
    }
}

fn parse_document(body: &[u8]) -> Result<Map<String, Value>, RegistrationError> {
    json::parse_object_within(body, MAX_REGISTRATION_JSON_VALUES)
        .map_err(|e| RegistrationError::metadata(alloc::format!("request body: {e}")))
}

/// The metadata of a record as RFC 7591 §3.2.1 / RFC 7592 §3 return it.
fn metadata_json(record: &ClientRecord, config: &ServerConfig) -> Map<String, Value> {
    let mut out = record.metadata.clone();
    out.insert("client_id".into(), record.client_id.clone().into());
    if let Some(t) = record.client_id_issued_at {
        out.insert("client_id_issued_at".into(), t.into());
    }
    if !matches!(record.credential, ClientCredential::Jwks(_)) {
        // RFC 7591 §3.2.1: REQUIRED if a client_secret is issued; 0 means it does not expire.
        out.insert(
            "client_secret_expires_at".into(),
            record.secret_expires_at.unwrap_or(0).into(),
        );
    }
    out.insert(
        "token_endpoint_auth_method".into(),
        record.auth_method.name().into(),
    );
    out.insert(
        "grant_types".into(),
        Value::Array(
            record
                .grant_types
                .iter()
                .cloned()
                .map(Value::String)
                .collect(),
        ),
    );
    out.insert("scope".into(), record.scopes.join(" ").into());
    if let ClientCredential::Jwks(set) = &record.credential {
        out.insert("jwks".into(), set.to_public_json());
    }
    if let Some(alg) = record.signing_alg {
        out.insert("token_endpoint_auth_signing_alg".into(), alg.name().into());
    }
    if let Some(ttl) = record.token_ttl {
        out.insert("token_ttl".into(), ttl.into());
    }
    if !record.claims.is_empty() {
        out.insert("claims".into(), Value::Object(record.claims.clone()));
    }
    if record.disabled {
        out.insert("disabled".into(), true.into());
    }
    if record.introspection {
        out.insert("introspection".into(), true.into());
    }
    out.insert(
        "registration_client_uri".into(),
        alloc::format!(
            "{}/{}",
            config.registration_endpoint.as_deref().unwrap_or_default(),
            record.client_id
        )
        .into(),
    );
    out
}

/// A registration result: the record to store and the response to send.
#[derive(Debug)]
pub struct Registered {
    /// The record for the client store.
    pub record: ClientRecord,
    /// The RFC 7591 §3.2.1 response (201), carrying the secret and registration access token.
    pub response: HttpResponse,
}

/// Proof that a registration request may proceed: registration is on (the host found a
/// [`RegistrationPolicy`]) and the initial access token, if the policy requires one, was
/// presented. [`register`] takes it, so skipping the check does not compile.
#[derive(Debug, Clone, Copy)]
pub struct InitialAccess<'a> {
    policy: &'a RegistrationPolicy,
}

/// The bearer token of an `Authorization` header of at most [`MAX_AUTHORIZATION_BYTES`].
fn bounded_bearer(authorization: Option<&str>) -> Result<&str, BearerError> {
    if authorization.is_some_and(|a| a.len() > MAX_AUTHORIZATION_BYTES) {
        return Err(BearerError::invalid_token(
            "Authorization header is too long",
        ));
    }
    crate::verify::extract_bearer(authorization)
}

/// Checks the initial access token (RFC 7591 §3) when the policy requires one; 401
/// `invalid_token` (or a bare challenge when absent) otherwise.
pub fn check_initial_access<'a>(
    policy: &'a RegistrationPolicy,
    authorization: Option<&str>,
) -> Result<InitialAccess<'a>, BearerError> {
    if let Some(expected) = &policy.initial_access_token {
        let token = bounded_bearer(authorization)?;
        if !expected.matches(token) {
            return Err(BearerError::invalid_token(
                "initial access token is not valid",
            ));
        }
    }
    Ok(InitialAccess { policy })
}

/// Registers a client (RFC 7591 §3.1) from the JSON request body.
pub fn register(
    access: InitialAccess<'_>,
    body: &[u8],
    config: &ServerConfig,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<Registered, RegistrationError> {
    let policy = access.policy;
    let doc = parse_document(body)?;
    let meta = validate(&doc, policy)?;
    let claims = merged_claims(policy, &Map::new(), meta.claims)?;
    // Set by the operator only: a client cannot grant itself introspection, and a new client
    // is enabled.
    unchanged_flag(&doc, "introspection", false, "is set by the operator")?;
    unchanged_flag(&doc, "disabled", false, "a new client cannot be disabled")?;
    let client_id = secret::random_string(rng, 16);
    let registration_access_token = Zeroizing::new(secret::generate_secret(rng));
    let (credential, shown_secret) = match meta.auth_method {
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
            let s = Zeroizing::new(secret::generate_secret(rng));
            (ClientCredential::SecretHash(SecretHash::of(&s)), Some(s))
        }
        AuthMethod::ClientSecretJwt => {
            // The secret's octets are the HMAC key (RFC 7518 §3.2: at least the hash length).
            // 48 random bytes give 64 base64url characters, enough for HS512; without a pinned
            // algorithm the client may use any HS algorithm.
            let s = Zeroizing::new(secret::random_string(rng, 48));
            (ClientCredential::Secret(s.clone()), Some(s))
        }
        AuthMethod::PrivateKeyJwt => match meta.jwks {
            Some(set) => (ClientCredential::Jwks(set), None),
            None => return Err(metadata_error("jwks", "is required for private_key_jwt")),
        },
    };
    let secret_expires_at = match (&shown_secret, policy.client_secret_ttl) {
        (Some(_), Some(ttl)) => Some(now.saturating_add(ttl)),
        (Some(_), None) => Some(0),
        (None, _) => None,
    };
    let record = ClientRecord {
        client_id,
        auth_method: meta.auth_method,
        credential,
        signing_alg: meta.signing_alg,
        grant_types: alloc::vec![String::from(CLIENT_CREDENTIALS)],
        scopes: meta.scopes,
        audiences: policy.audiences.clone(),
        secret_expires_at,
        client_id_issued_at: Some(now),
        registration_access_token_hash: Some(SecretHash::of(&registration_access_token)),
        metadata: meta.informational,
        issuer: Some(config.issuer.clone()),
        token_ttl: meta.token_ttl,
        claims,
        disabled: false,
        introspection: false,
    };
    let mut body = metadata_json(&record, config);
    if let Some(s) = &shown_secret {
        body.insert(
            "client_secret".into(),
            Value::String(String::from(s.as_str())),
        );
    }
    body.insert(
        "registration_access_token".into(),
        Value::String(String::from(registration_access_token.as_str())),
    );
    Ok(Registered {
        response: HttpResponse::json(201, &Value::Object(body)),
        record,
    })
}

/// Proof that the caller presented the registration access token of this client (RFC 7592
/// §3). [`read`], [`update`] and [`delete`] take it, so skipping the check does not compile.
#[derive(Debug, Clone, Copy)]
pub struct ClientAccess<'a> {
    record: &'a ClientRecord,
}

impl<'a> ClientAccess<'a> {
    /// The client whose configuration may be managed.
    pub fn record(&self) -> &'a ClientRecord {
        self.record
    }
}

/// RFC 7592 §2: the registration access token must be presented as a bearer token and match
/// the record's; otherwise 401 `invalid_token`.
pub fn check_registration_access<'a>(
    record: Option<&'a ClientRecord>,
    authorization: Option<&str>,
) -> Result<ClientAccess<'a>, BearerError> {
    let token = bounded_bearer(authorization)?;
    match record {
        Some(r)
            if r.registration_access_token_hash
                .as_ref()
                .is_some_and(|h| h.matches(token)) =>
        {
            Ok(ClientAccess { record: r })
        }
        // RFC 7592 §2.1: an unknown client and a wrong token answer the same way, so the
        // response does not reveal which client ids exist.
        _ => Err(BearerError::invalid_token(
            "registration access token is not valid",
        )),
    }
}

/// RFC 7592 §2.1: the client's current configuration (200). Secrets are not shown again.
pub fn read(access: ClientAccess<'_>, config: &ServerConfig) -> HttpResponse {
    HttpResponse::json(200, &Value::Object(metadata_json(access.record, config)))
}

/// RFC 7592 §2.2: replaces the client's metadata. `client_id` must be present and equal; a
/// `client_secret`, if sent, must be the current one. Identifiers, secrets and the registration
/// access token are kept.
pub fn update(
    access: ClientAccess<'_>,
    body: &[u8],
    config: &ServerConfig,
) -> Result<(ClientRecord, HttpResponse), RegistrationError> {
    let record = access.record;
    let policy = config
        .registration
        .as_ref()
        .ok_or_else(|| RegistrationError::metadata("registration is not enabled".into()))?;
    let doc = parse_document(body)?;
    if doc.get("client_id").and_then(Value::as_str) != Some(record.client_id.as_str()) {
        return Err(metadata_error(
            "client_id",
            "must be present and equal to the registered client_id",
        ));
    }
    if let Some(presented) = doc.get("client_secret") {
        let ok = match (&record.credential, presented.as_str()) {
            (ClientCredential::SecretHash(h), Some(p)) => h.matches(p),
            (ClientCredential::Secret(s), Some(p)) => {
                secret::constant_time_eq(s.as_bytes(), p.as_bytes())
            }
            _ => false,
        };
        if !ok {
            return Err(metadata_error(
                "client_secret",
                "does not match the current secret",
            ));
        }
    }
    let meta = validate(&doc, policy)?;
    if meta.auth_method != record.auth_method {
        return Err(metadata_error(
            "token_endpoint_auth_method",
            "cannot change; register a new client instead",
        ));
    }
    // Operator settings are kept: `introspection` may be echoed back, not changed; a disabled
    // client stays disabled (only the operator enables it), and an enabled one may disable
    // itself only where `registration.clients_may_disable` allows it.
    unchanged_flag(
        &doc,
        "introspection",
        record.introspection,
        "is set by the operator",
    )?;
    let disabled = match doc.get("disabled") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(metadata_error("disabled", "must be a boolean")),
    };
    if record.disabled && !disabled {
        return Err(metadata_error(
            "disabled",
            "the client is disabled; only the operator can enable it",
        ));
    }
    if disabled && !record.disabled && !policy.clients_may_disable {
        return Err(metadata_error(
            "disabled",
            "this server does not let clients disable themselves",
        ));
    }
    let claims = merged_claims(policy, &record.claims, meta.claims)?;
    let mut updated = record.clone();
    updated.disabled = disabled;
    updated.claims = claims;
    updated.token_ttl = meta.token_ttl;
    if let Some(set) = meta.jwks {
        updated.credential = ClientCredential::Jwks(set);
    }
    updated.signing_alg = meta.signing_alg;
    updated.scopes = meta.scopes;
    updated.metadata = meta.informational;
    let response = HttpResponse::json(200, &Value::Object(metadata_json(&updated, config)));
    Ok((updated, response))
}

/// RFC 7592 §2.3: the answer once the host has removed the client from its store (204).
/// Taking the access proof by value marks the end of this client's management.
pub fn delete(access: ClientAccess<'_>) -> HttpResponse {
    let _ = access;
    HttpResponse::empty(204)
}
