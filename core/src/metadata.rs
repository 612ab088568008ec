//! Authorization server metadata (RFC 8414 §2).

use alloc::vec::Vec;
use serde_json::{json, Value};

use crate::client_auth::AuthMethod;
use crate::config::ServerConfig;
use crate::crypto::Algorithm;
use crate::response::HttpResponse;

/// The metadata document for `config`.
pub fn document(config: &ServerConfig) -> Value {
    let methods: Vec<&str> = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::ClientSecretJwt,
        AuthMethod::PrivateKeyJwt,
    ]
    .iter()
    .map(|m| m.name())
    .collect();
    let algs: Vec<&str> = crate::crypto::ALL_ALGORITHMS
        .iter()
        .map(|a: &Algorithm| a.name())
        .collect();
    let mut doc = json!({
        "issuer": config.issuer,
        "token_endpoint": config.token_endpoint,
        "jwks_uri": config.jwks_uri,
        "grant_types_supported": ["client_credentials"],
        // RFC 8414 §2 makes this member REQUIRED; this server has no authorization endpoint,
        // so it supports no response type.
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": methods,
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "scopes_supported": config.scopes_supported,
    });
    if let (Some(endpoint), Value::Object(map)) = (&config.registration_endpoint, &mut doc) {
        map.insert(
            "registration_endpoint".into(),
            Value::String(endpoint.clone()),
        );
    }
    doc
}

/// The metadata response (cacheable for five minutes).
pub fn response(config: &ServerConfig) -> HttpResponse {
    HttpResponse::cacheable_json(&document(config), 300)
}

/// The JWKS response (cacheable for five minutes, so a newly published key is seen soon).
pub fn jwks_response(config: &ServerConfig) -> HttpResponse {
    HttpResponse::cacheable_json(&config.signing_keys.public_jwks(), 300)
}
