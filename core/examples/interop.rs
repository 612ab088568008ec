//! Drives gatepass-core from another process, for the Node interop test (tests/interop/).
//!
//! `interop mint` reads `{"alg": "EdDSA"|"ES256"|"RS256"|"PS256"}` and prints a core-minted
//! access token with the public JWKS; `interop check-assertion` reads
//! `{"assertion", "client_jwks", "client_id", "issuer", "now"}` and prints whether core accepts
//! the assertion as a `private_key_jwt` client assertion. Both go through the same public API a
//! host uses: the token pipeline for `mint`, the assertion steps for `check-assertion`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use gatepass_core::client_auth::{self, AssertionPolicy};
use gatepass_core::config::{RawClient, ServerConfig};
use gatepass_core::crypto::Algorithm;
use gatepass_core::jwk::SigningJwk;
use gatepass_core::request::TokenHttpRequest;
use gatepass_core::{b64, exchange};
use rand_core::OsRng;
use serde_json::{json, Value};

const ISSUER: &str = "https://as.gatepass.test";
const AUDIENCE: &str = "https://api.gatepass.test";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn mint(input: &Value) -> Value {
    let alg = Algorithm::from_name(input["alg"].as_str().unwrap()).expect("supported alg");
    let key = SigningJwk::generate(alg, &mut OsRng).unwrap();
    let client_id = format!("interop-client-{alg}");
    let secret = gatepass_core::secret::generate_secret(&mut OsRng);
    let config = ServerConfig::from_json(
        &json!({
            "issuer": ISSUER,
            "signing_keys": [key.to_private_json()],
            "default_audiences": [AUDIENCE],
            "clients": [{
                "client_id": client_id,
                "client_secret_hash": gatepass_core::secret::SecretHash::of(&secret).to_stored(),
                "scope": "orders:read orders:write",
            }],
        })
        .to_string(),
    )
    .unwrap();
    let basic = format!(
        "Basic {}",
        b64::encode_standard(format!("{client_id}:{secret}").as_bytes())
    );
    let http = TokenHttpRequest {
        method: "POST",
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: Some(&basic),
        body: b"grant_type=client_credentials&scope=orders%3Aread",
    };
    // A client_secret_basic client: the replay store is never consulted.
    let issued = exchange::run(
        &config,
        &http,
        |id| config.client(id),
        |_, _| panic!("no assertion, no replay check"),
        now(),
        &mut OsRng,
    )
    .outcome
    .unwrap();
    let issued = issued.issued().unwrap();
    json!({
        "token": issued.access_token,
        "jwks": config.signing_keys.public_jwks(),
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "client_id": client_id,
        "scope": issued.scope,
    })
}

fn check_assertion(input: &Value) -> Value {
    let client_id = input["client_id"].as_str().unwrap().to_string();
    let issuer = input["issuer"].as_str().unwrap();
    let raw = RawClient {
        client_id: client_id.clone(),
        token_endpoint_auth_method: Some("private_key_jwt".into()),
        client_secret_hash: None,
        client_secret: None,
        jwks: Some(input["client_jwks"].clone()),
        token_endpoint_auth_signing_alg: None,
        grant_types: None,
        scope: None,
        audiences: Some(vec![AUDIENCE.into()]),
        ..Default::default()
    };
    let record = match raw.into_record(&[]) {
        Ok(r) => r,
        Err(e) => {
            return json!({"ok": false, "error": "invalid_client_metadata", "error_description": e.to_string()})
        }
    };
    let policy = AssertionPolicy::new(issuer, format!("{issuer}/oauth/token"));
    let now = input["now"].as_u64().unwrap_or_else(now);
    let outcome =
        client_auth::begin_assertion(input["assertion"].as_str().unwrap(), &record, &policy)
            .and_then(|check| check.finish_builtin(&policy, now))
            .and_then(|pending| pending.finish(client_auth::ReplayOutcome::Recorded));
    match outcome {
        Ok(client) => json!({"ok": true, "client_id": client.client_id()}),
        Err(e) => {
            json!({"ok": false, "error": e.code.as_str(), "error_description": e.description})
        }
    }
}

fn main() {
    let command = std::env::args().nth(1).unwrap_or_default();
    let mut stdin = String::new();
    std::io::stdin().read_to_string(&mut stdin).unwrap();
    let input: Value = serde_json::from_str(&stdin).unwrap();
    let output = match command.as_str() {
        "mint" => mint(&input),
        "check-assertion" => check_assertion(&input),
        other => panic!("unknown command {other:?}; use mint or check-assertion"),
    };
    println!("{output}");
}
