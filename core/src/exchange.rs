//! The token endpoint as one sans-I/O state machine: every shell runs the same steps in the same
//! order, and only does the I/O the machine asks for between them.
//!
//! [`TokenExchange::begin`] parses the request (RFC 6749 §4.4) and goes as far as it can without
//! the host; [`TokenExchange::next`] then says what the host does next:
//!
//! * [`Next::LoadClient`]: look the client up in the host's client store (a client of the
//!   configuration is found without asking), then [`TokenExchange::client_loaded`] or
//!   [`TokenExchange::stored_client_loaded`];
//! * [`Next::CheckSignature`]: verify the client assertion's signature (WebCrypto, native crypto)
//!   and report the verdict with [`TokenExchange::signature_checked`], or let core verify it
//!   ([`TokenExchange::check_signature_builtin`]);
//! * [`Next::RecordReplay`]: insert the assertion's replay key if absent, atomically across
//!   everything that shares the store, then [`TokenExchange::replay_recorded`];
//! * [`Next::Sign`]: sign the token's signing input with the named key, then
//!   [`TokenExchange::signed`], or let core sign ([`TokenExchange::sign_builtin`]);
//! * [`Next::Respond`]: the exchange is over; send the response (the RFC 6749 §5.1 token or the
//!   §5.2 error).
//!
//! The steps are: [`crate::request::parse_token_request`] → client lookup →
//! [`client_auth::begin_authentication`] → assertion signature → assertion claims → replay
//! check → [`grant::authorize`] → [`mint::prepare`] → signature. The typestate guarantees of
//! those modules hold inside the machine: a token is prepared only for an
//! [`AuthenticatedClient`], and a client that authenticated with an assertion only becomes one
//! once its `jti` was recorded ([`PendingAssertion::finish`]).
//!
//! A host that calls a step the machine is not waiting for gets a 500 `server_error` answer,
//! never a token.

use alloc::string::String;
use alloc::vec::Vec;

use rand_core::CryptoRngCore;

use crate::client_auth::{
    self, AssertionCheck, AuthenticatedClient, AuthenticationStep, ClientRecord, PendingAssertion,
    ReplayOutcome,
};
use crate::config::ServerConfig;
use crate::crypto::{self, Algorithm};
use crate::error::{TokenError, TokenErrorCode};
use crate::grant;
use crate::introspection;
use crate::jwk::Jwk;
use crate::jws::SignatureCheck;
use crate::mint::{self, DetachedSignature, IssuedToken};
use crate::request::{
    parse_introspection_request, parse_token_request, TokenHttpRequest, TokenRequest,
};
use crate::response::HttpResponse;
use crate::verify::{DetachedVerification, VerifiedAccessToken};

/// What the host does next (see the module docs).
#[derive(Debug)]
pub enum Next<'a> {
    /// Look up the stored client with this id.
    LoadClient(&'a str),
    /// Verify this signature.
    CheckSignature(SignatureCheck<'a>),
    /// Insert `key` into the replay store if absent, keeping it until `expires_at` (Unix
    /// seconds).
    RecordReplay {
        /// The replay key ([`PendingAssertion::replay_key`]).
        key: &'a str,
        /// Until when the entry must be kept.
        expires_at: u64,
    },
    /// Sign `input` with signing key `kid` (algorithm `alg`; for ECDSA the signature is
    /// `r || s`, RFC 7518 §3.4).
    Sign {
        /// The algorithm.
        alg: Algorithm,
        /// The signing key's `kid` (one of the configuration's `signing_keys`).
        kid: &'a str,
        /// The bytes to sign.
        input: &'a [u8],
    },
    /// Send this response: the exchange is over.
    Respond(&'a HttpResponse),
}

// One per token request, moved in place; boxing the larger variants would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum State {
    LoadClient(TokenRequest),
    CheckSignature {
        request: TokenRequest,
        check: AssertionCheck,
    },
    RecordReplay {
        request: TokenRequest,
        pending: PendingAssertion,
        key: String,
    },
    Sign {
        alg: Algorithm,
        kid: String,
        pending: DetachedSignature,
    },
    /// Introspection: the introspected token's signature, checked as an assertion's is.
    CheckToken {
        verification: DetachedVerification,
        key: Jwk,
    },
    /// Introspection: the introspected token's client, whose record says whether its tokens
    /// still count.
    LoadTokenClient(VerifiedAccessToken),
    Done(Finished),
    /// Between two states, inside a step (never seen by the host).
    Moving,
}

/// How a finished token request counts in a shell's stats (the same counters in every shell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// A token was issued.
    Issued,
    /// Client authentication failed (`invalid_client`, 401).
    ClientAuthFailed,
    /// The replay store did not answer (503 `temporarily_unavailable`).
    StoreUnavailable,
    /// Any other refusal.
    Refused,
    /// An introspection request answered `"active": true`.
    IntrospectionActive,
    /// An introspection request answered `"active": false`.
    IntrospectionInactive,
    /// An introspection request refused (its client's authentication failed, the client may
    /// not introspect, the request was malformed, or a store did not answer).
    IntrospectionRefused,
}

/// What a finished request gave.
#[derive(Debug, Clone)]
pub enum Answer {
    /// An access token (the token endpoint).
    Issued(IssuedToken),
    /// An RFC 7662 answer: whether the token is active.
    Introspected {
        /// `active`.
        active: bool,
    },
}

impl Answer {
    /// The issued token, for a token request.
    pub fn issued(&self) -> Option<&IssuedToken> {
        match self {
            Answer::Issued(t) => Some(t),
            Answer::Introspected { .. } => None,
        }
    }
}

/// A finished token request: the response to send and what it says.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The RFC 6749 §5.1 token response, the RFC 7662 §2.2 introspection response, or the
    /// RFC 6749 §5.2 error (the issuer as the Basic realm).
    pub response: HttpResponse,
    /// The issued token, the introspection verdict, or the error.
    pub outcome: Result<Answer, TokenError>,
    /// Whether this was an introspection request.
    pub introspection: bool,
}

impl Finished {
    /// How the request counts.
    pub fn tally(&self) -> Tally {
        match &self.outcome {
            Ok(Answer::Introspected { active: true }) => Tally::IntrospectionActive,
            Ok(Answer::Introspected { active: false }) => Tally::IntrospectionInactive,
            Err(_) if self.introspection => Tally::IntrospectionRefused,
            Ok(_) => Tally::Issued,
            Err(e) if e.code == TokenErrorCode::InvalidClient => Tally::ClientAuthFailed,
            Err(e) if e.code == TokenErrorCode::TemporarilyUnavailable => Tally::StoreUnavailable,
            Err(_) => Tally::Refused,
        }
    }
}

/// One token request in progress (see the module docs).
#[derive(Debug)]
pub struct TokenExchange {
    state: State,
    now: u64,
    jti: [u8; 16],
    introspection: bool,
}

fn out_of_order() -> TokenError {
    TokenError::new(
        TokenErrorCode::ServerError,
        "token exchange step out of order",
    )
}

impl TokenExchange {
    /// Starts a token request at `now` (Unix seconds). `jti` are 16 bytes from the host's
    /// CSPRNG, the token's unique id (RFC 9068 §2.2, RFC 7519 §4.1.7) should one be issued.
    pub fn begin(
        config: &ServerConfig,
        http: &TokenHttpRequest<'_>,
        now: u64,
        jti: [u8; 16],
    ) -> TokenExchange {
        Self::start(config, parse_token_request(http), now, jti, false)
    }

    /// Starts an RFC 7662 introspection request at `now`: the caller authenticates as at the
    /// token endpoint (any of the four methods, the same replay rule for assertions), then the
    /// token is checked (see [`crate::introspection`]). The steps the host does are the token
    /// request's: [`Next::LoadClient`] may be asked twice (the caller, then the token's client).
    pub fn begin_introspection(
        config: &ServerConfig,
        http: &TokenHttpRequest<'_>,
        now: u64,
    ) -> TokenExchange {
        Self::start(
            config,
            parse_introspection_request(http),
            now,
            [0; 16],
            true,
        )
    }

    /// An exchange already over: the request was refused before it could be parsed (headers
    /// that are not text).
    pub fn refused(config: &ServerConfig, e: TokenError, introspection: bool) -> TokenExchange {
        Self::start(config, Err(e), 0, [0; 16], introspection)
    }

    fn start(
        config: &ServerConfig,
        parsed: Result<TokenRequest, TokenError>,
        now: u64,
        jti: [u8; 16],
        introspection: bool,
    ) -> TokenExchange {
        let mut exchange = TokenExchange {
            state: State::Moving,
            now,
            jti,
            introspection,
        };
        match parsed {
            Ok(request) => match config.client(request.client_id()) {
                // A client of the configuration needs no lookup.
                Some(record) => exchange.authenticate(config, request, Some(record)),
                None => exchange.state = State::LoadClient(request),
            },
            Err(e) => exchange.fail(config, e),
        }
        exchange
    }

    /// What the host does next.
    pub fn next(&self) -> Next<'_> {
        match &self.state {
            State::LoadClient(request) => Next::LoadClient(request.client_id()),
            State::CheckSignature { check, .. } => Next::CheckSignature(check.signature_check()),
            State::RecordReplay { key, pending, .. } => Next::RecordReplay {
                key,
                expires_at: pending.replay_expires_at(),
            },
            State::Sign {
                alg, kid, pending, ..
            } => Next::Sign {
                alg: *alg,
                kid,
                input: pending.signing_input(),
            },
            State::CheckToken { verification, key } => Next::CheckSignature(SignatureCheck {
                alg: verification.alg(),
                key,
                signing_input: verification.signing_input(),
                signature: verification.signature(),
            }),
            State::LoadTokenClient(token) => {
                Next::LoadClient(token.client_id.as_deref().unwrap_or_default())
            }
            State::Done(done) => Next::Respond(&done.response),
            // `Moving` only exists inside a step.
            State::Moving => Next::Respond(&SERVER_ERROR_PLACEHOLDER),
        }
    }

    /// How the exchange ended (`None` while it is not over): the issued token or introspection
    /// verdict, or the RFC 6749 §5.2 error.
    pub fn outcome(&self) -> Option<Result<&Answer, &TokenError>> {
        match &self.state {
            State::Done(done) => Some(done.outcome.as_ref()),
            _ => None,
        }
    }

    /// How the exchange counts ([`Tally::Refused`] while it is not over).
    pub fn tally(&self) -> Tally {
        match &self.state {
            State::Done(done) => done.tally(),
            _ => Tally::Refused,
        }
    }

    /// The final response, once the exchange is over.
    pub fn response(&self) -> Option<&HttpResponse> {
        match &self.state {
            State::Done(done) => Some(&done.response),
            _ => None,
        }
    }

    /// The finished request, taken out of the exchange (`None` while it is not over).
    pub fn finished(self) -> Option<Finished> {
        match self.state {
            State::Done(done) => Some(done),
            _ => None,
        }
    }

    /// The answer to [`Next::LoadClient`]: the stored record, `None` when there is no such
    /// client.
    pub fn client_loaded(&mut self, config: &ServerConfig, record: Option<&ClientRecord>) {
        match core::mem::replace(&mut self.state, State::Moving) {
            State::LoadClient(request) => self.authenticate(config, request, record),
            State::LoadTokenClient(token) => self.introspected(&token, record),
            other => self.misuse(config, other),
        }
    }

    /// The answer to [`Next::LoadClient`] as the store holds it: the stored record's JSON
    /// text. A record this server cannot use today (another issuer's, or one that no longer
    /// loads, [`ServerConfig::stored_client`]) authenticates nobody: `invalid_client`.
    pub fn stored_client_loaded(&mut self, config: &ServerConfig, text: Option<&str>) {
        match text {
            None => self.client_loaded(config, None),
            Some(text) => match config.stored_client(text) {
                Some(record) => self.client_loaded(config, Some(&record)),
                None => {
                    if matches!(self.state, State::LoadTokenClient(_)) {
                        self.client_loaded(config, None);
                    } else if matches!(self.state, State::LoadClient(_)) {
                        self.fail(
                            config,
                            TokenError::invalid_client("client authentication failed"),
                        );
                    } else {
                        let other = core::mem::replace(&mut self.state, State::Moving);
                        self.misuse(config, other);
                    }
                }
            },
        }
    }

    /// The answer to [`Next::CheckSignature`]: whether the signature is valid.
    pub fn signature_checked(&mut self, config: &ServerConfig, valid: bool) {
        match core::mem::replace(&mut self.state, State::Moving) {
            State::CheckSignature { request, check } => {
                match check.finish(valid, &config.assertion, self.now) {
                    Ok(pending) => {
                        let key = pending.replay_key();
                        self.state = State::RecordReplay {
                            request,
                            pending,
                            key,
                        };
                    }
                    Err(e) => self.fail(config, e),
                }
            }
            State::CheckToken { verification, .. } => match verification.finish(valid) {
                Ok(token) => match token.client_id.as_deref() {
                    // A client of the configuration needs no lookup; an id no client can have
                    // is not asked of the store.
                    Some(id) if crate::limits::is_client_id(id) => match config.client(id) {
                        Some(record) => self.introspected(&token, Some(record)),
                        None => self.state = State::LoadTokenClient(token),
                    },
                    _ => self.introspected(&token, None),
                },
                Err(_) => self.inactive(),
            },
            other => self.misuse(config, other),
        }
    }

    /// Answers [`Next::CheckSignature`] with core's own primitives (hosts without the
    /// algorithm).
    pub fn check_signature_builtin(&mut self, config: &ServerConfig) {
        self.check_signature_with(config, &|check| check.verify_builtin());
    }

    /// Answers [`Next::CheckSignature`] with `verify`, the host's signature check (the native
    /// Envoy module's `ring`); core has already bound the algorithm to the key.
    pub fn check_signature_with(
        &mut self,
        config: &ServerConfig,
        verify: &dyn Fn(&SignatureCheck<'_>) -> bool,
    ) {
        let valid = match self.next() {
            Next::CheckSignature(check) => verify(&check),
            _ => false,
        };
        self.signature_checked(config, valid);
    }

    /// The answer to [`Next::RecordReplay`]: the replay store's insert-if-absent outcome.
    pub fn replay_recorded(&mut self, config: &ServerConfig, outcome: ReplayOutcome) {
        match core::mem::replace(&mut self.state, State::Moving) {
            State::RecordReplay {
                request, pending, ..
            } => match pending.finish(outcome) {
                Ok(client) => self.grant(config, &request, &client),
                Err(e) => self.fail(config, e),
            },
            other => self.misuse(config, other),
        }
    }

    /// The answer to [`Next::Sign`]: the signature (ECDSA as `r || s`). A signature of the
    /// wrong length for the key is refused (`server_error`).
    pub fn signed(&mut self, config: &ServerConfig, signature: &[u8]) {
        match core::mem::replace(&mut self.state, State::Moving) {
            State::Sign { pending, .. } => match pending.finish(signature) {
                Ok(issued) => {
                    self.state = State::Done(Finished {
                        response: issued.to_response(),
                        outcome: Ok(Answer::Issued(issued)),
                        introspection: false,
                    })
                }
                Err(e) => self.fail(config, e),
            },
            other => self.misuse(config, other),
        }
    }

    /// Answers [`Next::Sign`] with core's own primitives.
    pub fn sign_builtin(&mut self, config: &ServerConfig, rng: &mut impl CryptoRngCore) {
        let State::Sign { alg, kid, pending } = &self.state else {
            let other = core::mem::replace(&mut self.state, State::Moving);
            return self.misuse(config, other);
        };
        let key = config.signing_keys.keys().iter().find(|k| &k.kid == kid);
        let signature =
            key.and_then(|k| crypto::sign(*alg, &k.key, pending.signing_input(), rng).ok());
        match signature {
            Some(signature) => self.signed(config, &signature),
            None => self.fail(
                config,
                TokenError::new(TokenErrorCode::ServerError, "signing failed"),
            ),
        }
    }

    fn authenticate(
        &mut self,
        config: &ServerConfig,
        request: TokenRequest,
        record: Option<&ClientRecord>,
    ) {
        match client_auth::begin_authentication(&request, record, &config.assertion, self.now) {
            Ok(AuthenticationStep::Authenticated(client)) => self.grant(config, &request, &client),
            Ok(AuthenticationStep::Assertion(check)) => {
                self.state = State::CheckSignature { request, check }
            }
            Err(e) => self.fail(config, e),
        }
    }

    fn grant(
        &mut self,
        config: &ServerConfig,
        request: &TokenRequest,
        client: &AuthenticatedClient,
    ) {
        if let Some(token) = &request.introspect {
            return self.introspect(config, client, token);
        }
        let prepared = grant::authorize(client, request, config.require_audience).and_then(|g| {
            mint::prepare(&g, &config.signing_keys, &config.mint, self.now, self.jti)
        });
        match prepared {
            Ok(p) => {
                self.state = State::Sign {
                    alg: p.alg(),
                    kid: p.key().kid.clone(),
                    pending: p.detach(),
                }
            }
            Err(e) => self.fail(config, e),
        }
    }

    fn introspect(&mut self, config: &ServerConfig, caller: &AuthenticatedClient, token: &str) {
        match introspection::begin(config, caller, token) {
            Err(e) => self.fail(config, e),
            Ok(None) => self.inactive(),
            Ok(Some(pending)) => {
                let key = pending.signature_check().key.clone();
                self.state = State::CheckToken {
                    verification: pending.detach(self.now),
                    key,
                };
            }
        }
    }

    fn introspected(&mut self, token: &VerifiedAccessToken, client: Option<&ClientRecord>) {
        let (active, response) = introspection::answer(token, client);
        self.state = State::Done(Finished {
            response,
            outcome: Ok(Answer::Introspected { active }),
            introspection: true,
        });
    }

    fn inactive(&mut self) {
        self.state = State::Done(Finished {
            response: introspection::inactive(),
            outcome: Ok(Answer::Introspected { active: false }),
            introspection: true,
        });
    }

    fn fail(&mut self, config: &ServerConfig, e: TokenError) {
        self.state = State::Done(Finished {
            response: e.to_response(&config.issuer),
            outcome: Err(e),
            introspection: self.introspection,
        });
    }

    /// A step called out of order: the exchange ends with a server error (an exchange that
    /// was already over keeps its answer).
    fn misuse(&mut self, config: &ServerConfig, previous: State) {
        match previous {
            done @ State::Done(_) => self.state = done,
            _ => self.fail(config, out_of_order()),
        }
    }
}

/// Never returned in practice: [`State::Moving`] is replaced before a step returns.
static SERVER_ERROR_PLACEHOLDER: HttpResponse = HttpResponse {
    status: 500,
    headers: alloc::vec::Vec::new(),
    body: alloc::vec::Vec::new(),
};

/// Runs a token request to its end with synchronous I/O (the token endpoint in one call), for hosts whose stores answer at once
/// (a configuration's clients, Envoy shared data, an in-memory map): the CLI, the demos and the
/// proxy-wasm filter. Signatures are checked and made by core.
///
/// `find_client` looks up a client that is not in the configuration; `record_jti` inserts a
/// replay key with its expiry (Unix seconds) if absent and says whether it was absent; it must
/// be atomic across everything that shares the store.
pub fn run<'c>(
    config: &ServerConfig,
    http: &TokenHttpRequest<'_>,
    find_client: impl FnOnce(&str) -> Option<&'c ClientRecord>,
    record_jti: impl FnOnce(&str, u64) -> ReplayOutcome,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Finished {
    let host = HostCrypto {
        verify: &|c| c.verify_builtin(),
        sign: &|_, _, _| None,
    };
    run_with_host(config, http, find_client, record_jti, &host, now, rng)
}

/// A host's own cryptography for [`run_with_host`] (the native Envoy module's `ring`). Core
/// decides before either is asked: the assertion's algorithm is bound to the client's key, and
/// the access token's algorithm and `kid` are the server's active signing key's.
pub struct HostCrypto<'a> {
    /// Whether a client assertion's signature verifies ([`Next::CheckSignature`]).
    pub verify: &'a dyn Fn(&SignatureCheck<'_>) -> bool,
    /// The signature over an access token's signing input with the signing key `kid` under
    /// `alg` ([`Next::Sign`]); None: core's own primitives sign it.
    pub sign: &'a HostSign<'a>,
}

/// [`HostCrypto::sign`]: algorithm, `kid`, signing input → the signature, or None.
pub type HostSign<'a> = dyn Fn(Algorithm, &str, &[u8]) -> Option<Vec<u8>> + 'a;

impl core::fmt::Debug for HostCrypto<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HostCrypto(..)")
    }
}

/// [`run`] with the host's signature check and signer (`host`); everything else as in [`run`].
pub fn run_with_host<'c>(
    config: &ServerConfig,
    http: &TokenHttpRequest<'_>,
    find_client: impl FnOnce(&str) -> Option<&'c ClientRecord>,
    record_jti: impl FnOnce(&str, u64) -> ReplayOutcome,
    host: &HostCrypto<'_>,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Finished {
    let mut jti = [0u8; 16];
    rng.fill_bytes(&mut jti);
    let mut exchange = TokenExchange::begin(config, http, now, jti);
    let mut find_client = Some(find_client);
    let mut record_jti = Some(record_jti);
    loop {
        let find = |id: &str| find_client.take().and_then(|find| find(id));
        match advance(&mut exchange, config, find, host, rng) {
            Advanced::Over(finished) => return finished,
            Advanced::RecordReplay { key, expires_at } => {
                // Asked once per exchange; a second ask would be a bug, answered as "seen".
                let outcome = match record_jti.take() {
                    Some(record) => record(&key, expires_at),
                    None => ReplayOutcome::AlreadySeen,
                };
                exchange.replay_recorded(config, outcome);
            }
        }
    }
}

/// Where [`advance`] stopped.
#[derive(Debug)]
pub enum Advanced {
    /// The exchange is over: send this.
    Over(Finished),
    /// The replay store must insert `key` until `expires_at` ([`Next::RecordReplay`]); answer
    /// with [`TokenExchange::replay_recorded`], then advance again.
    RecordReplay {
        /// The replay key.
        key: String,
        /// Until when it must be kept (Unix seconds).
        expires_at: u64,
    },
}

/// Runs the synchronous steps of `exchange` (client lookup with `find_client`, signatures with
/// `host` or core) until it is over or needs the replay store: for a host whose replay store
/// answers later (an Envoy token endpoint on etcd), which keeps the exchange between its calls.
pub fn advance<'c>(
    exchange: &mut TokenExchange,
    config: &ServerConfig,
    mut find_client: impl FnMut(&str) -> Option<&'c ClientRecord>,
    host: &HostCrypto<'_>,
    rng: &mut impl CryptoRngCore,
) -> Advanced {
    loop {
        match exchange.next() {
            Next::Respond(_) => {
                let placeholder = || {
                    let e = out_of_order();
                    Finished {
                        response: e.to_response(&config.issuer),
                        outcome: Err(e),
                        introspection: exchange.introspection,
                    }
                };
                let over = core::mem::replace(&mut exchange.state, State::Moving);
                return Advanced::Over(match over {
                    State::Done(finished) => finished,
                    _ => placeholder(),
                });
            }
            Next::LoadClient(id) => {
                let id = String::from(id);
                exchange.client_loaded(config, find_client(&id));
            }
            Next::CheckSignature(_) => exchange.check_signature_with(config, host.verify),
            Next::RecordReplay { key, expires_at } => {
                return Advanced::RecordReplay {
                    key: String::from(key),
                    expires_at,
                }
            }
            Next::Sign { alg, kid, input } => match (host.sign)(alg, kid, input) {
                Some(signature) => exchange.signed(config, &signature),
                None => exchange.sign_builtin(config, rng),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64;
    use crate::client_assertion::ClientAssertion;
    use crate::jwk::SigningJwk;
    use crate::secret::SecretHash;
    use alloc::string::ToString;
    use alloc::vec::Vec;
    use rand_chacha::rand_core::SeedableRng;
    use serde_json::json;

    const NOW: u64 = 1_900_000_000;

    struct Fixture {
        config: ServerConfig,
        client_key: SigningJwk,
        stored: String,
        rng: rand_chacha::ChaCha20Rng,
    }

    fn fixture() -> Fixture {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let server_key = SigningJwk::generate(Algorithm::ES256, &mut rng).unwrap();
        let client_key = SigningJwk::generate(Algorithm::EdDSA, &mut rng).unwrap();
        let config = ServerConfig::from_json(
            &json!({
                "issuer": "https://as.example",
                "signing_keys": [server_key.to_private_json()],
                "default_audiences": ["https://api.example"],
                "registration": {"open_registration": true, "allowed_scope": "a"},
                "clients": [
                    {"client_id": "s", "client_secret_hash": SecretHash::of("pw").to_stored()},
                    {"client_id": "k", "token_endpoint_auth_method": "private_key_jwt",
                     "jwks": {"keys": [client_key.public_jwk().to_public_json()]}}
                ]
            })
            .to_string(),
        )
        .unwrap();
        let stored = json!({
            "client_id": "stored", "issuer": "https://as.example",
            "client_secret_hash": SecretHash::of("pw2").to_stored(), "scope": "a"
        })
        .to_string();
        Fixture {
            config,
            client_key,
            stored,
            rng,
        }
    }

    fn form<'a>(body: &'a [u8], auth: Option<&'a str>) -> TokenHttpRequest<'a> {
        TokenHttpRequest {
            method: "POST",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: auth,
            body,
        }
    }

    fn assertion_body(fx: &mut Fixture, jti: &str) -> Vec<u8> {
        let assertion = ClientAssertion::new("k", "https://as.example", NOW, 60, jti)
            .sign(&fx.client_key, &mut fx.rng)
            .unwrap();
        alloc::format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
        )
        .into_bytes()
    }

    fn status(exchange: &TokenExchange) -> Option<u16> {
        exchange.response().map(|r| r.status)
    }

    #[test]
    fn a_configured_secret_client_goes_straight_to_the_signature() {
        let mut fx = fixture();
        let mut ex = TokenExchange::begin(
            &fx.config,
            &form(b"grant_type=client_credentials", Some("Basic czpwdw==")),
            NOW,
            [1; 16],
        );
        let Next::Sign { alg, kid, input } = ex.next() else {
            panic!("expected Sign, got {:?}", ex.next())
        };
        assert_eq!(alg, Algorithm::ES256);
        assert_eq!(kid, fx.config.signing_keys.keys()[0].kid);
        assert!(!input.is_empty());
        ex.sign_builtin(&fx.config, &mut fx.rng);
        assert_eq!(status(&ex), Some(200));
        assert_eq!(ex.tally(), Tally::Issued);
        let issued = ex.outcome().unwrap().unwrap().issued().unwrap();
        assert_eq!(issued.client_id, "s");
        assert_eq!(issued.jti, b64::encode_url(&[1; 16]));
    }

    #[test]
    fn an_assertion_client_is_verified_then_recorded_then_signed_in_that_order() {
        let mut fx = fixture();
        let body = assertion_body(&mut fx, "j1");
        let mut ex = TokenExchange::begin(&fx.config, &form(&body, None), NOW, [2; 16]);
        // The host's verdict: a valid signature is what the built-in check says too.
        let Next::CheckSignature(check) = ex.next() else {
            panic!("expected CheckSignature")
        };
        assert!(check.verify_builtin());
        ex.signature_checked(&fx.config, true);
        let Next::RecordReplay { key, expires_at } = ex.next() else {
            panic!("expected RecordReplay")
        };
        assert_eq!(key.len(), 43);
        assert_eq!(
            expires_at,
            NOW + 60 + fx.config.assertion.clock_skew_seconds
        );
        // Signing before the replay answer is a host bug: no token, a server error.
        let mut early = TokenExchange::begin(&fx.config, &form(&body, None), NOW, [2; 16]);
        early.signature_checked(&fx.config, true);
        early.signed(&fx.config, &[0; 64]);
        assert_eq!(status(&early), Some(500));
        assert!(early.outcome().unwrap().is_err());
        ex.replay_recorded(&fx.config, ReplayOutcome::Recorded);
        assert!(matches!(ex.next(), Next::Sign { .. }));
        ex.sign_builtin(&fx.config, &mut fx.rng);
        assert_eq!(status(&ex), Some(200));
    }

    #[test]
    fn a_used_assertion_or_a_false_signature_verdict_gets_invalid_client() {
        let mut fx = fixture();
        let body = assertion_body(&mut fx, "j2");
        let mut seen = TokenExchange::begin(&fx.config, &form(&body, None), NOW, [3; 16]);
        seen.check_signature_builtin(&fx.config);
        seen.replay_recorded(&fx.config, ReplayOutcome::AlreadySeen);
        assert_eq!(status(&seen), Some(401));
        let mut forged = TokenExchange::begin(&fx.config, &form(&body, None), NOW, [3; 16]);
        forged.signature_checked(&fx.config, false);
        assert_eq!(status(&forged), Some(401));
        assert_eq!(forged.tally(), Tally::ClientAuthFailed);
        assert_eq!(
            forged.outcome().unwrap().unwrap_err().description,
            "client assertion signature is invalid"
        );
    }

    #[test]
    fn run_with_host_asks_the_hosts_check_and_signer_and_follows_the_check() {
        let mut fx = fixture();
        // A good assertion: the host's check sees it, the host's signer signs the token.
        let body = assertion_body(&mut fx, "j-host");
        let second = assertion_body(&mut fx, "j-host-2");
        let asked = core::cell::Cell::new(0);
        let accept = |c: &SignatureCheck<'_>| {
            asked.set(asked.get() + 1);
            c.verify_builtin()
        };
        let signed = core::cell::Cell::new(0);
        let sign = |alg: Algorithm, kid: &str, input: &[u8]| {
            signed.set(signed.get() + 1);
            let key = fx
                .config
                .signing_keys
                .keys()
                .iter()
                .find(|k| k.kid == kid)?;
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
            crypto::sign(alg, &key.key, input, &mut rng).ok()
        };
        let host = HostCrypto {
            verify: &accept,
            sign: &sign,
        };
        let mut rng = fx.rng.clone();
        let done = run_with_host(
            &fx.config,
            &form(&body, None),
            |id| fx.config.client(id),
            |_, _| ReplayOutcome::Recorded,
            &host,
            NOW,
            &mut rng,
        );
        assert_eq!(done.response.status, 200);
        assert_eq!((asked.get(), signed.get()), (1, 1));
        // A host whose check says no: invalid_client, and nothing is signed.
        let body = second;
        let refuse = HostCrypto {
            verify: &|_| false,
            sign: &sign,
        };
        let done = run_with_host(
            &fx.config,
            &form(&body, None),
            |id| fx.config.client(id),
            |_, _| ReplayOutcome::Recorded,
            &refuse,
            NOW,
            &mut rng,
        );
        assert_eq!(done.response.status, 401);
        assert_eq!(done.tally(), Tally::ClientAuthFailed);
        assert_eq!(signed.get(), 1, "no token signed for the refused assertion");
    }

    #[test]
    fn an_unknown_client_is_looked_up_and_a_stored_record_that_does_not_load_fails() {
        let mut fx = fixture();
        let basic = alloc::format!("Basic {}", b64::encode_standard(b"stored:pw2"));
        let mut ex = TokenExchange::begin(
            &fx.config,
            &form(b"grant_type=client_credentials", Some(&basic)),
            NOW,
            [4; 16],
        );
        assert!(matches!(ex.next(), Next::LoadClient("stored")));
        ex.stored_client_loaded(&fx.config, Some(&fx.stored));
        ex.sign_builtin(&fx.config, &mut fx.rng);
        assert_eq!(status(&ex), Some(200));

        let mut broken = TokenExchange::begin(
            &fx.config,
            &form(b"grant_type=client_credentials", Some(&basic)),
            NOW,
            [4; 16],
        );
        broken.stored_client_loaded(&fx.config, Some("{\"client_id\": 1}"));
        assert_eq!(status(&broken), Some(401));
        let mut unknown = TokenExchange::begin(
            &fx.config,
            &form(b"grant_type=client_credentials", Some(&basic)),
            NOW,
            [4; 16],
        );
        unknown.stored_client_loaded(&fx.config, None);
        assert_eq!(status(&unknown), Some(401));
    }

    #[test]
    fn a_malformed_request_ends_at_once_and_later_steps_keep_its_answer() {
        let fx = fixture();
        let mut ex = TokenExchange::begin(
            &fx.config,
            &TokenHttpRequest {
                method: "GET",
                content_type: None,
                authorization: None,
                body: b"",
            },
            NOW,
            [5; 16],
        );
        assert_eq!(status(&ex), Some(405));
        assert_eq!(ex.tally(), Tally::Refused);
        ex.replay_recorded(&fx.config, ReplayOutcome::Recorded);
        ex.signed(&fx.config, &[0; 64]);
        assert_eq!(status(&ex), Some(405));
        assert!(ex.outcome().unwrap().is_err());
    }

    #[test]
    fn a_host_signature_of_the_wrong_length_is_a_server_error() {
        let fx = fixture();
        let mut ex = TokenExchange::begin(
            &fx.config,
            &form(b"grant_type=client_credentials", Some("Basic czpwdw==")),
            NOW,
            [6; 16],
        );
        ex.signed(&fx.config, &[0; 10]);
        assert_eq!(status(&ex), Some(500));
    }
}

#[cfg(test)]
mod run_tests {
    use super::*;
    use crate::client_assertion::ClientAssertion;
    use crate::client_auth::ReplayOutcome;
    use crate::config::ServerConfig;
    use crate::crypto::Algorithm;
    use crate::jwk::SigningJwk;
    use crate::request::TokenHttpRequest;
    use alloc::collections::BTreeSet;
    use alloc::string::{String, ToString};
    use rand_chacha::rand_core::SeedableRng;
    use serde_json::json;

    const NOW: u64 = 1_900_000_000;

    #[test]
    fn jwt_clients_go_through_the_replay_store_and_secret_clients_do_not() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let server_key = SigningJwk::generate(Algorithm::EdDSA, &mut rng).unwrap();
        let client_key = SigningJwk::generate(Algorithm::EdDSA, &mut rng).unwrap();
        let config = ServerConfig::from_json(
            &json!({
                "issuer": "https://as.example",
                "signing_keys": [server_key.to_private_json()],
                "default_audiences": ["https://api.example"],
                "clients": [
                    {"client_id": "s", "client_secret_hash": crate::secret::SecretHash::of("pw").to_stored()},
                    {"client_id": "k", "token_endpoint_auth_method": "private_key_jwt",
                     "jwks": {"keys": [client_key.public_jwk().to_public_json()]}}
                ]
            })
            .to_string(),
        )
        .unwrap();
        let form = |body: &'static [u8], auth: Option<&'static str>| TokenHttpRequest {
            method: "POST",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: auth,
            body,
        };
        let mut store: BTreeSet<String> = BTreeSet::new();
        let mut calls = 0;
        let mut replay = |key: &str, _exp: u64| {
            calls += 1;
            if store.insert(key.into()) {
                ReplayOutcome::Recorded
            } else {
                ReplayOutcome::AlreadySeen
            }
        };
        // client_secret_basic ("s:pw"): no replay call.
        let ok = run(
            &config,
            &form(b"grant_type=client_credentials", Some("Basic czpwdw==")),
            |id| config.client(id),
            &mut replay,
            NOW,
            &mut rng,
        );
        assert_eq!(ok.response.status, 200);
        let bad = run(
            &config,
            &form(b"grant_type=client_credentials", Some("Basic czp4")),
            |id| config.client(id),
            &mut replay,
            NOW,
            &mut rng,
        );
        assert_eq!(bad.response.status, 401);
        assert_eq!(
            bad.response.header("www-authenticate"),
            Some("Basic realm=\"https://as.example\", charset=\"UTF-8\"")
        );
        // private_key_jwt: one replay call per attempt; the second use is refused.
        let assertion = ClientAssertion::new("k", "https://as.example", NOW, 60, "1")
            .sign(&client_key, &mut rng)
            .unwrap();
        let body = alloc::format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
        );
        let body: &'static [u8] = alloc::boxed::Box::leak(body.into_bytes().into_boxed_slice());
        assert_eq!(
            run(
                &config,
                &form(body, None),
                |id| config.client(id),
                &mut replay,
                NOW,
                &mut rng
            )
            .response
            .status,
            200
        );
        let again = run(
            &config,
            &form(body, None),
            |id| config.client(id),
            &mut replay,
            NOW,
            &mut rng,
        );
        assert_eq!(again.response.status, 401);
        assert_eq!(calls, 2);
    }
}
