//! Configuration is checked once (DESIGN principle 3): a bad authorization-server or provider
//! configuration is refused at load time with a `ConfigError` whose `field` names the
//! offending field, and a misspelt field is refused with a message that names it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use gatepass_core::config::{KeySource, Provider, ServerConfig};
use gatepass_core::crypto::Algorithm;
use gatepass_core::ConfigError;
use serde_json::{json, Value};

/// A table row: a change to a valid configuration and the field the error must name.
type Case = (&'static str, fn(&mut Value), &'static str);

fn check_refusals(base: fn() -> Value, load: fn(&str) -> Result<(), ConfigError>, cases: &[Case]) {
    let mut failures = Failures::default();
    for (name, tweak, field) in cases {
        let mut raw = base();
        tweak(&mut raw);
        match load(&raw.to_string()) {
            Ok(()) => failures.push(name, format!("accepted; expected an error at {field}")),
            Err(e) => {
                failures.check(name, e.field == *field, || {
                    format!("field {:?} ({}), expected {field:?}", e.field, e.message)
                });
                failures.check(name, !e.message.is_empty(), || "empty message".into());
                failures.check(
                    name,
                    e.to_string() == format!("{}: {}", e.field, e.message),
                    || format!("Display {e}"),
                );
            }
        }
    }
    failures.assert_none();
}

fn load_server(text: &str) -> Result<(), ConfigError> {
    ServerConfig::from_json(text).map(|_| ())
}

fn load_provider(text: &str) -> Result<(), ConfigError> {
    Provider::from_json(text).map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Authorization server

#[test]
fn the_fixture_configuration_loads() {
    let config = ServerConfig::from_json(&server_json().to_string()).unwrap();
    assert_eq!(config.issuer, ISSUER);
    assert_eq!(config.token_endpoint, TOKEN_ENDPOINT);
    assert_eq!(
        config.jwks_uri,
        "https://as.example.com/.well-known/jwks.json"
    );
    assert_eq!(
        config.metadata_path,
        "/.well-known/oauth-authorization-server"
    );
    assert_eq!(config.registration_endpoint, None);
    assert_eq!(config.mint.token_ttl, 3600);
    assert_eq!(config.signing_keys.active().unwrap().kid, keys().server.kid);
    assert_eq!(config.signing_keys.keys().len(), 2);
    assert_eq!(config.assertion.max_lifetime, 3600);
    assert_eq!(config.assertion.clock_skew_seconds, 60);
    assert!(!config.assertion.allow_legacy_audience);
    assert!(!config.assertion.require_explicit_typ);
    // A client without audiences gets the default ones.
    assert_eq!(
        config.client("post-client").unwrap().audiences,
        vec![API.to_string()]
    );
}

#[test]
fn issuer_with_a_path_places_the_endpoints_under_it() {
    let config = server_config(|raw| raw["issuer"] = json!("https://as.example.com/tenant-1"));
    assert_eq!(
        config.token_endpoint,
        "https://as.example.com/tenant-1/oauth/token"
    );
    assert_eq!(config.token_path, "/tenant-1/oauth/token");
    assert_eq!(
        config.jwks_uri,
        "https://as.example.com/tenant-1/.well-known/jwks.json"
    );
    // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
    assert_eq!(
        config.metadata_path,
        "/.well-known/oauth-authorization-server/tenant-1"
    );
    assert_eq!(config.assertion.issuer, "https://as.example.com/tenant-1");
    assert_eq!(
        config.assertion.token_endpoint,
        "https://as.example.com/tenant-1/oauth/token"
    );
}

#[test]
fn assertion_settings_reach_the_assertion_policy() {
    let config = server_config(|raw| {
        raw["require_explicit_assertion_typ"] = json!(true);
        raw["allow_legacy_assertion_audience"] = json!(true);
        raw["assertion_max_lifetime"] = json!("3600s");
    });
    assert!(config.assertion.require_explicit_typ);
    assert!(config.assertion.allow_legacy_audience);
    assert_eq!(config.assertion.max_lifetime, 3600);
    let config = server_config(|raw| raw["require_explicit_assertion_typ"] = json!(false));
    assert!(!config.assertion.require_explicit_typ);
}

#[test]
fn durations_take_seconds_or_the_envoy_string_form() {
    for (value, seconds) in [(json!(600), 600), (json!("600s"), 600)] {
        let config = server_config(|raw| {
            raw["token_ttl"] = value.clone();
            raw["assertion_max_lifetime"] = value.clone();
        });
        assert_eq!(config.mint.token_ttl, seconds);
        assert_eq!(config.assertion.max_lifetime, seconds);
    }
}

#[test]
fn bad_server_configurations_name_the_field() {
    fn ec_key_with_short_d(raw: &mut Value) {
        let mut key = keys().server_next.to_private_json();
        key["d"] = json!("AAAA");
        raw["signing_keys"] = json!([key]);
        raw.as_object_mut().unwrap().remove("active_kid");
    }
    fn only_key(raw: &mut Value, key: Value) {
        raw["signing_keys"] = json!([key]);
        raw.as_object_mut().unwrap().remove("active_kid");
    }
    fn rsa_private_jwk_without_alg() -> Value {
        let mut jwk = keys().rs256_client.to_private_json();
        jwk.as_object_mut().unwrap().remove("alg");
        jwk
    }
    let cases: &[Case] = &[
        (
            "issuer_over_plain_http",
            |r| r["issuer"] = json!("http://as.example.com"),
            "issuer",
        ),
        (
            "issuer_on_a_lookalike_of_localhost",
            |r| r["issuer"] = json!("http://localhost.evil.example"),
            "issuer",
        ),
        (
            "issuer_with_a_trailing_slash",
            |r| r["issuer"] = json!("https://as.example.com/"),
            "issuer",
        ),
        (
            "issuer_with_a_query",
            |r| r["issuer"] = json!("https://as.example.com/?tenant=1"),
            "issuer",
        ),
        (
            "issuer_with_a_fragment",
            |r| r["issuer"] = json!("https://as.example.com/#x"),
            "issuer",
        ),
        (
            "issuer_that_is_not_a_url",
            |r| r["issuer"] = json!("as.example.com"),
            "issuer",
        ),
        (
            "no_signing_keys",
            |r| r["signing_keys"] = json!([]),
            "signing_keys",
        ),
        (
            "signing_key_that_is_not_an_object",
            |r| r["signing_keys"] = json!(["key"]),
            "signing_keys[0]",
        ),
        (
            "signing_key_with_a_short_private_scalar",
            ec_key_with_short_d,
            "signing_keys[0].d",
        ),
        (
            "signing_key_without_private_part",
            |r| only_key(r, public_json(&keys().server)),
            "signing_keys[0].d",
        ),
        (
            "symmetric_signing_key",
            |r| {
                only_key(
                    r,
                    json!({ "kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA" }),
                )
            },
            "signing_keys[0].kty",
        ),
        (
            "signing_key_of_unknown_type",
            |r| only_key(r, json!({ "kty": "XYZ" })),
            "signing_keys[0].kty",
        ),
        (
            "signing_key_without_kty",
            |r| only_key(r, json!({ "crv": "Ed25519" })),
            "signing_keys[0].kty",
        ),
        (
            "signing_key_whose_public_part_does_not_match",
            |r| {
                let mut key = keys().server.to_private_json();
                key["x"] = public_json(&keys().attacker_eddsa)["x"].clone();
                only_key(r, key)
            },
            "signing_keys[0].x",
        ),
        (
            "rsa_signing_key_without_alg",
            |r| only_key(r, rsa_private_jwk_without_alg()),
            "signing_keys[0].alg",
        ),
        (
            "signing_key_with_an_alg_that_does_not_fit",
            |r| {
                let mut key = keys().server.to_private_json();
                key["alg"] = json!("ES256");
                only_key(r, key)
            },
            "signing_keys[0].alg",
        ),
        (
            "signing_key_for_encryption",
            |r| {
                let mut key = keys().server.to_private_json();
                key["use"] = json!("enc");
                only_key(r, key)
            },
            "signing_keys[0].use",
        ),
        (
            "second_signing_key_is_bad",
            |r| r["signing_keys"][1]["crv"] = json!("P-999"),
            "signing_keys[1].crv",
        ),
        (
            "two_signing_keys_with_one_kid",
            |r| r["signing_keys"][1]["kid"] = r["signing_keys"][0]["kid"].clone(),
            "signing_keys",
        ),
        (
            "active_kid_that_names_no_key",
            |r| r["active_kid"] = json!("nope"),
            "active_kid",
        ),
        (
            "token_ttl_of_zero",
            |r| r["token_ttl"] = json!(0),
            "token_ttl",
        ),
        (
            "token_ttl_over_a_day",
            |r| r["token_ttl"] = json!(86_401),
            "token_ttl",
        ),
        (
            "token_ttl_in_minutes",
            |r| r["token_ttl"] = json!("60m"),
            "token_ttl",
        ),
        (
            "token_ttl_negative",
            |r| r["token_ttl"] = json!("-5s"),
            "token_ttl",
        ),
        (
            "default_audience_that_is_not_a_uri",
            |r| r["default_audiences"] = json!(["api"]),
            "default_audiences[0]",
        ),
        (
            "token_path_that_is_relative",
            |r| r["path"] = json!("oauth/token"),
            "path",
        ),
        (
            "jwks_path_with_a_query",
            |r| r["jwks_path"] = json!("/jwks?x=1"),
            "jwks_path",
        ),
        (
            "metadata_path_with_a_fragment",
            |r| r["metadata_path"] = json!("/meta#x"),
            "metadata_path",
        ),
        (
            "registration_path_with_a_space",
            |r| r["registration_path"] = json!("/re gister"),
            "registration_path",
        ),
        (
            "assertion_max_lifetime_of_zero",
            |r| r["assertion_max_lifetime"] = json!(0),
            "assertion_max_lifetime",
        ),
        (
            "assertion_max_lifetime_over_an_hour",
            |r| r["assertion_max_lifetime"] = json!("3601s"),
            "assertion_max_lifetime",
        ),
        (
            "clock_skew_over_ten_minutes",
            |r| r["clock_skew_seconds"] = json!(601),
            "clock_skew_seconds",
        ),
        // Clients
        (
            "client_secret_hash_not_sha256",
            |r| r["clients"][0]["client_secret_hash"] = json!("md5:abcd"),
            "clients[0].client_secret_hash",
        ),
        (
            "client_secret_hash_of_the_wrong_length",
            |r| r["clients"][0]["client_secret_hash"] = json!("sha256:AAAA"),
            "clients[0].client_secret_hash",
        ),
        (
            "basic_client_without_a_secret_hash",
            |r| {
                r["clients"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("client_secret_hash");
            },
            "clients[0].client_secret_hash",
        ),
        (
            "basic_client_with_a_plain_secret",
            |r| r["clients"][0]["client_secret"] = json!("plain"),
            "clients[0].client_secret",
        ),
        (
            "basic_client_with_jwks",
            |r| r["clients"][0]["jwks"] = jwks(&[&keys().es256_client]),
            "clients[0].jwks",
        ),
        (
            "unknown_auth_method",
            |r| r["clients"][0]["token_endpoint_auth_method"] = json!("none"),
            "clients[0].token_endpoint_auth_method",
        ),
        (
            "empty_client_id",
            |r| r["clients"][0]["client_id"] = json!(""),
            "clients[0].client_id",
        ),
        (
            "client_id_over_255_characters",
            |r| r["clients"][0]["client_id"] = json!("c".repeat(256)),
            "clients[0].client_id",
        ),
        (
            "client_id_not_visible_ascii",
            |r| r["clients"][0]["client_id"] = json!("caf\u{e9}"),
            "clients[0].client_id",
        ),
        (
            "client_id_with_a_control_character",
            |r| r["clients"][0]["client_id"] = json!("a\nb"),
            "clients[0].client_id",
        ),
        (
            "configured_client_of_another_issuer",
            |r| r["clients"][0]["issuer"] = json!("https://other.example.com"),
            "clients[0].issuer",
        ),
        (
            "duplicate_client_id",
            |r| r["clients"][1]["client_id"] = json!("basic-client"),
            "clients[1]",
        ),
        (
            "grant_type_other_than_client_credentials",
            |r| r["clients"][0]["grant_types"] = json!(["authorization_code"]),
            "clients[0].grant_types",
        ),
        (
            "malformed_client_scope",
            |r| r["clients"][0]["scope"] = json!("read \"write\""),
            "clients[0].scope",
        ),
        (
            "signing_alg_for_a_basic_client",
            |r| r["clients"][0]["token_endpoint_auth_signing_alg"] = json!("HS256"),
            "clients[0].token_endpoint_auth_signing_alg",
        ),
        (
            "bad_registration_access_token_hash",
            |r| r["clients"][0]["registration_access_token_hash"] = json!("plain"),
            "clients[0].registration_access_token_hash",
        ),
        (
            "client_secret_jwt_secret_under_32_bytes",
            |r| r["clients"][2]["client_secret"] = json!("short-secret"),
            "clients[2].client_secret",
        ),
        (
            "client_secret_jwt_without_its_secret",
            |r| {
                r["clients"][2]
                    .as_object_mut()
                    .unwrap()
                    .remove("client_secret");
            },
            "clients[2].client_secret",
        ),
        (
            "client_secret_jwt_with_a_hash_only",
            |r| r["clients"][2]["client_secret_hash"] = json!(hash("x")),
            "clients[2].client_secret_hash",
        ),
        (
            "rsa_alg_for_client_secret_jwt",
            |r| r["clients"][2]["token_endpoint_auth_signing_alg"] = json!("RS256"),
            "clients[2].token_endpoint_auth_signing_alg",
        ),
        (
            "unknown_signing_alg",
            |r| r["clients"][2]["token_endpoint_auth_signing_alg"] = json!("HS999"),
            "clients[2].token_endpoint_auth_signing_alg",
        ),
        (
            "hmac_alg_for_private_key_jwt",
            |r| r["clients"][3]["token_endpoint_auth_signing_alg"] = json!("HS256"),
            "clients[3].token_endpoint_auth_signing_alg",
        ),
        (
            "private_key_jwt_without_jwks",
            |r| {
                r["clients"][3].as_object_mut().unwrap().remove("jwks");
            },
            "clients[3].jwks",
        ),
        (
            "private_key_jwt_with_jwks_that_is_not_an_object",
            |r| r["clients"][3]["jwks"] = json!("keys"),
            "clients[3].jwks",
        ),
        (
            "private_key_jwt_with_a_private_key_in_jwks",
            |r| {
                r["clients"][3]["jwks"] = json!({ "keys": [keys().eddsa_client.to_private_json()] })
            },
            "clients[3].jwks.keys",
        ),
        (
            "private_key_jwt_with_empty_jwks",
            |r| r["clients"][3]["jwks"] = json!({ "keys": [] }),
            "clients[3].jwks.keys",
        ),
        (
            "private_key_jwt_with_a_secret",
            |r| r["clients"][3]["client_secret"] = json!(JWT_SECRET),
            "clients[3].client_secret",
        ),
        // Registration
        (
            "registration_without_default_audiences",
            |r| {
                r["registration"] = json!({ "allowed_scope": "read", "open_registration": true });
                r["default_audiences"] = json!([]);
                r["clients"] = json!([]);
            },
            "default_audiences",
        ),
        (
            "default_scope_outside_allowed_scope",
            |r| r["registration"] = json!({ "allowed_scope": "read", "default_scope": "write", "open_registration": true }),
            "registration.default_scope",
        ),
        (
            "registration_open_without_saying_so",
            |r| r["registration"] = json!({ "allowed_scope": "read" }),
            "registration.open_registration",
        ),
        (
            "open_registration_with_an_initial_access_token",
            |r| {
                r["registration"] = json!({
                    "allowed_scope": "read",
                    "open_registration": true,
                    "initial_access_token_hash": gatepass_core::secret::SecretHash::of("t").to_stored(),
                })
            },
            "registration.open_registration",
        ),
        (
            "malformed_allowed_scope",
            |r| r["registration"] = json!({ "allowed_scope": "read\\write" }),
            "registration.allowed_scope",
        ),
        (
            "bad_initial_access_token_hash",
            |r| r["registration"] = json!({ "initial_access_token_hash": "secret" }),
            "registration.initial_access_token_hash",
        ),
        (
            "client_secret_ttl_in_hours",
            |r| r["registration"] = json!({ "client_secret_ttl": "1h", "open_registration": true }),
            "registration.client_secret_ttl",
        ),
        (
            "replay_store_with_both_stores",
            |r| r["replay_store"] = json!({ "shared_data": {}, "etcd": { "cluster": "etcd" } }),
            "replay_store",
        ),
        (
            "replay_store_with_no_store",
            |r| r["replay_store"] = json!({}),
            "replay_store",
        ),
        (
            "replay_store_unknown_store",
            |r| r["replay_store"] = json!({ "redis": {} }),
            "replay_store.redis",
        ),
        (
            "etcd_without_cluster",
            |r| r["replay_store"] = json!({ "etcd": { "prefix": "p/" } }),
            "replay_store.etcd",
        ),
        (
            "etcd_empty_cluster",
            |r| r["replay_store"] = json!({ "etcd": { "cluster": "" } }),
            "replay_store.etcd.cluster",
        ),
        (
            "etcd_prefix_with_a_space",
            |r| r["replay_store"] = json!({ "etcd": { "cluster": "etcd", "prefix": "a b/" } }),
            "replay_store.etcd.prefix",
        ),
        (
            "etcd_timeout_in_minutes",
            |r| r["replay_store"] = json!({ "etcd": { "cluster": "etcd", "timeout": "1m" } }),
            "replay_store.etcd.timeout",
        ),
        (
            "etcd_timeout_too_short",
            |r| r["replay_store"] = json!({ "etcd": { "cluster": "etcd", "timeout": "5ms" } }),
            "replay_store.etcd.timeout",
        ),
        (
            "etcd_timeout_too_long",
            |r| r["replay_store"] = json!({ "etcd": { "cluster": "etcd", "timeout": 11 } }),
            "replay_store.etcd.timeout",
        ),
        (
            "etcd_misspelt_field",
            |r| r["replay_store"] = json!({ "etcd": { "cluster": "etcd", "timout": "1s" } }),
            "replay_store.etcd.timout",
        ),
    ];
    check_refusals(server_json, load_server, cases);
}

/// `replay_store` selects Envoy shared data (the default) or etcd, with its defaults; the npm
/// package, whose stores are objects, refuses an Envoy store by name.
#[test]
fn replay_store_selects_shared_data_or_etcd() {
    use gatepass_core::config::{EtcdConfig, ReplayStoreConfig};
    let load = |store: Option<Value>| {
        let mut raw = server_json();
        if let Some(store) = store {
            raw["replay_store"] = store;
        }
        ServerConfig::from_json(&raw.to_string()).unwrap()
    };
    assert_eq!(load(None).replay_store, ReplayStoreConfig::SharedData);
    assert_eq!(
        load(Some(json!({ "shared_data": {} }))).replay_store,
        ReplayStoreConfig::SharedData
    );
    assert!(load(None).require_host_stores().is_ok());
    let etcd = load(Some(json!({ "etcd": { "cluster": "etcd_cluster" } })));
    assert_eq!(
        etcd.replay_store,
        ReplayStoreConfig::Etcd(EtcdConfig {
            cluster: "etcd_cluster".into(),
            prefix: "gatepass/replay/".into(),
            timeout_ms: 1000,
            authority: "etcd_cluster".into(),
        })
    );
    assert_eq!(
        etcd.require_host_stores().unwrap_err().field,
        "replay_store"
    );
    let set = load(Some(json!({ "etcd": {
        "cluster": "etcd", "prefix": "fleet-a/", "timeout": "250ms", "authority": "etcd.internal:2379"
    } })));
    assert_eq!(
        set.replay_store,
        ReplayStoreConfig::Etcd(EtcdConfig {
            cluster: "etcd".into(),
            prefix: "fleet-a/".into(),
            timeout_ms: 250,
            authority: "etcd.internal:2379".into(),
        })
    );
}

/// Principle 3: a configuration that could only fail at request time is refused at load time.
#[test]
fn client_audiences_are_checked_at_load_time() {
    let cases: &[Case] = &[
        (
            "client_audience_that_is_not_a_uri",
            |r| r["clients"][0]["audiences"] = json!(["api"]),
            "clients[0].audiences[0]",
        ),
        (
            "client_without_any_audience",
            |r| {
                r["default_audiences"] = json!([]);
                r["clients"] = json!([{ "client_id": "lonely", "client_secret_hash": hash("s") }]);
            },
            "clients[0].audiences",
        ),
    ];
    check_refusals(server_json, load_server, cases);
}

/// Principle 3 again: a client_secret_jwt client pinned to HS384/HS512 with a secret shorter
/// than RFC 7518 §3.2 requires for that algorithm, or a private_key_jwt client pinned to an
/// algorithm none of its keys can make, would be refused on every request.
#[test]
fn pinned_signing_alg_must_be_usable_with_the_registered_credential() {
    let cases: &[Case] = &[
        (
            "hs512_with_a_40_byte_secret",
            |r| {
                r["clients"][2]["client_secret"] =
                    json!("0123456789012345678901234567890123456789");
                r["clients"][2]["token_endpoint_auth_signing_alg"] = json!("HS512");
            },
            "clients[2].client_secret",
        ),
        (
            "rs256_pinned_for_an_ed25519_key",
            |r| r["clients"][3]["token_endpoint_auth_signing_alg"] = json!("RS256"),
            "clients[3].token_endpoint_auth_signing_alg",
        ),
    ];
    check_refusals(server_json, load_server, cases);
}

#[test]
fn unknown_server_fields_are_refused_by_name() {
    let cases: &[Case] = &[
        ("top_level", |r| r["isuer"] = json!(ISSUER), "isuer"),
        (
            "in_a_client",
            |r| r["clients"][0]["client_secrt"] = json!("x"),
            "client_secrt",
        ),
        (
            "in_registration",
            |r| r["registration"] = json!({ "allowed_scopes": "read" }),
            "allowed_scopes",
        ),
        (
            "assertion_typ_switch_misspelt",
            |r| r["require_explicit_assertion_type"] = json!(true),
            "require_explicit_assertion_type",
        ),
    ];
    let mut failures = Failures::default();
    for (name, tweak, unknown) in cases {
        let mut raw = server_json();
        tweak(&mut raw);
        match ServerConfig::from_json(&raw.to_string()) {
            Ok(_) => failures.push(name, "accepted".into()),
            Err(e) => failures.check(name, e.to_string().contains(unknown), || format!("{e}")),
        }
    }
    failures.assert_none();
}

// ---------------------------------------------------------------------------------------------
// Provider (resource server)

fn provider_json() -> Value {
    json!({
        "issuer": ISSUER,
        "audiences": [API],
        "local_jwks": { "inline_string": jwks(&[&keys().server]).to_string() },
    })
}

fn remote_provider_json() -> Value {
    json!({
        "issuer": ISSUER,
        "audiences": [API],
        "remote_jwks": {
            "http_uri": { "uri": "https://as.example.com/.well-known/jwks.json", "cluster": "as", "timeout": "2s" },
            "cache_duration": "300s",
        },
        "jwks_kid_miss_cooldown": "10s",
    })
}

#[test]
fn provider_defaults_follow_rfc9068_and_rfc6750() {
    let p = Provider::from_json(&provider_json().to_string()).unwrap();
    assert_eq!(p.policy.issuer, ISSUER);
    assert_eq!(p.policy.audiences, vec![API.to_string()]);
    assert_eq!(p.policy.require_typ.as_deref(), Some("at+jwt"));
    assert_eq!(p.policy.clock_skew_seconds, 60);
    assert_eq!(p.policy.max_lifetime, None);
    assert!(p.policy.algorithms.iter().all(|a| !a.is_symmetric()));
    assert!(p.policy.algorithms.contains(&Algorithm::EdDSA));
    assert_eq!(p.from_headers.len(), 1);
    assert_eq!(p.from_headers[0].name, "authorization");
    assert_eq!(p.from_headers[0].token("bearer abc"), Some("abc"));
    assert_eq!(p.from_headers[0].token("Basic abc"), None);
    assert!(!p.forward);
    assert!(matches!(p.keys, KeySource::Local(ref set) if set.keys.len() == 1));

    let mut raw = provider_json();
    raw["claim_to_headers"] = json!([{ "header_name": "X-Client-Id", "claim_name": "client_id" }]);
    raw["forward_payload_header"] = json!("X-Jwt-Payload");
    raw["from_headers"] = json!([{ "name": "X-Token" }]);
    raw["max_lifetime"] = json!("3600s");
    raw["algorithms"] = json!(["ES256", "EdDSA"]);
    let p = Provider::from_json(&raw.to_string()).unwrap();
    assert_eq!(
        p.claim_to_headers,
        vec![("x-client-id".into(), "client_id".into())]
    );
    assert_eq!(p.forward_payload_header.as_deref(), Some("x-jwt-payload"));
    assert_eq!(p.from_headers[0].name, "x-token");
    assert_eq!(p.from_headers[0].token("abc"), Some("abc"));
    assert_eq!(p.policy.max_lifetime, Some(3600));
    assert_eq!(
        p.policy.algorithms,
        vec![Algorithm::ES256, Algorithm::EdDSA]
    );

    let p = Provider::from_json(&remote_provider_json().to_string()).unwrap();
    let KeySource::Remote(remote) = p.keys else {
        panic!("remote keys expected");
    };
    assert_eq!(remote.uri, "https://as.example.com/.well-known/jwks.json");
    assert_eq!(remote.cluster, "as");
    assert_eq!(remote.timeout_ms, 2000);
    assert_eq!(remote.cache_duration, 300);
    assert_eq!(remote.kid_miss_cooldown, 10);
}

#[test]
fn bad_provider_configurations_name_the_field() {
    fn inline(raw: &mut Value, set: Value) {
        raw["local_jwks"]["inline_string"] = json!(set.to_string());
    }
    let cases: &[Case] = &[
        ("empty_issuer", |r| r["issuer"] = json!(""), "issuer"),
        ("no_audiences", |r| r["audiences"] = json!([]), "audiences"),
        (
            "empty_audience",
            |r| r["audiences"] = json!([API, ""]),
            "audiences",
        ),
        (
            "inline_jwks_that_is_not_json",
            |r| r["local_jwks"]["inline_string"] = json!("{keys"),
            "local_jwks.inline_string",
        ),
        (
            "inline_jwks_without_keys",
            |r| inline(r, json!({})),
            "local_jwks.inline_string.keys",
        ),
        (
            "inline_jwks_with_empty_keys",
            |r| inline(r, json!({ "keys": [] })),
            "local_jwks.inline_string.keys",
        ),
        (
            "inline_jwks_with_a_private_key",
            |r| inline(r, json!({ "keys": [keys().server.to_private_json()] })),
            "local_jwks.inline_string.keys",
        ),
        (
            "inline_jwks_with_a_secret_and_no_hmac_algorithm",
            |r| {
                inline(
                    r,
                    json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA" }] }),
                )
            },
            "local_jwks.inline_string.keys",
        ),
        (
            "inline_jwks_with_a_duplicate_kid",
            |r| {
                inline(
                    r,
                    jwks(&[
                        &keys().server,
                        &with_kid(&keys().server_next, &keys().server.kid),
                    ]),
                )
            },
            "local_jwks.inline_string.keys",
        ),
        (
            "algorithm_none",
            |r| r["algorithms"] = json!(["none"]),
            "algorithms[0]",
        ),
        (
            "second_algorithm_unknown",
            |r| r["algorithms"] = json!(["ES256", "HS257"]),
            "algorithms[1]",
        ),
        (
            "no_algorithms",
            |r| r["algorithms"] = json!([]),
            "algorithms",
        ),
        (
            "claim_header_with_a_space",
            |r| r["claim_to_headers"] = json!([{ "header_name": "x client", "claim_name": "sub" }]),
            "claim_to_headers[0].header_name",
        ),
        (
            "second_claim_header_empty",
            |r| r["claim_to_headers"] = json!([{ "header_name": "x-sub", "claim_name": "sub" }, { "header_name": "", "claim_name": "iss" }]),
            "claim_to_headers[1].header_name",
        ),
        (
            "claim_header_without_claim",
            |r| r["claim_to_headers"] = json!([{ "header_name": "x-sub", "claim_name": "" }]),
            "claim_to_headers[0].claim_name",
        ),
        (
            "no_token_locations",
            |r| r["from_headers"] = json!([]),
            "from_headers",
        ),
        (
            "token_location_with_a_bad_header_name",
            |r| r["from_headers"] = json!([{ "name": "x:token" }]),
            "from_headers[0].name",
        ),
        (
            "payload_header_with_a_colon",
            |r| r["forward_payload_header"] = json!("x:payload"),
            "forward_payload_header",
        ),
        (
            "max_lifetime_in_hours",
            |r| r["max_lifetime"] = json!("1h"),
            "max_lifetime",
        ),
        (
            "clock_skew_over_ten_minutes",
            |r| r["clock_skew_seconds"] = json!(601),
            "clock_skew_seconds",
        ),
        (
            "local_and_remote_jwks",
            |r| r["remote_jwks"] = remote_provider_json()["remote_jwks"].clone(),
            "local_jwks",
        ),
        (
            "no_keys_at_all",
            |r| {
                r.as_object_mut().unwrap().remove("local_jwks");
            },
            "local_jwks",
        ),
        (
            "scope_claims_empty",
            |r| r["scope_claims"] = json!([]),
            "scope_claims",
        ),
        (
            "scope_claims_too_many",
            |r| r["scope_claims"] = json!(["a", "b", "c", "d", "e", "f", "g", "h", "i"]),
            "scope_claims",
        ),
        (
            "scope_claims_blank_name",
            |r| r["scope_claims"] = json!(["scope", ""]),
            "scope_claims[1]",
        ),
        (
            "scope_claims_listed_twice",
            |r| r["scope_claims"] = json!(["scp", "permissions", "scp"]),
            "scope_claims[2]",
        ),
        (
            "scope_claims_not_strings",
            |r| r["scope_claims"] = json!(["scope", 1]),
            "scope_claims[1]",
        ),
    ];
    check_refusals(provider_json, load_provider, cases);

    let remote_cases: &[Case] = &[
        (
            "remote_jwks_over_plain_http",
            |r| r["remote_jwks"]["http_uri"]["uri"] = json!("http://as.example.com/jwks"),
            "remote_jwks.http_uri.uri",
        ),
        (
            "remote_jwks_without_cluster",
            |r| r["remote_jwks"]["http_uri"]["cluster"] = json!(""),
            "remote_jwks.http_uri.cluster",
        ),
        (
            "remote_jwks_timeout_in_milliseconds",
            |r| r["remote_jwks"]["http_uri"]["timeout"] = json!("500ms"),
            "remote_jwks.http_uri.timeout",
        ),
        (
            "remote_jwks_cache_duration_in_minutes",
            |r| r["remote_jwks"]["cache_duration"] = json!("10m"),
            "remote_jwks.cache_duration",
        ),
        (
            "kid_miss_cooldown_malformed",
            |r| r["jwks_kid_miss_cooldown"] = json!("soon"),
            "jwks_kid_miss_cooldown",
        ),
    ];
    check_refusals(remote_provider_json, load_provider, remote_cases);
}

#[test]
fn unknown_provider_fields_are_refused_by_name() {
    let cases: &[Case] = &[
        ("top_level", |r| r["audience"] = json!(API), "audience"),
        (
            "in_local_jwks",
            |r| r["local_jwks"]["inline"] = json!("{}"),
            "inline",
        ),
        (
            "in_claim_to_headers",
            |r| r["claim_to_headers"] = json!([{ "header": "x", "claim_name": "sub" }]),
            "header",
        ),
        (
            "in_from_headers",
            |r| r["from_headers"] = json!([{ "name": "x", "prefix": "Bearer " }]),
            "prefix",
        ),
    ];
    let mut failures = Failures::default();
    for (name, tweak, unknown) in cases {
        let mut raw = provider_json();
        tweak(&mut raw);
        match Provider::from_json(&raw.to_string()) {
            Ok(_) => failures.push(name, "accepted".into()),
            Err(e) => failures.check(
                name,
                e.to_string().contains(&format!("`{unknown}`")),
                || format!("{e}"),
            ),
        }
    }
    failures.assert_none();
}
