//! wasm-bindgen glue for the npm package `gatepass`.
//!
//! JSON text crosses the boundary (configuration, client records, responses); every decision is
//! a `gatepass-core` call. The JavaScript side (`node-binding/js/`) does the I/O: it awaits the
//! user's client store and replay store between the steps of a [`TokenExchange`].
//!
//! Every step answers a JSON object: `{"response": {status, headers, body}}` when the exchange
//! is over (success or error), or what the host must do next.

use gatepass_core::client_auth::{
    self, AssertionCheck, AuthenticatedClient, Authentication, AuthenticationStep, ClientRecord,
    PendingAssertion, ReplayOutcome,
};
use gatepass_core::config::{KeySource, Provider, ServerConfig};
use gatepass_core::crypto::{Algorithm, PublicKey};
use gatepass_core::jwk::{Jwk, SigningJwk};
use gatepass_core::jws::SignatureCheck;
use gatepass_core::request::{parse_token_request, TokenHttpRequest, TokenRequest};
use gatepass_core::response::HttpResponse;
use gatepass_core::secret::SecretHash;
use gatepass_core::{b64, grant, metadata, mint, registration, verify, TokenError};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

/// 16 bytes from the system CSPRNG for a token `jti`, served from a 4 KiB pool: each
/// `crypto.getRandomValues` call crosses from wasm to JavaScript and costs about as much as
/// the rest of the mint, so it is made once per 256 tokens. The bytes are used once each.
fn fresh_jti() -> [u8; 16] {
    use std::cell::RefCell;
    const POOL: usize = 4096;
    thread_local! {
        static POOL_STATE: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
    }
    POOL_STATE.with(|cell| {
        let mut state = cell.borrow_mut();
        let (pool, used) = &mut *state;
        if pool.len() != POOL || *used + 16 > POOL {
            pool.resize(POOL, 0);
            OsRng.fill_bytes(pool);
            *used = 0;
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(&pool[*used..*used + 16]);
        // Served bytes are cleared so they never appear twice.
        pool[*used..*used + 16].fill(0);
        *used += 16;
        out
    })
}

fn response_json(r: &HttpResponse) -> Value {
    json!({
        "status": r.status,
        "headers": r.headers,
        "body": String::from_utf8_lossy(&r.body),
    })
}

fn answer(r: &HttpResponse) -> String {
    json!({ "response": response_json(r) }).to_string()
}

fn js_error(code: &str, message: impl std::fmt::Display) -> JsError {
    JsError::new(&format!("{code}: {message}"))
}

/// An authorization server for one configuration (checked once, here).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Server {
    config: Rc<ServerConfig>,
}

#[wasm_bindgen]
impl Server {
    /// Parses and checks the configuration (the README's authorization-server format). The
    /// error message starts with `invalid_configuration:` and names the field.
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &str) -> Result<Server, JsError> {
        let config = ServerConfig::from_json(config_json)
            .map_err(|e| js_error("invalid_configuration", e))?;
        Ok(Server {
            config: Rc::new(config),
        })
    }

    /// Which endpoint a request is for: `token`, `jwks`, `metadata`, `register`,
    /// `client` (RFC 7592, the client id is the last path segment), or `` (none).
    pub fn route(&self, path: &str) -> String {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let c = &self.config;
        let route = if path == c.token_path {
            "token"
        } else if path == c.jwks_path {
            "jwks"
        } else if path == c.metadata_path {
            "metadata"
        } else if c.registration.is_some() && path == c.registration_path {
            "register"
        } else if c.registration.is_some()
            && path
                .strip_prefix(c.registration_path.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|id| !id.is_empty() && !id.contains('/'))
        {
            "client"
        } else {
            ""
        };
        route.to_string()
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> String {
        self.config.issuer.clone()
    }

    /// The JWKS response.
    #[wasm_bindgen(js_name = jwksResponse)]
    pub fn jwks_response(&self) -> String {
        answer(&metadata::jwks_response(&self.config))
    }

    /// The RFC 8414 metadata response.
    #[wasm_bindgen(js_name = metadataResponse)]
    pub fn metadata_response(&self) -> String {
        answer(&metadata::response(&self.config))
    }

    /// The private JWK (JSON) of signing key `kid`, for hosts that sign with WebCrypto.
    #[wasm_bindgen(js_name = signingKey)]
    pub fn signing_key(&self, kid: &str) -> Option<String> {
        self.config
            .signing_keys
            .keys()
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| k.to_private_json().to_string())
    }

    /// Starts a token for a grant the host decided itself (`mintAccessToken`): no client
    /// authentication, no client limits (`Grant::decided_by_host`). `audiences` empty means
    /// the configuration's `default_audiences`; `ttl` (seconds, 1..=86400) replaces
    /// `token_ttl`. Errors are `invalid_request`, `invalid_scope` or `invalid_target`.
    #[wasm_bindgen(js_name = mintForHost)]
    pub fn mint_for_host(
        &self,
        client_id: &str,
        scopes: Vec<String>,
        audiences: Vec<String>,
        ttl: Option<f64>,
        now: f64,
    ) -> Result<HostMint, JsError> {
        let mut settings = self.config.mint.clone();
        if let Some(ttl) = ttl {
            if !(ttl.fract() == 0.0 && (1.0..=86_400.0).contains(&ttl)) {
                return Err(js_error(
                    "invalid_request",
                    "ttl: must be a whole number of seconds from 1 to 86400",
                ));
            }
            settings.token_ttl = ttl as u64;
        }
        let audiences = if audiences.is_empty() {
            self.config.default_audiences.clone()
        } else {
            audiences
        };
        let jti = fresh_jti();
        let token_error = |e: TokenError| js_error(e.code.as_str(), &e.description);
        let grant =
            grant::Grant::decided_by_host(client_id, &scopes, &audiences).map_err(token_error)?;
        let pending = mint::prepare(
            &grant,
            &self.config.signing_keys,
            &settings,
            now as u64,
            jti,
        )
        .map_err(token_error)?;
        Ok(HostMint {
            config: Rc::clone(&self.config),
            alg: pending.alg(),
            kid: pending.key().kid.clone(),
            detached: Some(pending.detach()),
        })
    }

    /// Starts a token request: parses it (RFC 6749 §4.4). Answers
    /// `{"clientId": ...}` (look the client up and call `authenticate`) or `{"response": ...}`.
    #[wasm_bindgen(js_name = beginToken)]
    pub fn begin_token(
        &self,
        method: &str,
        content_type: Option<String>,
        authorization: Option<String>,
        body: &[u8],
    ) -> TokenExchange {
        let parsed = parse_token_request(&TokenHttpRequest {
            method,
            content_type: content_type.as_deref(),
            authorization: authorization.as_deref(),
            body,
        });
        let (request, error) = match parsed {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        TokenExchange {
            config: Rc::clone(&self.config),
            request,
            error,
            pending: None,
            client: None,
            check: None,
            detached: None,
        }
    }

    /// RFC 7591 §3: registers a client. Answers `{"response", "record"?}`; store `record`
    /// (stored client JSON) under its `client_id` when present.
    pub fn register(&self, authorization: Option<String>, body: &[u8], now: f64) -> String {
        let Some(policy) = self.config.registration.as_ref() else {
            return answer(&HttpResponse::empty(404));
        };
        let access = match registration::check_initial_access(policy, authorization.as_deref()) {
            Ok(a) => a,
            Err(e) => return answer(&e.to_response(&self.config.issuer)),
        };
        match registration::register(access, body, &self.config, now as u64, &mut OsRng) {
            Ok(r) => {
                json!({ "response": response_json(&r.response), "record": r.record.to_json() })
                    .to_string()
            }
            Err(e) => answer(&e.to_response()),
        }
    }

    /// RFC 7592 read (`GET`), update (`PUT`) or delete (`DELETE`) of a registered client, with
    /// its registration access token. `record_json` is the stored client (or undefined).
    /// Answers `{"response", "record"?, "delete"?}`: store `record`, or delete the client when
    /// `delete` is true.
    #[wasm_bindgen(js_name = manageClient)]
    pub fn manage_client(
        &self,
        method: &str,
        record_json: Option<String>,
        authorization: Option<String>,
        body: &[u8],
    ) -> String {
        // Another issuer's record, or one that no longer loads, is an unknown client.
        let record = record_json.and_then(|t| self.config.stored_client(&t));
        let access = match registration::check_registration_access(
            record.as_ref(),
            authorization.as_deref(),
        ) {
            Ok(a) => a,
            Err(e) => return answer(&e.to_response(&self.config.issuer)),
        };
        match method.to_ascii_uppercase().as_str() {
            "GET" => answer(&registration::read(access, &self.config)),
            "PUT" => match registration::update(access, body, &self.config) {
                Ok((record, response)) => {
                    json!({ "response": response_json(&response), "record": record.to_json() })
                        .to_string()
                }
                Err(e) => answer(&e.to_response()),
            },
            "DELETE" => {
                json!({ "response": response_json(&registration::delete(access)), "delete": true })
                    .to_string()
            }
            _ => answer(&HttpResponse::empty(405).with_header("allow", "GET, PUT, DELETE".into())),
        }
    }
}

/// One token request in progress; the host awaits its stores between the steps.
#[wasm_bindgen]
#[derive(Debug)]
pub struct TokenExchange {
    config: Rc<ServerConfig>,
    request: Option<TokenRequest>,
    error: Option<TokenError>,
    pending: Option<PendingAssertion>,
    client: Option<AuthenticatedClient>,
    check: Option<AssertionCheck>,
    detached: Option<mint::DetachedSignature>,
}

/// The JWK a host imports to check a signature itself (WebCrypto `importKey("jwk", ...)`):
/// the public key, or for HMAC the shared secret as an `oct` key.
fn verification_jwk(key: &Jwk) -> Value {
    match &key.key {
        PublicKey::Oct(secret) => json!({ "kty": "oct", "k": b64::encode_url(secret) }),
        _ => key.to_public_json().unwrap_or(Value::Null),
    }
}

fn verify_step(check: &SignatureCheck<'_>) -> Value {
    json!({ "verify": {
        "alg": check.alg.name(),
        "jwk": verification_jwk(check.key),
        "input": String::from_utf8_lossy(check.signing_input),
        "signature": b64::encode_url(check.signature),
    }})
}

impl TokenExchange {
    /// The client to authenticate: the configuration's, else the stored record (a stored
    /// record that no longer loads cannot authenticate anyone).
    fn resolve_client(
        &self,
        client_id: &str,
        record_json: Option<String>,
    ) -> Result<Option<Cow<'_, ClientRecord>>, TokenError> {
        if let Some(c) = self.config.client(client_id) {
            return Ok(Some(Cow::Borrowed(c)));
        }
        match record_json {
            None => Ok(None),
            // Loaded as this server may use it today (its issuer, its current policy).
            Some(text) => self
                .config
                .stored_client(&text)
                .map(|r| Some(Cow::Owned(r)))
                .ok_or_else(|| {
                    TokenError::new(
                        gatepass_core::error::TokenErrorCode::InvalidClient,
                        "client authentication failed",
                    )
                }),
        }
    }
}

#[wasm_bindgen]
impl TokenExchange {
    fn fail(&self, e: &TokenError) -> String {
        answer(&e.to_response(&self.config.issuer))
    }

    /// `{"clientId"}` to look up, or the error `{"response"}` of a malformed request.
    pub fn start(&self) -> String {
        match (&self.request, &self.error) {
            (Some(r), _) => json!({ "clientId": r.client_id() }).to_string(),
            (None, Some(e)) => self.fail(e),
            (None, None) => answer(&HttpResponse::empty(500)),
        }
    }

    /// As far as the exchange goes without the host: parses (done at `beginToken`), and for a
    /// client of the configuration authenticates and, without an assertion, prepares the
    /// token. Answers `{"response"}`, `{"clientId"}` (look the client up, then
    /// `authenticateBegin`), `{"verify"}` (see `authenticateBegin`) or `{"sign"}` (see
    /// `mintBegin`). One call instead of four on the common path (a configured Basic client).
    pub fn advance(&mut self, now: f64) -> String {
        let configured = self
            .request
            .as_ref()
            .is_some_and(|r| self.config.client(r.client_id()).is_some());
        if !configured {
            return self.start();
        }
        let step = self.authenticate_begin(None, now);
        if self.client.is_some() {
            return self.mint_begin(now);
        }
        step
    }

    /// Authenticates with the stored client (`undefined` when unknown). Answers
    /// `{"replay": {"key", "expiresAt"}}` (insert-if-absent, then `finishReplay`),
    /// `{"authenticated": true}` (call `mint`), or `{"response"}`.
    pub fn authenticate(&mut self, record_json: Option<String>, now: f64) -> String {
        let Some(request) = &self.request else {
            return self.start();
        };
        // A configured client is used as is (no JSON round trip); otherwise the stored record.
        let record = match self.resolve_client(request.client_id(), record_json) {
            Ok(r) => r,
            Err(e) => return self.fail(&e),
        };
        match client_auth::authenticate(
            request,
            record.as_deref(),
            &self.config.assertion,
            now as u64,
        ) {
            Ok(Authentication::Authenticated(c)) => {
                self.client = Some(c);
                json!({ "authenticated": true }).to_string()
            }
            Ok(Authentication::PendingReplayCheck(p)) => {
                let out = json!({ "replay": { "key": p.replay_key(), "expiresAt": p.replay_expires_at() } });
                self.pending = Some(p);
                out.to_string()
            }
            Err(e) => self.fail(&e),
        }
    }

    /// The replay store's answer: `true` if the key was absent and is now recorded.
    #[wasm_bindgen(js_name = finishReplay)]
    pub fn finish_replay(&mut self, recorded: bool) -> String {
        let Some(p) = self.pending.take() else {
            return answer(&HttpResponse::empty(500));
        };
        match p.finish(if recorded {
            ReplayOutcome::Recorded
        } else {
            ReplayOutcome::AlreadySeen
        }) {
            Ok(c) => {
                self.client = Some(c);
                json!({ "authenticated": true }).to_string()
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Decides the grant and mints the token: the final `{"response"}`.
    pub fn mint(&mut self, now: f64) -> String {
        let (Some(client), Some(request)) = (&self.client, &self.request) else {
            return answer(&HttpResponse::empty(500));
        };
        let result = grant::authorize(client, request).and_then(|g| {
            let jti = fresh_jti();
            mint::prepare(
                &g,
                &self.config.signing_keys,
                &self.config.mint,
                now as u64,
                jti,
            )?
            .sign_builtin(&mut OsRng)
        });
        match result {
            Ok(issued) => answer(&issued.to_response()),
            Err(e) => self.fail(&e),
        }
    }
}

#[wasm_bindgen]
impl TokenExchange {
    /// Like `authenticate`, for hosts that check assertion signatures themselves: answers
    /// `{"authenticated": true}`, `{"verify": {alg, jwk, input, signature}}` (verify, then
    /// `authenticateFinish`), or `{"response"}`.
    #[wasm_bindgen(js_name = authenticateBegin)]
    pub fn authenticate_begin(&mut self, record_json: Option<String>, now: f64) -> String {
        let Some(request) = &self.request else {
            return self.start();
        };
        // A configured client is used as is (no JSON round trip); otherwise the stored record.
        let record = match self.resolve_client(request.client_id(), record_json) {
            Ok(r) => r,
            Err(e) => return self.fail(&e),
        };
        match client_auth::begin_authentication(
            request,
            record.as_deref(),
            &self.config.assertion,
            now as u64,
        ) {
            Ok(AuthenticationStep::Authenticated(c)) => {
                self.client = Some(c);
                json!({ "authenticated": true }).to_string()
            }
            Ok(AuthenticationStep::Assertion(check)) => {
                let out = verify_step(&check.signature_check());
                self.check = Some(check);
                out.to_string()
            }
            Err(e) => self.fail(&e),
        }
    }

    /// The host's signature verdict for the assertion: answers `{"replay"}` or `{"response"}`.
    #[wasm_bindgen(js_name = authenticateFinish)]
    pub fn authenticate_finish(&mut self, signature_valid: bool, now: f64) -> String {
        let Some(check) = self.check.take() else {
            return answer(&HttpResponse::empty(500));
        };
        match check.finish(signature_valid, &self.config.assertion, now as u64) {
            Ok(p) => {
                let out = json!({ "replay": { "key": p.replay_key(), "expiresAt": p.replay_expires_at() } });
                self.pending = Some(p);
                out.to_string()
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Like `mint`, for hosts that sign themselves: answers `{"sign": {alg, kid, input}}`
    /// (sign `input` with the key `kid` — `Server.signingKey(kid)` — then `mintFinish`), or
    /// `{"response"}`.
    #[wasm_bindgen(js_name = mintBegin)]
    pub fn mint_begin(&mut self, now: f64) -> String {
        let (Some(client), Some(request)) = (&self.client, &self.request) else {
            return answer(&HttpResponse::empty(500));
        };
        let jti = fresh_jti();
        let prepared = grant::authorize(client, request).and_then(|g| {
            mint::prepare(
                &g,
                &self.config.signing_keys,
                &self.config.mint,
                now as u64,
                jti,
            )
        });
        match prepared {
            Ok(p) => {
                let out = json!({ "sign": {
                    "alg": p.alg().name(),
                    "kid": p.key().kid,
                    "input": String::from_utf8_lossy(p.signing_input()),
                }})
                .to_string();
                self.detached = Some(p.detach());
                out
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Assembles the token from the host's signature (ECDSA as WebCrypto's raw `r || s`).
    #[wasm_bindgen(js_name = mintFinish)]
    pub fn mint_finish(&mut self, signature: &[u8]) -> String {
        let Some(detached) = self.detached.take() else {
            return answer(&HttpResponse::empty(500));
        };
        match detached.finish(signature) {
            Ok(issued) => answer(&issued.to_response()),
            Err(e) => self.fail(&e),
        }
    }
}

/// A token of `Server.mintForHost` waiting for its signature.
#[wasm_bindgen]
#[derive(Debug)]
pub struct HostMint {
    config: Rc<ServerConfig>,
    alg: Algorithm,
    kid: String,
    detached: Option<mint::DetachedSignature>,
}

impl HostMint {
    fn finish_with(&mut self, signature: &[u8]) -> Result<String, JsError> {
        let detached = self
            .detached
            .take()
            .ok_or_else(|| js_error("server_error", "the token was already finished"))?;
        let issued = detached
            .finish(signature)
            .map_err(|e| js_error(e.code.as_str(), &e.description))?;
        Ok(String::from_utf8_lossy(&issued.to_response().body).into_owned())
    }
}

#[wasm_bindgen]
impl HostMint {
    /// What to sign: `{"alg", "kid", "input"}` (the key is `Server.signingKey(kid)`).
    pub fn step(&self) -> String {
        let input = self
            .detached
            .as_ref()
            .map(|d| String::from_utf8_lossy(d.signing_input()).into_owned())
            .unwrap_or_default();
        json!({ "alg": self.alg.name(), "kid": self.kid, "input": input }).to_string()
    }

    /// The token response body (RFC 6749 §5.1 JSON) from the host's signature.
    pub fn finish(&mut self, signature: &[u8]) -> Result<String, JsError> {
        self.finish_with(signature)
    }

    /// The token response body, signed by the built-in primitives.
    #[wasm_bindgen(js_name = signBuiltin)]
    pub fn sign_builtin(&mut self) -> Result<String, JsError> {
        let key = self
            .config
            .signing_keys
            .keys()
            .iter()
            .find(|k| k.kid == self.kid)
            .ok_or_else(|| js_error("server_error", "the signing key is gone"))?;
        let input = self
            .detached
            .as_ref()
            .map(|d| d.signing_input().to_vec())
            .unwrap_or_default();
        let signature = gatepass_core::crypto::sign(self.alg, &key.key, &input, &mut OsRng)
            .map_err(|_| js_error("server_error", "signing failed"))?;
        self.finish_with(&signature)
    }
}

/// A resource server's verifier for one provider (the Envoy provider format, `local_jwks`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Verifier {
    provider: Provider,
}

#[wasm_bindgen]
impl Verifier {
    /// Parses and checks the provider configuration.
    #[wasm_bindgen(constructor)]
    pub fn new(provider_json: &str) -> Result<Verifier, JsError> {
        let provider =
            Provider::from_json(provider_json).map_err(|e| js_error("invalid_configuration", e))?;
        if !matches!(provider.keys, KeySource::Local(_)) {
            return Err(js_error(
                "invalid_configuration",
                "local_jwks: the npm verifier needs local keys",
            ));
        }
        Ok(Verifier { provider })
    }
}

#[wasm_bindgen]
impl Verifier {
    /// The verification JWK (JSON) of key `index` of the provider's set.
    #[wasm_bindgen(js_name = keyJwk)]
    pub fn key_jwk(&self, index: usize) -> Option<String> {
        let KeySource::Local(keys) = &self.provider.keys else {
            return None;
        };
        keys.keys
            .get(index)
            .map(|k| verification_jwk(k).to_string())
    }
}

#[wasm_bindgen]
impl Verifier {
    /// Starts a verification for a host that checks the signature itself, in one pass over
    /// the token: the job holds either the error or what to verify (key index, alg, signing
    /// input, signature) and the outcome of the claim checks at `now`, released by
    /// `VerifyJob.finish` only after a valid signature.
    pub fn start(&self, token: &str, now: f64) -> VerifyJob {
        let KeySource::Local(keys) = &self.provider.keys else {
            return VerifyJob::failed(gatepass_core::BearerError::invalid_token("no local keys"));
        };
        match verify::begin(token, &self.provider.policy, keys) {
            Ok(p) => {
                let check = p.signature_check();
                let key = keys.keys.iter().position(|k| std::ptr::eq(k, check.key));
                VerifyJob {
                    key,
                    state: Ok(p.detach(now as u64)),
                }
            }
            Err(e) => VerifyJob::failed(e),
        }
    }
}

/// One verification in flight (see `Verifier.start`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct VerifyJob {
    key: Option<usize>,
    state: Result<verify::DetachedVerification, gatepass_core::BearerError>,
}

impl VerifyJob {
    fn failed(e: gatepass_core::BearerError) -> VerifyJob {
        VerifyJob {
            key: None,
            state: Err(e),
        }
    }
}

#[wasm_bindgen]
impl VerifyJob {
    /// The error (`{"error", "description", "status", "wwwAuthenticate"}`) when the token
    /// was refused before its signature, else `undefined`.
    pub fn error(&self, realm: &str) -> Option<String> {
        self.state.as_ref().err().map(|e| bearer_error(e, realm))
    }
    /// Index of the verification key in the provider's set (`Verifier.keyJwk`).
    pub fn key(&self) -> Option<usize> {
        self.key
    }
    /// The algorithm name.
    pub fn alg(&self) -> String {
        self.state
            .as_ref()
            .map(|d| d.alg().name().to_string())
            .unwrap_or_default()
    }
    /// The signing input bytes.
    pub fn input(&self) -> Vec<u8> {
        self.state
            .as_ref()
            .map(|d| d.signing_input().to_vec())
            .unwrap_or_default()
    }
    /// The signature bytes (ECDSA as `r || s`, what WebCrypto verifies).
    pub fn signature(&self) -> Vec<u8> {
        self.state
            .as_ref()
            .map(|d| d.signature().to_vec())
            .unwrap_or_default()
    }
    /// Verifies with the built-in primitives (for runtimes without the algorithm) and
    /// answers as `finish`.
    #[wasm_bindgen(js_name = finishBuiltin)]
    pub fn finish_builtin(
        &mut self,
        verifier: &Verifier,
        required_scopes: Vec<String>,
        realm: &str,
    ) -> String {
        let valid = match (&self.state, self.key, &verifier.provider.keys) {
            (Ok(d), Some(i), KeySource::Local(keys)) => keys.keys.get(i).is_some_and(|k| {
                gatepass_core::crypto::verify(d.alg(), &k.key, d.signing_input(), d.signature())
            }),
            _ => false,
        };
        self.finish(valid, required_scopes, realm)
    }
    /// The verdict with the host's signature check: `{"claims"}` (the payload's JSON text as
    /// `claimsJson`) or the error.
    pub fn finish(
        &mut self,
        signature_valid: bool,
        required_scopes: Vec<String>,
        realm: &str,
    ) -> String {
        let state = std::mem::replace(
            &mut self.state,
            Err(gatepass_core::BearerError::invalid_token(
                "already finished",
            )),
        );
        let result = state
            .and_then(|d| d.finish(signature_valid))
            .and_then(|v| v.require_scopes(&required_scopes).map(|()| v));
        match result {
            // The payload as received: it passed the strict parser (no duplicate members,
            // valid UTF-8), so JSON.parse gives the same claims without a re-serialization.
            Ok(v) => match b64::decode_url(&v.payload_b64) {
                Ok(bytes) => String::from_utf8(bytes)
                    .map(|text| format!("{{\"claims\":{text}}}"))
                    .unwrap_or_else(|_| json!({ "claims": v.claims }).to_string()),
                Err(_) => json!({ "claims": v.claims }).to_string(),
            },
            Err(e) => bearer_error(&e, realm),
        }
    }
}

fn bearer_error(e: &gatepass_core::BearerError, realm: &str) -> String {
    json!({
        "error": e.code_str().unwrap_or("invalid_request"),
        "description": e.description,
        "status": e.status(),
        "wwwAuthenticate": e.www_authenticate(realm),
    })
    .to_string()
}

/// A new private signing JWK (JSON) for `alg` (EdDSA, ES256, RS256, PS256, ...).
#[wasm_bindgen(js_name = generateSigningKey)]
pub fn generate_signing_key(alg: &str, kid: Option<String>) -> Result<String, JsError> {
    let alg = Algorithm::from_name(alg)
        .filter(|a| !a.is_symmetric())
        .ok_or_else(|| {
            js_error(
                "invalid_request",
                format!("unsupported signing algorithm {alg}"),
            )
        })?;
    let mut key = SigningJwk::generate(alg, &mut OsRng).map_err(|e| js_error("server_error", e))?;
    if let Some(k) = kid {
        key.kid = k;
    }
    Ok(key.to_private_json().to_string())
}

/// The public JWKS of private JWKs (a JWK, an array, or `{"keys": [...]}`).
#[wasm_bindgen(js_name = publicJwks)]
pub fn public_jwks(private_json: &str) -> Result<String, JsError> {
    gatepass_core::jwk::public_set_of_private(private_json.as_bytes())
        .map(|set| set.to_string())
        .map_err(|e| js_error("invalid_request", e))
}

/// Whether `id` can be a client identifier at all (1 to 255 visible ASCII characters,
/// `limits::is_client_id`): the host answers any other id from the wire (an RFC 7592 path
/// segment) as an unknown client without asking its store.
#[wasm_bindgen(js_name = isClientId)]
pub fn is_client_id(id: &str) -> bool {
    gatepass_core::limits::is_client_id(id)
}

/// The stored form of a client secret (`sha256:...`).
#[wasm_bindgen(js_name = hashClientSecret)]
pub fn hash_client_secret(secret: &str) -> String {
    SecretHash::of(secret).to_stored()
}

/// A new 256-bit client secret.
#[wasm_bindgen(js_name = generateClientSecret)]
pub fn generate_client_secret() -> String {
    gatepass_core::secret::generate_secret(&mut OsRng)
}
