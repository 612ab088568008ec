//! The client model beyond a secret and a scope list (issue 15): per-client token lifetimes,
//! audiences named with `resource` or `audience`, static claims, the disabled state, and RFC 7662
//! introspection — through the token exchange every shell runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use gatepass_core::claims::RESERVED_CLAIMS;
use gatepass_core::client_auth::{ClientRecord, ReplayOutcome};
use gatepass_core::config::ServerConfig;
use gatepass_core::exchange::{
    self, Advanced, Answer, Finished, HostCrypto, Next, Tally, TokenExchange,
};
use gatepass_core::registration;
use serde_json::{json, Map, Value};

const INTROSPECTOR_SECRET: &str = "introspector-secret-0123456789abcdefghijkl";

/// The standard configuration with an introspecting client, after `tweak`.
fn config(tweak: impl FnOnce(&mut Value)) -> ServerConfig {
    server_config(|raw| {
        raw["clients"].as_array_mut().unwrap().push(json!({
            "client_id": "introspector",
            "client_secret_hash": hash(INTROSPECTOR_SECRET),
            "introspection": true,
        }));
        tweak(raw);
    })
}

/// The configured client `id`, as JSON, to change.
fn client_mut<'a>(raw: &'a mut Value, id: &str) -> &'a mut Value {
    raw["clients"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["client_id"] == id)
        .unwrap()
}

fn config_error(tweak: impl FnOnce(&mut Value)) -> (String, String) {
    let mut raw = server_json();
    tweak(&mut raw);
    let e = ServerConfig::from_json(&raw.to_string()).unwrap_err();
    (e.field.clone(), e.to_string())
}

/// Runs a request to its end as a host with synchronous stores does: the configuration's
/// clients plus `stored`, a replay store that records everything.
fn run(config: &ServerConfig, mut exchange: TokenExchange, stored: &[ClientRecord]) -> Finished {
    let crypto = HostCrypto {
        verify: &|c| c.verify_builtin(),
        sign: &|_, _, _| None,
    };
    let mut rng = rng(5);
    loop {
        let find = |id: &str| {
            config
                .client(id)
                .or_else(|| stored.iter().find(|c| c.client_id == id))
        };
        match exchange::advance(&mut exchange, config, find, &crypto, &mut rng) {
            Advanced::Over(done) => return done,
            Advanced::RecordReplay { .. } => {
                exchange.replay_recorded(config, ReplayOutcome::Recorded)
            }
        }
    }
}

fn token(config: &ServerConfig, http: &Http) -> Finished {
    run(
        config,
        TokenExchange::begin(config, &http.as_request(), NOW, [3; 16]),
        &[],
    )
}

fn introspect_at(
    config: &ServerConfig,
    http: &Http,
    now: u64,
    stored: &[ClientRecord],
) -> Finished {
    run(
        config,
        TokenExchange::begin_introspection(config, &http.as_request(), now),
        stored,
    )
}

fn basic_token(config: &ServerConfig, form: Form) -> Map<String, Value> {
    let done = token(
        config,
        &Http::post(form).authorization(&basic("basic-client", BASIC_SECRET)),
    );
    assert_eq!(done.response.status, 200, "{:?}", body(&done.response));
    body(&done.response)
}

/// An access token of `basic-client` (every default) from `config`.
fn access_token_of(config: &ServerConfig) -> String {
    String::from(
        basic_token(config, Form::client_credentials())["access_token"]
            .as_str()
            .unwrap(),
    )
}

fn claims_of(response: &Map<String, Value>) -> Map<String, Value> {
    let (_, claims) = decode_parts(response["access_token"].as_str().unwrap());
    claims.as_object().unwrap().clone()
}

fn error_of(done: &Finished) -> (u16, String) {
    (
        done.response.status,
        body(&done.response)["error"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

// ---------------------------------------------------------------------------------------------
// token_ttl

#[test]
fn a_client_token_ttl_sets_exp_and_expires_in_and_others_keep_the_server_default() {
    let c = config(|raw| {
        raw["max_token_ttl"] = json!("7200s");
        client_mut(raw, "basic-client")["token_ttl"] = json!("600s");
        client_mut(raw, "post-client")["token_ttl"] = json!(7200);
    });
    let short = basic_token(&c, Form::client_credentials());
    assert_eq!(short["expires_in"], 600);
    let claims = claims_of(&short);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        600
    );

    let post = token(
        &c,
        &Http::post(
            Form::client_credentials()
                .with("client_id", "post-client")
                .with("client_secret", POST_SECRET),
        ),
    );
    assert_eq!(body(&post.response)["expires_in"], 7200);
    let other = token(
        &c,
        &Http::post(Form::client_credentials()).authorization(&basic(ODD_CLIENT_ID, ODD_SECRET)),
    );
    assert_eq!(body(&other.response)["expires_in"], 3600);
}

#[test]
fn a_client_token_ttl_is_bounded_by_max_token_ttl_which_defaults_to_token_ttl() {
    // Without max_token_ttl a client may only shorten the server's lifetime.
    let (field, _) =
        config_error(|raw| client_mut(raw, "basic-client")["token_ttl"] = json!("3601s"));
    assert_eq!(field, "clients[0].token_ttl");
    let (field, _) = config_error(|raw| {
        raw["max_token_ttl"] = json!("7200s");
        client_mut(raw, "basic-client")["token_ttl"] = json!("7201s");
    });
    assert_eq!(field, "clients[0].token_ttl");
    let (field, _) = config_error(|raw| client_mut(raw, "basic-client")["token_ttl"] = json!(0));
    assert_eq!(field, "clients[0].token_ttl");
    let (field, _) =
        config_error(|raw| client_mut(raw, "basic-client")["token_ttl"] = json!("ten minutes"));
    assert_eq!(field, "clients[0].token_ttl");
    let (field, _) = config_error(|raw| raw["max_token_ttl"] = json!("60s"));
    assert_eq!(field, "max_token_ttl");
    let (field, _) = config_error(|raw| raw["max_token_ttl"] = json!(86_401));
    assert_eq!(field, "max_token_ttl");
}

// ---------------------------------------------------------------------------------------------
// audiences: resource or audience

#[test]
fn the_audience_parameter_names_audiences_as_resource_does() {
    let c = config(|_| {});
    let one = claims_of(&basic_token(
        &c,
        Form::client_credentials().with("audience", BILLING),
    ));
    assert_eq!(one["aud"], BILLING);
    let two = claims_of(&basic_token(
        &c,
        Form::client_credentials()
            .with("audience", API)
            .with("audience", BILLING),
    ));
    assert_eq!(two["aud"], json!([API, BILLING]));
    let by_resource = claims_of(&basic_token(
        &c,
        Form::client_credentials().with("resource", BILLING),
    ));
    assert_eq!(by_resource["aud"], BILLING);
    // Without either: every audience of the client.
    let all = claims_of(&basic_token(&c, Form::client_credentials()));
    assert_eq!(all["aud"], json!([API, BILLING]));
}

#[test]
fn an_audience_the_client_may_not_have_is_invalid_target_and_both_parameters_are_invalid_request() {
    let c = config(|_| {});
    let basic_auth = basic("basic-client", BASIC_SECRET);
    let ask = |form: Form| error_of(&token(&c, &Http::post(form).authorization(&basic_auth)));
    let target = (400, "invalid_target".to_string());
    assert_eq!(
        ask(Form::client_credentials().with("audience", "https://other.example")),
        target
    );
    assert_eq!(
        ask(Form::client_credentials()
            .with("audience", API)
            .with("audience", "https://other.example")),
        target
    );
    assert_eq!(
        ask(Form::client_credentials().with("audience", "not a uri")),
        target
    );
    assert_eq!(
        ask(Form::client_credentials().with("resource", "https://other.example")),
        target
    );
    assert_eq!(
        ask(Form::client_credentials()
            .with("resource", API)
            .with("audience", API)),
        (400, "invalid_request".to_string())
    );
}

#[test]
fn require_audience_refuses_a_request_that_names_none() {
    let c = config(|raw| raw["require_audience"] = json!(true));
    let done = token(
        &c,
        &Http::post(Form::client_credentials()).authorization(&basic("basic-client", BASIC_SECRET)),
    );
    assert_eq!(error_of(&done), (400, "invalid_target".to_string()));
    assert!(body(&done.response)["error_description"]
        .as_str()
        .unwrap()
        .contains("audience"));
    assert_eq!(
        claims_of(&basic_token(
            &c,
            Form::client_credentials().with("audience", API)
        ))["aud"],
        API
    );
    assert_eq!(
        claims_of(&basic_token(
            &c,
            Form::client_credentials().with("resource", API)
        ))["aud"],
        API
    );
}

// ---------------------------------------------------------------------------------------------
// static claims

#[test]
fn static_claims_are_added_to_the_client_tokens_and_no_other_client_gets_them() {
    let c = config(|raw| {
        client_mut(raw, "basic-client")["claims"] =
            json!({"tenant": "acme", "groups": ["billing", "ops"], "tier": 2});
    });
    let claims = claims_of(&basic_token(&c, Form::client_credentials()));
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["groups"], json!(["billing", "ops"]));
    assert_eq!(claims["tier"], 2);
    assert_eq!(claims["sub"], "basic-client");
    let other = token(
        &c,
        &Http::post(Form::client_credentials()).authorization(&basic(ODD_CLIENT_ID, ODD_SECRET)),
    );
    assert!(!claims_of(&body(&other.response)).contains_key("tenant"));
}

#[test]
fn every_registered_claim_name_is_refused_as_a_static_claim_naming_the_field() {
    let mut failures = Failures::default();
    for name in RESERVED_CLAIMS {
        let (field, message) = config_error(|raw| {
            client_mut(raw, "basic-client")["claims"] = json!({ name: "x" });
        });
        failures.check(name, field == format!("clients[0].claims.{name}"), || {
            format!("{field}: {message}")
        });
    }
    failures.assert_none();
    let many: Map<String, Value> = (0..33).map(|i| (format!("c{i}"), json!(i))).collect();
    let (field, _) =
        config_error(|raw| client_mut(raw, "basic-client")["claims"] = Value::Object(many));
    assert_eq!(field, "clients[0].claims");
    let (field, _) = config_error(|raw| {
        client_mut(raw, "basic-client")["claims"] = json!({"big": "x".repeat(5000)})
    });
    assert_eq!(field, "clients[0].claims");
    let (field, _) = config_error(|raw| client_mut(raw, "basic-client")["claims"] = json!({"": 1}));
    assert_eq!(field, "clients[0].claims.");
}

// ---------------------------------------------------------------------------------------------
// disabled

#[test]
fn a_disabled_client_gets_the_answer_of_a_wrong_secret() {
    let c = config(|raw| client_mut(raw, "basic-client")["disabled"] = json!(true));
    let disabled = token(
        &c,
        &Http::post(Form::client_credentials()).authorization(&basic("basic-client", BASIC_SECRET)),
    );
    let wrong = token(
        &c,
        &Http::post(Form::client_credentials()).authorization(&basic("basic-client", "wrong")),
    );
    assert_eq!(disabled.response, wrong.response);
    assert_eq!(error_of(&disabled), (401, "invalid_client".to_string()));
    assert_eq!(disabled.tally(), Tally::ClientAuthFailed);
}

#[test]
fn a_disabled_key_client_is_refused_before_its_assertion_is_recorded() {
    let c = config(|raw| client_mut(raw, "es256-client")["disabled"] = json!(true));
    let assertion =
        Jwt::assertion_for("es256-client", &keys().es256_client).sign(&keys().es256_client);
    let http = Http::post(Form::client_credentials().assertion(&assertion));
    let mut exchange = TokenExchange::begin(&c, &http.as_request(), NOW, [3; 16]);
    // The signature is checked, then the client is refused: the replay store is never asked.
    assert!(matches!(exchange.next(), Next::CheckSignature(_)));
    exchange.check_signature_builtin(&c);
    let Next::Respond(response) = exchange.next() else {
        panic!("the replay store was asked for a disabled client")
    };
    assert_eq!(response.status, 401);
    assert_eq!(
        body(response)["error_description"],
        "client authentication failed"
    );
    // Enabled, the same assertion is accepted.
    let enabled = config(|_| {});
    let done = token(&enabled, &http);
    assert_eq!(done.response.status, 200, "{:?}", body(&done.response));
}

// ---------------------------------------------------------------------------------------------
// introspection

fn introspection(token: &str) -> Http {
    Http::post(
        Form::new()
            .with("token", token)
            .with("token_type_hint", "access_token"),
    )
    .authorization(&basic("introspector", INTROSPECTOR_SECRET))
}

#[test]
fn introspection_answers_active_with_the_token_claims_for_a_token_of_this_server() {
    let c = config(|raw| client_mut(raw, "basic-client")["claims"] = json!({"tenant": "acme"}));
    let issued = basic_token(&c, Form::client_credentials().with("scope", "read"));
    let access_token = issued["access_token"].as_str().unwrap();
    let done = introspect_at(&c, &introspection(access_token), NOW + 10, &[]);
    assert_eq!(done.response.status, 200);
    assert_eq!(done.response.header("cache-control"), Some("no-store"));
    let answer = body(&done.response);
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["client_id"], "basic-client");
    assert_eq!(answer["sub"], "basic-client");
    assert_eq!(answer["scope"], "read");
    assert_eq!(answer["iss"], ISSUER);
    assert_eq!(answer["aud"], json!([API, BILLING]));
    assert_eq!(answer["tenant"], "acme");
    assert_eq!(answer["exp"], NOW + 3600);
    assert!(matches!(
        done.outcome,
        Ok(Answer::Introspected { active: true })
    ));
    assert_eq!(done.tally(), Tally::IntrospectionActive);
    // Every method authenticates the caller: the same answer for a client_secret_post client.
    let c = config(|raw| {
        client_mut(raw, "basic-client")["claims"] = json!({"tenant": "acme"});
        client_mut(raw, "post-client")["introspection"] = json!(true);
    });
    let post = Http::post(
        Form::new()
            .with("token", access_token)
            .with("client_id", "post-client")
            .with("client_secret", POST_SECRET),
    );
    assert_eq!(
        body(&introspect_at(&c, &post, NOW + 10, &[]).response),
        answer
    );
}

#[test]
fn introspection_answers_only_active_false_for_any_token_that_does_not_count() {
    let c = config(|_| {});
    let access_token = access_token_of(&c);
    let k = keys();
    let foreign = Jwt::access_token(&k.eddsa_client).sign(&k.eddsa_client);
    let unsigned_by_us = {
        let (_, claims) = decode_parts(&access_token);
        Jwt::new(
            json!({"alg": "ES256", "typ": "at+jwt", "kid": k.server.kid}),
            claims,
        )
        .sign(&k.es256_client)
    };
    let tampered = {
        let (header, mut claims) = decode_parts(&access_token);
        claims["scope"] = json!("admin");
        let parts: Vec<&str> = access_token.split('.').collect();
        let _ = header;
        format!(
            "{}.{}.{}",
            parts[0],
            gatepass_core::b64::encode_url(claims.to_string().as_bytes()),
            parts[2]
        )
    };
    let cases: Vec<(&str, String, u64)> = vec![
        ("expired", access_token.clone(), NOW + 3600),
        ("garbage", "not-a-token".into(), NOW),
        ("another issuer's key", foreign, NOW),
        ("signed by another key under our kid", unsigned_by_us, NOW),
        ("tampered claims", tampered, NOW),
    ];
    let mut failures = Failures::default();
    for (name, t, now) in cases {
        let done = introspect_at(&c, &introspection(&t), now, &[]);
        failures.check(name, done.response.status == 200, || {
            format!("status {}", done.response.status)
        });
        failures.check(
            name,
            body(&done.response) == *json!({"active": false}).as_object().unwrap(),
            || format!("{:?}", body(&done.response)),
        );
        failures.check(name, done.tally() == Tally::IntrospectionInactive, || {
            format!("{:?}", done.tally())
        });
    }
    failures.assert_none();
    // Still valid one second before exp.
    assert_eq!(
        body(&introspect_at(&c, &introspection(&access_token), NOW + 3599, &[]).response)["active"],
        true
    );
}

#[test]
fn a_token_of_a_client_disabled_or_gone_since_is_inactive() {
    let minted_by = config(|_| {});
    let access_token = access_token_of(&minted_by);
    let disabled = config(|raw| client_mut(raw, "basic-client")["disabled"] = json!(true));
    assert_eq!(
        body(&introspect_at(&disabled, &introspection(&access_token), NOW, &[]).response)["active"],
        false
    );
    let gone = config(|raw| {
        raw["clients"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c["client_id"] != "basic-client");
    });
    // Not in the configuration: the host's store is asked for the token's client, and has none.
    let mut exchange =
        TokenExchange::begin_introspection(&gone, &introspection(&access_token).as_request(), NOW);
    assert!(matches!(exchange.next(), Next::CheckSignature(_)));
    exchange.check_signature_builtin(&gone);
    assert!(matches!(exchange.next(), Next::LoadClient("basic-client")));
    exchange.client_loaded(&gone, None);
    let Next::Respond(response) = exchange.next() else {
        panic!()
    };
    assert_eq!(body(response)["active"], false);
    // A stored client that still exists makes it active.
    let stored = minted_by.client("basic-client").unwrap().clone();
    let done = introspect_at(&gone, &introspection(&access_token), NOW, &[stored]);
    assert_eq!(body(&done.response)["active"], true);
}

#[test]
fn introspection_refuses_callers_that_may_not_introspect_and_malformed_requests() {
    let c = config(|_| {});
    let access_token = access_token_of(&c);
    let not_allowed = Http::post(Form::new().with("token", &access_token))
        .authorization(&basic("basic-client", BASIC_SECRET));
    let done = introspect_at(&c, &not_allowed, NOW, &[]);
    assert_eq!(error_of(&done), (400, "unauthorized_client".to_string()));
    assert_eq!(done.tally(), Tally::IntrospectionRefused);
    let wrong_secret = Http::post(Form::new().with("token", &access_token))
        .authorization(&basic("introspector", "wrong"));
    assert_eq!(
        error_of(&introspect_at(&c, &wrong_secret, NOW, &[])),
        (401, "invalid_client".to_string())
    );
    let anonymous = Http::post(Form::new().with("token", &access_token));
    assert_eq!(
        error_of(&introspect_at(&c, &anonymous, NOW, &[])),
        (401, "invalid_client".to_string())
    );
    let no_token =
        Http::post(Form::new()).authorization(&basic("introspector", INTROSPECTOR_SECRET));
    assert_eq!(
        error_of(&introspect_at(&c, &no_token, NOW, &[])),
        (400, "invalid_request".to_string())
    );
    let get = introspection(&access_token).method("GET");
    assert_eq!(introspect_at(&c, &get, NOW, &[]).response.status, 405);
}

#[test]
fn introspection_by_private_key_jwt_records_the_assertion_once() {
    let c = config(|raw| client_mut(raw, "es256-client")["introspection"] = json!(true));
    let access_token = access_token_of(&c);
    let assertion =
        Jwt::assertion_for("es256-client", &keys().es256_client).sign(&keys().es256_client);
    let http = Http::post(
        Form::new()
            .with("token", &access_token)
            .assertion(&assertion),
    );
    let mut exchange = TokenExchange::begin_introspection(&c, &http.as_request(), NOW);
    exchange.check_signature_builtin(&c);
    let Next::RecordReplay { .. } = exchange.next() else {
        panic!("no replay check")
    };
    exchange.replay_recorded(&c, ReplayOutcome::AlreadySeen);
    let Next::Respond(response) = exchange.next() else {
        panic!()
    };
    assert_eq!(response.status, 401);
    let done = introspect_at(&c, &http, NOW, &[]);
    assert_eq!(body(&done.response)["active"], true);
}

#[test]
fn metadata_advertises_the_introspection_endpoint_and_its_methods() {
    let c = config(|_| {});
    let doc = gatepass_core::metadata::document(&c);
    assert_eq!(
        doc["introspection_endpoint"],
        format!("{ISSUER}/oauth/introspect")
    );
    assert_eq!(
        doc["introspection_endpoint_auth_methods_supported"],
        doc["token_endpoint_auth_methods_supported"]
    );
    let moved = config(|raw| raw["introspection_path"] = json!("/introspect"));
    assert_eq!(
        gatepass_core::metadata::document(&moved)["introspection_endpoint"],
        format!("{ISSUER}/introspect")
    );
    assert_eq!(
        gatepass_core::routes::route(&moved, b"POST", b"/introspect"),
        gatepass_core::routes::Route::Introspect
    );
}

// ---------------------------------------------------------------------------------------------
// registration and the operator's changes

fn registration_config(tweak: impl FnOnce(&mut Value)) -> ServerConfig {
    config(|raw| {
        raw["max_token_ttl"] = json!("7200s");
        raw["registration"] = json!({
            "allowed_scope": "read", "open_registration": true,
            "allowed_claims": ["team"],
        });
        tweak(raw);
    })
}

fn register(config: &ServerConfig, doc: Value) -> Result<registration::Registered, String> {
    let policy = config.registration.as_ref().unwrap();
    let access = registration::check_initial_access(policy, None).unwrap();
    registration::register(access, doc.to_string().as_bytes(), config, NOW, &mut rng(9))
        .map_err(|e| e.description.clone())
}

#[test]
fn registration_takes_allowed_claims_and_a_bounded_token_ttl_and_refuses_operator_settings() {
    let c = registration_config(|_| {});
    let ok = register(
        &c,
        json!({"claims": {"team": "payments"}, "token_ttl": 900}),
    )
    .unwrap();
    assert_eq!(ok.record.claims["team"], "payments");
    assert_eq!(ok.record.token_ttl, Some(900));
    let shown = body(&ok.response);
    assert_eq!(shown["claims"], json!({"team": "payments"}));
    assert_eq!(shown["token_ttl"], 900);
    let refusals = [
        (json!({"claims": {"tenant": "acme"}}), "claims.tenant"),
        (json!({"claims": {"iss": "x"}}), "claims.iss"),
        (json!({"claims": ["team"]}), "claims"),
        (json!({"token_ttl": 7201}), "token_ttl"),
        (json!({"token_ttl": 0}), "token_ttl"),
        (json!({"introspection": true}), "introspection"),
        (json!({"disabled": true}), "disabled"),
    ];
    let mut failures = Failures::default();
    for (doc, field) in refusals {
        let got = register(&c, doc.clone());
        failures.check(
            field,
            got.as_ref()
                .is_err_and(|e| e.starts_with(&format!("{field}:"))),
            || format!("{doc} → {:?}", got.as_ref().map(|_| ())),
        );
    }
    failures.assert_none();
    let (field, _) = config_error(|raw| {
        raw["registration"] =
            json!({"allowed_scope": "read", "open_registration": true, "allowed_claims": ["sub"]});
    });
    assert_eq!(field, "registration.allowed_claims[0]");
}

fn update(
    config: &ServerConfig,
    record: &ClientRecord,
    doc: Value,
) -> Result<ClientRecord, String> {
    let access = registration::check_registration_access(Some(record), Some("Bearer rat")).unwrap();
    registration::update(access, doc.to_string().as_bytes(), config)
        .map(|(r, _)| r)
        .map_err(|e| e.description.clone())
}

#[test]
fn rfc7592_updates_keep_the_operator_settings_and_disable_only_where_allowed() {
    let c = registration_config(|_| {});
    let mut record = register(&c, json!({"claims": {"team": "payments"}}))
        .unwrap()
        .record;
    record.registration_access_token_hash = Some(gatepass_core::secret::SecretHash::of("rat"));
    record.claims.insert("tenant".into(), json!("acme")); // set by the operator
    record.introspection = true;
    let id = record.client_id.clone();
    // The operator's tenant and introspection stay; team is replaced.
    let updated = update(
        &c,
        &record,
        json!({"client_id": id, "claims": {"team": "risk"}}),
    )
    .unwrap();
    assert_eq!(
        updated.claims,
        *json!({"tenant": "acme", "team": "risk"})
            .as_object()
            .unwrap()
    );
    assert!(updated.introspection);
    // Echoing the operator's claim and flag back is fine; changing them is not.
    let echoed = json!({"client_id": id, "claims": {"tenant": "acme"}, "introspection": true});
    assert!(update(&c, &record, echoed).is_ok());
    let changed = json!({"client_id": id, "claims": {"tenant": "evil"}});
    assert!(update(&c, &record, changed)
        .unwrap_err()
        .starts_with("claims.tenant:"));
    assert!(update(
        &c,
        &record,
        json!({"client_id": id, "introspection": false})
    )
    .unwrap_err()
    .starts_with("introspection:"));
    // Disabling oneself needs the server's consent.
    assert!(
        update(&c, &record, json!({"client_id": id, "disabled": true}))
            .unwrap_err()
            .starts_with("disabled:")
    );
    let may = registration_config(|raw| raw["registration"]["clients_may_disable"] = json!(true));
    let off = update(&may, &record, json!({"client_id": id, "disabled": true})).unwrap();
    assert!(off.disabled);
    // A disabled client cannot enable itself, by saying so or by leaving the member out.
    let mut off = off;
    off.registration_access_token_hash = record.registration_access_token_hash.clone();
    for doc in [
        json!({"client_id": id, "disabled": false}),
        json!({"client_id": id}),
    ] {
        assert!(update(&may, &off, doc)
            .unwrap_err()
            .starts_with("disabled:"));
    }
    assert!(
        update(&may, &off, json!({"client_id": id, "disabled": true}))
            .unwrap()
            .disabled
    );
}

#[test]
fn the_operator_changes_a_stored_client_and_it_loads_with_the_change() {
    let c = registration_config(|_| {});
    let record = register(&c, json!({})).unwrap().record;
    let text = record.to_json();
    let off = c
        .change_stored_client(&text, r#"{"disabled": true, "introspection": true}"#)
        .unwrap();
    let loaded = c.stored_client(&off).unwrap();
    assert!(loaded.disabled && loaded.introspection);
    let on = c
        .change_stored_client(&off, r#"{"disabled": false}"#)
        .unwrap();
    let loaded = c.stored_client(&on).unwrap();
    assert!(!loaded.disabled && loaded.introspection);
    assert_eq!(
        on,
        c.change_stored_client(&text, r#"{"introspection": true}"#)
            .unwrap()
    );
    let with_claims = c
        .change_stored_client(&text, r#"{"claims": {"tenant": "acme"}, "token_ttl": 60}"#)
        .unwrap();
    let loaded = c.stored_client(&with_claims).unwrap();
    assert_eq!(loaded.claims["tenant"], "acme");
    assert_eq!(loaded.token_ttl, Some(60));
    let refused = |change: &str| c.change_stored_client(&text, change).unwrap_err().field;
    assert_eq!(refused(r#"{"claims": {"aud": "x"}}"#), "claims.aud");
    assert_eq!(refused(r#"{"token_ttl": 7201}"#), "token_ttl");
    assert_eq!(refused(r#"{"enabled": true}"#), "enabled");
}

#[test]
fn a_stored_token_ttl_is_cut_to_todays_max_token_ttl() {
    let generous = registration_config(|raw| raw["max_token_ttl"] = json!("7200s"));
    let record = register(&generous, json!({"token_ttl": 7200}))
        .unwrap()
        .record;
    let strict = registration_config(|raw| raw["max_token_ttl"] = json!("3600s"));
    assert_eq!(
        strict.stored_client(&record.to_json()).unwrap().token_ttl,
        Some(3600)
    );
}

#[test]
fn a_token_for_a_registered_client_carries_its_claims_and_lifetime() {
    let c = registration_config(|_| {});
    let registered = register(
        &c,
        json!({"claims": {"team": "payments"}, "token_ttl": 120, "scope": "read"}),
    )
    .unwrap();
    let secret = body(&registered.response)["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let id = registered.record.client_id.clone();
    let stored = c.stored_client(&registered.record.to_json()).unwrap();
    let http = Http::post(Form::client_credentials()).authorization(&basic(&id, &secret));
    let done = run(
        &c,
        TokenExchange::begin(&c, &http.as_request(), NOW, [4; 16]),
        &[stored],
    );
    assert_eq!(done.response.status, 200, "{:?}", body(&done.response));
    let answer = body(&done.response);
    assert_eq!(answer["expires_in"], 120);
    assert_eq!(claims_of(&answer)["team"], "payments");
}

#[test]
fn the_introspection_path_is_its_own() {
    let (field, message) = config_error(|raw| raw["introspection_path"] = json!("/oauth/token"));
    assert_eq!(field, "introspection_path");
    assert!(message.contains("same path as path"), "{message}");
    let (field, _) = config_error(|raw| raw["jwks_path"] = json!("/oauth/introspect"));
    assert_eq!(field, "jwks_path");
}
