//! Minting RFC 9068 access tokens and the token response (RFC 6749 §5.1).
//!
//! [`prepare`] builds the header and claims for a [`Grant`] and yields a [`PendingSignature`]:
//! the signing input and the key. The host signs (WebCrypto) and calls
//! [`PendingSignature::finish`], or calls [`PendingSignature::sign_builtin`].

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use rand_core::CryptoRngCore;
use serde_json::{json, Value};

use crate::b64;
use crate::crypto::{self, Algorithm, PrivateKey};
use crate::error::{ConfigError, TokenError, TokenErrorCode};
use crate::grant::Grant;
use crate::json;
use crate::jwk::SigningJwk;
use crate::jws;
use crate::response::HttpResponse;
use crate::verify::ACCESS_TOKEN_TYP;

/// Signing keys: one active key signs; every key is published in the JWKS, so the next key
/// can be published before it becomes active and the previous one stays verifiable.
#[derive(Debug, Clone)]
pub struct SigningKeySet {
    keys: Vec<SigningJwk>,
    active: usize,
}

impl SigningKeySet {
    /// A key set; `active_kid` names the signing key (default: the first).
    pub fn new(keys: Vec<SigningJwk>, active_kid: Option<&str>) -> Result<Self, ConfigError> {
        if keys.is_empty() {
            return Err(ConfigError::new(
                "signing_keys",
                "at least one signing key is required",
            ));
        }
        for (i, k) in keys.iter().enumerate() {
            if keys.iter().skip(i + 1).any(|other| other.kid == k.kid) {
                return Err(ConfigError::new(
                    "signing_keys",
                    alloc::format!("kid \"{}\" appears twice", k.kid),
                ));
            }
        }
        let active = match active_kid {
            None => 0,
            Some(kid) => keys.iter().position(|k| k.kid == kid).ok_or_else(|| {
                ConfigError::new(
                    "active_kid",
                    alloc::format!("no signing key has kid \"{kid}\""),
                )
            })?,
        };
        Ok(SigningKeySet { keys, active })
    }

    /// The active key.
    pub fn active(&self) -> Option<&SigningJwk> {
        self.keys.get(self.active)
    }

    /// All keys.
    pub fn keys(&self) -> &[SigningJwk] {
        &self.keys
    }

    /// The public JWK set (RFC 7517 §5): public members only.
    pub fn public_jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .filter_map(|k| k.public_jwk().to_public_json())
            .collect();
        json!({ "keys": keys })
    }

    /// The public keys as a verification set (what a resource server configured with this
    /// server's JWKS would hold).
    pub fn verification_set(&self) -> crate::jwk::JwkSet {
        crate::jwk::JwkSet {
            keys: self.keys.iter().map(SigningJwk::public_jwk).collect(),
        }
    }
}

/// Token lifetime and issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintSettings {
    /// `iss`.
    pub issuer: String,
    /// Lifetime in seconds (`expires_in`).
    pub token_ttl: u64,
}

/// A token whose claims are fixed, waiting for its signature.
#[derive(Debug)]
pub struct PendingSignature<'a> {
    key: &'a SigningJwk,
    signing_input: String,
    issued: IssuedToken,
}

/// A minted token and what the token response says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWS (empty until signed).
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// `exp`.
    pub expires_at: u64,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// `jti`.
    pub jti: String,
    /// `client_id`.
    pub client_id: String,
}

/// Prepares an RFC 9068 access token for `grant`, signed by the active key. `jti_bytes`
/// come from the caller's randomness (16 bytes give a 128-bit unique id).
pub fn prepare<'a>(
    grant: &Grant,
    keys: &'a SigningKeySet,
    settings: &MintSettings,
    now: u64,
    jti_bytes: [u8; 16],
) -> Result<PendingSignature<'a>, TokenError> {
    let key = keys.active().ok_or_else(|| {
        TokenError::new(
            TokenErrorCode::InvalidRequest,
            "no signing key is configured",
        )
    })?;
    let jti = b64::encode_url(&jti_bytes);
    let ttl = grant.token_ttl().unwrap_or(settings.token_ttl);
    let exp = now.saturating_add(ttl);
    let scope = grant.scopes().join(" ");
    // RFC 9068 §2.1: typ "at+jwt"; kid of the signing key.
    let mut header = Vec::with_capacity(key.kid.len() + 48);
    header.extend_from_slice(b"{\"alg\":");
    json::push_string(&mut header, key.alg.name());
    header.extend_from_slice(b",\"kid\":");
    json::push_string(&mut header, &key.kid);
    header.extend_from_slice(b",\"typ\":");
    json::push_string(&mut header, ACCESS_TOKEN_TYP);
    header.push(b'}');
    let claims = claims_json(grant, &settings.issuer, now, exp, &jti, &scope);
    Ok(PendingSignature {
        key,
        signing_input: jws::signing_input_of_json(&header, &claims),
        issued: IssuedToken {
            access_token: String::new(),
            expires_in: ttl,
            expires_at: exp,
            scope,
            jti,
            client_id: String::from(grant.client_id()),
        },
    })
}

/// The access token's claims as JSON text (RFC 9068 §2.2): iss, exp, aud, sub, client_id, iat,
/// jti, and scope when the grant has scopes; for client credentials the subject is the client
/// itself (§2.2 "sub ... the client identifier" when no resource owner is involved); aud is a
/// string when there is one audience. Members in sorted order, as a JSON object map writes them.
/// Written directly (on every token request's path) unless the client has static claims, which
/// are sorted in among these by [`claims_value`].
fn claims_json(grant: &Grant, issuer: &str, now: u64, exp: u64, jti: &str, scope: &str) -> Vec<u8> {
    if !grant.claims().is_empty() {
        return serde_json::to_vec(&claims_value(grant, issuer, now, exp, jti, scope))
            .unwrap_or_default();
    }
    let mut out = Vec::with_capacity(256 + issuer.len() + scope.len());
    out.extend_from_slice(b"{\"aud\":");
    match grant.audiences() {
        [one] => json::push_string(&mut out, one),
        many => {
            out.push(b'[');
            for (i, audience) in many.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json::push_string(&mut out, audience);
            }
            out.push(b']');
        }
    }
    out.extend_from_slice(b",\"client_id\":");
    json::push_string(&mut out, grant.client_id());
    out.extend_from_slice(b",\"exp\":");
    out.extend_from_slice(exp.to_string().as_bytes());
    out.extend_from_slice(b",\"iat\":");
    out.extend_from_slice(now.to_string().as_bytes());
    out.extend_from_slice(b",\"iss\":");
    json::push_string(&mut out, issuer);
    out.extend_from_slice(b",\"jti\":");
    json::push_string(&mut out, jti);
    if !scope.is_empty() {
        out.extend_from_slice(b",\"scope\":");
        json::push_string(&mut out, scope);
    }
    out.extend_from_slice(b",\"sub\":");
    json::push_string(&mut out, grant.client_id());
    out.push(b'}');
    out
}

/// The claims of [`claims_json`] as a JSON object, with the client's static claims (checked at
/// load: never a registered name; a claim the token already has is never replaced).
fn claims_value(grant: &Grant, issuer: &str, now: u64, exp: u64, jti: &str, scope: &str) -> Value {
    let aud = match grant.audiences() {
        [one] => Value::String(one.clone()),
        many => Value::Array(many.iter().cloned().map(Value::String).collect()),
    };
    let mut claims = json!({
        "iss": issuer,
        "sub": grant.client_id(),
        "aud": aud,
        "exp": exp,
        "iat": now,
        "jti": jti,
        "client_id": grant.client_id(),
    });
    if let Value::Object(map) = &mut claims {
        if !scope.is_empty() {
            map.insert("scope".into(), Value::String(String::from(scope)));
        }
        for (name, value) in grant.claims() {
            map.entry(name.clone()).or_insert_with(|| value.clone());
        }
    }
    claims
}

/// The signature length an algorithm produces with a key, for checking host signatures.
fn expected_signature_len(alg: Algorithm, key: &PrivateKey) -> Option<usize> {
    use rsa::traits::PublicKeyParts;
    match (alg, key) {
        (Algorithm::EdDSA | Algorithm::Ed25519, _) | (Algorithm::ES256, _) => Some(64),
        (Algorithm::ES384, _) => Some(96),
        (Algorithm::ES512, _) => Some(132),
        (_, PrivateKey::Rsa(k)) => Some(k.size()),
        _ => None,
    }
}

impl<'a> PendingSignature<'a> {
    /// The algorithm to sign with.
    pub fn alg(&self) -> Algorithm {
        self.key.alg
    }
    /// The key to sign with.
    pub fn key(&self) -> &'a SigningJwk {
        self.key
    }
    /// The bytes to sign.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// Assembles the token from the host's signature (for ECDSA, `r || s` as WebCrypto
    /// produces it, RFC 7518 §3.4). A signature of the wrong length is refused.
    pub fn finish(self, signature: &[u8]) -> Result<IssuedToken, TokenError> {
        self.detach().finish(signature)
    }

    /// Detaches the pending token from the key set, for hosts that sign asynchronously and
    /// cannot hold a borrow across the wait (the npm package). The detached form keeps the
    /// expected signature length, so the same check applies at [`DetachedSignature::finish`].
    pub fn detach(self) -> DetachedSignature {
        DetachedSignature {
            expected_len: expected_signature_len(self.key.alg, &self.key.key),
            signing_input: self.signing_input,
            issued: self.issued,
        }
    }

    /// Signs with the built-in primitives.
    pub fn sign_builtin(self, rng: &mut impl CryptoRngCore) -> Result<IssuedToken, TokenError> {
        let signature = crypto::sign(self.key.alg, &self.key.key, self.signing_input(), rng)
            .map_err(|_| TokenError::new(TokenErrorCode::ServerError, "signing failed"))?;
        self.finish(&signature)
    }
}

/// A [`PendingSignature`] without its borrow of the key set.
#[derive(Debug, Clone)]
pub struct DetachedSignature {
    expected_len: Option<usize>,
    signing_input: String,
    issued: IssuedToken,
}

impl DetachedSignature {
    /// The bytes to sign.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// Assembles the token from the host's signature; a signature of the wrong length is
    /// refused, as in [`PendingSignature::finish`].
    pub fn finish(self, signature: &[u8]) -> Result<IssuedToken, TokenError> {
        if self.expected_len != Some(signature.len()) {
            return Err(TokenError::new(
                TokenErrorCode::ServerError,
                "signature has the wrong length for the key",
            ));
        }
        let mut issued = self.issued;
        issued.access_token = jws::assemble(&self.signing_input, signature);
        Ok(issued)
    }
}

impl IssuedToken {
    /// The successful token response (RFC 6749 §5.1), with `Cache-Control: no-store`.
    pub fn to_response(&self) -> HttpResponse {
        // Written directly (this is on every token request's path): members in sorted order, as
        // a JSON object map writes them and every shell has always sent them; the token is a JWS
        // Compact Serialization (RFC 7515 §7.1: base64url parts joined by '.'), which JSON
        // carries as it is. No `scope` for a token without scopes (§5.1: OPTIONAL).
        let mut body = Vec::with_capacity(self.access_token.len() + self.scope.len() + 96);
        body.extend_from_slice(b"{\"access_token\":");
        json::push_string(&mut body, &self.access_token);
        body.extend_from_slice(b",\"expires_in\":");
        body.extend_from_slice(self.expires_in.to_string().as_bytes());
        if !self.scope.is_empty() {
            body.extend_from_slice(b",\"scope\":");
            json::push_string(&mut body, &self.scope);
        }
        body.extend_from_slice(b",\"token_type\":\"Bearer\"}");
        HttpResponse::json_text(200, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_auth::{self, Authentication};
    use crate::config::ServerConfig;
    use crate::request::{parse_token_request, TokenHttpRequest};
    use crate::verify::{verify_access_token, VerifierPolicy};
    use alloc::string::ToString;
    use rand_chacha::rand_core::SeedableRng;

    const NOW: u64 = 1_900_000_000;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(11)
    }

    /// A config with two signing keys, the second active, and one Basic client.
    fn setup(alg: Algorithm) -> (ServerConfig, Grant) {
        let mut rng = rng();
        let old = SigningJwk::generate(alg, &mut rng).unwrap();
        let next = SigningJwk::generate(alg, &mut rng).unwrap();
        let config = ServerConfig::from_json(
            &json!({
                "issuer": "https://as.example",
                "signing_keys": [old.to_private_json(), next.to_private_json()],
                "active_kid": next.kid,
                "default_audiences": ["https://api.example"],
                "clients": [{"client_id": "c1", "client_secret_hash": crate::secret::SecretHash::of("pw").to_stored(), "scope": "a b"}],
            })
            .to_string(),
        )
        .unwrap();
        let request = parse_token_request(&TokenHttpRequest {
            method: "POST",
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: Some("Basic YzE6cHc="),
            body: b"grant_type=client_credentials&scope=a",
        })
        .unwrap();
        let Authentication::Authenticated(client) =
            client_auth::authenticate(&request, config.client("c1"), &config.assertion, NOW)
                .unwrap()
        else {
            panic!("secret client");
        };
        let grant = crate::grant::authorize(&client, &request, false).unwrap();
        (config, grant)
    }

    #[test]
    fn host_signature_is_assembled_into_a_token_the_verifier_accepts() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::PS256] {
            let (config, grant) = setup(alg);
            let pending =
                prepare(&grant, &config.signing_keys, &config.mint, NOW, [1; 16]).unwrap();
            assert_eq!(pending.alg(), alg);
            // The "host" signs the signing input itself.
            let signature =
                crypto::sign(alg, &pending.key().key, pending.signing_input(), &mut rng()).unwrap();
            let issued = pending.finish(&signature).unwrap();
            let policy = VerifierPolicy::new(
                "https://as.example",
                alloc::vec!["https://api.example".into()],
            );
            let verified = verify_access_token(
                &issued.access_token,
                &policy,
                &config.signing_keys.verification_set(),
                NOW,
            )
            .unwrap();
            assert_eq!(verified.client_id.as_deref(), Some("c1"));
            assert_eq!(issued.scope, "a");
        }
    }

    #[test]
    fn host_signature_of_the_wrong_length_is_refused() {
        let (config, grant) = setup(Algorithm::ES256);
        let pending = prepare(&grant, &config.signing_keys, &config.mint, NOW, [1; 16]).unwrap();
        // A DER-encoded ECDSA signature (what some APIs return) is not the JWS r||s form.
        assert!(pending.finish(&[0x30; 70]).is_err());
    }

    #[test]
    fn the_active_key_signs_and_every_key_is_published() {
        let (config, grant) = setup(Algorithm::EdDSA);
        let active = config.signing_keys.active().unwrap().kid.clone();
        let issued = prepare(&grant, &config.signing_keys, &config.mint, NOW, [1; 16])
            .unwrap()
            .sign_builtin(&mut rng())
            .unwrap();
        let jws = crate::jws::parse_compact(&issued.access_token, 16_384).unwrap();
        assert_eq!(jws.header.kid.as_deref(), Some(active.as_str()));
        assert_eq!(jws.header.typ.as_deref(), Some("at+jwt"));
        let published = config.signing_keys.public_jwks();
        let kids: alloc::vec::Vec<&str> = published["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids.len(), 2);
        assert!(kids.contains(&active.as_str()));
        for key in published["keys"].as_array().unwrap() {
            assert!(
                key.get("d").is_none(),
                "published JWKS must hold no private member"
            );
        }
    }

    #[test]
    fn claims_written_directly_are_the_claims_of_the_json_object() {
        let s = |v: &[&str]| v.iter().map(|x| String::from(*x)).collect::<Vec<_>>();
        for (scopes, audiences, issuer) in [
            (
                s(&["a", "b"]),
                s(&["https://api.example"]),
                "https://as.example",
            ),
            (
                s(&[]),
                s(&["https://a.example", "https://b.example"]),
                "https://as.example",
            ),
            (
                s(&["orders:read"]),
                s(&["urn:x"]),
                "https://as.example/t\"n\u{e9}",
            ),
        ] {
            let grant = Grant::decided_by_host("svc-1", &scopes, &audiences).unwrap();
            let scope = grant.scopes().join(" ");
            let direct = claims_json(&grant, issuer, NOW, NOW + 60, "jti-1", &scope);
            let object = claims_value(&grant, issuer, NOW, NOW + 60, "jti-1", &scope);
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                serde_json::to_string(&object).unwrap()
            );
        }
    }

    #[test]
    fn token_response_has_rfc6749_section_5_1_fields_and_no_store() {
        let (config, grant) = setup(Algorithm::EdDSA);
        let issued = prepare(&grant, &config.signing_keys, &config.mint, NOW, [1; 16])
            .unwrap()
            .sign_builtin(&mut rng())
            .unwrap();
        let response = issued.to_response();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("cache-control"), Some("no-store"));
        let body = response.json_body().unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], "a");
        assert_eq!(body["access_token"], issued.access_token.as_str());
        // The exact text: members sorted, as every shell has always sent them.
        let text = String::from_utf8(response.body.clone()).unwrap();
        assert_eq!(
            text,
            alloc::format!(
                r#"{{"access_token":"{}","expires_in":3600,"scope":"a","token_type":"Bearer"}}"#,
                issued.access_token
            )
        );
        // No scope member for a token without scopes (RFC 6749 §5.1: OPTIONAL).
        let unscoped = IssuedToken {
            scope: String::new(),
            ..issued
        };
        let text = String::from_utf8(unscoped.to_response().body).unwrap();
        assert!(
            text.ends_with(r#","expires_in":3600,"token_type":"Bearer"}"#),
            "{text}"
        );
    }
}
