//! Worst-case work per request before authentication (issue 11), in the core (native shell).
//!
//! For every parser an unauthenticated request reaches, an **adversarial** input of the largest
//! accepted size is timed side by side with a **benign** input of the same byte size that takes
//! the same code path, and the ratio adversarial / benign is printed (target: at most 3×).
//!
//! * **benign**: a well-formed request a real client could send, padded to the size with
//!   content the protocol ignores: for the token request a valid `client_secret_basic` request
//!   with one extra parameter (RFC 6749 §3.2: unknown parameters are ignored); for the Basic
//!   header a valid one for a client whose secret is that long; for the client assertion a valid
//!   `client_secret_jwt` assertion with one long claim; for an access token a valid token with
//!   one long claim; for registration a valid `private_key_jwt` registration with one unknown
//!   member (RFC 7591 §2: unknown metadata is ignored); for a JWK set a set of three keys, one
//!   of them carrying a long `x5c`.
//! * **adversarial**: the same size, just under every cap so it is still parsed fully, built to
//!   maximise the work per byte (variants below; the report keeps the worst). Adversarial
//!   token requests name a known client with a wrong secret or a forged assertion (what an
//!   unauthenticated attacker can send: the whole parse, the client lookup and the credential
//!   check run, and the answer is 401); adversarial access tokens carry the right `kid` and
//!   `alg` and a signature by another key, so the signature check runs and fails. The
//!   adversarial registration is accepted (201): the bench server allows its 256 scopes.
//!
//! Two stages are timed for each pair: **whole** (what the host spends before it answers:
//! `exchange::run` as the Envoy filter calls it, `verify_access_token` plus the scope
//! check, `registration::register`, `JwkSet::from_json`) and **parse** (the parser alone:
//! `request::parse_token_request`, `verify::UntrustedToken::parse`, `json::parse_object`). A
//! valid benign input pays for its signature (or for minting); the adversarial one may stop
//! earlier; the parse stage compares like with like.
//!
//! Timing: for each pair, rounds alternate adversarial and benign batches (A B, B A, ...), each
//! batch about 20 ms (5 ms with `--quick`); per-request medians over the rounds.
//!
//! ```text
//! worst_case bench [--quick] [--now UNIX] [--only PARSER,..] [--json FILE]
//! worst_case write DIR [--now UNIX]    # the same inputs as DIR/cases.json for the npm and
//!                                      # Envoy shells (bench/worst-case.sh)
//! worst_case describe                  # what each input holds
//! worst_case profile PARSER VARIANT whole|parse N   # one input N times (perf, callgrind)
//! worst_case count N                   # every input N times, one call each (callgrind dumps)
//! ```

use std::fmt::Write as _;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use gatepass_core::client_assertion::ClientAssertion;
use gatepass_core::client_auth::{ReplayOutcome, ASSERTION_TYP, GENERIC_JWT_TYP};
use gatepass_core::config::ServerConfig;
use gatepass_core::crypto::{self, Algorithm};
use gatepass_core::jwk::{JwkSet, SetStrictness, SigningJwk};
use gatepass_core::limits::{
    MAX_ACCESS_TOKEN_JSON_VALUES, MAX_AUTHORIZATION_BYTES, MAX_BODY_BYTES, MAX_CLIENT_KEYS,
    MAX_FORM_PARAMETERS, MAX_JSON_VALUES, MAX_METADATA_ARRAY_ITEMS, MAX_METADATA_TEXT_BYTES,
    MAX_REGISTRATION_JSON_VALUES, MAX_REGISTRATION_MEMBERS, MAX_RESOURCES, MAX_SCOPE_TOKENS,
    MAX_SET_KEYS, MAX_SMALL_JSON_VALUES, MAX_TOKEN_BYTES,
};
use gatepass_core::request::{self, form_encode, TokenHttpRequest};
use gatepass_core::verify::{self, VerifierPolicy};
use gatepass_core::{b64, exchange, json, jws, registration};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

type Res<T> = Result<T, String>;

const ISSUER: &str = "https://as.example";
const API: &str = "https://api.example";
const TOKEN_PATH: &str = "/oauth/token";
const REGISTER_PATH: &str = "/oauth/register";
const FORM: &str = "application/x-www-form-urlencoded";
const SERVER_KID: &str = "bench-2026";
/// The largest remote JWKS the Envoy filter reads (`filter/src/jwks.rs` `MAX_JWKS_BYTES`); the
/// core itself bounds a set by keys and JSON values, not bytes.
const JWKS_BYTES: usize = 256 * 1024;
/// The largest `Basic` header: "Basic " and base64 (a multiple of 4) within the cap.
const BASIC_BYTES: usize = 6 + (MAX_AUTHORIZATION_BYTES - 6) / 4 * 4;
const BILLING_SECRET: &str = "billing-secret-0123456789abcdefghijklmnopqrstu";
/// `client_secret_jwt`: 64 bytes, enough for HS512.
const JWT_SECRET: &str = "jwt-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR";
/// JSON nesting the strict parser accepts below the top-level object (`json::MAX_DEPTH` 16).
const NEST: usize = json::MAX_DEPTH - 1;

// ---------------------------------------------------------------------------------------------
// Inputs

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parser {
    TokenRequest,
    BasicHeader,
    ClientAssertion,
    AccessToken,
    Registration,
    Jwks,
}

impl Parser {
    const ALL: [Parser; 6] = [
        Parser::TokenRequest,
        Parser::BasicHeader,
        Parser::ClientAssertion,
        Parser::AccessToken,
        Parser::Registration,
        Parser::Jwks,
    ];

    fn name(self) -> &'static str {
        match self {
            Parser::TokenRequest => "token_request",
            Parser::BasicHeader => "basic_header",
            Parser::ClientAssertion => "client_assertion",
            Parser::AccessToken => "access_token",
            Parser::Registration => "registration",
            Parser::Jwks => "jwks",
        }
    }

    /// The caps the input sits at, for the report.
    fn cap(self) -> String {
        match self {
            Parser::TokenRequest => format!(
                "body {MAX_BODY_BYTES} B, {MAX_FORM_PARAMETERS} params, {MAX_SCOPE_TOKENS} scope tokens, {MAX_RESOURCES} resources"
            ),
            Parser::BasicHeader => format!("Authorization {MAX_AUTHORIZATION_BYTES} B"),
            Parser::ClientAssertion => format!(
                "{MAX_TOKEN_BYTES} B, {MAX_SMALL_JSON_VALUES} JSON values per part"
            ),
            Parser::AccessToken => format!(
                "{MAX_TOKEN_BYTES} B, header {MAX_SMALL_JSON_VALUES} / payload {MAX_ACCESS_TOKEN_JSON_VALUES} JSON values, depth {}",
                json::MAX_DEPTH
            ),
            Parser::Registration => format!(
                "body {MAX_BODY_BYTES} B, {MAX_REGISTRATION_JSON_VALUES} values, {MAX_REGISTRATION_MEMBERS} members, {MAX_METADATA_ARRAY_ITEMS} items, text {MAX_METADATA_TEXT_BYTES} B, {MAX_SCOPE_TOKENS} scopes, {MAX_CLIENT_KEYS} keys"
            ),
            Parser::Jwks => format!("{MAX_SET_KEYS} keys, {MAX_JSON_VALUES} values, {JWKS_BYTES} B (filter)"),
        }
    }
}

#[derive(Debug, Clone)]
enum Input {
    /// `POST /oauth/token` with a form body.
    Token {
        authorization: Option<String>,
        body: Vec<u8>,
    },
    /// An access token at a protected resource (`Authorization: Bearer <token>`).
    Bearer { token: String, header: String },
    /// `POST /oauth/register` with a JSON body.
    Register { body: Vec<u8> },
    /// A remote JWK set document.
    Jwks { body: Vec<u8> },
}

impl Input {
    fn size(&self) -> usize {
        match self {
            Input::Token {
                authorization,
                body,
            } => body.len() + authorization.as_ref().map_or(0, String::len),
            Input::Bearer { token, .. } => token.len(),
            Input::Register { body } | Input::Jwks { body } => body.len(),
        }
    }
}

#[derive(Debug, Clone)]
struct Case {
    parser: Parser,
    variant: String,
    adversarial: bool,
    input: Input,
    /// The status every shell must answer (for a JWK set: 200 = accepted).
    expect: u16,
    /// What the input holds (for `describe` and the report).
    note: String,
    /// For a benign client assertion: its `jti`, which the Envoy shell replaces with unique
    /// values of the same length (Envoy's replay store cannot be bypassed).
    jti: Option<String>,
}

struct Fixture {
    now: u64,
    server_json: Value,
    config: ServerConfig,
    provider_json: Value,
    policy: VerifierPolicy,
    keys: JwkSet,
    cases: Vec<Case>,
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn signing_key(alg: Algorithm, kid: &str, seed: u64) -> Res<SigningJwk> {
    let key = SigningJwk::generate(alg, &mut rng(seed)).map_err(|e| format!("keygen: {e:?}"))?;
    let mut jwk = key.to_private_json();
    jwk["kid"] = json!(kid);
    let map = jwk.as_object().ok_or("private JWK is not an object")?;
    SigningJwk::from_map(map).map_err(|e| format!("key: {e}"))
}

fn public_json(key: &SigningJwk) -> Res<Value> {
    key.public_jwk()
        .to_public_json()
        .ok_or_else(|| "no public JWK".into())
}

/// Random alphanumeric text (deterministic).
fn alnum(len: usize, seed: u64) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut r = rng(seed);
    (0..len)
        .map(|_| char::from(CHARS[(r.next_u32() as usize) % CHARS.len()]))
        .collect()
}

/// The same length, another value (a wrong secret).
fn wrong(secret: &str) -> String {
    secret
        .chars()
        .map(|c| if c == 'z' { 'y' } else { 'z' })
        .collect()
}

/// A random RSA modulus of `bits` bits (odd, top bit set): a syntactically valid public key,
/// what an attacker registers or publishes without ever generating a key pair.
fn rsa_modulus(bits: usize, seed: u64) -> String {
    let mut n = vec![0u8; bits / 8];
    rng(seed).fill_bytes(&mut n);
    n[0] |= 0x80;
    if let Some(last) = n.last_mut() {
        *last |= 1;
    }
    b64::encode_url(&n)
}

/// Every byte percent-encoded.
fn pct_all(text: &str) -> String {
    text.bytes().fold(String::new(), |mut out, b| {
        let _ = write!(out, "%{b:02X}");
        out
    })
}

/// The `i`-th shortest distinct member name (`a`..`Z`, then two characters, ...): the most
/// members per byte, and member count is what an object's cost grows with.
fn short_name(mut i: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::new();
    loop {
        out.push(char::from(CHARS[i % CHARS.len()]));
        i /= CHARS.len();
        if i == 0 {
            return out;
        }
        i -= 1;
    }
}

/// An object of `n` members with the shortest names, each holding `0`, nested in `depth - 1`
/// more objects (`{"a":{"a":{...}}}`): `n + depth` values.
fn short_members(n: usize, depth: usize) -> String {
    let inner: Vec<String> = (0..n).map(|i| format!("\"{}\":0", short_name(i))).collect();
    let mut s = format!("{{{}}}", inner.join(","));
    for _ in 1..depth {
        s = format!("{{\"a\":{s}}}");
    }
    s
}

/// A JSON string with every character written as a `\u` escape (ASCII text only).
fn json_escaped(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        let _ = write!(out, "\\u{:04x}", u32::from(c));
    }
    out.push('"');
    out
}

fn json_text(v: &Value) -> Res<String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}

/// JSON values in a document as the strict parser counts them (every object, array, member
/// value and array item).
fn count_values(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count_values).sum(),
        Value::Object(map) => map.values().map(count_values).sum(),
        _ => 0,
    }
}

/// `build(knob, pad)` for the first knob and the smallest pad whose output is exactly `target`
/// bytes long (the length must not decrease as `pad` grows). The knob fixes what one pad step
/// cannot, such as base64 rounding.
fn exact<T: AsRef<[u8]>>(target: usize, knobs: usize, build: impl Fn(usize, usize) -> T) -> Res<T> {
    for knob in 0..knobs {
        if build(knob, 0).as_ref().len() > target {
            continue;
        }
        let (mut lo, mut hi) = (0, target);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if build(knob, mid).as_ref().len() >= target {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let out = build(knob, lo);
        if out.as_ref().len() == target {
            return Ok(out);
        }
    }
    Err(format!("no input of exactly {target} bytes"))
}

/// The largest `n` in `0..=max` with `len(n) <= limit` (`len` must not decrease with `n`).
fn largest(max: usize, limit: usize, len: impl Fn(usize) -> usize) -> Res<usize> {
    if len(0) > limit {
        return Err(format!("even the smallest input is over {limit} bytes"));
    }
    let (mut lo, mut hi) = (0, max);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if len(mid) <= limit {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// `build(pad, extra)` at exactly `target` bytes, for a pad that grows in steps of several
/// bytes: the largest pad that fits, then `extra` (which adds exactly that many bytes).
fn fill_to<T: AsRef<[u8]>>(target: usize, build: impl Fn(usize, usize) -> T) -> Res<T> {
    let pad = largest(target, target, |p| build(p, 0).as_ref().len())?;
    let len = build(pad, 0).as_ref().len();
    let out = build(pad, target - len);
    if out.as_ref().len() == target {
        Ok(out)
    } else {
        Err(format!("no input of exactly {target} bytes"))
    }
}

/// A raw JSON object under construction, counting its values.
struct Obj {
    members: Vec<String>,
    values: usize,
}

impl Obj {
    fn new() -> Self {
        Obj {
            members: Vec::new(),
            values: 1,
        }
    }
    /// A member whose value is raw JSON holding `values` values.
    fn raw(mut self, name: &str, value: &str, values: usize) -> Self {
        self.members.push(format!("\"{name}\":{value}"));
        self.values += values;
        self
    }
    fn json(self, name: &str, value: &Value) -> Res<Self> {
        let text = json_text(value)?;
        Ok(self.raw(name, &text, count_values(value)))
    }
    fn text(&self) -> String {
        format!("{{{}}}", self.members.join(","))
    }
}

/// Arrays nested `depth` deep around `inner` (raw JSON, `inner_values` values).
fn nested(depth: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
}

fn basic(id_encoded: &str, secret_encoded: &str) -> String {
    format!(
        "Basic {}",
        b64::encode_standard(format!("{id_encoded}:{secret_encoded}").as_bytes())
    )
}

fn token_case(
    variant: &str,
    adversarial: bool,
    authorization: &str,
    body: String,
    expect: u16,
    note: String,
) -> Case {
    Case {
        parser: Parser::TokenRequest,
        variant: variant.into(),
        adversarial,
        input: Input::Token {
            authorization: Some(authorization.into()),
            body: body.into_bytes(),
        },
        expect,
        note,
        jti: None,
    }
}

/// The form body: `MAX_BODY_BYTES` exactly, the rest filled with empty `&` segments.
fn form_cases() -> Res<Vec<Case>> {
    let good = basic("billing", BILLING_SECRET);
    let bad = basic("billing", &wrong(BILLING_SECRET));
    let n = MAX_BODY_BYTES;
    let amps = |core: &str, pad: usize| format!("{core}{}", "&".repeat(pad));
    let benign = exact(n, 1, |_, pad| {
        format!(
            "grant_type=client_credentials&scope=orders%3Aread&padding={}",
            "a".repeat(pad)
        )
    })?;
    let mut cases = vec![token_case(
        "benign",
        false,
        &good,
        benign,
        200,
        "valid client_secret_basic request, scope orders:read, one ignored parameter of 'a's"
            .into(),
    )];

    // 64 parameters: 63 distinct names sharing a 500-byte prefix, values all %-escapes.
    let mut params = String::from("grant_type=client_credentials");
    for i in 0..MAX_FORM_PARAMETERS - 1 {
        let _ = write!(params, "&{}{i:02}={}", "n".repeat(500), "%41".repeat(178));
    }
    cases.push(token_case(
        "params64",
        true,
        &bad,
        exact(n, 1, |_, pad| amps(&params, pad))?,
        401,
        format!("{MAX_FORM_PARAMETERS} parameters, 63 names with a 500-byte common prefix, values of %41 escapes"),
    ));

    // 256 distinct scope tokens sharing a 251-byte prefix.
    let tokens: Vec<String> = (0..MAX_SCOPE_TOKENS)
        .map(|i| format!("{}{i:03}", "s".repeat(251)))
        .collect();
    let scope = format!("grant_type=client_credentials&scope={}", tokens.join("+"));
    cases.push(token_case(
        "scope256",
        true,
        &bad,
        exact(n, 1, |_, pad| amps(&scope, pad))?,
        401,
        format!("{MAX_SCOPE_TOKENS} distinct scope tokens with a 251-byte common prefix"),
    ));

    // 16 resource values, 4 KiB URIs with a common prefix.
    let mut resources = String::from("grant_type=client_credentials");
    for i in 0..MAX_RESOURCES {
        let uri = format!("https://api.example/{}{i:02}", "r".repeat(4030));
        let _ = write!(resources, "&resource={}", form_encode(&uri));
    }
    cases.push(token_case(
        "resource16",
        true,
        &bad,
        exact(n, 1, |_, pad| amps(&resources, pad))?,
        401,
        format!("{MAX_RESOURCES} resource URIs of 4 KiB with a common prefix"),
    ));

    // One parameter of UTF-8 percent-escapes (two escapes per character).
    let escapes = fill_to(n, |pad, extra| {
        format!(
            "grant_type=client_credentials&padding={}{}",
            "%C3%A9".repeat(pad),
            "a".repeat(extra)
        )
    })?;
    cases.push(token_case(
        "escapes",
        true,
        &bad,
        escapes,
        401,
        "one parameter of %C3%A9 escapes (UTF-8 é)".into(),
    ));

    // Empty segments between the parameters.
    let empty = exact(n, 1, |_, pad| {
        format!(
            "{}grant_type=client_credentials{}",
            "&".repeat(pad / 2),
            "&".repeat(pad - pad / 2)
        )
    })?;
    cases.push(token_case(
        "empty_segments",
        true,
        &bad,
        empty,
        401,
        "about 65,000 empty & segments".into(),
    ));

    // Everything at once: 256 scope tokens, 16 resources, 45 more names with a common prefix
    // and escaped values (64 parameters), empty segments between them.
    let mut mixed = String::from("grant_type=client_credentials&scope=");
    let short: Vec<String> = (0..MAX_SCOPE_TOKENS)
        .map(|i| format!("{}{i:03}", "s".repeat(56)))
        .collect();
    mixed.push_str(&short.join("+"));
    for i in 0..MAX_RESOURCES {
        let uri = format!("https://api.example/{}{i:02}", "r".repeat(850));
        let _ = write!(mixed, "&&&&resource={}", form_encode(&uri));
    }
    for i in 0..MAX_FORM_PARAMETERS - 2 - MAX_RESOURCES {
        let _ = write!(
            mixed,
            "&&&&{}{i:02}={}",
            "n".repeat(150),
            "%C3%A9".repeat(40)
        );
    }
    cases.push(token_case(
        "mixed",
        true,
        &bad,
        exact(n, 1, |_, pad| amps(&mixed, pad))?,
        401,
        "256 scope tokens (56-byte prefix), 16 resources of 870 B, 46 more names (150-byte prefix) with escaped values, empty segments".into(),
    ));
    Ok(cases)
}

/// The Basic header at its cap; the body is the minimal request.
fn basic_cases(long_secret: &str) -> Res<Vec<Case>> {
    let body = "grant_type=client_credentials".to_string();
    let raw_len = (BASIC_BYTES - 6) / 4 * 3;
    let case = |variant: &str, adversarial: bool, header: String, note: &str| -> Res<Case> {
        if header.len() != BASIC_BYTES {
            return Err(format!("{variant}: Basic header of {} bytes", header.len()));
        }
        Ok(Case {
            parser: Parser::BasicHeader,
            variant: variant.into(),
            adversarial,
            input: Input::Token {
                authorization: Some(header),
                body: body.clone().into_bytes(),
            },
            expect: if adversarial { 401 } else { 200 },
            note: note.into(),
            jti: None,
        })
    };
    let id = pct_all("long-secret");
    let fill = |unit: &str| {
        let room = raw_len - id.len() - 1;
        format!(
            "{}{}",
            unit.repeat(room / unit.len()),
            "a".repeat(room % unit.len())
        )
    };
    Ok(vec![
        case(
            "benign",
            false,
            basic("long-secret", long_secret),
            "valid credentials of a client whose secret is 6,126 alphanumerics",
        )?,
        case(
            "escapes_ascii",
            true,
            basic(&id, &fill("%41")),
            "client id and a wrong secret written entirely as %41-style escapes",
        )?,
        case(
            "escapes_utf8",
            true,
            basic(&id, &fill("%E2%82%AC")),
            "client id escaped, a wrong secret of %E2%82%AC (UTF-8 €) escapes",
        )?,
    ])
}

const ASSERTION_PREFIX: &str = "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=";

fn hs256(header: &str, payload: &str, secret: &str) -> Res<String> {
    let input = format!(
        "{}.{}",
        b64::encode_url(header.as_bytes()),
        b64::encode_url(payload.as_bytes())
    );
    let tag = crypto::hmac_sign(Algorithm::HS256, secret.as_bytes(), input.as_bytes())
        .map_err(|e| format!("hmac: {e:?}"))?;
    Ok(jws::assemble(&input, &tag))
}

/// A client assertion of `MAX_TOKEN_BYTES` in a token request.
fn assertion_cases(now: u64) -> Res<Vec<Case>> {
    let case =
        |variant: &str, adversarial: bool, assertion: String, note: String, jti: Option<String>| {
            Case {
                parser: Parser::ClientAssertion,
                variant: variant.into(),
                adversarial,
                input: Input::Token {
                    authorization: None,
                    body: format!("{ASSERTION_PREFIX}{assertion}").into_bytes(),
                },
                expect: if adversarial { 401 } else { 200 },
                note,
                jti,
            }
        };
    let jti = "benign-jti-00000000000000000000".to_string();
    let benign = exact(MAX_TOKEN_BYTES, 2, |knob, pad| {
        // The typ (the knob) settles base64 rounding: both are accepted.
        let typ = [GENERIC_JWT_TYP, ASSERTION_TYP][knob];
        ClientAssertion::new("jwt-client", ISSUER, now, 1800, jti.as_str())
            .with_typ(Some(typ))
            .with_claim("padding", json!("a".repeat(pad)))
            .sign_with_secret(Algorithm::HS256, JWT_SECRET.as_bytes())
            .unwrap_or_default()
    })?;
    let mut cases = vec![case(
        "benign",
        false,
        benign,
        "valid client_secret_jwt (HS256) assertion with one long claim of 'a's".into(),
        Some(jti),
    )];

    // The claims a forged assertion needs to reach the signature check.
    let claims = || -> Res<Obj> {
        Obj::new()
            .json("iss", &json!("jwt-client"))?
            .json("sub", &json!("jwt-client"))?
            .json("aud", &json!(ISSUER))?
            .json("iat", &json!(now))?
            .json("exp", &json!(now + 1800))?
            .json("jti", &json!("forged"))
    };
    let forged: String = JWT_SECRET.chars().rev().collect();
    // Each variant fills both parts to 64 values with one kind of member of size `unit`; the
    // largest unit that fits is used, a plain string member takes the rest of the size.
    type Member = fn(usize, usize) -> (String, String);
    let variants: [(&str, &str, Member); 3] = [
        (
            "prefix_names",
            "header and payload at 64 values each, member names with a long common prefix",
            |i, unit| (format!("{}{i:03}", "m".repeat(unit)), "0".into()),
        ),
        (
            "escaped_strings",
            "header and payload at 64 values each, string values written as \\u escapes",
            |i, unit| (format!("m{i:03}"), json_escaped(&"e".repeat(unit))),
        ),
        (
            "long_numbers",
            "header and payload at 64 values each, numbers with long mantissas",
            |i, unit| (format!("m{i:03}"), format!("1.{}7e-7", "1".repeat(unit))),
        ),
    ];
    for (variant, note, member) in variants {
        let build = |unit: usize, knob: usize, pad: usize| -> String {
            let mut header = Obj::new()
                .raw("alg", "\"HS256\"", 1)
                .raw("typ", "\"JWT\"", 1);
            let mut i = 0;
            while header.values < MAX_SMALL_JSON_VALUES - 1 {
                let (name, value) = member(i, unit);
                header = header.raw(&name, &value, 1);
                i += 1;
            }
            // The 64th header value: its name's length (the knob) settles base64 rounding.
            header = header.raw(&"k".repeat(knob + 1), "0", 1);
            let Ok(mut payload) = claims() else {
                return String::new();
            };
            while payload.values < MAX_SMALL_JSON_VALUES - 1 {
                let (name, value) = member(i, unit);
                payload = payload.raw(&name, &value, 1);
                i += 1;
            }
            payload = payload.raw("padding", &json!("x".repeat(pad)).to_string(), 1);
            hs256(&header.text(), &payload.text(), &forged).unwrap_or_default()
        };
        let unit = largest(4096, MAX_TOKEN_BYTES - 16, |u| build(u, 0, 0).len())?;
        let assertion = exact(MAX_TOKEN_BYTES, 4, |knob, pad| build(unit, knob, pad))?;
        cases.push(case(
            variant,
            true,
            assertion,
            format!("{note} (unit {unit})"),
            None,
        ));
    }
    Ok(cases)
}

/// Access tokens of `MAX_TOKEN_BYTES`.
fn access_token_cases(now: u64, server: &SigningJwk, attacker: &SigningJwk) -> Res<Vec<Case>> {
    // Sizes are searched on the unsigned token with a placeholder of the signature's length
    // (an Ed25519 signature is always 64 bytes); the chosen one is then signed.
    let unsigned = |header: &str, payload: &str| -> String {
        format!(
            "{}.{}.{}",
            b64::encode_url(header.as_bytes()),
            b64::encode_url(payload.as_bytes()),
            "A".repeat(86)
        )
    };
    let sign = |key: &SigningJwk, token: String| -> Res<String> {
        let (input, _) = token.rsplit_once('.').ok_or("not a JWS")?;
        let sig = crypto::sign(key.alg, &key.key, input.as_bytes(), &mut rng(3))
            .map_err(|e| format!("sign: {e:?}"))?;
        let signed = jws::assemble(input, &sig);
        if signed.len() == token.len() {
            Ok(signed)
        } else {
            Err("signature of an unexpected length".into())
        }
    };
    let case = |variant: &str, adversarial: bool, token: String, note: String| Case {
        parser: Parser::AccessToken,
        variant: variant.into(),
        adversarial,
        input: Input::Bearer {
            header: format!("Bearer {token}"),
            token,
        },
        expect: if adversarial { 401 } else { 200 },
        note,
        jti: None,
    };
    let benign = exact(MAX_TOKEN_BYTES, 2, |knob, pad| {
        let typ = ["at+jwt", "application/at+jwt"][knob];
        let header = json!({"alg": "EdDSA", "kid": SERVER_KID, "typ": typ}).to_string();
        let payload = json!({
            "iss": ISSUER, "sub": "billing", "aud": API, "iat": now, "exp": now + 3600,
            "jti": "benign-0000000000000000", "client_id": "billing", "scope": "orders:read",
            "padding": "a".repeat(pad),
        })
        .to_string();
        unsigned(&header, &payload)
    })?;
    let benign = sign(server, benign)?;
    let mut cases = vec![case(
        "benign",
        false,
        benign,
        "valid EdDSA access token with one long claim of 'a's".into(),
    )];

    // The header: 64 values, member names with a common prefix; the last name's length (the
    // knob) settles base64 rounding.
    let header = |knob: usize| {
        let mut h = Obj::new()
            .raw("alg", "\"EdDSA\"", 1)
            .raw("kid", &format!("\"{SERVER_KID}\""), 1)
            .raw("typ", "\"at+jwt\"", 1);
        let mut i = 0;
        while h.values < MAX_SMALL_JSON_VALUES - 1 {
            h = h.raw(&format!("{}{i:02}", "h".repeat(24)), "0", 1);
            i += 1;
        }
        h.raw(&"k".repeat(knob + 1), "0", 1).text()
    };
    let claims = || -> Res<Obj> {
        Obj::new()
            .json("iss", &json!(ISSUER))?
            .json("sub", &json!("billing"))?
            .json("aud", &json!(API))?
            .json("iat", &json!(now))?
            .json("exp", &json!(now + 3600))?
            .json("jti", &json!("forged"))?
            .json("client_id", &json!("billing"))?
            .json("scope", &json!("orders:read"))
    };
    // Each variant fills the payload with as many values of one kind as fit (at most the
    // 2048-value budget), inside a chain of arrays or objects nested to the depth limit; a
    // plain string member takes the rest of the size.
    type Item = fn(usize) -> String;
    let variants: [(&str, &str, Item, bool); 4] = [
        (
            "numbers",
            "payload at the 2048-value budget: one-digit numbers in arrays nested to depth 15",
            |_| "0".into(),
            false,
        ),
        (
            "strings",
            "payload of \\u-escaped one-character strings in arrays nested to depth 15",
            |_| "\"\\u00e9\"".into(),
            false,
        ),
        (
            "members",
            "payload of members with the shortest distinct names in objects nested to depth 15",
            |i| format!("\"{}\":0", short_name(i)),
            true,
        ),
        (
            "prefix_members",
            "payload of members whose names share a 16-byte prefix, in objects nested to depth 15",
            |i| format!("\"{}{i:04}\":0", "m".repeat(16)),
            true,
        ),
    ];
    for (variant, note, item, as_object) in variants {
        let build = |items: usize, knob: usize, pad: usize| -> String {
            let Ok(p) = claims() else {
                return String::new();
            };
            let inner = (0..items).map(item).collect::<Vec<_>>().join(",");
            let chain = if as_object {
                let mut s = format!("{{{inner}}}");
                for d in 1..NEST {
                    s = format!("{{\"d{d}\":{s}}}");
                }
                s
            } else {
                nested(NEST, &inner)
            };
            let p = p.raw("deep", &chain, NEST + items).raw(
                "padding",
                &json!("x".repeat(pad)).to_string(),
                1,
            );
            unsigned(&header(knob), &p.text())
        };
        // values: the claims object and its 8 members, the chain, the padding member
        let room = MAX_ACCESS_TOKEN_JSON_VALUES - 9 - NEST - 1;
        let items = largest(room, MAX_TOKEN_BYTES - 16, |n| build(n, 0, 0).len())?;
        let token = sign(
            attacker,
            exact(MAX_TOKEN_BYTES, 4, |knob, pad| build(items, knob, pad))?,
        )?;
        let values = 9 + NEST + items + 1;
        cases.push(case(
            variant,
            true,
            token,
            format!("{note} ({values} payload values)"),
        ));
    }
    Ok(cases)
}

/// Registration bodies of `MAX_BODY_BYTES`.
fn registration_cases(long_scopes: &[String], client_key: &Value) -> Res<Vec<Case>> {
    let case = |variant: &str, adversarial: bool, body: String, note: String| Case {
        parser: Parser::Registration,
        variant: variant.into(),
        adversarial,
        input: Input::Register {
            body: body.into_bytes(),
        },
        expect: 201,
        note,
        jti: None,
    };
    let benign = exact(MAX_BODY_BYTES, 1, |_, pad| {
        json!({
            "client_name": "Billing service",
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "jwks": {"keys": [client_key]},
            "grant_types": ["client_credentials"],
            "scope": "orders:read",
            "x_padding": "a".repeat(pad),
        })
        .to_string()
    })?;
    let mut cases = vec![case(
        "benign",
        false,
        benign,
        "valid private_key_jwt registration (one P-256 key) with one unknown member of 'a's".into(),
    )];
    for bits in [4096usize, 8192] {
        let keys: Vec<Value> = (0..MAX_CLIENT_KEYS)
            .map(|i| {
                json!({
                    "kty": "RSA", "n": rsa_modulus(bits, 100 + i as u64), "e": "AQAB",
                    "kid": format!("{}{i:02}", "k".repeat(60)), "alg": "RS256", "use": "sig",
                })
            })
            .collect();
        let scope = long_scopes.join(" ");
        let jwks = json!({ "keys": keys });
        // `contact` sets the length of each escaped contact (at most the text cap decoded);
        // a plain unknown member takes the rest of the size.
        let build = |contact: usize, pad: usize| -> String {
            let Ok(o) = Obj::new()
                .json("token_endpoint_auth_method", &json!("private_key_jwt"))
                .and_then(|o| o.json("token_endpoint_auth_signing_alg", &json!("RS256")))
                .and_then(|o| o.json("jwks", &jwks))
                .and_then(|o| o.json("scope", &json!(scope)))
                .and_then(|o| o.json("grant_types", &json!(["client_credentials"])))
            else {
                return String::new();
            };
            let contacts: Vec<String> = (0..MAX_METADATA_ARRAY_ITEMS)
                .map(|i| json_escaped(&format!("{}{i:02}@example.com", "c".repeat(contact))))
                .collect();
            let mut o = o.raw(
                "contacts",
                &format!("[{}]", contacts.join(",")),
                1 + contacts.len(),
            );
            for name in registration::TEXT_METADATA {
                let text = if name.ends_with("uri") {
                    format!("https://client.example/{}", "u".repeat(150))
                } else {
                    "n".repeat(170)
                };
                o = o.raw(name, &json_escaped(&text), 1);
            }
            // Unknown members (ignored, but parsed and counted) up to the member cap, each
            // an object nested to the depth limit holding members with the shortest names;
            // together they take the rest of the value budget.
            let room = MAX_REGISTRATION_JSON_VALUES - o.values - 1;
            let unknown = (MAX_REGISTRATION_MEMBERS - o.members.len() - 1).min(room);
            for u in 0..unknown {
                let values = room / unknown + usize::from(u < room % unknown);
                let depth = values.min(NEST - 1);
                o = o.raw(
                    &format!("{}{u:02}", "x".repeat(40)),
                    &short_members(values - depth, depth),
                    values,
                );
            }
            o.raw("x_padding", &json!("p".repeat(pad)).to_string(), 1)
                .text()
        };
        let most = MAX_METADATA_TEXT_BYTES - "00@example.com".len();
        let contact = largest(most, MAX_BODY_BYTES - 16, |c| build(c, 0).len())?;
        let body = exact(MAX_BODY_BYTES, 1, |_, pad| build(contact, pad))?;
        cases.push(case(
            &format!("caps_rsa{bits}"),
            true,
            body,
            format!(
                "{MAX_REGISTRATION_MEMBERS} members, {MAX_REGISTRATION_JSON_VALUES} values, {MAX_CLIENT_KEYS} RSA-{bits} keys, {MAX_SCOPE_TOKENS} scopes (60-byte prefix), {MAX_METADATA_ARRAY_ITEMS} escaped contacts, escaped text fields, unknown members holding objects nested to depth 15"
            ),
        ));
    }
    Ok(cases)
}

/// Remote JWK sets of `JWKS_BYTES`.
fn jwks_cases() -> Res<Vec<Case>> {
    let case = |variant: &str, adversarial: bool, body: String, note: String| Case {
        parser: Parser::Jwks,
        variant: variant.into(),
        adversarial,
        input: Input::Jwks {
            body: body.into_bytes(),
        },
        expect: 200,
        note,
        jti: None,
    };
    let ed = public_json(&signing_key(Algorithm::EdDSA, "ed-2026", 20)?)?;
    let es = public_json(&signing_key(Algorithm::ES256, "es-2026", 21)?)?;
    let benign = exact(JWKS_BYTES, 1, |_, pad| {
        json!({"keys": [
            ed, es,
            {"kty": "RSA", "n": rsa_modulus(2048, 22), "e": "AQAB", "kid": "rsa-2026",
             "alg": "RS256", "use": "sig", "x5c": ["M".repeat(pad)]},
        ]})
        .to_string()
    })?;
    let mut cases = vec![case(
        "benign",
        false,
        benign,
        "three keys (Ed25519, P-256, RSA-2048), the RSA key with one long x5c".into(),
    )];
    let mut families: Vec<(&str, Vec<Value>)> = Vec::new();
    let mut ed_keys = Vec::new();
    for i in 0..MAX_SET_KEYS {
        ed_keys.push(public_json(&signing_key(
            Algorithm::EdDSA,
            "x",
            1000 + i as u64,
        )?)?);
    }
    families.push(("ed25519", ed_keys));
    families.push(("p521", p521_points(MAX_SET_KEYS)?));
    families.push((
        "rsa8192",
        (0..MAX_SET_KEYS)
            .map(|i| json!({"kty": "RSA", "n": rsa_modulus(8192, 3000 + i as u64), "e": "AQAB", "alg": "RS256", "use": "sig"}))
            .collect(),
    ));
    for (family, keys) in families {
        // The rest of the value budget as unknown members of the keys (ignored, but parsed
        // and counted), with short names no JWK parameter has (`za`, `zb`, ...).
        let base = 2 + keys.iter().map(|k| count_values(k) + 1).sum::<usize>();
        let spare = MAX_JSON_VALUES.saturating_sub(base);
        let keys: Vec<Value> = keys
            .into_iter()
            .enumerate()
            .map(|(i, mut k)| {
                let extra = spare / MAX_SET_KEYS + usize::from(i < spare % MAX_SET_KEYS);
                for m in 0..extra {
                    k[format!("z{}", short_name(m))] = json!(0);
                }
                k
            })
            .collect();
        // Every key's kid shares a long prefix (the set checks kids for duplicates); the
        // prefix length takes the size padding, the first kid the remainder.
        let build = |pad: usize, extra: usize| -> String {
            let keys: Vec<Value> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let mut k = k.clone();
                    let last = if i == 0 {
                        "z".repeat(extra)
                    } else {
                        String::new()
                    };
                    k["kid"] = json!(format!("{}{i:03}{last}", "k".repeat(pad)));
                    k
                })
                .collect();
            json!({ "keys": keys }).to_string()
        };
        let room = JWKS_BYTES
            .checked_sub(build(0, 0).len())
            .ok_or("the keys alone are over the size")?;
        let body = build(room / keys.len(), room % keys.len());
        if body.len() != JWKS_BYTES {
            return Err(format!("jwks {family}: {} bytes", body.len()));
        }
        cases.push(case(
            family,
            true,
            body,
            format!("{MAX_SET_KEYS} {family} keys at the {MAX_JSON_VALUES}-value budget (unknown members), kids with a long common prefix"),
        ));
    }
    Ok(cases)
}

/// `count` P-521 public keys: the points 2G, 3G, ... (valid keys, made by point additions
/// instead of `count` key generations).
fn p521_points(count: usize) -> Res<Vec<Value>> {
    use p521::elliptic_curve::group::Group;
    use p521::elliptic_curve::sec1::ToEncodedPoint;
    let g = p521::ProjectivePoint::generator();
    let mut p = g;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        p += g;
        let encoded = p.to_affine().to_encoded_point(false);
        let (Some(x), Some(y)) = (encoded.x(), encoded.y()) else {
            return Err("P-521 point at infinity".into());
        };
        out.push(json!({
            "kty": "EC", "crv": "P-521", "x": b64::encode_url(x), "y": b64::encode_url(y),
            "alg": "ES512", "use": "sig",
        }));
    }
    Ok(out)
}

fn fixture(now: u64) -> Res<Fixture> {
    let server = signing_key(Algorithm::EdDSA, SERVER_KID, 1)?;
    let attacker = signing_key(Algorithm::EdDSA, SERVER_KID, 2)?;
    let client_key = public_json(&signing_key(Algorithm::ES256, "client-es", 3)?)?;
    let long_secret = alnum((BASIC_BYTES - 6) / 4 * 3 - "long-secret:".len(), 4);
    let long_scopes: Vec<String> = (0..MAX_SCOPE_TOKENS)
        .map(|i| format!("{}{i:03}", "s".repeat(60)))
        .collect();
    let hash = |s: &str| gatepass_core::secret::SecretHash::of(s).to_stored();
    let server_json = json!({
        "issuer": ISSUER,
        "signing_keys": [server.to_private_json()],
        "default_audiences": [API],
        "token_ttl": "300s",
        "clients": [
            {"client_id": "billing", "client_secret_hash": hash(BILLING_SECRET), "scope": "orders:read orders:write"},
            {"client_id": "long-secret", "client_secret_hash": hash(&long_secret), "scope": "orders:read"},
            {"client_id": "jwt-client", "token_endpoint_auth_method": "client_secret_jwt",
             "client_secret": JWT_SECRET, "token_endpoint_auth_signing_alg": "HS256", "scope": "orders:read"},
        ],
        "registration": {
            "open_registration": true,
            "allowed_scope": format!("orders:read orders:write {}", long_scopes.join(" ")),
        },
    });
    let config =
        ServerConfig::from_json(&json_text(&server_json)?).map_err(|e| format!("config: {e}"))?;
    let public_set = json!({"keys": [public_json(&server)?]});
    let provider_json = json!({
        "issuer": ISSUER,
        "audiences": [API],
        "local_jwks": {"inline_string": json_text(&public_set)?},
        "algorithms": ["EdDSA"],
    });
    let keys = JwkSet::from_json(
        json_text(&public_set)?.as_bytes(),
        SetStrictness::Strict,
        false,
    )
    .map_err(|e| format!("keys: {e}"))?;
    let mut policy = VerifierPolicy::new(ISSUER, vec![API.into()]);
    policy.algorithms = vec![Algorithm::EdDSA];
    let mut cases = form_cases()?;
    cases.extend(basic_cases(&long_secret)?);
    cases.extend(assertion_cases(now)?);
    cases.extend(access_token_cases(now, &server, &attacker)?);
    cases.extend(registration_cases(&long_scopes, &client_key)?);
    cases.extend(jwks_cases()?);
    let fx = Fixture {
        now,
        server_json,
        config,
        provider_json,
        policy,
        keys,
        cases,
    };
    check(&fx)?;
    Ok(fx)
}

// ---------------------------------------------------------------------------------------------
// The two stages

/// What the host spends before it answers; returns the status.
fn whole(fx: &Fixture, input: &Input, rng: &mut ChaCha20Rng) -> u16 {
    match input {
        Input::Token {
            authorization,
            body,
        } => {
            let http = match TokenHttpRequest::from_bytes(
                b"POST",
                Some(FORM.as_bytes()),
                authorization.as_deref().map(str::as_bytes),
                body,
            ) {
                Ok(http) => http,
                Err(e) => return e.to_response(ISSUER).status,
            };
            exchange::run(
                &fx.config,
                &http,
                |id| fx.config.client(id),
                // The host's replay store: every jti is new here (its cost is not the parser's).
                |_, _| ReplayOutcome::Recorded,
                fx.now,
                rng,
            )
            .response
            .status
        }
        Input::Bearer { header, .. } => {
            let outcome = verify::extract_bearer(Some(header))
                .and_then(|token| verify::verify_access_token(token, &fx.policy, &fx.keys, fx.now))
                .and_then(|verified| verified.require_scopes(&["orders:read"]));
            match outcome {
                Ok(()) => 200,
                Err(e) => e.to_response("gatepass").status,
            }
        }
        Input::Register { body } => {
            let Some(policy) = fx.config.registration.as_ref() else {
                return 404;
            };
            match registration::check_initial_access(policy, None) {
                Err(e) => e.to_response("gatepass").status,
                Ok(access) => match registration::register(access, body, &fx.config, fx.now, rng) {
                    Ok(registered) => registered.response.status,
                    Err(e) => e.to_response().status,
                },
            }
        }
        Input::Jwks { body } => match JwkSet::from_json(body, SetStrictness::SkipUnusable, false) {
            Ok(set) if set.keys.is_empty() => 500,
            Ok(_) => 200,
            Err(_) => 400,
        },
    }
}

/// The parser alone; returns whether it accepted the input.
fn parse(input: &Input) -> bool {
    match input {
        Input::Token {
            authorization,
            body,
        } => request::parse_token_request(&TokenHttpRequest {
            method: "POST",
            content_type: Some(FORM),
            authorization: authorization.as_deref(),
            body,
        })
        .is_ok(),
        Input::Bearer { token, .. } => {
            verify::UntrustedToken::parse(token, gatepass_core::limits::MAX_TOKEN_BYTES).is_ok()
        }
        Input::Register { body } | Input::Jwks { body } => json::parse_object(body).is_ok(),
    }
}

/// Every input is the size of its benign twin, is accepted by its parser (so it was parsed in
/// full), and gets the expected answer.
fn check(fx: &Fixture) -> Res<()> {
    let mut r = rng(9);
    for p in Parser::ALL {
        let cases: Vec<&Case> = fx.cases.iter().filter(|c| c.parser == p).collect();
        let size = cases.first().map(|c| c.input.size()).unwrap_or_default();
        for c in cases {
            if c.input.size() != size {
                return Err(format!(
                    "{} {}: {} bytes, its benign twin {size}",
                    p.name(),
                    c.variant,
                    c.input.size()
                ));
            }
            if !parse(&c.input) {
                return Err(format!("{} {}: refused by the parser", p.name(), c.variant));
            }
            let status = whole(fx, &c.input, &mut r);
            if status != c.expect {
                return Err(format!(
                    "{} {}: answered {status}, expected {}",
                    p.name(),
                    c.variant,
                    c.expect
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Timing

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Nanoseconds per call of `f`, over `n` calls.
fn batch(f: &mut dyn FnMut(), n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Medians (ns per call) of `a` and `b`, timed in alternating batches of about `batch_ns`.
fn compare(a: &mut dyn FnMut(), b: &mut dyn FnMut(), rounds: usize, batch_ns: f64) -> (f64, f64) {
    // Calibrate (and warm up) each side on its own.
    let size = |f: &mut dyn FnMut()| -> usize {
        let mut n = 1;
        loop {
            let t = batch(f, n) * n as f64;
            if t >= batch_ns / 4.0 || n >= 1 << 20 {
                return ((n as f64 * batch_ns / t).ceil() as usize).max(1);
            }
            n *= 4;
        }
    };
    let (na, nb) = (size(a), size(b));
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            ta.push(batch(a, na));
            tb.push(batch(b, nb));
        } else {
            tb.push(batch(b, nb));
            ta.push(batch(a, na));
        }
    }
    (median(&mut ta), median(&mut tb))
}

struct Options {
    quick: bool,
    now: u64,
    only: Option<Vec<String>>,
    json: Option<String>,
    dir: Option<String>,
}

fn bench(fx: &Fixture, opts: &Options) -> Res<()> {
    let (rounds, batch_ns) = if opts.quick { (5, 5e6) } else { (9, 2e7) };
    println!(
        "core (native, release): medians of {rounds} interleaved rounds, batches of ~{} ms",
        batch_ns / 1e6
    );
    println!(
        "{:<17} {:<16} {:<6} {:>13} {:>13} {:>8}",
        "parser", "variant", "stage", "adversarial", "benign", "ratio"
    );
    let mut results = Vec::new();
    let mut r = rng(11);
    for p in Parser::ALL {
        if opts
            .only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|o| o == p.name()))
        {
            continue;
        }
        let Some(benign) = fx.cases.iter().find(|c| c.parser == p && !c.adversarial) else {
            continue;
        };
        for adv in fx.cases.iter().filter(|c| c.parser == p && c.adversarial) {
            for stage in ["whole", "parse"] {
                let (ta, tb) = {
                    let mut rb = r.clone();
                    let mut a = || {
                        black_box(if stage == "whole" {
                            whole(fx, black_box(&adv.input), &mut r) as usize
                        } else {
                            usize::from(parse(black_box(&adv.input)))
                        });
                    };
                    let mut b = || {
                        black_box(if stage == "whole" {
                            whole(fx, black_box(&benign.input), &mut rb) as usize
                        } else {
                            usize::from(parse(black_box(&benign.input)))
                        });
                    };
                    compare(&mut a, &mut b, rounds, batch_ns)
                };
                let ratio = ta / tb;
                println!(
                    "{:<17} {:<16} {:<6} {:>10.1} µs {:>10.1} µs {:>7.2}×",
                    p.name(),
                    adv.variant,
                    stage,
                    ta / 1e3,
                    tb / 1e3,
                    ratio
                );
                results.push(json!({
                    "shell": "core", "parser": p.name(), "variant": adv.variant, "stage": stage,
                    "adversarial_us": ta / 1e3, "benign_us": tb / 1e3, "ratio": ratio,
                    "bytes": adv.input.size(), "cap": p.cap(),
                }));
            }
        }
    }
    if let Some(path) = &opts.json {
        std::fs::write(path, json_text(&Value::Array(results))?)
            .map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

/// The inputs for the other shells.
fn write(fx: &Fixture, dir: &str) -> Res<()> {
    let cases: Vec<Value> = fx
        .cases
        .iter()
        .map(|c| {
            let mut v = json!({
                "parser": c.parser.name(), "variant": c.variant, "adversarial": c.adversarial,
                "expect": c.expect, "bytes": c.input.size(), "note": c.note, "cap": c.parser.cap(),
            });
            match &c.input {
                Input::Token {
                    authorization,
                    body,
                } => {
                    v["path"] = json!(TOKEN_PATH);
                    v["authorization"] = json!(authorization);
                    v["content_type"] = json!(FORM);
                    v["body"] = json!(String::from_utf8_lossy(body));
                }
                Input::Bearer { token, .. } => v["token"] = json!(token),
                Input::Register { body } => {
                    v["path"] = json!(REGISTER_PATH);
                    v["content_type"] = json!("application/json");
                    v["body"] = json!(String::from_utf8_lossy(body));
                }
                // Remote JWK sets are fetched by the Envoy filter's root context, not sent
                // by a client: measured in the core only.
                Input::Jwks { .. } => v["native_only"] = json!(true),
            }
            if let Some(jti) = &c.jti {
                v["jti"] = json!(jti);
                v["hs256_secret"] = json!(JWT_SECRET);
            }
            v
        })
        .collect();
    let doc = json!({
        "now": fx.now,
        "issuer": ISSUER,
        "audience": API,
        "server_config": fx.server_json,
        "provider": fx.provider_json,
        "cases": cases,
    });
    std::fs::create_dir_all(dir).map_err(|e| format!("{dir}: {e}"))?;
    let path = format!("{dir}/cases.json");
    std::fs::write(&path, json_text(&doc)?).map_err(|e| format!("{path}: {e}"))?;
    println!(
        "wrote {path} ({} cases)",
        doc["cases"].as_array().map_or(0, Vec::len)
    );
    Ok(())
}

fn describe(fx: &Fixture) {
    for c in &fx.cases {
        println!(
            "{:<17} {:<16} {:>6} B  {}",
            c.parser.name(),
            c.variant,
            c.input.size(),
            c.note
        );
    }
}

/// One input `n` times at one stage. Not inlined: `count` runs under callgrind with
/// `--toggle-collect` and `--dump-after` on this function, one dump per call.
#[inline(never)]
fn measured(fx: &Fixture, input: &Input, whole_stage: bool, n: usize, r: &mut ChaCha20Rng) {
    for _ in 0..n {
        black_box(if whole_stage {
            whole(fx, black_box(input), r) as usize
        } else {
            usize::from(parse(black_box(input)))
        });
    }
}

/// `count N`: every input `N` times at each stage, one `measured` call each, in the order
/// printed (`parser variant stage`), for callgrind's per-call dumps (bench/worst-case.sh
/// --instructions). One untimed call first warms every input's allocations.
fn count(fx: &Fixture, args: &[String]) -> Res<()> {
    let n: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or("usage: worst_case count N")?;
    let mut r = rng(13);
    for c in &fx.cases {
        for (stage, whole_stage) in [("whole", true), ("parse", false)] {
            black_box(whole(fx, &c.input, &mut r));
            measured(fx, &c.input, whole_stage, n, &mut r);
            println!("{} {} {stage}", c.parser.name(), c.variant);
        }
    }
    Ok(())
}

/// `profile PARSER VARIANT STAGE N`: one input `N` times, for `perf record` or callgrind.
fn profile(fx: &Fixture, args: &[String]) -> Res<()> {
    let [parser, variant, stage, n, ..] = args else {
        return Err("usage: worst_case profile PARSER VARIANT whole|parse N".into());
    };
    let n: usize = n.parse().map_err(|_| "N must be a number".to_string())?;
    let case = fx
        .cases
        .iter()
        .find(|c| c.parser.name() == parser && c.variant == *variant)
        .ok_or_else(|| format!("no case {parser} {variant}"))?;
    let mut r = rng(12);
    for _ in 0..n {
        black_box(if stage == "whole" {
            whole(fx, black_box(&case.input), &mut r) as usize
        } else {
            usize::from(parse(black_box(&case.input)))
        });
    }
    Ok(())
}

fn options(args: &[String]) -> Res<Options> {
    let mut opts = Options {
        quick: false,
        now: 1_900_000_000,
        only: None,
        json: None,
        dir: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--quick" => opts.quick = true,
            "--now" => {
                opts.now = value("--now")?
                    .parse()
                    .map_err(|_| "--now takes Unix seconds".to_string())?
            }
            "--only" => opts.only = Some(value("--only")?.split(',').map(String::from).collect()),
            "--json" => opts.json = Some(value("--json")?),
            other if !other.starts_with('-') && opts.dir.is_none() => opts.dir = Some(other.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(opts)
}

fn run(args: &[String]) -> Res<()> {
    let usage = "usage: worst_case bench [--quick] [--now UNIX] [--only PARSER,..] [--json FILE] | write DIR [--now UNIX] | describe | profile PARSER VARIANT whole|parse N | count N";
    let Some((command, rest)) = args.split_first() else {
        return Err(usage.into());
    };
    let opts = if command == "profile" || command == "count" {
        options(&[])?
    } else {
        options(rest)?
    };
    let fx = fixture(opts.now)?;
    match command.as_str() {
        "bench" => bench(&fx, &opts),
        "write" => write(&fx, opts.dir.as_deref().ok_or(usage)?),
        "describe" => {
            describe(&fx);
            Ok(())
        }
        "profile" => profile(&fx, rest),
        "count" => count(&fx, rest),
        _ => Err(usage.into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("worst_case: {e}");
            ExitCode::FAILURE
        }
    }
}
