//! Strict JSON for untrusted input.
//!
//! RFC 7515 §5.2 and RFC 7519 §7.2 let a parser either reject duplicate member names or use the
//! last one; RFC 8725 §3.x asks for the strict choice because two parsers that disagree about a
//! duplicate are an attack (one checks `"alg"`, the other uses it). Every JSON object parsed
//! from the wire here is parsed with duplicates rejected at every depth, and nesting is bounded.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

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
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax => f.write_str("malformed JSON"),
            JsonError::DuplicateMember(name) => write!(f, "duplicate member \"{name}\""),
            JsonError::TooDeep => f.write_str("JSON nested too deeply"),
            JsonError::NotAnObject => f.write_str("JSON value is not an object"),
        }
    }
}

/// Parses a JSON object, refusing duplicate member names at any depth and deep nesting.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonError> {
    match parse_value(bytes)? {
        Value::Object(map) => Ok(map),
        _ => Err(JsonError::NotAnObject),
    }
}

/// Parses any JSON value with the same rules as [`parse_object`].
pub fn parse_value(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut problem = None;
    let seed = StrictSeed {
        depth: 0,
        problem: &mut problem,
    };
    let result = de::DeserializeSeed::deserialize(seed, &mut de).and_then(|v| de.end().map(|()| v));
    match (result, problem) {
        (Ok(v), None) => Ok(v),
        (_, Some(p)) => Err(p),
        (Err(_), None) => Err(JsonError::Syntax),
    }
}

struct StrictSeed<'p> {
    depth: usize,
    problem: &'p mut Option<JsonError>,
}

impl<'de> de::DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl StrictSeed<'_> {
    fn fail<E: de::Error>(self, problem: JsonError) -> E {
        let msg = alloc::format!("{problem}");
        *self.problem = Some(problem);
        E::custom(msg)
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
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(self.fail(JsonError::TooDeep));
        }
        let mut items = Vec::new();
        loop {
            let seed = StrictSeed {
                depth: self.depth + 1,
                problem: &mut *self.problem,
            };
            match seq.next_element_seed(seed)? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(self.fail(JsonError::TooDeep));
        }
        let mut map: BTreeMap<String, Value> = BTreeMap::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(self.fail(JsonError::DuplicateMember(key)));
            }
            let seed = StrictSeed {
                depth: self.depth + 1,
                problem: &mut *self.problem,
            };
            let value = access.next_value_seed(seed)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map.into_iter().collect()))
    }
}

/// A value that deserializes through the strict parser; use it inside serde structs that
/// hold untrusted nested JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct StrictValue(pub Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut problem = None;
        let seed = StrictSeed {
            depth: 0,
            problem: &mut problem,
        };
        de::DeserializeSeed::deserialize(seed, d).map(StrictValue)
    }
}

#[cfg(test)]
mod tests {
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
    fn non_objects_and_trailing_garbage_are_refused() {
        assert_eq!(parse_object(b"[1]"), Err(JsonError::NotAnObject));
        assert_eq!(parse_object(b"{} x"), Err(JsonError::Syntax));
        assert_eq!(parse_object(b"{\"a\":\"\\ud800\"}"), Err(JsonError::Syntax));
        assert_eq!(parse_object(b"\xff"), Err(JsonError::Syntax));
    }
}
