//! gatepass as an Envoy HTTP filter (proxy-wasm).
//!
//! Glue only: Envoy's headers, body, trailers, clock, randomness and shared data go in, as
//! bytes; every decision comes from `gatepass-core` ([`gatepass_core::gateway`] for routing and
//! enforcement, [`gatepass_core::exchange`] for the token endpoint); responses and header
//! changes come out.
//!
//! * [`adapter`] — the host's bytes into core's inputs (pure; fuzzed by `fuzz/` `host_edge`).
//! * `host` — the proxy-wasm host calls, declared here, none of which can panic on host bytes.
//! * `plugin` — the root and HTTP contexts: `on_configure`, request headers/body/trailers,
//!   `on_tick`, HTTP-call responses.
//! * `jwks` (remote key sets in shared data), `replay` (the assertion replay store), `stats`.
//!
//! The proxy-wasm parts are left out of native unit-test builds (`cfg(not(test))`): they call
//! host functions that only exist inside Envoy. The adapter's tests run natively.

pub mod adapter;

#[cfg(not(test))]
mod host;
#[cfg(not(test))]
mod jwks;
#[cfg(not(test))]
mod plugin;
#[cfg(not(test))]
mod replay;
#[cfg(not(test))]
mod stats;
