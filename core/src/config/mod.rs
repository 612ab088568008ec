//! Configuration, checked once.
//!
//! Raw structs mirror the JSON a user writes (`deny_unknown_fields`, so a misspelt field is an
//! error rather than a silently ignored default); `TryFrom` turns them into typed values at
//! load time, and every error names the field (`clients[2].jwks: ...`). Names follow Envoy's
//! `jwt_authn` where the concept is the same (`issuer`, `audiences`, `local_jwks`,
//! `remote_jwks`, `from_headers`, `forward`, `forward_payload_header`, `claim_to_headers`,
//! `clock_skew_seconds`, `max_lifetime`).
//!
//! One file per concern: `client` (a configured client), `stored` (the record a client store
//! keeps for a registered client: the store's format, not configuration, and how a server loads
//! one), `server` (the authorization server and registration), `provider` (a resource server's
//! view of one issuer and where its token is read), `filter` (the Envoy plugin configuration);
//! the shared field readers are here.

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::client_auth::{self, AssertionPolicy, AuthMethod, ClientCredential, ClientRecord};
use crate::crypto::Algorithm;
use crate::error::ConfigError;
use crate::grant::CLIENT_CREDENTIALS;
use crate::jwk::{JwkSet, SetStrictness, SigningJwk};
use crate::mint::{MintSettings, SigningKeySet};
use crate::request::parse_scope;
use crate::secret::SecretHash;
use crate::verify::{VerifierPolicy, ACCESS_TOKEN_TYP};

/// A duration: integer seconds, or a string of seconds with an `s` suffix (`"300s"`, the
/// protobuf JSON form Envoy configs use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RawDuration {
    /// Seconds.
    Seconds(u64),
    /// `"<seconds>s"`.
    Text(String),
}

/// What a duration field expects, in serde's "invalid type" message.
const DURATION_EXPECTED: &str = "a number of seconds or a string like \"300s\"";

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than `#[serde(untagged)]`: a wrong value is refused where it is, with
        // what was expected, and without buffering it first.
        struct Seconds;
        impl serde::de::Visitor<'_> for Seconds {
            type Value = RawDuration;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(DURATION_EXPECTED)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawDuration, E> {
                Ok(RawDuration::Seconds(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration::Text(v.into()))
            }
        }
        d.deserialize_any(Seconds)
    }
}

impl RawDuration {
    /// In milliseconds: seconds as a number or `"2s"`, or `"250ms"`.
    fn millis(&self, field: &str) -> Result<u64, ConfigError> {
        match self {
            RawDuration::Text(t) if t.ends_with("ms") => t
                .strip_suffix("ms")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| {
                    ConfigError::new(field, "must be a duration like \"250ms\" or \"2s\"")
                }),
            _ => self
                .seconds(field)
                .map(|s| s.saturating_mul(1000))
                .map_err(|_| {
                    ConfigError::new(field, "must be a duration like \"250ms\" or \"2s\"")
                }),
        }
    }

    fn seconds(&self, field: &str) -> Result<u64, ConfigError> {
        match self {
            RawDuration::Seconds(s) => Ok(*s),
            RawDuration::Text(t) => t
                .strip_suffix('s')
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| {
                    ConfigError::new(field, "must be a number of seconds like \"300s\"")
                }),
        }
    }
}

fn parse_json<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, ConfigError> {
    // serde_json's message names an unknown or missing field and its position; the field's
    // path (`clients[3].client_secrt`) is rebuilt from that position only when there is an
    // error (`path`: the loader stays small for the Envoy filter).
    let mut de = serde_json::Deserializer::from_slice(text.as_bytes());
    let parsed = T::deserialize(&mut de).and_then(|value| de.end().map(|()| value));
    parsed.map_err(|e| {
        let message = e.to_string();
        let field = path::path_at(text, e.line(), e.column(), path::Fault::of(&e, &message));
        ConfigError::new(field, message)
    })
}

fn require_url(field: &str, value: &str) -> Result<(), ConfigError> {
    let (origin, _) = split_origin(value);
    let loopback = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|host| {
            origin == *host
                || origin
                    .strip_prefix(host)
                    .is_some_and(|rest| rest.starts_with(':'))
        });
    let ok = (value.starts_with("https://") && origin.len() > "https://".len()) || loopback;
    if !ok || value.contains('#') || value.contains('?') || value.bytes().any(|b| b <= b' ') {
        return Err(ConfigError::new(
            field,
            "must be an https URL without query or fragment (http only for loopback)",
        ));
    }
    Ok(())
}

/// `scheme://authority` and the path of an issuer URL.
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url.get(after_scheme..).and_then(|rest| rest.find('/')) {
        Some(slash) => url.split_at(after_scheme + slash),
        None => (url, ""),
    }
}

fn parse_algorithms(field: &str, names: &[String]) -> Result<Vec<Algorithm>, ConfigError> {
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let alg = Algorithm::from_name(name).ok_or_else(|| {
            ConfigError::new(
                alloc::format!("{field}[{i}]"),
                alloc::format!("unsupported algorithm \"{name}\""),
            )
        })?;
        out.push(alg);
    }
    Ok(out)
}

/// A client's own key set holds at most [`crate::limits::MAX_CLIENT_KEYS`] keys, counted
/// before any key is parsed.
pub(crate) fn check_client_key_count(set: &Map<String, Value>) -> Result<(), String> {
    match set.get("keys") {
        Some(Value::Array(items)) if items.len() > crate::limits::MAX_CLIENT_KEYS => Err(
            alloc::format!("holds more than {} keys", crate::limits::MAX_CLIENT_KEYS),
        ),
        _ => Ok(()),
    }
}

fn scopes_field(field: &str, text: &Option<String>) -> Result<Vec<String>, ConfigError> {
    match text {
        None => Ok(Vec::new()),
        Some(t) if t.is_empty() => Ok(Vec::new()),
        Some(t) => parse_scope(t).ok_or_else(|| {
            ConfigError::new(
                field,
                "must be space-separated scope tokens (RFC 6749 §3.3)",
            )
        }),
    }
}

mod client;
mod filter;
mod path;
mod provider;
mod server;
mod stored;

pub use client::*;
pub use filter::*;
pub use provider::*;
pub use server::*;
pub use stored::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_must_be_https_or_exactly_loopback() {
        for ok in [
            "https://as.example",
            "https://as.example/t1",
            "http://localhost:8080",
            "http://127.0.0.1",
            "http://[::1]:9000/x",
        ] {
            assert!(require_url("issuer", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://as.example",
            "http://localhost.evil.example",
            "https://",
            "https://a.example/?q",
            "https://a.example/#f",
            "ftp://x",
        ] {
            assert!(require_url("issuer", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_accept_seconds_and_the_envoy_string_form() {
        assert_eq!(RawDuration::Seconds(5).seconds("f"), Ok(5));
        assert_eq!(RawDuration::Text("300s".into()).seconds("f"), Ok(300));
        assert_eq!(RawDuration::Text("250ms".into()).millis("f"), Ok(250));
        assert_eq!(RawDuration::Text("2s".into()).millis("f"), Ok(2000));
        assert_eq!(RawDuration::Seconds(3).millis("f"), Ok(3000));
        for bad in ["ms", "1.5s", "-1ms", "5m", "250 ms"] {
            assert_eq!(
                RawDuration::Text(bad.into()).millis("f").unwrap_err().field,
                "f",
                "{bad}"
            );
        }
        assert_eq!(
            RawDuration::Text("5m".into())
                .seconds("f")
                .unwrap_err()
                .field,
            "f"
        );
    }
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn unknown_fields_are_reported_with_their_path() {
        let doc = r#"{"issuer":"https://as.example","signing_keys":[],"clients":[{"client_id":"a","client_secrt":"x"}]}"#;
        let err = ServerConfig::from_json(doc).unwrap_err();
        assert_eq!(err.field, "clients[0].client_secrt");
        assert!(
            err.message.contains("unknown field `client_secrt`"),
            "{err}"
        );
        let err = Provider::from_json(r#"{"issuer":"x","audiences":["a"],"remote_jwks":{"http_uri":{"uri":"https://x","cluster":"c","timout":"1s"}}}"#).unwrap_err();
        assert_eq!(err.field, "remote_jwks.http_uri.timout");
    }
}
