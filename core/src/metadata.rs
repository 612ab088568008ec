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
        // RFC 8414 §2 with RFC 7662 §4: the caller authenticates as at the token endpoint.
        "introspection_endpoint": config.introspection_endpoint,
        "introspection_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwk::SigningJwk;
    use alloc::string::ToString;
    use rand_chacha::rand_core::SeedableRng;

    fn config(issuer: &str, registration: bool) -> ServerConfig {
        let key = SigningJwk::generate(
            Algorithm::EdDSA,
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(1),
        )
        .unwrap();
        let mut doc = json!({
            "issuer": issuer,
            "signing_keys": [key.to_private_json()],
            "default_audiences": ["https://api.example"],
            "clients": [{"client_id": "c", "client_secret_hash": crate::secret::SecretHash::of("x").to_stored(), "scope": "read write"}],
        });
        if registration {
            doc["registration"] =
                json!({"allowed_scope": "read write admin", "open_registration": true});
        }
        ServerConfig::from_json(&doc.to_string()).unwrap()
    }

    #[test]
    fn metadata_follows_rfc8414_section_2() {
        let config = config("https://as.example", true);
        let response = response(&config);
        assert_eq!(response.status, 200);
        let doc = response.json_body().unwrap();
        // RFC 8414 §2: issuer, and the endpoints derived from it.
        assert_eq!(doc["issuer"], "https://as.example");
        assert_eq!(doc["token_endpoint"], "https://as.example/oauth/token");
        assert_eq!(doc["jwks_uri"], "https://as.example/.well-known/jwks.json");
        assert_eq!(
            doc["registration_endpoint"],
            "https://as.example/oauth/register"
        );
        assert_eq!(doc["grant_types_supported"], json!(["client_credentials"]));
        assert_eq!(doc["response_types_supported"], json!([]));
        let methods = doc["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap();
        for m in [
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
        ] {
            assert!(methods.iter().any(|v| v == m), "{m}");
        }
        assert!(!doc["token_endpoint_auth_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "none"));
        assert_eq!(doc["scopes_supported"], json!(["read", "write", "admin"]));
        // RFC 8414 §3.1: the well-known path for an issuer without a path component.
        assert_eq!(
            config.metadata_path,
            "/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn issuer_with_a_path_gets_the_rfc8414_section_3_1_metadata_path() {
        let config = config("https://as.example/tenant1", false);
        assert_eq!(
            config.metadata_path,
            "/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(
            config.token_endpoint,
            "https://as.example/tenant1/oauth/token"
        );
        assert_eq!(config.token_path, "/tenant1/oauth/token");
        let doc = document(&config);
        assert!(
            doc.get("registration_endpoint").is_none(),
            "registration is off"
        );
    }

    #[test]
    fn jwks_response_publishes_only_public_members() {
        let config = config("https://as.example", false);
        let response = jwks_response(&config);
        let doc = response.json_body().unwrap();
        let key = &doc["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert!(key.get("d").is_none());
        assert_eq!(
            key["kid"],
            config.signing_keys.active().unwrap().kid.as_str()
        );
    }
}
