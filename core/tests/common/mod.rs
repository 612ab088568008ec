//! Shared fixtures for the integration tests: a fixed clock, deterministic keys, a server
//! configuration with one client per authentication method, JWT and form builders, a replay
//! store, and the token endpoint pipeline wired the way a host wires it.
//!
//! Each test binary uses a subset of this module.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use gatepass_core::b64;
use gatepass_core::client_assertion::ClientAssertion;
use gatepass_core::client_auth::{self, Authentication, ClientRecord, ReplayOutcome};
use gatepass_core::config::ServerConfig;
use gatepass_core::crypto::{self, Algorithm};
use gatepass_core::error::TokenError;
use gatepass_core::grant;
use gatepass_core::jwk::SigningJwk;
use gatepass_core::jws;
use gatepass_core::mint::{self, IssuedToken};
use gatepass_core::request::{self, TokenHttpRequest};
use gatepass_core::response::HttpResponse;
use gatepass_core::secret::SecretHash;
use gatepass_core::verify::VerifierPolicy;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Map, Value};

/// The fixed clock of every test (2030-03-17).
pub const NOW: u64 = 1_900_000_000;
/// The authorization server's issuer identifier.
pub const ISSUER: &str = "https://as.example.com";
/// Its token endpoint URL (the default path under the issuer).
pub const TOKEN_ENDPOINT: &str = "https://as.example.com/oauth/token";
/// The resource server every client may get tokens for.
pub const API: &str = "https://api.example.com";
/// A second resource server, allowed for `basic-client` only.
pub const BILLING: &str = "https://billing.example.com";
/// The realm of the Basic challenge.
pub const REALM: &str = "gatepass";

pub const BASIC_SECRET: &str = "basic-secret-0123456789abcdefghijklmnopqrstu";
pub const POST_SECRET: &str = "post-secret-0123456789abcdefghijklmnopqrstuv";
/// 64 bytes: long enough for HS512, so a refusal of HS512 is the `alg` pin, not the length.
pub const JWT_SECRET: &str = "jwt-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR";
/// A client id and secret with every character RFC 6749 §2.3.1 form-encoding must carry (a
/// client id is visible ASCII, RFC 6749 Appendix A.1; a secret may be any text).
pub const ODD_CLIENT_ID: &str = "odd:client%+ &=~";
pub const ODD_SECRET: &str = "p@ss:w%rd+ ü/=";

/// A deterministic RNG.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// A fresh `jti` for every assertion built in this process.
pub fn unique_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("jti-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------------
// Keys

/// A signing key with a readable `kid`.
pub fn generated_key(alg: Algorithm, kid: &str, seed: u64) -> SigningJwk {
    let key = SigningJwk::generate(alg, &mut rng(seed)).unwrap();
    with_kid(&key, kid)
}

/// The same key under another `kid` (through its private JWK, as a user would configure it).
pub fn with_kid(key: &SigningJwk, kid: &str) -> SigningJwk {
    let mut value = key.to_private_json();
    value["kid"] = json!(kid);
    SigningJwk::from_map(value.as_object().unwrap()).unwrap()
}

/// An RSA-2048 key from `vectors/rsa_keys.json` (generating RSA keys in a debug build is
/// too slow), with `alg` and `kid`.
pub fn rsa_key(name: &str, alg: Algorithm, kid: &str) -> SigningJwk {
    let doc: Value = serde_json::from_str(include_str!("../vectors/rsa_keys.json")).unwrap();
    let entry = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .unwrap_or_else(|| panic!("no RSA test key named {name}"));
    let mut jwk = entry["jwk"].clone();
    jwk["alg"] = json!(alg.name());
    jwk["kid"] = json!(kid);
    SigningJwk::from_map(jwk.as_object().unwrap()).unwrap()
}

/// The public JWK of a signing key as JSON (with `kid`, `alg`, `use`).
pub fn public_json(key: &SigningJwk) -> Value {
    key.public_jwk().to_public_json().unwrap()
}

/// A JWK set document of public keys.
pub fn jwks(keys: &[&SigningJwk]) -> Value {
    json!({ "keys": keys.iter().map(|k| public_json(k)).collect::<Vec<_>>() })
}

/// Every key the fixtures use, made once per test binary.
pub struct Keys {
    /// The authorization server's active signing key.
    pub server: SigningJwk,
    /// A second, published but inactive, server key.
    pub server_next: SigningJwk,
    pub eddsa_client: SigningJwk,
    pub es256_client: SigningJwk,
    pub rs256_client: SigningJwk,
    pub ps256_client: SigningJwk,
    /// The two keys of `pinned-client` (registered alg ES256).
    pub pinned_ed: SigningJwk,
    pub pinned_es: SigningJwk,
    /// Keys nobody registered.
    pub attacker_es256: SigningJwk,
    pub attacker_eddsa: SigningJwk,
    pub attacker_rsa: SigningJwk,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        server: generated_key(Algorithm::EdDSA, "as-2030-ed", 1),
        server_next: generated_key(Algorithm::ES256, "as-next-es", 2),
        eddsa_client: generated_key(Algorithm::EdDSA, "eddsa-client-key", 3),
        es256_client: generated_key(Algorithm::ES256, "es256-client-key", 4),
        rs256_client: rsa_key("client-rs256", Algorithm::RS256, "rs256-client-key"),
        ps256_client: rsa_key("client-ps256", Algorithm::PS256, "ps256-client-key"),
        pinned_ed: generated_key(Algorithm::EdDSA, "pinned-ed", 5),
        pinned_es: generated_key(Algorithm::ES256, "pinned-es", 6),
        attacker_es256: generated_key(Algorithm::ES256, "attacker-es", 7),
        attacker_eddsa: generated_key(Algorithm::EdDSA, "attacker-ed", 8),
        attacker_rsa: rsa_key("attacker", Algorithm::RS256, "attacker-rsa"),
    })
}

// ---------------------------------------------------------------------------------------------
// Server configuration

pub fn hash(secret: &str) -> String {
    SecretHash::of(secret).to_stored()
}

fn key_client(id: &str, keys: Value, alg: Option<&str>) -> Value {
    let mut c = json!({
        "client_id": id,
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": keys,
        "scope": "read",
    });
    if let Some(alg) = alg {
        c["token_endpoint_auth_signing_alg"] = json!(alg);
    }
    c
}

/// The server configuration every token-endpoint test starts from, as JSON.
pub fn server_json() -> Value {
    let k = keys();
    // rs256-client registers its key without `alg` and without a pinned signing alg: only the
    // key's family binds the algorithm.
    let mut rs_jwk = public_json(&k.rs256_client);
    rs_jwk.as_object_mut().unwrap().remove("alg");
    json!({
        "issuer": ISSUER,
        "signing_keys": [k.server.to_private_json(), k.server_next.to_private_json()],
        "active_kid": k.server.kid,
        "default_audiences": [API],
        "token_ttl": "3600s",
        "clients": [
            {
                "client_id": "basic-client",
                "client_secret_hash": hash(BASIC_SECRET),
                "scope": "read write",
                "audiences": [API, BILLING],
            },
            {
                "client_id": "post-client",
                "token_endpoint_auth_method": "client_secret_post",
                "client_secret_hash": hash(POST_SECRET),
                "scope": "read",
            },
            {
                "client_id": "jwt-client",
                "token_endpoint_auth_method": "client_secret_jwt",
                "client_secret": JWT_SECRET,
                "token_endpoint_auth_signing_alg": "HS256",
                "scope": "read",
            },
            key_client("eddsa-client", jwks(&[&k.eddsa_client]), Some("EdDSA")),
            key_client("es256-client", jwks(&[&k.es256_client]), Some("ES256")),
            key_client("rs256-client", json!({ "keys": [rs_jwk] }), None),
            key_client("ps256-client", jwks(&[&k.ps256_client]), Some("PS256")),
            key_client("pinned-client", jwks(&[&k.pinned_ed, &k.pinned_es]), Some("ES256")),
            {
                "client_id": ODD_CLIENT_ID,
                "client_secret_hash": hash(ODD_SECRET),
                "scope": "read",
            },
            {
                "client_id": "expired-client",
                "client_secret_hash": hash(BASIC_SECRET),
                "client_secret_expires_at": NOW - 1,
                "scope": "read",
            },
        ],
    })
}

/// The configuration, after `tweak` changed its JSON.
pub fn server_config(tweak: impl FnOnce(&mut Value)) -> ServerConfig {
    let mut raw = server_json();
    tweak(&mut raw);
    ServerConfig::from_json(&raw.to_string()).unwrap()
}

/// What a resource server of [`API`] accepts.
pub fn api_policy() -> VerifierPolicy {
    VerifierPolicy::new(ISSUER, vec![API.into()])
}

// ---------------------------------------------------------------------------------------------
// Wire helpers

pub use gatepass_core::request::form_encode;

/// A form body, built parameter by parameter (order kept, repeats allowed).
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn new() -> Self {
        Form(Vec::new())
    }
    /// A client-credentials request.
    pub fn client_credentials() -> Self {
        Form::new().with("grant_type", "client_credentials")
    }
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.push((name.into(), value.into()));
        self
    }
    /// `client_assertion_type` and `client_assertion`.
    pub fn assertion(self, assertion: &str) -> Self {
        self.with("client_assertion_type", request::JWT_BEARER_ASSERTION_TYPE)
            .with("client_assertion", assertion)
    }
    pub fn encode(&self) -> Vec<u8> {
        self.0
            .iter()
            .map(|(n, v)| format!("{}={}", form_encode(n), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    }
}

/// An `Authorization: Basic` value, with id and secret form-encoded first (RFC 6749 §2.3.1).
pub fn basic(client_id: &str, secret: &str) -> String {
    let joined = format!("{}:{}", form_encode(client_id), form_encode(secret));
    format!("Basic {}", b64::encode_standard(joined.as_bytes()))
}

/// An HTTP request to the token endpoint, owned.
#[derive(Debug, Clone)]
pub struct Http {
    pub method: String,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl Http {
    /// `POST` with a form body.
    pub fn post(form: Form) -> Self {
        Http {
            method: "POST".into(),
            content_type: Some("application/x-www-form-urlencoded".into()),
            authorization: None,
            body: form.encode(),
        }
    }
    pub fn raw_body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }
    pub fn method(mut self, method: &str) -> Self {
        self.method = method.into();
        self
    }
    pub fn content_type(mut self, value: Option<&str>) -> Self {
        self.content_type = value.map(String::from);
        self
    }
    pub fn authorization(mut self, value: &str) -> Self {
        self.authorization = Some(value.into());
        self
    }
    pub fn as_request(&self) -> TokenHttpRequest<'_> {
        TokenHttpRequest {
            method: &self.method,
            content_type: self.content_type.as_deref(),
            authorization: self.authorization.as_deref(),
            body: &self.body,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JWT builder

/// A JWT before signing: header and claims as JSON, each editable.
#[derive(Debug, Clone)]
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
}

impl Jwt {
    pub fn new(header: Value, claims: Value) -> Self {
        Jwt { header, claims }
    }

    /// A client assertion as a conforming client sends it (draft-ietf-oauth-rfc7523bis), as
    /// core's builder makes it: `iss` = `sub` = the client, `aud` = the issuer,
    /// `typ: client-authentication+jwt`, two-minute lifetime, fresh `jti`. Editable, so that
    /// a test can make it malformed one member at a time.
    pub fn assertion(client_id: &str, alg: Algorithm, kid: Option<&str>) -> Self {
        let assertion = ClientAssertion::new(client_id, ISSUER, NOW, 120, unique_jti());
        Jwt::new(assertion.header(alg, kid), assertion.claims())
    }

    /// An assertion for a key, with its `alg` and `kid`.
    pub fn assertion_for(client_id: &str, key: &SigningJwk) -> Self {
        Jwt::assertion(client_id, key.alg, Some(&key.kid))
    }

    /// An RFC 9068 access token as this server mints it.
    pub fn access_token(key: &SigningJwk) -> Self {
        Jwt::new(
            json!({ "alg": key.alg.name(), "kid": key.kid, "typ": "at+jwt" }),
            json!({
                "iss": ISSUER,
                "sub": "basic-client",
                "aud": API,
                "iat": NOW,
                "exp": NOW + 3600,
                "jti": unique_jti(),
                "client_id": "basic-client",
                "scope": "read write",
            }),
        )
    }

    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header[name] = value;
        self
    }
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.as_object_mut().unwrap().remove(name);
        self
    }
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims[name] = value;
        self
    }
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.as_object_mut().unwrap().remove(name);
        self
    }
    pub fn signing_input(&self) -> String {
        jws::signing_input(&self.header, &self.claims)
    }
    /// Signed with `key`'s own algorithm, whatever the header says.
    pub fn sign(&self, key: &SigningJwk) -> String {
        let input = self.signing_input();
        let sig = crypto::sign(key.alg, &key.key, input.as_bytes(), &mut rng(99)).unwrap();
        jws::assemble(&input, &sig)
    }
    /// An HMAC tag under `alg` keyed by `secret`, whatever the header says.
    pub fn hmac(&self, alg: Algorithm, secret: &[u8]) -> String {
        let input = self.signing_input();
        jws::assemble(&input, &hmac_tag(alg, secret, input.as_bytes()))
    }
    /// Any bytes as the signature.
    pub fn with_signature(&self, signature: &[u8]) -> String {
        jws::assemble(&self.signing_input(), signature)
    }
}

/// An HMAC tag with no key-length policy (an attacker is not bound by RFC 7518 §3.2).
pub fn hmac_tag(alg: Algorithm, secret: &[u8], message: &[u8]) -> Vec<u8> {
    crypto::hmac_sign(alg, secret, message).unwrap_or_else(|_| {
        // Shorter than the hash: pad is what HMAC does anyway for short keys, so zero-pad to
        // the block and sign; the tag equals HMAC with the short key.
        let mut padded = secret.to_vec();
        padded.resize(alg.min_hmac_key_len().max(secret.len()), 0);
        crypto::hmac_sign(alg, &padded, message).unwrap()
    })
}

/// A compact JWS from raw header and payload bytes (for JSON a builder cannot produce, such as
/// duplicate members), signed by `key`.
pub fn raw_jws(header: &[u8], payload: &[u8], key: &SigningJwk) -> String {
    let input = format!("{}.{}", b64::encode_url(header), b64::encode_url(payload));
    let sig = crypto::sign(key.alg, &key.key, input.as_bytes(), &mut rng(98)).unwrap();
    jws::assemble(&input, &sig)
}

/// The decoded header and payload of a compact JWS (no checks).
pub fn decode_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut next = || {
        let bytes = b64::decode_url(parts.next().unwrap()).unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    let header = next();
    let payload = next();
    (header, payload)
}

// ---------------------------------------------------------------------------------------------
// The token endpoint, wired as a host wires it

/// An in-memory replay store with insert-if-absent semantics.
#[derive(Debug, Default)]
pub struct ReplayStore(BTreeSet<String>);

impl ReplayStore {
    pub fn insert_if_absent(&mut self, key: String) -> ReplayOutcome {
        if self.0.insert(key) {
            ReplayOutcome::Recorded
        } else {
            ReplayOutcome::AlreadySeen
        }
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// A token endpoint: configuration, a client store (the configured clients plus `extra`), a
/// replay store and an RNG.
pub struct Server {
    pub config: ServerConfig,
    pub extra_clients: Vec<ClientRecord>,
    pub replay: ReplayStore,
    pub now: u64,
    rng: ChaCha20Rng,
}

impl Server {
    pub fn new(config: ServerConfig) -> Self {
        Server {
            config,
            extra_clients: Vec::new(),
            replay: ReplayStore::default(),
            now: NOW,
            rng: rng(42),
        }
    }

    /// The standard configuration.
    pub fn standard() -> Self {
        Server::new(server_config(|_| {}))
    }

    pub fn with_client(mut self, record: ClientRecord) -> Self {
        self.extra_clients.push(record);
        self
    }

    /// The host's client lookup.
    pub fn client(&self, client_id: &str) -> Option<ClientRecord> {
        self.config
            .client(client_id)
            .or_else(|| self.extra_clients.iter().find(|c| c.client_id == client_id))
            .cloned()
    }

    /// parse → authenticate → replay → grant → mint → sign.
    pub fn token(&mut self, http: &Http) -> Result<IssuedToken, TokenError> {
        let request = request::parse_token_request(&http.as_request())?;
        let record = self.client(request.client_id());
        let client = match client_auth::authenticate(
            &request,
            record.as_ref(),
            &self.config.assertion,
            self.now,
        )? {
            Authentication::Authenticated(client) => client,
            Authentication::PendingReplayCheck(pending) => {
                let outcome = self.replay.insert_if_absent(pending.replay_key());
                pending.finish(outcome)?
            }
        };
        let grant = grant::authorize(&client, &request, self.config.require_audience)?;
        let mut jti = [0u8; 16];
        self.rng.fill_bytes(&mut jti);
        let pending = mint::prepare(
            &grant,
            &self.config.signing_keys,
            &self.config.mint,
            self.now,
            jti,
        )?;
        pending.sign_builtin(&mut self.rng)
    }

    /// The HTTP response the host sends.
    pub fn respond(&mut self, http: &Http) -> HttpResponse {
        match self.token(http) {
            Ok(issued) => issued.to_response(),
            Err(e) => e.to_response(REALM),
        }
    }
}

/// The JSON body of a response as an object.
pub fn body(response: &HttpResponse) -> Map<String, Value> {
    match response.json_body() {
        Some(Value::Object(map)) => map,
        other => panic!("response body is not a JSON object: {other:?}"),
    }
}

/// Collects table-row failures so that every failing row is reported, not only the first.
#[derive(Debug, Default)]
pub struct Failures(Vec<String>);

impl Failures {
    pub fn check(&mut self, row: &str, ok: bool, detail: impl FnOnce() -> String) {
        if !ok {
            self.0.push(format!("{row}: {}", detail()));
        }
    }
    pub fn push(&mut self, row: &str, detail: String) {
        self.0.push(format!("{row}: {detail}"));
    }
    pub fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} row(s) failed:\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}
