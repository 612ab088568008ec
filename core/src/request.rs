//! Token request parsing (RFC 6749 §4.4, §3.2, §2.3).
//!
//! From the HTTP method, content type, `Authorization` header and body bytes to a typed
//! [`TokenRequest`], or the RFC 6749 §5.2 error. Nothing here looks at stored clients: the
//! result names the client (for the host's lookup) and carries its credentials.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use zeroize::Zeroizing;

use crate::b64;
use crate::error::{TokenError, TokenErrorCode};
use crate::limits::{
    self, MAX_AUTHORIZATION_BYTES, MAX_FORM_PARAMETERS, MAX_RESOURCES, MAX_SCOPE_TOKENS,
    MAX_SMALL_JSON_VALUES, MAX_TOKEN_BYTES,
};

/// The `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Largest token request body accepted, in bytes.
pub use crate::limits::MAX_BODY_BYTES;

/// The parts of an HTTP request the token endpoint reads.
#[derive(Debug, Clone, Copy)]
pub struct TokenHttpRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// `Content-Type` header value.
    pub content_type: Option<&'a str>,
    /// `Authorization` header value.
    pub authorization: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// Whether a header value is visible ASCII with single spaces allowed between words
/// (RFC 9110 §5.5 `field-value` restricted to what this endpoint reads: no obs-text, no
/// controls, no tabs). Hosts hand header values over as bytes; anything else is refused.
pub fn is_visible_ascii(value: &[u8]) -> bool {
    value.iter().all(|&b| (0x20..0x7f).contains(&b))
}

impl<'a> TokenHttpRequest<'a> {
    /// The request as a host hands it over: untrusted bytes. A method, `Content-Type` or
    /// `Authorization` that is not visible ASCII is `invalid_request` (RFC 6749 §5.2); no
    /// UTF-8 is assumed.
    pub fn from_bytes(
        method: &'a [u8],
        content_type: Option<&'a [u8]>,
        authorization: Option<&'a [u8]>,
        body: &'a [u8],
    ) -> Result<Self, TokenError> {
        let text = |value: &'a [u8], what: &str| -> Result<&'a str, TokenError> {
            let refused = || {
                TokenError::with(
                    TokenErrorCode::InvalidRequest,
                    alloc::format!("{what} is not visible ASCII"),
                )
            };
            if !is_visible_ascii(value) {
                return Err(refused());
            }
            core::str::from_utf8(value).map_err(|_| refused())
        };
        Ok(TokenHttpRequest {
            method: text(method, "method")?,
            content_type: content_type.map(|v| text(v, "Content-Type")).transpose()?,
            authorization: authorization
                .map(|v| text(v, "Authorization header"))
                .transpose()?,
            body,
        })
    }
}

/// How the client presented its credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `client_secret_basic` (RFC 6749 §2.3.1, HTTP Basic).
    SecretBasic {
        /// The client identifier.
        client_id: String,
        /// The secret.
        secret: Zeroizing<String>,
    },
    /// `client_secret_post` (RFC 6749 §2.3.1, body parameters).
    SecretPost {
        /// The client identifier.
        client_id: String,
        /// The secret.
        secret: Zeroizing<String>,
    },
    /// `client_secret_jwt` or `private_key_jwt` (RFC 7523 §2.2): which one is decided by the
    /// client's registration.
    Assertion {
        /// The client identifier: the assertion's `sub` (RFC 7523 §3), unverified until the
        /// assertion is checked.
        client_id: String,
        /// The assertion as received.
        assertion: String,
    },
}

impl core::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClientCredentials::SecretBasic { client_id, .. } => {
                write!(f, "SecretBasic {{ client_id: {client_id:?}, .. }}")
            }
            ClientCredentials::SecretPost { client_id, .. } => {
                write!(f, "SecretPost {{ client_id: {client_id:?}, .. }}")
            }
            ClientCredentials::Assertion { client_id, .. } => {
                write!(f, "Assertion {{ client_id: {client_id:?}, .. }}")
            }
        }
    }
}

/// A well-formed client-credentials token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// Requested scopes (`None`: the parameter was absent or empty, RFC 6749 §3.1).
    pub scope: Option<Vec<String>>,
    /// The audiences asked for: RFC 8707 `resource` values, or the values of the `audience`
    /// parameter (either may repeat; not both in one request).
    pub resources: Vec<String>,
    /// For an RFC 7662 introspection request, the `token` to introspect (`None` for a token
    /// request).
    pub introspect: Option<String>,
    /// The client's credentials.
    pub credentials: ClientCredentials,
}

fn credentials_client_id(credentials: &ClientCredentials) -> &str {
    match credentials {
        ClientCredentials::SecretBasic { client_id, .. }
        | ClientCredentials::SecretPost { client_id, .. }
        | ClientCredentials::Assertion { client_id, .. } => client_id,
    }
}

impl TokenRequest {
    /// The client identifier to look up: always 1 to 255 visible ASCII characters
    /// ([`limits::is_client_id`]); the parser refuses any other.
    pub fn client_id(&self) -> &str {
        credentials_client_id(&self.credentials)
    }

    /// Whether the client authenticated through the `Authorization` header.
    pub fn used_authorization_header(&self) -> bool {
        matches!(self.credentials, ClientCredentials::SecretBasic { .. })
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte;
/// a `%` not followed by two hex digits, or a result that is not UTF-8, is refused.
pub fn form_decode(component: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(component.len());
    let mut i = 0;
    while let Some(&b) = component.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(*component.get(i + 1)?)?;
                let lo = hex(*component.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Encodes one `application/x-www-form-urlencoded` component as a client sends it (RFC 6749
/// Appendix B, §2.3.1 for Basic credentials): space as `+`, every byte but
/// `A-Z a-z 0-9 - . _ *` as `%XX`. [`form_decode`] gives back exactly `text`.
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&alloc::format!("%{b:02X}")),
        }
    }
    out
}

/// Parses a form body into (name, value) pairs, in order. Empty `&&` segments are skipped;
/// more than [`MAX_FORM_PARAMETERS`] parameters is `invalid_request`, refused at the first one
/// over (one pass, nothing decoded past it).
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, TokenError> {
    let mut pairs = Vec::new();
    for segment in body.split(|&b| b == b'&') {
        if segment.is_empty() {
            continue;
        }
        if pairs.len() == MAX_FORM_PARAMETERS {
            return Err(TokenError::with(
                TokenErrorCode::InvalidRequest,
                alloc::format!("more than {MAX_FORM_PARAMETERS} form parameters"),
            ));
        }
        let (name, value) = match segment.iter().position(|&b| b == b'=') {
            Some(eq) => (
                segment.get(..eq).unwrap_or_default(),
                segment.get(eq + 1..).unwrap_or_default(),
            ),
            None => (segment, &b""[..]),
        };
        let name = form_decode(name)
            .ok_or_else(|| TokenError::invalid_request("malformed form encoding"))?;
        let value = form_decode(value)
            .ok_or_else(|| TokenError::invalid_request("malformed form encoding"))?;
        if name.is_empty() {
            return Err(TokenError::invalid_request("form parameter without a name"));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// Whether a content type is `application/x-www-form-urlencoded` (parameters such as
/// `charset` allowed; media types compare case-insensitively).
fn is_form_content_type(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// Why a scope list from the wire was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeError {
    /// Not space-delimited RFC 6749 §3.3 scope tokens.
    Malformed,
    /// More than [`MAX_SCOPE_TOKENS`] tokens.
    TooMany,
}

fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, space-delimited. Duplicates
/// are dropped (first occurrence kept, order kept) through a set: O(n log n) in the number of
/// tokens. For configuration; scopes from the wire go through [`parse_requested_scope`].
pub fn parse_scope(text: &str) -> Option<Vec<String>> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut out: Vec<String> = Vec::new();
    for token in text.split(' ') {
        if !is_scope_token(token) {
            return None;
        }
        if seen.insert(token) {
            out.push(String::from(token));
        }
    }
    Some(out)
}

/// [`parse_scope`] for a scope list from the wire (a token request, a registration): more than
/// [`MAX_SCOPE_TOKENS`] tokens is refused before any token is looked at.
pub fn parse_requested_scope(text: &str) -> Result<Vec<String>, ScopeError> {
    if text.split(' ').nth(MAX_SCOPE_TOKENS).is_some() {
        return Err(ScopeError::TooMany);
    }
    parse_scope(text).ok_or(ScopeError::Malformed)
}

/// RFC 8707 §2: a resource is an absolute URI without a fragment.
pub fn is_valid_resource(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_ok
        && !rest.is_empty()
        && !uri.contains('#')
        && !uri.bytes().any(|b| b <= b' ' || b == 0x7f)
}

struct Params(Vec<(String, String)>);

impl Params {
    /// RFC 6749 §3.2: parameters MUST NOT appear more than once; §3.1: a parameter sent
    /// without a value is treated as omitted.
    fn single(&self, name: &str) -> Result<Option<&str>, TokenError> {
        let mut found = self.0.iter().filter(|(n, _)| n == name);
        match (found.next(), found.next()) {
            (Some(_), Some(_)) => Err(TokenError::with(
                TokenErrorCode::InvalidRequest,
                alloc::format!("parameter {name} is repeated"),
            )),
            (Some((_, v)), None) if !v.is_empty() => Ok(Some(v.as_str())),
            _ => Ok(None),
        }
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// RFC 6749 §3.2: no parameter twice, `resource` (RFC 8707 §2) and `audience` (RFC 8693
    /// §2.1) excepted. One pass with a set of the names seen.
    fn check_no_repeats(&self) -> Result<(), TokenError> {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for (name, _) in &self.0 {
            if name != "resource" && name != "audience" && !seen.insert(name.as_str()) {
                return Err(TokenError::with(
                    TokenErrorCode::InvalidRequest,
                    alloc::format!("parameter {name} is repeated"),
                ));
            }
        }
        Ok(())
    }
}

/// Decodes HTTP Basic credentials. RFC 6749 §2.3.1: the client identifier and secret are
/// form-urlencoded before being joined with `:` and base64-encoded.
fn parse_basic(value: &str) -> Result<Option<(String, Zeroizing<String>)>, TokenError> {
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Ok(None);
    }
    let bad = || TokenError::invalid_client("malformed Basic credentials");
    let decoded =
        Zeroizing::new(b64::decode_standard(rest.trim_start_matches(' ')).map_err(|_| bad())?);
    let colon = decoded.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let id = form_decode(decoded.get(..colon).unwrap_or_default()).ok_or_else(bad)?;
    let secret =
        Zeroizing::new(form_decode(decoded.get(colon + 1..).unwrap_or_default()).ok_or_else(bad)?);
    if id.is_empty() {
        return Err(bad());
    }
    Ok(Some((id, secret)))
}

/// Reads the unverified `sub` of a client assertion: the client it claims to be. The payload
/// is parsed with the small-document bound: an assertion holds about ten claims.
fn assertion_subject(assertion: &str) -> Result<String, TokenError> {
    let jws = crate::jws::parse_compact(assertion, MAX_TOKEN_BYTES)
        .map_err(|_| TokenError::invalid_client("client assertion is not a valid JWS"))?;
    let claims = crate::json::parse_object_within(&jws.payload, MAX_SMALL_JSON_VALUES)
        .map_err(|_| TokenError::invalid_client("client assertion payload is not a JSON object"))?;
    match claims.get("sub") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(TokenError::invalid_client("client assertion has no sub")),
    }
}

/// Parses a token request (see the module docs).
pub fn parse_token_request(http: &TokenHttpRequest<'_>) -> Result<TokenRequest, TokenError> {
    parse_request(http, false)
}

/// Parses an RFC 7662 §2.1 introspection request: `token` (required) and the client's
/// credentials, read as at the token endpoint (any of the four methods); `token_type_hint`
/// is accepted and ignored (§2.1: the server may ignore it), other parameters are ignored.
pub fn parse_introspection_request(
    http: &TokenHttpRequest<'_>,
) -> Result<TokenRequest, TokenError> {
    parse_request(http, true)
}

fn parse_request(
    http: &TokenHttpRequest<'_>,
    introspection: bool,
) -> Result<TokenRequest, TokenError> {
    // RFC 6749 §3.2: "The client MUST use the HTTP POST method"; RFC 7662 §2.1: POST.
    if !http.method.eq_ignore_ascii_case("POST") {
        let mut e = TokenError::invalid_request("the endpoint accepts POST only");
        e.method_not_allowed = true;
        return Err(e);
    }
    // RFC 6749 §4.4.2: parameters in application/x-www-form-urlencoded.
    if !http.content_type.is_some_and(is_form_content_type) {
        return Err(TokenError::invalid_request(
            "content type must be application/x-www-form-urlencoded",
        ));
    }
    if http.body.len() > MAX_BODY_BYTES {
        return Err(TokenError::invalid_request("request body too large"));
    }
    // Hosts that hand over text (the npm package: `Request.headers` may hold Latin-1) get the
    // same answer as hosts that hand over bytes (`TokenHttpRequest::from_bytes`).
    if http
        .authorization
        .is_some_and(|a| !is_visible_ascii(a.as_bytes()))
    {
        return Err(TokenError::invalid_request(
            "Authorization header is not visible ASCII",
        ));
    }
    if http
        .authorization
        .is_some_and(|a| a.len() > MAX_AUTHORIZATION_BYTES)
    {
        return Err(TokenError::invalid_client("malformed Basic credentials"));
    }
    let params = Params(parse_form(http.body)?);
    params.check_no_repeats()?;

    // Identify the authentication method before anything else about the client.
    let basic = match http.authorization {
        Some(value) => match parse_basic(value)? {
            Some(creds) => Some(creds),
            None => {
                return Err(TokenError::invalid_client(
                    "unsupported authentication scheme",
                ))
            }
        },
        None => None,
    };
    let body_secret = params.single("client_secret")?;
    let assertion = params.single("client_assertion")?;
    let assertion_type = params.single("client_assertion_type")?;
    let body_client_id = params.single("client_id")?;
    let methods = usize::from(basic.is_some())
        + usize::from(body_secret.is_some())
        + usize::from(assertion.is_some() || assertion_type.is_some());
    // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each
    // request."
    if methods > 1 {
        return Err(TokenError::invalid_request(
            "more than one client authentication method",
        ));
    }

    // RFC 6749 §4.4.2: grant_type is REQUIRED and must be client_credentials here; RFC 7662
    // §2.1: `token` is REQUIRED in an introspection request.
    let introspect = match introspection {
        true => {
            Some(String::from(params.single("token")?.ok_or_else(|| {
                TokenError::invalid_request("token is missing")
            })?))
        }
        false => None,
    };
    match params.single("grant_type")? {
        _ if introspection => {}
        None => return Err(TokenError::invalid_request("grant_type is missing")),
        Some("client_credentials") => {}
        Some(_) => {
            return Err(TokenError::new(
                TokenErrorCode::UnsupportedGrantType,
                "only client_credentials is supported",
            ))
        }
    }

    let credentials = if let Some((client_id, secret)) = basic {
        if body_client_id.is_some_and(|id| id != client_id) {
            return Err(TokenError::invalid_request(
                "client_id does not match the Authorization header",
            ));
        }
        ClientCredentials::SecretBasic { client_id, secret }
    } else if let Some(secret) = body_secret {
        let client_id = body_client_id
            .ok_or_else(|| TokenError::invalid_request("client_secret without client_id"))?;
        ClientCredentials::SecretPost {
            client_id: String::from(client_id),
            secret: Zeroizing::new(String::from(secret)),
        }
    } else if assertion.is_some() || assertion_type.is_some() {
        let (Some(assertion), Some(assertion_type)) = (assertion, assertion_type) else {
            return Err(TokenError::invalid_request(
                "client_assertion and client_assertion_type must be sent together",
            ));
        };
        // RFC 7523 §2.2: the value is exactly this URN.
        if assertion_type != JWT_BEARER_ASSERTION_TYPE {
            return Err(TokenError::invalid_client(
                "unsupported client_assertion_type",
            ));
        }
        let client_id = assertion_subject(assertion)?;
        // RFC 7521 §4.2: a client_id sent alongside must identify the same client.
        if body_client_id.is_some_and(|id| id != client_id) {
            return Err(TokenError::invalid_client(
                "client_id does not match the client assertion",
            ));
        }
        ClientCredentials::Assertion {
            client_id,
            assertion: String::from(assertion),
        }
    } else {
        // RFC 6749 §4.4: only confidential clients may use this grant, so a request without
        // client authentication fails as invalid_client (§5.2).
        return Err(TokenError::invalid_client(
            "client authentication is required",
        ));
    };
    // An id no configured or registered client can have (1-255 visible ASCII, RFC 6749
    // Appendix A.1) is answered like an unknown client, and no store is ever asked for it.
    if !limits::is_client_id(credentials_client_id(&credentials)) {
        return Err(TokenError::invalid_client("client authentication failed"));
    }

    if introspection {
        return Ok(TokenRequest {
            scope: None,
            resources: Vec::new(),
            credentials,
            introspect,
        });
    }
    let scope = match params.single("scope")? {
        None => None,
        Some(text) => Some(parse_requested_scope(text).map_err(|e| match e {
            ScopeError::Malformed => {
                TokenError::new(TokenErrorCode::InvalidScope, "malformed scope")
            }
            ScopeError::TooMany => TokenError::with(
                TokenErrorCode::InvalidScope,
                alloc::format!("more than {MAX_SCOPE_TOKENS} scope tokens"),
            ),
        })?),
    };
    let resources = params.all("resource");
    let audiences = params.all("audience");
    // The audience is named with RFC 8707 `resource` or with `audience` (RFC 8693 §2.1, and
    // what Auth0-style clients send), not both: two lists would leave which one counts open.
    if !resources.is_empty() && !audiences.is_empty() {
        return Err(TokenError::invalid_request(
            "send resource or audience, not both",
        ));
    }
    // RFC 8707 §2: invalid_target for a resource the server will not accept, which includes
    // more of them than it serves in one token. RFC 8693 §2.2.2 answers an `audience` the
    // server will not issue for with the same code.
    let (resources, what) = match audiences.is_empty() {
        true => (resources, "resource"),
        false => (audiences, "audience"),
    };
    if resources.len() > MAX_RESOURCES {
        return Err(TokenError::with(
            TokenErrorCode::InvalidTarget,
            alloc::format!("more than {MAX_RESOURCES} {what} values"),
        ));
    }
    // A resource is an absolute URI; an audience is the name of one of this server's
    // audiences, which are absolute URIs too: anything else is no audience of this server.
    if resources.iter().any(|r| !is_valid_resource(r)) {
        return Err(TokenError::with(
            TokenErrorCode::InvalidTarget,
            alloc::format!("{what} must be an absolute URI without a fragment"),
        ));
    }
    Ok(TokenRequest {
        scope,
        resources,
        credentials,
        introspect,
    })
}
