//! The Envoy filter's host-facing adapter (`filter/src/adapter.rs`, linked here as it is):
//! bytes as Envoy hands them over → the header map parser → core's routing, enforcement and
//! token endpoint. Nothing may panic (a panic in the filter traps the worker's VM), and what
//! comes out keeps its promises:
//! * the parser refuses what is not a map and round-trips what it builds;
//! * every header the filter removes is one the request carries, and every carried header whose
//!   name folds (ASCII case, `_` → `-`) to one the filter sets is removed before it continues;
//! * values the filter sets or answers with are visible ASCII (no header splitting);
//! * a token header that is not visible ASCII is 400 `invalid_request` wherever a token is read.
//!
//! The first byte chooses the input shape: even, the rest is a serialized proxy-wasm header
//! map; odd, the rest is `name:value` lines (split at the first `:` after the first byte, so
//! `:path:/x` works), serialized by the adapter first. On the token endpoint, the value of the
//! last `x-fuzz-body` line is the body.
#![no_main]

use std::cell::RefCell;

use gatepass_core::client_auth::ReplayOutcome;
use gatepass_core::exchange::{self, Advanced, HostCrypto};
use gatepass_core::gateway::{Decision, Gateway, Outcome, RequestHead, Route};
use gatepass_core::request::is_visible_ascii;
use gatepass_fuzz::{
    check_header_values, check_token_endpoint, filter_config, OwnedRequest, ISSUER, NOW,
};
use libfuzzer_sys::fuzz_target;

#[path = "../../filter/src/adapter.rs"]
#[allow(dead_code)]
mod adapter;

const OWNED: [&str; 3] = ["x-client-id", "x-scope", "x-jwt-payload"];

thread_local! {
    static GATEWAY: RefCell<Gateway> = RefCell::new(Gateway::new(filter_config()));
}

fn folds_to_owned(name: &[u8]) -> bool {
    let folded: Vec<u8> = name
        .iter()
        .map(|&b| {
            if b == b'_' {
                b'-'
            } else {
                b.to_ascii_lowercase()
            }
        })
        .collect();
    OWNED.iter().any(|o| o.as_bytes() == folded.as_slice())
}

fn check_removed(head: &RequestHead<'_>, remove: &[String]) {
    for name in remove {
        assert!(
            head.headers.iter().any(|(n, _)| *n == name.as_bytes()),
            "removes {name:?}, which the request does not carry"
        );
    }
    for (name, _) in head.headers {
        if folds_to_owned(name) {
            assert!(
                remove.iter().any(|r| r.as_bytes() == *name),
                "{:?} goes upstream",
                name.escape_ascii().to_string()
            );
        }
    }
}

fn check_head(head: &RequestHead<'_>, body: &[u8]) {
    let route = GATEWAY.with(|g| g.borrow().route(head));
    match route {
        Route::TokenEndpoint {
            remove,
            request: headers,
        } => {
            check_removed(head, &remove);
            if headers.introspection {
                // Introspection: the whole exchange with core's crypto ends in a well-formed
                // answer of the endpoint's statuses.
                GATEWAY.with(|g| {
                    let gateway = g.borrow();
                    let Some(server) = gateway.config().token_endpoint.as_ref() else {
                        panic!("routed to introspection without a token endpoint");
                    };
                    let mut exchange = headers.exchange(server, body, NOW, [7; 16]);
                    let crypto = HostCrypto {
                        verify: &|c| c.verify_builtin(),
                        sign: &|_, _, _| None,
                    };
                    let mut rng = <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::seed_from_u64(7);
                    let done = loop {
                        match exchange::advance(&mut exchange, server, |id| server.client(id), &crypto, &mut rng) {
                            Advanced::Over(done) => break done,
                            Advanced::RecordReplay { .. } => exchange.replay_recorded(server, ReplayOutcome::Recorded),
                        }
                    };
                    check_header_values(&done.response);
                    assert!(matches!(done.response.status, 200 | 400 | 401 | 405), "{}", done.response.status);
                });
                return;
            }
            match headers.with_body(body) {
                // Through the whole token endpoint with the token_request target's checks
                // (the filter's token_endpoint is the same configuration as `server()`).
                Ok(http) => {
                    check_token_endpoint(&OwnedRequest {
                        method: http.method.into(),
                        content_type: http.content_type.map(Into::into),
                        authorization: http.authorization.map(Into::into),
                        body: body.to_vec(),
                    });
                }
                Err(e) => {
                    let response = e.to_response(ISSUER);
                    assert_eq!(response.status, 400);
                    check_header_values(&response);
                }
            }
        }
        Route::Respond(response) => {
            check_header_values(&response);
            assert!(matches!(response.status, 200 | 405), "{}", response.status);
        }
        Route::Enforce => {
            let decision = GATEWAY.with(|g| g.borrow_mut().decide(head, &|_| None, NOW));
            let auth: Vec<&[u8]> = head.values("authorization").collect();
            let odd_token_header = auth.len() == 1 && !is_visible_ascii(auth[0]);
            match decision {
                Decision::Forward {
                    remove,
                    set,
                    outcome,
                } => {
                    check_removed(head, &remove);
                    for (name, value) in &set {
                        assert!(OWNED.contains(&name.as_str()), "sets {name}");
                        assert!(
                            value
                                .bytes()
                                .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)),
                            "{name}: {value:?}"
                        );
                    }
                    if odd_token_header {
                        assert_eq!(outcome, Outcome::NoRequirement, "odd token header read");
                    }
                }
                Decision::Respond {
                    response, outcome, ..
                } => {
                    check_header_values(&response);
                    if odd_token_header {
                        assert_eq!(outcome, Outcome::DeniedInvalidRequest);
                        assert_eq!(response.status, 400);
                    }
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let built;
    let map: &[u8] = if mode % 2 == 0 {
        rest
    } else {
        let lines: Vec<(&[u8], &[u8])> = rest
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|line| {
                let at = line
                    .iter()
                    .skip(1)
                    .position(|&b| b == b':')
                    .map_or(line.len(), |p| p + 1);
                (&line[..at], line.get(at + 1..).unwrap_or_default())
            })
            .collect();
        built = adapter::serialize_header_map(&lines);
        assert_eq!(
            adapter::parse_header_map(&built).as_deref(),
            Some(lines.as_slice()),
            "the adapter does not round-trip its own map"
        );
        &built
    };
    let Some(pairs) = adapter::parse_header_map(map) else {
        return;
    };
    let body = pairs
        .iter()
        .rev()
        .find(|(n, _)| *n == b"x-fuzz-body")
        .map_or(&b""[..], |(_, v)| *v);
    let head = RequestHead::from_pairs(&pairs);
    check_head(&head, body);
});
