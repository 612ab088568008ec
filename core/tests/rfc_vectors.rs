#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Worked examples from the JOSE RFCs, each checked against the real code paths: the JWS
//! verifier (`jws::verify_compact`), JWK parsing, RFC 7638 thumbprints and the signing
//! primitives (for the deterministic algorithms, the RFC's signature is reproduced exactly).
//!
//! The values are the RFCs' own (RFC 7515 Appendix A, RFC 8037 Appendix A, RFC 7638 §3.1).
//! A copying mistake cannot pass unnoticed: every signature is verified, and every thumbprint
//! is a SHA-256 over the key it belongs to.

use gatepass_core::b64;
use gatepass_core::crypto::{self, Algorithm, ALL_ALGORITHMS};
use gatepass_core::jwk::{Jwk, JwkSet, SetStrictness, SigningJwk};
use gatepass_core::jws::{self, JwsVerifyError};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

/// RFC 7515 Appendix A.1.1: the HMAC key (`k` of the symmetric JWK).
const RFC7515_A1_KEY_K: &str = concat!(
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0i",
    "PS4hcgUuTwjAzZr1Z9CAow",
);

/// RFC 7515 Appendix A.1.1: the complete JWS (HS256; header `{"typ":"JWT",\r\n "alg":"HS256"}`,
/// payload with CRLF line breaks).
const RFC7515_A1_JWS: &str = concat!(
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJ",
    "leHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp",
    "0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
);

/// RFC 7515 Appendix A.2.1: the RSA key's modulus `n` (2048 bits); `e` is `AQAB`.
const RFC7515_A2_N: &str = concat!(
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp",
    "-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOW",
    "vG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUs",
    "LA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9k",
    "G4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2",
    "PAcDTW9gb54h4FRWyuXpoQ",
);

/// RFC 7515 Appendix A.2.1: the RSA key's private member `d`.
const RFC7515_A2_D: &str = concat!(
    "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_G",
    "Q5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKV",
    "RUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9J",
    "YanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoF",
    "aFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjn",
    "czT0QU91p1DhOVRuOopznQ",
);

/// RFC 7515 Appendix A.2.1: the RSA key's private member `p`.
const RFC7515_A2_P: &str = concat!(
    "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBds",
    "s1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ",
    "5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
);

/// RFC 7515 Appendix A.2.1: the RSA key's private member `q`.
const RFC7515_A2_Q: &str = concat!(
    "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHA",
    "jLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLt",
    "XlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
);

/// RFC 7515 Appendix A.2.1: the RSA key's private member `dp`.
const RFC7515_A2_DP: &str = concat!(
    "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE",
    "2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_",
    "YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
);

/// RFC 7515 Appendix A.2.1: the RSA key's private member `dq`.
const RFC7515_A2_DQ: &str = concat!(
    "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDo",
    "RwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGN",
    "pmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
);

/// RFC 7515 Appendix A.2.1: the RSA key's private member `qi`.
const RFC7515_A2_QI: &str = concat!(
    "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0Em",
    "pScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1c",
    "q9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U",
);

/// RFC 7515 Appendix A.2.1: the complete JWS (RS256).
const RFC7515_A2_JWS: &str = concat!(
    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODA",
    "sDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Ee",
    "tdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Q",
    "c_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--",
    "f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN",
    "9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6I",
    "eYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypG",
    "lUPQGe77Rw",
);

/// RFC 7515 Appendix A.3.1: the P-256 key's `x`.
const RFC7515_A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";

/// RFC 7515 Appendix A.3.1: the P-256 key's `y`.
const RFC7515_A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

/// RFC 7515 Appendix A.3.1: the P-256 key's private `d`.
const RFC7515_A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

/// RFC 7515 Appendix A.3.1: the complete JWS (ES256). ECDSA signatures are randomized, so this
/// one can be verified but not reproduced.
const RFC7515_A3_JWS: &str = concat!(
    "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODA",
    "sDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8",
    "L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqP",
    "P3-Kg6NU1Q",
);

/// RFC 8037 Appendix A.1: the Ed25519 private key `d`.
const RFC8037_A1_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

/// RFC 8037 Appendix A.1 / A.2: the Ed25519 public key `x`.
const RFC8037_A1_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

/// RFC 8037 Appendix A.3: the RFC 7638 thumbprint of the A.2 public key.
const RFC8037_A3_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

/// RFC 8037 Appendix A.4: the JWS (`{"alg":"EdDSA"}` over "Example of Ed25519 signing")
/// signed with the A.1 key.
const RFC8037_A4_JWS: &str = concat!(
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il",
    "_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g",
    "7sVvpAr_MuM0KAg",
);

/// RFC 7638 §3.1: the example RSA key's modulus `n`; `e` is `AQAB`, `alg` RS256, `kid` 2011-04-29.
const RFC7638_N: &str = concat!(
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86z",
    "wu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5Js",
    "GY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMic",
    "AtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-",
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF",
    "Cur-kEgU8awapJzKnqDKgw",
);

/// RFC 7638 §3.1: the thumbprint of that key.
const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// RFC 7515 Appendix A.1–A.3: the JWS Payload all three examples sign (with CRLF line breaks).
const RFC7515_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

/// RFC 8037 Appendix A.4: the payload.
const RFC8037_A4_PAYLOAD: &[u8] = b"Example of Ed25519 signing";

fn key_set(jwk: Value, allow_oct: bool) -> JwkSet {
    let text = serde_json::to_vec(&json!({ "keys": [jwk] })).unwrap();
    JwkSet::from_json(&text, SetStrictness::Strict, allow_oct).unwrap()
}

fn verify<'a>(token: &'a str, keys: &JwkSet) -> Result<jws::CompactJws<'a>, JwsVerifyError> {
    jws::verify_compact(token, keys, &ALL_ALGORITHMS, jws::DEFAULT_MAX_TOKEN_BYTES)
}

/// The token with one character of its payload changed (still canonical base64url, so only
/// the signature can refuse it).
fn with_payload_changed(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    assert_eq!(parts.len(), 3);
    let payload = &parts[1];
    let first = payload.chars().next().unwrap();
    let replacement = if first == 'A' { 'B' } else { 'A' };
    let changed = format!("{replacement}{}", &payload[1..]);
    assert_ne!(
        b64::decode_url(&changed).unwrap(),
        b64::decode_url(payload).unwrap()
    );
    parts[1] = changed;
    parts.join(".")
}

fn assert_payload_change_refused(token: &str, keys: &JwkSet) {
    let changed = with_payload_changed(token);
    assert_eq!(
        verify(&changed, keys).err(),
        Some(JwsVerifyError::Signature),
        "a one-character change in the payload is refused by the signature check"
    );
}

fn signing_input(token: &str) -> &str {
    let end = token.rfind('.').unwrap();
    &token[..end]
}

fn signature(token: &str) -> Vec<u8> {
    b64::decode_url(token.rsplit('.').next().unwrap()).unwrap()
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(7515)
}

#[test]
fn rfc7515_a1_hs256() {
    let keys = key_set(json!({ "kty": "oct", "k": RFC7515_A1_KEY_K }), true);
    let verified = verify(RFC7515_A1_JWS, &keys).unwrap();
    assert_eq!(verified.header.alg, Algorithm::HS256);
    assert_eq!(verified.header.typ.as_deref(), Some("JWT"));
    assert_eq!(verified.payload, RFC7515_PAYLOAD);

    // HMAC is deterministic: the RFC's MAC is reproduced.
    let key = b64::decode_url(RFC7515_A1_KEY_K).unwrap();
    let tag = crypto::hmac_sign(
        Algorithm::HS256,
        &key,
        signing_input(RFC7515_A1_JWS).as_bytes(),
    )
    .unwrap();
    assert_eq!(tag, signature(RFC7515_A1_JWS));

    assert_payload_change_refused(RFC7515_A1_JWS, &keys);
}

#[test]
fn rfc7515_a1_hs256_refused_without_the_oct_key_or_outside_the_allowlist() {
    let keys = key_set(json!({ "kty": "oct", "k": RFC7515_A1_KEY_K }), true);
    let asymmetric_only: Vec<Algorithm> = ALL_ALGORITHMS
        .iter()
        .copied()
        .filter(|a| !a.is_symmetric())
        .collect();
    let result = jws::verify_compact(
        RFC7515_A1_JWS,
        &keys,
        &asymmetric_only,
        jws::DEFAULT_MAX_TOKEN_BYTES,
    );
    assert!(result.is_err(), "HS256 outside the allowlist is refused");

    let text =
        serde_json::to_vec(&json!({ "keys": [{ "kty": "oct", "k": RFC7515_A1_KEY_K }] })).unwrap();
    assert!(
        JwkSet::from_json(&text, SetStrictness::Strict, false).is_err(),
        "an oct key is refused where symmetric keys are not allowed"
    );
}

#[test]
fn rfc7515_a2_rs256() {
    let keys = key_set(
        json!({ "kty": "RSA", "n": RFC7515_A2_N, "e": "AQAB" }),
        false,
    );
    let verified = verify(RFC7515_A2_JWS, &keys).unwrap();
    assert_eq!(verified.header.alg, Algorithm::RS256);
    assert_eq!(verified.payload, RFC7515_PAYLOAD);
    assert_payload_change_refused(RFC7515_A2_JWS, &keys);

    // RSASSA-PKCS1-v1_5 is deterministic: the private key of A.2.1 reproduces the signature.
    // (The RFC's JWK has no `alg`; a signing key must name one, so RS256 is added.)
    let private = json!({
        "kty": "RSA",
        "alg": "RS256",
        "n": RFC7515_A2_N,
        "e": "AQAB",
        "d": RFC7515_A2_D,
        "p": RFC7515_A2_P,
        "q": RFC7515_A2_Q,
        "dp": RFC7515_A2_DP,
        "dq": RFC7515_A2_DQ,
        "qi": RFC7515_A2_QI,
    });
    let signing = SigningJwk::from_json(&serde_json::to_vec(&private).unwrap()).unwrap();
    assert_eq!(signing.alg, Algorithm::RS256);
    let sig = crypto::sign(
        Algorithm::RS256,
        &signing.key,
        signing_input(RFC7515_A2_JWS).as_bytes(),
        &mut rng(),
    )
    .unwrap();
    assert_eq!(sig, signature(RFC7515_A2_JWS));
    assert_eq!(
        signing.public_jwk().thumbprint(),
        keys.keys[0].thumbprint(),
        "the private key's public half is the A.2.1 public key"
    );
}

#[test]
fn rfc7515_a3_es256() {
    let keys = key_set(
        json!({ "kty": "EC", "crv": "P-256", "x": RFC7515_A3_X, "y": RFC7515_A3_Y }),
        false,
    );
    let verified = verify(RFC7515_A3_JWS, &keys).unwrap();
    assert_eq!(verified.header.alg, Algorithm::ES256);
    assert_eq!(verified.payload, RFC7515_PAYLOAD);
    assert_eq!(verified.signature.len(), 64, "ES256 signatures are r || s");
    assert_payload_change_refused(RFC7515_A3_JWS, &keys);

    // The A.3.1 private key parses, matches the public key, and its signature verifies.
    let private = json!({
        "kty": "EC",
        "crv": "P-256",
        "x": RFC7515_A3_X,
        "y": RFC7515_A3_Y,
        "d": RFC7515_A3_D,
    });
    let signing = SigningJwk::from_json(&serde_json::to_vec(&private).unwrap()).unwrap();
    assert_eq!(signing.alg, Algorithm::ES256);
    assert_eq!(signing.public_jwk().thumbprint(), keys.keys[0].thumbprint());
    let input = signing_input(RFC7515_A3_JWS);
    let sig = crypto::sign(Algorithm::ES256, &signing.key, input.as_bytes(), &mut rng()).unwrap();
    let token = jws::assemble(input, &sig);
    assert!(verify(&token, &keys).is_ok());
}

#[test]
fn rfc8037_a4_ed25519() {
    // A.2: the public key.
    let keys = key_set(
        json!({ "kty": "OKP", "crv": "Ed25519", "x": RFC8037_A1_X }),
        false,
    );
    let verified = verify(RFC8037_A4_JWS, &keys).unwrap();
    assert_eq!(verified.header.alg, Algorithm::EdDSA);
    assert_eq!(verified.payload, RFC8037_A4_PAYLOAD);
    assert_payload_change_refused(RFC8037_A4_JWS, &keys);

    // A.1: the private key (`d` and `x`). Ed25519 is deterministic: signing the A.4 signing
    // input gives exactly the A.4 signature.
    let private = json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "d": RFC8037_A1_D,
        "x": RFC8037_A1_X,
    });
    let signing = SigningJwk::from_json(&serde_json::to_vec(&private).unwrap()).unwrap();
    assert_eq!(signing.alg, Algorithm::EdDSA);
    let input = signing_input(RFC8037_A4_JWS);
    let sig = crypto::sign(Algorithm::EdDSA, &signing.key, input.as_bytes(), &mut rng()).unwrap();
    assert_eq!(sig, signature(RFC8037_A4_JWS));
    assert_eq!(jws::assemble(input, &sig), RFC8037_A4_JWS);

    // Without a `kid`, a signing key's kid is its RFC 7638 thumbprint (A.3).
    assert_eq!(signing.kid, RFC8037_A3_THUMBPRINT);
}

#[test]
fn rfc8037_a3_thumbprint() {
    let jwk = Jwk::from_json(
        &serde_json::to_vec(&json!({ "kty": "OKP", "crv": "Ed25519", "x": RFC8037_A1_X })).unwrap(),
        false,
    )
    .unwrap();
    assert_eq!(jwk.thumbprint().as_deref(), Some(RFC8037_A3_THUMBPRINT));
}

#[test]
fn rfc7638_3_1_rsa_thumbprint() {
    // The example JWK with its optional members, which the thumbprint ignores (RFC 7638 §3.2).
    let jwk = Jwk::from_json(
        &serde_json::to_vec(&json!({
            "kty": "RSA",
            "n": RFC7638_N,
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29",
        }))
        .unwrap(),
        false,
    )
    .unwrap();
    assert_eq!(jwk.thumbprint().as_deref(), Some(RFC7638_THUMBPRINT));

    let bare = Jwk::from_json(
        &serde_json::to_vec(&json!({ "kty": "RSA", "n": RFC7638_N, "e": "AQAB" })).unwrap(),
        false,
    )
    .unwrap();
    assert_eq!(bare.thumbprint().as_deref(), Some(RFC7638_THUMBPRINT));
}
