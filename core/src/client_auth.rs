//! Client authentication (RFC 6749 §2.3, RFC 7521, RFC 7523, OpenID Connect Core §9).
//!
//! [`authenticate`] takes the parsed request and the client record the host loaded, and
//! returns either an [`AuthenticatedClient`] (secret methods) or a [`PendingAssertion`] (JWT
//! methods). A pending assertion becomes an authenticated client only through
//! [`PendingAssertion::finish`], which needs the outcome of the host's insert-if-absent into
//! its replay store: a token cannot be minted for a JWT-authenticated client whose `jti` was
//! not recorded, because minting needs an [`AuthenticatedClient`] and there is no other way
//! to make one.

use alloc::string::String;
use alloc::vec::Vec;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::b64;
use crate::claims::{self, Audience, TimeError};
use crate::crypto::Algorithm;
use crate::error::{TokenError, TokenErrorCode};
use crate::json;
use crate::jwk::{Jwk, JwkSet, KeyLookupError};
use crate::jws::{self, SignatureCheck};
use crate::request::{ClientCredentials, TokenRequest};
use crate::secret::SecretHash;

/// The explicit `typ` of a client assertion (draft-ietf-oauth-rfc7523bis §4).
pub const ASSERTION_TYP: &str = "client-authentication+jwt";

/// The generic `typ` (RFC 7519 §5.1) that most client libraries put on every JWT they sign,
/// client assertions included (Authlib, MSAL). Accepted unless the server requires explicit
/// typing ([`AssertionPolicy::require_explicit_typ`]).
pub const GENERIC_JWT_TYP: &str = "JWT";

/// The four client authentication methods (RFC 7591 §2 `token_endpoint_auth_method` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// HTTP Basic with the client secret.
    ClientSecretBasic,
    /// Client secret in the body.
    ClientSecretPost,
    /// HMAC assertion keyed by the client secret.
    ClientSecretJwt,
    /// Assertion signed with the client's private key.
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The registered name.
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// Parses a registered name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::ClientSecretJwt,
            AuthMethod::PrivateKeyJwt,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

/// What the server holds to authenticate a client.
#[derive(Debug, Clone)]
pub enum ClientCredential {
    /// SHA-256 of the secret (`client_secret_basic`, `client_secret_post`).
    SecretHash(SecretHash),
    /// The secret itself: `client_secret_jwt` needs it as the HMAC key (RFC 7523 §2.2 with
    /// RFC 7518 §3.2), so it cannot be stored hashed.
    Secret(Zeroizing<String>),
    /// The client's public keys (`private_key_jwt`).
    Jwks(JwkSet),
}

/// A registered client.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    /// `client_id`.
    pub client_id: String,
    /// The one authentication method the client may use.
    pub auth_method: AuthMethod,
    /// The credential for that method.
    pub credential: ClientCredential,
    /// For the JWT methods, the only assertion algorithm accepted, if registered
    /// (`token_endpoint_auth_signing_alg`).
    pub signing_alg: Option<Algorithm>,
    /// Grant types the client may use.
    pub grant_types: Vec<String>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Audiences (RFC 8707 resources) the client may request tokens for.
    pub audiences: Vec<String>,
    /// When the secret expires (0 or `None`: never), RFC 7591 `client_secret_expires_at`.
    pub secret_expires_at: Option<u64>,
    /// When the client was registered (RFC 7591 `client_id_issued_at`).
    pub client_id_issued_at: Option<u64>,
    /// SHA-256 of the RFC 7592 registration access token, for dynamically registered clients.
    pub registration_access_token_hash: Option<SecretHash>,
    /// Informational metadata kept for RFC 7592 reads (`client_name`, `contacts`, ...).
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The issuer of the server that registered the client; `None` for configured clients.
    /// A stored record is only loaded by that server ([`crate::config::ServerConfig::stored_client`]).
    pub issuer: Option<String>,
    /// This client's access token lifetime in seconds, instead of the server's `token_ttl`
    /// (at most the server's `max_token_ttl`).
    pub token_ttl: Option<u64>,
    /// Static claims added to this client's access tokens (never a registered claim name,
    /// [`crate::claims::check_extra_claims`]).
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// A disabled client authenticates nobody: `invalid_client`, as for a wrong secret. Its
    /// record is kept and the operator may enable it again.
    pub disabled: bool,
    /// The client may call the RFC 7662 introspection endpoint.
    pub introspection: bool,
}

/// Server-side rules for client assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionPolicy {
    /// This server's issuer identifier: the only accepted `aud`.
    pub issuer: String,
    /// The token endpoint URL, accepted as `aud` only when `allow_legacy_audience` is set.
    pub token_endpoint: String,
    /// Accept the token endpoint URL and arrays as `aud` (RFC 7523 §3 as originally written);
    /// off by default, per draft-ietf-oauth-rfc7523bis.
    pub allow_legacy_audience: bool,
    /// Accept only `typ: client-authentication+jwt` (draft-ietf-oauth-rfc7523bis §4); off by
    /// default, when `typ` may also be absent or `JWT`.
    pub require_explicit_typ: bool,
    /// Longest accepted assertion lifetime (`exp - iat`, or `exp - now` without `iat`),
    /// default 3600 s: Authlib signs for 3600 s, MSAL for 600 s.
    pub max_lifetime: u64,
    /// Clock skew allowed for `exp`, `nbf`, `iat`, default 60 s.
    pub clock_skew_seconds: u64,
}

/// The default [`AssertionPolicy::max_lifetime`], also the largest a configuration may set.
pub const DEFAULT_ASSERTION_MAX_LIFETIME: u64 = 3600;

impl AssertionPolicy {
    /// The defaults for an issuer and its token endpoint.
    pub fn new(issuer: impl Into<String>, token_endpoint: impl Into<String>) -> Self {
        AssertionPolicy {
            issuer: issuer.into(),
            token_endpoint: token_endpoint.into(),
            allow_legacy_audience: false,
            require_explicit_typ: false,
            max_lifetime: DEFAULT_ASSERTION_MAX_LIFETIME,
            clock_skew_seconds: 60,
        }
    }
}

/// A client whose authentication succeeded. Only this crate can make one.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    record: ClientRecord,
    method: AuthMethod,
}

impl AuthenticatedClient {
    /// The client's record.
    pub fn record(&self) -> &ClientRecord {
        &self.record
    }
    /// The client identifier.
    pub fn client_id(&self) -> &str {
        &self.record.client_id
    }
    /// The method it authenticated with.
    pub fn method(&self) -> AuthMethod {
        self.method
    }
}

/// A client whose assertion passed every check but the single-use check of its `jti`.
#[derive(Debug)]
#[must_use = "the jti must be recorded in the replay store before the client is authenticated"]
pub struct PendingAssertion {
    client: AuthenticatedClient,
    jti: String,
    expires_at: u64,
}

/// The outcome of the host's insert-if-absent into its replay store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// The key was absent and is now recorded.
    Recorded,
    /// The key was already present: the assertion was used before.
    AlreadySeen,
    /// The store did not answer (an error, a timeout). Nothing is known, so the assertion is
    /// not accepted (fail closed); the answer is 503 `temporarily_unavailable` with
    /// `Retry-After`, which tells the client to try again later rather than that its
    /// credentials are wrong.
    Unavailable,
}

impl PendingAssertion {
    /// The key to insert into the replay store: the base64url SHA-256 of client id and `jti`,
    /// so keys have a fixed length whatever the client sends, and one client's `jti` never
    /// collides with another's.
    pub fn replay_key(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.client.record.client_id.as_bytes());
        h.update([0u8]);
        h.update(self.jti.as_bytes());
        b64::encode_url(&h.finalize())
    }

    /// Until when the entry must be kept (Unix seconds): the assertion's `exp` plus the skew,
    /// after which the assertion is refused as expired anyway.
    pub fn replay_expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The assertion's `jti`.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// Completes authentication with the replay store's answer. RFC 7523 §3 item 7 and
    /// OpenID Connect Core §9: a `jti` is accepted once.
    pub fn finish(self, outcome: ReplayOutcome) -> Result<AuthenticatedClient, TokenError> {
        match outcome {
            ReplayOutcome::Recorded => Ok(self.client),
            ReplayOutcome::AlreadySeen => Err(TokenError::invalid_client(
                "client assertion was already used",
            )),
            ReplayOutcome::Unavailable => Err(TokenError::new(
                TokenErrorCode::TemporarilyUnavailable,
                "the replay store did not answer; retry later with a new client assertion",
            )),
        }
    }
}

/// The result of [`authenticate`].
#[derive(Debug)]
pub enum Authentication {
    /// Authenticated with a secret.
    Authenticated(AuthenticatedClient),
    /// Authenticated with an assertion, pending the replay check.
    PendingReplayCheck(PendingAssertion),
}

/// One description for an unknown client, a wrong secret and a disabled client. This does not
/// hide which client ids exist (a wrong method or a failing assertion names its reason, and
/// client ids are not secrets, RFC 6749 §2.2); it keeps a secret guesser from learning whether
/// the secret or the id was wrong, and tells no more than a wrong secret does about a client
/// the operator disabled.
const FAILED: &str = "client authentication failed";

/// The first step of [`authenticate`] for hosts that verify signatures themselves.
// Made and moved once per token request; boxing the larger variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AuthenticationStep {
    /// Authenticated with a secret: nothing left to check.
    Authenticated(AuthenticatedClient),
    /// An assertion whose signature the host checks ([`AssertionCheck::signature_check`]),
    /// then [`AssertionCheck::finish`] and the replay check.
    Assertion(AssertionCheck),
}

/// Authenticates the client of `request` against the record the host loaded (`None` when
/// there is no such client), up to the assertion signature. Every failure is
/// `invalid_client` (RFC 6749 §5.2, RFC 7521 §4.2.1).
pub fn begin_authentication(
    request: &TokenRequest,
    record: Option<&ClientRecord>,
    policy: &AssertionPolicy,
    now: u64,
) -> Result<AuthenticationStep, TokenError> {
    let Some(record) = record else {
        return Err(TokenError::invalid_client(FAILED));
    };
    if record.client_id != request.client_id() {
        return Err(TokenError::invalid_client(FAILED));
    }
    match (&request.credentials, record.auth_method) {
        (ClientCredentials::SecretBasic { secret, .. }, AuthMethod::ClientSecretBasic)
        | (ClientCredentials::SecretPost { secret, .. }, AuthMethod::ClientSecretPost) => {
            let ClientCredential::SecretHash(hash) = &record.credential else {
                return Err(TokenError::invalid_client(FAILED));
            };
            // RFC 7591 §3.2.1 client_secret_expires_at: an expired secret no longer
            // authenticates; checked after the secret so the reason is only told to its holder.
            if !hash.matches(secret) || record.disabled {
                return Err(TokenError::invalid_client(FAILED));
            }
            if record.secret_expires_at.is_some_and(|t| t != 0 && now >= t) {
                return Err(TokenError::invalid_client("client secret has expired"));
            }
            Ok(AuthenticationStep::Authenticated(AuthenticatedClient {
                record: record.clone(),
                method: record.auth_method,
            }))
        }
        (ClientCredentials::Assertion { assertion, .. }, AuthMethod::ClientSecretJwt)
        | (ClientCredentials::Assertion { assertion, .. }, AuthMethod::PrivateKeyJwt) => {
            if record.auth_method == AuthMethod::ClientSecretJwt
                && record.secret_expires_at.is_some_and(|t| t != 0 && now >= t)
            {
                return Err(TokenError::invalid_client("client secret has expired"));
            }
            Ok(AuthenticationStep::Assertion(begin_assertion(
                assertion, record, policy,
            )?))
        }
        _ => Err(TokenError::invalid_client(
            "authentication method is not the one registered for this client",
        )),
    }
}

/// Authenticates the client of `request` against the record the host loaded (`None` when
/// there is no such client), checking assertion signatures with the built-in primitives.
/// Every failure is `invalid_client` (RFC 6749 §5.2, RFC 7521 §4.2.1).
pub fn authenticate(
    request: &TokenRequest,
    record: Option<&ClientRecord>,
    policy: &AssertionPolicy,
    now: u64,
) -> Result<Authentication, TokenError> {
    match begin_authentication(request, record, policy, now)? {
        AuthenticationStep::Authenticated(c) => Ok(Authentication::Authenticated(c)),
        AuthenticationStep::Assertion(check) => Ok(Authentication::PendingReplayCheck(
            check.finish_builtin(policy, now)?,
        )),
    }
}

fn assertion_time_error(e: TimeError) -> TokenError {
    TokenError::with(
        TokenErrorCode::InvalidClient,
        alloc::format!("client assertion: {}", e.describe()),
    )
}

/// The `typ` rule for client assertions. draft-ietf-oauth-rfc7523bis §4 gives assertions the
/// explicit type `client-authentication+jwt`; most client libraries in use send `typ: JWT` or
/// none, so both are accepted unless `policy.require_explicit_typ` is set. Any other explicit
/// type (`at+jwt`, `dpop+jwt`, `secevent+jwt`, ...) says the JWT was made for another purpose,
/// and is refused so that an access token, a DPoP proof or another typed JWT cannot be replayed
/// as an assertion (RFC 8725 §3.11). Values compare as media types: case-insensitively, the
/// `application/` prefix optional (RFC 7515 §4.1.9). An empty `typ` is not a media type.
fn check_assertion_typ(typ: Option<&str>, policy: &AssertionPolicy) -> Result<(), TokenError> {
    if typ.is_some_and(|t| jws::typ_matches(t, ASSERTION_TYP)) {
        return Ok(());
    }
    if policy.require_explicit_typ {
        return Err(TokenError::invalid_client(
            "client assertion typ must be client-authentication+jwt",
        ));
    }
    match typ {
        None => Ok(()),
        Some(t) if jws::typ_matches(t, GENERIC_JWT_TYP) => Ok(()),
        Some(_) => Err(TokenError::invalid_client(
            "client assertion typ must be absent, JWT or client-authentication+jwt",
        )),
    }
}

/// A client assertion whose form, key and algorithm are settled, waiting for the signature
/// verdict. Hosts that verify signatures themselves (WebCrypto) take [`Self::signature_check`],
/// verify, and call [`Self::finish`].
#[derive(Debug)]
pub struct AssertionCheck {
    record: ClientRecord,
    alg: Algorithm,
    key: Jwk,
    signing_input: String,
    signature: Vec<u8>,
    claims: serde_json::Map<String, serde_json::Value>,
}

/// Starts checking a client assertion (RFC 7523 §3, OpenID Connect Core §9,
/// draft-ietf-oauth-rfc7523bis) for `record` under `policy`: everything that can be decided
/// before the signature is checked.
pub fn begin_assertion(
    assertion: &str,
    record: &ClientRecord,
    policy: &AssertionPolicy,
) -> Result<AssertionCheck, TokenError> {
    let fail = TokenError::invalid_client;
    let jws = jws::parse_compact(assertion, jws::DEFAULT_MAX_TOKEN_BYTES)
        .map_err(|_| fail("client assertion is not a valid JWS"))?;
    // What kind of JWT this is comes first: one typed for another purpose is no assertion.
    check_assertion_typ(jws.header.typ.as_deref(), policy)?;
    let alg = jws.header.alg;
    // The algorithm is pinned to the client's registration: an HMAC assertion for a key-based
    // client (or the reverse) is refused, which also defeats HS256-with-public-key confusion
    // (RFC 8725 §2.1, §3.1).
    let key: Jwk = match (&record.credential, record.auth_method) {
        (ClientCredential::Jwks(set), AuthMethod::PrivateKeyJwt) => {
            if alg.is_symmetric() {
                return Err(fail(
                    "client assertion alg does not match the client's keys",
                ));
            }
            set.select(alg, jws.header.kid.as_deref())
                .map_err(|e| match e {
                    KeyLookupError::UnknownKid => fail("client assertion kid is unknown"),
                    _ => fail("client assertion alg does not match the client's keys"),
                })?
                .clone()
        }
        (ClientCredential::Secret(secret), AuthMethod::ClientSecretJwt) => {
            if !alg.is_symmetric() {
                return Err(fail("client assertion alg must be an HMAC algorithm"));
            }
            let key = Jwk::from_secret(secret.as_bytes());
            if !key.allows(alg) {
                return Err(fail("client secret is too short for the assertion alg"));
            }
            key
        }
        _ => {
            return Err(fail(
                "client is not registered for assertion authentication",
            ))
        }
    };
    if record.signing_alg.is_some_and(|a| !a.same_as(alg)) {
        return Err(fail("client assertion alg is not the registered one"));
    }
    let claims = json::parse_object_within(&jws.payload, crate::limits::MAX_SMALL_JSON_VALUES)
        .map_err(|_| fail("client assertion payload is not a JSON object"))?;
    Ok(AssertionCheck {
        record: record.clone(),
        alg,
        key,
        signing_input: String::from(jws.signing_input),
        signature: jws.signature,
        claims,
    })
}

impl AssertionCheck {
    /// What the host must verify if it checks signatures itself.
    pub fn signature_check(&self) -> SignatureCheck<'_> {
        SignatureCheck {
            alg: self.alg,
            key: &self.key,
            signing_input: self.signing_input.as_bytes(),
            signature: &self.signature,
        }
    }

    /// Verifies the signature with the built-in primitives, then finishes.
    pub fn finish_builtin(
        self,
        policy: &AssertionPolicy,
        now: u64,
    ) -> Result<PendingAssertion, TokenError> {
        let valid = self.signature_check().verify_builtin();
        self.finish(valid, policy, now)
    }

    /// Finishes with the signature verdict: the claims of RFC 7523 §3.
    pub fn finish(
        self,
        signature_valid: bool,
        policy: &AssertionPolicy,
        now: u64,
    ) -> Result<PendingAssertion, TokenError> {
        let fail = TokenError::invalid_client;
        if !signature_valid {
            return Err(fail("client assertion signature is invalid"));
        }
        // A disabled client's valid assertion gets the answer of a wrong secret (`FAILED`).
        if self.record.disabled {
            return Err(fail(FAILED));
        }
        let claims = &self.claims;
        let client_id = self.record.client_id.as_str();
        // RFC 7523 §3 items 1 and 2: iss and sub are both the client_id.
        if claims::string(claims, "iss").ok().flatten().as_deref() != Some(client_id) {
            return Err(fail("client assertion iss is not the client_id"));
        }
        if claims::string(claims, "sub").ok().flatten().as_deref() != Some(client_id) {
            return Err(fail("client assertion sub is not the client_id"));
        }
        // RFC 7523 §3 item 3 with draft-ietf-oauth-rfc7523bis: aud is this server's issuer
        // identifier, as a single string. The token endpoint URL and arrays were allowed by the
        // original text and let an assertion made for one server be used at another; they are
        // accepted only with the legacy switch.
        let aud_ok = match claims::audience(claims) {
            Ok(Some(Audience::Single(aud))) => {
                aud == policy.issuer
                    || (policy.allow_legacy_audience && aud == policy.token_endpoint)
            }
            Ok(Some(Audience::Many(values))) => {
                policy.allow_legacy_audience
                    && values
                        .iter()
                        .any(|a| *a == policy.issuer || *a == policy.token_endpoint)
            }
            _ => false,
        };
        if !aud_ok {
            return Err(fail("client assertion aud must be the issuer identifier"));
        }
        // RFC 7523 §3 item 4: exp is required; the lifetime is bounded so that jti records can
        // expire; nbf (item 5) and iat (item 6) are honoured with the skew.
        let times = claims::check_times(
            claims,
            now,
            policy.clock_skew_seconds,
            Some(policy.max_lifetime),
            true,
        )
        .map_err(assertion_time_error)?;
        // RFC 7523 §3 item 7 / OpenID Connect Core §9: jti is required.
        let jti = match claims::string(claims, "jti") {
            Ok(Some(j)) if !j.is_empty() && j.len() <= 256 => j,
            _ => return Err(fail("client assertion jti is missing or invalid")),
        };
        Ok(PendingAssertion {
            client: AuthenticatedClient {
                method: self.record.auth_method,
                record: self.record,
            },
            jti,
            expires_at: times.exp.saturating_add(policy.clock_skew_seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_assertion::ClientAssertion;
    use crate::crypto;
    use crate::jwk::SigningJwk;
    use rand_chacha::rand_core::SeedableRng;

    const NOW: u64 = 1_900_000_000;

    fn client(key: &SigningJwk) -> ClientRecord {
        ClientRecord {
            issuer: None,
            client_id: "c1".into(),
            auth_method: AuthMethod::PrivateKeyJwt,
            credential: ClientCredential::Jwks(JwkSet {
                keys: alloc::vec![key.public_jwk()],
            }),
            signing_alg: None,
            grant_types: alloc::vec!["client_credentials".into()],
            scopes: Vec::new(),
            audiences: alloc::vec!["https://api.example".into()],
            secret_expires_at: None,
            client_id_issued_at: None,
            registration_access_token_hash: None,
            metadata: serde_json::Map::new(),
            token_ttl: None,
            claims: serde_json::Map::new(),
            disabled: false,
            introspection: false,
        }
    }

    /// A conforming assertion of `c1` for `aud`, valid for 60 s.
    fn assertion(key: &SigningJwk, aud: &str, jti: &str) -> String {
        ClientAssertion::new("c1", aud, NOW, 60, jti)
            .sign(key, &mut rand_chacha::ChaCha20Rng::seed_from_u64(5))
            .unwrap()
    }

    #[test]
    fn host_verified_assertion_uses_the_same_checks_as_the_builtin_path() {
        let key = SigningJwk::generate(
            Algorithm::ES256,
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(2),
        )
        .unwrap();
        let record = client(&key);
        let policy = AssertionPolicy::new("https://as.example", "https://as.example/oauth/token");
        let good = assertion(&key, "https://as.example", "a");
        // The host is handed exactly alg, key, signing input and signature...
        let check = begin_assertion(&good, &record, &policy).unwrap();
        let sc = check.signature_check();
        assert_eq!(sc.alg, Algorithm::ES256);
        assert_eq!(sc.key.kid, Some(key.kid.clone()));
        assert!(good.starts_with(core::str::from_utf8(sc.signing_input).unwrap()));
        assert!(crypto::verify(
            sc.alg,
            &sc.key.key,
            sc.signing_input,
            sc.signature
        ));
        // ...and its verdict decides: a false verdict is invalid_client even for a good token.
        let refused = begin_assertion(&good, &record, &policy)
            .unwrap()
            .finish(false, &policy, NOW)
            .unwrap_err();
        assert_eq!(refused.code, TokenErrorCode::InvalidClient);
        assert!(check.finish(true, &policy, NOW).is_ok());
        // The claim checks run after a true verdict, as on the built-in path.
        let bad_aud = assertion(&key, "https://other.example", "a");
        let host = begin_assertion(&bad_aud, &record, &policy)
            .unwrap()
            .finish(true, &policy, NOW)
            .unwrap_err();
        let builtin = begin_assertion(&bad_aud, &record, &policy)
            .unwrap()
            .finish_builtin(&policy, NOW)
            .unwrap_err();
        assert_eq!(host, builtin);
    }

    #[test]
    fn rfc9864_ed25519_name_is_accepted_for_an_eddsa_key() {
        let key = SigningJwk::generate(
            Algorithm::EdDSA,
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(2),
        )
        .unwrap();
        let record = client(&key);
        let policy = AssertionPolicy::new("https://as.example", "https://as.example/oauth/token");
        // The RFC 9864 name in the header, the EdDSA key's signature.
        let input = ClientAssertion::new("c1", "https://as.example", NOW, 60, "e")
            .signing_input(Algorithm::Ed25519, Some(&key.kid));
        let sig = crypto::sign(
            Algorithm::Ed25519,
            &key.key,
            input.as_bytes(),
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(5),
        )
        .unwrap();
        let assertion = jws::assemble(&input, &sig);
        assert!(begin_assertion(&assertion, &record, &policy)
            .unwrap()
            .finish_builtin(&policy, NOW)
            .is_ok());
        // An ES256 key still refuses it: the names are only equal for Ed25519.
        assert!(!Algorithm::ES256.same_as(Algorithm::Ed25519));
    }

    #[test]
    fn a_jti_recorded_once_authenticates_once() {
        let key = SigningJwk::generate(
            Algorithm::EdDSA,
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(2),
        )
        .unwrap();
        let record = client(&key);
        let policy = AssertionPolicy::new("https://as.example", "https://as.example/oauth/token");
        let a = assertion(&key, "https://as.example", "once");
        let mut store = alloc::collections::BTreeSet::new();
        let mut attempt = || {
            let pending = begin_assertion(&a, &record, &policy)
                .unwrap()
                .finish_builtin(&policy, NOW)
                .unwrap();
            assert_eq!(pending.replay_expires_at(), NOW + 60 + 60);
            let outcome = if store.insert(pending.replay_key()) {
                ReplayOutcome::Recorded
            } else {
                ReplayOutcome::AlreadySeen
            };
            pending.finish(outcome)
        };
        assert!(attempt().is_ok());
        let second = attempt().unwrap_err();
        assert_eq!(second.code, TokenErrorCode::InvalidClient);
        assert_eq!(second.status(), 401);
    }
}
