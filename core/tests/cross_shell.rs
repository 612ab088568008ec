//! The cross-shell vectors (tests/vectors/cross-shell/cases.json) give the same verdicts here as
//! in the npm package and the Envoy filter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatepass_core::config::{KeySource, Provider};
use gatepass_core::verify;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

#[test]
fn cross_shell_vectors_give_the_expected_verdicts() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/cross-shell/cases.json"
    );
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
    assert!(cases.len() >= 16);
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
        match (result, case["status"].as_u64().unwrap()) {
            (Ok(()), 200) => {}
            (Ok(()), status) => panic!("{name}: accepted, expected {status}"),
            (Err(e), 200) => panic!("{name}: refused ({e}), expected 200"),
            (Err(e), status) => {
                assert_eq!(u64::from(e.status()), status, "{name}");
                assert_eq!(e.code_str(), case["error"].as_str(), "{name}");
            }
        }
    }
}
