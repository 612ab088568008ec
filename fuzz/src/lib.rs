//! Fixtures and property checks shared by the fuzz targets in `fuzz_targets/`.
//!
//! Every key here is public test material from the repository's test vectors
//! (`tests/vectors/cross-shell/*.json`, `core/tests/vectors/rsa_keys.json`); `make_seeds.py`
//! signs seed tokens and assertions with the matching private keys, so valid inputs reach the
//! checks after the signature.
//!
//! The checks are properties that hold for every input: nothing panics (libFuzzer reports a
//! panic as a crash), a token is issued only to a client that presented its own credential with
//! its registered method, an issued token verifies, a verified token's claims satisfy the
//! policy, and a single-use assertion is refused the second time.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use gatepass_core::client_auth::{AuthMethod, ReplayOutcome};
use gatepass_core::config::{FilterConfig, ServerConfig};
use gatepass_core::exchange;
use gatepass_core::jwk::{JwkSet, SetStrictness};
use gatepass_core::request::{
    is_valid_resource, parse_token_request, ClientCredentials, TokenHttpRequest, TokenRequest,
};
use gatepass_core::response::HttpResponse;
use gatepass_core::secret::SecretHash;
use gatepass_core::verify::{verify_access_token, VerifiedAccessToken, VerifierPolicy};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

/// The fixed clock (2030-03-17), the `now` of `tests/vectors/cross-shell/assertions.json`.
pub const NOW: u64 = 1_900_000_000;
/// The issuer of both the token endpoint and the verified tokens.
pub const ISSUER: &str = "https://auth.gatepass.test";
/// The resource server every client may get tokens for.
pub const ORDERS: &str = "https://orders.gatepass.test";
/// A second resource server, allowed for `billing` only.
pub const BILLING: &str = "https://billing.gatepass.test";
/// The RFC 7523 `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `client_secret_basic` client and its secret.
pub const BASIC_CLIENT: &str = "billing";
pub const BASIC_SECRET: &str = "fuzz-basic-secret-0123456789abcdefghijklmn";
/// A `client_secret_basic` client whose id and secret need RFC 6749 §2.3.1 form-encoding (the
/// id visible ASCII, RFC 6749 Appendix A.1).
pub const ODD_CLIENT: &str = "odd:client%+ &=~";
pub const ODD_SECRET: &str = "p@ss:w%rd+ ü/=";
/// `client_secret_post` client and its secret.
pub const POST_CLIENT: &str = "poster";
pub const POST_SECRET: &str = "fuzz-post-secret-0123456789abcdefghijklmno";
/// `client_secret_jwt` client (HS256) and its HMAC key (from assertions.json).
pub const HMAC_CLIENT: &str = "hmac";
pub const HMAC_SECRET: &str = "cross-shell-hmac-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEF";

/// The key set access tokens are verified with in `token_verify`: Ed25519 `ed` and P-256 `ec`
/// (cases.json), RSA `rs` (RS256, `server-rs256`) and `ps` (PS256, `server-ps256`) from
/// `core/tests/vectors/rsa_keys.json`.
pub const VERIFY_JWKS: &str = r#"{"keys":[
{"kty":"OKP","crv":"Ed25519","x":"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg","kid":"ed","alg":"EdDSA","use":"sig"},
{"kty":"EC","crv":"P-256","x":"-evkZBR8wQLZIyTQmdknwaUOQtV6CKEW_-wKKYGdjGU","y":"cLr30SiIkCpqDB1nrdEDEjyFmrab-OlDHJOEkw1Lfu4","kid":"ec","alg":"ES256","use":"sig"},
{"kty":"RSA","kid":"rs","alg":"RS256","e":"AQAB","n":"sRMzIfRb5hj1x0ZEP9hcsV2bHNAT-372SwvnjhUdgDOD2YRKKRAH0yVVuuO46-shsxWl7cf7BBo2438CHxR6p2ryF2xiXH9tsJqjhfqgoOhK4rLkp4v8QDDs7cVTotu2kprSCCNzkjTK3yt18meY1Quun1Q8a6oXtMmxNSYD-uHm6cBPzbz5NiYtm0uXfos9PxoCfQWyfP1qwM6yQnaa6G6Jn1sH0b78dt9Vm0WoY21EI7LsWK2rWSfs6f1Z9frbPPsWcPYpBCVWrHc8Z5Aa_FMJBdb-CrE1pC0pA30Mk6FCRN-6MFlbBiZTifteKgdvRx9kAHT1t_q19TjpCqFUYQ"},
{"kty":"RSA","kid":"ps","alg":"PS256","e":"AQAB","n":"miTpaptQ3oSzel_UWBHLRv0H5de8FLKaWDju9vvRD2vIhKQ0oJVQAJn0-xnx8g1DakfHakruP_nR71C8BMGJXTC1AQToMmDqcFw1AmKujSefeqz_3lw_y4omEt0lo5XEXVZhxqlgRDqltnzVSwRp1czaqLa1aRsogqIrJAWwixcn1gVbgetDbIsKqMLPYUQqFVJyrwlLLv1tzdNdYOQa5FLmEhe5poZk-BpTBIlzmK-t_Zr1Lvu77bsacOcy__AqKmNiuEjT52lcqi_MI7paTPcDNh9DFFHtSvwl5Jsduf34u5nemwolCYAsoY2yiNXcvSqOfygdGjZnFH4k7jA8ew"}
]}"#;

/// The token endpoint's signing key (Ed25519 `as-1` of assertions.json).
const SERVER_SIGNING_KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"C7w0aldmfDgBIL2cf9flHSxf3-o3zS9b9AWyxr9vLXg","d":"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1-f4CBgoM","kid":"as-1","alg":"EdDSA"}"#;
/// `worker` (private_key_jwt): the P-256 key `w1` of assertions.json.
const WORKER_JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"j97ykNGYls2Yda4oyP1gUPXSotGpiFKaNNaOqwy8sDg","y":"DIJILkUHzbrbYCH8xe0F4C-LbOSsuHkR-X1NtaD21MI","kid":"w1","alg":"ES256","use":"sig"}]}"#;
/// `rsa-client` (private_key_jwt): `client-rs256` as `r1` (RS256) and `client-ps256` as `p1`
/// (PS256) of rsa_keys.json.
const RSA_CLIENT_JWKS: &str = r#"{"keys":[
{"kty":"RSA","kid":"r1","alg":"RS256","e":"AQAB","n":"qkFV9QgSEqH-qGfDsGE28aB7tteSAVYl13ajXW65VvfYd_upiXZ60vh1D6ulZX5aYQO1gLcFMqtn9TPWyUcZfxKV3KG7mSNr0_nSnc26rV0IcyVhh09_p3Ld1_-s8UEsmrm7Ag6uIdB-G36WNzLogIVoc_CGohrPb4eF2oDyOPid5dGhz0H2h-SrtBXVWgySgZyHwnxJJMNb9qR9m0d1KwwUVT7EMCLxdCZ1KIHMU9BeeUpokLgRJYOBTPtHRJ1L40R2sQpVaFCKidgzfqCehoxfq0YVfKx9fBZWt4RpQBppP4RP5ezMbTgbBuNut4RoZMPwUXIm3RPSJgGUvXOQ5Q"},
{"kty":"RSA","kid":"p1","alg":"PS256","e":"AQAB","n":"siDvcVH5hP8gVHD_XOchfeYDUGwB5AYrNTBaBkPRcYHATabaxzZ2Umms5d1x2QlUCe3F7rRwogpaffeCmQ2sEN47pTiKtmCdrvWvCyNzCAUpGcru6-5XKsHjdcZfC6ftQhMsAaEdvZ4ErATyObhplO9LBYR9mYr_Pokkj-OOCQoKH2NSz9bMInuaHnMdERn3kdxzd4BanIhpSUY7AbIyawfnCd2oaNMGdhfZzT7BEkvQMpGrI-P-VQt4FaWPj-xgOe8kxn7rHjnpdIfsDGFJMzBIuAFcsJdzDaCcu7rLqRyDMTEPCB6L_gCWAgHC3viRkeyH4jspQtj_NdPAk1tQsw"}
]}"#;
/// `ed-client` (private_key_jwt): the Ed25519 key of cases.json without `kid` or `alg`, so
/// the key is chosen by family.
const ED_CLIENT_JWKS: &str =
    r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"}]}"#;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture JSON")
}

/// The resource server's key set of `token_verify`.
pub fn verify_keys() -> &'static JwkSet {
    static KEYS: OnceLock<JwkSet> = OnceLock::new();
    KEYS.get_or_init(|| {
        JwkSet::from_json(VERIFY_JWKS.as_bytes(), SetStrictness::Strict, false)
            .expect("fixture JWKS")
    })
}

/// The resource server's policy of `token_verify`: default algorithms, `typ` `at+jwt`, 60 s
/// skew, and a lifetime bound the cross-shell tokens (iat 2008, exp 2033) fit in.
pub fn verify_policy() -> &'static VerifierPolicy {
    static POLICY: OnceLock<VerifierPolicy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let mut p = VerifierPolicy::new(ISSUER, vec![ORDERS.into()]);
        p.max_lifetime = Some(1_000_000_000);
        p
    })
}

/// The token endpoint: one client per authentication method (and two with keys of several
/// types), signing with Ed25519.
pub fn server() -> &'static ServerConfig {
    static SERVER: OnceLock<ServerConfig> = OnceLock::new();
    SERVER.get_or_init(|| {
        ServerConfig::from_json(&server_doc().to_string()).expect("fixture server config")
    })
}

/// The Envoy filter's configuration of the `host_edge` target: provider `main` (the
/// `token_verify` keys and policy) with claim headers, rules with `requires`, `allow_missing`
/// and none, and the token endpoint of [`server`].
pub fn filter_config() -> FilterConfig {
    let doc = json!({
        "providers": {"main": {
            "issuer": ISSUER,
            "audiences": [ORDERS],
            "local_jwks": {"inline_string": VERIFY_JWKS},
            "max_lifetime": "1000000000s",
            "claim_to_headers": [{"header_name": "x-client-id", "claim_name": "client_id"},
                                 {"header_name": "x-scope", "claim_name": "scope"}],
            "forward_payload_header": "x-jwt-payload",
        }},
        "rules": [
            {"match": {"prefix": "/orders", "methods": ["POST"]},
             "requires": {"provider_name": "main", "scopes": ["orders:write"]}},
            {"match": {"prefix": "/orders"}, "requires": {"provider_name": "main", "scopes": ["orders:read"]}},
            {"match": {"prefix": "/public"}, "allow_missing": {"provider_name": "main"}},
            {"match": {"path": "/health"}},
        ],
        "token_endpoint": server_doc(),
    });
    FilterConfig::from_json(&doc.to_string()).expect("fixture filter config")
}

fn server_doc() -> Value {
    {
        let hash = |s: &str| SecretHash::of(s).to_stored();
        json!({
            "issuer": ISSUER,
            "signing_keys": [parse(SERVER_SIGNING_KEY)],
            "default_audiences": [ORDERS],
            "clients": [
                {"client_id": BASIC_CLIENT, "client_secret_hash": hash(BASIC_SECRET),
                 "scope": "orders:read orders:write", "audiences": [ORDERS, BILLING]},
                {"client_id": ODD_CLIENT, "client_secret_hash": hash(ODD_SECRET),
                 "scope": "orders:read"},
                {"client_id": POST_CLIENT, "token_endpoint_auth_method": "client_secret_post",
                 "client_secret_hash": hash(POST_SECRET), "scope": "orders:read"},
                {"client_id": "worker", "token_endpoint_auth_method": "private_key_jwt",
                 "scope": "orders:read", "jwks": parse(WORKER_JWKS)},
                {"client_id": "rsa-client", "token_endpoint_auth_method": "private_key_jwt",
                 "scope": "orders:read orders:write", "jwks": parse(RSA_CLIENT_JWKS)},
                {"client_id": "ed-client", "token_endpoint_auth_method": "private_key_jwt",
                 "scope": "orders:read", "jwks": parse(ED_CLIENT_JWKS)},
                {"client_id": HMAC_CLIENT, "token_endpoint_auth_method": "client_secret_jwt",
                 "scope": "orders:read", "client_secret": HMAC_SECRET,
                 "token_endpoint_auth_signing_alg": "HS256"}
            ]
        })
    }
}

/// What a resource server of this issuer accepts (checks the tokens the endpoint issues).
fn issued_token_policy() -> &'static (VerifierPolicy, JwkSet) {
    static POLICY: OnceLock<(VerifierPolicy, JwkSet)> = OnceLock::new();
    POLICY.get_or_init(|| {
        let policy = VerifierPolicy::new(ISSUER, vec![ORDERS.into(), BILLING.into()]);
        (policy, server().signing_keys.verification_set())
    })
}

/// The secret a secret-based client was configured with.
fn known_secret(client_id: &str) -> Option<&'static str> {
    match client_id {
        BASIC_CLIENT => Some(BASIC_SECRET),
        ODD_CLIENT => Some(ODD_SECRET),
        POST_CLIENT => Some(POST_SECRET),
        _ => None,
    }
}

/// An in-memory replay store with insert-if-absent semantics.
#[derive(Debug, Default)]
pub struct ReplayStore(BTreeSet<String>);

impl ReplayStore {
    /// Records `key`; says whether it was new.
    pub fn record(&mut self, key: &str, _expires_at: u64) -> ReplayOutcome {
        if self.0.insert(key.into()) {
            ReplayOutcome::Recorded
        } else {
            ReplayOutcome::AlreadySeen
        }
    }
}

/// An owned token HTTP request, from fuzz input.
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    pub method: String,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl OwnedRequest {
    /// A well-formed form POST.
    pub fn form(authorization: Option<String>, body: Vec<u8>) -> Self {
        OwnedRequest {
            method: "POST".into(),
            content_type: Some("application/x-www-form-urlencoded".into()),
            authorization,
            body,
        }
    }

    /// Splits fuzz input as `method \n content-type \n authorization \n body`: at most four
    /// parts at the first three newlines; an empty or missing header part means no header,
    /// and the body is the rest (it may contain newlines).
    pub fn split(data: &[u8]) -> Self {
        let mut parts = data.splitn(4, |&b| b == b'\n');
        let text = |p: Option<&[u8]>| p.map(|b| String::from_utf8_lossy(b).into_owned());
        let header = |p: Option<&[u8]>| text(p).filter(|s| !s.is_empty());
        let method = text(parts.next()).unwrap_or_default();
        let content_type = header(parts.next());
        let authorization = header(parts.next());
        let body = parts.next().unwrap_or_default().to_vec();
        OwnedRequest {
            method,
            content_type,
            authorization,
            body,
        }
    }

    pub fn http(&self) -> TokenHttpRequest<'_> {
        TokenHttpRequest {
            method: &self.method,
            content_type: self.content_type.as_deref(),
            authorization: self.authorization.as_deref(),
            body: &self.body,
        }
    }
}

/// The `client_assertion` target's request: a well-formed jwt-bearer token request carrying
/// `assertion` (form-encoded, so the server reads back exactly `assertion`).
pub fn assertion_request(assertion: &str) -> OwnedRequest {
    let body = format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={}",
        form_encode(JWT_BEARER),
        form_encode(assertion)
    );
    OwnedRequest::form(None, body.into_bytes())
}

/// The `basic_header` target's request. The first byte chooses how the rest is used: even,
/// the rest is the credentials before base64 (`Basic base64(rest)`), so the form-decoding
/// sees arbitrary bytes; odd, the rest is the whole header value. `None` for empty input.
pub fn basic_request(data: &[u8]) -> Option<OwnedRequest> {
    let (&mode, rest) = data.split_first()?;
    let header = if mode % 2 == 0 {
        format!("Basic {}", gatepass_core::b64::encode_standard(rest))
    } else {
        String::from_utf8_lossy(rest).into_owned()
    };
    Some(OwnedRequest::form(
        Some(header),
        b"grant_type=client_credentials".to_vec(),
    ))
}

/// `application/x-www-form-urlencoded` encoding of one component: every byte but the RFC 3986
/// unreserved characters as `%XX` (so decoding gives back exactly `text`).
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Header values a host copies onto the wire: visible ASCII and spaces only (no CR/LF).
pub fn check_header_values(response: &HttpResponse) {
    for (name, value) in &response.headers {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()),
            "bad header name {name:?}"
        );
        assert!(
            value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
            "header {name} has a control or non-ASCII byte: {value:?}"
        );
    }
}

/// Properties of a request the parser accepted.
fn check_parsed(http: &TokenHttpRequest<'_>, request: &TokenRequest) {
    assert!(http.method.eq_ignore_ascii_case("POST"));
    assert!(!request.client_id().is_empty(), "empty client_id accepted");
    assert_eq!(
        request.used_authorization_header(),
        http.authorization.is_some(),
        "Authorization header and credentials disagree"
    );
    if let Some(scopes) = &request.scope {
        assert!(!scopes.is_empty());
        for s in scopes {
            assert!(
                !s.is_empty()
                    && s.bytes().all(|b| b == 0x21
                        || (0x23..=0x5b).contains(&b)
                        || (0x5d..=0x7e).contains(&b)),
                "scope token {s:?} is not RFC 6749 §3.3 scope-token"
            );
        }
    }
    for r in &request.resources {
        assert!(is_valid_resource(r), "resource {r:?} accepted");
    }
    if let ClientCredentials::Assertion { assertion, .. } = &request.credentials {
        assert!(!assertion.is_empty());
    }
}

/// Properties of an issued token: it verifies, and its claims are the client's.
fn check_issued(response: &HttpResponse, request: &TokenRequest) -> VerifiedAccessToken {
    let config = server();
    let record = config
        .client(request.client_id())
        .expect("a token was issued to an unknown client");
    // The client used its registered method with its own credential.
    match (&request.credentials, record.auth_method) {
        (ClientCredentials::SecretBasic { client_id, secret }, AuthMethod::ClientSecretBasic)
        | (ClientCredentials::SecretPost { client_id, secret }, AuthMethod::ClientSecretPost) => {
            assert_eq!(
                known_secret(client_id),
                Some(secret.as_str()),
                "token issued for a wrong secret"
            );
        }
        (
            ClientCredentials::Assertion { .. },
            AuthMethod::PrivateKeyJwt | AuthMethod::ClientSecretJwt,
        ) => {}
        (creds, method) => panic!("token issued for {creds:?} to a {method:?} client"),
    }
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json_body().expect("token response is JSON");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], json!(config.mint.token_ttl));
    let token = body["access_token"].as_str().expect("access_token");
    let (policy, keys) = issued_token_policy();
    let verified = verify_access_token(token, policy, keys, NOW)
        .unwrap_or_else(|e| panic!("issued token does not verify: {e}"));
    let client_id = request.client_id();
    assert_eq!(verified.client_id.as_deref(), Some(client_id));
    assert_eq!(verified.subject.as_deref(), Some(client_id));
    assert_eq!(verified.issued_at, Some(NOW));
    assert_eq!(verified.expires_at, NOW + config.mint.token_ttl);
    for s in &verified.scopes {
        assert!(
            record.scopes.contains(s),
            "scope {s} granted beyond the client's"
        );
        if let Some(asked) = &request.scope {
            assert!(asked.contains(s), "scope {s} granted but not asked for");
        }
    }
    let listed: BTreeSet<String> = body["scope"]
        .as_str()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    assert_eq!(
        listed, verified.scopes,
        "response scope differs from the token's"
    );
    assert!(!verified.audience.is_empty());
    for a in &verified.audience {
        assert!(
            record.audiences.contains(a),
            "audience {a} beyond the client's"
        );
        if !request.resources.is_empty() {
            assert!(request.resources.contains(a), "audience {a} not asked for");
        }
    }
    verified
}

/// The token endpoint on one request, with the properties every answer must have. Returns
/// the status.
pub fn check_token_endpoint(request: &OwnedRequest) -> u16 {
    let http = request.http();
    let parsed = parse_token_request(&http);
    if let Ok(req) = &parsed {
        check_parsed(&http, req);
    }
    let config = server();
    let mut store = ReplayStore::default();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let response = exchange::run(
        config,
        &http,
        |id| config.client(id),
        |key, exp| store.record(key, exp),
        NOW,
        &mut rng,
    )
    .response;
    check_header_values(&response);
    match &parsed {
        // A request that does not parse is answered with exactly the parse error.
        Err(e) => assert_eq!(response, e.to_response(&config.issuer)),
        Ok(req) if response.status == 200 => {
            check_issued(&response, req);
            // The same request again: a client assertion is single-use (its jti is in the
            // store now); a secret is not.
            let again = exchange::run(
                config,
                &http,
                |id| config.client(id),
                |key, exp| store.record(key, exp),
                NOW,
                &mut rng,
            )
            .response;
            match req.credentials {
                ClientCredentials::Assertion { .. } => {
                    assert_eq!(again.status, 401, "a client assertion was accepted twice")
                }
                _ => assert_eq!(again.status, 200, "a secret stopped working"),
            }
        }
        Ok(_) => {
            assert!(
                matches!(response.status, 400 | 401),
                "status {}",
                response.status
            );
            let body = response.json_body().expect("error body is JSON");
            assert!(body["error"].is_string(), "error body without error code");
            if response.status == 401 {
                assert!(response
                    .header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Basic realm=")));
            }
        }
    }
    response.status
}

#[cfg(test)]
mod tests {
    //! The seeds made by `make_seeds.py` reach what they were made for (signed tokens and
    //! assertions verify with the fixed keys, good credentials get tokens).
    use super::*;
    use gatepass_core::config::{FilterConfig, Provider};

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let path = format!("{}/seeds/{target}/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (run make_seeds.py)"))
    }

    fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = format!("{}/seeds/{target}", env!("CARGO_MANIFEST_DIR"));
        let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn signed_token_seeds_verify() {
        for name in [
            "cases-00-valid-eddsa-token",
            "cases-01-valid-es256-token",
            "gen-rs256",
            "gen-rs256-aud-array-scp",
            "gen-ps256",
            "gen-ps256-no-kid",
        ] {
            let token = String::from_utf8(seed("token_verify", name)).unwrap();
            let verified = verify_access_token(&token, verify_policy(), verify_keys(), NOW);
            assert!(verified.is_ok(), "{name}: {verified:?}");
        }
        for name in [
            "gen-rs256-as-ps256-key",
            "gen-rs256-crit",
            "cases-04-expired",
        ] {
            let token = String::from_utf8(seed("token_verify", name)).unwrap();
            let verified = verify_access_token(&token, verify_policy(), verify_keys(), NOW);
            assert!(verified.is_err(), "{name}: {verified:?}");
        }
    }

    #[test]
    fn request_seeds_get_the_expected_answers() {
        let status = |target: &str, name: &str| {
            let data = seed(target, name);
            let request = match target {
                "token_request" => OwnedRequest::split(&data),
                "basic_header" => basic_request(&data).unwrap(),
                _ => assertion_request(&String::from_utf8(data).unwrap()),
            };
            check_token_endpoint(&request)
        };
        for (target, name) in [
            ("token_request", "basic"),
            ("token_request", "basic-scope-resource"),
            ("token_request", "basic-odd"),
            ("token_request", "charset"),
            ("token_request", "post"),
            ("token_request", "assertion-rs256"),
            ("token_request", "assertion-ps256"),
            ("token_request", "assertion-hs256"),
            ("token_request", "cross-00-private-key-jwt-es256"),
            ("token_request", "cross-02-client-secret-jwt-hs256"),
            ("basic_header", "raw-billing"),
            ("basic_header", "raw-odd"),
            ("basic_header", "header-billing"),
            ("basic_header", "header-lowercase-spaces"),
            ("client_assertion", "gen-rs256"),
            ("client_assertion", "gen-ps256"),
            ("client_assertion", "gen-rs256-no-kid"),
            ("client_assertion", "gen-hs256"),
            ("client_assertion", "gen-rs256-typ-jwt"),
            ("client_assertion", "cross-00-0-private-key-jwt-es256"),
            ("client_assertion", "cross-03-0-typ-jwt"),
        ] {
            assert_eq!(status(target, name), 200, "{target}/{name}");
        }
        for (target, name, want) in [
            ("token_request", "basic-wrong-secret", 401),
            ("token_request", "basic-bad-scope", 400),
            ("token_request", "post-for-basic-client", 401),
            ("token_request", "get", 405),
            ("token_request", "json", 400),
            ("basic_header", "raw-poster", 401),
            ("basic_header", "header-unpadded", 401),
            ("client_assertion", "gen-rs256-legacy-aud", 401),
            ("client_assertion", "gen-rs256-long", 401),
            ("client_assertion", "gen-rs256-typ-at-jwt", 401),
            ("client_assertion", "gen-hs512", 401),
        ] {
            assert_eq!(status(target, name), want, "{target}/{name}");
        }
    }

    #[test]
    fn config_seeds_are_valid_configurations() {
        for (name, data) in seeds("config_server") {
            let text = String::from_utf8(data).unwrap();
            let ok = if name == "client-record" {
                gatepass_core::config::RawStoredClient::record_from_json(&text, &[]).map(|_| ())
            } else {
                ServerConfig::from_json(&text).map(|_| ())
            };
            assert!(ok.is_ok(), "{name}: {ok:?}");
        }
        for (name, data) in seeds("config_filter") {
            let text = String::from_utf8(data).unwrap();
            let ok = if name.contains("provider") && !name.contains("in-filter") {
                Provider::from_json(&text).map(|_| ())
            } else {
                FilterConfig::from_json(&text).map(|_| ())
            };
            assert!(ok.is_ok(), "{name}: {ok:?}");
        }
    }
}
