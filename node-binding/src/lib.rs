//! wasm-bindgen glue for the npm package `gatepass`: thin wrappers over `gatepass-core`.
//!
//! JSON text crosses the boundary (configuration, client records, responses); every decision is
//! a core call. The JavaScript side (`node-binding/js/`) does the I/O: it reads bodies, awaits
//! the user's stores and WebCrypto between the steps core asks for, and writes responses.
//!
//! * [`server`]: the authorization server (routes, token exchange, registration, host mint);
//! * [`verifier`]: access-token verification for a resource server;
//! * [`keys`]: key and secret tooling.

use gatepass_core::b64;
use gatepass_core::crypto::PublicKey;
use gatepass_core::jwk::Jwk;
use gatepass_core::response::HttpResponse;
use serde_json::{json, Value};
use wasm_bindgen::JsError;

pub mod keys;
pub mod server;
pub mod verifier;

/// A core response as `{status, headers, body}`.
fn response_json(r: &HttpResponse) -> Value {
    json!({
        "status": r.status,
        "headers": r.headers,
        "body": String::from_utf8_lossy(&r.body),
    })
}

/// `{"response": ...}`: the host sends this response.
fn answer(r: &HttpResponse) -> String {
    json!({ "response": response_json(r) }).to_string()
}

/// `{"response": {status, headers}}`: the host sends this response with the body it fetches
/// apart (the token exchange: every token request ends here).
fn answer_head(r: &HttpResponse) -> String {
    json!({ "response": { "status": r.status, "headers": r.headers } }).to_string()
}

fn js_error(code: &str, message: impl std::fmt::Display) -> JsError {
    JsError::new(&format!("{code}: {message}"))
}

/// The JWK a host imports to check a signature itself (WebCrypto `importKey("jwk", ...)`):
/// the public key, or for HMAC the shared secret as an `oct` key.
fn verification_jwk(key: &Jwk) -> Value {
    match &key.key {
        PublicKey::Oct(secret) => json!({ "kty": "oct", "k": b64::encode_url(secret) }),
        _ => key.to_public_json().unwrap_or(Value::Null),
    }
}
