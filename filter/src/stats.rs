//! Envoy stats through proxy-wasm metrics (exposed by Envoy as `wasmcustom.gatepass.*`).

use gatepass_core::gateway::Outcome;

use crate::host;

pub struct Counter(Option<u32>);

impl Counter {
    fn define(name: &str) -> Self {
        Counter(host::define_counter(name))
    }

    pub fn increment(&self) {
        if let Some(id) = self.0 {
            host::increment_counter(id);
        }
    }
}

pub struct Stats {
    pub allowed: Counter,
    pub allowed_cached: Counter,
    pub no_requirement: Counter,
    pub allowed_without_token: Counter,
    pub denied_missing_token: Counter,
    pub denied_invalid_request: Counter,
    pub denied_invalid_token: Counter,
    pub denied_no_keys: Counter,
    pub denied_insufficient_scope: Counter,
    pub tokens_issued: Counter,
    pub client_auth_failed: Counter,
    pub token_requests_refused: Counter,
    pub jwks_fetch_ok: Counter,
    pub jwks_fetch_failed: Counter,
    pub jwks_kid_miss_refetch: Counter,
}

impl Stats {
    pub fn define() -> Self {
        Stats {
            allowed: Counter::define("gatepass.allowed"),
            allowed_cached: Counter::define("gatepass.allowed_cached"),
            no_requirement: Counter::define("gatepass.no_requirement"),
            allowed_without_token: Counter::define("gatepass.allowed_without_token"),
            denied_missing_token: Counter::define("gatepass.denied.missing_token"),
            denied_invalid_request: Counter::define("gatepass.denied.invalid_request"),
            denied_invalid_token: Counter::define("gatepass.denied.invalid_token"),
            denied_no_keys: Counter::define("gatepass.denied.no_keys"),
            denied_insufficient_scope: Counter::define("gatepass.denied.insufficient_scope"),
            tokens_issued: Counter::define("gatepass.token.issued"),
            client_auth_failed: Counter::define("gatepass.token.client_auth_failed"),
            token_requests_refused: Counter::define("gatepass.token.refused"),
            jwks_fetch_ok: Counter::define("gatepass.jwks.fetch_ok"),
            jwks_fetch_failed: Counter::define("gatepass.jwks.fetch_failed"),
            jwks_kid_miss_refetch: Counter::define("gatepass.jwks.kid_miss_refetch"),
        }
    }

    pub fn record(&self, outcome: Outcome) {
        match outcome {
            Outcome::NoRequirement => self.no_requirement.increment(),
            Outcome::AllowedWithoutToken => self.allowed_without_token.increment(),
            Outcome::Allowed => self.allowed.increment(),
            Outcome::AllowedFromCache => {
                self.allowed.increment();
                self.allowed_cached.increment();
            }
            Outcome::DeniedMissingToken => self.denied_missing_token.increment(),
            Outcome::DeniedInvalidRequest => self.denied_invalid_request.increment(),
            Outcome::DeniedInvalidToken => self.denied_invalid_token.increment(),
            Outcome::DeniedNoKeys => self.denied_no_keys.increment(),
            Outcome::DeniedInsufficientScope => self.denied_insufficient_scope.increment(),
        }
    }
}
