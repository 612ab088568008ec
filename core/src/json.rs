//! Strict JSON for untrusted input.
//!
//! RFC 7515 §5.2 and RFC 7519 §7.2 let a parser either reject duplicate member names or use the
//! last one; RFC 8725 §3.x asks for the strict choice because two parsers that disagree about a
//! duplicate are an attack (one checks `"alg"`, the other uses it). Every JSON object parsed
//! from the wire here is parsed with duplicates rejected at every depth, and nesting is bounded.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

use crate::limits;

/// Deepest nesting accepted in untrusted JSON (objects and arrays). Access tokens and client
/// metadata are flat; this bounds the parser's work and stack.
pub const MAX_DEPTH: usize = 16;

/// Why untrusted JSON was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not valid JSON (or not UTF-8).
    Syntax,
    /// An object has the same member name twice.
    DuplicateMember(String),
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Valid JSON, but not an object at the top level.
    NotAnObject,
    /// More values than the caller allows (see [`parse_object_within`]).
    TooManyValues,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax => f.write_str("malformed JSON"),
            JsonError::DuplicateMember(name) => write!(f, "duplicate member \"{name}\""),
            JsonError::TooDeep => f.write_str("JSON nested too deeply"),
            JsonError::NotAnObject => f.write_str("JSON value is not an object"),
            JsonError::TooManyValues => f.write_str("JSON document holds too many values"),
        }
    }
}

/// Parses a JSON object, refusing duplicate member names at any depth, deep nesting and more
/// than [`limits::MAX_JSON_VALUES`] values.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonError> {
    parse_object_within(bytes, limits::MAX_JSON_VALUES)
}

/// [`parse_object`] with its own bound on the number of values (every object, array, member
/// value and array item counts one). The parser stops at the first value over the bound, so
/// its work is linear in the input and capped by the bound (members are kept in a B-tree, which
/// also finds duplicates in O(log n) each).
pub fn parse_object_within(
    bytes: &[u8],
    max_values: usize,
) -> Result<Map<String, Value>, JsonError> {
    match parse_value_within(bytes, max_values)? {
        Value::Object(map) => Ok(map),
        _ => Err(JsonError::NotAnObject),
    }
}

fn parse_value_within(bytes: &[u8], max_values: usize) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut state = State {
        problem: None,
        remaining: max_values,
    };
    let seed = StrictSeed {
        depth: 0,
        state: &mut state,
    };
    let result = de::DeserializeSeed::deserialize(seed, &mut de).and_then(|v| de.end().map(|()| v));
    match (result, state.problem) {
        (Ok(v), None) => Ok(v),
        (_, Some(p)) => Err(p),
        (Err(_), None) => Err(JsonError::Syntax),
    }
}

/// What one parse shares between its nested seeds.
struct State {
    problem: Option<JsonError>,
    /// Values still allowed.
    remaining: usize,
}

struct StrictSeed<'p> {
    depth: usize,
    state: &'p mut State,
}

impl<'de> de::DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        // Counted before the value is read, so an over-long array or object stops at its first
        // value past the bound.
        if self.state.remaining == 0 {
            return Err(self.fail(JsonError::TooManyValues));
        }
        self.state.remaining -= 1;
        d.deserialize_any(self)
    }
}

impl StrictSeed<'_> {
    fn fail<E: de::Error>(self, problem: JsonError) -> E {
        let msg = alloc::format!("{problem}");
        self.state.problem = Some(problem);
        E::custom(msg)
    }

    fn nested(&mut self) -> StrictSeed<'_> {
        StrictSeed {
            depth: self.depth + 1,
            state: &mut *self.state,
        }
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| self.fail(JsonError::Syntax))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(String::from(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(self.fail(JsonError::TooDeep));
        }
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self.nested())? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut access: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(self.fail(JsonError::TooDeep));
        }
        // One lookup per member, straight into the map that is returned.
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            match map.entry(key) {
                Entry::Occupied(taken) => {
                    return Err(self.fail(JsonError::DuplicateMember(taken.key().clone())))
                }
                Entry::Vacant(slot) => {
                    slot.insert(access.next_value_seed(self.nested())?);
                }
            }
        }
        Ok(Value::Object(map))
    }
}

/// Appends `text` as a JSON string. Text of the characters JWS and OAuth values are made of
/// (base64url, `.`, visible ASCII other than `"` and `\\`) is written as it is, without
/// serde_json's escaping pass (a few hundred bytes per token on the token endpoint's path);
/// anything else goes through serde_json.
pub fn push_string(out: &mut Vec<u8>, text: &str) {
    if text
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Serializing a str cannot fail.
        out.extend_from_slice(&serde_json::to_vec(text).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn push_string_writes_what_serde_json_writes() {
        for text in [
            "",
            "eyJhbGciOiJFUzI1NiJ9.e30.c2ln-_",
            "orders:read orders:write",
            "a\"b",
            "back\\slash",
            "tab\there",
            "\u{7f}del",
            "caf\u{e9}",
            "line\nbreak",
        ] {
            let mut out = Vec::new();
            push_string(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    use super::*;

    #[test]
    fn duplicate_members_are_refused_at_every_depth() {
        assert_eq!(
            parse_object(br#"{"alg":"HS256","alg":"none"}"#),
            Err(JsonError::DuplicateMember("alg".into()))
        );
        assert_eq!(
            parse_object(br#"{"a":{"b":1,"b":2}}"#),
            Err(JsonError::DuplicateMember("b".into()))
        );
        assert_eq!(
            parse_object(br#"{"a":[{"c":1,"c":1}]}"#),
            Err(JsonError::DuplicateMember("c".into()))
        );
        assert!(parse_object(br#"{"a":{"b":1},"b":2}"#).is_ok());
    }

    #[test]
    fn nesting_is_bounded() {
        let mut deep = String::new();
        for _ in 0..MAX_DEPTH + 1 {
            deep.push('[');
        }
        for _ in 0..MAX_DEPTH + 1 {
            deep.push(']');
        }
        let doc = alloc::format!("{{\"a\":{deep}}}");
        assert_eq!(parse_object(doc.as_bytes()), Err(JsonError::TooDeep));
    }

    #[test]
    fn values_are_counted_at_every_depth() {
        // {"a":[1,2]} holds four values: the object, the array and its two items.
        assert!(parse_object_within(br#"{"a":[1,2]}"#, 4).is_ok());
        assert_eq!(
            parse_object_within(br#"{"a":[1,2]}"#, 3),
            Err(JsonError::TooManyValues)
        );
        assert_eq!(
            parse_object_within(br#"{"a":1,"b":{"c":2}}"#, 3),
            Err(JsonError::TooManyValues)
        );
        let mut many = String::from("{\"a\":[");
        for i in 0..limits::MAX_JSON_VALUES {
            if i > 0 {
                many.push(',');
            }
            many.push('0');
        }
        many.push_str("]}");
        assert_eq!(parse_object(many.as_bytes()), Err(JsonError::TooManyValues));
    }

    #[test]
    fn non_objects_and_trailing_garbage_are_refused() {
        assert_eq!(parse_object(b"[1]"), Err(JsonError::NotAnObject));
        assert_eq!(parse_object(b"{} x"), Err(JsonError::Syntax));
        assert_eq!(parse_object(b"{\"a\":\"\\ud800\"}"), Err(JsonError::Syntax));
        assert_eq!(parse_object(b"\xff"), Err(JsonError::Syntax));
    }
}
