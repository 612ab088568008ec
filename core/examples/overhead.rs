//! Counts what verification costs over the bare signature check, for `bench/instructions.sh`:
//! `overhead <primitive|core|parse> <alg> <iterations>` verifies one token `iterations` times,
//! either with the bare primitive, with the whole `verify_access_token`, or with everything but
//! the signature step. Run under `valgrind --tool=callgrind`, the instruction counts are
//! repeatable whatever else the machine does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatepass_core::crypto::{self, Algorithm};
use gatepass_core::jwk::{JwkSet, SigningJwk};
use gatepass_core::verify::{self, VerifierPolicy};
use gatepass_core::{b64, jws};
use rand_chacha::rand_core::SeedableRng;
use serde_json::json;
use std::hint::black_box;

const NOW: u64 = 1_900_000_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, alg, n) = match args.as_slice() {
        [_, mode, alg, n] => (
            mode.clone(),
            Algorithm::from_name(alg).unwrap(),
            n.parse::<u64>().unwrap(),
        ),
        _ => panic!("usage: overhead <primitive|core|parse> <alg> <iterations>"),
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let key = SigningJwk::generate(alg, &mut rng).unwrap();
    // A token shaped like the ones gatepass mints (RFC 9068 claims, one scope).
    let header = json!({"alg": alg.name(), "kid": key.kid, "typ": "at+jwt"});
    let claims = json!({
        "iss": "https://as.example", "sub": "billing", "aud": "https://api.example",
        "exp": NOW + 300, "iat": NOW, "jti": b64::encode_url(&[7; 16]),
        "client_id": "billing", "scope": "orders:read",
    });
    let input = jws::signing_input(&header, &claims);
    let signature = crypto::sign(alg, &key.key, input.as_bytes(), &mut rng).unwrap();
    let token = jws::assemble(&input, &signature);
    let keys = JwkSet {
        keys: vec![key.public_jwk()],
    };
    let public = key.public_jwk().key;
    let policy = VerifierPolicy::new("https://as.example", vec!["https://api.example".into()]);
    for _ in 0..n {
        match mode.as_str() {
            "primitive" => assert!(crypto::verify(
                alg,
                &public,
                black_box(input.as_bytes()),
                black_box(&signature)
            )),
            "core" => {
                black_box(
                    verify::verify_access_token(black_box(&token), &policy, &keys, NOW).unwrap(),
                );
            }
            "parse" => {
                black_box(
                    verify::begin(black_box(&token), &policy, &keys)
                        .unwrap()
                        .finish(true, NOW)
                        .unwrap(),
                );
            }
            other => panic!("unknown mode {other}"),
        }
    }
}
