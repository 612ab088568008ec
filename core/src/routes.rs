//! The authorization server's HTTP surface: which endpoint a request is for, which methods each
//! one takes, the body limit, and the answers that need no I/O (the JWKS, the metadata, 404, 405,
//! 413). A shell asks [`route`] "what is this request?" and gets a [`Route`] to serve or a
//! finished response; for the endpoints with I/O it runs [`crate::exchange::TokenExchange`],
//! [`register`] or [`manage_client`] and applies the [`StoreChange`] they return.
//!
//! | path | methods | endpoint |
//! | --- | --- | --- |
//! | `path` (token) | any (the exchange answers 405 for other than `POST`, RFC 6749 §3.2) | RFC 6749 §4.4 |
//! | `introspection_path` | any (405 for other than `POST`) | RFC 7662 §2 |
//! | `jwks_path`, `metadata_path` | `GET`, `HEAD` | RFC 7517 §5, RFC 8414 §3 |
//! | `registration_path` | `POST` | RFC 7591 §3 |
//! | `registration_path/{client_id}` | `GET`, `PUT`, `DELETE` | RFC 7592 §2 |
//!
//! The registration paths exist only when the configuration has registration on. Methods
//! compare case-insensitively; the query and fragment of a path are ignored.

use alloc::string::String;
use alloc::vec::Vec;

use rand_core::CryptoRngCore;

use crate::config::ServerConfig;
use crate::registration;
use crate::response::{error_body, HttpResponse};

/// The endpoints of the authorization server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The token endpoint.
    Token,
    /// RFC 7662 token introspection.
    Introspection,
    /// The JWKS.
    Jwks,
    /// RFC 8414 metadata.
    Metadata,
    /// RFC 7591 registration.
    Registration,
    /// RFC 7592 client configuration (the path's last segment names the client).
    ClientConfiguration,
}

/// Which endpoint `path` (query and fragment ignored) is for, if any.
pub fn endpoint(config: &ServerConfig, path: &str) -> Option<Endpoint> {
    let path = crate::rules::without_query(path);
    if path == config.token_path {
        Some(Endpoint::Token)
    } else if path == config.introspection_path {
        Some(Endpoint::Introspection)
    } else if path == config.jwks_path {
        Some(Endpoint::Jwks)
    } else if path == config.metadata_path {
        Some(Endpoint::Metadata)
    } else if config.registration.is_none() {
        None
    } else if path == config.registration_path {
        Some(Endpoint::Registration)
    } else if client_segment(config, path).is_some() {
        Some(Endpoint::ClientConfiguration)
    } else {
        None
    }
}

/// The raw last segment of an RFC 7592 client configuration path.
fn client_segment<'p>(config: &ServerConfig, path: &'p str) -> Option<&'p str> {
    path.strip_prefix(config.registration_path.as_str())?
        .strip_prefix('/')
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// What an RFC 7592 request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientMethod {
    /// `GET`: read (RFC 7592 §2.1).
    Read,
    /// `PUT`: update (RFC 7592 §2.2); reads the body.
    Update,
    /// `DELETE`: delete (RFC 7592 §2.3).
    Delete,
}

/// What a request is, for the authorization server.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// A token request: read the body (at most [`ServerConfig::max_body_bytes`], else answer
    /// [`too_large`]), then run a [`crate::exchange::TokenExchange`].
    Token,
    /// An introspection request: as [`Route::Token`], with
    /// [`crate::exchange::TokenExchange::begin_introspection`].
    Introspect,
    /// A registration: read the body (same limit), then [`register`].
    Register,
    /// A client configuration request for `client_id` (percent-decoded, a possible client id):
    /// look the client up, read the body for [`ClientMethod::Update`], then [`manage_client`].
    Client {
        /// The client.
        client_id: String,
        /// What to do.
        method: ClientMethod,
    },
    /// Answer with this response (JWKS, metadata, 404, 405).
    Respond(HttpResponse),
}

fn method_not_allowed(allow: &str) -> HttpResponse {
    HttpResponse::empty(405).with_header("allow", allow.into())
}

/// The answer for a path that is not one of this server's endpoints.
pub fn not_found() -> HttpResponse {
    HttpResponse::empty(404)
}

/// The answer for a body over [`ServerConfig::max_body_bytes`]: 413 with RFC 6749 §5.2's
/// `invalid_request`.
pub fn too_large() -> HttpResponse {
    HttpResponse::json(
        413,
        &error_body("invalid_request", "request body is too large"),
    )
}

/// The answer when the host itself failed (a bug, a store that answered with the wrong type):
/// 500 with `server_error` (RFC 6749 §4.1.2.1's code for an unexpected condition).
pub fn internal_error() -> HttpResponse {
    HttpResponse::json(500, &error_body("server_error", "internal error"))
}

/// The answer when a store did not answer (it threw, timed out, or its server is down): 503
/// with `temporarily_unavailable` and `Retry-After`, as a replay store that does not answer
/// (see [`crate::error::TokenErrorCode::TemporarilyUnavailable`]). Nothing was decided: the
/// client may try again.
pub fn store_unavailable() -> HttpResponse {
    HttpResponse::json(
        503,
        &error_body(
            "temporarily_unavailable",
            "a store did not answer; retry later",
        ),
    )
    .with_header("retry-after", crate::error::RETRY_AFTER_SECONDS.into())
}

/// The JWKS or metadata answer for `method` (405 for other than `GET` and `HEAD`); `None` for
/// the endpoints that are not documents.
pub fn document(config: &ServerConfig, endpoint: Endpoint, method: &[u8]) -> Option<HttpResponse> {
    if !matches!(endpoint, Endpoint::Jwks | Endpoint::Metadata) {
        return None;
    }
    if !method.eq_ignore_ascii_case(b"GET") && !method.eq_ignore_ascii_case(b"HEAD") {
        return Some(method_not_allowed("GET, HEAD"));
    }
    Some(if endpoint == Endpoint::Jwks {
        crate::metadata::jwks_response(config)
    } else {
        crate::metadata::response(config)
    })
}

/// What the request with `method` and `path` (untrusted bytes) is. `path` is the request
/// target's path; a shell whose host normalises URLs passes the normalised path.
pub fn route(config: &ServerConfig, method: &[u8], path: &[u8]) -> Route {
    // Lossy: U+FFFD never matches a configured path (they are checked ASCII-free of it).
    let path = String::from_utf8_lossy(path);
    let path = crate::rules::without_query(&path);
    let Some(endpoint) = endpoint(config, path) else {
        return Route::Respond(not_found());
    };
    if let Some(response) = document(config, endpoint, method) {
        return Route::Respond(response);
    }
    let is = |m: &[u8]| method.eq_ignore_ascii_case(m);
    match endpoint {
        Endpoint::Token => Route::Token,
        Endpoint::Introspection => Route::Introspect,
        Endpoint::Registration if is(b"POST") => Route::Register,
        Endpoint::Registration => Route::Respond(method_not_allowed("POST")),
        Endpoint::ClientConfiguration => {
            let method = if is(b"GET") {
                ClientMethod::Read
            } else if is(b"PUT") {
                ClientMethod::Update
            } else if is(b"DELETE") {
                ClientMethod::Delete
            } else {
                return Route::Respond(method_not_allowed("GET, PUT, DELETE"));
            };
            // No client can have an id that does not decode, or that is not 1 to 255 visible
            // ASCII characters (limits::is_client_id, RFC 6749 Appendix A.1): there is no
            // client configuration endpoint (RFC 7592 §2) there, and the store is not asked.
            match client_segment(config, path)
                .and_then(percent_decode)
                .filter(|id| crate::limits::is_client_id(id))
            {
                Some(client_id) => Route::Client { client_id, method },
                None => Route::Respond(not_found()),
            }
        }
        // Documents were answered above.
        Endpoint::Jwks | Endpoint::Metadata => Route::Respond(not_found()),
    }
}

/// RFC 3986 §2.1 percent-decoding of a path segment; `None` for a malformed escape or a result
/// that is not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = core::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What the host does to its client store after a registration endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChange {
    /// Nothing.
    None,
    /// Store `record` (the stored client JSON) under `client_id`, replacing any.
    Put {
        /// The client.
        client_id: String,
        /// The record.
        record: String,
    },
    /// Delete the client.
    Delete {
        /// The client.
        client_id: String,
    },
}

/// A registration endpoint's answer: the response, and the store change to make first.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The response.
    pub response: HttpResponse,
    /// What to change in the client store before responding.
    pub store: StoreChange,
}

impl Answer {
    fn respond(response: HttpResponse) -> Answer {
        Answer {
            response,
            store: StoreChange::None,
        }
    }
}

/// RFC 7591 §3: registers a client from the request's `Authorization` header (the initial
/// access token, when the configuration asks for one) and body.
pub fn register(
    config: &ServerConfig,
    authorization: Option<&str>,
    body: &[u8],
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Answer {
    let Some(policy) = config.registration.as_ref() else {
        return Answer::respond(not_found());
    };
    let access = match registration::check_initial_access(policy, authorization) {
        Ok(a) => a,
        Err(e) => return Answer::respond(e.to_response(&config.issuer)),
    };
    match registration::register(access, body, config, now, rng) {
        Ok(r) => Answer {
            store: StoreChange::Put {
                client_id: r.record.client_id.clone(),
                record: r.record.to_json(),
            },
            response: r.response,
        },
        Err(e) => Answer::respond(e.to_response()),
    }
}

/// RFC 7592 §2: reads, updates or deletes client `client_id`, whose stored record the host
/// loaded (`record`, its JSON text; `None` when there is no such client), with the
/// registration access token in `authorization`.
pub fn manage_client(
    config: &ServerConfig,
    client_id: &str,
    method: ClientMethod,
    record: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
) -> Answer {
    // Another issuer's record, one that no longer loads, or one stored under another id is an
    // unknown client.
    let record = record
        .and_then(|t| config.stored_client(t))
        .filter(|r| r.client_id == client_id);
    let access = match registration::check_registration_access(record.as_ref(), authorization) {
        Ok(a) => a,
        Err(e) => return Answer::respond(e.to_response(&config.issuer)),
    };
    match method {
        ClientMethod::Read => Answer::respond(registration::read(access, config)),
        ClientMethod::Update => match registration::update(access, body, config) {
            Ok((record, response)) => Answer {
                store: StoreChange::Put {
                    client_id: record.client_id.clone(),
                    record: record.to_json(),
                },
                response,
            },
            Err(e) => Answer::respond(e.to_response()),
        },
        ClientMethod::Delete => Answer {
            store: StoreChange::Delete {
                client_id: access.record().client_id.clone(),
            },
            response: registration::delete(access),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Algorithm;
    use crate::jwk::SigningJwk;
    use alloc::string::ToString;
    use rand_chacha::rand_core::SeedableRng;
    use serde_json::json;

    fn config(registration: bool) -> ServerConfig {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let key = SigningJwk::generate(Algorithm::EdDSA, &mut rng).unwrap();
        let mut doc = json!({
            "issuer": "https://as.example",
            "signing_keys": [key.to_private_json()],
            "default_audiences": ["https://api.example"],
        });
        if registration {
            doc["registration"] = json!({"open_registration": true, "allowed_scope": "a b"});
        }
        ServerConfig::from_json(&doc.to_string()).unwrap()
    }

    fn status(route: &Route) -> Option<u16> {
        match route {
            Route::Respond(r) => Some(r.status),
            _ => None,
        }
    }

    #[test]
    fn every_path_and_method_gets_its_route_or_answer() {
        let c = config(true);
        let t = &c.token_path;
        let r = &c.registration_path;
        assert_eq!(route(&c, b"POST", t.as_bytes()), Route::Token);
        // The exchange answers other methods at the token endpoint (405 with Allow: POST).
        assert_eq!(route(&c, b"GET", t.as_bytes()), Route::Token);
        let q = alloc::format!("{t}?x=1");
        assert_eq!(route(&c, b"post", q.as_bytes()), Route::Token);
        let Route::Respond(jwks) = route(&c, b"GET", c.jwks_path.as_bytes()) else {
            panic!()
        };
        assert_eq!(jwks.status, 200);
        assert!(jwks.json_body().unwrap()["keys"].is_array());
        let Route::Respond(meta) = route(&c, b"head", c.metadata_path.as_bytes()) else {
            panic!()
        };
        assert_eq!(meta.json_body().unwrap()["issuer"], "https://as.example");
        let Route::Respond(wrong) = route(&c, b"POST", c.jwks_path.as_bytes()) else {
            panic!()
        };
        assert_eq!(
            (wrong.status, wrong.header("allow")),
            (405, Some("GET, HEAD"))
        );
        assert_eq!(route(&c, b"POST", r.as_bytes()), Route::Register);
        let Route::Respond(get_reg) = route(&c, b"GET", r.as_bytes()) else {
            panic!()
        };
        assert_eq!(
            (get_reg.status, get_reg.header("allow")),
            (405, Some("POST"))
        );
        let client = alloc::format!("{r}/a%2Bb");
        assert_eq!(
            route(&c, b"PUT", client.as_bytes()),
            Route::Client {
                client_id: "a+b".into(),
                method: ClientMethod::Update
            }
        );
        let Route::Respond(patch) = route(&c, b"PATCH", client.as_bytes()) else {
            panic!()
        };
        assert_eq!(patch.header("allow"), Some("GET, PUT, DELETE"));
        assert_eq!(status(&route(&c, b"GET", b"/elsewhere")), Some(404));
        assert_eq!(status(&route(&c, b"GET", b"/\xff")), Some(404));
    }

    #[test]
    fn client_paths_that_cannot_name_a_client_are_404_and_registration_off_has_no_paths() {
        let c = config(true);
        let r = &c.registration_path;
        for segment in ["%zz", "%4", "%C3%28", "%C3%A9", "%00", "x/y", ""] {
            let path = alloc::format!("{r}/{segment}");
            assert_eq!(
                status(&route(&c, b"GET", path.as_bytes())),
                Some(404),
                "{segment}"
            );
        }
        let long = alloc::format!("{r}/{}", "x".repeat(256));
        assert_eq!(status(&route(&c, b"GET", long.as_bytes())), Some(404));
        let off = config(false);
        assert_eq!(
            status(&route(&off, b"POST", off.registration_path.as_bytes())),
            Some(404)
        );
        let client = alloc::format!("{}/abc", off.registration_path);
        assert_eq!(status(&route(&off, b"GET", client.as_bytes())), Some(404));
    }

    #[test]
    fn registration_and_management_say_what_to_store() {
        let c = config(true);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
        let reg = register(
            &c,
            None,
            br#"{"token_endpoint_auth_method":"client_secret_basic","scope":"a"}"#,
            1_900_000_000,
            &mut rng,
        );
        assert_eq!(reg.response.status, 201);
        let StoreChange::Put { client_id, record } = reg.store else {
            panic!("registration stores the client")
        };
        let doc = reg.response.json_body().unwrap();
        let rat = doc["registration_access_token"].as_str().unwrap();
        let bearer = alloc::format!("Bearer {rat}");
        let read = manage_client(
            &c,
            &client_id,
            ClientMethod::Read,
            Some(&record),
            Some(&bearer),
            b"",
        );
        assert_eq!(read.response.status, 200);
        assert_eq!(read.store, StoreChange::None);
        let wrong = manage_client(
            &c,
            &client_id,
            ClientMethod::Delete,
            Some(&record),
            Some("Bearer x"),
            b"",
        );
        assert_eq!(wrong.response.status, 401);
        assert_eq!(wrong.store, StoreChange::None);
        let unknown = manage_client(&c, &client_id, ClientMethod::Read, None, Some(&bearer), b"");
        assert_eq!(unknown.response.status, 401);
        let elsewhere = manage_client(
            &c,
            "other",
            ClientMethod::Read,
            Some(&record),
            Some(&bearer),
            b"",
        );
        assert_eq!(elsewhere.response.status, 401);
        let deleted = manage_client(
            &c,
            &client_id,
            ClientMethod::Delete,
            Some(&record),
            Some(&bearer),
            b"",
        );
        assert_eq!(deleted.response.status, 204);
        assert_eq!(deleted.store, StoreChange::Delete { client_id });
        let off = config(false);
        assert_eq!(
            register(&off, None, b"{}", 1_900_000_000, &mut rng)
                .response
                .status,
            404
        );
    }
}
