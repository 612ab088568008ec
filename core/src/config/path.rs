//! The path of the field a configuration error is about (`clients[3].client_secrt`), rebuilt
//! from where serde_json stopped.
//!
//! Configuration is deserialized straight from the text with serde_json; only when that fails
//! does this walk the text up to the error's position and name the member it was in. Doing it
//! this way, rather than wrapping every deserializer in a path tracker, keeps the loader's code
//! small: in the Envoy filter the loader is compiled when the plugin loads, and V8's compiler
//! memory for it stays in Envoy's heap (README, "Size and memory of the Envoy filter").
//!
//! The path reads as serde_path_to_error's did (the tests compare the two): members joined
//! with `.`, array items as `[i]`, `?` for a member whose name was not read yet, the empty
//! string for the document itself.

use alloc::string::String;
use alloc::vec::Vec;

/// Where the walk is inside one open object or array.
enum Frame {
    /// An object, before a member's name (`?`).
    Name,
    /// An object, after a member's name and before its `:`.
    Colon(String),
    /// An object, reading the member's value (`done`: read to its end).
    Member { name: String, done: bool },
    /// An array, before item `index`.
    Before(usize),
    /// An array, reading item `index` (`done`: read to its end).
    Item { index: usize, done: bool },
}

/// What kind of error serde_json stopped at, which says where its position is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A value was refused (wrong type or value, a missing field, too few items): at its first
    /// byte when that byte gave it away, else after it.
    Value,
    /// Malformed JSON or the end of the text, found while looking for what comes next: after a
    /// member or item, the next one is at fault.
    Syntax,
    /// A misspelt `true`, `false` or `null`: found wrong at the byte after it.
    Literal,
    /// A member's name was refused (an unknown field): at the end of the name.
    Name,
    /// A duration (read with `deserialize_any`) refused: after its `[` or `{` (and its `]` or
    /// `}` when empty), or after the number or literal.
    Duration,
}

impl Fault {
    /// The kind of `e`, whose message is `message`.
    pub(crate) fn of(e: &serde_json::Error, message: &str) -> Fault {
        if message.starts_with("expected ident") {
            Fault::Literal
        } else if e.is_syntax() || e.is_eof() {
            Fault::Syntax
        } else if message.starts_with("unknown field") {
            Fault::Name
        } else if message.contains(super::DURATION_EXPECTED) {
            Fault::Duration
        } else {
            Fault::Value
        }
    }
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Back from `at` to the start of the value that ends there (over blanks serde_json read past).
fn value_start(bytes: &[u8], at: usize) -> usize {
    let last = |to: usize| bytes.get(..to)?.iter().rposition(|&b| !is_blank(b));
    match last(at).map(|i| (i, bytes[i])) {
        Some((i, b'[' | b'{')) => i,
        Some((i, close @ (b']' | b'}'))) => match last(i).map(|j| (j, bytes[j])) {
            Some((j, b'[')) if close == b']' => j,
            Some((j, b'{')) if close == b'}' => j,
            _ => at,
        },
        Some((i, _)) => {
            let token = bytes.get(..=i).unwrap_or_default();
            token
                .iter()
                .rposition(|&b| is_blank(b) || matches!(b, b',' | b':' | b'[' | b'{'))
                .map_or(0, |d| d + 1)
        }
        None => at,
    }
}

/// The path at serde_json's error position (`line` counts from 1, `column` is the number of
/// bytes before the position on its line, as `serde_json::Error` reports them).
pub(crate) fn path_at(text: &str, line: usize, column: usize, fault: Fault) -> String {
    let bytes = text.as_bytes();
    let at = offset_of(bytes, line, column);
    let end = match fault {
        Fault::Literal => at.saturating_sub(1),
        Fault::Duration => value_start(bytes, at),
        Fault::Value | Fault::Syntax | Fault::Name => at,
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        let b = bytes[i];
        match b {
            b'{' | b'[' => {
                start_value(&mut stack);
                stack.push(if b == b'{' {
                    Frame::Name
                } else {
                    Frame::Before(0)
                });
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                end_value(&mut stack);
                i += 1;
            }
            b',' => {
                if let Some(top) = stack.last_mut() {
                    *top = match top {
                        Frame::Before(index) | Frame::Item { index, .. } => {
                            Frame::Before(*index + 1)
                        }
                        _ => Frame::Name,
                    };
                }
                i += 1;
            }
            b':' => {
                if let Some(top) = stack.last_mut() {
                    if let Frame::Colon(name) = top {
                        *top = Frame::Member {
                            name: core::mem::take(name),
                            done: false,
                        };
                    }
                }
                i += 1;
            }
            b'"' => {
                let (close, value) = read_string(bytes, i + 1, end);
                match stack.last_mut() {
                    Some(top @ Frame::Name) => {
                        if close < end {
                            *top = Frame::Colon(value);
                        }
                    }
                    _ => {
                        start_value(&mut stack);
                        if close < end {
                            end_value(&mut stack);
                        }
                    }
                }
                i = close.saturating_add(1);
            }
            b if is_blank(b) => i += 1,
            _ => {
                // A number, `true`, `false` or `null`: up to the next delimiter.
                start_value(&mut stack);
                let from = i;
                while i < end && !is_blank(bytes[i]) && !matches!(bytes[i], b',' | b'}' | b']') {
                    i += 1;
                }
                // Complete when a delimiter follows, or when the text ends after a whole one.
                let token = bytes.get(from..i).unwrap_or_default();
                let whole = matches!(token, b"true" | b"false" | b"null")
                    || token.last().is_some_and(u8::is_ascii_digit);
                if i < end || (i == bytes.len() && whole) {
                    end_value(&mut stack);
                }
            }
        }
    }
    // A value that starts at the error (serde_json looked at its first byte and refused it) is
    // the item being read.
    let next = bytes
        .get(end..)
        .and_then(|rest| rest.iter().find(|&&b| !is_blank(b)));
    if let (Some(Frame::Before(index)), Some(&b)) = (stack.last(), next) {
        if b != b']' && b != b',' {
            let index = *index;
            start_value(&mut stack);
            if let Some(top) = stack.last_mut() {
                *top = Frame::Item { index, done: false };
            }
        }
    }
    let mut path = String::new();
    for frame in &stack {
        let segment = match frame {
            Frame::Name => Some(String::from("?")),
            // Refused by its name, the member is at fault; else the object.
            Frame::Colon(name) => (fault == Fault::Name).then(|| name.clone()),
            // After a complete member, malformed text is about the next one.
            Frame::Member { done: true, .. } if fault == Fault::Syntax => Some(String::from("?")),
            Frame::Member { name, .. } => Some(name.clone()),
            Frame::Before(_) => None,
            Frame::Item { done: true, .. } if fault == Fault::Syntax => None,
            Frame::Item { index, .. } => Some(alloc::format!("[{index}]")),
        };
        if let Some(s) = segment {
            if !path.is_empty() && !s.starts_with('[') {
                path.push('.');
            }
            path.push_str(&s);
        }
    }
    path
}

/// A value starts in the innermost container.
fn start_value(stack: &mut [Frame]) {
    if let Some(top) = stack.last_mut() {
        match top {
            Frame::Before(index) => {
                *top = Frame::Item {
                    index: *index,
                    done: false,
                }
            }
            Frame::Member { done, .. } | Frame::Item { done, .. } => *done = false,
            _ => {}
        }
    }
}

/// The value being read in the innermost container has been read to its end.
fn end_value(stack: &mut [Frame]) {
    if let Some(Frame::Member { done, .. } | Frame::Item { done, .. }) = stack.last_mut() {
        *done = true;
    }
}

/// The byte offset of (`line`, `column`), within the text.
fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    let mut seen = 1;
    for (i, &b) in bytes.iter().enumerate() {
        if seen >= line {
            break;
        }
        if b == b'\n' {
            seen += 1;
            start = i + 1;
        }
    }
    start.saturating_add(column).min(bytes.len())
}

/// The string whose body starts at `from`: the index of its closing quote (or `end` when it
/// does not close before `end`) and its value (escapes decoded; `\u` escapes as far as they
/// name a character).
fn read_string(bytes: &[u8], from: usize, end: usize) -> (usize, String) {
    let mut out: Vec<u8> = Vec::new();
    let mut i = from;
    while i < end {
        match bytes[i] {
            b'"' => return (i, String::from_utf8_lossy(&out).into_owned()),
            b'\\' if i + 1 < end => {
                let e = bytes[i + 1];
                i += 2;
                let simple = match e {
                    b'n' => Some(b'\n'),
                    b't' => Some(b'\t'),
                    b'r' => Some(b'\r'),
                    b'b' => Some(0x08),
                    b'f' => Some(0x0c),
                    b'u' => None,
                    other => Some(other),
                };
                match simple {
                    Some(c) => out.push(c),
                    None => {
                        let (c, used) = unicode_escape(bytes, i, end);
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        i += used;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    (end, String::from_utf8_lossy(&out).into_owned())
}

/// The character of a `\u` escape whose hex digits start at `at` (with a following low
/// surrogate when it is a high one), and the bytes it used.
fn unicode_escape(bytes: &[u8], at: usize, end: usize) -> (char, usize) {
    let hex = |from: usize| -> Option<u32> {
        let digits = bytes.get(from..from.checked_add(4)?)?;
        if from + 4 > end {
            return None;
        }
        u32::from_str_radix(core::str::from_utf8(digits).ok()?, 16).ok()
    };
    match hex(at) {
        Some(high @ 0xD800..=0xDBFF) => {
            let low = (bytes.get(at + 4..at + 6) == Some(b"\\u"))
                .then(|| hex(at + 6))
                .flatten()
                .filter(|low| (0xDC00..=0xDFFF).contains(low));
            match low {
                Some(low) => {
                    let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    (char::from_u32(c).unwrap_or('\u{FFFD}'), 10)
                }
                None => ('\u{FFFD}', 4),
            }
        }
        Some(c) => (char::from_u32(c).unwrap_or('\u{FFFD}'), 4),
        None => ('\u{FFFD}', 0),
    }
}

#[cfg(test)]
mod tests {
    //! The path and message of every error must read as they did with serde_path_to_error
    //! wrapped around the deserializer: compared on mutations of documents that use every
    //! field of every configuration type, written compact and pretty, and on every prefix of
    //! them (syntax errors).
    use super::super::client::RawClient;
    use super::super::filter::RawFilterConfig;
    use super::super::provider::RawProvider;
    use super::super::server::RawServerConfig;
    use super::super::stored::RawStoredClient;
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;
    use serde::de::DeserializeOwned;
    use serde_json::{json, Value};

    type Outcome = Result<(), (String, String)>;

    fn tracked<T: DeserializeOwned>(text: &str) -> Outcome {
        let mut de = serde_json::Deserializer::from_str(text);
        let value: Result<T, _> = serde_path_to_error::deserialize(&mut de);
        match value {
            Ok(_) => de.end().map_err(|e| (String::new(), e.to_string())),
            Err(e) => {
                let path = e.path().to_string();
                let field = if path == "." { String::new() } else { path };
                Err((field, e.inner().to_string()))
            }
        }
    }

    fn rebuilt<T: DeserializeOwned>(text: &str) -> Outcome {
        super::super::parse_json::<T>(text)
            .map(|_| ())
            .map_err(|e| (e.field.to_string(), e.message.to_string()))
    }

    fn client() -> Value {
        json!({
            "client_id": "svc\u{e9}\"a", "token_endpoint_auth_method": "private_key_jwt",
            "client_secret_hash": "h", "client_secret": "s",
            "jwks": {"keys": [{"kty": "OKP", "x": "y"}]},
            "token_endpoint_auth_signing_alg": "EdDSA", "grant_types": ["client_credentials"],
            "scope": "a b", "audiences": ["https://api"], "client_secret_expires_at": 0,
            "client_id_issued_at": 1, "registration_access_token_hash": "r",
            "metadata": {"client_name": "x", "nested": [1, {"a": null}]}, "issuer": "https://as"
        })
    }

    fn provider() -> Value {
        json!({
            "issuer": "https://as", "audiences": ["https://api", "b"],
            "local_jwks": {"inline_string": "{\"keys\":[]}"},
            "remote_jwks": {"http_uri": {"uri": "https://as/jwks", "cluster": "c", "timeout": "1s"},
                            "cache_duration": 300},
            "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}, {"name": "x"}],
            "forward": true, "forward_payload_header": "x-payload",
            "claim_to_headers": [{"header_name": "x-client-id", "claim_name": "client_id"}],
            "clock_skew_seconds": 60, "max_lifetime": "3600s", "require_typ": "at+jwt",
            "algorithms": ["EdDSA", "ES256"], "jwks_kid_miss_cooldown": 30
        })
    }

    fn server() -> Value {
        json!({
            "issuer": "https://as", "signing_keys": [{"kty": "OKP", "d": "x"}, 1],
            "active_kid": "k", "clients": [client(), {"client_id": "b"}],
            "default_audiences": ["https://api"], "token_ttl": 300, "path": "/oauth/token",
            "jwks_path": "/j", "metadata_path": "/m", "registration_path": "/r",
            "registration": {"enabled": true, "initial_access_token_hash": "h",
                             "allowed_scope": "a", "default_scope": "a",
                             "client_secret_ttl": "60s", "open_registration": false},
            "assertion_max_lifetime": 60, "clock_skew_seconds": 5,
            "allow_legacy_assertion_audience": false, "require_explicit_assertion_typ": true,
            "max_body_bytes": 1024
        })
    }

    fn filter() -> Value {
        json!({
            "providers": {"main": provider(), "other": {"issuer": "x", "audiences": []}},
            "rules": [
                {"match": {"prefix": "/a", "path": "/b", "path_separated_prefix": "/c",
                           "case_sensitive": false, "methods": ["GET"]},
                 "requires": {"provider_name": "main", "scopes": ["s"]},
                 "allow_missing": {"provider_name": "main"}},
                {"match": {"prefix": "/"}}
            ],
            "realm": "r", "jwt_cache_size": 10, "token_endpoint": server()
        })
    }

    /// Every document one change away from `doc`: an unknown member added to an object (first
    /// and last), a member removed, a value replaced by one of another type.
    fn mutations(doc: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        let wrong = [
            json!(7),
            json!("x"),
            json!(true),
            json!(null),
            json!([]),
            json!({}),
            json!([1, "x"]),
            json!(-1),
        ];
        let mut paths = Vec::new();
        collect(doc, &mut Vec::new(), &mut paths);
        for path in paths {
            for w in &wrong {
                let mut d = doc.clone();
                if let Some(slot) = at(&mut d, &path) {
                    if slot != w {
                        *slot = w.clone();
                        out.push(d);
                    }
                }
            }
            let mut d = doc.clone();
            let mut keys: Vec<String> = Vec::new();
            if let Some(Value::Object(map)) = at(&mut d, &path) {
                keys = map.keys().cloned().collect();
                map.insert("aa_unknown".into(), json!(1));
                map.insert("zz_unknown".into(), json!({"a": [1]}));
            }
            if !keys.is_empty() {
                out.push(d);
                for k in keys {
                    let mut e = doc.clone();
                    if let Some(Value::Object(m)) = at(&mut e, &path) {
                        m.remove(&k);
                        out.push(e);
                    }
                }
            }
        }
        out
    }

    #[derive(Clone)]
    enum Step {
        Key(String),
        Index(usize),
    }

    fn collect(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(here.clone());
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    here.push(Step::Key(k.clone()));
                    collect(c, here, out);
                    here.pop();
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    here.push(Step::Index(i));
                    collect(c, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }

    fn at<'v>(v: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
        let mut cur = v;
        for s in path {
            cur = match s {
                Step::Key(k) => cur.get_mut(k.as_str())?,
                Step::Index(i) => cur.get_mut(*i)?,
            };
        }
        Some(cur)
    }

    fn texts(doc: &Value) -> Vec<String> {
        let compact = doc.to_string();
        let pretty = serde_json::to_string_pretty(doc).unwrap();
        // Odd spacing: blanks before separators and a CRLF line break.
        let spaced = compact.replace(',', " ,\r\n ").replace(':', " : ");
        alloc::vec![compact, pretty, spaced]
    }

    fn compare<T: DeserializeOwned>(name: &str, doc: &Value) -> usize {
        let mut errors = 0;
        let mut docs = alloc::vec![doc.clone()];
        docs.extend(mutations(doc));
        for d in &docs {
            for text in texts(d) {
                let want = tracked::<T>(&text);
                errors += usize::from(want.is_err());
                assert_eq!(rebuilt::<T>(&text), want, "{name}: {text}");
            }
        }
        // Syntax errors: every prefix of the pretty text, and a stray byte after the document.
        let pretty = serde_json::to_string_pretty(doc).unwrap();
        for end in 0..pretty.len() {
            if let Some(prefix) = pretty.get(..end) {
                assert_eq!(
                    rebuilt::<T>(prefix),
                    tracked::<T>(prefix),
                    "{name}: {prefix}"
                );
            }
        }
        let trailing = alloc::format!("{pretty} x");
        assert_eq!(rebuilt::<T>(&trailing), tracked::<T>(&trailing));
        errors
    }

    #[test]
    fn paths_and_messages_read_as_with_a_path_tracking_deserializer() {
        assert!(compare::<RawFilterConfig>("filter", &filter()) > 500);
        assert!(compare::<RawServerConfig>("server", &server()) > 100);
        assert!(compare::<RawProvider>("provider", &provider()) > 100);
        assert!(compare::<RawClient>("client", &client()) > 30);
        assert!(compare::<RawStoredClient>("stored", &client()) > 30);
    }

    #[test]
    fn a_path_names_members_items_and_escaped_names() {
        let cases = [
            (r#"{"a": {"b": [1, {"c": x}]}}"#, "a.b[1].c"),
            (
                r#"{"a\"b": {"\u00e9\ud83d\ude00": tru}}"#,
                "a\"b.\u{e9}\u{1F600}",
            ),
            (r#"[1, 2, [3, ["#, "[2][1]"),
            ("", ""),
        ];
        for (text, want) in cases {
            let e = serde_json::from_str::<Value>(text).unwrap_err();
            assert_eq!(
                super::path_at(
                    text,
                    e.line(),
                    e.column(),
                    super::Fault::of(&e, &e.to_string())
                ),
                want,
                "{text} {e}"
            );
        }
    }
}
