//! Arbitrary bytes as an access token through `verify::verify_access_token` (fixed policy,
//! Ed25519 + P-256 + RSA keys), and as an `Authorization` header through
//! `verify::extract_bearer`.
#![no_main]

use gatepass_core::verify::{self, verify_access_token};
use gatepass_fuzz::{check_header_values, verify_keys, verify_policy, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let token: &str = &text;
    let policy = verify_policy();
    let keys = verify_keys();

    let result = verify_access_token(token, policy, keys, NOW);
    match &result {
        Ok(v) => {
            // A verified token satisfies the policy.
            assert_eq!(v.issuer, policy.issuer);
            assert_eq!(v.claims["iss"], policy.issuer.as_str());
            assert!(v.audience.iter().any(|a| policy.audiences.contains(a)));
            let skew = policy.clock_skew_seconds;
            assert!(
                NOW < v.expires_at.saturating_add(skew),
                "expired token accepted"
            );
            if let Some(nbf) = v.not_before {
                assert!(nbf <= NOW + skew, "token accepted before nbf");
            }
            let iat = v.issued_at.expect("max_lifetime requires iat");
            assert!(iat <= NOW + skew, "token issued in the future accepted");
            let max = policy.max_lifetime.unwrap_or(u64::MAX);
            assert!(v.expires_at.saturating_sub(iat) <= max, "lifetime too long");
            assert!(token.len() <= policy.max_token_bytes);
            // The forwarded payload is the token's own second segment.
            assert_eq!(token.split('.').nth(1), Some(v.payload_b64.as_str()));
            for s in &v.scopes {
                assert!(!s.is_empty() && !s.contains(' '), "bad scope {s:?}");
            }
            let _ = v.require_scopes(&["orders:read"]);
            for name in ["sub", "scope", "client_id", "aud", "exp"] {
                let _ = v.claim_as_header(name);
            }
        }
        Err(e) => {
            check_header_values(&e.to_response("gatepass"));
        }
    }

    // The step-by-step path a host with its own crypto takes (begin → signature check →
    // detach → finish) gives the same verdict as the one call.
    match verify::begin(token, policy, keys) {
        Ok(pending) => {
            let _ = pending.token().unverified_claims();
            let valid = pending.signature_check().verify_builtin();
            let detached = pending.detach(NOW);
            assert_eq!(detached.finish(valid), result, "detached verdict differs");
        }
        Err(e) => assert_eq!(Err(e), result, "begin error differs"),
    }

    // The same bytes as an Authorization header value.
    match verify::extract_bearer(Some(token)) {
        Ok(t) => {
            assert!(!t.is_empty() && token.ends_with(t));
            assert!(t.bytes().all(|b| b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')));
            // Re-framing the extracted token gives it back.
            let framed = format!("Bearer {t}");
            assert_eq!(verify::extract_bearer(Some(&framed)), Ok(t));
        }
        Err(e) => check_header_values(&e.to_response("gatepass")),
    }
});
