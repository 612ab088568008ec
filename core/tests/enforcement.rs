//! Access-token enforcement at a protected resource: a provider from configuration
//! (`config::Provider::from_json`, the filter's `providers.*` entry), the verifier
//! (RFC 9068 §4, RFC 8725), the scope check and the bearer extraction (RFC 6750).
//!
//! Every row runs twice, through the built-in signature check (`verify_access_token`) and
//! through the host path (`begin` → `signature_check` → the host's verdict → `finish`), and
//! both must reach the same verdict.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::OnceLock;

use common::*;
use gatepass_core::b64;
use gatepass_core::config::{KeySource, Provider};
use gatepass_core::crypto::{self, Algorithm};
use gatepass_core::error::{BearerError, BearerErrorCode};
use gatepass_core::jwk::{JwkSet, SigningJwk};
use gatepass_core::verify::{self, VerifiedAccessToken, VerifierPolicy};
use serde_json::{json, Value};

/// The issuer's keys, one per algorithm, with the algorithm's name as `kid`.
struct IssuerKeys {
    ed: SigningJwk,
    es256: SigningJwk,
    es384: SigningJwk,
    es512: SigningJwk,
    rs256: SigningJwk,
    ps256: SigningJwk,
    /// Not in the provider's key set.
    attacker_ed: SigningJwk,
    attacker_es256: SigningJwk,
}

fn issuer_keys() -> &'static IssuerKeys {
    static KEYS: OnceLock<IssuerKeys> = OnceLock::new();
    KEYS.get_or_init(|| IssuerKeys {
        ed: generated_key(Algorithm::EdDSA, "ed", 11),
        es256: generated_key(Algorithm::ES256, "es256", 12),
        es384: generated_key(Algorithm::ES384, "es384", 13),
        es512: generated_key(Algorithm::ES512, "es512", 14),
        rs256: rsa_key("server-rs256", Algorithm::RS256, "rs256"),
        ps256: rsa_key("server-ps256", Algorithm::PS256, "ps256"),
        attacker_ed: generated_key(Algorithm::EdDSA, "attacker-ed", 15),
        attacker_es256: generated_key(Algorithm::ES256, "attacker-es256", 16),
    })
}

/// The provider as a filter configuration writes it.
fn provider_json() -> Value {
    let k = issuer_keys();
    let set = jwks(&[&k.ed, &k.es256, &k.es384, &k.es512, &k.rs256, &k.ps256]);
    json!({
        "issuer": ISSUER,
        "audiences": [API],
        "local_jwks": { "inline_string": set.to_string() },
    })
}

fn provider(tweak: fn(&mut Value)) -> (VerifierPolicy, JwkSet) {
    let mut raw = provider_json();
    tweak(&mut raw);
    let provider = Provider::from_json(&raw.to_string()).unwrap();
    let KeySource::Local(set) = provider.keys else {
        panic!("the test provider has local keys");
    };
    (provider.policy, set)
}

fn standard(_: &mut Value) {}
fn scope_scp_permissions(raw: &mut Value) {
    raw["scope_claims"] = json!(["scope", "scp", "permissions"]);
}
fn max_lifetime_1h(raw: &mut Value) {
    raw["max_lifetime"] = json!("3600s");
}
fn any_typ(raw: &mut Value) {
    raw["require_typ"] = json!("");
}
fn only_es256(raw: &mut Value) {
    raw["algorithms"] = json!(["ES256"]);
}
fn rs256_and_hs256(raw: &mut Value) {
    raw["algorithms"] = json!(["RS256", "HS256"]);
}
/// Only the RSA key, published without `alg` (its family binds it), HS256 allowed.
fn rsa_without_alg_and_hs256(raw: &mut Value) {
    let mut jwk = public_json(&issuer_keys().rs256);
    jwk.as_object_mut().unwrap().remove("alg");
    raw["local_jwks"]["inline_string"] = json!(json!({ "keys": [jwk] }).to_string());
    raw["algorithms"] = json!(["RS256", "HS256"]);
}
/// Two EdDSA keys.
fn two_eddsa_keys(raw: &mut Value) {
    let k = issuer_keys();
    raw["local_jwks"]["inline_string"] = json!(jwks(&[&k.ed, &k.attacker_ed]).to_string());
}

/// The host path: the host verifies the signature the core hands it, then core finishes.
fn host_path(
    token: &str,
    policy: &VerifierPolicy,
    keys: &JwkSet,
) -> Result<VerifiedAccessToken, BearerError> {
    let pending = verify::begin(token, policy, keys)?;
    let check = pending.signature_check();
    let valid = crypto::verify(
        check.alg,
        &check.key.key,
        check.signing_input,
        check.signature,
    );
    pending.finish(valid, NOW)
}

/// The detached host path (the npm package): claims checked at `detach`, the verdict released
/// by the signature at `finish`.
fn detached_path(
    token: &str,
    policy: &VerifierPolicy,
    keys: &JwkSet,
) -> Result<VerifiedAccessToken, BearerError> {
    let pending = verify::begin(token, policy, keys)?;
    let check = pending.signature_check();
    let key = check.key.key.clone();
    let detached = pending.detach(NOW);
    let valid = crypto::verify(
        detached.alg(),
        &key,
        detached.signing_input(),
        detached.signature(),
    );
    detached.finish(valid)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Valid,
    InvalidToken,
    UnknownKid,
}

struct Row {
    name: &'static str,
    provider: fn(&mut Value),
    token: String,
    expect: Expect,
}

fn row(name: &'static str, token: String, expect: Expect) -> Row {
    Row {
        name,
        provider: standard,
        token,
        expect,
    }
}

fn row_with(name: &'static str, provider: fn(&mut Value), token: String, expect: Expect) -> Row {
    Row {
        name,
        provider,
        token,
        expect,
    }
}

fn run(rows: Vec<Row>) {
    let mut failures = Failures::default();
    for r in rows {
        let (policy, keys) = provider(r.provider);
        let builtin = verify::verify_access_token(&r.token, &policy, &keys, NOW);
        let host = host_path(&r.token, &policy, &keys);
        let detached = detached_path(&r.token, &policy, &keys);
        failures.check(r.name, builtin == detached, || {
            format!("built-in {builtin:?} but detached host path {detached:?}")
        });
        if std::env::var_os("SHOW_REASONS").is_some() {
            eprintln!("{}: {:?}", r.name, builtin.as_ref().map(|_| "valid"));
        }
        failures.check(r.name, builtin == host, || {
            format!("built-in {builtin:?} but host path {host:?}")
        });
        match (r.expect, builtin) {
            (Expect::Valid, Ok(_)) => {}
            (Expect::Valid, Err(e)) => failures.push(r.name, format!("refused: {e}")),
            (_, Ok(_)) => failures.push(r.name, "accepted".into()),
            (expect, Err(e)) => {
                failures.check(
                    r.name,
                    e.code == BearerErrorCode::InvalidToken
                        && e.code_str() == Some("invalid_token")
                        && e.status() == 401,
                    || format!("expected 401 invalid_token, got {} {e}", e.status()),
                );
                failures.check(
                    r.name,
                    e.unknown_kid == (expect == Expect::UnknownKid),
                    || format!("unknown_kid is {}", e.unknown_kid),
                );
                // RFC 6750 §3: the challenge names the error.
                let challenge = e.www_authenticate("api");
                failures.check(
                    r.name,
                    challenge.starts_with("Bearer realm=\"api\", error=\"invalid_token\""),
                    || format!("WWW-Authenticate {challenge}"),
                );
                let response = e.to_response("api");
                failures.check(
                    r.name,
                    response.status == 401
                        && response.header("www-authenticate") == Some(challenge.as_str())
                        && body(&response)["error"] == json!("invalid_token"),
                    || format!("response {response:?}"),
                );
            }
        }
    }
    failures.assert_none();
}

fn token(key: &SigningJwk, edit: impl FnOnce(Jwt) -> Jwt) -> String {
    edit(Jwt::access_token(key)).sign(key)
}

fn ed(edit: impl FnOnce(Jwt) -> Jwt) -> String {
    token(&issuer_keys().ed, edit)
}

/// Replaces one of the three parts of a compact token.
fn replace_part(token: &str, index: usize, with: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = with;
    parts.join(".")
}

/// Sets unused low bits in the last character of a part whose length is not a multiple of 4:
/// the same bytes, a non-canonical encoding (RFC 7515 §2 / RFC 4648 §3.5).
fn with_trailing_bits(part: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_ne!(part.len() % 4, 0, "part has no unused bits");
    let last = part.as_bytes()[part.len() - 1];
    let index = ALPHABET.iter().position(|&c| c == last).unwrap();
    let replaced = ALPHABET[index | 1];
    assert_ne!(
        replaced, last,
        "pick a part whose last character has a zero low bit"
    );
    format!("{}{}", &part[..part.len() - 1], char::from(replaced))
}

// ---------------------------------------------------------------------------------------------

#[test]
fn every_supported_algorithm_round_trips() {
    let k = issuer_keys();
    let (policy, keys) = provider(standard);
    for key in [&k.ed, &k.es256, &k.es384, &k.es512, &k.rs256, &k.ps256] {
        let jwt = Jwt::access_token(key);
        let compact = jwt.sign(key);
        let v = verify::verify_access_token(&compact, &policy, &keys, NOW)
            .unwrap_or_else(|e| panic!("{}: {e}", key.alg));
        let name = key.alg.name();
        assert_eq!(v.issuer, ISSUER, "{name}");
        assert_eq!(v.subject.as_deref(), Some("basic-client"), "{name}");
        assert_eq!(v.audience, vec![API.to_string()], "{name}");
        assert_eq!(v.expires_at, NOW + 3600, "{name}");
        assert_eq!(v.issued_at, Some(NOW), "{name}");
        assert_eq!(v.not_before, None, "{name}");
        assert_eq!(v.jti.as_deref(), jwt.claims["jti"].as_str(), "{name}");
        assert_eq!(v.client_id.as_deref(), Some("basic-client"), "{name}");
        assert_eq!(
            v.scopes.iter().map(String::as_str).collect::<Vec<_>>(),
            vec!["read", "write"],
            "{name}"
        );
        assert_eq!(v.payload_b64, compact.split('.').nth(1).unwrap(), "{name}");
        assert_eq!(Value::Object(v.claims.clone()), jwt.claims, "{name}");
        assert_eq!(
            v.claim_as_header("exp").as_deref(),
            Some("1900003600"),
            "{name}"
        );
        assert_eq!(v.claim_as_header("aud").as_deref(), Some(API), "{name}");
        assert_eq!(v.claim_as_header("missing"), None, "{name}");
    }
}

#[test]
fn signature_and_form_rules() {
    let k = issuer_keys();
    let good = ed(|j| j);
    let other = ed(|j| j.claim("scope", json!("admin")));
    let other_payload = other.split('.').nth(1).unwrap().to_string();
    let other_signature = other.split('.').nth(2).unwrap().to_string();
    let flipped = {
        let mut sig = b64::decode_url(good.split('.').nth(2).unwrap()).unwrap();
        sig[10] ^= 0x01;
        replace_part(&good, 2, &b64::encode_url(&sig))
    };
    // EdDSA signatures are 64 bytes: 86 characters, 4 unused bits in the last one.
    let signature = good.split('.').nth(2).unwrap();
    let padded_header = format!("{}=", good.split('.').next().unwrap());
    let es256_header_with_ed_kid = token(&k.es256, |j| j.header("kid", json!("ed")));
    run(vec![
        row("untouched_token_is_valid", good.clone(), Expect::Valid),
        row(
            "tampered_payload_is_invalid_token",
            replace_part(&good, 1, &other_payload),
            Expect::InvalidToken,
        ),
        row(
            "tampered_signature_is_invalid_token",
            flipped,
            Expect::InvalidToken,
        ),
        row(
            "signature_of_another_token_is_invalid_token",
            replace_part(&good, 2, &other_signature),
            Expect::InvalidToken,
        ),
        row(
            "truncated_signature_is_invalid_token",
            replace_part(&good, 2, &signature[..signature.len() - 4]),
            Expect::InvalidToken,
        ),
        row(
            "empty_signature_is_invalid_token",
            replace_part(&good, 2, ""),
            Expect::InvalidToken,
        ),
        row(
            "two_part_token_is_invalid_token",
            good.rsplit_once('.').unwrap().0.to_string(),
            Expect::InvalidToken,
        ),
        row(
            "four_part_token_is_invalid_token",
            format!("{good}.AAAA"),
            Expect::InvalidToken,
        ),
        row(
            "padded_base64_is_invalid_token",
            replace_part(&good, 0, &padded_header),
            Expect::InvalidToken,
        ),
        row(
            "base64_with_nonzero_trailing_bits_is_invalid_token",
            replace_part(&good, 2, &with_trailing_bits(signature)),
            Expect::InvalidToken,
        ),
        row(
            "standard_base64_alphabet_is_invalid_token",
            replace_part(&good, 2, &format!("+{}", &signature[1..])),
            Expect::InvalidToken,
        ),
        row(
            "whitespace_inside_a_part_is_invalid_token",
            replace_part(&good, 1, &format!(" {}", good.split('.').nth(1).unwrap())),
            Expect::InvalidToken,
        ),
        row(
            "oversized_token_is_invalid_token",
            ed(|j| j.claim("padding", json!("x".repeat(17 * 1024)))),
            Expect::InvalidToken,
        ),
        row(
            "duplicate_header_member_is_invalid_token",
            raw_jws(
                br#"{"alg":"EdDSA","kid":"ed","typ":"at+jwt","typ":"JWT"}"#,
                Jwt::access_token(&k.ed).claims.to_string().as_bytes(),
                &k.ed,
            ),
            Expect::InvalidToken,
        ),
        row(
            "duplicate_payload_member_is_invalid_token",
            raw_jws(
                br#"{"alg":"EdDSA","kid":"ed","typ":"at+jwt"}"#,
                format!(
                    r#"{{"iss":"{ISSUER}","aud":"{API}","exp":{},"iat":{NOW},"aud":"https://evil.example.com"}}"#,
                    NOW + 3600
                )
                .as_bytes(),
                &k.ed,
            ),
            Expect::InvalidToken,
        ),
        row(
            "duplicate_member_nested_in_the_payload_is_invalid_token",
            raw_jws(
                br#"{"alg":"EdDSA","kid":"ed","typ":"at+jwt"}"#,
                format!(
                    r#"{{"iss":"{ISSUER}","aud":"{API}","exp":{},"iat":{NOW},"cnf":{{"jkt":"a","jkt":"b"}}}}"#,
                    NOW + 3600
                )
                .as_bytes(),
                &k.ed,
            ),
            Expect::InvalidToken,
        ),
        row(
            "payload_that_is_not_an_object_is_invalid_token",
            raw_jws(br#"{"alg":"EdDSA","kid":"ed","typ":"at+jwt"}"#, b"[1,2]", &k.ed),
            Expect::InvalidToken,
        ),
        row(
            "crit_header_is_invalid_token",
            ed(|j| j.header("crit", json!(["exp"])).header("exp", json!(NOW))),
            Expect::InvalidToken,
        ),
        row(
            "unencoded_payload_b64_false_is_invalid_token",
            ed(|j| j.header("b64", json!(false)).header("crit", json!(["b64"]))),
            Expect::InvalidToken,
        ),
        row(
            "b64_false_without_crit_is_invalid_token",
            ed(|j| j.header("b64", json!(false))),
            Expect::InvalidToken,
        ),
        row(
            "nested_jwt_cty_is_invalid_token",
            ed(|j| j.header("cty", json!("JWT"))),
            Expect::InvalidToken,
        ),
        row(
            "nested_jwt_cty_in_lower_case_is_invalid_token",
            ed(|j| j.header("cty", json!("jwt"))),
            Expect::InvalidToken,
        ),
        row(
            "kid_that_is_not_a_string_is_invalid_token",
            ed(|j| j.header("kid", json!(1))),
            Expect::InvalidToken,
        ),
        row(
            "missing_alg_is_invalid_token",
            ed(|j| j.without_header("alg")),
            Expect::InvalidToken,
        ),
        row(
            "alg_none_is_invalid_token",
            format!("{}.", Jwt::access_token(&k.ed).header("alg", json!("none")).signing_input()),
            Expect::InvalidToken,
        ),
        row(
            "alg_none_with_a_signature_is_invalid_token",
            ed(|j| j.header("alg", json!("none"))),
            Expect::InvalidToken,
        ),
        row(
            "alg_capitalised_none_is_invalid_token",
            ed(|j| j.header("alg", json!("None"))),
            Expect::InvalidToken,
        ),
        row(
            "alg_upper_case_none_is_invalid_token",
            ed(|j| j.header("alg", json!("NONE"))),
            Expect::InvalidToken,
        ),
        row(
            "alg_name_in_wrong_case_is_invalid_token",
            ed(|j| j.header("alg", json!("eddsa"))),
            Expect::InvalidToken,
        ),
        // Key choice (RFC 8725 §3.1: the algorithm is bound to the key)
        row_with(
            "alg_outside_the_allowlist_is_invalid_token",
            only_es256,
            ed(|j| j),
            Expect::InvalidToken,
        ),
        row(
            "alg_that_does_not_match_the_key_found_by_kid_is_invalid_token",
            es256_header_with_ed_kid,
            Expect::InvalidToken,
        ),
        row(
            "es384_token_under_an_es256_kid_is_invalid_token",
            token(&k.es384, |j| j.header("kid", json!("es256"))),
            Expect::InvalidToken,
        ),
        row(
            "unknown_kid_is_invalid_token_and_flags_a_refetch",
            token(&k.attacker_ed, |j| j),
            Expect::UnknownKid,
        ),
        row(
            "valid_signature_by_a_foreign_key_under_a_known_kid_is_invalid_token",
            token(&k.attacker_ed, |j| j.header("kid", json!("ed"))),
            Expect::InvalidToken,
        ),
        row(
            "token_without_kid_is_verified_by_the_single_fitting_key",
            ed(|j| j.without_header("kid")),
            Expect::Valid,
        ),
        row_with(
            "token_without_kid_when_two_keys_fit_is_invalid_token",
            two_eddsa_keys,
            ed(|j| j.without_header("kid")),
            Expect::InvalidToken,
        ),
        row(
            "embedded_jwk_header_is_ignored",
            token(&k.attacker_es256, |j| {
                j.without_header("kid")
                    .header("jwk", public_json(&k.attacker_es256))
            }),
            Expect::InvalidToken,
        ),
        row(
            "jku_header_is_ignored",
            token(&k.attacker_ed, |j| {
                j.header("kid", json!("ed"))
                    .header("jku", json!("https://attacker.example/jwks.json"))
            }),
            Expect::InvalidToken,
        ),
    ]);
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused() {
    // The classic algorithm-confusion attack: an HMAC "signature" keyed with bytes of the RSA
    // public key, presented under the RSA key's kid (RFC 8725 §2.1).
    let k = issuer_keys();
    let public = public_json(&k.rs256);
    let n = b64::decode_url(public["n"].as_str().unwrap()).unwrap();
    let jwk_text = public.to_string();
    let confused = |kid: Option<&str>, secret: &[u8]| {
        let mut jwt = Jwt::access_token(&k.rs256).header("alg", json!("HS256"));
        jwt = match kid {
            Some(kid) => jwt.header("kid", json!(kid)),
            None => jwt.without_header("kid"),
        };
        jwt.hmac(Algorithm::HS256, secret)
    };
    run(vec![
        row(
            "hs256_keyed_with_the_modulus_under_the_default_allowlist",
            confused(Some("rs256"), &n),
            Expect::InvalidToken,
        ),
        row(
            "hs256_keyed_with_the_jwk_text_under_the_default_allowlist",
            confused(Some("rs256"), jwk_text.as_bytes()),
            Expect::InvalidToken,
        ),
        row_with(
            "hs256_allowed_by_the_provider_but_not_by_the_rsa_key",
            rs256_and_hs256,
            confused(Some("rs256"), &n),
            Expect::InvalidToken,
        ),
        row_with(
            "hs256_against_an_rsa_key_published_without_alg",
            rsa_without_alg_and_hs256,
            confused(Some("rs256"), jwk_text.as_bytes()),
            Expect::InvalidToken,
        ),
        row_with(
            "hs256_without_kid_against_an_rsa_key_published_without_alg",
            rsa_without_alg_and_hs256,
            confused(None, &n),
            Expect::InvalidToken,
        ),
        row_with(
            "rs256_still_verifies_under_that_provider",
            rsa_without_alg_and_hs256,
            token(&k.rs256, |j| j),
            Expect::Valid,
        ),
    ]);
}

#[test]
fn claim_rules() {
    let k = issuer_keys();
    run(vec![
        // exp (RFC 7519 §4.1.4), required by RFC 9068 §2.2
        row(
            "expired_beyond_the_skew_is_invalid_token",
            ed(|j| {
                j.claim("iat", json!(NOW - 3600))
                    .claim("exp", json!(NOW - 61))
            }),
            Expect::InvalidToken,
        ),
        row(
            "expired_exactly_the_skew_ago_is_invalid_token",
            ed(|j| {
                j.claim("iat", json!(NOW - 3600))
                    .claim("exp", json!(NOW - 60))
            }),
            Expect::InvalidToken,
        ),
        row(
            "expired_within_the_skew_is_accepted",
            ed(|j| {
                j.claim("iat", json!(NOW - 3600))
                    .claim("exp", json!(NOW - 59))
            }),
            Expect::Valid,
        ),
        row(
            "missing_exp_is_invalid_token",
            ed(|j| j.without_claim("exp")),
            Expect::InvalidToken,
        ),
        row(
            "fractional_exp_is_invalid_token",
            ed(|j| j.claim("exp", json!(NOW as f64 + 3600.5))),
            Expect::InvalidToken,
        ),
        row(
            "exp_as_an_integral_float_is_invalid_token",
            raw_jws(
                br#"{"alg":"EdDSA","kid":"ed","typ":"at+jwt"}"#,
                format!(r#"{{"iss":"{ISSUER}","aud":"{API}","exp":1900003600.0}}"#).as_bytes(),
                &k.ed,
            ),
            Expect::InvalidToken,
        ),
        row(
            "exp_in_exponent_notation_is_invalid_token",
            raw_jws(
                br#"{"alg":"EdDSA","kid":"ed","typ":"at+jwt"}"#,
                format!(r#"{{"iss":"{ISSUER}","aud":"{API}","exp":1.9e9}}"#).as_bytes(),
                &k.ed,
            ),
            Expect::InvalidToken,
        ),
        row(
            "exp_as_a_string_is_invalid_token",
            ed(|j| j.claim("exp", json!((NOW + 3600).to_string()))),
            Expect::InvalidToken,
        ),
        row(
            "negative_exp_is_invalid_token",
            ed(|j| j.claim("exp", json!(-1))),
            Expect::InvalidToken,
        ),
        row(
            "null_exp_is_invalid_token",
            ed(|j| j.claim("exp", Value::Null)),
            Expect::InvalidToken,
        ),
        row(
            "exp_beyond_u64_is_invalid_token",
            raw_jws(
                br#"{"alg":"EdDSA","kid":"ed","typ":"at+jwt"}"#,
                format!(r#"{{"iss":"{ISSUER}","aud":"{API}","exp":99999999999999999999999}}"#)
                    .as_bytes(),
                &k.ed,
            ),
            Expect::InvalidToken,
        ),
        // nbf, iat
        row(
            "nbf_beyond_the_skew_is_invalid_token",
            ed(|j| j.claim("nbf", json!(NOW + 61))),
            Expect::InvalidToken,
        ),
        row(
            "nbf_within_the_skew_is_accepted",
            ed(|j| j.claim("nbf", json!(NOW + 60))),
            Expect::Valid,
        ),
        row(
            "nbf_as_a_string_is_invalid_token",
            ed(|j| j.claim("nbf", json!("0"))),
            Expect::InvalidToken,
        ),
        row(
            "iat_in_the_future_beyond_the_skew_is_invalid_token",
            ed(|j| j.claim("iat", json!(NOW + 61))),
            Expect::InvalidToken,
        ),
        row(
            "iat_in_the_future_within_the_skew_is_accepted",
            ed(|j| j.claim("iat", json!(NOW + 60))),
            Expect::Valid,
        ),
        row(
            "missing_iat_without_max_lifetime_is_accepted",
            ed(|j| j.without_claim("iat")),
            Expect::Valid,
        ),
        // max_lifetime
        row_with(
            "lifetime_over_max_lifetime_is_invalid_token",
            max_lifetime_1h,
            ed(|j| j.claim("iat", json!(NOW)).claim("exp", json!(NOW + 3601))),
            Expect::InvalidToken,
        ),
        row_with(
            "lifetime_of_exactly_max_lifetime_is_accepted",
            max_lifetime_1h,
            ed(|j| j.claim("iat", json!(NOW)).claim("exp", json!(NOW + 3600))),
            Expect::Valid,
        ),
        row_with(
            "missing_iat_with_max_lifetime_is_invalid_token",
            max_lifetime_1h,
            ed(|j| j.without_claim("iat")),
            Expect::InvalidToken,
        ),
        row(
            "long_lifetime_without_max_lifetime_is_accepted",
            ed(|j| j.claim("exp", json!(NOW + 365 * 86_400))),
            Expect::Valid,
        ),
        // aud (RFC 9068 §4, RFC 7519 §4.1.3)
        row(
            "wrong_audience_is_invalid_token",
            ed(|j| j.claim("aud", json!("https://billing.example.com"))),
            Expect::InvalidToken,
        ),
        row(
            "audience_array_containing_the_resource_is_accepted",
            ed(|j| j.claim("aud", json!(["https://billing.example.com", API]))),
            Expect::Valid,
        ),
        row(
            "audience_array_without_the_resource_is_invalid_token",
            ed(|j| j.claim("aud", json!(["https://billing.example.com"]))),
            Expect::InvalidToken,
        ),
        row(
            "empty_audience_array_is_invalid_token",
            ed(|j| j.claim("aud", json!([]))),
            Expect::InvalidToken,
        ),
        row(
            "missing_audience_is_invalid_token",
            ed(|j| j.without_claim("aud")),
            Expect::InvalidToken,
        ),
        row(
            "audience_with_a_trailing_slash_is_invalid_token",
            ed(|j| j.claim("aud", json!(format!("{API}/")))),
            Expect::InvalidToken,
        ),
        row(
            "audience_array_with_a_non_string_is_invalid_token",
            ed(|j| j.claim("aud", json!([API, 1]))),
            Expect::InvalidToken,
        ),
        // iss (RFC 9068 §4: exact match)
        row(
            "wrong_issuer_is_invalid_token",
            ed(|j| j.claim("iss", json!("https://evil.example.com"))),
            Expect::InvalidToken,
        ),
        row(
            "issuer_with_a_trailing_slash_is_invalid_token",
            ed(|j| j.claim("iss", json!(format!("{ISSUER}/")))),
            Expect::InvalidToken,
        ),
        row(
            "missing_issuer_is_invalid_token",
            ed(|j| j.without_claim("iss")),
            Expect::InvalidToken,
        ),
        // other claims with the wrong type
        row(
            "sub_that_is_not_a_string_is_invalid_token",
            ed(|j| j.claim("sub", json!(7))),
            Expect::InvalidToken,
        ),
        row(
            "scope_that_is_an_array_is_invalid_token",
            ed(|j| j.claim("scope", json!(["read"]))),
            Expect::InvalidToken,
        ),
        row_with(
            "scp_with_a_non_string_is_invalid_token_when_scopes_are_read_from_it",
            scope_scp_permissions,
            ed(|j| j.without_claim("scope").claim("scp", json!(["read", 1]))),
            Expect::InvalidToken,
        ),
        row_with(
            "permissions_that_is_an_object_is_invalid_token_when_read",
            scope_scp_permissions,
            ed(|j| {
                j.without_claim("scope")
                    .claim("permissions", json!({"read": true}))
            }),
            Expect::InvalidToken,
        ),
        // Only the first of scope_claims the token has is read: a bad `scp` beside a `scope`
        // is not looked at, and neither is `scp` without scope_claims naming it.
        row_with(
            "scp_behind_a_present_scope_is_not_read",
            scope_scp_permissions,
            ed(|j| j.claim("scp", json!(["read", 1]))),
            Expect::Valid,
        ),
        row(
            "scp_is_not_read_by_default",
            ed(|j| j.claim("scp", json!(["read", 1]))),
            Expect::Valid,
        ),
        // typ (RFC 9068 §4, RFC 8725 §3.11)
        row(
            "typ_jwt_is_invalid_token",
            ed(|j| j.header("typ", json!("JWT"))),
            Expect::InvalidToken,
        ),
        row(
            "client_assertion_typ_is_invalid_token",
            ed(|j| j.header("typ", json!("client-authentication+jwt"))),
            Expect::InvalidToken,
        ),
        row(
            "absent_typ_is_invalid_token",
            ed(|j| j.without_header("typ")),
            Expect::InvalidToken,
        ),
        row(
            "application_at_jwt_is_accepted",
            ed(|j| j.header("typ", json!("application/at+jwt"))),
            Expect::Valid,
        ),
        row(
            "typ_compares_case_insensitively",
            ed(|j| j.header("typ", json!("AT+JWT"))),
            Expect::Valid,
        ),
        row_with(
            "empty_require_typ_accepts_jwt",
            any_typ,
            ed(|j| j.header("typ", json!("JWT"))),
            Expect::Valid,
        ),
        row_with(
            "empty_require_typ_accepts_an_absent_typ",
            any_typ,
            ed(|j| j.without_header("typ")),
            Expect::Valid,
        ),
    ]);
}

#[test]
fn jwks_with_a_private_key_is_refused_as_configuration() {
    let mut raw = provider_json();
    let private = issuer_keys().ed.to_private_json();
    raw["local_jwks"]["inline_string"] = json!(json!({ "keys": [private] }).to_string());
    let e = Provider::from_json(&raw.to_string()).unwrap_err();
    assert!(
        e.field.starts_with("local_jwks.inline_string"),
        "field {:?}: {}",
        e.field,
        e.message
    );
    assert!(e.to_string().contains("private"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Scopes (RFC 6750 §3.1, RFC 9068 §2.2.3)

fn verified(edit: impl FnOnce(Jwt) -> Jwt) -> VerifiedAccessToken {
    let (policy, keys) = provider(standard);
    verify::verify_access_token(&ed(edit), &policy, &keys, NOW).unwrap()
}

#[test]
fn required_scopes_all_granted_pass() {
    let v = verified(|j| j.claim("scope", json!("read write admin")));
    assert_eq!(v.require_scopes(&["read"]), Ok(()));
    assert_eq!(v.require_scopes(&["write", "read"]), Ok(()));
    assert_eq!(v.require_scopes::<&str>(&[]), Ok(()));
    assert_eq!(v.require_scopes(&[String::from("admin")]), Ok(()));
}

#[test]
fn missing_scope_is_403_insufficient_scope_naming_what_is_required() {
    let v = verified(|j| j.claim("scope", json!("read")));
    let e = v.require_scopes(&["read", "admin"]).unwrap_err();
    assert_eq!(
        e.code,
        BearerErrorCode::InsufficientScope {
            scope: "read admin".into()
        }
    );
    assert_eq!(e.code_str(), Some("insufficient_scope"));
    assert_eq!(e.status(), 403);
    let challenge = e.www_authenticate("api");
    assert!(challenge.starts_with("Bearer realm=\"api\""), "{challenge}");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"read admin\""), "{challenge}");
    let response = e.to_response("api");
    assert_eq!(response.status, 403);
    assert_eq!(
        response.header("www-authenticate"),
        Some(challenge.as_str())
    );
    assert_eq!(body(&response)["error"], json!("insufficient_scope"));
}

#[test]
fn scope_names_are_not_prefixes() {
    let v = verified(|j| j.claim("scope", json!("read:all")));
    assert!(v.require_scopes(&["read"]).is_err());
}

fn verified_with(tweak: fn(&mut Value), edit: impl FnOnce(Jwt) -> Jwt) -> VerifiedAccessToken {
    let (policy, keys) = provider(tweak);
    verify::verify_access_token(&ed(edit), &policy, &keys, NOW).unwrap()
}

/// `scope_claims`: scopes come from the first listed claim the token has, read whole (a string
/// split on spaces, or an array of strings); by default `scope` only (RFC 9068 §2.2.3).
#[test]
fn scopes_come_from_the_first_of_scope_claims_the_token_has() {
    let granted = |tweak: fn(&mut Value), edit: fn(Jwt) -> Jwt| {
        verified_with(tweak, edit)
            .scopes
            .into_iter()
            .collect::<Vec<_>>()
    };
    // Default: `scope` only; `scp` and `permissions` are other claims.
    assert_eq!(
        granted(standard, |j| j
            .claim("scope", json!("read"))
            .claim("scp", json!(["admin"]))),
        ["read"]
    );
    assert!(granted(standard, |j| j
        .without_claim("scope")
        .claim("scp", json!(["admin"])))
    .is_empty());
    // In order, the first present one only.
    let ordered = scope_scp_permissions;
    assert_eq!(
        granted(ordered, |j| j
            .claim("scope", json!("read"))
            .claim("permissions", json!(["admin"]))),
        ["read"]
    );
    assert_eq!(
        granted(ordered, |j| j
            .without_claim("scope")
            .claim("scp", json!("read write"))),
        ["read", "write"]
    );
    // Mia-Platform / Auth0 RBAC: a `permissions` array.
    assert_eq!(
        granted(ordered, |j| j
            .without_claim("scope")
            .claim("permissions", json!(["orders:read", "orders:write"]))),
        ["orders:read", "orders:write"]
    );
    let v = verified_with(ordered, |j| {
        j.without_claim("scope")
            .claim("permissions", json!(["orders:read"]))
    });
    assert_eq!(v.require_scopes(&["orders:read"]), Ok(()));
    assert!(v.require_scopes(&["orders:write"]).is_err());
    let v = verified(|j| j.without_claim("scope"));
    assert!(v.scopes.is_empty());
    assert!(v.require_scopes(&["read"]).is_err());
}

/// `requires.claims`: a string claim equal to the value, or an array claim holding it; else 403
/// `insufficient_scope` (RFC 6750 §3.1), `scope=` naming the rule's scopes when it has any.
#[test]
fn required_claim_values_are_equal_strings_or_array_members() {
    let v = verified(|j| {
        j.claim("tenant", json!("acme"))
            .claim("groups", json!(["billing", "ops"]))
            .claim("level", json!(3))
    });
    let need = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        v.require_claims::<&str>(&need(&[("tenant", "acme")]), &[]),
        Ok(())
    );
    assert_eq!(
        v.require_claims::<&str>(&need(&[("groups", "billing"), ("tenant", "acme")]), &[]),
        Ok(())
    );
    assert_eq!(v.require_claims::<&str>(&[], &[]), Ok(()));
    for unmet in [
        need(&[("tenant", "other")]),
        need(&[("tenant", "acm")]),
        need(&[("groups", "admin")]),
        need(&[("missing", "x")]),
        // Only strings are compared: a number is not its text.
        need(&[("level", "3")]),
        need(&[("tenant", "acme"), ("groups", "admin")]),
    ] {
        let e = v.require_claims(&unmet, &["read"]).unwrap_err();
        assert_eq!(e.status(), 403, "{unmet:?}");
        let challenge = e.www_authenticate("gatepass");
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(challenge.contains("scope=\"read\""), "{challenge}");
    }
    // No scopes on the rule: no empty scope= attribute.
    let e = v
        .require_claims::<&str>(&need(&[("tenant", "x")]), &[])
        .unwrap_err();
    assert!(!e.www_authenticate("gatepass").contains("scope="));
}

// ---------------------------------------------------------------------------------------------
// Bearer extraction (RFC 6750 §2.1, §3)

#[test]
fn missing_token_is_401_with_a_bare_bearer_challenge() {
    for header in [None, Some("Basic dXNlcjpwYXNz"), Some("Digest x")] {
        let e = verify::extract_bearer(header).unwrap_err();
        assert_eq!(e.code, BearerErrorCode::MissingToken, "{header:?}");
        assert_eq!(e.code_str(), None, "{header:?}");
        assert_eq!(e.status(), 401, "{header:?}");
        // RFC 6750 §3.1: no error code when the request lacks authentication.
        assert_eq!(
            e.www_authenticate("api"),
            "Bearer realm=\"api\"",
            "{header:?}"
        );
        let response = e.to_response("api");
        assert_eq!(response.status, 401);
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer realm=\"api\"")
        );
        assert!(body(&response).get("error").is_none(), "{header:?}");
    }
}

#[test]
fn malformed_bearer_header_is_400_invalid_request() {
    for header in [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer   ",
        "Bearer tok@en",
        "Bearer tok\"en",
        "Bearer =abc",
        "Bearer abc=def",
    ] {
        let e = verify::extract_bearer(Some(header)).unwrap_err();
        assert_eq!(e.code_str(), Some("invalid_request"), "{header:?}");
        assert_eq!(e.status(), 400, "{header:?}");
        let challenge = e.www_authenticate("api");
        assert!(
            challenge.contains("error=\"invalid_request\""),
            "{challenge}"
        );
    }
}

#[test]
fn bearer_scheme_is_case_insensitive_and_b64token_characters_pass() {
    for (header, token) in [
        ("Bearer abc.DEF-ghi_jkl", "abc.DEF-ghi_jkl"),
        ("bearer TOKEN", "TOKEN"),
        ("BEARER x", "x"),
        // RFC 7235 §2.1: one or more spaces after the scheme.
        ("Bearer  token", "token"),
        ("Bearer a~b+c/d==", "a~b+c/d=="),
    ] {
        assert_eq!(
            verify::extract_bearer(Some(header)),
            Ok(token),
            "{header:?}"
        );
    }
}

#[test]
fn extracted_token_flows_into_the_verifier() {
    let (policy, keys) = provider(standard);
    let compact = ed(|j| j);
    let header = format!("Bearer {compact}");
    let token = verify::extract_bearer(Some(&header)).unwrap();
    assert!(verify::verify_access_token(token, &policy, &keys, NOW).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Host signature path (WebCrypto): begin → signature_check → finish

#[test]
fn host_signature_path_exposes_exactly_what_to_verify() {
    let k = issuer_keys();
    let (policy, keys) = provider(standard);
    for key in [&k.ed, &k.es256, &k.rs256, &k.ps256] {
        let compact = token(key, |j| j);
        let (input, signature) = compact.rsplit_once('.').unwrap();
        let pending = verify::begin(&compact, &policy, &keys).unwrap();
        assert_eq!(pending.token().kid(), Some(key.kid.as_str()));
        assert_eq!(pending.token().alg(), key.alg);
        let check = pending.signature_check();
        assert_eq!(check.alg, key.alg);
        assert_eq!(check.key.kid.as_deref(), Some(key.kid.as_str()));
        assert_eq!(check.key.thumbprint(), key.public_jwk().thumbprint());
        assert_eq!(check.signing_input, input.as_bytes());
        assert_eq!(
            check.signature,
            b64::decode_url(signature).unwrap().as_slice()
        );
        assert!(check.verify_builtin());
        let v = pending.finish(true, NOW).unwrap();
        assert_eq!(v.client_id.as_deref(), Some("basic-client"));

        let e = verify::begin(&compact, &policy, &keys)
            .unwrap()
            .finish(false, NOW)
            .unwrap_err();
        assert_eq!(e.code_str(), Some("invalid_token"), "{}", key.alg);
        assert_eq!(e.status(), 401);

        // Detached: a bad signature is refused as such even when the claims also fail (here,
        // expired), exactly as `finish(false, ..)` does.
        let late = NOW + 100_000;
        let bad_sig = verify::begin(&compact, &policy, &keys)
            .unwrap()
            .detach(late)
            .finish(false)
            .unwrap_err();
        let attached = verify::begin(&compact, &policy, &keys)
            .unwrap()
            .finish(false, late)
            .unwrap_err();
        assert_eq!(bad_sig, attached);
        assert_eq!(bad_sig.description, "token signature is invalid");
        let expired = verify::begin(&compact, &policy, &keys)
            .unwrap()
            .detach(late)
            .finish(true)
            .unwrap_err();
        assert_ne!(expired.description, "token signature is invalid");
    }
}

#[test]
fn host_signature_verdict_does_not_skip_the_claim_checks() {
    let (policy, keys) = provider(standard);
    let expired = ed(|j| {
        j.claim("iat", json!(NOW - 7200))
            .claim("exp", json!(NOW - 3600))
    });
    let e = verify::begin(&expired, &policy, &keys)
        .unwrap()
        .finish(true, NOW)
        .unwrap_err();
    assert_eq!(e.code_str(), Some("invalid_token"));
    let wrong_typ = ed(|j| j.header("typ", json!("JWT")));
    let e = verify::begin(&wrong_typ, &policy, &keys)
        .unwrap()
        .finish(true, NOW)
        .unwrap_err();
    assert_eq!(e.code_str(), Some("invalid_token"));
}

#[test]
fn unverified_claims_are_readable_before_verification() {
    let (policy, keys) = provider(standard);
    let compact = ed(|j| j.claim("sub", json!("someone")));
    let pending = verify::begin(&compact, &policy, &keys).unwrap();
    assert_eq!(
        pending.token().unverified_claims().get("sub"),
        Some(&json!("someone"))
    );
}
