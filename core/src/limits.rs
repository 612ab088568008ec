//! Bounds on untrusted input read before anyone is authenticated.
//!
//! Every parser a request reaches before its client (or its token) is authenticated is linear
//! in its input (sets and sorting instead of pairwise scans) **and** capped by one of these
//! limits; an input over a limit is refused with the RFC error of the thing it breaks, never
//! truncated. SECURITY.md ("Work per request") lists each parser with its bound and the measured
//! worst-case ratio (`bash bench/worst-case.sh`).
//!
//! The limits are generous for real clients: the largest real-world values they bound are a few
//! dozen scopes, a handful of resources, a few signing keys and a few kilobytes of metadata.

/// Largest token request or registration body, in bytes (hosts refuse more unread: 413).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Most form parameters (non-empty `&` segments) in one token request; more is
/// `invalid_request` (RFC 6749 §5.2). A client-credentials request uses at most seven names
/// plus its `resource` values.
pub const MAX_FORM_PARAMETERS: usize = 64;

/// Most scope tokens in a `scope` value, in a token request (`invalid_scope`, RFC 6749 §5.2)
/// or at registration (`invalid_client_metadata`, RFC 7591 §3.2.2).
pub const MAX_SCOPE_TOKENS: usize = 256;

/// Most RFC 8707 `resource` values in one token request (`invalid_target`, RFC 8707 §2).
pub const MAX_RESOURCES: usize = 16;

/// Longest client identifier, in bytes. A client id is 1 to this many visible ASCII characters
/// (RFC 6749 Appendix A.1 `VSCHAR`); any other id from the wire is answered like an unknown
/// client before any store is asked.
pub const MAX_CLIENT_ID_BYTES: usize = 255;

/// Longest `Authorization` header value the token and registration endpoints read, in bytes
/// (Basic credentials, an initial or registration access token); longer is refused unread.
pub const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;

/// Longest compact JWS (access token or client assertion), in bytes, unless a provider sets
/// its own `max_token_bytes`.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Most JSON values (every object, array, member value and array item, at any depth) in a JOSE
/// header or a client assertion's claims. Real ones hold about ten.
pub const MAX_SMALL_JSON_VALUES: usize = 64;

/// Most JSON values in an access token's claims. Real tokens hold a few dozen (an Entra ID
/// token with 200 group ids about 230); the bound keeps the cost of a forged token's payload
/// near that of a real one of the same size (`bench/worst-case.sh`).
pub const MAX_ACCESS_TOKEN_JSON_VALUES: usize = 1024;

/// Most JSON values in a registration request: the member, array and `jwks` caps below hold
/// a real registration well inside it.
pub const MAX_REGISTRATION_JSON_VALUES: usize = 256;

/// Most JSON values in any other document read from outside (a JWK set, a stored record).
pub const MAX_JSON_VALUES: usize = 2048;

/// Most keys in a JWK set (a remote JWKS or a provider's local one).
pub const MAX_SET_KEYS: usize = 100;

/// Most keys in a client's own JWK set (`private_key_jwt`, configured or registered).
pub const MAX_CLIENT_KEYS: usize = 10;

/// Most top-level members in a registration request (RFC 7591 §2 defines 19).
pub const MAX_REGISTRATION_MEMBERS: usize = 64;

/// Longest registration text value (`client_name`, the URIs, `software_id`, each contact), in
/// bytes.
pub const MAX_METADATA_TEXT_BYTES: usize = 1024;

/// Most items in a registration array (`contacts`, `grant_types`, ...).
pub const MAX_METADATA_ARRAY_ITEMS: usize = 16;

/// Whether `id` can be a client identifier: 1 to [`MAX_CLIENT_ID_BYTES`] visible ASCII
/// characters (spaces allowed, as RFC 6749 Appendix A.1 `VSCHAR` allows them).
pub fn is_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_BYTES
        && crate::request::is_visible_ascii(id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_one_to_255_visible_ascii() {
        assert!(is_client_id("a"));
        assert!(is_client_id("my client"));
        assert!(is_client_id(&"x".repeat(255)));
        assert!(!is_client_id(""));
        assert!(!is_client_id(&"x".repeat(256)));
        assert!(!is_client_id("caf\u{e9}"));
        assert!(!is_client_id("a\tb"));
        assert!(!is_client_id("a\u{7f}"));
    }
}
