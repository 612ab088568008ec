//! RFC 7662 token introspection: which clients may ask, which tokens count as active, and the
//! answer. The request itself (client authentication, replay, the steps a host does) runs in
//! [`crate::exchange::TokenExchange::begin_introspection`].
//!
//! * Who may ask: a client whose record says `introspection: true` (set by the operator in the
//!   configuration or the client store; a client cannot register or update itself into it).
//!   RFC 7662 §2.1 requires some authorization of the caller and leaves its form to the server;
//!   another client is refused with `unauthorized_client`, and learns nothing of the token.
//! * Active (§2.2): a token this server minted — an `at+jwt` signed by one of its signing keys,
//!   `iss` its issuer, an `aud` it issues tokens for — that has not expired (no clock skew:
//!   the answer is the server's own clock) and whose client still exists and is not disabled.
//!   Anything else is `{"active": false}`, with no reason (§2.2: the server "SHOULD NOT include
//!   any additional information about an inactive token").
//! * The active answer is `"active": true`, `"token_type": "Bearer"` and the token's claims
//!   (`iss`, `sub`, `aud`, `exp`, `iat`, `jti`, `client_id`, `scope` and the client's static
//!   claims), with `Cache-Control: no-store` (§4: the answer must not be cached beyond the
//!   token's life; this server does not let it be cached at all).

use alloc::string::String;
use serde_json::{Map, Value};

use crate::client_auth::{AuthenticatedClient, ClientRecord};
use crate::config::ServerConfig;
use crate::error::{TokenError, TokenErrorCode};
use crate::response::HttpResponse;
use crate::verify::{self, PendingVerification, VerifiedAccessToken};

/// Checks that `caller` may introspect, and parses `token` with its key chosen: `Ok(None)` for
/// a token that cannot be active whatever its signature (malformed, another issuer's key, an
/// algorithm this server does not sign with).
pub fn begin<'a>(
    config: &'a ServerConfig,
    caller: &AuthenticatedClient,
    token: &'a str,
) -> Result<Option<PendingVerification<'a>>, TokenError> {
    if !caller.record().introspection {
        return Err(TokenError::new(
            TokenErrorCode::UnauthorizedClient,
            "this client may not introspect tokens",
        ));
    }
    Ok(verify::begin(
        token,
        &config.introspection_policy,
        &config.verification_keys,
    )
    .ok())
}

/// The answer for a token whose signature and claims verified, given its client's record
/// (`None`: the client no longer exists). Returns whether it is active, and the response.
pub fn answer(token: &VerifiedAccessToken, client: Option<&ClientRecord>) -> (bool, HttpResponse) {
    match client {
        Some(record) if !record.disabled => {
            let mut body = Map::new();
            body.insert("active".into(), Value::Bool(true));
            body.insert("token_type".into(), Value::String(String::from("Bearer")));
            for (name, value) in &token.claims {
                body.entry(name.clone()).or_insert_with(|| value.clone());
            }
            (true, HttpResponse::json(200, &Value::Object(body)))
        }
        _ => (false, inactive()),
    }
}

/// `{"active": false}` (RFC 7662 §2.2), 200.
pub fn inactive() -> HttpResponse {
    let mut body = Map::new();
    body.insert("active".into(), Value::Bool(false));
    HttpResponse::json(200, &Value::Object(body))
}
