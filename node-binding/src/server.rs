//! The authorization server: core's router ([`gatepass_core::routes`]), token exchange
//! ([`gatepass_core::exchange`]) and registration, each answer as JSON for the JavaScript
//! adapter, which only does the I/O they ask for.

use gatepass_core::client_auth::ReplayOutcome;
use gatepass_core::config::ServerConfig;
use gatepass_core::crypto::Algorithm;
use gatepass_core::exchange::{self, Next};
use gatepass_core::request::TokenHttpRequest;
use gatepass_core::routes::{self, Answer, ClientMethod, Route, StoreChange};
use gatepass_core::{b64, grant, metadata, mint, TokenError};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

use crate::{answer, answer_head, js_error, response_json, verification_jwk};

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

/// A registration endpoint's answer: `{"response", "put"?: {clientId, record}, "delete"?:
/// clientId}`; the host changes its store first, then responds.
fn answer_with_store(a: &Answer) -> String {
    let mut out = json!({ "response": response_json(&a.response) });
    match &a.store {
        StoreChange::None => {}
        StoreChange::Put { client_id, record } => {
            out["put"] = json!({ "clientId": client_id, "record": record });
        }
        StoreChange::Delete { client_id } => out["delete"] = Value::String(client_id.clone()),
    }
    out.to_string()
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
            .and_then(|c| c.require_host_stores().map(|()| c))
            .map_err(|e| js_error("invalid_configuration", e))?;
        Ok(Server {
            config: Rc::new(config),
        })
    }

    /// What a request is (core's router): `{"route": "token"}`, `{"route": "register"}`,
    /// `{"route": "client", "clientId", "method": "GET"|"PUT"|"DELETE"}`, or
    /// `{"response"}` (JWKS, metadata, 404, 405).
    pub fn route(&self, method: &str, path: &str) -> String {
        match routes::route(&self.config, method.as_bytes(), path.as_bytes()) {
            Route::Token => json!({ "route": "token" }).to_string(),
            Route::Introspect => json!({ "route": "introspect" }).to_string(),
            Route::Register => json!({ "route": "register" }).to_string(),
            Route::Client { client_id, method } => {
                let method = match method {
                    ClientMethod::Read => "GET",
                    ClientMethod::Update => "PUT",
                    ClientMethod::Delete => "DELETE",
                };
                json!({ "route": "client", "clientId": client_id, "method": method }).to_string()
            }
            Route::Respond(response) => answer(&response),
        }
    }

    /// The body limit (`max_body_bytes`).
    #[wasm_bindgen(js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> usize {
        self.config.max_body_bytes
    }

    /// The answer to a body over the limit (413).
    #[wasm_bindgen(js_name = tooLarge)]
    pub fn too_large(&self) -> String {
        answer(&routes::too_large())
    }

    /// The answer when the host failed (500 `server_error`).
    #[wasm_bindgen(js_name = internalError)]
    pub fn internal_error(&self) -> String {
        answer(&routes::internal_error())
    }

    /// The answer when a store did not answer (503 `temporarily_unavailable`, `Retry-After`).
    #[wasm_bindgen(js_name = storeUnavailable)]
    pub fn store_unavailable(&self) -> String {
        answer(&routes::store_unavailable())
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
        let token_error = |e: TokenError| js_error(e.code.as_str(), &e.description);
        let grant =
            grant::Grant::decided_by_host(client_id, &scopes, &audiences).map_err(token_error)?;
        let pending = mint::prepare(
            &grant,
            &self.config.signing_keys,
            &settings,
            now as u64,
            fresh_jti(),
        )
        .map_err(token_error)?;
        Ok(HostMint {
            config: Rc::clone(&self.config),
            alg: pending.alg(),
            kid: pending.key().kid.clone(),
            detached: Some(pending.detach()),
        })
    }

    /// Starts a token request (core's [`exchange::TokenExchange`]), or an RFC 7662
    /// introspection request when `introspection`; `TokenExchange.next` says what to do.
    #[wasm_bindgen(js_name = beginToken)]
    pub fn begin_token(
        &self,
        method: &str,
        content_type: Option<String>,
        authorization: Option<String>,
        body: &[u8],
        now: f64,
        introspection: bool,
    ) -> TokenExchange {
        let http = TokenHttpRequest {
            method,
            content_type: content_type.as_deref(),
            authorization: authorization.as_deref(),
            body,
        };
        let inner = if introspection {
            exchange::TokenExchange::begin_introspection(&self.config, &http, now as u64)
        } else {
            exchange::TokenExchange::begin(&self.config, &http, now as u64, fresh_jti())
        };
        TokenExchange {
            inner,
            config: Rc::clone(&self.config),
        }
    }

    /// An operator's change to a stored client record (core's
    /// `ServerConfig::change_stored_client`): the new record, or an error starting with
    /// `invalid_client_change:` that names the field.
    #[wasm_bindgen(js_name = changeClient)]
    pub fn change_client(&self, record_json: &str, change_json: &str) -> Result<String, JsError> {
        self.config
            .change_stored_client(record_json, change_json)
            .map_err(|e| js_error("invalid_client_change", e))
    }

    /// RFC 7591 §3 registration (core's `routes::register`); see `answer_with_store`.
    pub fn register(&self, authorization: Option<String>, body: &[u8], now: f64) -> String {
        answer_with_store(&routes::register(
            &self.config,
            authorization.as_deref(),
            body,
            now as u64,
            &mut OsRng,
        ))
    }

    /// RFC 7592 read, update or delete of `client_id` (core's `routes::manage_client`), with
    /// its stored record (or undefined); see `answer_with_store`.
    #[wasm_bindgen(js_name = manageClient)]
    pub fn manage_client(
        &self,
        client_id: &str,
        method: &str,
        record_json: Option<String>,
        authorization: Option<String>,
        body: &[u8],
    ) -> String {
        let method = match method {
            "GET" => ClientMethod::Read,
            "PUT" => ClientMethod::Update,
            "DELETE" => ClientMethod::Delete,
            // Only the methods `route` gave.
            _ => return answer(&gatepass_core::response::HttpResponse::empty(500)),
        };
        answer_with_store(&routes::manage_client(
            &self.config,
            client_id,
            method,
            record_json.as_deref(),
            authorization.as_deref(),
            body,
        ))
    }
}

/// One token request in progress: core's state machine, each step answering what comes next
/// (`next`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct TokenExchange {
    inner: exchange::TokenExchange,
    config: Rc<ServerConfig>,
}

#[wasm_bindgen]
impl TokenExchange {
    /// What the host does next, as JSON: `{"response": {status, headers}}` (send it with
    /// `responseBody`: the exchange is over),
    /// `{"loadClient": id}` (then `clientLoaded`), `{"verify": {alg, jwk, input, signature}}`
    /// (then `signatureChecked` or `checkSignatureBuiltin`), `{"replay": {key, expiresAt}}`
    /// (insert-if-absent, then `replayRecorded`), or `{"sign": {alg, kid}}` (sign `signingInput`
    /// with `Server.signingKey(kid)`, then `signed` or `signBuiltin`). Every step answers the
    /// same.
    pub fn next(&self) -> String {
        match self.inner.next() {
            // The body is fetched apart (`responseBody`): a token response is several hundred
            // bytes of JSON that would otherwise be escaped into this text and parsed back.
            Next::Respond(response) => answer_head(response),
            Next::LoadClient(id) => json!({ "loadClient": id }).to_string(),
            Next::CheckSignature(check) => json!({ "verify": {
                "alg": check.alg.name(),
                "jwk": verification_jwk(check.key),
                "input": String::from_utf8_lossy(check.signing_input),
                "signature": b64::encode_url(check.signature),
            }})
            .to_string(),
            Next::RecordReplay { key, expires_at } => {
                json!({ "replay": { "key": key, "expiresAt": expires_at } }).to_string()
            }
            // The signing input is fetched apart as bytes (`signingInput`), what the signers take.
            Next::Sign { alg, kid, .. } => json!({ "sign": {
                "alg": alg.name(),
                "kid": kid,
            }})
            .to_string(),
        }
    }

    /// The body of the `{"response"}` step (UTF-8 text); empty in any other step.
    #[wasm_bindgen(js_name = responseBody)]
    pub fn response_body(&self) -> String {
        match self.inner.next() {
            Next::Respond(response) => String::from_utf8_lossy(&response.body).into_owned(),
            _ => String::new(),
        }
    }

    /// The bytes to sign in the `{"sign"}` step; empty in any other step.
    #[wasm_bindgen(js_name = signingInput)]
    pub fn signing_input(&self) -> Vec<u8> {
        match self.inner.next() {
            Next::Sign { input, .. } => input.to_vec(),
            _ => Vec::new(),
        }
    }

    /// The client store's record (JSON text) for `loadClient`, or undefined.
    #[wasm_bindgen(js_name = clientLoaded)]
    pub fn client_loaded(&mut self, record_json: Option<String>) -> String {
        self.inner
            .stored_client_loaded(&self.config, record_json.as_deref());
        self.next()
    }

    /// The host's verdict on the assertion signature.
    #[wasm_bindgen(js_name = signatureChecked)]
    pub fn signature_checked(&mut self, valid: bool) -> String {
        self.inner.signature_checked(&self.config, valid);
        self.next()
    }

    /// Checks the assertion signature with core's primitives (algorithms WebCrypto lacks).
    #[wasm_bindgen(js_name = checkSignatureBuiltin)]
    pub fn check_signature_builtin(&mut self) -> String {
        self.inner.check_signature_builtin(&self.config);
        self.next()
    }

    /// The replay store's answer: `true` if the key was absent and is now recorded.
    #[wasm_bindgen(js_name = replayRecorded)]
    pub fn replay_recorded(&mut self, recorded: bool) -> String {
        let outcome = if recorded {
            ReplayOutcome::Recorded
        } else {
            ReplayOutcome::AlreadySeen
        };
        self.inner.replay_recorded(&self.config, outcome);
        self.next()
    }

    /// The replay store did not answer (it threw or timed out): the request is refused, 503
    /// `temporarily_unavailable` (the assertion may have been recorded: the client retries
    /// with a new one).
    #[wasm_bindgen(js_name = replayUnavailable)]
    pub fn replay_unavailable(&mut self) -> String {
        self.inner
            .replay_recorded(&self.config, ReplayOutcome::Unavailable);
        self.next()
    }

    /// The host's signature over `sign.input` (ECDSA as WebCrypto's raw `r || s`).
    pub fn signed(&mut self, signature: &[u8]) -> String {
        self.inner.signed(&self.config, signature);
        self.next()
    }

    /// Signs with core's primitives.
    #[wasm_bindgen(js_name = signBuiltin)]
    pub fn sign_builtin(&mut self) -> String {
        self.inner.sign_builtin(&self.config, &mut OsRng);
        self.next()
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
