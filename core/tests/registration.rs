//! Dynamic client registration (RFC 7591) and client configuration management (RFC 7592):
//! what a registration answers, what the client store keeps, that the registered client can
//! then get a token, and every refusal with its RFC 7591 §3.2.2 code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use gatepass_core::client_auth::{AuthMethod, ClientCredential, ClientRecord};
use gatepass_core::config::ServerConfig;
use gatepass_core::crypto::Algorithm;
use gatepass_core::limits::*;
use gatepass_core::registration::{self, ClientAccess, InitialAccess, Registered};
use gatepass_core::response::HttpResponse;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};

const INITIAL_ACCESS_TOKEN: &str = "initial-access-token-0123456789abcdefghijk";
const REGISTRATION_ENDPOINT: &str = "https://as.example.com/oauth/register";

fn with_registration(raw: &mut Value) {
    raw["registration"] = json!({ "allowed_scope": "read write admin", "default_scope": "read", "open_registration": true });
}

fn config() -> ServerConfig {
    server_config(with_registration)
}

/// Access to open registration: the configuration's policy with no initial access token.
fn open(config: &ServerConfig) -> InitialAccess<'_> {
    let policy = config
        .registration
        .as_ref()
        .expect("registration is not enabled in this configuration");
    registration::check_initial_access(policy, None).unwrap_or_else(|e| {
        panic!("registration is not open: an initial access token is configured ({e})")
    })
}

/// Registers with a fresh RNG seed each time, so every client gets its own identifiers.
fn register(body: &Value, config: &ServerConfig) -> Registered {
    static SEED: AtomicU64 = AtomicU64::new(1000);
    let seed = SEED.fetch_add(1, Ordering::Relaxed);
    registration::register(
        open(config),
        body.to_string().as_bytes(),
        config,
        NOW,
        &mut rng(seed),
    )
    .unwrap_or_else(|e| panic!("registration of {body} refused: {e}"))
}

fn text<'a>(map: &'a Map<String, Value>, name: &str) -> &'a str {
    map.get(name)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{name} is not a string in {map:?}"))
}

fn check_no_store_json(response: &HttpResponse, status: u16) {
    assert_eq!(response.status, status);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

/// What the client store keeps, read back as the host reads it (`ServerConfig::stored_client`).
fn round_trip(record: &ClientRecord, config: &ServerConfig) -> ClientRecord {
    let stored = record.to_json();
    let restored = config
        .stored_client(&stored)
        .unwrap_or_else(|| panic!("stored record {stored} does not load"));
    assert_eq!(restored.to_json(), stored, "the stored form is stable");
    restored
}

/// A token request for a registered client, by its method.
fn token_request(method: AuthMethod, client_id: &str, secret: Option<&str>) -> Http {
    match method {
        AuthMethod::ClientSecretBasic => {
            Http::post(Form::client_credentials()).authorization(&basic(client_id, secret.unwrap()))
        }
        AuthMethod::ClientSecretPost => Http::post(
            Form::client_credentials()
                .with("client_id", client_id)
                .with("client_secret", secret.unwrap()),
        ),
        AuthMethod::ClientSecretJwt => Http::post(
            Form::client_credentials().assertion(
                &Jwt::assertion(client_id, Algorithm::HS256, None)
                    .hmac(Algorithm::HS256, secret.unwrap().as_bytes()),
            ),
        ),
        AuthMethod::PrivateKeyJwt => {
            let key = &keys().es256_client;
            Http::post(
                Form::client_credentials().assertion(&Jwt::assertion_for(client_id, key).sign(key)),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 7591 §3.1, §3.2.1

#[test]
fn every_auth_method_registers_and_the_client_gets_a_token() {
    let cases: Vec<(&str, Value, AuthMethod, &str)> = vec![
        (
            "client_secret_basic_by_default",
            json!({ "client_name": "Reporting job", "scope": "read write" }),
            AuthMethod::ClientSecretBasic,
            "read write",
        ),
        (
            "client_secret_post",
            json!({ "token_endpoint_auth_method": "client_secret_post" }),
            AuthMethod::ClientSecretPost,
            "read",
        ),
        (
            "client_secret_jwt",
            json!({
                "token_endpoint_auth_method": "client_secret_jwt",
                "token_endpoint_auth_signing_alg": "HS256",
                "grant_types": ["client_credentials"],
            }),
            AuthMethod::ClientSecretJwt,
            "read",
        ),
        (
            "private_key_jwt",
            json!({
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": "ES256",
                "jwks": jwks(&[&keys().es256_client]),
                "scope": "admin",
                "contacts": ["ops@example.com"],
                "response_types": [],
                "redirect_uris": [],
            }),
            AuthMethod::PrivateKeyJwt,
            "admin",
        ),
    ];
    let config = config();
    for (name, request, method, scope) in cases {
        let registered = register(&request, &config);
        let response = &registered.response;
        check_no_store_json(response, 201);
        let b = body(response);
        let client_id = text(&b, "client_id");
        assert_eq!(client_id, registered.record.client_id, "{name}");
        assert!(client_id.len() >= 16, "{name}: client_id {client_id}");
        assert_eq!(b["client_id_issued_at"], json!(NOW), "{name}");
        assert_eq!(
            b["token_endpoint_auth_method"],
            json!(method.name()),
            "{name}"
        );
        assert_eq!(b["grant_types"], json!(["client_credentials"]), "{name}");
        assert_eq!(b["scope"], json!(scope), "{name}");
        assert_eq!(
            text(&b, "registration_client_uri"),
            format!("{REGISTRATION_ENDPOINT}/{client_id}"),
            "{name}"
        );
        let registration_access_token = text(&b, "registration_access_token");
        assert_eq!(
            registration_access_token.len(),
            43,
            "{name}: 256-bit base64url"
        );
        let secret = b.get("client_secret").and_then(Value::as_str);
        if method == AuthMethod::PrivateKeyJwt {
            assert_eq!(secret, None, "{name}: no secret for private_key_jwt");
            assert_eq!(b["jwks"], jwks(&[&keys().es256_client]), "{name}");
            assert_eq!(
                b["token_endpoint_auth_signing_alg"],
                json!("ES256"),
                "{name}"
            );
            assert_eq!(b["contacts"], json!(["ops@example.com"]), "{name}");
        } else {
            let s = secret.unwrap_or_else(|| panic!("{name}: no client_secret"));
            if method == AuthMethod::ClientSecretJwt {
                // The secret is the HMAC key: 384 random bits, 64 characters, enough for HS512.
                assert_eq!(s.len(), 64, "{name}: 384-bit base64url secret");
            } else {
                assert_eq!(s.len(), 43, "{name}: 256-bit base64url secret");
            }
            // RFC 7591 §3.2.1: REQUIRED with a secret; 0 means it does not expire.
            assert_eq!(b["client_secret_expires_at"], json!(0), "{name}");
        }
        if name == "client_secret_basic_by_default" {
            assert_eq!(b["client_name"], json!("Reporting job"));
        }

        // What the store keeps.
        let stored = registered.record.to_json();
        assert!(
            !stored.contains(registration_access_token),
            "{name}: registration access token stored in plain: {stored}"
        );
        match method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                assert!(
                    !stored.contains(secret.unwrap()),
                    "{name}: secret stored in plain: {stored}"
                );
                assert!(
                    stored.contains("\"client_secret_hash\":\"sha256:"),
                    "{name}"
                );
            }
            AuthMethod::ClientSecretJwt => {
                // The HMAC key cannot be hashed (RFC 7523 §2.2 with RFC 7518 §3.2).
                assert!(stored.contains(secret.unwrap()), "{name}: {stored}");
            }
            AuthMethod::PrivateKeyJwt => assert!(!stored.contains("\"d\""), "{name}"),
        }
        let restored = round_trip(&registered.record, &config);
        assert_eq!(restored.auth_method, method, "{name}");
        assert_eq!(restored.audiences, vec![API.to_string()], "{name}");
        assert_eq!(
            restored.secret_expires_at,
            registered.record.secret_expires_at
        );
        let access = registration::check_registration_access(
            Some(&restored),
            Some(&format!("Bearer {registration_access_token}")),
        );
        assert!(access.is_ok(), "{name}: {access:?}");
        assert_eq!(access.unwrap().record().client_id, client_id, "{name}");

        // The registered client, loaded from the store, gets a token.
        let mut server = Server::new(config.clone()).with_client(restored);
        let issued = server
            .token(&token_request(method, client_id, secret))
            .unwrap_or_else(|e| panic!("{name}: token refused: {e}"));
        assert_eq!(issued.client_id, client_id, "{name}");
        assert_eq!(issued.scope, scope, "{name}");
        let (_, claims) = decode_parts(&issued.access_token);
        assert_eq!(claims["aud"], json!(API), "{name}");
    }
}

#[test]
fn two_registrations_get_different_identifiers_and_secrets() {
    let config = config();
    let mut rng = rng(1);
    let a = registration::register(open(&config), b"{}", &config, NOW, &mut rng).unwrap();
    let b = registration::register(open(&config), b"{}", &config, NOW, &mut rng).unwrap();
    let (a, b) = (body(&a.response), body(&b.response));
    for field in ["client_id", "client_secret", "registration_access_token"] {
        assert_ne!(a[field], b[field], "{field}");
    }
}

#[test]
fn secret_lifetime_from_configuration_is_announced_and_enforced() {
    let config = server_config(|raw| {
        with_registration(raw);
        raw["registration"]["client_secret_ttl"] = json!("3600s");
    });
    let registered = register(&json!({}), &config);
    let b = body(&registered.response);
    assert_eq!(b["client_secret_expires_at"], json!(NOW + 3600));
    let client_id = text(&b, "client_id").to_string();
    let secret = text(&b, "client_secret").to_string();
    let mut server =
        Server::new(config.clone()).with_client(round_trip(&registered.record, &config));
    let http = token_request(AuthMethod::ClientSecretBasic, &client_id, Some(&secret));
    server.now = NOW + 3599;
    assert!(server.token(&http).is_ok());
    server.now = NOW + 3600;
    let e = server.token(&http).unwrap_err();
    assert_eq!((e.code.as_str(), e.status()), ("invalid_client", 401));
}

// ---------------------------------------------------------------------------------------------
// RFC 7591 §3.2.2 refusals

#[test]
fn invalid_metadata_is_refused() {
    let k = keys();
    let pk = |extra: Value| {
        let mut v = json!({
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks(&[&k.es256_client]),
        });
        for (name, value) in extra.as_object().unwrap() {
            v[name] = value.clone();
        }
        v.to_string().into_bytes()
    };
    let doc = |v: Value| v.to_string().into_bytes();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "auth_method_none_is_refused",
            doc(json!({ "token_endpoint_auth_method": "none" })),
            "invalid_client_metadata",
        ),
        (
            "unknown_auth_method_is_refused",
            doc(json!({ "token_endpoint_auth_method": "tls_client_auth" })),
            "invalid_client_metadata",
        ),
        (
            "auth_method_that_is_not_a_string_is_refused",
            doc(json!({ "token_endpoint_auth_method": 1 })),
            "invalid_client_metadata",
        ),
        (
            "authorization_code_grant_is_refused",
            doc(json!({ "grant_types": ["authorization_code"] })),
            "invalid_client_metadata",
        ),
        (
            "client_credentials_with_another_grant_is_refused",
            doc(json!({ "grant_types": ["client_credentials", "refresh_token"] })),
            "invalid_client_metadata",
        ),
        (
            "empty_grant_types_is_refused",
            doc(json!({ "grant_types": [] })),
            "invalid_client_metadata",
        ),
        (
            "grant_types_as_a_string_is_refused",
            doc(json!({ "grant_types": "client_credentials" })),
            "invalid_client_metadata",
        ),
        (
            "response_types_code_is_refused",
            doc(json!({ "response_types": ["code"] })),
            "invalid_client_metadata",
        ),
        (
            "non_empty_redirect_uris_are_refused",
            doc(json!({ "redirect_uris": ["https://client.example.com/cb"] })),
            "invalid_client_metadata",
        ),
        (
            "scope_outside_the_allowed_scopes_is_refused",
            doc(json!({ "scope": "read superuser" })),
            "invalid_client_metadata",
        ),
        (
            "malformed_scope_is_refused",
            doc(json!({ "scope": "read \"write\"" })),
            "invalid_client_metadata",
        ),
        (
            "private_key_jwt_without_jwks_is_refused",
            doc(json!({ "token_endpoint_auth_method": "private_key_jwt" })),
            "invalid_client_metadata",
        ),
        (
            "jwks_with_a_private_key_is_refused",
            pk(json!({ "jwks": { "keys": [k.es256_client.to_private_json()] } })),
            "invalid_client_metadata",
        ),
        (
            "jwks_without_keys_is_refused",
            pk(json!({ "jwks": { "keys": [] } })),
            "invalid_client_metadata",
        ),
        (
            "jwks_that_is_not_an_object_is_refused",
            pk(json!({ "jwks": [public_json(&k.es256_client)] })),
            "invalid_client_metadata",
        ),
        (
            "symmetric_key_in_jwks_is_refused",
            pk(json!({ "jwks": { "keys": [{ "kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA" }] } })),
            "invalid_client_metadata",
        ),
        (
            "jwks_for_client_secret_basic_is_refused",
            doc(json!({ "jwks": jwks(&[&k.es256_client]) })),
            "invalid_client_metadata",
        ),
        (
            "jwks_uri_is_refused",
            doc(json!({
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": "https://client.example.com/jwks.json",
            })),
            "invalid_client_metadata",
        ),
        (
            "hmac_signing_alg_for_private_key_jwt_is_refused",
            pk(json!({ "token_endpoint_auth_signing_alg": "HS256" })),
            "invalid_client_metadata",
        ),
        (
            "rsa_signing_alg_for_client_secret_jwt_is_refused",
            doc(json!({
                "token_endpoint_auth_method": "client_secret_jwt",
                "token_endpoint_auth_signing_alg": "RS256",
            })),
            "invalid_client_metadata",
        ),
        (
            "signing_alg_for_client_secret_basic_is_refused",
            doc(json!({ "token_endpoint_auth_signing_alg": "HS256" })),
            "invalid_client_metadata",
        ),
        (
            "signing_alg_none_is_refused",
            pk(json!({ "token_endpoint_auth_signing_alg": "none" })),
            "invalid_client_metadata",
        ),
        (
            "client_name_that_is_not_a_string_is_refused",
            doc(json!({ "client_name": ["x"] })),
            "invalid_client_metadata",
        ),
        (
            "contacts_that_are_not_strings_are_refused",
            doc(json!({ "contacts": ["ops@example.com", 1] })),
            "invalid_client_metadata",
        ),
        (
            "software_statement_is_refused",
            doc(json!({ "software_statement": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln" })),
            "invalid_software_statement",
        ),
        (
            "malformed_json_is_refused",
            b"{\"client_name\": ".to_vec(),
            "invalid_client_metadata",
        ),
        (
            "json_that_is_not_an_object_is_refused",
            b"[]".to_vec(),
            "invalid_client_metadata",
        ),
        (
            "duplicate_members_are_refused",
            br#"{"scope":"read","scope":"admin"}"#.to_vec(),
            "invalid_client_metadata",
        ),
        (
            "duplicate_members_nested_in_jwks_are_refused",
            format!(
                r#"{{"token_endpoint_auth_method":"private_key_jwt","jwks":{{"keys":[{}],"keys":[]}}}}"#,
                public_json(&k.es256_client)
            )
            .into_bytes(),
            "invalid_client_metadata",
        ),
        // Caps (core/src/limits.rs): every count and length registration stores is bounded.
        (
            "more_than_64_members_is_refused",
            doc(Value::Object(
                (0..=MAX_REGISTRATION_MEMBERS)
                    .map(|i| (format!("x_{i}"), json!(1)))
                    .collect(),
            )),
            "invalid_client_metadata",
        ),
        (
            "client_name_of_65000_characters_is_refused",
            doc(json!({ "client_name": "n".repeat(65_000) })),
            "invalid_client_metadata",
        ),
        (
            "client_uri_over_1024_bytes_is_refused",
            doc(json!({ "client_uri": format!("https://{}.example", "u".repeat(1024)) })),
            "invalid_client_metadata",
        ),
        (
            "seventeen_contacts_are_refused",
            doc(json!({ "contacts": (0..=MAX_METADATA_ARRAY_ITEMS).map(|i| format!("c{i}@example.com")).collect::<Vec<_>>() })),
            "invalid_client_metadata",
        ),
        (
            "a_contact_over_1024_bytes_is_refused",
            doc(json!({ "contacts": [format!("{}@example.com", "c".repeat(1024))] })),
            "invalid_client_metadata",
        ),
        (
            "seventeen_grant_types_are_refused",
            doc(json!({ "grant_types": vec!["client_credentials"; MAX_METADATA_ARRAY_ITEMS + 1] })),
            "invalid_client_metadata",
        ),
        (
            "more_than_256_scope_tokens_are_refused",
            doc(json!({ "scope": (0..=MAX_SCOPE_TOKENS).map(|i| format!("s{i}")).collect::<Vec<_>>().join(" ") })),
            "invalid_client_metadata",
        ),
        (
            "eleven_keys_are_refused",
            pk(json!({ "jwks": { "keys": (0..=MAX_CLIENT_KEYS).map(|i| {
                let mut key = public_json(&k.es256_client);
                key["kid"] = json!(format!("k{i}"));
                key
            }).collect::<Vec<_>>() } })),
            "invalid_client_metadata",
        ),
        (
            "a_body_over_the_json_value_budget_is_refused",
            doc(json!({ "x": vec![0; MAX_REGISTRATION_JSON_VALUES] })),
            "invalid_client_metadata",
        ),
        (
            "trailing_data_after_the_object_is_refused",
            b"{} {}".to_vec(),
            "invalid_client_metadata",
        ),
        (
            "deeply_nested_json_is_refused",
            format!("{{\"x\":{}1{}}}", "[".repeat(64), "]".repeat(64)).into_bytes(),
            "invalid_client_metadata",
        ),
    ];
    let config = config();
    let mut failures = Failures::default();
    for (name, request, code) in cases {
        match registration::register(open(&config), &request, &config, NOW, &mut rng(3)) {
            Ok(r) => failures.push(name, format!("registered: {:?}", r.response.json_body())),
            Err(e) => {
                failures.check(name, e.code_str() == code, || format!("got {e}"));
                let response = e.to_response();
                let b = body(&response);
                failures.check(
                    name,
                    response.status == 400
                        && b.get("error") == Some(&json!(code))
                        && b.get("error_description").is_some()
                        && response.header("cache-control") == Some("no-store"),
                    || format!("response {} {b:?}", response.status),
                );
            }
        }
    }
    failures.assert_none();
}

/// Without a registration policy there is nothing to check the initial access against, so no
/// `InitialAccess` can be made and `register` cannot be called.
#[test]
fn registration_is_refused_when_it_is_not_enabled() {
    let absent = server_config(|_| {});
    assert!(absent.registration.is_none());
    let disabled = server_config(|raw| {
        with_registration(raw);
        raw["registration"]["enabled"] = json!(false);
    });
    assert!(disabled.registration.is_none());
}

// ---------------------------------------------------------------------------------------------
// RFC 7591 §3: initial access token

#[test]
fn initial_access_token_is_required_when_configured() {
    let config = server_config(|raw| {
        with_registration(raw);
        raw["registration"]["initial_access_token_hash"] = json!(hash(INITIAL_ACCESS_TOKEN));
        raw["registration"]["open_registration"] = json!(false);
    });
    let policy = config.registration.as_ref().unwrap();
    let right = format!("Bearer {INITIAL_ACCESS_TOKEN}");
    assert!(registration::check_initial_access(policy, Some(&right)).is_ok());

    let wrong =
        registration::check_initial_access(policy, Some("Bearer not-the-token")).unwrap_err();
    assert_eq!(wrong.code_str(), Some("invalid_token"));
    assert_eq!(wrong.status(), 401);
    assert!(wrong
        .www_authenticate("register")
        .contains("error=\"invalid_token\""));

    let absent = registration::check_initial_access(policy, None).unwrap_err();
    assert_eq!(absent.status(), 401);
    assert_eq!(absent.code_str(), None);
    assert_eq!(
        absent.www_authenticate("register"),
        "Bearer realm=\"register\""
    );

    let basic_scheme =
        registration::check_initial_access(policy, Some(&basic("x", INITIAL_ACCESS_TOKEN)))
            .unwrap_err();
    assert_eq!(basic_scheme.status(), 401);
}

#[test]
fn open_registration_needs_no_initial_access_token() {
    let config = config();
    let policy = config.registration.as_ref().unwrap();
    assert!(registration::check_initial_access(policy, None).is_ok());
}

// ---------------------------------------------------------------------------------------------
// RFC 7592

struct Client {
    record: ClientRecord,
    registration_access_token: String,
    secret: Option<String>,
}

/// Access to the client's configuration with its own registration access token.
fn manage(client: &Client) -> ClientAccess<'_> {
    registration::check_registration_access(
        Some(&client.record),
        Some(&format!("Bearer {}", client.registration_access_token)),
    )
    .unwrap_or_else(|e| {
        panic!(
            "registration access token of {} refused: {e}",
            client.record.client_id
        )
    })
}

fn registered_client(request: Value, config: &ServerConfig) -> Client {
    let registered = register(&request, config);
    let b = body(&registered.response);
    Client {
        record: round_trip(&registered.record, config),
        registration_access_token: text(&b, "registration_access_token").into(),
        secret: b
            .get("client_secret")
            .and_then(Value::as_str)
            .map(String::from),
    }
}

#[test]
fn registration_access_token_guards_the_client_configuration_endpoint() {
    let config = config();
    let client = registered_client(json!({}), &config);
    let right = format!("Bearer {}", client.registration_access_token);
    let access = registration::check_registration_access(Some(&client.record), Some(&right));
    assert!(access.is_ok(), "{access:?}");
    assert_eq!(access.unwrap().record().client_id, client.record.client_id);
    let wrong = registration::check_registration_access(Some(&client.record), Some("Bearer nope"))
        .unwrap_err();
    assert_eq!(
        (wrong.code_str(), wrong.status()),
        (Some("invalid_token"), 401)
    );
    let absent = registration::check_registration_access(Some(&client.record), None).unwrap_err();
    assert_eq!(absent.status(), 401);
    // The client secret is not the registration access token.
    let secret = format!("Bearer {}", client.secret.as_deref().unwrap());
    let e =
        registration::check_registration_access(Some(&client.record), Some(&secret)).unwrap_err();
    assert_eq!(e.status(), 401);
    // RFC 7592 §2.1: an unknown client answers exactly like a wrong token.
    let unknown = registration::check_registration_access(None, Some(&right)).unwrap_err();
    assert_eq!(unknown, wrong);
    // A statically configured client has no registration access token.
    let static_client = config.client("basic-client").unwrap();
    let e = registration::check_registration_access(Some(static_client), Some(&right)).unwrap_err();
    assert_eq!(e, wrong);
}

#[test]
fn read_returns_the_metadata_without_secrets() {
    let config = config();
    for request in [
        json!({ "client_name": "Job", "scope": "read write" }),
        json!({ "token_endpoint_auth_method": "client_secret_jwt" }),
        json!({ "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks(&[&keys().es256_client]) }),
    ] {
        let client = registered_client(request.clone(), &config);
        let response = registration::read(manage(&client), &config);
        check_no_store_json(&response, 200);
        let b = body(&response);
        assert_eq!(b["client_id"], json!(client.record.client_id), "{request}");
        assert_eq!(
            b["registration_client_uri"],
            json!(format!(
                "{REGISTRATION_ENDPOINT}/{}",
                client.record.client_id
            ))
        );
        assert!(!b.contains_key("client_secret"), "{request}: {b:?}");
        assert!(
            !b.contains_key("registration_access_token"),
            "{request}: {b:?}"
        );
        assert!(!b.contains_key("client_secret_hash"), "{request}: {b:?}");
        let raw = String::from_utf8(response.body.clone()).unwrap();
        if let Some(secret) = &client.secret {
            assert!(!raw.contains(secret.as_str()), "{request}: secret in {raw}");
        }
        assert!(!raw.contains(&client.registration_access_token), "{raw}");
        assert!(!raw.contains("sha256:"), "{raw}");
    }
}

#[test]
fn update_replaces_metadata_and_keeps_credentials() {
    let config = config();
    let client = registered_client(json!({ "client_name": "Job", "scope": "read" }), &config);
    let id = client.record.client_id.clone();
    let (updated, response) = registration::update(
        manage(&client),
        json!({ "client_id": id, "scope": "read write", "client_name": "Job v2" })
            .to_string()
            .as_bytes(),
        &config,
    )
    .unwrap();
    check_no_store_json(&response, 200);
    let b = body(&response);
    assert_eq!(b["scope"], json!("read write"));
    assert_eq!(b["client_name"], json!("Job v2"));
    assert!(!b.contains_key("client_secret"));
    assert_eq!(
        updated.scopes,
        vec!["read".to_string(), "write".to_string()]
    );
    assert_eq!(updated.client_id, id);
    assert_eq!(
        updated.registration_access_token_hash,
        client.record.registration_access_token_hash
    );
    match (&updated.credential, &client.record.credential) {
        (ClientCredential::SecretHash(a), ClientCredential::SecretHash(b)) => assert_eq!(a, b),
        other => panic!("credential changed kind: {other:?}"),
    }
    // The old secret still works, and the new scope is grantable.
    let updated = round_trip(&updated, &config);
    let mut server = Server::new(config.clone()).with_client(updated);
    let issued = server
        .token(
            &Http::post(Form::client_credentials().with("scope", "write"))
                .authorization(&basic(&id, client.secret.as_deref().unwrap())),
        )
        .unwrap();
    assert_eq!(issued.scope, "write");
}

#[test]
fn update_with_the_document_read_back_changes_nothing() {
    let config = config();
    for request in [
        json!({ "client_name": "Job", "scope": "read write", "contacts": ["a@example.com"] }),
        json!({ "token_endpoint_auth_method": "client_secret_post" }),
        json!({ "token_endpoint_auth_method": "client_secret_jwt", "token_endpoint_auth_signing_alg": "HS256" }),
        json!({ "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks(&[&keys().es256_client]) }),
    ] {
        let client = registered_client(request.clone(), &config);
        let read = registration::read(manage(&client), &config);
        let (updated, response) = registration::update(manage(&client), &read.body, &config)
            .unwrap_or_else(|e| panic!("{request}: {e}"));
        assert_eq!(response.status, 200, "{request}");
        assert_eq!(updated.to_json(), client.record.to_json(), "{request}");
        assert_eq!(response.body, read.body, "{request}");
    }
}

#[test]
fn update_refusals() {
    let config = config();
    let basic_client = registered_client(json!({ "scope": "read" }), &config);
    let jwt_client = registered_client(
        json!({ "token_endpoint_auth_method": "client_secret_jwt" }),
        &config,
    );
    let id = basic_client.record.client_id.clone();
    let jwt_id = jwt_client.record.client_id.clone();
    let cases: Vec<(&str, &Client, Value, Result<(), &str>)> = vec![
        (
            "missing_client_id_is_refused",
            &basic_client,
            json!({ "scope": "read" }),
            Err("invalid_client_metadata"),
        ),
        (
            "different_client_id_is_refused",
            &basic_client,
            json!({ "client_id": jwt_id, "scope": "read" }),
            Err("invalid_client_metadata"),
        ),
        (
            "wrong_client_secret_is_refused",
            &basic_client,
            json!({ "client_id": id, "client_secret": "guess" }),
            Err("invalid_client_metadata"),
        ),
        (
            "client_secret_that_is_not_a_string_is_refused",
            &basic_client,
            json!({ "client_id": id, "client_secret": 1 }),
            Err("invalid_client_metadata"),
        ),
        (
            "current_client_secret_is_accepted",
            &basic_client,
            json!({ "client_id": id, "client_secret": basic_client.secret.as_deref().unwrap() }),
            Ok(()),
        ),
        (
            "current_client_secret_jwt_secret_is_accepted",
            &jwt_client,
            json!({
                "client_id": jwt_id,
                "client_secret": jwt_client.secret.as_deref().unwrap(),
                "token_endpoint_auth_method": "client_secret_jwt",
            }),
            Ok(()),
        ),
        (
            "wrong_client_secret_jwt_secret_is_refused",
            &jwt_client,
            json!({
                "client_id": jwt_id,
                "client_secret": basic_client.secret.as_deref().unwrap(),
                "token_endpoint_auth_method": "client_secret_jwt",
            }),
            Err("invalid_client_metadata"),
        ),
        (
            "changing_the_auth_method_is_refused",
            &basic_client,
            json!({ "client_id": id, "token_endpoint_auth_method": "client_secret_post" }),
            Err("invalid_client_metadata"),
        ),
        (
            "scope_outside_the_allowed_scopes_is_refused",
            &basic_client,
            json!({ "client_id": id, "scope": "superuser" }),
            Err("invalid_client_metadata"),
        ),
        (
            "redirect_uris_are_refused_on_update_too",
            &basic_client,
            json!({ "client_id": id, "redirect_uris": ["https://x.example/cb"] }),
            Err("invalid_client_metadata"),
        ),
        (
            "software_statement_is_refused_on_update_too",
            &basic_client,
            json!({ "client_id": id, "software_statement": "a.b.c" }),
            Err("invalid_software_statement"),
        ),
    ];
    let mut failures = Failures::default();
    for (name, client, request, expect) in cases {
        let outcome = registration::update(manage(client), request.to_string().as_bytes(), &config);
        match (expect, outcome) {
            (Ok(()), Ok(_)) => {}
            (Ok(()), Err(e)) => failures.push(name, format!("refused: {e}")),
            (Err(code), Ok(_)) => failures.push(name, format!("expected {code}, updated")),
            (Err(code), Err(e)) => {
                failures.check(name, e.code_str() == code, || format!("got {e}"));
                failures.check(name, e.to_response().status == 400, || "status".into());
            }
        }
    }
    failures.assert_none();
}

#[test]
fn delete_answers_204_with_no_body() {
    let config = config();
    let client = registered_client(json!({}), &config);
    let response = registration::delete(manage(&client));
    assert_eq!(response.status, 204);
    assert!(response.body.is_empty());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("content-type"), None);
}

// ---------------------------------------------------------------------------------------------
// What registration accepts must work at the token endpoint

/// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output. A server that lets a
/// client register `client_secret_jwt` with HS384 or HS512 must issue a secret long enough for
/// that algorithm, or the client can never authenticate.
#[test]
fn client_secret_jwt_registered_for_a_longer_hmac_can_authenticate() {
    let config = config();
    let mut failures = Failures::default();
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let name = alg.name();
        let registered = registration::register(
            open(&config),
            json!({
                "token_endpoint_auth_method": "client_secret_jwt",
                "token_endpoint_auth_signing_alg": name,
            })
            .to_string()
            .as_bytes(),
            &config,
            NOW,
            &mut rng(50),
        );
        let registered = match registered {
            Ok(r) => r,
            // Refusing the algorithm at registration is a fine answer too.
            Err(e) => {
                failures.check(name, e.code_str() == "invalid_client_metadata", || {
                    format!("refused with {e}")
                });
                continue;
            }
        };
        let b = body(&registered.response);
        let client_id = text(&b, "client_id").to_string();
        let secret = text(&b, "client_secret").to_string();
        failures.check(name, secret.len() >= alg.min_hmac_key_len(), || {
            format!(
                "issued a {}-byte secret; {name} needs at least {}",
                secret.len(),
                alg.min_hmac_key_len()
            )
        });
        let mut server =
            Server::new(config.clone()).with_client(round_trip(&registered.record, &config));
        let assertion = Jwt::assertion(&client_id, alg, None).hmac(alg, secret.as_bytes());
        let outcome = server.token(&Http::post(
            Form::client_credentials().assertion(&assertion),
        ));
        failures.check(name, outcome.is_ok(), || {
            format!("registered client cannot authenticate: {:?}", outcome.err())
        });
    }
    failures.assert_none();
}

/// A pinned `token_endpoint_auth_signing_alg` that none of the registered keys can produce
/// leaves a client that can never authenticate: refuse it at registration.
#[test]
fn signing_alg_that_fits_none_of_the_registered_keys_is_refused() {
    let config = config();
    let outcome = registration::register(
        open(&config),
        json!({
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "RS256",
            "jwks": jwks(&[&keys().es256_client]),
        })
        .to_string()
        .as_bytes(),
        &config,
        NOW,
        &mut rng(51),
    );
    match outcome {
        Ok(_) => panic!("registered a client pinned to RS256 whose only key is P-256"),
        Err(e) => assert_eq!(e.code_str(), "invalid_client_metadata"),
    }
}

/// RFC 7592 §2.2 replaces the metadata with what the client sends; what the server itself
/// returned from a read must be acceptable, including the `scope` of a client with none.
#[test]
fn client_without_scopes_can_send_its_read_document_back() {
    let config = server_config(|raw| {
        raw["registration"] = json!({ "allowed_scope": "read write", "open_registration": true });
    });
    let client = registered_client(json!({}), &config);
    assert!(client.record.scopes.is_empty());
    let read = registration::read(manage(&client), &config);
    let outcome = registration::update(manage(&client), &read.body, &config);
    match outcome {
        Ok((updated, _)) => assert_eq!(updated.to_json(), client.record.to_json()),
        Err(e) => panic!(
            "read document {} refused on update: {e}",
            String::from_utf8_lossy(&read.body)
        ),
    }
}

/// Each cap's refusal names the field it bounds (RFC 7591 §3.2.2 `invalid_client_metadata`).
#[test]
fn registration_caps_name_their_field() {
    let config = config();
    let cases = [
        (
            json!({ "client_name": "n".repeat(MAX_METADATA_TEXT_BYTES + 1) }),
            "client_name",
        ),
        (
            json!({ "software_id": "n".repeat(MAX_METADATA_TEXT_BYTES + 1) }),
            "software_id",
        ),
        (
            json!({ "contacts": vec!["a@example.com"; MAX_METADATA_ARRAY_ITEMS + 1] }),
            "contacts",
        ),
        (
            json!({ "scope": vec!["read"; MAX_SCOPE_TOKENS + 1].join(" ") }),
            "scope",
        ),
        (
            Value::Object(
                (0..=MAX_REGISTRATION_MEMBERS)
                    .map(|i| (format!("x_{i}"), json!(1)))
                    .collect(),
            ),
            "request body",
        ),
    ];
    for (doc, field) in cases {
        let e = registration::register(
            open(&config),
            doc.to_string().as_bytes(),
            &config,
            NOW,
            &mut rng(5),
        )
        .unwrap_err();
        assert_eq!(e.code_str(), "invalid_client_metadata");
        assert!(
            e.description.starts_with(field),
            "{field}: {}",
            e.description
        );
    }
    // At the caps, registration succeeds.
    let at_caps = json!({
        "client_name": "n".repeat(MAX_METADATA_TEXT_BYTES),
        "contacts": vec!["a@example.com"; MAX_METADATA_ARRAY_ITEMS],
        "scope": "read write admin",
    });
    let registered = register(&at_caps, &config);
    assert_eq!(registered.response.status, 201);
}

/// Issue 11 §3: a stored record is used as this server may use it today.
#[test]
fn stored_clients_are_bound_to_their_issuer_and_the_current_policy() {
    let config = config();
    let client = registered_client(json!({ "scope": "read write" }), &config);
    let stored = client.record.to_json();
    assert_eq!(client.record.issuer.as_deref(), Some(ISSUER));

    // Another issuer sharing the store refuses the record.
    let other = server_config(|raw| {
        with_registration(raw);
        raw["issuer"] = json!("https://other.example.com");
    });
    assert!(other.stored_client(&stored).is_none());
    // A record without an issuer (or with another) is not this server's either.
    let mut raw: Value = serde_json::from_str(&stored).unwrap();
    raw.as_object_mut().unwrap().remove("issuer");
    assert!(config.stored_client(&raw.to_string()).is_none());
    raw["issuer"] = json!(format!("{ISSUER}/"));
    assert!(config.stored_client(&raw.to_string()).is_none());

    // Narrowing allowed_scope narrows the client at its next load; audiences likewise.
    let narrowed = server_config(|raw| {
        raw["registration"] =
            json!({ "allowed_scope": "read", "default_scope": "read", "open_registration": true });
    });
    let loaded = narrowed.stored_client(&stored).unwrap();
    assert_eq!(loaded.scopes, vec!["read"]);
    let moved = server_config(|raw| {
        with_registration(raw);
        raw["default_audiences"] = json!(["https://new-api.example.com"]);
    });
    assert!(
        moved.stored_client(&stored).is_none(),
        "a client left without an audience does not load"
    );
    let widened = server_config(|raw| {
        with_registration(raw);
        raw["default_audiences"] = json!([API, "https://new-api.example.com"]);
    });
    assert_eq!(widened.stored_client(&stored).unwrap().audiences, vec![API]);

    // The narrowed client's token carries only the remaining scope.
    let mut server = Server::new(narrowed.clone()).with_client(loaded);
    let secret = client.secret.as_deref().unwrap();
    let ask = |scope: Option<&str>| {
        let mut form = Form::client_credentials();
        if let Some(scope) = scope {
            form = form.with("scope", scope);
        }
        Http::post(form).authorization(&basic(&client.record.client_id, secret))
    };
    assert_eq!(server.token(&ask(None)).unwrap().scope, "read");
    let refused = server.token(&ask(Some("read write"))).unwrap_err();
    assert_eq!(
        refused.code.as_str(),
        "invalid_scope",
        "write is no longer the client's"
    );

    // enabled: false keeps serving registered clients; no registration section serves none.
    let closed = server_config(|raw| {
        raw["registration"] = json!({ "enabled": false, "allowed_scope": "read write admin" });
    });
    assert!(closed.registration.is_none());
    assert!(closed.stored_client(&stored).is_some());
    let none = server_config(|_| {});
    assert!(none.stored_client(&stored).is_none());
}
