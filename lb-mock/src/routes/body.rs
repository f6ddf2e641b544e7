//! Lenient reading of CLB request bodies: JSON nulls count as absent, numbers may come
//! as strings, booleans as `"true"`/`"false"` (pyrax). A value of the wrong JSON type is
//! CLB's schema fault; missing and out-of-range values get CLB's own texts in handlers.

use serde_json::{Map, Value};

use crate::error::LbError;

/// The body as JSON; malformed JSON (or none) is CLB's 400.
pub fn json(body: &[u8]) -> Result<Value, LbError> {
    serde_json::from_slice(body).map_err(|_| LbError::bad_request(crate::BAD_JSON))
}

/// `body[key]` as an object; anything else is the schema fault.
pub fn wrapped<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>, LbError> {
    body.get(key)
        .and_then(Value::as_object)
        .ok_or(LbError::Schema)
}

/// A field, with JSON null as absent.
pub fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub fn string(v: &Value) -> Result<&str, LbError> {
    v.as_str().ok_or(LbError::Schema)
}

/// An integer, or a string holding one.
pub fn int(v: &Value) -> Result<i64, LbError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or(LbError::Schema),
        Value::String(s) => s.trim().parse().map_err(|_| LbError::Schema),
        _ => Err(LbError::Schema),
    }
}

/// A boolean, or `"true"`/`"false"` in any case.
pub fn boolean(v: &Value) -> Result<bool, LbError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(LbError::Schema),
    }
}

/// An optional field parsed with `f`.
pub fn opt<'a, T>(
    obj: &'a Map<String, Value>,
    key: &str,
    f: impl FnOnce(&'a Value) -> Result<T, LbError>,
) -> Result<Option<T>, LbError> {
    field(obj, key).map(f).transpose()
}

/// A list field; a non-list is the schema fault.
pub fn list<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Vec<Value>>, LbError> {
    field(obj, key)
        .map(|v| v.as_array().ok_or(LbError::Schema))
        .transpose()
}

/// `{"enabled": bool}` under `key` (connection logging, content caching).
pub fn enabled_flag(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, LbError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => {
            let inner = v.as_object().ok_or(LbError::Schema)?;
            opt(inner, "enabled", boolean)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pyrax_strings_are_accepted() {
        assert!(boolean(&json!("true")).unwrap());
        assert!(!boolean(&json!("False")).unwrap());
        assert!(boolean(&json!("aaa")).is_err());
        assert_eq!(int(&json!("80")).unwrap(), 80);
        assert_eq!(int(&json!(80.0)).unwrap(), 80);
        assert!(int(&json!(80.5)).is_err());
    }

    #[test]
    fn nulls_are_absent() {
        let o = json!({"a": null, "b": 1});
        let o = o.as_object().unwrap();
        assert!(field(o, "a").is_none());
        assert_eq!(opt(o, "b", int).unwrap(), Some(1));
    }
}
