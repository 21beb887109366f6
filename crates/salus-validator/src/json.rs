//! FHIR JSON parsing. `serde_json` alone accepts what FHIR forbids: a duplicated property keeps
//! the last value silently, which would let `{"gender":"male","gender":"female"}` mean one
//! thing to Salus and another to the client. This parser builds the same `serde_json::Value`
//! (with `preserve_order` and `arbitrary_precision`, so `1.50` stays `1.50`) and refuses
//! duplicate keys with their line and column.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Why a body is not JSON, with a 1-based position for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at line {line}, column {column}: {message}")]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// serde_json's private marker for numbers under `arbitrary_precision`: a number reaches a
/// visitor as a one-entry map with this key and the number's text as value.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Parses a JSON document, refusing duplicate object keys and trailing content. A leading UTF-8
/// byte order mark is skipped (some Windows tools write one).
pub fn parse_json(bytes: &[u8]) -> Result<Value, JsonError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = ValueSeed.deserialize(&mut deserializer).map_err(to_json_error)?;
    deserializer.end().map_err(to_json_error)?;
    Ok(value)
}

fn to_json_error(e: serde_json::Error) -> JsonError {
    let text = e.to_string();
    // serde_json appends " at line L column C"; keep the message without it.
    let message = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    JsonError { line: e.line(), column: e.column(), message }
}

struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
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
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(ValueSeed)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first) = map.next_key::<KeyString>()? else {
            return Ok(Value::Object(Map::new()));
        };
        if first.0 == NUMBER_TOKEN {
            let text: String = map.next_value()?;
            return text.parse::<Number>().map(Value::Number).map_err(de::Error::custom);
        }
        let mut object = Map::new();
        let value = map.next_value_seed(ValueSeed)?;
        object.insert(first.0, value);
        while let Some(KeyString(key)) = map.next_key::<KeyString>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate property \"{key}\"")));
            }
            let value = map.next_value_seed(ValueSeed)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// An object key, borrowed or owned as the input allows.
struct KeyString(String);

impl<'de> de::Deserialize<'de> for KeyString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyString, E> {
                Ok(KeyString(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<KeyString, E> {
                Ok(KeyString(v))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_with_their_position() {
        let err = parse_json(b"{\n  \"a\": 1,\n  \"a\": 2\n}").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("duplicate property \"a\""), "{}", err.message);
    }

    #[test]
    fn nested_duplicates_are_found_too() {
        assert!(parse_json(br#"{"a":[{"b":1,"c":{"d":1,"d":1}}]}"#).is_err());
    }

    #[test]
    fn decimals_keep_their_text() {
        let v = parse_json(br#"{"v":1.50,"w":-0.0,"i":12345678901234567890123}"#).unwrap();
        assert_eq!(v["v"].to_string(), "1.50");
        assert_eq!(v["w"].to_string(), "-0.0");
        assert_eq!(v["i"].to_string(), "12345678901234567890123");
    }

    #[test]
    fn a_leading_byte_order_mark_is_accepted() {
        assert!(parse_json(b"\xEF\xBB\xBF{\"resourceType\":\"Patient\"}").is_ok());
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse_json(b"{\n \"a\": [1, 2}\n}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 12));
        assert!(parse_json(b"{} x").is_err());
        assert!(parse_json(b"").is_err());
    }

    #[test]
    fn key_order_is_preserved() {
        let v = parse_json(br#"{"z":1,"a":2}"#).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["z", "a"]);
    }
}
