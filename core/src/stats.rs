//! The counters an Envoy shell keeps, named once for every shell (the proxy-wasm filter shows
//! them as `wasmcustom.<name>`, the native module as `dynamicmodulescustom.<name>`).

use crate::exchange::Tally;
use crate::gateway::Outcome;

/// One counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Requests let through with a verified token (fresh or cached).
    Allowed,
    /// Of those, the ones whose token came from the cache.
    AllowedCached,
    /// Requests no rule asked a token of.
    NoRequirement,
    /// `allow_missing` requests without a token.
    AllowedWithoutToken,
    /// Refused: no token where one is required.
    DeniedMissingToken,
    /// Refused: a malformed request (RFC 6750 `invalid_request`).
    DeniedInvalidRequest,
    /// Refused: an invalid token.
    DeniedInvalidToken,
    /// Refused: the provider's keys were never loaded.
    DeniedNoKeys,
    /// Refused: a valid token without a required scope.
    DeniedInsufficientScope,
    /// Token endpoint: a token issued.
    TokenIssued,
    /// Token endpoint: client authentication failed.
    TokenClientAuthFailed,
    /// Token endpoint: any other refusal.
    TokenRefused,
    /// Token endpoint: the replay store did not answer (503, fail closed).
    TokenStoreUnavailable,
    /// A remote JWKS fetch brought a usable set.
    JwksFetchOk,
    /// A remote JWKS fetch failed (the last good set is kept).
    JwksFetchFailed,
    /// An unknown `kid` asked for a refetch.
    JwksKidMissRefetch,
    /// Introspection: answered `"active": true`.
    IntrospectionActive,
    /// Introspection: answered `"active": false`.
    IntrospectionInactive,
    /// Introspection: refused (the caller's authentication failed, it may not introspect, a
    /// malformed request, a store that did not answer).
    IntrospectionRefused,
}

impl Stat {
    /// Every counter, in a fixed order ([`Stat::index`]).
    pub const ALL: [Stat; 19] = [
        Stat::Allowed,
        Stat::AllowedCached,
        Stat::NoRequirement,
        Stat::AllowedWithoutToken,
        Stat::DeniedMissingToken,
        Stat::DeniedInvalidRequest,
        Stat::DeniedInvalidToken,
        Stat::DeniedNoKeys,
        Stat::DeniedInsufficientScope,
        Stat::TokenIssued,
        Stat::TokenClientAuthFailed,
        Stat::TokenRefused,
        Stat::TokenStoreUnavailable,
        Stat::JwksFetchOk,
        Stat::JwksFetchFailed,
        Stat::JwksKidMissRefetch,
        Stat::IntrospectionActive,
        Stat::IntrospectionInactive,
        Stat::IntrospectionRefused,
    ];

    /// The counter's name.
    pub fn name(self) -> &'static str {
        match self {
            Stat::Allowed => "gatepass.allowed",
            Stat::AllowedCached => "gatepass.allowed_cached",
            Stat::NoRequirement => "gatepass.no_requirement",
            Stat::AllowedWithoutToken => "gatepass.allowed_without_token",
            Stat::DeniedMissingToken => "gatepass.denied.missing_token",
            Stat::DeniedInvalidRequest => "gatepass.denied.invalid_request",
            Stat::DeniedInvalidToken => "gatepass.denied.invalid_token",
            Stat::DeniedNoKeys => "gatepass.denied.no_keys",
            Stat::DeniedInsufficientScope => "gatepass.denied.insufficient_scope",
            Stat::TokenIssued => "gatepass.token.issued",
            Stat::TokenClientAuthFailed => "gatepass.token.client_auth_failed",
            Stat::TokenRefused => "gatepass.token.refused",
            Stat::TokenStoreUnavailable => "gatepass.token.store_unavailable",
            Stat::JwksFetchOk => "gatepass.jwks.fetch_ok",
            Stat::JwksFetchFailed => "gatepass.jwks.fetch_failed",
            Stat::JwksKidMissRefetch => "gatepass.jwks.kid_miss_refetch",
            Stat::IntrospectionActive => "gatepass.introspection.active",
            Stat::IntrospectionInactive => "gatepass.introspection.inactive",
            Stat::IntrospectionRefused => "gatepass.introspection.refused",
        }
    }

    /// The counter's position in [`Stat::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Outcome {
    /// The counters an enforcement outcome increments.
    pub fn stats(self) -> &'static [Stat] {
        match self {
            Outcome::NoRequirement => &[Stat::NoRequirement],
            Outcome::AllowedWithoutToken => &[Stat::AllowedWithoutToken],
            Outcome::Allowed => &[Stat::Allowed],
            Outcome::AllowedFromCache => &[Stat::Allowed, Stat::AllowedCached],
            Outcome::DeniedMissingToken => &[Stat::DeniedMissingToken],
            Outcome::DeniedInvalidRequest => &[Stat::DeniedInvalidRequest],
            Outcome::DeniedInvalidToken => &[Stat::DeniedInvalidToken],
            Outcome::DeniedNoKeys => &[Stat::DeniedNoKeys],
            Outcome::DeniedInsufficientScope => &[Stat::DeniedInsufficientScope],
        }
    }
}

impl Tally {
    /// The counter a finished token request increments.
    pub fn stat(self) -> Stat {
        match self {
            Tally::Issued => Stat::TokenIssued,
            Tally::ClientAuthFailed => Stat::TokenClientAuthFailed,
            Tally::StoreUnavailable => Stat::TokenStoreUnavailable,
            Tally::Refused => Stat::TokenRefused,
            Tally::IntrospectionActive => Stat::IntrospectionActive,
            Tally::IntrospectionInactive => Stat::IntrospectionInactive,
            Tally::IntrospectionRefused => Stat::IntrospectionRefused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;

    #[test]
    fn every_counter_has_its_own_name_and_index() {
        let names: BTreeSet<&str> = Stat::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), Stat::ALL.len());
        for (i, s) in Stat::ALL.iter().enumerate() {
            assert_eq!(s.index(), i);
            assert!(s.name().starts_with("gatepass."));
        }
        assert_eq!(
            Outcome::AllowedFromCache.stats(),
            &[Stat::Allowed, Stat::AllowedCached]
        );
        assert_eq!(
            Tally::ClientAuthFailed.stat().name(),
            "gatepass.token.client_auth_failed"
        );
    }
}
