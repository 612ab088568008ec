//! The HTTP Basic path of the token endpoint (RFC 6749 §2.3.1: id and secret form-urlencoded,
//! joined by `:`, base64), through `request::parse_token_request` and `exchange::run`.
//! The first byte chooses how the rest is used (see `basic_request`): even, as the credentials
//! before base64; odd, as the whole `Authorization` value.
#![no_main]

use gatepass_core::b64;
use gatepass_core::request::{parse_token_request, ClientCredentials};
use gatepass_fuzz::{basic_request, check_token_endpoint, form_encode, OwnedRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(request) = basic_request(data) else {
        return;
    };
    if let Ok(parsed) = parse_token_request(&request.http()) {
        let ClientCredentials::SecretBasic { client_id, secret } = &parsed.credentials else {
            panic!("Basic header parsed as {:?}", parsed.credentials);
        };
        assert!(!client_id.is_empty());
        // Encoding the decoded credentials again gives the same credentials.
        let again = format!(
            "Basic {}",
            b64::encode_standard(
                format!("{}:{}", form_encode(client_id), form_encode(secret)).as_bytes()
            )
        );
        let request = OwnedRequest::form(Some(again), b"grant_type=client_credentials".to_vec());
        let reparsed = parse_token_request(&request.http()).expect("re-encoded credentials");
        assert_eq!(reparsed.credentials, parsed.credentials);
    }
    // Through the whole endpoint: a token only for a known client with its own secret.
    check_token_endpoint(&request);
});
