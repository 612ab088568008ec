//! The token endpoint, end to end: `parse_token_request` → `authenticate` (with the record the
//! host looked up) → the host's replay store → `authorize` → `prepare` → `sign_builtin` →
//! `to_response`, and the minted token checked by the verifier a resource server runs.
//!
//! Every refusal asserts the RFC 6749 §5.2 wire code and the HTTP status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use gatepass_core::crypto::Algorithm;
use gatepass_core::error::TokenErrorCode;
use gatepass_core::verify::{self, VerifierPolicy};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Table machinery

/// What a row expects.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A 200 token response.
    Token,
    /// An error response with this code and status.
    Refused(&'static str, u16),
    /// An error response with this code and status whose description contains the text.
    RefusedSaying(&'static str, u16, &'static str),
}

struct Row {
    name: &'static str,
    /// A change to the standard configuration.
    config: fn(&mut Value),
    http: Http,
    expect: Expect,
}

fn standard(_: &mut Value) {}

fn legacy_audience(raw: &mut Value) {
    raw["allow_legacy_assertion_audience"] = json!(true);
}

fn assertion_lifetime_60s(raw: &mut Value) {
    raw["assertion_max_lifetime"] = json!("60s");
}

fn assertion_lifetime_600s(raw: &mut Value) {
    raw["assertion_max_lifetime"] = json!("600s");
}

fn row(name: &'static str, http: Http, expect: Expect) -> Row {
    Row {
        name,
        config: standard,
        http,
        expect,
    }
}

fn row_with(name: &'static str, config: fn(&mut Value), http: Http, expect: Expect) -> Row {
    Row {
        name,
        config,
        http,
        expect,
    }
}

const INVALID_CLIENT: Expect = Expect::Refused("invalid_client", 401);
const INVALID_REQUEST: Expect = Expect::Refused("invalid_request", 400);

/// Runs every row on a fresh server; reports every failing row.
fn run(rows: Vec<Row>) {
    let mut failures = Failures::default();
    for r in rows {
        let mut server = Server::new(server_config(r.config));
        let outcome = server.token(&r.http);
        if std::env::var_os("SHOW_REASONS").is_some() {
            eprintln!("{}: {:?}", r.name, outcome.as_ref().map(|_| "token"));
        }
        let response = match &outcome {
            Ok(issued) => issued.to_response(),
            Err(e) => e.to_response(REALM),
        };
        let (expect, saying) = match r.expect {
            Expect::RefusedSaying(code, status, text) => {
                (Expect::Refused(code, status), Some(text))
            }
            other => (other, None),
        };
        match (expect, outcome) {
            (Expect::Token, Ok(_)) => {
                failures.check(r.name, response.status == 200, || {
                    format!("token response status {}", response.status)
                });
            }
            (Expect::Token, Err(e)) => failures.push(r.name, format!("expected a token, got {e}")),
            (Expect::RefusedSaying(..), _) => unreachable!("normalized above"),
            (Expect::Refused(code, status), Ok(_)) => {
                failures.push(r.name, format!("expected {code} ({status}), got a token"))
            }
            (Expect::Refused(code, status), Err(e)) => {
                failures.check(r.name, e.code.as_str() == code, || {
                    format!("expected code {code}, got {e}")
                });
                if let Some(text) = saying {
                    failures.check(r.name, e.description.contains(text), || {
                        format!("expected a description naming {text:?}, got {e}")
                    });
                }
                failures.check(r.name, e.status() == status, || {
                    format!("expected status {status}, got {} ({e})", e.status())
                });
                // The response says the same as the error.
                let b = body(&response);
                failures.check(
                    r.name,
                    response.status == status && b.get("error") == Some(&json!(code)),
                    || format!("response {} {:?}", response.status, b),
                );
                failures.check(r.name, !b.contains_key("access_token"), || {
                    "error response carries an access_token".into()
                });
                // RFC 6749 §5.2: invalid_client answers 401 with a Basic challenge.
                let challenge = response.header("www-authenticate");
                if code == "invalid_client" {
                    failures.check(
                        r.name,
                        challenge == Some("Basic realm=\"gatepass\", charset=\"UTF-8\""),
                        || format!("WWW-Authenticate {challenge:?}"),
                    );
                } else {
                    failures.check(r.name, challenge.is_none(), || {
                        format!("unexpected WWW-Authenticate {challenge:?}")
                    });
                }
            }
        }
    }
    failures.assert_none();
}

fn basic_request(client_id: &str, secret: &str, form: Form) -> Http {
    Http::post(form).authorization(&basic(client_id, secret))
}

fn assertion_request(assertion: &str) -> Http {
    Http::post(Form::client_credentials().assertion(assertion))
}

/// An ES256 assertion from `es256-client`, edited by `edit`, signed with its key.
fn es256_assertion(edit: impl FnOnce(Jwt) -> Jwt) -> Http {
    let k = keys();
    assertion_request(
        &edit(Jwt::assertion_for("es256-client", &k.es256_client)).sign(&k.es256_client),
    )
}

// ---------------------------------------------------------------------------------------------
// Success

/// Checks a 200 response and the token in it against RFC 6749 §5.1 and RFC 9068 §2.
fn check_token_response(
    failures: &mut Failures,
    name: &str,
    server: &Server,
    response: &gatepass_core::response::HttpResponse,
    client_id: &str,
    scope: &str,
    aud: Value,
) {
    failures.check(name, response.status == 200, || {
        format!("status {} body {:?}", response.status, response.json_body())
    });
    if response.status != 200 {
        return;
    }
    failures.check(
        name,
        response.header("cache-control") == Some("no-store"),
        || format!("cache-control {:?}", response.header("cache-control")),
    );
    failures.check(
        name,
        response.header("content-type") == Some("application/json"),
        || format!("content-type {:?}", response.header("content-type")),
    );
    let b = body(response);
    failures.check(name, b.get("token_type") == Some(&json!("Bearer")), || {
        format!("token_type {:?}", b.get("token_type"))
    });
    failures.check(name, b.get("expires_in") == Some(&json!(3600)), || {
        format!("expires_in {:?}", b.get("expires_in"))
    });
    failures.check(name, b.get("scope") == Some(&json!(scope)), || {
        format!("scope {:?}", b.get("scope"))
    });
    let Some(token) = b.get("access_token").and_then(Value::as_str) else {
        failures.push(name, "no access_token".into());
        return;
    };
    // RFC 9068 §2.1 header, §2.2 claims.
    let (header, claims) = decode_parts(token);
    let k = keys();
    let expected_header = json!({ "alg": "EdDSA", "kid": k.server.kid, "typ": "at+jwt" });
    failures.check(name, header == expected_header, || {
        format!("header {header}")
    });
    for (claim, expected) in [
        ("iss", json!(ISSUER)),
        ("sub", json!(client_id)),
        ("client_id", json!(client_id)),
        ("aud", aud.clone()),
        ("iat", json!(NOW)),
        ("exp", json!(NOW + 3600)),
        ("scope", json!(scope)),
    ] {
        failures.check(name, claims.get(claim) == Some(&expected), || {
            format!(
                "claim {claim} = {:?}, expected {expected}",
                claims.get(claim)
            )
        });
    }
    let jti_ok = claims
        .get("jti")
        .and_then(Value::as_str)
        .is_some_and(|j| j.len() >= 22);
    failures.check(name, jti_ok, || format!("jti {:?}", claims.get("jti")));
    // A resource server named in aud accepts it.
    let keys = server.config.signing_keys.verification_set();
    let audience = aud.as_str().map_or(API, |one| one);
    let policy = VerifierPolicy::new(ISSUER, vec![audience.into()]);
    match verify::verify_access_token(token, &policy, &keys, NOW) {
        Ok(v) => {
            failures.check(name, v.client_id.as_deref() == Some(client_id), || {
                format!("verified client_id {:?}", v.client_id)
            });
            let scopes: Vec<&str> = scope.split(' ').collect();
            failures.check(name, v.require_scopes(&scopes).is_ok(), || {
                format!("verified scopes {:?}", v.scopes)
            });
        }
        Err(e) => failures.push(name, format!("minted token does not verify: {e}")),
    }
}

#[test]
fn every_client_authentication_method_gets_an_rfc9068_token() {
    let k = keys();
    let hs256 = Jwt::assertion("jwt-client", Algorithm::HS256, None)
        .hmac(Algorithm::HS256, JWT_SECRET.as_bytes());
    let cases: Vec<(&str, Http, &str, &str, Value)> = vec![
        (
            "client_secret_basic",
            basic_request("basic-client", BASIC_SECRET, Form::client_credentials()),
            "basic-client",
            "read write",
            json!([API, BILLING]),
        ),
        (
            "client_secret_post",
            Http::post(
                Form::client_credentials()
                    .with("client_id", "post-client")
                    .with("client_secret", POST_SECRET),
            ),
            "post-client",
            "read",
            json!(API),
        ),
        (
            "client_secret_jwt_hs256",
            assertion_request(&hs256),
            "jwt-client",
            "read",
            json!(API),
        ),
        (
            "private_key_jwt_eddsa",
            assertion_request(
                &Jwt::assertion_for("eddsa-client", &k.eddsa_client).sign(&k.eddsa_client),
            ),
            "eddsa-client",
            "read",
            json!(API),
        ),
        (
            "private_key_jwt_es256",
            assertion_request(
                &Jwt::assertion_for("es256-client", &k.es256_client).sign(&k.es256_client),
            ),
            "es256-client",
            "read",
            json!(API),
        ),
        (
            "private_key_jwt_rs256",
            assertion_request(
                &Jwt::assertion_for("rs256-client", &k.rs256_client).sign(&k.rs256_client),
            ),
            "rs256-client",
            "read",
            json!(API),
        ),
        (
            "private_key_jwt_ps256",
            assertion_request(
                &Jwt::assertion_for("ps256-client", &k.ps256_client).sign(&k.ps256_client),
            ),
            "ps256-client",
            "read",
            json!(API),
        ),
        (
            "basic_credentials_are_form_urlencoded_before_base64",
            basic_request(ODD_CLIENT_ID, ODD_SECRET, Form::client_credentials()),
            ODD_CLIENT_ID,
            "read",
            json!(API),
        ),
        (
            "requested_scope_subset_is_granted_as_requested",
            basic_request(
                "basic-client",
                BASIC_SECRET,
                Form::client_credentials().with("scope", "write"),
            ),
            "basic-client",
            "write",
            json!([API, BILLING]),
        ),
        (
            "one_allowed_resource_narrows_the_audience",
            basic_request(
                "basic-client",
                BASIC_SECRET,
                Form::client_credentials().with("resource", BILLING),
            ),
            "basic-client",
            "read write",
            json!(BILLING),
        ),
        (
            "repeated_resource_is_allowed_rfc8707",
            basic_request(
                "basic-client",
                BASIC_SECRET,
                Form::client_credentials()
                    .with("resource", API)
                    .with("resource", BILLING)
                    .with("resource", API),
            ),
            "basic-client",
            "read write",
            json!([API, BILLING]),
        ),
        (
            "basic_with_matching_client_id_in_body_is_one_method",
            basic_request(
                "basic-client",
                BASIC_SECRET,
                Form::client_credentials().with("client_id", "basic-client"),
            ),
            "basic-client",
            "read write",
            json!([API, BILLING]),
        ),
        (
            "content_type_with_charset_is_accepted",
            basic_request("basic-client", BASIC_SECRET, Form::client_credentials())
                .content_type(Some("Application/X-WWW-Form-URLEncoded; charset=UTF-8")),
            "basic-client",
            "read write",
            json!([API, BILLING]),
        ),
    ];
    let mut failures = Failures::default();
    for (name, http, client_id, scope, aud) in cases {
        let mut server = Server::standard();
        let response = server.respond(&http);
        check_token_response(
            &mut failures,
            name,
            &server,
            &response,
            client_id,
            scope,
            aud,
        );
    }
    failures.assert_none();
}

#[test]
fn issued_token_reports_what_the_response_and_the_token_say() {
    let mut server = Server::standard();
    let issued = server
        .token(&basic_request(
            "basic-client",
            BASIC_SECRET,
            Form::client_credentials().with("scope", "read"),
        ))
        .unwrap();
    assert_eq!(issued.client_id, "basic-client");
    assert_eq!(issued.scope, "read");
    assert_eq!(issued.expires_in, 3600);
    assert_eq!(issued.expires_at, NOW + 3600);
    let (_, claims) = decode_parts(&issued.access_token);
    assert_eq!(claims["jti"], json!(issued.jti));
    assert_eq!(claims["exp"], json!(issued.expires_at));
}

#[test]
fn two_tokens_for_the_same_client_have_different_jti() {
    let mut server = Server::standard();
    let http = basic_request("basic-client", BASIC_SECRET, Form::client_credentials());
    let a = server.token(&http).unwrap();
    let b = server.token(&http).unwrap();
    assert_ne!(a.jti, b.jti);
}

// ---------------------------------------------------------------------------------------------
// Malformed requests (RFC 6749 §3.2, §4.4.2, §2.3)

#[test]
fn wrong_method_is_405_with_allow_post() {
    let mut server = Server::standard();
    let http =
        basic_request("basic-client", BASIC_SECRET, Form::client_credentials()).method("GET");
    let e = server.token(&http).unwrap_err();
    assert_eq!(e.code.as_str(), "invalid_request");
    assert_eq!(e.status(), 405);
    let response = server.respond(&http);
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("POST"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(body(&response)["error"], json!("invalid_request"));
}

#[test]
fn malformed_requests_are_refused() {
    let ok_basic = || basic("basic-client", BASIC_SECRET);
    run(vec![
        row(
            "put_is_not_post",
            Http::post(Form::client_credentials())
                .authorization(&ok_basic())
                .method("PUT"),
            Expect::Refused("invalid_request", 405),
        ),
        row(
            "json_content_type_is_refused",
            Http::post(Form::client_credentials())
                .authorization(&ok_basic())
                .content_type(Some("application/json")),
            INVALID_REQUEST,
        ),
        row(
            "missing_content_type_is_refused",
            Http::post(Form::client_credentials())
                .authorization(&ok_basic())
                .content_type(None),
            INVALID_REQUEST,
        ),
        row(
            "repeated_scope_is_refused",
            Http::post(
                Form::client_credentials()
                    .with("scope", "read")
                    .with("scope", "write"),
            )
            .authorization(&ok_basic()),
            INVALID_REQUEST,
        ),
        row(
            "repeated_grant_type_is_refused",
            Http::post(Form::client_credentials().with("grant_type", "client_credentials"))
                .authorization(&ok_basic()),
            INVALID_REQUEST,
        ),
        row(
            "repeated_client_assertion_is_refused",
            Http::post(
                Form::client_credentials()
                    .assertion("a.b.c")
                    .with("client_assertion", "a.b.c"),
            ),
            INVALID_REQUEST,
        ),
        row(
            "malformed_percent_encoding_is_refused",
            Http::post(Form::new())
                .authorization(&ok_basic())
                .raw_body(b"grant_type=client_credentials&scope=%zz"),
            INVALID_REQUEST,
        ),
        row(
            "truncated_percent_encoding_is_refused",
            Http::post(Form::new())
                .authorization(&ok_basic())
                .raw_body(b"grant_type=client_credentials&scope=read%2"),
            INVALID_REQUEST,
        ),
        row(
            "percent_encoded_invalid_utf8_is_refused",
            Http::post(Form::new())
                .authorization(&ok_basic())
                .raw_body(b"grant_type=client_credentials&scope=%C3%28"),
            INVALID_REQUEST,
        ),
        row(
            "parameter_without_name_is_refused",
            Http::post(Form::new())
                .authorization(&ok_basic())
                .raw_body(b"grant_type=client_credentials&=read"),
            INVALID_REQUEST,
        ),
        row(
            "missing_grant_type_is_refused",
            Http::post(Form::new().with("scope", "read")).authorization(&ok_basic()),
            INVALID_REQUEST,
        ),
        row(
            "empty_grant_type_counts_as_missing",
            Http::post(Form::new().with("grant_type", "")).authorization(&ok_basic()),
            INVALID_REQUEST,
        ),
        row(
            "password_grant_is_unsupported",
            Http::post(
                Form::new()
                    .with("grant_type", "password")
                    .with("username", "u")
                    .with("password", "p"),
            )
            .authorization(&ok_basic()),
            Expect::Refused("unsupported_grant_type", 400),
        ),
        row(
            "authorization_code_grant_is_unsupported",
            Http::post(
                Form::new()
                    .with("grant_type", "authorization_code")
                    .with("code", "x"),
            )
            .authorization(&ok_basic()),
            Expect::Refused("unsupported_grant_type", 400),
        ),
        row(
            "basic_and_client_secret_in_body_are_two_methods",
            Http::post(
                Form::client_credentials()
                    .with("client_id", "basic-client")
                    .with("client_secret", BASIC_SECRET),
            )
            .authorization(&ok_basic()),
            INVALID_REQUEST,
        ),
        row(
            "basic_and_client_assertion_are_two_methods",
            Http::post(Form::client_credentials().assertion("a.b.c")).authorization(&ok_basic()),
            INVALID_REQUEST,
        ),
        row(
            "client_secret_and_client_assertion_are_two_methods",
            Http::post(
                Form::client_credentials()
                    .with("client_id", "post-client")
                    .with("client_secret", POST_SECRET)
                    .assertion("a.b.c"),
            ),
            INVALID_REQUEST,
        ),
        row(
            "basic_with_other_client_id_in_body_is_refused",
            Http::post(Form::client_credentials().with("client_id", "post-client"))
                .authorization(&ok_basic()),
            INVALID_REQUEST,
        ),
        row(
            "client_secret_without_client_id_is_refused",
            Http::post(Form::client_credentials().with("client_secret", POST_SECRET)),
            INVALID_REQUEST,
        ),
        row(
            "oversized_body_is_refused",
            Http::post(Form::client_credentials().with("scope", &"a".repeat(70 * 1024)))
                .authorization(&ok_basic()),
            INVALID_REQUEST,
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Client authentication with secrets (RFC 6749 §2.3.1)

#[test]
fn secret_authentication_failures_are_invalid_client() {
    let basic_form = Form::client_credentials;
    run(vec![
        row(
            "no_client_authentication_is_invalid_client",
            Http::post(Form::client_credentials()),
            INVALID_CLIENT,
        ),
        row(
            "client_id_alone_is_not_authentication",
            Http::post(Form::client_credentials().with("client_id", "post-client")),
            INVALID_CLIENT,
        ),
        row(
            "unknown_client_is_invalid_client",
            basic_request("nobody", BASIC_SECRET, basic_form()),
            INVALID_CLIENT,
        ),
        row(
            "unknown_client_with_post_is_invalid_client",
            Http::post(
                Form::client_credentials()
                    .with("client_id", "nobody")
                    .with("client_secret", POST_SECRET),
            ),
            INVALID_CLIENT,
        ),
        row(
            "wrong_basic_secret_is_invalid_client",
            basic_request("basic-client", "not-the-secret", basic_form()),
            INVALID_CLIENT,
        ),
        row(
            "empty_basic_secret_is_invalid_client",
            basic_request("basic-client", "", basic_form()),
            INVALID_CLIENT,
        ),
        row(
            "wrong_post_secret_is_invalid_client",
            Http::post(
                Form::client_credentials()
                    .with("client_id", "post-client")
                    .with("client_secret", BASIC_SECRET),
            ),
            INVALID_CLIENT,
        ),
        row(
            "malformed_basic_base64_is_invalid_client",
            Http::post(basic_form()).authorization("Basic !!!not-base64!!!"),
            INVALID_CLIENT,
        ),
        row(
            "basic_without_colon_is_invalid_client",
            Http::post(basic_form()).authorization(&format!(
                "Basic {}",
                gatepass_core::b64::encode_standard(b"basic-client")
            )),
            INVALID_CLIENT,
        ),
        row(
            "basic_with_empty_client_id_is_invalid_client",
            Http::post(basic_form()).authorization(&format!(
                "Basic {}",
                gatepass_core::b64::encode_standard(format!(":{BASIC_SECRET}").as_bytes())
            )),
            INVALID_CLIENT,
        ),
        row(
            "basic_credentials_not_form_encoded_are_refused_when_they_do_not_decode",
            Http::post(basic_form()).authorization(&format!(
                "Basic {}",
                gatepass_core::b64::encode_standard(
                    format!("{ODD_CLIENT_ID}:{ODD_SECRET}").as_bytes()
                )
            )),
            INVALID_CLIENT,
        ),
        row(
            "bearer_scheme_at_the_token_endpoint_is_invalid_client",
            Http::post(basic_form()).authorization("Bearer abc.def.ghi"),
            INVALID_CLIENT,
        ),
        row(
            "post_client_using_basic_is_invalid_client",
            basic_request("post-client", POST_SECRET, basic_form()),
            INVALID_CLIENT,
        ),
        row(
            "basic_client_using_post_is_invalid_client",
            Http::post(
                Form::client_credentials()
                    .with("client_id", "basic-client")
                    .with("client_secret", BASIC_SECRET),
            ),
            INVALID_CLIENT,
        ),
        row(
            "jwt_client_using_its_secret_with_basic_is_invalid_client",
            basic_request("jwt-client", JWT_SECRET, basic_form()),
            INVALID_CLIENT,
        ),
        row(
            "key_client_using_basic_is_invalid_client",
            basic_request("es256-client", "anything", basic_form()),
            INVALID_CLIENT,
        ),
        row(
            "expired_client_secret_is_invalid_client",
            basic_request("expired-client", BASIC_SECRET, basic_form()),
            INVALID_CLIENT,
        ),
        row(
            "client_id_is_compared_exactly",
            basic_request("Basic-Client", BASIC_SECRET, basic_form()),
            INVALID_CLIENT,
        ),
    ]);
}

#[test]
fn client_secret_that_expires_later_still_works() {
    let mut server = Server::new(server_config(|raw| {
        raw["clients"][9]["client_secret_expires_at"] = json!(NOW + 1);
    }));
    let ok = server.token(&basic_request(
        "expired-client",
        BASIC_SECRET,
        Form::client_credentials(),
    ));
    assert!(ok.is_ok(), "{ok:?}");
    server.now = NOW + 1;
    let e = server
        .token(&basic_request(
            "expired-client",
            BASIC_SECRET,
            Form::client_credentials(),
        ))
        .unwrap_err();
    assert_eq!((e.code.as_str(), e.status()), ("invalid_client", 401));
}

// ---------------------------------------------------------------------------------------------
// Grant decisions (RFC 6749 §4.4, §3.3; RFC 8707 §2)

#[test]
fn grant_decisions() {
    let req = |form: Form| basic_request("basic-client", BASIC_SECRET, form);
    run(vec![
        row(
            "scope_not_allowed_for_the_client_is_invalid_scope",
            req(Form::client_credentials().with("scope", "read admin")),
            Expect::Refused("invalid_scope", 400),
        ),
        row(
            "malformed_scope_with_a_quote_is_invalid_scope",
            req(Form::client_credentials().with("scope", "read \"write\"")),
            Expect::Refused("invalid_scope", 400),
        ),
        row(
            "scope_with_a_backslash_is_invalid_scope",
            req(Form::client_credentials().with("scope", "read\\write")),
            Expect::Refused("invalid_scope", 400),
        ),
        row(
            "scope_with_double_space_is_invalid_scope",
            req(Form::client_credentials().with("scope", "read  write")),
            Expect::Refused("invalid_scope", 400),
        ),
        row(
            "resource_not_allowed_for_the_client_is_invalid_target",
            req(Form::client_credentials().with("resource", "https://evil.example.com")),
            Expect::Refused("invalid_target", 400),
        ),
        row(
            "one_disallowed_resource_among_allowed_ones_is_invalid_target",
            req(Form::client_credentials()
                .with("resource", API)
                .with("resource", "https://evil.example.com")),
            Expect::Refused("invalid_target", 400),
        ),
        row(
            "resource_with_a_fragment_is_invalid_target",
            req(Form::client_credentials().with("resource", "https://api.example.com#frag")),
            Expect::Refused("invalid_target", 400),
        ),
        row(
            "relative_resource_is_invalid_target",
            req(Form::client_credentials().with("resource", "/api")),
            Expect::Refused("invalid_target", 400),
        ),
        row(
            "empty_scope_counts_as_absent",
            req(Form::client_credentials().with("scope", "")),
            Expect::Token,
        ),
    ]);
}

#[test]
fn client_not_allowed_the_client_credentials_grant_is_unauthorized_client() {
    // Configuration refuses grant types other than client_credentials, so a record from
    // another store (or an older configuration) is built directly.
    let base = Server::standard();
    let mut record = base.client("basic-client").unwrap();
    record.client_id = "no-cc-client".into();
    record.grant_types = vec!["urn:ietf:params:oauth:grant-type:jwt-bearer".into()];
    let mut empty = record.clone();
    empty.client_id = "no-grants-client".into();
    empty.grant_types = Vec::new();
    let mut server = Server::standard().with_client(record).with_client(empty);
    for id in ["no-cc-client", "no-grants-client"] {
        let http = basic_request(id, BASIC_SECRET, Form::client_credentials());
        let e = server.token(&http).unwrap_err();
        assert_eq!(e.code, TokenErrorCode::UnauthorizedClient, "{id}");
        assert_eq!(e.code.as_str(), "unauthorized_client", "{id}");
        assert_eq!(e.status(), 400, "{id}");
        let response = server.respond(&http);
        assert_eq!(response.status, 400, "{id}");
        assert_eq!(
            body(&response)["error"],
            json!("unauthorized_client"),
            "{id}"
        );
        assert_eq!(response.header("www-authenticate"), None, "{id}");
    }
}

#[test]
fn client_without_any_audience_is_invalid_target() {
    let base = Server::standard();
    let mut record = base.client("basic-client").unwrap();
    record.client_id = "no-audience-client".into();
    record.audiences = Vec::new();
    let mut server = Server::standard().with_client(record);
    let e = server
        .token(&basic_request(
            "no-audience-client",
            BASIC_SECRET,
            Form::client_credentials(),
        ))
        .unwrap_err();
    assert_eq!((e.code.as_str(), e.status()), ("invalid_target", 400));
}

// ---------------------------------------------------------------------------------------------
// Client assertions: form, audience, time, jti (RFC 7523 §3, draft-ietf-oauth-rfc7523bis)

#[test]
fn assertion_claim_rules() {
    let k = keys();
    run(vec![
        row(
            "conforming_es256_assertion_is_accepted",
            es256_assertion(|j| j),
            Expect::Token,
        ),
        row(
            "assertion_type_with_another_value_is_rejected",
            Http::post(
                Form::client_credentials()
                    .with(
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                    )
                    .with(
                        "client_assertion",
                        &Jwt::assertion_for("es256-client", &k.es256_client).sign(&k.es256_client),
                    ),
            ),
            INVALID_CLIENT,
        ),
        row(
            "assertion_without_assertion_type_is_a_malformed_request",
            Http::post(Form::client_credentials().with(
                "client_assertion",
                &Jwt::assertion_for("es256-client", &k.es256_client).sign(&k.es256_client),
            )),
            INVALID_REQUEST,
        ),
        row(
            "assertion_type_without_assertion_is_a_malformed_request",
            Http::post(
                Form::client_credentials().with(
                    "client_assertion_type",
                    gatepass_core::request::JWT_BEARER_ASSERTION_TYPE,
                ),
            ),
            INVALID_REQUEST,
        ),
        row(
            "assertion_that_is_not_a_jws_is_rejected",
            assertion_request("not-a-jwt"),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_token_endpoint_as_audience_is_rejected",
            es256_assertion(|j| j.claim("aud", json!(TOKEN_ENDPOINT))),
            INVALID_CLIENT,
        ),
        row_with(
            "assertion_with_token_endpoint_as_audience_is_accepted_with_the_legacy_switch",
            legacy_audience,
            es256_assertion(|j| j.claim("aud", json!(TOKEN_ENDPOINT))),
            Expect::Token,
        ),
        row(
            "assertion_with_a_one_element_audience_array_is_rejected",
            es256_assertion(|j| j.claim("aud", json!([ISSUER]))),
            INVALID_CLIENT,
        ),
        row_with(
            "assertion_with_a_one_element_audience_array_is_accepted_with_the_legacy_switch",
            legacy_audience,
            es256_assertion(|j| j.claim("aud", json!([ISSUER]))),
            Expect::Token,
        ),
        row(
            "assertion_for_another_server_is_rejected",
            es256_assertion(|j| j.claim("aud", json!("https://other-as.example.com"))),
            INVALID_CLIENT,
        ),
        row_with(
            "assertion_for_another_server_is_rejected_even_with_the_legacy_switch",
            legacy_audience,
            es256_assertion(|j| j.claim("aud", json!(["https://other-as.example.com"]))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_issuer_plus_trailing_slash_as_audience_is_rejected",
            es256_assertion(|j| j.claim("aud", json!(format!("{ISSUER}/")))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_without_audience_is_rejected",
            es256_assertion(|j| j.without_claim("aud")),
            INVALID_CLIENT,
        ),
        row(
            "assertion_whose_iss_is_not_the_client_id_is_rejected",
            es256_assertion(|j| j.claim("iss", json!("eddsa-client"))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_without_iss_is_rejected",
            es256_assertion(|j| j.without_claim("iss")),
            INVALID_CLIENT,
        ),
        row(
            "assertion_whose_sub_names_another_client_is_rejected",
            es256_assertion(|j| j.claim("sub", json!("eddsa-client"))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_whose_sub_names_an_unknown_client_is_rejected",
            es256_assertion(|j| j.claim("sub", json!("nobody"))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_without_sub_is_rejected",
            es256_assertion(|j| j.without_claim("sub")),
            INVALID_CLIENT,
        ),
        row(
            "assertion_without_exp_is_rejected",
            es256_assertion(|j| j.without_claim("exp")),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_exp_as_a_string_is_rejected",
            es256_assertion(|j| j.claim("exp", json!((NOW + 120).to_string()))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_a_fractional_exp_is_rejected",
            es256_assertion(|j| j.claim("exp", json!(NOW as f64 + 120.5))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_expired_beyond_the_skew_is_rejected",
            es256_assertion(|j| j.claim("iat", json!(NOW - 120)).claim("exp", json!(NOW - 61))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_expired_exactly_the_skew_ago_is_rejected",
            es256_assertion(|j| j.claim("iat", json!(NOW - 120)).claim("exp", json!(NOW - 60))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_expired_less_than_the_skew_ago_is_accepted",
            es256_assertion(|j| j.claim("iat", json!(NOW - 120)).claim("exp", json!(NOW - 59))),
            Expect::Token,
        ),
        row(
            "assertion_lifetime_over_3600s_is_rejected",
            es256_assertion(|j| j.claim("iat", json!(NOW)).claim("exp", json!(NOW + 3601))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_lifetime_of_exactly_3600s_is_accepted",
            es256_assertion(|j| j.claim("iat", json!(NOW)).claim("exp", json!(NOW + 3600))),
            Expect::Token,
        ),
        row(
            "assertion_without_iat_is_bounded_from_now",
            es256_assertion(|j| j.without_claim("iat").claim("exp", json!(NOW + 3601))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_without_iat_within_the_bound_is_accepted",
            es256_assertion(|j| j.without_claim("iat").claim("exp", json!(NOW + 3600))),
            Expect::Token,
        ),
        row_with(
            "custom_assertion_max_lifetime_refuses_one_second_more",
            assertion_lifetime_60s,
            es256_assertion(|j| j.claim("iat", json!(NOW)).claim("exp", json!(NOW + 61))),
            INVALID_CLIENT,
        ),
        row_with(
            "custom_assertion_max_lifetime_accepts_its_bound",
            assertion_lifetime_60s,
            es256_assertion(|j| j.claim("iat", json!(NOW)).claim("exp", json!(NOW + 60))),
            Expect::Token,
        ),
        row_with(
            "custom_assertion_max_lifetime_of_600s_refuses_a_3600s_assertion",
            assertion_lifetime_600s,
            es256_assertion(|j| j.claim("iat", json!(NOW)).claim("exp", json!(NOW + 3600))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_lifetime_of_600s_as_msal_signs_is_accepted",
            es256_assertion(|j| j.claim("iat", json!(NOW)).claim("exp", json!(NOW + 600))),
            Expect::Token,
        ),
        row(
            "assertion_with_exp_a_century_ahead_is_rejected",
            es256_assertion(|j| {
                j.claim("iat", json!(NOW))
                    .claim("exp", json!(NOW + 100 * 365 * 86_400))
            }),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_the_largest_integer_as_exp_and_no_iat_is_rejected",
            es256_assertion(|j| j.without_claim("iat").claim("exp", json!(u64::MAX))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_nbf_beyond_the_skew_is_rejected",
            es256_assertion(|j| j.claim("nbf", json!(NOW + 61))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_nbf_within_the_skew_is_accepted",
            es256_assertion(|j| j.claim("nbf", json!(NOW + 60))),
            Expect::Token,
        ),
        row(
            "assertion_issued_in_the_future_beyond_the_skew_is_rejected",
            es256_assertion(|j| j.claim("iat", json!(NOW + 61)).claim("exp", json!(NOW + 120))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_issued_in_the_future_within_the_skew_is_accepted",
            es256_assertion(|j| j.claim("iat", json!(NOW + 60)).claim("exp", json!(NOW + 120))),
            Expect::Token,
        ),
        row(
            "assertion_without_jti_is_rejected",
            es256_assertion(|j| j.without_claim("jti")),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_empty_jti_is_rejected",
            es256_assertion(|j| j.claim("jti", json!(""))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_numeric_jti_is_rejected",
            es256_assertion(|j| j.claim("jti", json!(12345))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_a_257_byte_jti_is_rejected",
            es256_assertion(|j| j.claim("jti", json!("j".repeat(257)))),
            INVALID_CLIENT,
        ),
        row(
            "assertion_with_duplicate_claim_is_rejected",
            assertion_request(&raw_jws(
                br#"{"alg":"ES256","kid":"es256-client-key"}"#,
                format!(
                    r#"{{"iss":"es256-client","sub":"es256-client","aud":"{ISSUER}","exp":{},"jti":"dup-1","aud":"{TOKEN_ENDPOINT}"}}"#,
                    NOW + 60
                )
                .as_bytes(),
                &k.es256_client,
            )),
            INVALID_CLIENT,
        ),
        row(
            "client_id_parameter_that_differs_from_the_assertion_sub_is_rejected",
            Http::post(
                Form::client_credentials()
                    .with("client_id", "eddsa-client")
                    .assertion(
                        &Jwt::assertion_for("es256-client", &k.es256_client)
                            .sign(&k.es256_client),
                    ),
            ),
            INVALID_CLIENT,
        ),
        row(
            "client_id_parameter_equal_to_the_assertion_sub_is_accepted",
            Http::post(
                Form::client_credentials()
                    .with("client_id", "es256-client")
                    .assertion(
                        &Jwt::assertion_for("es256-client", &k.es256_client)
                            .sign(&k.es256_client),
                    ),
            ),
            Expect::Token,
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Client assertions: header, algorithm and key (RFC 7515, RFC 8725 §2.1/§3.1, rfc7523bis §4)

#[test]
fn assertion_header_algorithm_and_key_rules() {
    let k = keys();
    let es = |edit: fn(Jwt) -> Jwt| es256_assertion(edit);
    let es_public_jwk = public_json(&k.es256_client).to_string();
    let rs_public_jwk = {
        let mut v = public_json(&k.rs256_client);
        v.as_object_mut().unwrap().remove("alg");
        v.to_string()
    };
    let ed_x = gatepass_core::b64::decode_url(public_json(&k.eddsa_client)["x"].as_str().unwrap())
        .unwrap();
    let rs_n = gatepass_core::b64::decode_url(public_json(&k.rs256_client)["n"].as_str().unwrap())
        .unwrap();
    let hs256 = |client: &str, kid: Option<&str>, secret: &[u8]| {
        assertion_request(
            &Jwt::assertion(client, Algorithm::HS256, kid).hmac(Algorithm::HS256, secret),
        )
    };
    run(vec![
        // alg pinned by registration (token_endpoint_auth_signing_alg)
        row(
            "assertion_with_the_registered_alg_is_accepted",
            assertion_request(
                &Jwt::assertion_for("pinned-client", &k.pinned_es).sign(&k.pinned_es),
            ),
            Expect::Token,
        ),
        row(
            "assertion_with_another_alg_than_the_registered_one_is_rejected",
            assertion_request(
                &Jwt::assertion_for("pinned-client", &k.pinned_ed).sign(&k.pinned_ed),
            ),
            INVALID_CLIENT,
        ),
        row(
            "hs512_assertion_for_a_client_registered_for_hs256_is_rejected",
            assertion_request(
                &Jwt::assertion("jwt-client", Algorithm::HS512, None)
                    .hmac(Algorithm::HS512, JWT_SECRET.as_bytes()),
            ),
            INVALID_CLIENT,
        ),
        row(
            "hs256_assertion_with_the_wrong_secret_is_rejected",
            hs256("jwt-client", None, BASIC_SECRET.as_bytes()),
            INVALID_CLIENT,
        ),
        row(
            "hs256_assertion_for_a_private_key_jwt_client_is_rejected",
            hs256(
                "es256-client",
                Some("es256-client-key"),
                JWT_SECRET.as_bytes(),
            ),
            INVALID_CLIENT,
        ),
        row(
            "hs256_keyed_with_the_clients_public_jwk_text_is_rejected",
            hs256(
                "es256-client",
                Some("es256-client-key"),
                es_public_jwk.as_bytes(),
            ),
            INVALID_CLIENT,
        ),
        row(
            "hs256_keyed_with_the_clients_ed25519_public_key_is_rejected",
            hs256("eddsa-client", Some("eddsa-client-key"), &ed_x),
            INVALID_CLIENT,
        ),
        row(
            "hs256_keyed_with_the_clients_rsa_modulus_is_rejected",
            hs256("rs256-client", None, &rs_n),
            INVALID_CLIENT,
        ),
        row(
            "hs256_keyed_with_the_clients_rsa_public_jwk_text_is_rejected",
            hs256("rs256-client", None, rs_public_jwk.as_bytes()),
            INVALID_CLIENT,
        ),
        row(
            "hs256_assertion_for_a_client_secret_basic_client_keyed_by_its_secret_is_rejected",
            hs256("basic-client", None, BASIC_SECRET.as_bytes()),
            INVALID_CLIENT,
        ),
        row(
            "rs256_assertion_for_a_client_secret_jwt_client_is_rejected",
            assertion_request(
                &Jwt::assertion("jwt-client", Algorithm::RS256, Some("attacker-rsa"))
                    .sign(&k.attacker_rsa),
            ),
            INVALID_CLIENT,
        ),
        row(
            "es256_assertion_for_an_rsa_client_is_rejected",
            assertion_request(
                &Jwt::assertion("rs256-client", Algorithm::ES256, None).sign(&k.attacker_es256),
            ),
            INVALID_CLIENT,
        ),
        // keys
        row(
            "assertion_signed_by_an_unregistered_key_with_its_own_kid_is_rejected",
            assertion_request(
                &Jwt::assertion("es256-client", Algorithm::ES256, Some("attacker-es"))
                    .sign(&k.attacker_es256),
            ),
            INVALID_CLIENT,
        ),
        row(
            "assertion_signed_by_an_unregistered_key_under_the_clients_kid_is_rejected",
            assertion_request(
                &Jwt::assertion("es256-client", Algorithm::ES256, Some("es256-client-key"))
                    .sign(&k.attacker_es256),
            ),
            INVALID_CLIENT,
        ),
        row(
            "assertion_signed_by_another_clients_key_is_rejected",
            assertion_request(
                &Jwt::assertion("eddsa-client", Algorithm::EdDSA, Some("eddsa-client-key"))
                    .sign(&k.attacker_eddsa),
            ),
            INVALID_CLIENT,
        ),
        row(
            "assertion_for_one_client_signed_with_another_registered_clients_key_is_rejected",
            assertion_request(
                &Jwt::assertion("eddsa-client", Algorithm::EdDSA, Some("pinned-ed"))
                    .sign(&k.pinned_ed),
            ),
            INVALID_CLIENT,
        ),
        row(
            "assertion_without_kid_uses_the_single_registered_key",
            es(|j| j.without_header("kid")),
            Expect::Token,
        ),
        row(
            "embedded_jwk_header_is_ignored_and_the_attackers_signature_refused",
            assertion_request(
                &Jwt::assertion("es256-client", Algorithm::ES256, None)
                    .header("jwk", public_json(&keys().attacker_es256))
                    .sign(&k.attacker_es256),
            ),
            INVALID_CLIENT,
        ),
        row(
            "jku_and_x5u_headers_are_ignored",
            assertion_request(
                &Jwt::assertion("es256-client", Algorithm::ES256, None)
                    .header("jku", json!("https://attacker.example/jwks"))
                    .header("x5u", json!("https://attacker.example/cert"))
                    .sign(&k.attacker_es256),
            ),
            INVALID_CLIENT,
        ),
        row(
            "tampered_assertion_signature_is_rejected",
            {
                let token =
                    Jwt::assertion_for("eddsa-client", &k.eddsa_client).sign(&k.eddsa_client);
                let (input, sig) = token.rsplit_once('.').unwrap();
                let mut bytes = gatepass_core::b64::decode_url(sig).unwrap();
                bytes[0] ^= 1;
                assertion_request(&format!(
                    "{input}.{}",
                    gatepass_core::b64::encode_url(&bytes)
                ))
            },
            INVALID_CLIENT,
        ),
        // alg none, crit
        row(
            "alg_none_with_empty_signature_is_rejected",
            assertion_request(&format!(
                "{}.",
                Jwt::assertion("es256-client", Algorithm::ES256, None)
                    .header("alg", json!("none"))
                    .signing_input()
            )),
            INVALID_CLIENT,
        ),
        row(
            "alg_none_with_a_signature_is_rejected",
            assertion_request(
                &Jwt::assertion("es256-client", Algorithm::ES256, None)
                    .header("alg", json!("none"))
                    .with_signature(b"sig"),
            ),
            INVALID_CLIENT,
        ),
        row(
            "crit_header_is_rejected",
            es(|j| j.header("crit", json!(["exp"])).header("exp", json!(NOW))),
            INVALID_CLIENT,
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// typ of client assertions (draft-ietf-oauth-rfc7523bis §4, RFC 8725 §3.11)

fn explicit_assertion_typ(raw: &mut Value) {
    raw["require_explicit_assertion_typ"] = json!(true);
}

/// An assertion from `es256-client` with this `typ` (`None`: no `typ` member).
fn es256_typed(typ: Option<&str>) -> Http {
    es256_assertion(|j| match typ {
        Some(t) => j.header("typ", json!(t)),
        None => j.without_header("typ"),
    })
}

/// A `client_secret_jwt` assertion from `jwt-client` with this `typ`.
fn hs256_typed(typ: Option<&str>) -> Http {
    let jwt = Jwt::assertion("jwt-client", Algorithm::HS256, None);
    let jwt = match typ {
        Some(t) => jwt.header("typ", json!(t)),
        None => jwt.without_header("typ"),
    };
    assertion_request(&jwt.hmac(Algorithm::HS256, JWT_SECRET.as_bytes()))
}

const TYP_REFUSED: Expect = Expect::RefusedSaying("invalid_client", 401, "typ");

#[test]
fn assertion_typ_rules() {
    // Accepted on default settings: no typ, the generic JWT (what Authlib, MSAL and most
    // libraries send) and the explicit client-authentication+jwt, compared as media types.
    let accepted = [
        ("typ_absent_is_accepted", None),
        ("typ_JWT_is_accepted", Some("JWT")),
        ("typ_jwt_in_lower_case_is_accepted", Some("jwt")),
        ("typ_application_JWT_is_accepted", Some("application/JWT")),
        (
            "typ_client_authentication_jwt_is_accepted",
            Some("client-authentication+jwt"),
        ),
        (
            "typ_application_client_authentication_jwt_is_accepted",
            Some("application/client-authentication+jwt"),
        ),
        (
            "typ_client_authentication_jwt_in_upper_case_is_accepted",
            Some("CLIENT-AUTHENTICATION+JWT"),
        ),
    ];
    // Refused everywhere: any other explicit type says the JWT was made for something else
    // (an access token, a DPoP proof, a security event), so it is no assertion; an empty typ is
    // not a media type.
    let refused = [
        ("typ_at_jwt_is_rejected", Some("at+jwt")),
        (
            "typ_application_at_jwt_is_rejected",
            Some("application/at+jwt"),
        ),
        ("typ_dpop_jwt_is_rejected", Some("dpop+jwt")),
        ("typ_secevent_jwt_is_rejected", Some("secevent+jwt")),
        ("typ_JOSE_is_rejected", Some("JOSE")),
        ("typ_empty_is_rejected", Some("")),
        (
            "typ_application_prefix_alone_is_rejected",
            Some("application/"),
        ),
        (
            "typ_JWT_with_a_parameter_is_rejected",
            Some("JWT; charset=utf-8"),
        ),
        (
            "typ_client_authentication_jwt_with_a_suffix_is_rejected",
            Some("client-authentication+jwt+x"),
        ),
    ];
    let mut rows = Vec::new();
    for (name, typ) in accepted {
        rows.push(row(name, es256_typed(typ), Expect::Token));
    }
    for (name, typ) in refused {
        rows.push(row(name, es256_typed(typ), TYP_REFUSED));
    }
    rows.extend([
        row(
            "typ_that_is_not_a_string_is_rejected",
            es256_assertion(|j| j.header("typ", json!(1))),
            INVALID_CLIENT,
        ),
        // client_secret_jwt follows the same rule.
        row(
            "client_secret_jwt_typ_JWT_is_accepted",
            hs256_typed(Some("JWT")),
            Expect::Token,
        ),
        row(
            "client_secret_jwt_typ_absent_is_accepted",
            hs256_typed(None),
            Expect::Token,
        ),
        row(
            "client_secret_jwt_typ_at_jwt_is_rejected",
            hs256_typed(Some("at+jwt")),
            TYP_REFUSED,
        ),
        // require_explicit_assertion_typ: client-authentication+jwt only.
        row_with(
            "explicit_typ_server_accepts_client_authentication_jwt",
            explicit_assertion_typ,
            es256_typed(Some("client-authentication+jwt")),
            Expect::Token,
        ),
        row_with(
            "explicit_typ_server_accepts_application_client_authentication_jwt",
            explicit_assertion_typ,
            es256_typed(Some("Application/Client-Authentication+JWT")),
            Expect::Token,
        ),
        row_with(
            "explicit_typ_server_rejects_typ_JWT",
            explicit_assertion_typ,
            es256_typed(Some("JWT")),
            TYP_REFUSED,
        ),
        row_with(
            "explicit_typ_server_rejects_an_absent_typ",
            explicit_assertion_typ,
            es256_typed(None),
            TYP_REFUSED,
        ),
        row_with(
            "explicit_typ_server_rejects_typ_at_jwt",
            explicit_assertion_typ,
            es256_typed(Some("at+jwt")),
            TYP_REFUSED,
        ),
        row_with(
            "explicit_typ_server_rejects_a_client_secret_jwt_typed_JWT",
            explicit_assertion_typ,
            hs256_typed(Some("JWT")),
            TYP_REFUSED,
        ),
    ]);
    run(rows);
}

// ---------------------------------------------------------------------------------------------
// Single use of jti (RFC 7523 §3 item 7, OpenID Connect Core §9)

#[test]
fn replayed_assertion_is_rejected_as_already_used() {
    let k = keys();
    let mut server = Server::standard();
    let http = assertion_request(
        &Jwt::assertion_for("es256-client", &k.es256_client).sign(&k.es256_client),
    );
    assert!(server.token(&http).is_ok());
    let e = server.token(&http).unwrap_err();
    assert_eq!((e.code.as_str(), e.status()), ("invalid_client", 401));
    assert!(e.description.contains("already used"), "{e}");
    let response = server.respond(&http);
    assert_eq!(response.status, 401);
    assert_eq!(body(&response)["error"], json!("invalid_client"));
}

#[test]
fn replayed_client_secret_jwt_assertion_is_rejected() {
    let mut server = Server::standard();
    let http = assertion_request(
        &Jwt::assertion("jwt-client", Algorithm::HS256, None)
            .hmac(Algorithm::HS256, JWT_SECRET.as_bytes()),
    );
    assert!(server.token(&http).is_ok());
    let e = server.token(&http).unwrap_err();
    assert_eq!((e.code.as_str(), e.status()), ("invalid_client", 401));
}

#[test]
fn same_jti_for_two_clients_is_not_a_replay() {
    let k = keys();
    let mut server = Server::standard();
    let a = Jwt::assertion_for("es256-client", &k.es256_client)
        .claim("jti", json!("shared-jti"))
        .sign(&k.es256_client);
    let b = Jwt::assertion_for("eddsa-client", &k.eddsa_client)
        .claim("jti", json!("shared-jti"))
        .sign(&k.eddsa_client);
    assert!(server.token(&assertion_request(&a)).is_ok());
    let second = server.token(&assertion_request(&b));
    assert!(second.is_ok(), "{second:?}");
    assert_eq!(server.replay.len(), 2);
}

#[test]
fn refused_assertion_does_not_consume_its_jti() {
    let k = keys();
    let mut server = Server::standard();
    // Signed by the wrong key: refused before the replay step.
    let forged = Jwt::assertion_for("es256-client", &k.es256_client)
        .claim("jti", json!("not-burnt"))
        .sign(&k.attacker_es256);
    assert!(server.token(&assertion_request(&forged)).is_err());
    assert_eq!(server.replay.len(), 0);
    let genuine = Jwt::assertion_for("es256-client", &k.es256_client)
        .claim("jti", json!("not-burnt"))
        .sign(&k.es256_client);
    assert!(server.token(&assertion_request(&genuine)).is_ok());
}

#[test]
fn pending_assertion_exposes_the_replay_key_and_how_long_to_keep_it() {
    use gatepass_core::client_auth::{authenticate, Authentication};
    use gatepass_core::request::parse_token_request;
    let k = keys();
    let server = Server::standard();
    let make = |client: &str, key: &gatepass_core::jwk::SigningJwk| {
        let http = assertion_request(
            &Jwt::assertion_for(client, key)
                .claim("jti", json!("jti-x"))
                .claim("exp", json!(NOW + 100))
                .sign(key),
        );
        let request = parse_token_request(&http.as_request()).unwrap();
        let record = server.client(client);
        match authenticate(&request, record.as_ref(), &server.config.assertion, NOW).unwrap() {
            Authentication::PendingReplayCheck(p) => p,
            Authentication::Authenticated(_) => panic!("an assertion needs the replay check"),
        }
    };
    let a = make("es256-client", &k.es256_client);
    let a_again = make("es256-client", &k.es256_client);
    let b = make("eddsa-client", &k.eddsa_client);
    assert_eq!(a.jti(), "jti-x");
    // Kept until exp plus the skew, after which the assertion is refused as expired anyway.
    assert_eq!(a.replay_expires_at(), NOW + 100 + 60);
    assert_eq!(a.replay_key(), a_again.replay_key());
    assert_ne!(a.replay_key(), b.replay_key());
    // Fixed length whatever the jti (base64url of SHA-256).
    assert_eq!(a.replay_key().len(), 43);
    let e = a
        .finish(gatepass_core::client_auth::ReplayOutcome::AlreadySeen)
        .unwrap_err();
    assert_eq!((e.code.as_str(), e.status()), ("invalid_client", 401));
    let client = a_again
        .finish(gatepass_core::client_auth::ReplayOutcome::Recorded)
        .unwrap();
    assert_eq!(client.client_id(), "es256-client");
    assert_eq!(
        client.method(),
        gatepass_core::client_auth::AuthMethod::PrivateKeyJwt
    );
}

// ---------------------------------------------------------------------------------------------
// Signing keys and the host signing path

#[test]
fn every_signing_key_type_mints_tokens_the_resource_server_accepts() {
    let keys = [
        generated_key(Algorithm::EdDSA, "mint-ed", 21),
        generated_key(Algorithm::ES256, "mint-es256", 22),
        generated_key(Algorithm::ES384, "mint-es384", 23),
        generated_key(Algorithm::ES512, "mint-es512", 24),
        rsa_key("server-rs256", Algorithm::RS256, "mint-rs256"),
        rsa_key("server-ps256", Algorithm::PS256, "mint-ps256"),
    ];
    for key in &keys {
        let mut server = Server::new(server_config(|raw| {
            raw["signing_keys"] = json!([key.to_private_json(), keys[0].to_private_json()]);
            raw["active_kid"] = json!(key.kid);
            if key.kid == keys[0].kid {
                raw["signing_keys"] = json!([key.to_private_json()]);
            }
        }));
        let issued = server
            .token(&Http::post(
                Form::client_credentials()
                    .with("client_id", "post-client")
                    .with("client_secret", POST_SECRET),
            ))
            .unwrap_or_else(|e| panic!("{}: {e}", key.alg));
        let (header, _) = decode_parts(&issued.access_token);
        assert_eq!(header["alg"], json!(key.alg.name()));
        assert_eq!(header["kid"], json!(key.kid));
        let verified = verify::verify_access_token(
            &issued.access_token,
            &api_policy(),
            &server.config.signing_keys.verification_set(),
            NOW,
        );
        assert!(verified.is_ok(), "{}: {verified:?}", key.alg);
    }
}

#[test]
fn host_signature_assembles_the_same_token_as_the_built_in_signer() {
    use gatepass_core::{crypto, grant, mint};
    let server = Server::standard();
    let client = {
        let http = basic_request("basic-client", BASIC_SECRET, Form::client_credentials());
        let request = gatepass_core::request::parse_token_request(&http.as_request()).unwrap();
        let record = server.client("basic-client");
        let auth = gatepass_core::client_auth::authenticate(
            &request,
            record.as_ref(),
            &server.config.assertion,
            NOW,
        )
        .unwrap();
        let gatepass_core::client_auth::Authentication::Authenticated(client) = auth else {
            panic!("a secret authenticates at once");
        };
        grant::authorize(&client, &request, false).unwrap()
    };
    let prepare = || {
        mint::prepare(
            &client,
            &server.config.signing_keys,
            &server.config.mint,
            NOW,
            [7u8; 16],
        )
        .unwrap()
    };
    // EdDSA is deterministic: the host's signature over the signing input gives the same token.
    let pending = prepare();
    assert_eq!(pending.alg(), Algorithm::EdDSA);
    assert_eq!(pending.key().kid, keys().server.kid);
    let signature = crypto::sign(
        pending.alg(),
        &pending.key().key,
        pending.signing_input(),
        &mut rng(1),
    )
    .unwrap();
    let by_host = pending.finish(&signature).unwrap();
    let built_in = prepare().sign_builtin(&mut rng(1)).unwrap();
    assert_eq!(by_host, built_in);
    // A signature of the wrong length is refused, not assembled: a server fault (500).
    let e = prepare().finish(&signature[..63]).unwrap_err();
    assert_eq!(e.code.as_str(), "server_error");
    assert_eq!(e.status(), 500);
    assert!(prepare().finish(&[]).is_err());
}

// ---------------------------------------------------------------------------------------------
// What the token endpoint reveals

/// DESIGN principle 4: "Responses carry the code and a short description; the detail goes to
/// logs." A caller without credentials must not learn from the response whether a client id
/// exists or whether its secret has expired (registration already answers an unknown client
/// and a wrong token identically, RFC 7592 §2.1).
#[test]
fn client_existence_is_not_revealed_by_the_token_endpoint() {
    let mut server = Server::standard();
    let answers: Vec<(&str, Value)> = [
        (
            "unknown client",
            basic_request("nobody", "guess", Form::client_credentials()),
        ),
        (
            "wrong secret",
            basic_request("basic-client", "guess", Form::client_credentials()),
        ),
        (
            "expired client, wrong secret",
            basic_request("expired-client", "guess", Form::client_credentials()),
        ),
    ]
    .into_iter()
    .map(|(name, http)| (name, Value::Object(body(&server.respond(&http)))))
    .collect();
    let mut failures = Failures::default();
    for (name, answer) in &answers[1..] {
        failures.check(name, answer == &answers[0].1, || {
            format!(
                "answers {answer} but an unknown client gets {}",
                answers[0].1
            )
        });
    }
    failures.assert_none();
}
