//! The token endpoint in one call, for hosts whose stores answer synchronously (a config's
//! static clients, Envoy shared data, an in-memory map): [`crate::exchange::run`] as a result or
//! an HTTP response. Hosts with asynchronous stores (the npm package) drive the same
//! [`crate::exchange::TokenExchange`] step by step.

use rand_core::CryptoRngCore;

use crate::client_auth::{ClientRecord, ReplayOutcome};
use crate::config::ServerConfig;
use crate::error::{TokenError, TokenErrorCode};
use crate::exchange;
use crate::mint::IssuedToken;
use crate::request::TokenHttpRequest;
use crate::response::HttpResponse;

/// Issues a token for a token request, or returns the RFC 6749 §5.2 error.
///
/// `find_client` looks up a client that is not in the configuration; `record_jti` inserts a
/// replay key with its expiry (Unix seconds) if absent and says whether it was absent — it must
/// be atomic across everything that shares the store.
pub fn issue_token<'c>(
    config: &ServerConfig,
    http: &TokenHttpRequest<'_>,
    find_client: impl FnOnce(&str) -> Option<&'c ClientRecord>,
    record_jti: impl FnOnce(&str, u64) -> ReplayOutcome,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<IssuedToken, TokenError> {
    let done = exchange::run(config, http, find_client, record_jti, now, rng);
    match done.outcome() {
        Some(Ok(issued)) => Ok(issued.clone()),
        Some(Err(e)) => Err(e.clone()),
        None => Err(TokenError::new(
            TokenErrorCode::ServerError,
            "token exchange did not finish",
        )),
    }
}

/// [`exchange::run`] as an HTTP response: the RFC 6749 §5.1 success or the §5.2 error (with
/// the issuer as the Basic realm).
pub fn token_response<'c>(
    config: &ServerConfig,
    http: &TokenHttpRequest<'_>,
    find_client: impl FnOnce(&str) -> Option<&'c ClientRecord>,
    record_jti: impl FnOnce(&str, u64) -> ReplayOutcome,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> HttpResponse {
    exchange::run(config, http, find_client, record_jti, now, rng)
        .into_response()
        .unwrap_or_else(|| {
            TokenError::new(TokenErrorCode::ServerError, "token exchange did not finish")
                .to_response(&config.issuer)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{self, Algorithm};
    use crate::jwk::SigningJwk;
    use crate::{b64, jws};
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
        let ok = token_response(
            &config,
            &form(b"grant_type=client_credentials", Some("Basic czpwdw==")),
            |id| config.client(id),
            &mut replay,
            NOW,
            &mut rng,
        );
        assert_eq!(ok.status, 200);
        let bad = token_response(
            &config,
            &form(b"grant_type=client_credentials", Some("Basic czp4")),
            |id| config.client(id),
            &mut replay,
            NOW,
            &mut rng,
        );
        assert_eq!(bad.status, 401);
        assert_eq!(
            bad.header("www-authenticate"),
            Some("Basic realm=\"https://as.example\", charset=\"UTF-8\"")
        );
        // private_key_jwt: one replay call per attempt; the second use is refused.
        let input = jws::signing_input(
            &json!({"alg": "EdDSA", "kid": client_key.kid}),
            &json!({"iss": "k", "sub": "k", "aud": "https://as.example", "exp": NOW + 60, "jti": "1"}),
        );
        let sig = crypto::sign(
            Algorithm::EdDSA,
            &client_key.key,
            input.as_bytes(),
            &mut rng,
        )
        .unwrap();
        let body = alloc::format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={}.{}",
            input,
            b64::encode_url(&sig)
        );
        let body: &'static [u8] = alloc::boxed::Box::leak(body.into_bytes().into_boxed_slice());
        assert_eq!(
            token_response(
                &config,
                &form(body, None),
                |id| config.client(id),
                &mut replay,
                NOW,
                &mut rng
            )
            .status,
            200
        );
        let again = token_response(
            &config,
            &form(body, None),
            |id| config.client(id),
            &mut replay,
            NOW,
            &mut rng,
        );
        assert_eq!(again.status, 401);
        assert_eq!(calls, 2);
    }
}
