//! Arbitrary bytes as JSON text through `config::ServerConfig::from_json` and
//! `config::RawStoredClient::record_from_json`: a bad configuration is an error naming a field,
//! never a panic; an accepted one survives the round trips a host does (client records
//! stored and read back, the published JWKS read by a resource server).
#![no_main]

use gatepass_core::config::{RawStoredClient, ServerConfig};
use gatepass_core::jwk::{JwkSet, SetStrictness};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ServerConfig::from_json(text) {
        Ok(config) => {
            assert!(config.signing_keys.active().is_some());
            for c in &config.clients {
                assert_eq!(
                    config.client(&c.client_id).map(|r| &r.client_id),
                    Some(&c.client_id)
                );
                // A client record stored by a client store and read back is the same record.
                let stored = c.to_json();
                let again = RawStoredClient::record_from_json(&stored, &config.default_audiences)
                    .unwrap_or_else(|e| panic!("stored client {stored} refused: {e}"));
                assert_eq!(
                    again.to_json(),
                    stored,
                    "client record round trip changed it"
                );
            }
            // The published JWKS is a valid strict key set with the same keys.
            let jwks = serde_json::to_vec(&config.signing_keys.public_jwks()).expect("serialize");
            let set = JwkSet::from_json(&jwks, SetStrictness::Strict, false)
                .unwrap_or_else(|e| panic!("published JWKS refused: {e}"));
            assert_eq!(set.keys.len(), config.signing_keys.keys().len());
            let verification = config.signing_keys.verification_set();
            assert_eq!(verification.keys.len(), set.keys.len());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let audiences = ["https://api.example".to_string()];
    match RawStoredClient::record_from_json(text, &audiences) {
        Ok(record) => {
            let stored = record.to_json();
            let again = RawStoredClient::record_from_json(&stored, &audiences)
                .unwrap_or_else(|e| panic!("stored client {stored} refused: {e}"));
            assert_eq!(
                again.to_json(),
                stored,
                "client record round trip changed it"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
