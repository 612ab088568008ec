//! An arbitrary string as `client_assertion` in a well-formed jwt-bearer token request, through
//! `exchange::run` with the fixed server configuration (private_key_jwt clients
//! with P-256, RSA and Ed25519 keys; a client_secret_jwt client).
#![no_main]

use gatepass_core::request::{parse_token_request, ClientCredentials};
use gatepass_fuzz::{assertion_request, check_token_endpoint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let assertion = String::from_utf8_lossy(data);
    let request = assertion_request(&assertion);
    if let Ok(parsed) = parse_token_request(&request.http()) {
        // The assertion reaches authentication exactly as sent.
        match &parsed.credentials {
            ClientCredentials::Assertion { assertion: a, .. } => assert_eq!(a, &*assertion),
            other => panic!("assertion request parsed as {other:?}"),
        }
    }
    check_token_endpoint(&request);
});
