//! # gatepass-core
//!
//! The OAuth 2.0 client-credentials protocol as a library that does no I/O: no sockets, no
//! files, no clock and no random number generator of its own. Every function that needs the
//! time takes `now` (Unix seconds); every function that needs randomness takes a
//! [`rand_core::CryptoRngCore`] or random bytes from the caller. Lookups that are I/O in a real
//! deployment (client store, replay store, JWKS fetch) are done by the host between the steps
//! this crate exposes.
//!
//! Two pipelines are built from these steps:
//!
//! * **Token endpoint** ([`request`] → [`client_auth`] → [`grant`] → [`mint`]): parse an
//!   RFC 6749 §4.4 token request, authenticate the client with one of the four RFC 6749 / RFC 7523
//!   methods, check the grant, scope and audience, and mint an RFC 9068 access token. The steps
//!   run in one order for every shell, as the state machine [`exchange::TokenExchange`], which
//!   says what I/O comes next; [`routes`] says which endpoint a request is for.
//! * **Enforcement** ([`verify`]): strictly parse a compact JWS, bind its `alg` to the key found
//!   by `kid`, check the signature and the RFC 9068 claims, and check the scopes a route needs.
//!
//! The client's side of RFC 7523, the assertion a client sends, is built by
//! [`client_assertion`] (for tools, demos, benches and tests).
//!
//! Trust is carried by types: an [`verify::UntrustedToken`] becomes a
//! [`verify::VerifiedAccessToken`] only through the verifier, and a token can only be minted for
//! an [`client_auth::AuthenticatedClient`], which a JWT-authenticated client only becomes after
//! the host has recorded its assertion's `jti` in its replay store.
//!
//! Signatures can be made and checked by the host (e.g. WebCrypto in a JavaScript runtime):
//! core builds the signing input and assembles the token from the host's signature, and on the
//! verifying side hands the host exactly the algorithm, key, signing input and signature, then
//! finishes the checks with the host's verdict. The built-in pure-Rust path goes through the
//! same steps.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

pub mod b64;
pub mod cache;
pub mod claims;
pub mod client_assertion;
pub mod client_auth;
pub mod config;
pub mod error;
pub mod etcd;
pub mod exchange;
pub mod gateway;
pub mod grant;
pub mod introspection;
pub mod json;
pub mod jwk;
pub mod jwks_refresh;
pub mod jws;
pub mod limits;
pub mod metadata;
pub mod mint;
pub mod registration;
pub mod request;
pub mod response;
pub mod routes;
pub mod rules;
pub mod secret;
pub mod stats;
pub mod verify;

pub use error::{BearerError, ConfigError, RegistrationError, TokenError};
/// Algorithms and the signature primitives under them: the `gatepass-crypto` crate.
pub use gatepass_crypto as crypto;
pub use rand_core;
