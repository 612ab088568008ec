//! Arbitrary bytes as JSON text through `config::FilterConfig::from_json` (the Envoy plugin
//! configuration) and `config::Provider::from_json`: errors are errors, not panics, and an
//! accepted configuration is internally consistent.
#![no_main]

use gatepass_core::config::{FilterConfig, KeySource, Provider};
use gatepass_core::rules::Requirement;
use libfuzzer_sys::fuzz_target;

fn check_provider(p: &Provider) {
    assert!(!p.policy.issuer.is_empty());
    assert!(!p.policy.audiences.is_empty());
    assert!(!p.policy.algorithms.is_empty());
    assert!(!p.from_headers.is_empty());
    for h in &p.from_headers {
        assert_eq!(h.name, h.name.to_ascii_lowercase());
        let _ = h.token("Bearer abc.def.ghi");
    }
    if let KeySource::Local(set) = &p.keys {
        assert!(!set.keys.is_empty());
        let _ = set.to_public_json();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match FilterConfig::from_json(text) {
        Ok(config) => {
            assert!(!config.providers.is_empty() || config.token_endpoint.is_some());
            assert!(!config.realm.is_empty());
            for (_, p) in &config.providers {
                check_provider(p);
            }
            for rule in &config.rules {
                let _ = rule.matches("GET", "/orders/1?x=y");
                match &rule.requirement {
                    Requirement::None => {}
                    Requirement::Token { provider, .. }
                    | Requirement::AllowMissing { provider } => {
                        assert!(*provider < config.providers.len(), "rule names no provider")
                    }
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match Provider::from_json(text) {
        Ok(p) => check_provider(&p),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
