//! Client assertions as a client makes them: the JWT a `private_key_jwt` or `client_secret_jwt`
//! client sends as `client_assertion` (RFC 7523 §2.2 and §3, OpenID Connect Core §9). Checking
//! one is the server's side, [`crate::client_auth`]; what [`ClientAssertion`] builds passes those
//! checks under the default policy and under `require_explicit_typ`, so the CLI, the demos, the
//! benches and the tests share one well-formed assertion instead of each writing its header,
//! claims and `typ` by hand.
//!
//! No I/O here either: the time (`now`), the `jti` (for example
//! [`crate::secret::random_string`]) and the randomness some signature algorithms need all come
//! from the caller.

use alloc::string::String;
use rand_core::CryptoRngCore;
use serde_json::{Map, Value};

use crate::client_auth::ASSERTION_TYP;
use crate::crypto::{self, Algorithm, SignError};
use crate::jwk::SigningJwk;
use crate::jws;

/// A client assertion before it is signed: the registered claims RFC 7523 §3 requires, the
/// audience draft-ietf-oauth-rfc7523bis requires, and the explicit `typ`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientAssertion {
    /// The `client_id`, written as both `iss` and `sub` (RFC 7523 §3 items 1 and 2).
    pub client_id: String,
    /// `aud` (RFC 7523 §3 item 3): the authorization server's issuer identifier, as a single
    /// string. draft-ietf-oauth-rfc7523bis makes that the only audience a server accepts by
    /// default: the token endpoint URL and arrays let an assertion made for one server be used
    /// at another.
    pub audience: String,
    /// `iat` (RFC 7523 §3 item 6).
    pub issued_at: u64,
    /// `exp` (RFC 7523 §3 item 4, required). Servers bound `exp - iat` (gatepass: 3600 s at
    /// most, [`crate::client_auth::DEFAULT_ASSERTION_MAX_LIFETIME`]).
    pub expires_at: u64,
    /// `jti` (RFC 7523 §3 item 7): single-use at the server, so a fresh value per assertion.
    pub jti: String,
    /// The `typ` header: [`ASSERTION_TYP`] (draft-ietf-oauth-rfc7523bis §4 explicit typing)
    /// unless changed with [`Self::with_typ`]; `None` leaves the header member out.
    pub typ: Option<String>,
    /// Claims written after the registered ones; one with a registered name replaces it.
    pub extra_claims: Map<String, Value>,
}

impl ClientAssertion {
    /// An assertion by `client_id` for the server whose issuer identifier is `audience`, issued
    /// at `now` (Unix seconds) and valid for `lifetime` seconds, with `jti`.
    pub fn new(
        client_id: impl Into<String>,
        audience: impl Into<String>,
        now: u64,
        lifetime: u64,
        jti: impl Into<String>,
    ) -> Self {
        ClientAssertion {
            client_id: client_id.into(),
            audience: audience.into(),
            issued_at: now,
            expires_at: now.saturating_add(lifetime),
            jti: jti.into(),
            typ: Some(String::from(ASSERTION_TYP)),
            extra_claims: Map::new(),
        }
    }

    /// The same assertion with another `typ` header, or none: what many client libraries send
    /// today (`JWT`, or no `typ`), for exercising a server's `typ` rule.
    pub fn with_typ(mut self, typ: Option<&str>) -> Self {
        self.typ = typ.map(String::from);
        self
    }

    /// The same assertion with one more claim (for example `nbf`, or padding in a size test).
    pub fn with_claim(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra_claims.insert(name.into(), value);
        self
    }

    /// The protected header for `alg` and the key id `kid` (`None`: no `kid`, as for a
    /// `client_secret_jwt` assertion, whose key is the client's secret).
    pub fn header(&self, alg: Algorithm, kid: Option<&str>) -> Value {
        let mut header = Map::new();
        header.insert("alg".into(), alg.name().into());
        if let Some(kid) = kid {
            header.insert("kid".into(), kid.into());
        }
        if let Some(typ) = &self.typ {
            header.insert("typ".into(), typ.as_str().into());
        }
        Value::Object(header)
    }

    /// The claims set.
    pub fn claims(&self) -> Value {
        let mut claims = Map::new();
        claims.insert("iss".into(), self.client_id.as_str().into());
        claims.insert("sub".into(), self.client_id.as_str().into());
        claims.insert("aud".into(), self.audience.as_str().into());
        claims.insert("iat".into(), self.issued_at.into());
        claims.insert("exp".into(), self.expires_at.into());
        claims.insert("jti".into(), self.jti.as_str().into());
        claims.extend(self.extra_claims.clone());
        Value::Object(claims)
    }

    /// The JWS signing input (RFC 7515 §5.1) under `alg` and `kid`, for callers that sign
    /// elsewhere (WebCrypto, a key store); [`jws::assemble`] appends their signature.
    pub fn signing_input(&self, alg: Algorithm, kid: Option<&str>) -> String {
        jws::signing_input(&self.header(alg, kid), &self.claims())
    }

    /// The compact JWS signed with a `private_key_jwt` client's key, under the key's algorithm
    /// and `kid` (RFC 7523 §2.2). `rng` is used by the algorithms that need randomness (ES512,
    /// RSA).
    pub fn sign(
        &self,
        key: &SigningJwk,
        rng: &mut impl CryptoRngCore,
    ) -> Result<String, SignError> {
        let input = self.signing_input(key.alg, Some(&key.kid));
        let signature = crypto::sign(key.alg, &key.key, input.as_bytes(), rng)?;
        Ok(jws::assemble(&input, &signature))
    }

    /// The compact JWS of a `client_secret_jwt` client: an HMAC under `alg` (HS256, HS384,
    /// HS512) keyed by the client secret, without `kid`. A secret shorter than the hash output
    /// is refused, as the server refuses it (RFC 7518 §3.2).
    pub fn sign_with_secret(&self, alg: Algorithm, secret: &[u8]) -> Result<String, SignError> {
        if !alg.is_symmetric() || secret.len() < alg.min_hmac_key_len() {
            return Err(SignError::KeyDoesNotFit);
        }
        let input = self.signing_input(alg, None);
        let tag = crypto::hmac_sign(alg, secret, input.as_bytes())?;
        Ok(jws::assemble(&input, &tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_auth::{self, Authentication, ReplayOutcome};
    use crate::config::ServerConfig;
    use crate::request::{self, TokenHttpRequest};
    use alloc::string::ToString;
    use rand_chacha::rand_core::SeedableRng;
    use serde_json::json;

    const NOW: u64 = 1_900_000_000;
    const ISSUER: &str = "https://as.example";
    const HMAC_SECRET: &str = "client-secret-jwt-0123456789abcdefghijklmnop";

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    fn key(alg: Algorithm) -> SigningJwk {
        SigningJwk::generate(alg, &mut rng()).unwrap()
    }

    /// A server with a `private_key_jwt` client `kc` (keys `keys`) and a `client_secret_jwt`
    /// client `sc`, optionally requiring `typ: client-authentication+jwt`.
    fn server(keys: &[&SigningJwk], require_explicit_typ: bool) -> ServerConfig {
        let public: alloc::vec::Vec<Value> = keys
            .iter()
            .filter_map(|k| k.public_jwk().to_public_json())
            .collect();
        ServerConfig::from_json(
            &json!({
                "issuer": ISSUER,
                "signing_keys": [key(Algorithm::EdDSA).to_private_json()],
                "default_audiences": ["https://api.example"],
                "require_explicit_assertion_typ": require_explicit_typ,
                "clients": [
                    {"client_id": "kc", "token_endpoint_auth_method": "private_key_jwt",
                     "jwks": {"keys": public}},
                    {"client_id": "sc", "token_endpoint_auth_method": "client_secret_jwt",
                     "client_secret": HMAC_SECRET},
                ],
            })
            .to_string(),
        )
        .unwrap()
    }

    /// The server's whole authentication step, as a host runs it: the assertion in a token
    /// request, the record loaded, the `jti` recorded.
    fn authenticates(config: &ServerConfig, client_id: &str, assertion: &str) -> bool {
        let body = alloc::format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={}",
            request::form_encode(request::JWT_BEARER_ASSERTION_TYPE),
            request::form_encode(assertion)
        );
        let http = TokenHttpRequest {
            method: "POST",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: None,
            body: body.as_bytes(),
        };
        let Ok(parsed) = request::parse_token_request(&http) else {
            return false;
        };
        match client_auth::authenticate(&parsed, config.client(client_id), &config.assertion, NOW) {
            Ok(Authentication::PendingReplayCheck(pending)) => pending
                .finish(ReplayOutcome::Recorded)
                .is_ok_and(|c| c.client_id() == client_id),
            _ => false,
        }
    }

    #[test]
    fn a_built_assertion_passes_the_servers_checks_under_either_typ_policy() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::ES512] {
            let key = key(alg);
            for require_explicit_typ in [false, true] {
                let config = server(&[&key], require_explicit_typ);
                let assertion = ClientAssertion::new("kc", ISSUER, NOW, 60, "j-1")
                    .sign(&key, &mut rng())
                    .unwrap();
                // The assertion steps a host that verifies signatures itself goes through...
                let record = config.client("kc").unwrap();
                let pending = client_auth::begin_assertion(&assertion, record, &config.assertion)
                    .unwrap()
                    .finish_builtin(&config.assertion, NOW)
                    .unwrap();
                assert_eq!(pending.jti(), "j-1");
                assert_eq!(pending.replay_expires_at(), NOW + 60 + 60);
                // ...and the whole authentication of a token request.
                assert!(
                    authenticates(&config, "kc", &assertion),
                    "{alg} explicit={require_explicit_typ}"
                );
            }
        }
    }

    #[test]
    fn the_typ_header_is_the_one_assertion_typ_and_the_claims_are_rfc7523s() {
        let key = key(Algorithm::ES256);
        let assertion = ClientAssertion::new("kc", ISSUER, NOW, 120, "j-2")
            .sign(&key, &mut rng())
            .unwrap();
        let jws = jws::parse_compact(&assertion, jws::DEFAULT_MAX_TOKEN_BYTES).unwrap();
        assert_eq!(jws.header.typ.as_deref(), Some(ASSERTION_TYP));
        assert_eq!(jws.header.typ.as_deref(), Some("client-authentication+jwt"));
        assert_eq!(jws.header.alg, Algorithm::ES256);
        assert_eq!(jws.header.kid.as_deref(), Some(key.kid.as_str()));
        assert_eq!(
            Value::Object(jws.header_json),
            json!({"alg": "ES256", "kid": key.kid, "typ": ASSERTION_TYP})
        );
        let claims: Value = serde_json::from_slice(&jws.payload).unwrap();
        assert_eq!(
            claims,
            json!({"iss": "kc", "sub": "kc", "aud": ISSUER, "iat": NOW, "exp": NOW + 120, "jti": "j-2"})
        );
    }

    #[test]
    fn a_client_secret_jwt_assertion_passes_and_a_short_secret_is_refused() {
        let config = server(&[&key(Algorithm::EdDSA)], true);
        let built = ClientAssertion::new("sc", ISSUER, NOW, 60, "j-3");
        let assertion = built
            .sign_with_secret(Algorithm::HS256, HMAC_SECRET.as_bytes())
            .unwrap();
        let jws = jws::parse_compact(&assertion, jws::DEFAULT_MAX_TOKEN_BYTES).unwrap();
        assert_eq!(jws.header.kid, None);
        assert_eq!(jws.header.typ.as_deref(), Some(ASSERTION_TYP));
        assert!(authenticates(&config, "sc", &assertion));
        // RFC 7518 §3.2: the key is at least as long as the hash; not an HMAC alg is no fit.
        assert_eq!(
            built.sign_with_secret(Algorithm::HS512, HMAC_SECRET.as_bytes()),
            Err(SignError::KeyDoesNotFit)
        );
        assert_eq!(
            built.sign_with_secret(Algorithm::ES256, HMAC_SECRET.as_bytes()),
            Err(SignError::KeyDoesNotFit)
        );
    }

    #[test]
    fn another_typ_or_none_is_what_the_typ_rule_then_decides() {
        let key = key(Algorithm::EdDSA);
        let lenient = server(&[&key], false);
        let strict = server(&[&key], true);
        for (typ, lenient_accepts) in [(None, true), (Some("JWT"), true), (Some("at+jwt"), false)] {
            let assertion = ClientAssertion::new("kc", ISSUER, NOW, 60, alloc::format!("{typ:?}"))
                .with_typ(typ)
                .sign(&key, &mut rng())
                .unwrap();
            let jws = jws::parse_compact(&assertion, jws::DEFAULT_MAX_TOKEN_BYTES).unwrap();
            assert_eq!(jws.header.typ.as_deref(), typ);
            assert_eq!(
                authenticates(&lenient, "kc", &assertion),
                lenient_accepts,
                "{typ:?}"
            );
            assert!(!authenticates(&strict, "kc", &assertion), "{typ:?}");
        }
    }

    #[test]
    fn extra_claims_follow_the_registered_ones_and_may_replace_them() {
        let built = ClientAssertion::new("kc", ISSUER, NOW, 60, "j-4")
            .with_claim("nbf", json!(NOW))
            .with_claim("aud", json!([ISSUER]));
        let claims = built.claims();
        assert_eq!(claims["nbf"], json!(NOW));
        assert_eq!(claims["aud"], json!([ISSUER]));
        assert_eq!(claims["iss"], "kc");
        // An array aud is the legacy form draft-ietf-oauth-rfc7523bis retires: refused.
        let key = key(Algorithm::EdDSA);
        let assertion = built.sign(&key, &mut rng()).unwrap();
        assert!(!authenticates(&server(&[&key], false), "kc", &assertion));
        // The signing input a host signs elsewhere is the one `sign` signs.
        let input = built.signing_input(key.alg, Some(&key.kid));
        assert!(assertion.starts_with(&alloc::format!("{input}.")));
    }
}
