//! Benchmarks: each core operation next to the bare signature primitive it wraps (the floor).
//!
//! Groups:
//! * `verify/<alg>`: `verify_access_token` (parse, key choice, signature, claims) vs
//!   `crypto::verify` on the same signing input and signature;
//! * `mint/<alg>`: `mint::prepare` + `sign_builtin` vs `crypto::sign`;
//! * `assertion/<alg>`: `begin_assertion` + `finish_builtin` (a `private_key_jwt` check) vs
//!   `crypto::verify`;
//! * `overhead/<alg>`: verification with the signature step skipped (`finish(true, ..)`),
//!   i.e. exactly what parsing and claim checks cost.
//!
//! `scripts/bench.sh` runs this and prints the ratios.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use gatepass_core::client_assertion::ClientAssertion;
use gatepass_core::client_auth::{self, AssertionPolicy};
use gatepass_core::config::{RawClient, ServerConfig};
use gatepass_core::crypto::{self, Algorithm};
use gatepass_core::jwk::SigningJwk;
use gatepass_core::request::{parse_token_request, TokenHttpRequest};
use gatepass_core::verify::{self, VerifierPolicy};
use gatepass_core::{b64, grant, jws, mint};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::json;
use std::hint::black_box;

const NOW: u64 = 1_900_000_000;
const ISSUER: &str = "https://as.example";
const AUDIENCE: &str = "https://api.example";
const ALGS: [Algorithm; 4] = [
    Algorithm::EdDSA,
    Algorithm::ES256,
    Algorithm::RS256,
    Algorithm::PS256,
];

struct Fixture {
    config: ServerConfig,
    grant: grant::Grant,
    token: String,
}

fn fixture(alg: Algorithm, rng: &mut ChaCha20Rng) -> Fixture {
    let key = SigningJwk::generate(alg, rng).unwrap();
    let secret = "bench-secret-bench-secret-bench-secret";
    let config = ServerConfig::from_json(
        &json!({
            "issuer": ISSUER,
            "signing_keys": [key.to_private_json()],
            "default_audiences": [AUDIENCE],
            "clients": [{
                "client_id": "bench",
                "client_secret_hash": gatepass_core::secret::SecretHash::of(secret).to_stored(),
                "scope": "orders:read orders:write",
            }],
        })
        .to_string(),
    )
    .unwrap();
    let basic = format!(
        "Basic {}",
        b64::encode_standard(format!("bench:{secret}").as_bytes())
    );
    let request = parse_token_request(&TokenHttpRequest {
        method: "POST",
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: Some(&basic),
        body: b"grant_type=client_credentials",
    })
    .unwrap();
    let client =
        match client_auth::authenticate(&request, config.client("bench"), &config.assertion, NOW)
            .unwrap()
        {
            client_auth::Authentication::Authenticated(c) => c,
            client_auth::Authentication::PendingReplayCheck(_) => unreachable!(),
        };
    let grant = grant::authorize(&client, &request, false).unwrap();
    let token = mint::prepare(&grant, &config.signing_keys, &config.mint, NOW, [7; 16])
        .unwrap()
        .sign_builtin(rng)
        .unwrap()
        .access_token;
    Fixture {
        config,
        grant,
        token,
    }
}

fn benches(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    for alg in ALGS {
        let f = fixture(alg, &mut rng);
        let keys = f.config.signing_keys.verification_set();
        let policy = VerifierPolicy::new(ISSUER, vec![AUDIENCE.into()]);
        let parsed = jws::parse_compact(&f.token, jws::DEFAULT_MAX_TOKEN_BYTES).unwrap();
        let signing_input = parsed.signing_input.as_bytes().to_vec();
        let signature = parsed.signature.clone();
        let public = keys.keys[0].key.clone();
        assert!(verify::verify_access_token(&f.token, &policy, &keys, NOW).is_ok());

        let mut g = c.benchmark_group(format!("verify/{alg}"));
        g.bench_function("primitive", |b| {
            b.iter(|| {
                assert!(crypto::verify(
                    alg,
                    &public,
                    black_box(&signing_input),
                    black_box(&signature)
                ))
            })
        });
        g.bench_function("core", |b| {
            b.iter(|| {
                verify::verify_access_token(black_box(&f.token), &policy, &keys, NOW).unwrap()
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("overhead/{alg}"));
        g.bench_function("parse_and_claims", |b| {
            b.iter(|| {
                verify::begin(black_box(&f.token), &policy, &keys)
                    .unwrap()
                    .finish(true, NOW)
                    .unwrap()
            })
        });
        g.finish();

        let signing = f.config.signing_keys.active().unwrap();
        let mut g = c.benchmark_group(format!("mint/{alg}"));
        g.bench_function("primitive", |b| {
            b.iter(|| crypto::sign(alg, &signing.key, black_box(&signing_input), &mut rng).unwrap())
        });
        g.bench_function("core", |b| {
            b.iter(|| {
                mint::prepare(
                    &f.grant,
                    &f.config.signing_keys,
                    &f.config.mint,
                    NOW,
                    [9; 16],
                )
                .unwrap()
                .sign_builtin(&mut rng)
                .unwrap()
            })
        });
        g.finish();

        // A private_key_jwt client whose key is the same algorithm.
        let client_key = SigningJwk::generate(alg, &mut rng).unwrap();
        let record = RawClient {
            client_id: "bench-jwt".into(),
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            client_secret_hash: None,
            client_secret: None,
            jwks: Some(json!({"keys": [client_key.public_jwk().to_public_json()]})),
            token_endpoint_auth_signing_alg: None,
            grant_types: None,
            scope: None,
            audiences: Some(vec![AUDIENCE.into()]),
            ..Default::default()
        }
        .into_record(&[])
        .unwrap();
        // Signed here rather than with `ClientAssertion::sign`: the primitive row needs the
        // signing input and the signature.
        let input = ClientAssertion::new("bench-jwt", ISSUER, NOW, 60, "j-1")
            .signing_input(alg, Some(&client_key.kid));
        let sig = crypto::sign(alg, &client_key.key, input.as_bytes(), &mut rng).unwrap();
        let assertion = jws::assemble(&input, &sig);
        let client_public = client_key.public_jwk().key;
        let policy = AssertionPolicy::new(ISSUER, format!("{ISSUER}/oauth/token"));
        let mut g = c.benchmark_group(format!("assertion/{alg}"));
        g.bench_function("primitive", |b| {
            b.iter(|| {
                assert!(crypto::verify(
                    alg,
                    &client_public,
                    black_box(input.as_bytes()),
                    black_box(&sig)
                ))
            })
        });
        g.bench_function("core", |b| {
            b.iter(|| {
                client_auth::begin_assertion(black_box(&assertion), &record, &policy)
                    .unwrap()
                    .finish_builtin(&policy, NOW)
                    .unwrap()
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = core_benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(core_benches);
