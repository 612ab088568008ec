//! Arbitrary bytes as JSON Web Keys: `jwk::JwkSet::from_json` with every strictness and `oct`
//! option, `jwk::Jwk::from_json` and `jwk::SigningJwk::from_json`, with round trips through
//! the exported JSON (same keys, same RFC 7638 thumbprints) and, for a private key, a
//! signature its own public key verifies.
#![no_main]

use gatepass_core::crypto::{self, PublicKey};
use gatepass_core::jwk::{Jwk, JwkSet, SetStrictness, SigningJwk};
use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// (kid, alg, thumbprint) of each key, in order.
fn summary(set: &JwkSet) -> Vec<(Option<String>, Option<&'static str>, Option<String>)> {
    set.keys
        .iter()
        .map(|k| (k.kid.clone(), k.alg.map(|a| a.name()), k.thumbprint()))
        .collect()
}

fn public_summary(set: &JwkSet) -> Vec<(Option<String>, Option<&'static str>, Option<String>)> {
    summary(set)
        .into_iter()
        .filter(|(_, _, t)| t.is_some())
        .collect()
}

fn check_set_round_trip(set: &JwkSet) {
    let exported = set.to_public_json();
    let text = serde_json::to_vec(&exported).expect("serialize");
    let public = public_summary(set);
    match JwkSet::from_json(&text, SetStrictness::Strict, false) {
        Ok(again) => {
            assert_eq!(summary(&again), public, "JWKS round trip changed the keys");
            // Exporting again is a fixed point.
            assert_eq!(again.to_public_json(), exported);
        }
        // Only a set of symmetric keys has no public form.
        Err(e) => assert!(public.is_empty(), "exported JWKS refused: {e}"),
    }
}

fn check_key_round_trip(key: &Jwk) {
    let Some(value) = key.to_public_json() else {
        assert!(matches!(key.key, PublicKey::Oct(_)));
        return;
    };
    let text = serde_json::to_vec(&value).expect("serialize");
    let again = Jwk::from_json(&text, false).expect("exported JWK refused");
    assert_eq!(again.thumbprint(), key.thumbprint());
    assert_eq!(again.kid, key.kid);
    assert_eq!(again.alg, key.alg);
}

fn check_signing_key(key: &SigningJwk) {
    let public = key.public_jwk();
    let thumbprint = public.thumbprint().expect("a signing key has a thumbprint");
    assert!(public.allows(key.alg), "a signing key's own alg is refused");
    // Private JWK round trip.
    let text = serde_json::to_vec(&key.to_private_json()).expect("serialize");
    let again = SigningJwk::from_json(&text).expect("exported private JWK refused");
    assert_eq!(again.kid, key.kid);
    assert_eq!(again.alg, key.alg);
    assert_eq!(again.public_jwk().thumbprint(), Some(thumbprint));
    // The private and public halves belong together (RSA above 4096 bits is skipped: slow).
    let n_len = public
        .to_public_json()
        .and_then(|v| v["n"].as_str().map(str::len))
        .unwrap_or(0);
    if n_len <= 700 {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let message = b"gatepass fuzz";
        let sig = crypto::sign(key.alg, &key.key, message, &mut rng).expect("sign");
        assert!(
            crypto::verify(key.alg, &public.key, message, &sig),
            "a signature does not verify with the key's own public half"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let strict = JwkSet::from_json(data, SetStrictness::Strict, false);
    let strict_oct = JwkSet::from_json(data, SetStrictness::Strict, true);
    let lenient = JwkSet::from_json(data, SetStrictness::SkipUnusable, false);
    let lenient_oct = JwkSet::from_json(data, SetStrictness::SkipUnusable, true);
    // Looser options accept at least what stricter ones do, with the same keys.
    if let Ok(s) = &strict {
        let l = lenient.as_ref().expect("strict set refused when lenient");
        assert_eq!(summary(s), summary(l));
        let so = strict_oct
            .as_ref()
            .expect("set refused when oct is allowed");
        assert_eq!(summary(s), summary(so));
    }
    if let Ok(so) = &strict_oct {
        let lo = lenient_oct
            .as_ref()
            .expect("strict oct set refused when lenient");
        assert_eq!(summary(so), summary(lo));
    }
    for set in [&strict, &strict_oct, &lenient, &lenient_oct]
        .into_iter()
        .flatten()
    {
        assert!(!set.keys.is_empty());
        check_set_round_trip(set);
    }
    if let Ok(set) = &lenient_oct {
        for key in &set.keys {
            check_key_round_trip(key);
        }
    }
    for allow_oct in [false, true] {
        if let Ok(key) = Jwk::from_json(data, allow_oct) {
            check_key_round_trip(&key);
        }
    }
    match SigningJwk::from_json(data) {
        Ok(key) => check_signing_key(&key),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
