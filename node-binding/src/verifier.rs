//! Access-token verification for a resource server: core parses the token, picks the key and
//! checks the claims; the host checks the signature (WebCrypto, or core's primitives) in between.

use gatepass_core::config::{KeySource, Provider};
use gatepass_core::verify;
use serde_json::json;
use wasm_bindgen::prelude::*;

use crate::{js_error, verification_jwk};

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
        required_claims: Vec<String>,
        realm: &str,
    ) -> String {
        let valid = match (&self.state, self.key, &verifier.provider.keys) {
            (Ok(d), Some(i), KeySource::Local(keys)) => keys.keys.get(i).is_some_and(|k| {
                gatepass_core::crypto::verify(d.alg(), &k.key, d.signing_input(), d.signature())
            }),
            _ => false,
        };
        self.finish(valid, required_scopes, required_claims, realm)
    }
    /// The verdict with the host's signature check: `{"claims"}` (the payload's JSON text as
    /// `claimsJson`) or the error. `required_claims` is name, value, name, value, ...: each
    /// claim must equal its value or be an array holding it (core's `require_claims`).
    pub fn finish(
        &mut self,
        signature_valid: bool,
        required_scopes: Vec<String>,
        required_claims: Vec<String>,
        realm: &str,
    ) -> String {
        let required_claims: Vec<(String, String)> = required_claims
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect();
        let state = std::mem::replace(
            &mut self.state,
            Err(gatepass_core::BearerError::invalid_token(
                "already finished",
            )),
        );
        let result = state.and_then(|mut d| {
            let payload = d.take_payload();
            d.finish(signature_valid).and_then(|v| {
                v.require_scopes(&required_scopes)
                    .and_then(|()| v.require_claims(&required_claims, &required_scopes))
                    .map(|()| (v, payload))
            })
        });
        match result {
            // The payload as received: it passed the strict parser (no duplicate members,
            // valid UTF-8), so JSON.parse gives the same claims without a re-serialization.
            Ok((v, payload)) => match std::str::from_utf8(&payload) {
                Ok(text) => format!("{{\"claims\":{text}}}"),
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
