//! The cross-shell vectors (tests/vectors/cross-shell/cases.json) give the same verdicts here as
//! in the npm package and the Envoy filter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatepass_core::config::{KeySource, Provider};
use gatepass_core::verify;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// Every case of a token-vector file (`{provider, cases}`) gets its expected verdict.
fn check_token_vectors(relative: &str, at_least: usize) {
    let path = format!("{}/../tests/vectors/{relative}", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let provider = Provider::from_json(&doc["provider"].to_string()).unwrap();
    let KeySource::Local(keys) = &provider.keys else {
        panic!("local keys")
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= at_least, "{relative}: {} cases", cases.len());
    let mut mismatches = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let scopes: Vec<String> = serde_json::from_value(case["scopes"].clone()).unwrap();
        let result = verify::verify_access_token(
            case["token"].as_str().unwrap(),
            &provider.policy,
            keys,
            now,
        )
        .and_then(|v| v.require_scopes(&scopes));
        let got = match &result {
            Ok(()) => (200, None),
            Err(e) => (u64::from(e.status()), e.code_str()),
        };
        let want = (case["status"].as_u64().unwrap(), case["error"].as_str());
        if std::env::var_os("SHOW_REASONS").is_some() {
            let why = result.as_ref().err().map(|e| e.description.to_string());
            eprintln!("{name}: {got:?} {why:?}");
        }
        if got != want {
            mismatches.push(format!(
                "{name}: got {got:?} ({result:?}), expected {want:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn cross_shell_vectors_give_the_expected_verdicts() {
    check_token_vectors("cross-shell/cases.json", 16);
}

/// The attack vectors (tests/vectors/attacks/tokens.json): alg none, algorithm confusion,
/// r = s = 0, embedded keys, crit/b64, duplicates, non-canonical base64url, size and nesting
/// bounds, wrong typ, time and audience claims — each refused with its RFC 6750 answer.
#[test]
fn attack_vectors_are_refused_with_the_expected_answers() {
    check_token_vectors("attacks/tokens.json", 50);
}

/// The client-assertion vectors (tests/vectors/cross-shell/assertions.json): token and
/// introspection requests answered in order by one server with one replay store, on the file's
/// clock.
#[test]
fn cross_shell_assertion_requests_get_the_expected_answers() {
    use gatepass_core::client_auth::ReplayOutcome;
    use gatepass_core::config::ServerConfig;
    use gatepass_core::exchange;
    use gatepass_core::request::TokenHttpRequest;
    use rand_chacha::rand_core::SeedableRng;
    use std::collections::HashSet;

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/cross-shell/assertions.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let config = ServerConfig::from_json(&doc["server"].to_string()).unwrap();
    let now = doc["now"].as_u64().unwrap();
    let mut seen: HashSet<String> = HashSet::new();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let requests = doc["requests"].as_array().unwrap();
    assert!(requests.len() >= 54);
    let mut mismatches = Vec::new();
    for case in requests {
        let name = case["name"].as_str().unwrap();
        let http = TokenHttpRequest {
            method: "POST",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: case["authorization"].as_str(),
            body: case["body"].as_str().unwrap().as_bytes(),
        };
        let mut exchange = if case["path"] == "/oauth/introspect" {
            exchange::TokenExchange::begin_introspection(&config, &http, now)
        } else {
            exchange::TokenExchange::begin(&config, &http, now, [9; 16])
        };
        let crypto = exchange::HostCrypto {
            verify: &|c| c.verify_builtin(),
            sign: &|_, _, _| None,
        };
        let response = loop {
            match exchange::advance(
                &mut exchange,
                &config,
                |id| config.client(id),
                &crypto,
                &mut rng,
            ) {
                exchange::Advanced::Over(done) => break done.response,
                exchange::Advanced::RecordReplay { key, .. } => {
                    let outcome = if seen.insert(key) {
                        ReplayOutcome::Recorded
                    } else {
                        ReplayOutcome::AlreadySeen
                    };
                    exchange.replay_recorded(&config, outcome);
                }
            }
        };
        let body: Value = serde_json::from_slice(&response.body).unwrap();
        let got = (u64::from(response.status), body["error"].as_str());
        let want = (case["status"].as_u64().unwrap(), case["error"].as_str());
        if std::env::var_os("SHOW_REASONS").is_some() {
            eprintln!("{name}: {got:?} {:?}", body["error_description"].as_str());
        }
        if got != want {
            mismatches.push(format!("{name}: got {got:?}, expected {want:?}"));
        }
        if got.0 == 200 && case["active"].is_null() {
            assert!(body["access_token"].as_str().is_some(), "{name}");
        }
        if body["active"] != case["active"] && !(case["active"].is_null() && got.0 != 200) {
            mismatches.push(format!(
                "{name}: active {}, expected {}",
                body["active"], case["active"]
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
