//! The gatepass flow on the embedded default configuration, step by step, in one process:
//! the same core calls the Envoy filter and the npm package make.
//!
//! Run it with `make demo`. It exits non-zero if any step gives another answer than expected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use gatepass_core::client_assertion::ClientAssertion;
use gatepass_core::client_auth::ReplayOutcome;
use gatepass_core::config::{Provider, ServerConfig};
use gatepass_core::crypto::Algorithm;
use gatepass_core::jwk::SigningJwk;
use gatepass_core::request::{TokenHttpRequest, JWT_BEARER_ASSERTION_TYPE};
use gatepass_core::response::HttpResponse;
use gatepass_core::secret::SecretHash;
use gatepass_core::verify;
use gatepass_core::{b64, exchange, registration};
use rand_core::OsRng;
use serde_json::{json, Value};

const ISSUER: &str = "https://auth.gatepass.local";
const API: &str = "https://orders.gatepass.local";

/// The default configuration; signing keys and secrets are generated at start.
fn default_config(
    signing_key: &SigningJwk,
    billing_secret: &str,
    worker_key: &SigningJwk,
) -> Value {
    json!({
        "issuer": ISSUER,
        "signing_keys": [signing_key.to_private_json()],
        "default_audiences": [API],
        "token_ttl": "300s",
        "registration": { "allowed_scope": "orders:read orders:write", "default_scope": "orders:read",
                          "open_registration": true },
        "clients": [
            { "client_id": "billing", "token_endpoint_auth_method": "client_secret_basic",
              "client_secret_hash": SecretHash::of(billing_secret).to_stored(), "scope": "orders:read" },
            { "client_id": "worker", "token_endpoint_auth_method": "private_key_jwt",
              "jwks": { "keys": [worker_key.public_jwk().to_public_json()] }, "scope": "orders:read orders:write" }
        ]
    })
}

struct Server {
    config: ServerConfig,
    replay: BTreeSet<String>,
    registered: Vec<gatepass_core::client_auth::ClientRecord>,
}

impl Server {
    /// The token exchange, as the Envoy filter runs it: static clients from the config plus
    /// registered ones, and an insert-if-absent replay set.
    fn token(&mut self, authorization: Option<&str>, body: &str, now: u64) -> HttpResponse {
        let Server {
            config,
            replay,
            registered,
        } = self;
        let http = TokenHttpRequest {
            method: "POST",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization,
            body: body.as_bytes(),
        };
        exchange::run(
            config,
            &http,
            |id| {
                config
                    .client(id)
                    .or_else(|| registered.iter().find(|c| c.client_id == id))
            },
            |key, _expires_at| {
                if replay.insert(key.to_string()) {
                    ReplayOutcome::Recorded
                } else {
                    ReplayOutcome::AlreadySeen
                }
            },
            now,
            &mut OsRng,
        )
        .response
    }
}

fn show(step: &str, response: &HttpResponse) {
    println!("\n== {step}");
    println!(
        "<- {} {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    if let Some(w) = response.header("www-authenticate") {
        println!("   www-authenticate: {w}");
    }
}

fn expect(ok: &mut bool, what: &str, condition: bool) {
    println!("   {} {what}", if condition { "ok:" } else { "FAILED:" });
    *ok &= condition;
}

/// The resource server side: what the Envoy filter does for each request.
fn call_api(
    provider: &Provider,
    keys: &gatepass_core::jwk::JwkSet,
    authorization: Option<&str>,
    scopes: &[&str],
    now: u64,
) -> HttpResponse {
    let result = verify::extract_bearer(authorization)
        .and_then(|token| verify::verify_access_token(token, &provider.policy, keys, now))
        .and_then(|verified| verified.require_scopes(scopes).map(|()| verified));
    match result {
        Ok(v) => HttpResponse::json(
            200,
            &json!({"upstream": "orders", "x-client-id": v.client_id, "scopes": v.scopes}),
        ),
        Err(e) => e.to_response("orders"),
    }
}

fn main() -> ExitCode {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signing_key = SigningJwk::generate(Algorithm::EdDSA, &mut OsRng).unwrap();
    let worker_key = SigningJwk::generate(Algorithm::ES256, &mut OsRng).unwrap();
    let billing_secret = gatepass_core::secret::generate_secret(&mut OsRng);
    let config = ServerConfig::from_json(
        &default_config(&signing_key, &billing_secret, &worker_key).to_string(),
    )
    .unwrap();
    let provider = Provider::from_json(
        &json!({
            "issuer": ISSUER,
            "audiences": [API],
            "local_jwks": { "inline_string": config.signing_keys.public_jwks().to_string() },
        })
        .to_string(),
    )
    .unwrap();
    let gatepass_core::config::KeySource::Local(api_keys) = provider.keys.clone() else {
        unreachable!("the demo provider has local keys")
    };
    let mut server = Server {
        config,
        replay: BTreeSet::new(),
        registered: Vec::new(),
    };
    let mut ok = true;
    println!("gatepass demo: issuer {ISSUER}, protected API {API}");

    // 1. client_secret_basic (RFC 6749 §2.3.1).
    let basic = format!(
        "Basic {}",
        b64::encode_standard(format!("billing:{billing_secret}").as_bytes())
    );
    let r = server.token(Some(&basic), "grant_type=client_credentials", now);
    show("POST /oauth/token  client_secret_basic as 'billing'", &r);
    expect(&mut ok, "200 with a Bearer token", r.status == 200);
    let billing_token = r
        .json_body()
        .and_then(|b| b["access_token"].as_str().map(String::from))
        .unwrap_or_default();

    // 2. Call the API with it.
    let auth = format!("Bearer {billing_token}");
    let r = call_api(&provider, &api_keys, Some(&auth), &["orders:read"], now);
    show("GET /orders  (needs orders:read)", &r);
    expect(&mut ok, "200, claims forwarded", r.status == 200);

    // 3. A route needing another scope.
    let r = call_api(&provider, &api_keys, Some(&auth), &["orders:write"], now);
    show("POST /orders  (needs orders:write)", &r);
    expect(
        &mut ok,
        "403 insufficient_scope (RFC 6750 §3.1)",
        r.status == 403
            && r.header("www-authenticate")
                .is_some_and(|w| w.contains("insufficient_scope")),
    );

    // 4. private_key_jwt (RFC 7523) with a single-use assertion.
    let jti = b64::encode_url(&now.to_be_bytes());
    let assertion = ClientAssertion::new("worker", ISSUER, now, 60, jti)
        .sign(&worker_key, &mut OsRng)
        .unwrap();
    let body = format!("grant_type=client_credentials&scope=orders%3Awrite&client_assertion_type={}&client_assertion={assertion}", JWT_BEARER_ASSERTION_TYPE.replace(':', "%3A"));
    let r = server.token(None, &body, now);
    show("POST /oauth/token  private_key_jwt as 'worker'", &r);
    expect(
        &mut ok,
        "200 with a token for orders:write",
        r.status == 200,
    );
    let worker_token = r
        .json_body()
        .and_then(|b| b["access_token"].as_str().map(String::from))
        .unwrap_or_default();
    let r = call_api(
        &provider,
        &api_keys,
        Some(&format!("Bearer {worker_token}")),
        &["orders:write"],
        now,
    );
    show("POST /orders  with the worker's token", &r);
    expect(&mut ok, "200", r.status == 200);

    // 5. The same assertion again.
    let r = server.token(None, &body, now);
    show("POST /oauth/token  the same assertion again", &r);
    expect(
        &mut ok,
        "401 invalid_client (jti already used)",
        r.status == 401 && r.body.windows(14).any(|w| w == b"invalid_client"),
    );

    // 6. A tampered token.
    let mut tampered = billing_token.clone().into_bytes();
    if let Some(b) = tampered.iter_mut().rev().nth(5) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    let r = call_api(
        &provider,
        &api_keys,
        Some(&format!("Bearer {}", String::from_utf8_lossy(&tampered))),
        &["orders:read"],
        now,
    );
    show("GET /orders  with a tampered token", &r);
    expect(
        &mut ok,
        "401 invalid_token",
        r.status == 401
            && r.header("www-authenticate")
                .is_some_and(|w| w.contains("invalid_token")),
    );

    // 7. Dynamic registration (RFC 7591), then a token for the new client.
    let policy = server
        .config
        .registration
        .as_ref()
        .expect("the default config enables registration");
    let access = registration::check_initial_access(policy, None).unwrap();
    let reg = registration::register(
        access,
        br#"{"client_name":"demo-cli","token_endpoint_auth_method":"client_secret_post"}"#,
        &server.config,
        now,
        &mut OsRng,
    )
    .unwrap();
    show("POST /oauth/register  client_secret_post", &reg.response);
    let doc = reg.response.json_body().unwrap();
    server.registered.push(reg.record);
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        doc["client_id"].as_str().unwrap_or_default(),
        doc["client_secret"].as_str().unwrap_or_default()
    );
    let r = server.token(None, &body, now);
    show("POST /oauth/token  as the registered client", &r);
    expect(
        &mut ok,
        "201 then 200",
        reg.response.status == 201 && r.status == 200,
    );

    println!();
    if ok {
        println!("demo: every step answered as expected");
        ExitCode::SUCCESS
    } else {
        println!("demo: a step answered unexpectedly");
        ExitCode::FAILURE
    }
}
