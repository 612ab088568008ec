//! Key and secret tooling: every function is one core call.

use gatepass_core::jwk::{Generated, SigningJwk};
use gatepass_core::secret::SecretHash;
use rand_core::OsRng;
use wasm_bindgen::prelude::*;

use crate::js_error;

/// A new private signing JWK for `alg` (EdDSA, ES256, RS256, PS256, ...), as JSON:
/// `{"key": JWK}`, or `{"hostMakesRsa": bits}` for an RSA algorithm — this build makes no RSA
/// keys (no `rsa-keygen`: the prime search is 19 KB of wasm and much slower than the runtime's),
/// so the caller has the runtime generate one and hands it to [`adopt_signing_key`]. The `kid`
/// is the RFC 7638 thumbprint unless one is given.
#[wasm_bindgen(js_name = generateSigningKey)]
pub fn generate_signing_key(alg: &str, kid: Option<String>) -> Result<String, JsError> {
    let answer = SigningJwk::generate_or_ask(alg, kid.as_deref(), &mut OsRng)
        .map_err(|e| js_error("invalid_request", e))?;
    Ok(match answer {
        Generated::Key(key) => serde_json::json!({ "key": key.to_private_json() }),
        Generated::HostMakesRsa { bits } => serde_json::json!({ "hostMakesRsa": bits }),
    }
    .to_string())
}

/// The private signing JWK (JSON) for `alg` from the RSA private JWK the runtime generated,
/// checked as a configured key is.
#[wasm_bindgen(js_name = adoptSigningKey)]
pub fn adopt_signing_key(
    alg: &str,
    kid: Option<String>,
    host_jwk: &str,
) -> Result<String, JsError> {
    SigningJwk::adopt_named(alg, kid.as_deref(), host_jwk.as_bytes())
        .map(|key| key.to_private_json().to_string())
        .map_err(|e| js_error("invalid_request", e))
}

/// The public JWKS of private JWKs (a JWK, an array, or `{"keys": [...]}`).
#[wasm_bindgen(js_name = publicJwks)]
pub fn public_jwks(private_json: &str) -> Result<String, JsError> {
    gatepass_core::jwk::public_set_of_private(private_json.as_bytes())
        .map(|set| set.to_string())
        .map_err(|e| js_error("invalid_request", e))
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
