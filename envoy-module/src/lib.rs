//! gatepass as a native Envoy dynamic module (`envoy.filters.http.dynamic_modules`): the same
//! plugin JSON and the same core decisions as the proxy-wasm filter, at native speed.
//!
//! * [`abi`] — the ABI functions this module calls, declared here (no SDK).
//! * `host` — safe wrappers over them: Envoy's values are read as bytes, nothing panics.
//! * `hooks` — the functions Envoy calls; each one runs inside a panic guard, so a bug here
//!   answers its request with a 500, logs and counts, and never unwinds into Envoy (which
//!   would abort the whole process).
//! * [`crypto`] — signature checks through `ring` where it is faster than core's primitives.
//! * `state` — the verified-token cache and the replay store, shared by every worker.
//! * `remote` — remote key sets: fetched on the main thread through Envoy's config-level HTTP
//!   callout, read by every worker without a lock.
//!
//! Decisions are core's: [`gatepass_core::gateway::Enforcer`] routes and enforces,
//! [`gatepass_core::exchange`] runs the token endpoint, [`gatepass_core::stats::Stat`] names
//! the counters.

pub mod abi;
pub mod crypto;
mod hooks;
mod host;
mod remote;
pub mod state;
