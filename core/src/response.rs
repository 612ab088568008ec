//! Responses as plain data: a shell copies status, headers and body onto its host's response.

use alloc::string::String;
use alloc::vec::Vec;
use serde_json::{json, Value};

/// `{"error": code, "error_description": description}`, the error body of RFC 6749 §5.2 and
/// RFC 6750 §3.
pub fn error_body(code: &str, description: &str) -> Value {
    json!({ "error": code, "error_description": description })
}

/// An HTTP response built by core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes (JSON unless the status is 204).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A JSON response. Every JSON answer of an authorization server carries
    /// `Cache-Control: no-store` (RFC 6749 §5.1, RFC 7591 §3.2.1) and `Pragma: no-cache`.
    pub fn json(status: u16, body: &Value) -> Self {
        Self::json_text(status, serde_json::to_vec(body).unwrap_or_default())
    }

    /// [`HttpResponse::json`] for a body already written as JSON text.
    pub fn json_text(status: u16, body: Vec<u8>) -> Self {
        HttpResponse {
            status,
            headers: alloc::vec![
                ("content-type".into(), "application/json".into()),
                ("cache-control".into(), "no-store".into()),
                ("pragma".into(), "no-cache".into()),
            ],
            body,
        }
    }

    /// A JSON response that may be cached for `max_age` seconds (JWKS, metadata).
    pub fn cacheable_json(body: &Value, max_age: u64) -> Self {
        HttpResponse {
            status: 200,
            headers: alloc::vec![
                ("content-type".into(), "application/json".into()),
                (
                    "cache-control".into(),
                    alloc::format!("public, max-age={max_age}")
                ),
            ],
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    /// An empty response (e.g. 204 after RFC 7592 §2.3 delete).
    pub fn empty(status: u16) -> Self {
        HttpResponse {
            status,
            headers: alloc::vec![("cache-control".into(), "no-store".into())],
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.into(), value));
        self
    }

    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (for tests and hosts that inspect it).
    pub fn json_body(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}
