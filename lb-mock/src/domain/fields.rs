//! Lenient reading of CLB request bodies: JSON nulls count as absent, numbers may come
//! as strings, booleans as `"true"`/`"false"` (pyrax). A value of the wrong JSON type is
//! CLB's schema fault; missing and out-of-range values get CLB's own texts in the rules.

use serde_json::{Map, Value};

use super::rejection::Rejection;

/// `body[key]` as an object; anything else is the schema fault.
pub fn wrapped<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>, Rejection> {
    body.get(key)
        .and_then(Value::as_object)
        .ok_or(Rejection::Schema)
}

/// `body[key]` as a list; anything else is the schema fault.
pub fn wrapped_list<'a>(body: &'a Value, key: &str) -> Result<&'a Vec<Value>, Rejection> {
    body.get(key)
        .and_then(Value::as_array)
        .ok_or(Rejection::Schema)
}

/// A field, with JSON null as absent.
pub fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub fn string(v: &Value) -> Result<&str, Rejection> {
    v.as_str().ok_or(Rejection::Schema)
}

/// An integer, or a string holding one.
pub fn int(v: &Value) -> Result<i64, Rejection> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or(Rejection::Schema),
        Value::String(s) => s.trim().parse().map_err(|_| Rejection::Schema),
        _ => Err(Rejection::Schema),
    }
}

/// A boolean, or `"true"`/`"false"` in any case.
pub fn boolean(v: &Value) -> Result<bool, Rejection> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Rejection::Schema),
    }
}

/// An optional field parsed with `f`.
pub fn opt<'a, T>(
    obj: &'a Map<String, Value>,
    key: &str,
    f: impl FnOnce(&'a Value) -> Result<T, Rejection>,
) -> Result<Option<T>, Rejection> {
    field(obj, key).map(f).transpose()
}

/// A list field; a non-list is the schema fault.
pub fn list<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Vec<Value>>, Rejection> {
    field(obj, key)
        .map(|v| v.as_array().ok_or(Rejection::Schema))
        .transpose()
}

/// `{"enabled": bool}` under `key` (connection logging, content caching).
pub fn enabled_flag(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, Rejection> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => {
            let inner = v.as_object().ok_or(Rejection::Schema)?;
            opt(inner, "enabled", boolean)
        }
    }
}

/// The `enabled` of a `{key: {"enabled": bool}}` body; `missing` when it is not given.
pub fn required_enabled(body: &Value, key: &str, missing: &str) -> Result<bool, Rejection> {
    let obj = wrapped(body, key)?;
    opt(obj, "enabled", boolean)?.ok_or_else(|| Rejection::validation_one(missing))
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
