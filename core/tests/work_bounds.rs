//! Bounded work before authentication (SECURITY.md "Work per request", `core/src/limits.rs`):
//! every parser a request reaches before its client is authenticated refuses input over its cap
//! with the RFC error of what it breaks, accepts input at the cap, and an impossible client id
//! is answered like an unknown client before any store is asked. Speed itself is measured by
//! `bash bench/worst-case.sh`, not here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use gatepass_core::json::{self, JsonError};
use gatepass_core::jwk::{JwkSet, SetStrictness};
use gatepass_core::jws::{self, JwsError};
use gatepass_core::limits::*;
use gatepass_core::request::{self, parse_requested_scope, ScopeError};
use gatepass_core::verify::{self, VerifierPolicy};
use gatepass_core::TokenError;
use serde_json::{json, Value};

fn parse(http: &Http) -> Result<request::TokenRequest, TokenError> {
    request::parse_token_request(&http.as_request())
}

fn basic_form() -> Form {
    Form::client_credentials()
}

fn ok_basic(form: Form) -> Http {
    Http::post(form).authorization(&basic("basic-client", BASIC_SECRET))
}

fn scope_list(n: usize) -> String {
    (0..n)
        .map(|i| format!("s{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn form_parameters_are_capped() {
    // grant_type + 63 ignored parameters = 64: parsed.
    let mut form = basic_form();
    for i in 0..MAX_FORM_PARAMETERS - 1 {
        form = form.with(&format!("x{i}"), "1");
    }
    assert!(parse(&ok_basic(form.clone())).is_ok());
    let over = parse(&ok_basic(form.with("one_more", "1"))).unwrap_err();
    assert_eq!(over.code.as_str(), "invalid_request");
    assert_eq!(over.status(), 400);
    assert!(over.description.contains("form parameters"), "{over}");
    // Empty segments are not parameters (RFC 6749 Appendix B: `&&` carries nothing).
    let mut body = b"grant_type=client_credentials".to_vec();
    body.extend(std::iter::repeat_n(b'&', 60_000));
    assert!(parse(&ok_basic(Form::new()).raw_body(&body)).is_ok());
}

#[test]
fn repeats_are_found_among_the_most_parameters() {
    // The repeat is the last of 64 parameters: the one-pass check still sees it.
    let mut form = basic_form().with("scope", "read");
    for i in 0..MAX_FORM_PARAMETERS - 3 {
        form = form.with(&format!("x{i}"), "1");
    }
    let e = parse(&ok_basic(form.with("scope", "write"))).unwrap_err();
    assert_eq!(e.code.as_str(), "invalid_request");
    assert!(e.description.contains("scope is repeated"), "{e}");
    // `resource` may repeat (RFC 8707 §2).
    let form = basic_form()
        .with("resource", "https://a.example")
        .with("resource", "https://b.example");
    assert_eq!(parse(&ok_basic(form)).unwrap().resources.len(), 2);
}

#[test]
fn scope_tokens_are_capped_and_deduplicated_in_order() {
    let at_cap = parse(&ok_basic(
        basic_form().with("scope", &scope_list(MAX_SCOPE_TOKENS)),
    ))
    .unwrap();
    assert_eq!(at_cap.scope.unwrap().len(), MAX_SCOPE_TOKENS);
    for n in [MAX_SCOPE_TOKENS + 1, 10_000] {
        let e = parse(&ok_basic(basic_form().with("scope", &scope_list(n)))).unwrap_err();
        assert_eq!(e.code.as_str(), "invalid_scope", "{n} tokens");
        assert_eq!(e.status(), 400);
        assert!(e.description.contains("scope tokens"), "{e}");
    }
    // Duplicates are dropped, the first occurrence keeps its place.
    assert_eq!(
        parse_requested_scope("b a b c a").unwrap(),
        vec!["b", "a", "c"]
    );
    assert_eq!(parse_requested_scope("a  b"), Err(ScopeError::Malformed));
    // The count is checked before the tokens: a malformed list over the cap is TooMany.
    assert_eq!(
        parse_requested_scope(&" ".repeat(MAX_SCOPE_TOKENS)),
        Err(ScopeError::TooMany)
    );
}

#[test]
fn resource_values_are_capped() {
    let with = |n: usize| {
        let mut form = basic_form();
        for i in 0..n {
            form = form.with("resource", &format!("https://api{i}.example"));
        }
        parse(&ok_basic(form))
    };
    assert_eq!(with(MAX_RESOURCES).unwrap().resources.len(), MAX_RESOURCES);
    let e = with(MAX_RESOURCES + 1).unwrap_err();
    assert_eq!(e.code.as_str(), "invalid_target");
    assert_eq!(e.status(), 400);
}

/// The answer a host gives for a token request: the error response's status and body.
fn answer(http: &Http) -> (u16, Value) {
    let mut server = Server::standard();
    match server.token(http) {
        Ok(_) => panic!("a token was issued"),
        Err(e) => {
            let r = e.to_response(REALM);
            (r.status, Value::Object(body(&r)))
        }
    }
}

#[test]
fn impossible_client_ids_are_answered_like_unknown_clients_before_any_lookup() {
    let unknown = answer(&Http::post(
        basic_form()
            .with("client_id", "nobody")
            .with("client_secret", "x"),
    ));
    assert_eq!(unknown.0, 401);
    assert_eq!(unknown.1["error"], "invalid_client");
    let long = "c".repeat(MAX_CLIENT_ID_BYTES + 1);
    let es256 = keys();
    let cases: Vec<(&str, Http)> = vec![
        (
            "post_id_over_255_bytes",
            Http::post(
                basic_form()
                    .with("client_id", &long)
                    .with("client_secret", "x"),
            ),
        ),
        (
            "post_id_of_60000_bytes",
            Http::post(
                basic_form()
                    .with("client_id", &"c".repeat(60_000))
                    .with("client_secret", "x"),
            ),
        ),
        (
            "post_id_with_a_tab",
            Http::post(
                basic_form()
                    .with("client_id", "a\tb")
                    .with("client_secret", "x"),
            ),
        ),
        (
            "post_id_not_ascii",
            Http::post(
                basic_form()
                    .with("client_id", "caf\u{e9}")
                    .with("client_secret", "x"),
            ),
        ),
        (
            "basic_id_over_255_bytes",
            Http::post(basic_form()).authorization(&basic(&long, "x")),
        ),
        (
            "assertion_sub_over_255_bytes",
            Http::post(basic_form().assertion(
                &Jwt::assertion_for(&long, &es256.es256_client).sign(&es256.es256_client),
            )),
        ),
    ];
    for (name, http) in cases {
        // Refused by the parser, so no host ever looks the id up.
        let e = parse(&http).unwrap_err();
        assert_eq!(e.code.as_str(), "invalid_client", "{name}: {e}");
        let got = answer(&http);
        if name.starts_with("basic") {
            // Basic credentials answer with the Basic challenge; the body is the unknown one.
            assert_eq!(got.0, 401, "{name}");
            assert_eq!(got.1, unknown.1, "{name}");
        } else {
            assert_eq!(got, unknown, "{name}");
        }
    }
    // A 255-byte id is a possible client: it is looked up (and unknown here).
    let at_cap = Http::post(
        basic_form()
            .with("client_id", &"c".repeat(MAX_CLIENT_ID_BYTES))
            .with("client_secret", "x"),
    );
    assert_eq!(
        parse(&at_cap).unwrap().client_id().len(),
        MAX_CLIENT_ID_BYTES
    );
}

#[test]
fn authorization_header_is_capped() {
    let secret = "s".repeat(MAX_AUTHORIZATION_BYTES);
    let e = parse(&Http::post(basic_form()).authorization(&basic("basic-client", &secret)))
        .unwrap_err();
    assert_eq!(e.code.as_str(), "invalid_client");
    assert_eq!(e.status(), 401);
}

/// A JSON object with `n` values in all: the object and `n - 1` members.
fn object_with_values(n: usize) -> String {
    let members: Vec<String> = (0..n - 1).map(|i| format!("\"m{i}\":0")).collect();
    format!("{{{}}}", members.join(","))
}

#[test]
fn json_documents_are_capped_by_values() {
    assert!(json::parse_object(object_with_values(MAX_JSON_VALUES).as_bytes()).is_ok());
    assert_eq!(
        json::parse_object(object_with_values(MAX_JSON_VALUES + 1).as_bytes()),
        Err(JsonError::TooManyValues)
    );
}

#[test]
fn jose_headers_and_assertion_claims_are_small_documents() {
    let k = keys();
    // A header over the small-document bound is refused before any key is looked at.
    let mut header: Value =
        serde_json::from_str(&object_with_values(MAX_SMALL_JSON_VALUES + 1)).unwrap();
    header["alg"] = json!("ES256");
    let token = raw_jws(header.to_string().as_bytes(), b"{}", &k.es256_client);
    assert_eq!(
        jws::parse_compact(&token, MAX_TOKEN_BYTES).unwrap_err(),
        JwsError::Header(JsonError::TooManyValues)
    );
    // Assertion claims over the bound: invalid_client, at the parser (its sub is unreadable).
    let mut jwt = Jwt::assertion_for("es256-client", &k.es256_client);
    for i in 0..MAX_SMALL_JSON_VALUES {
        jwt = jwt.claim(&format!("x{i}"), json!(0));
    }
    let e = parse(&Http::post(
        basic_form().assertion(&jwt.sign(&k.es256_client)),
    ))
    .unwrap_err();
    assert_eq!(e.code.as_str(), "invalid_client");
    // The same assertion within the bound authenticates.
    let jwt = Jwt::assertion_for("es256-client", &k.es256_client).claim("x", json!([1, 2, 3]));
    let mut server = Server::standard();
    assert!(server
        .token(&Http::post(
            basic_form().assertion(&jwt.sign(&k.es256_client))
        ))
        .is_ok());
}

#[test]
fn access_token_claims_are_capped_by_values() {
    let k = keys();
    let policy = VerifierPolicy::new(ISSUER, vec![API.into()]);
    let set = JwkSet::from_json(
        jwks(&[&k.server]).to_string().as_bytes(),
        SetStrictness::Strict,
        false,
    )
    .unwrap();
    let with_items = |n: usize| {
        Jwt::access_token(&k.server)
            .claim("groups", json!((0..n).collect::<Vec<_>>()))
            .sign(&k.server)
    };
    // The standard claims take 10 values (object, 8 members, the groups array itself).
    let fits = with_items(MAX_ACCESS_TOKEN_JSON_VALUES - 10);
    assert!(verify::verify_access_token(&fits, &policy, &set, NOW).is_ok());
    let over = with_items(MAX_ACCESS_TOKEN_JSON_VALUES - 9);
    let e = verify::verify_access_token(&over, &policy, &set, NOW).unwrap_err();
    assert_eq!(e.code_str(), Some("invalid_token"));
}

#[test]
fn jwk_sets_are_capped() {
    let k = keys();
    let one = public_json(&k.es256_client);
    let set_of = |n: usize| {
        let keys: Vec<Value> = (0..n)
            .map(|i| {
                let mut key = one.clone();
                key["kid"] = json!(format!("k{i}"));
                key
            })
            .collect();
        json!({ "keys": keys })
    };
    let parse_set =
        |v: &Value| JwkSet::from_json(v.to_string().as_bytes(), SetStrictness::SkipUnusable, false);
    assert_eq!(
        parse_set(&set_of(MAX_SET_KEYS)).unwrap().keys.len(),
        MAX_SET_KEYS
    );
    let e = parse_set(&set_of(MAX_SET_KEYS + 1)).unwrap_err();
    assert!(e.to_string().contains("more than"), "{e}");
    // A repeated kid is still found (now through a set).
    let mut dup = set_of(3);
    dup["keys"][2]["kid"] = json!("k0");
    assert!(parse_set(&dup)
        .unwrap_err()
        .to_string()
        .contains("appears twice"));

    // A client's own set: at most MAX_CLIENT_KEYS, in configuration too.
    let config_with = |n: usize| {
        let set = set_of(n);
        gatepass_core::config::ServerConfig::from_json(
            &{
                let mut raw = server_json();
                raw["clients"][4]["jwks"] = set;
                raw["clients"][4]
                    .as_object_mut()
                    .unwrap()
                    .remove("token_endpoint_auth_signing_alg");
                raw
            }
            .to_string(),
        )
    };
    assert!(config_with(MAX_CLIENT_KEYS).is_ok());
    let e = config_with(MAX_CLIENT_KEYS + 1).unwrap_err();
    assert_eq!(e.field, "clients[4].jwks", "{e}");
}
