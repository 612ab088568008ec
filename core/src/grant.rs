//! The client-credentials grant decision (RFC 6749 §4.4, §3.3; RFC 8707 §2).

use alloc::string::String;
use alloc::vec::Vec;

use crate::client_auth::AuthenticatedClient;
use crate::error::{TokenError, TokenErrorCode};
use crate::request::TokenRequest;

/// The grant type this server issues tokens for.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// What a token will say: for whom, with which scopes, for which audiences. Only
/// [`authorize`] makes one, from an [`AuthenticatedClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    client_id: String,
    scopes: Vec<String>,
    audiences: Vec<String>,
}

impl Grant {
    /// The client.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    /// Granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// Audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
}

/// Decides the grant for an authenticated client's request.
///
/// * The client must be allowed the `client_credentials` grant, else `unauthorized_client`.
/// * RFC 6749 §3.3: requested scopes must all be allowed, else `invalid_scope`; without a
///   `scope` parameter the client's allowed scopes are granted (the pre-defined default).
/// * RFC 8707 §2: requested resources must all be allowed audiences, else `invalid_target`;
///   without `resource` the client's allowed audiences are used.
pub fn authorize(
    client: &AuthenticatedClient,
    request: &TokenRequest,
) -> Result<Grant, TokenError> {
    let record = client.record();
    if !record.grant_types.iter().any(|g| g == CLIENT_CREDENTIALS) {
        return Err(TokenError::new(
            TokenErrorCode::UnauthorizedClient,
            "client may not use the client_credentials grant",
        ));
    }
    let scopes = match &request.scope {
        Some(requested) => {
            if let Some(bad) = requested.iter().find(|s| !record.scopes.contains(s)) {
                return Err(TokenError::with(
                    TokenErrorCode::InvalidScope,
                    alloc::format!("scope {bad} is not allowed for this client"),
                ));
            }
            requested.clone()
        }
        None => record.scopes.clone(),
    };
    let audiences = if request.resources.is_empty() {
        record.audiences.clone()
    } else {
        if let Some(bad) = request
            .resources
            .iter()
            .find(|r| !record.audiences.contains(r))
        {
            return Err(TokenError::with(
                TokenErrorCode::InvalidTarget,
                alloc::format!("resource {bad} is not allowed for this client"),
            ));
        }
        let mut unique: Vec<String> = Vec::new();
        for r in &request.resources {
            if !unique.contains(r) {
                unique.push(r.clone());
            }
        }
        unique
    };
    if audiences.is_empty() {
        return Err(TokenError::new(
            TokenErrorCode::InvalidTarget,
            "no audience is configured for this client",
        ));
    }
    Ok(Grant {
        client_id: String::from(client.client_id()),
        scopes,
        audiences,
    })
}
