//! Arbitrary bytes as a whole token request (`method \n content-type \n authorization \n body`,
//! see `OwnedRequest::split`) through `request::parse_token_request` and
//! `exchange::run` with the fixed server configuration.
#![no_main]

use gatepass_fuzz::{check_token_endpoint, OwnedRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_token_endpoint(&OwnedRequest::split(data));
});
