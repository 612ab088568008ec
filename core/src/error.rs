//! Errors and their one mapping to the wire.
//!
//! * Token endpoint: RFC 6749 §5.2 codes (plus RFC 8707 §2 `invalid_target`).
//! * Protected resources: RFC 6750 §3.1 codes with `WWW-Authenticate: Bearer`.
//! * Registration: RFC 7591 §3.2.2 codes.
//! * Configuration: the field path and what is wrong with it.
//!
//! Descriptions are short and safe to show a client; details belong in the host's logs.

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;
use serde_json::json;

use crate::response::HttpResponse;

/// Builds a string usable inside an RFC 7235 quoted-string: RFC 6750 §3 restricts
/// `error_description` to `%x20-21 / %x23-5B / %x5D-7E`, so other characters become `?`.
fn quoted_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

/// RFC 6749 §5.2 error codes of the token endpoint, plus RFC 8707 §2 `invalid_target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenErrorCode {
    /// Malformed request: missing or repeated parameter, wrong method or content type, more
    /// than one client authentication method.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant is invalid (not produced by the client-credentials grant; reserved).
    InvalidGrant,
    /// The authenticated client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported by this server.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown or exceeds what the client may ask for.
    InvalidScope,
    /// RFC 8707 §2: the requested `resource` is invalid or not allowed for this client.
    InvalidTarget,
    /// The server failed (e.g. signing); answered 500 with the `server_error` code RFC 6749
    /// §4.1.2.1 defines for the authorization endpoint.
    ServerError,
    /// A store the server needs did not answer (the client-assertion replay store): answered
    /// 503 with `Retry-After` and the `temporarily_unavailable` code RFC 6749 §4.1.2.1 defines
    /// for the authorization endpoint (RFC 9110 §15.6.4: 503 is a temporary condition). The
    /// client retries later, with a new assertion: the one it sent may have been recorded.
    TemporarilyUnavailable,
}

impl TokenErrorCode {
    /// The wire name of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenErrorCode::InvalidRequest => "invalid_request",
            TokenErrorCode::InvalidClient => "invalid_client",
            TokenErrorCode::InvalidGrant => "invalid_grant",
            TokenErrorCode::UnauthorizedClient => "unauthorized_client",
            TokenErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            TokenErrorCode::InvalidScope => "invalid_scope",
            TokenErrorCode::InvalidTarget => "invalid_target",
            TokenErrorCode::ServerError => "server_error",
            TokenErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// A token endpoint error (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// The RFC 6749 §5.2 code.
    pub code: TokenErrorCode,
    /// A short human-readable description for the client.
    pub description: Cow<'static, str>,
    /// The wrong HTTP method was used (answered 405 with `Allow: POST`).
    pub method_not_allowed: bool,
}

impl TokenError {
    /// An error with a fixed description.
    pub fn new(code: TokenErrorCode, description: &'static str) -> Self {
        TokenError {
            code,
            description: Cow::Borrowed(description),
            method_not_allowed: false,
        }
    }

    /// An error with a built description.
    pub fn with(code: TokenErrorCode, description: String) -> Self {
        TokenError {
            code,
            description: Cow::Owned(description),
            method_not_allowed: false,
        }
    }

    pub(crate) fn invalid_request(d: &'static str) -> Self {
        Self::new(TokenErrorCode::InvalidRequest, d)
    }
    pub(crate) fn invalid_client(d: &'static str) -> Self {
        Self::new(TokenErrorCode::InvalidClient, d)
    }

    /// The HTTP status: RFC 6749 §5.2 answers 400, except `invalid_client`, which answers 401
    /// (the client authenticated, or tried to, and RFC 9110 §15.5.2 requires a
    /// `WWW-Authenticate` challenge with every 401), and a wrong method (405).
    pub fn status(&self) -> u16 {
        if self.method_not_allowed {
            405
        } else if self.code == TokenErrorCode::ServerError {
            500
        } else if self.code == TokenErrorCode::TemporarilyUnavailable {
            503
        } else if self.code == TokenErrorCode::InvalidClient {
            401
        } else {
            400
        }
    }

    /// The complete response. `realm` names the authorization server in the Basic challenge.
    pub fn to_response(&self, realm: &str) -> HttpResponse {
        let body = json!({
            "error": self.code.as_str(),
            "error_description": quoted_safe(&self.description),
        });
        let mut response = HttpResponse::json(self.status(), &body);
        if self.code == TokenErrorCode::InvalidClient {
            // RFC 6749 §5.2: a 401 MUST carry WWW-Authenticate with the scheme the client used;
            // Basic is the scheme of §2.3.1 and the only HTTP scheme this endpoint accepts.
            response = response.with_header(
                "www-authenticate",
                alloc::format!("Basic realm=\"{}\", charset=\"UTF-8\"", quoted_safe(realm)),
            );
        }
        if self.method_not_allowed {
            response = response.with_header("allow", "POST".into());
        }
        if self.code == TokenErrorCode::TemporarilyUnavailable {
            // RFC 9110 §10.2.3: how long to wait (the store's own timeout is about that long).
            response = response.with_header("retry-after", RETRY_AFTER_SECONDS.into());
        }
        response
    }
}

/// `Retry-After` of a `temporarily_unavailable` answer, in seconds.
pub const RETRY_AFTER_SECONDS: &str = "1";

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

/// RFC 6750 §3.1 outcomes at a protected resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerErrorCode {
    /// No token at all: 401 with a bare `Bearer realm=...` challenge and no error code
    /// (RFC 6750 §3.1: "SHOULD NOT include an error code").
    MissingToken,
    /// 400 `invalid_request`: malformed request (e.g. two tokens, bad `Authorization` syntax).
    InvalidRequest,
    /// 401 `invalid_token`: expired, revoked, malformed or otherwise invalid token.
    InvalidToken,
    /// 403 `insufficient_scope`, with the scopes the resource needs.
    InsufficientScope {
        /// Space-separated scopes required (RFC 6750 §3 `scope` attribute).
        scope: String,
    },
}

/// A protected-resource error (RFC 6750 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerError {
    /// The RFC 6750 outcome.
    pub code: BearerErrorCode,
    /// A short description (RFC 6750 §3 `error_description`).
    pub description: Cow<'static, str>,
    /// The key id was not found in the key set: a host may refetch the JWKS.
    pub unknown_kid: bool,
}

impl BearerError {
    /// An error with a fixed description.
    pub fn new(code: BearerErrorCode, description: &'static str) -> Self {
        BearerError {
            code,
            description: Cow::Borrowed(description),
            unknown_kid: false,
        }
    }

    /// `invalid_token` with a fixed description.
    pub fn invalid_token(description: &'static str) -> Self {
        Self::new(BearerErrorCode::InvalidToken, description)
    }

    /// No token was presented.
    pub fn missing_token() -> Self {
        Self::new(BearerErrorCode::MissingToken, "no access token")
    }

    /// The wire name of the error code, if any.
    pub fn code_str(&self) -> Option<&'static str> {
        match self.code {
            BearerErrorCode::MissingToken => None,
            BearerErrorCode::InvalidRequest => Some("invalid_request"),
            BearerErrorCode::InvalidToken => Some("invalid_token"),
            BearerErrorCode::InsufficientScope { .. } => Some("insufficient_scope"),
        }
    }

    /// RFC 6750 §3.1 status codes.
    pub fn status(&self) -> u16 {
        match self.code {
            BearerErrorCode::InvalidRequest => 400,
            BearerErrorCode::MissingToken | BearerErrorCode::InvalidToken => 401,
            BearerErrorCode::InsufficientScope { .. } => 403,
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3).
    pub fn www_authenticate(&self, realm: &str) -> String {
        let mut value = alloc::format!("Bearer realm=\"{}\"", quoted_safe(realm));
        if let Some(code) = self.code_str() {
            value.push_str(&alloc::format!(
                ", error=\"{code}\", error_description=\"{}\"",
                quoted_safe(&self.description)
            ));
        }
        // RFC 6750 §3: `scope` lists what the resource needs; a rule that needs claim values
        // and no scope has nothing to list.
        if let BearerErrorCode::InsufficientScope { scope } = &self.code {
            if !scope.is_empty() {
                value.push_str(&alloc::format!(", scope=\"{}\"", quoted_safe(scope)));
            }
        }
        value
    }

    /// The complete response: status, `WWW-Authenticate`, and a JSON body with `error` and
    /// `error_description` (none for a missing token).
    pub fn to_response(&self, realm: &str) -> HttpResponse {
        let body = match self.code_str() {
            Some(code) => {
                json!({ "error": code, "error_description": quoted_safe(&self.description) })
            }
            None => json!({ "error_description": quoted_safe(&self.description) }),
        };
        HttpResponse::json(self.status(), &body)
            .with_header("www-authenticate", self.www_authenticate(realm))
    }
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.code_str().unwrap_or("missing_token"),
            self.description
        )
    }
}

/// RFC 7591 §3.2.2 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationErrorCode {
    /// A metadata value is invalid.
    InvalidClientMetadata,
    /// The software statement is invalid (this server accepts none).
    InvalidSoftwareStatement,
}

/// A registration error (RFC 7591 §3.2.2), answered with 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationError {
    /// The code.
    pub code: RegistrationErrorCode,
    /// What is wrong, naming the metadata field.
    pub description: String,
}

impl RegistrationError {
    pub(crate) fn metadata(description: String) -> Self {
        RegistrationError {
            code: RegistrationErrorCode::InvalidClientMetadata,
            description,
        }
    }

    /// The wire name of the code.
    pub fn code_str(&self) -> &'static str {
        match self.code {
            RegistrationErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            RegistrationErrorCode::InvalidSoftwareStatement => "invalid_software_statement",
        }
    }

    /// The 400 response of RFC 7591 §3.2.2.
    pub fn to_response(&self) -> HttpResponse {
        HttpResponse::json(
            400,
            &json!({ "error": self.code_str(), "error_description": quoted_safe(&self.description) }),
        )
    }
}

impl fmt::Display for RegistrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code_str(), self.description)
    }
}

/// A configuration error: the field path (e.g. `providers.main.issuer`) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the offending field.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Prefixes the field path with a parent (`parent.field`).
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.into()
        } else if self.field.starts_with('[') {
            alloc::format!("{parent}{}", self.field)
        } else {
            alloc::format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}
