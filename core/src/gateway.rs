//! The gateway decision for one request, as the Envoy filter makes it: which rule applies,
//! where the token is, whether it is valid (from the verified-token cache or the verifier),
//! whether it carries the rule's scopes, and which headers to remove and set before the
//! request goes upstream. The filter only reads headers for this module and applies what it
//! returns.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::cache::{self, TokenCache};
use crate::config::{FilterConfig, KeySource};
use crate::error::TokenError;
use crate::error::{BearerError, BearerErrorCode};
use crate::exchange::TokenExchange;
use crate::jwk::JwkSet;
use crate::jws::SignatureCheck;
use crate::request::TokenHttpRequest;
use crate::response::HttpResponse;
use crate::routes::{self, Endpoint};
use crate::rules::{requirement_for, Requirement};
use crate::verify::{self, VerifiedAccessToken};

/// A request's head as the host hands it over: untrusted bytes, nothing assumed about UTF-8
/// (DESIGN.md principle 6). Names are compared as Envoy gives them (lower case).
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// `:method`.
    pub method: &'a [u8],
    /// `:path` (with its query string).
    pub path: &'a [u8],
    /// Every request header (name, value) in order, repeated names kept.
    pub headers: &'a [(&'a [u8], &'a [u8])],
}

impl<'a> RequestHead<'a> {
    /// The head of a request whose headers a host hands over as name/value byte pairs with the
    /// HTTP/2 pseudo-headers among them (`:method`, `:path`: how Envoy presents every request,
    /// HTTP/1.1 included). A missing pseudo-header reads as empty.
    pub fn from_pairs(pairs: &'a [(&'a [u8], &'a [u8])]) -> Self {
        let pseudo = |name: &[u8]| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(&b""[..], |(_, v)| *v)
        };
        RequestHead {
            method: pseudo(b":method"),
            path: pseudo(b":path"),
            headers: pairs,
        }
    }

    /// The values of the header `name` (lower case), in order.
    pub fn values(&self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let headers = self.headers;
        headers
            .iter()
            .filter(move |(n, _)| *n == name.as_bytes())
            .map(|(_, v)| *v)
    }

    /// The value of the header `name` if it is present exactly once.
    pub fn single(&self, name: &'a str) -> Option<&'a [u8]> {
        let mut values = self.values(name);
        match (values.next(), values.next()) {
            (Some(v), None) => Some(v),
            _ => None,
        }
    }
}

/// A header name as many upstreams read it: ASCII lower case, `_` folded into `-` (CGI/WSGI,
/// Rack and several frameworks turn `x_client_id` into `X-Client-Id`). Two names with the same
/// folded form reach such an upstream as the same header.
fn folds_to(name: &[u8], folded: &[u8]) -> bool {
    name.len() == folded.len()
        && name.iter().zip(folded).all(|(&a, &b)| {
            let a = if a == b'_' {
                b'-'
            } else {
                a.to_ascii_lowercase()
            };
            a == b
        })
}

fn fold(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b == b'_' {
                '-'
            } else {
                char::from(b.to_ascii_lowercase())
            }
        })
        .collect()
}

/// The headers of a token request, kept (as bytes) while its body is buffered: what the token
/// endpoint reads of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequestHead {
    /// `:method`.
    pub method: Vec<u8>,
    /// `Content-Type`.
    pub content_type: Option<Vec<u8>>,
    /// `Authorization`; repeated values are joined with `,` as an HTTP/1 proxy joins them,
    /// which the token request parser then refuses as malformed credentials.
    pub authorization: Option<Vec<u8>>,
    /// An RFC 7662 introspection request rather than a token request.
    pub introspection: bool,
}

impl TokenRequestHead {
    /// Copies what the token endpoint reads out of the request head.
    pub fn of(head: &RequestHead<'_>) -> Self {
        let joined = |name: &'static str| {
            let mut values = head.values(name);
            let first = values.next()?;
            let mut out = first.to_vec();
            for v in values {
                out.push(b',');
                out.extend_from_slice(v);
            }
            Some(out)
        };
        TokenRequestHead {
            method: head.method.to_vec(),
            content_type: joined("content-type"),
            authorization: joined("authorization"),
            introspection: false,
        }
    }

    /// Starts core's exchange for the complete request with its `body`: a token request or an
    /// introspection request, by the endpoint it came to. Headers that are not text end it at
    /// once with their error (nothing to ask the host).
    pub fn exchange(
        &self,
        server: &crate::config::ServerConfig,
        body: &[u8],
        now: u64,
        jti: [u8; 16],
    ) -> TokenExchange {
        match self.with_body(body) {
            Ok(http) if self.introspection => {
                TokenExchange::begin_introspection(server, &http, now)
            }
            Ok(http) => TokenExchange::begin(server, &http, now, jti),
            Err(e) => TokenExchange::refused(server, e, self.introspection),
        }
    }

    /// The token request with its `body`, checked as bytes
    /// ([`TokenHttpRequest::from_bytes`]).
    pub fn with_body<'b>(&'b self, body: &'b [u8]) -> Result<TokenHttpRequest<'b>, TokenError> {
        TokenHttpRequest::from_bytes(
            &self.method,
            self.content_type.as_deref(),
            self.authorization.as_deref(),
            body,
        )
    }
}

/// What the filter does with a request whose headers arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// A token request: remove these headers (the filter's own, their look-alikes and the
    /// client's `Authorization`), buffer the body, and answer it locally when the
    /// request ends (with its body, or with trailers). It never continues upstream.
    TokenEndpoint {
        /// Inbound copies of the filter's own headers (see [`Decision::Forward`]).
        remove: Vec<String>,
        /// What the endpoint reads of the headers, kept until the body has come.
        request: TokenRequestHead,
    },
    /// Answer locally (the JWKS, the metadata, or 405 for another method).
    Respond(HttpResponse),
    /// Enforcement: call [`Gateway::decide`].
    Enforce,
}

/// Why a request was let through or refused (for the filter's stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No rule asked for a token.
    NoRequirement,
    /// `allow_missing` and no token was sent.
    AllowedWithoutToken,
    /// A valid token with the required scopes (verified now).
    Allowed,
    /// A valid token with the required scopes, found in the cache.
    AllowedFromCache,
    /// No token where one is required.
    DeniedMissingToken,
    /// Malformed request (RFC 6750 `invalid_request`).
    DeniedInvalidRequest,
    /// Invalid token.
    DeniedInvalidToken,
    /// The provider has no key set yet (remote JWKS never loaded).
    DeniedNoKeys,
    /// Valid token without a required scope.
    DeniedInsufficientScope,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Answer locally with this response.
    Respond {
        /// The response.
        response: HttpResponse,
        /// For stats.
        outcome: Outcome,
        /// The token's `kid` was not in the provider's key set (a remote set may be refetched).
        unknown_kid_of_provider: Option<usize>,
    },
    /// Send upstream after removing and setting these request headers.
    Forward {
        /// Header names to remove (inbound copies of headers this filter sets, RFC 9700
        /// §4.13-style spoofing protection, and the token header when `forward` is false).
        remove: Vec<String>,
        /// Headers to set.
        set: Vec<(String, String)>,
        /// For stats.
        outcome: Outcome,
    },
}

/// Where verified tokens are kept between requests: [`TokenCache`] for one worker, or a
/// concurrent cache a native host shares between its workers (a handle implementing this).
pub trait VerifiedTokens {
    /// The token cached under `key`, still valid at `now`.
    fn get(&mut self, key: &cache::CacheKey, now: u64) -> Option<Arc<VerifiedAccessToken>>;
    /// Caches `token` under `key` until `valid_until` (Unix seconds).
    fn insert(
        &mut self,
        key: cache::CacheKey,
        token: Arc<VerifiedAccessToken>,
        valid_until: u64,
        now: u64,
    );
}

impl VerifiedTokens for TokenCache {
    fn get(&mut self, key: &cache::CacheKey, now: u64) -> Option<Arc<VerifiedAccessToken>> {
        TokenCache::get(self, key, now)
    }
    fn insert(
        &mut self,
        key: cache::CacheKey,
        token: Arc<VerifiedAccessToken>,
        valid_until: u64,
        now: u64,
    ) {
        TokenCache::insert(self, key, token, valid_until, now)
    }
}

/// The gateway's decisions for one checked configuration, without state of its own: it can be
/// shared by every worker of a host (the native Envoy module); the verified-token cache and
/// the signature check are the caller's ([`Enforcer::decide`]).
#[derive(Debug)]
pub struct Enforcer {
    config: FilterConfig,
    /// Every header name the filter sets (folded, see [`folds_to`]): removed from every
    /// inbound request under any spelling that folds to it.
    owned_headers: Vec<String>,
    /// Per provider (same index): its token header names, folded. Computed once here rather
    /// than on every request.
    token_headers: Vec<Vec<String>>,
}

/// Per-worker gateway state: the [`Enforcer`] and its own verified-token cache, signatures
/// checked by core's primitives (the proxy-wasm filter).
#[derive(Debug)]
pub struct Gateway {
    enforcer: Enforcer,
    cache: TokenCache,
}

impl Gateway {
    /// A gateway for a checked configuration, with a cache of `jwt_cache_size` tokens.
    pub fn new(config: FilterConfig) -> Self {
        Gateway {
            cache: TokenCache::new(config.jwt_cache_size),
            enforcer: Enforcer::new(config),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FilterConfig {
        self.enforcer.config()
    }

    /// See [`Enforcer::route`].
    pub fn route(&self, head: &RequestHead<'_>) -> Route {
        self.enforcer.route(head)
    }

    /// [`Enforcer::decide`] with this gateway's cache and core's signature primitives.
    pub fn decide<'k>(
        &mut self,
        head: &RequestHead<'_>,
        remote_keys: &dyn Fn(usize) -> Option<&'k JwkSet>,
        now: u64,
    ) -> Decision {
        self.enforcer.decide(
            head,
            remote_keys,
            now,
            &mut self.cache,
            &|check: &SignatureCheck<'_>| check.verify_builtin(),
        )
    }
}

impl Enforcer {
    /// The decisions for a checked configuration.
    pub fn new(config: FilterConfig) -> Self {
        let mut owned_headers: Vec<String> = Vec::new();
        for (_, p) in &config.providers {
            let names = p
                .claim_to_headers
                .iter()
                .map(|(h, _)| h)
                .chain(p.forward_payload_header.iter());
            for name in names {
                let name = fold(name);
                if !owned_headers.contains(&name) {
                    owned_headers.push(name);
                }
            }
        }
        let token_headers = config
            .providers
            .iter()
            .map(|(_, p)| p.from_headers.iter().map(|h| fold(&h.name)).collect())
            .collect();
        Enforcer {
            config,
            owned_headers,
            token_headers,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FilterConfig {
        &self.config
    }

    /// The names of the headers present in `head` that fold to one of `names` (already
    /// folded), as they appear: what the filter removes before a request continues.
    fn present_look_alikes<'n>(
        head: &RequestHead<'_>,
        names: impl Iterator<Item = &'n str> + Clone,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (name, _) in head.headers {
            if names.clone().any(|n| folds_to(name, n.as_bytes())) {
                // A name that folds to an ASCII name is ASCII itself.
                if let Ok(name) = core::str::from_utf8(name) {
                    if !out.iter().any(|o| o == name) {
                        out.push(String::from(name));
                    }
                }
            }
        }
        out
    }

    /// What to do with a request whose headers arrived: the token endpoint, a local document,
    /// or enforcement. Inbound copies of the filter's own headers are removed on every route
    /// (RFC 9700 §4.13 spirit: an upstream must never mistake a client's header for one this
    /// filter set).
    pub fn route(&self, head: &RequestHead<'_>) -> Route {
        // The authorization server's own paths, when the filter serves its token endpoint
        // (core's one table, `routes`); registration is not served here, so its paths are
        // enforced like any other.
        let Some(server) = self.config.token_endpoint.as_ref() else {
            return Route::Enforce;
        };
        let path = String::from_utf8_lossy(head.path);
        match routes::endpoint(server, &path) {
            // The client's credentials never go further than this filter either: its
            // `Authorization` header is removed with the filter's own headers.
            Some(endpoint @ (Endpoint::Token | Endpoint::Introspection)) => Route::TokenEndpoint {
                remove: Self::present_look_alikes(
                    head,
                    self.owned_headers
                        .iter()
                        .map(String::as_str)
                        .chain(core::iter::once("authorization")),
                ),
                request: TokenRequestHead {
                    introspection: endpoint == Endpoint::Introspection,
                    ..TokenRequestHead::of(head)
                },
            },
            Some(endpoint) => match routes::document(server, endpoint, head.method) {
                Some(response) => Route::Respond(response),
                None => Route::Enforce,
            },
            None => Route::Enforce,
        }
    }

    fn deny(
        &self,
        error: BearerError,
        outcome: Outcome,
        unknown_kid_of_provider: Option<usize>,
    ) -> Decision {
        Decision::Respond {
            response: error.to_response(&self.config.realm),
            outcome,
            unknown_kid_of_provider,
        }
    }

    /// Decides one request. `remote_keys` gives the current key set of a provider with
    /// `remote_jwks` (`None` while none was ever loaded); providers with `local_jwks` use their
    /// own. A token is looked up in `cache` first; otherwise its signature is checked by
    /// `check_signature` (core's primitives, or the host's native crypto: the check names the
    /// algorithm, key, signing input and signature, all settled by core) and, once verified,
    /// cached until it expires.
    pub fn decide<'k>(
        &self,
        head: &RequestHead<'_>,
        remote_keys: &dyn Fn(usize) -> Option<&'k JwkSet>,
        now: u64,
        cache: &mut dyn VerifiedTokens,
        check_signature: &dyn Fn(&SignatureCheck<'_>) -> bool,
    ) -> Decision {
        let method = String::from_utf8_lossy(head.method);
        // Lossy: a byte that is not UTF-8 becomes U+FFFD, which no configured rule path
        // contains, so a rule matches the lossy path exactly when it matches the raw one.
        let path = String::from_utf8_lossy(head.path);
        let owned = self.owned_headers.iter().map(String::as_str);
        let (provider_index, scopes, claims, optional) =
            match requirement_for(&self.config.rules, &method, &path) {
                Ok(Requirement::None) => {
                    return Decision::Forward {
                        remove: Self::present_look_alikes(head, owned),
                        set: Vec::new(),
                        outcome: Outcome::NoRequirement,
                    }
                }
                Ok(Requirement::Token {
                    provider,
                    scopes,
                    claims,
                }) => (*provider, scopes.as_slice(), claims.as_slice(), false),
                Ok(Requirement::AllowMissing { provider }) => (*provider, &[][..], &[][..], true),
                // Path parameters make the rule ambiguous: 400 invalid_request (rules.rs).
                Err(e) => return self.deny(e.into(), Outcome::DeniedInvalidRequest, None),
            };
        let Some((_, provider)) = self.config.providers.get(provider_index) else {
            return self.deny(
                BearerError::invalid_token("provider is not configured"),
                Outcome::DeniedInvalidToken,
                None,
            );
        };
        // Headers that never reach the upstream as the client sent them: the filter's own, and
        // copies of the provider's token headers under names that fold to theirs. Without
        // `forward`, the token headers themselves too, whether a token was verified or not,
        // so an upstream never sees an unverified credential where it expects a checked one.
        let token_names = self
            .token_headers
            .get(provider_index)
            .map_or(&[][..], Vec::as_slice);
        let mut remove =
            Self::present_look_alikes(head, owned.chain(token_names.iter().map(String::as_str)));
        if provider.forward {
            // `forward`: the token header as sent stays; only other spellings go.
            remove.retain(|r| !provider.from_headers.iter().any(|h| h.name == *r));
        }
        // The token: the first configured header that is present (RFC 6750 §2.1 by default).
        let mut found: Option<String> = None;
        for source in &provider.from_headers {
            let mut values = head.values(&source.name);
            let Some(raw) = values.next() else {
                continue;
            };
            // RFC 6750 §3.1 invalid_request: the token header repeated is a malformed request,
            // and so is one that is not visible ASCII (it cannot carry a b64token).
            if values.next().is_some() {
                return self.deny(
                    BearerError::new(BearerErrorCode::InvalidRequest, "token header is repeated"),
                    Outcome::DeniedInvalidRequest,
                    None,
                );
            }
            let value = match core::str::from_utf8(raw) {
                Ok(v) if crate::request::is_visible_ascii(raw) => v,
                _ => {
                    return self.deny(
                        BearerError::new(
                            BearerErrorCode::InvalidRequest,
                            "token header is not visible ASCII",
                        ),
                        Outcome::DeniedInvalidRequest,
                        None,
                    )
                }
            };
            let token = if source.name == "authorization"
                && source.value_prefix.eq_ignore_ascii_case("Bearer ")
            {
                match verify::extract_bearer(Some(value)) {
                    Ok(t) => Some(String::from(t)),
                    Err(e) if e.code == BearerErrorCode::InvalidRequest => {
                        return self.deny(e, Outcome::DeniedInvalidRequest, None)
                    }
                    Err(_) => None,
                }
            } else {
                source
                    .token(value)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
            };
            if let Some(t) = token {
                found = Some(t);
                break;
            }
        }
        let Some(token) = found else {
            if optional {
                return Decision::Forward {
                    remove,
                    set: Vec::new(),
                    outcome: Outcome::AllowedWithoutToken,
                };
            }
            return self.deny(
                BearerError::missing_token(),
                Outcome::DeniedMissingToken,
                None,
            );
        };

        let cache_key = cache::key(provider_index, &token);
        let (verified, outcome): (Arc<VerifiedAccessToken>, Outcome) =
            match cache.get(&cache_key, now) {
                Some(v) => (v, Outcome::AllowedFromCache),
                None => {
                    let set = match &provider.keys {
                        KeySource::Local(set) => Some(set),
                        KeySource::Remote(_) => remote_keys(provider_index),
                    };
                    let Some(set) = set else {
                        return self.deny(
                            BearerError::invalid_token("the issuer's keys are not available yet"),
                            Outcome::DeniedNoKeys,
                            None,
                        );
                    };
                    let verified = verify::begin(&token, &provider.policy, set).and_then(|p| {
                        let valid = check_signature(&p.signature_check());
                        p.finish(valid, now)
                    });
                    match verified {
                        Ok(v) => {
                            let valid_until = v
                                .expires_at
                                .saturating_add(provider.policy.clock_skew_seconds);
                            let v = Arc::new(v);
                            cache.insert(cache_key, Arc::clone(&v), valid_until, now);
                            (v, Outcome::Allowed)
                        }
                        Err(e) => {
                            let unknown = e.unknown_kid.then_some(provider_index);
                            return self.deny(e, Outcome::DeniedInvalidToken, unknown);
                        }
                    }
                }
            };
        // Scopes are checked on every request, cached or not: the cache holds the token's
        // validity, not a route's decision.
        if let Err(e) = verified
            .require_scopes(scopes)
            .and_then(|()| verified.require_claims(claims, scopes))
        {
            return self.deny(e, Outcome::DeniedInsufficientScope, None);
        }
        let mut set = Vec::new();
        for (header_name, claim) in &provider.claim_to_headers {
            // A claim value with control characters would split or corrupt the header; it is
            // left out rather than forwarded.
            if let Some(value) = verified.claim_as_header(claim) {
                if !value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                    set.push((header_name.clone(), value));
                }
            }
        }
        if let Some(h) = &provider.forward_payload_header {
            set.push((h.clone(), verified.payload_b64.clone()));
        }
        Decision::Forward {
            remove,
            set,
            outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{self, Algorithm};
    use crate::jwk::SigningJwk;
    use crate::jws;
    use alloc::string::ToString;
    use rand_chacha::rand_core::SeedableRng;
    use serde_json::json;

    const NOW: u64 = 1_900_000_000;

    struct Fixture {
        gateway: Gateway,
        key: SigningJwk,
    }

    fn fixture(extra: serde_json::Value) -> Fixture {
        let key = SigningJwk::generate(
            Algorithm::EdDSA,
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(8),
        )
        .unwrap();
        let mut provider = json!({
            "issuer": "https://as.example",
            "audiences": ["https://api.example"],
            "local_jwks": {"inline_string": json!({"keys": [key.public_jwk().to_public_json()]}).to_string()},
            "claim_to_headers": [{"header_name": "x-client-id", "claim_name": "client_id"}],
            "forward_payload_header": "x-jwt-payload",
        });
        if let (serde_json::Value::Object(p), serde_json::Value::Object(e)) = (&mut provider, extra)
        {
            p.extend(e);
        }
        let config = json!({
            "providers": {"main": provider},
            "rules": [
                {"match": {"prefix": "/orders", "methods": ["POST"]}, "requires": {"provider_name": "main", "scopes": ["orders:write"]}},
                {"match": {"prefix": "/orders"}, "requires": {"provider_name": "main", "scopes": ["orders:read"]}},
                {"match": {"prefix": "/public"}, "allow_missing": {"provider_name": "main"}},
            ],
        });
        Fixture {
            gateway: Gateway::new(FilterConfig::from_json(&config.to_string()).unwrap()),
            key,
        }
    }

    fn token(key: &SigningJwk, claims: serde_json::Value) -> String {
        let input = jws::signing_input(
            &json!({"alg": "EdDSA", "kid": key.kid, "typ": "at+jwt"}),
            &claims,
        );
        let sig = crypto::sign(
            Algorithm::EdDSA,
            &key.key,
            input.as_bytes(),
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(1),
        )
        .unwrap();
        jws::assemble(&input, &sig)
    }

    fn good_claims(scope: &str) -> serde_json::Value {
        json!({"iss": "https://as.example", "aud": "https://api.example", "exp": NOW + 300, "iat": NOW, "client_id": "billing", "scope": scope})
    }

    fn decide(f: &mut Fixture, method: &str, path: &str, headers: &[(&str, &str)]) -> Decision {
        let raw: Vec<(&[u8], &[u8])> = headers
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect();
        decide_bytes(f, method.as_bytes(), path.as_bytes(), &raw)
    }

    fn decide_bytes(
        f: &mut Fixture,
        method: &[u8],
        path: &[u8],
        headers: &[(&[u8], &[u8])],
    ) -> Decision {
        let head = RequestHead {
            method,
            path,
            headers,
        };
        f.gateway.decide(&head, &|_| None, NOW)
    }

    fn removed(d: &Decision) -> Vec<String> {
        match d {
            Decision::Forward { remove, .. } => remove.clone(),
            Decision::Respond { response, .. } => panic!("refused: {response:?}"),
        }
    }

    fn status(d: &Decision) -> u16 {
        match d {
            Decision::Respond { response, .. } => response.status,
            Decision::Forward { .. } => 200,
        }
    }

    #[test]
    fn a_head_from_host_pairs_and_a_token_request_head_kept_as_bytes() {
        let pairs: [(&[u8], &[u8]); 5] = [
            (b":method", b"POST"),
            (b":path", b"/oauth/token"),
            (b"authorization", b"Basic a"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"authorization", b"Basic \xff"),
        ];
        let head = RequestHead::from_pairs(&pairs);
        assert_eq!(
            (head.method, head.path),
            (&b"POST"[..], &b"/oauth/token"[..])
        );
        let kept = TokenRequestHead::of(&head);
        // Two Authorization headers are joined as a proxy joins them, and their bytes are
        // checked only when the body has come.
        assert_eq!(
            kept.authorization.as_deref(),
            Some(&b"Basic a,Basic \xff"[..])
        );
        let e = kept
            .with_body(b"grant_type=client_credentials")
            .unwrap_err();
        assert_eq!(e.description, "Authorization header is not visible ASCII");
        let none: [(&[u8], &[u8]); 0] = [];
        let empty = RequestHead::from_pairs(&none);
        assert_eq!((empty.method, empty.path), (&b""[..], &b""[..]));
    }
    #[test]
    fn a_valid_token_passes_with_claim_headers_and_spoofed_copies_removed() {
        let mut f = fixture(json!({}));
        let t = token(&f.key, good_claims("orders:read"));
        let auth = alloc::format!("Bearer {t}");
        let d = decide(
            &mut f,
            "GET",
            "/orders/7",
            &[("authorization", &auth), ("x-client-id", "spoofed")],
        );
        let Decision::Forward {
            remove,
            set,
            outcome,
        } = d
        else {
            panic!("refused: {d:?}")
        };
        assert_eq!(outcome, Outcome::Allowed);
        for h in ["x-client-id", "authorization"] {
            assert!(
                remove.iter().any(|r| r == h),
                "{h} removed (forward is false)"
            );
        }
        // Only headers that are present are named (each is a host call to remove).
        assert!(!remove.iter().any(|r| r == "x-jwt-payload"), "{remove:?}");
        assert!(set.contains(&("x-client-id".to_string(), "billing".to_string())));
        assert!(set
            .iter()
            .any(|(h, v)| h == "x-jwt-payload" && t.contains(v.as_str())));
        // The second request with the same token comes from the cache; the scope still counts.
        let again = decide(&mut f, "GET", "/orders/7", &[("authorization", &auth)]);
        assert!(matches!(
            again,
            Decision::Forward {
                outcome: Outcome::AllowedFromCache,
                ..
            }
        ));
        let write = decide(&mut f, "POST", "/orders", &[("authorization", &auth)]);
        assert_eq!(status(&write), 403);
        assert!(matches!(
            write,
            Decision::Respond {
                outcome: Outcome::DeniedInsufficientScope,
                ..
            }
        ));
    }

    #[test]
    fn rfc6750_answers_for_missing_malformed_and_invalid_tokens() {
        let mut f = fixture(json!({}));
        let missing = decide(&mut f, "GET", "/orders", &[]);
        let Decision::Respond {
            response, outcome, ..
        } = &missing
        else {
            panic!()
        };
        assert_eq!(
            (response.status, *outcome),
            (401, Outcome::DeniedMissingToken)
        );
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer realm=\"gatepass\"")
        );
        let malformed = decide(&mut f, "GET", "/orders", &[("authorization", "Bearer a b")]);
        assert_eq!(status(&malformed), 400);
        let expired = token(
            &f.key,
            json!({"iss": "https://as.example", "aud": "https://api.example", "exp": NOW - 61, "scope": "orders:read"}),
        );
        let d = decide(
            &mut f,
            "GET",
            "/orders",
            &[("authorization", &alloc::format!("Bearer {expired}"))],
        );
        let Decision::Respond { response, .. } = &d else {
            panic!()
        };
        assert_eq!(response.status, 401);
        assert!(response
            .header("www-authenticate")
            .unwrap_or("")
            .contains("error=\"invalid_token\""));
        let other_key = SigningJwk::generate(
            Algorithm::EdDSA,
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(77),
        )
        .unwrap();
        let foreign = token(&other_key, good_claims("orders:read"));
        let d = decide(
            &mut f,
            "GET",
            "/orders",
            &[("authorization", &alloc::format!("Bearer {foreign}"))],
        );
        assert!(
            matches!(
                d,
                Decision::Respond {
                    unknown_kid_of_provider: Some(0),
                    ..
                }
            ),
            "unknown kid is reported"
        );
    }

    #[test]
    fn allow_missing_and_unmatched_routes_still_strip_owned_headers() {
        let mut f = fixture(json!({}));
        for (path, outcome) in [
            ("/public/x", Outcome::AllowedWithoutToken),
            ("/elsewhere", Outcome::NoRequirement),
        ] {
            let d = decide(&mut f, "GET", path, &[("x-client-id", "spoofed")]);
            let Decision::Forward {
                remove,
                set,
                outcome: o,
            } = d
            else {
                panic!()
            };
            assert_eq!(o, outcome);
            assert!(remove.iter().any(|r| r == "x-client-id"));
            assert!(set.is_empty());
        }
        // A token that is present on an allow_missing route must be valid.
        let d = decide(
            &mut f,
            "GET",
            "/public/x",
            &[("authorization", "Bearer abc.def.ghi")],
        );
        assert_eq!(status(&d), 401);
    }

    #[test]
    fn forward_true_keeps_the_token_header() {
        let mut f = fixture(json!({"forward": true}));
        let t = token(&f.key, good_claims("orders:read"));
        let d = decide(
            &mut f,
            "GET",
            "/orders",
            &[("authorization", &alloc::format!("Bearer {t}"))],
        );
        let Decision::Forward { remove, .. } = d else {
            panic!()
        };
        assert!(!remove.iter().any(|r| r == "authorization"));
    }

    #[test]
    fn bytes_that_are_not_utf8_anywhere_in_the_head_never_panic_and_other_headers_are_ignored() {
        let mut f = fixture(json!({}));
        let t = token(&f.key, good_claims("orders:read"));
        let auth = alloc::format!("Bearer {t}");
        // A Latin-1 User-Agent, a name with a high byte, and a path and method with one.
        let headers: [(&[u8], &[u8]); 3] = [
            (b"user-agent", b"caf\xe9 \xff\x80"),
            (b"x-\xfe", b"\x00\x01"),
            (b"authorization", auth.as_bytes()),
        ];
        let d = decide_bytes(&mut f, b"GET", b"/orders/\xff", &headers);
        assert!(
            matches!(
                d,
                Decision::Forward {
                    outcome: Outcome::Allowed,
                    ..
                }
            ),
            "{d:?}"
        );
        let d = decide_bytes(&mut f, b"G\xc3T", b"/\xc0\xaf", &headers);
        assert!(matches!(d, Decision::Forward { .. }), "{d:?}");
    }

    #[test]
    fn a_token_header_that_is_not_visible_ascii_is_400_invalid_request() {
        let mut f = fixture(json!({}));
        let t = token(&f.key, good_claims("orders:read"));
        for value in [
            alloc::format!("Bearer\t{t}").into_bytes(),
            alloc::format!("Bearer {t}\u{e9}").into_bytes(),
            [b"Bearer ".as_slice(), t.as_bytes(), b"\xff"].concat(),
            [b"Bearer\x0b", t.as_bytes()].concat(),
        ] {
            for path in [b"/orders".as_slice(), b"/public/x"] {
                let headers: [(&[u8], &[u8]); 1] = [(b"authorization", &value)];
                let d = decide_bytes(&mut f, b"GET", path, &headers);
                let Decision::Respond {
                    response, outcome, ..
                } = &d
                else {
                    panic!("passed: {d:?}")
                };
                assert_eq!(
                    (response.status, *outcome),
                    (400, Outcome::DeniedInvalidRequest)
                );
                assert!(response
                    .header("www-authenticate")
                    .unwrap_or("")
                    .contains("error=\"invalid_request\""));
            }
        }
    }

    #[test]
    fn a_repeated_token_header_is_400_invalid_request() {
        let mut f = fixture(json!({"from_headers": [{"name": "x-token"}]}));
        let t = token(&f.key, good_claims("orders:read"));
        let d = decide(
            &mut f,
            "GET",
            "/orders",
            &[("x-token", &t), ("x-token", &t)],
        );
        assert_eq!(status(&d), 400);
        assert_eq!(
            status(&decide(&mut f, "GET", "/orders", &[("x-token", &t)])),
            200
        );
    }

    #[test]
    fn look_alike_spellings_of_the_filters_headers_are_removed_on_every_route() {
        let mut f = fixture(json!({}));
        let t = token(&f.key, good_claims("orders:read"));
        let auth = alloc::format!("Bearer {t}");
        let spoofs = [
            ("x_client_id", "admin"),
            ("X_Client-ID", "admin"),
            ("x-client_id", "admin"),
            ("x_jwt_payload", "e30"),
        ];
        for (path, with_token) in [
            ("/orders", true),
            ("/public/x", false),
            ("/elsewhere", false),
        ] {
            let mut headers: Vec<(&str, &str)> = spoofs.to_vec();
            if with_token {
                headers.push(("authorization", &auth));
            }
            let remove = removed(&decide(&mut f, "GET", path, &headers));
            for (name, _) in spoofs {
                assert!(
                    remove.iter().any(|r| r == name),
                    "{name} kept on {path}: {remove:?}"
                );
            }
            // A name that only looks similar is not folded onto the filter's.
            let mut headers = alloc::vec![("x-client-idx", "1")];
            if with_token {
                headers.push(("authorization", &auth));
            }
            let remove = removed(&decide(&mut f, "GET", path, &headers));
            assert!(
                !remove.iter().any(|r| r.starts_with("x-client")),
                "{remove:?}"
            );
        }
    }

    #[test]
    fn allow_missing_without_a_verified_token_does_not_forward_the_token_header() {
        let mut f = fixture(json!({}));
        for auth in ["Basic YTpi", "Token abc", "Bearerabc"] {
            let d = decide(&mut f, "GET", "/public/x", &[("authorization", auth)]);
            let Decision::Forward {
                remove, outcome, ..
            } = &d
            else {
                panic!("refused {auth}: {d:?}")
            };
            assert_eq!(*outcome, Outcome::AllowedWithoutToken, "{auth}");
            assert!(remove.iter().any(|r| r == "authorization"), "{auth}");
        }
        // With `forward`, the client's header is the upstream's business.
        let mut f = fixture(json!({"forward": true}));
        let remove = removed(&decide(
            &mut f,
            "GET",
            "/public/x",
            &[("authorization", "Basic YTpi")],
        ));
        assert!(!remove.iter().any(|r| r == "authorization"));
    }

    #[test]
    fn token_endpoint_and_documents_are_routed_in_core_with_owned_headers_removed() {
        let key = SigningJwk::generate(
            Algorithm::EdDSA,
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(9),
        )
        .unwrap();
        let config = json!({
            "providers": {"main": {
                "issuer": "https://as.example",
                "audiences": ["https://api.example"],
                "local_jwks": {"inline_string": json!({"keys": [key.public_jwk().to_public_json()]}).to_string()},
                "claim_to_headers": [{"header_name": "x-client-id", "claim_name": "client_id"}],
            }},
            "token_endpoint": {
                "issuer": "https://as.example",
                "signing_keys": [key.to_private_json()],
                "clients": [],
            },
        });
        let gateway = Gateway::new(FilterConfig::from_json(&config.to_string()).unwrap());
        let headers: [(&[u8], &[u8]); 3] = [
            (b"x_client_id", b"admin"),
            (b"user-agent", b"\xff"),
            (b"Authorization", b"Basic czpwdw=="),
        ];
        let head = |method: &'static [u8], path: &'static [u8]| RequestHead {
            method,
            path,
            headers: &headers,
        };
        assert_eq!(
            gateway.route(&head(b"POST", b"/oauth/token?x=1")),
            Route::TokenEndpoint {
                remove: alloc::vec!["x_client_id".to_string(), "Authorization".to_string()],
                request: TokenRequestHead {
                    method: b"POST".to_vec(),
                    content_type: None,
                    authorization: None,
                    introspection: false,
                }
            }
        );
        let Route::Respond(jwks) = gateway.route(&head(b"GET", b"/.well-known/jwks.json")) else {
            panic!()
        };
        assert_eq!(jwks.status, 200);
        let Route::Respond(wrong) = gateway.route(&head(b"P\xffST", b"/.well-known/jwks.json"))
        else {
            panic!()
        };
        assert_eq!(wrong.status, 405);
        assert_eq!(gateway.route(&head(b"GET", b"/orders\xff")), Route::Enforce);
    }
}
