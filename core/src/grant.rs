//! The client-credentials grant decision (RFC 6749 §4.4, §3.3; RFC 8707 §2).

use alloc::string::String;
use alloc::vec::Vec;

use crate::client_auth::AuthenticatedClient;
use crate::error::{TokenError, TokenErrorCode};
use crate::request::TokenRequest;
use serde_json::{Map, Value};

/// The grant type this server issues tokens for.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// What a token will say: for whom, with which scopes, for which audiences. Only
/// [`authorize`] makes one, from an [`AuthenticatedClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    client_id: String,
    scopes: Vec<String>,
    audiences: Vec<String>,
    token_ttl: Option<u64>,
    claims: Map<String, Value>,
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
    /// The client's own token lifetime, if it has one (seconds).
    pub fn token_ttl(&self) -> Option<u64> {
        self.token_ttl
    }
    /// The client's static claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// A grant decided by the host, outside the token endpoint: for hosts that authenticated
    /// the client by their own means (a session, mTLS at another layer, an admin tool) and want
    /// a token in the same RFC 9068 format (the npm package's `mintAccessToken`).
    ///
    /// This is the one way to a [`Grant`] that does not go through [`authorize`] and an
    /// [`AuthenticatedClient`]: it skips client authentication, replay and the client's scope
    /// and audience limits, because the caller answers for them. The token endpoint never
    /// calls it. Only the form is checked: `client_id` is 1..=255 visible ASCII characters
    /// (RFC 6749 Appendix A.1 VSCHAR, without space), every scope a `scope-token` (§3.3),
    /// at least one audience and each one non-empty, no control characters. Duplicates are
    /// dropped.
    pub fn decided_by_host(
        client_id: &str,
        scopes: &[String],
        audiences: &[String],
    ) -> Result<Grant, TokenError> {
        if client_id.is_empty()
            || client_id.len() > 255
            || !client_id.bytes().all(|b| (0x21..=0x7e).contains(&b))
        {
            return Err(TokenError::new(
                TokenErrorCode::InvalidRequest,
                "client_id must be 1 to 255 visible ASCII characters",
            ));
        }
        let mut unique_scopes: Vec<String> = Vec::new();
        for s in scopes {
            let valid = crate::request::parse_scope(s).is_some_and(|parsed| parsed.len() == 1);
            if !valid {
                return Err(TokenError::with(
                    TokenErrorCode::InvalidScope,
                    alloc::format!("scope {s:?} is not a scope-token (RFC 6749 §3.3)"),
                ));
            }
            if !unique_scopes.contains(s) {
                unique_scopes.push(s.clone());
            }
        }
        let mut unique_audiences: Vec<String> = Vec::new();
        for a in audiences {
            if a.is_empty() || a.chars().any(char::is_control) {
                return Err(TokenError::new(
                    TokenErrorCode::InvalidTarget,
                    "an audience is empty or holds a control character",
                ));
            }
            if !unique_audiences.contains(a) {
                unique_audiences.push(a.clone());
            }
        }
        if unique_audiences.is_empty() {
            return Err(TokenError::new(
                TokenErrorCode::InvalidTarget,
                "at least one audience is required",
            ));
        }
        Ok(Grant {
            client_id: String::from(client_id),
            scopes: unique_scopes,
            audiences: unique_audiences,
            token_ttl: None,
            claims: Map::new(),
        })
    }
}

/// Decides the grant for an authenticated client's request.
///
/// * The client must be allowed the `client_credentials` grant, else `unauthorized_client`.
/// * RFC 6749 §3.3: requested scopes must all be allowed, else `invalid_scope`; without a
///   `scope` parameter the client's allowed scopes are granted (the pre-defined default).
/// * RFC 8707 §2: requested resources (or `audience` values, answered the same way, as
///   RFC 8693 §2.2.2 does for both) must all be allowed audiences, else `invalid_target`;
///   without either the client's allowed audiences are used, unless `require_audience`.
/// * A disabled client never gets here: its authentication failed.
pub fn authorize(
    client: &AuthenticatedClient,
    request: &TokenRequest,
    require_audience: bool,
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
        if require_audience {
            return Err(TokenError::new(
                TokenErrorCode::InvalidTarget,
                "name the audience with resource or audience (the server requires one)",
            ));
        }
        record.audiences.clone()
    } else {
        if let Some(bad) = request
            .resources
            .iter()
            .find(|r| !record.audiences.contains(r))
        {
            return Err(TokenError::with(
                TokenErrorCode::InvalidTarget,
                alloc::format!("audience {bad} is not allowed for this client"),
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
        token_ttl: record.token_ttl,
        claims: record.claims.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| String::from(*s)).collect()
    }

    #[test]
    fn a_host_decided_grant_keeps_its_scopes_and_audiences_without_duplicates() {
        let g = Grant::decided_by_host(
            "svc-1",
            &strings(&["a:read", "b", "a:read"]),
            &strings(&["https://api.example", "https://api.example"]),
        )
        .unwrap();
        assert_eq!(g.client_id(), "svc-1");
        assert_eq!(g.scopes(), &strings(&["a:read", "b"])[..]);
        assert_eq!(g.audiences(), &strings(&["https://api.example"])[..]);
    }

    #[test]
    fn a_host_decided_grant_refuses_malformed_parts_with_the_rfc_code() {
        let aud = strings(&["https://api.example"]);
        let cases: Vec<(&str, Vec<String>, Vec<String>, TokenErrorCode)> = vec![
            ("", vec![], aud.clone(), TokenErrorCode::InvalidRequest),
            (
                "has space",
                vec![],
                aud.clone(),
                TokenErrorCode::InvalidRequest,
            ),
            (
                "nul\u{0}",
                vec![],
                aud.clone(),
                TokenErrorCode::InvalidRequest,
            ),
            (
                "c",
                strings(&["two words"]),
                aud.clone(),
                TokenErrorCode::InvalidScope,
            ),
            (
                "c",
                strings(&["quote\""]),
                aud.clone(),
                TokenErrorCode::InvalidScope,
            ),
            (
                "c",
                strings(&[""]),
                aud.clone(),
                TokenErrorCode::InvalidScope,
            ),
            ("c", vec![], vec![], TokenErrorCode::InvalidTarget),
            ("c", vec![], strings(&[""]), TokenErrorCode::InvalidTarget),
            (
                "c",
                vec![],
                strings(&["a\nb"]),
                TokenErrorCode::InvalidTarget,
            ),
        ];
        for (client, scopes, audiences, code) in cases {
            let e = Grant::decided_by_host(client, &scopes, &audiences).unwrap_err();
            assert_eq!(e.code, code, "{client:?} {scopes:?} {audiences:?}");
        }
        let long = "x".repeat(256);
        assert!(Grant::decided_by_host(&long, &[], &aud).is_err());
    }
}
