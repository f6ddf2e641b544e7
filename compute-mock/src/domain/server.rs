//! The stored server record and the rules for what clients may put in one.
//!
//! Records are lean: flavor and image are kept by id, addresses as one sequence number
//! (rendered on read), and no rendered JSON is stored.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::status::Lifecycle;

/// Server metadata: string keys to string values, sorted.
pub type Metadata = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerRecord {
    pub id: uuid::Uuid,
    pub name: String,
    pub user_id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub flavor_id: String,
    pub image_id: String,
    pub key_name: Option<String>,
    pub metadata: Metadata,
    /// The address sequence number, unique per tenant and region.
    pub addr: u64,
    /// `OS-DCF:diskConfig` is AUTO (else MANUAL).
    pub disk_auto: bool,
    pub access_ipv4: Option<String>,
    pub access_ipv6: Option<String>,
    pub life: Lifecycle,
}

/// The addresses of server number `n` of a tenant and region: a private 10.x address,
/// a public address outside every private range, and a public IPv6 address.
pub fn addresses(n: u64) -> (Ipv4Addr, Ipv4Addr, Ipv6Addr) {
    let low = (n & 0x00ff_ffff) as u32;
    let private = Ipv4Addr::from(0x0a00_0000 | low);
    // 104.0.0.0/8 is public address space (Rackspace used 104.130.x.x).
    let public = Ipv4Addr::from(0x6800_0000 | low);
    let v6 = Ipv6Addr::new(
        0x2001,
        0x4800,
        0x780e,
        0x0510,
        ((n >> 48) & 0xffff) as u16,
        ((n >> 32) & 0xffff) as u16,
        ((n >> 16) & 0xffff) as u16,
        (n & 0xffff) as u16,
    );
    (private, public, v6)
}

/// `OS-DCF:diskConfig`: AUTO or MANUAL; anything else is Nova's 400.
pub fn parse_disk_config(v: &Value) -> Result<Option<bool>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s == "AUTO" => Ok(Some(true)),
        Value::String(s) if s == "MANUAL" => Ok(Some(false)),
        _ => Err("OS-DCF:diskConfig must be either 'MANUAL' or 'AUTO'.".into()),
    }
}

/// A server name: a string, 1–255 characters after trimming.
pub fn parse_name(v: Option<&Value>) -> Result<String, String> {
    let v = match v {
        None | Some(Value::Null) => return Err("Server name is not defined".into()),
        Some(v) => v,
    };
    let s = v
        .as_str()
        .ok_or_else(|| "Server name is not a string or unicode".to_string())?;
    if s.trim().is_empty() {
        return Err("Server name has a minimum character requirement of 1.".into());
    }
    if s.chars().count() > 255 {
        return Err("Server name has more than 255 characters.".into());
    }
    check_printable("name", s)?;
    Ok(s.to_string())
}

/// Nova's name rule: at most 255 printable characters (no control or
/// bidirectional-formatting ones), no leading or trailing white space. The text starts as Nova's validation errors
/// do; the rest is ours (ARCHITECTURE.md).
pub fn check_printable(field: &str, s: &str) -> Result<(), String> {
    let why = if s.chars().count() > 255 {
        return Err(format!(
            "Invalid input for field/attribute {field}. The value is longer than 255 characters."
        ));
    } else if common::has_control_characters(s) {
        "The value contains control characters."
    } else if s.trim() != s {
        "The value has leading or trailing white space."
    } else {
        return Ok(());
    };
    Err(format!(
        "Invalid input for field/attribute {field}. Value: {}. {why}",
        s.escape_debug()
    ))
}

/// The id part of an `imageRef`/`flavorRef`, which may be a full href.
pub fn id_from_href(r: &str) -> &str {
    r.trim_end_matches('/').rsplit('/').next().unwrap_or(r)
}

/// Why a metadata body was refused, mapped to Nova's codes by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataError {
    /// 400.
    Invalid(String),
    /// 413 overLimit.
    TooLong(String),
}

/// Validates metadata items as Nova's `_check_metadata_properties_quota` does (count
/// excepted: the caller knows the resulting set).
pub fn parse_metadata(v: &Value) -> Result<Metadata, MetadataError> {
    let obj = match v {
        Value::Null => return Ok(Metadata::new()),
        Value::Object(o) => o,
        _ => {
            return Err(MetadataError::Invalid(
                "Invalid metadata: Metadata type should be dict.".into(),
            ))
        }
    };
    let mut out = Metadata::new();
    for (k, v) in obj {
        let Some(value) = v.as_str() else {
            return Err(MetadataError::Invalid(
                "Invalid metadata: The input is not a string or unicode".into(),
            ));
        };
        check_item(k, value)?;
        out.insert(k.clone(), value.to_string());
    }
    Ok(out)
}

/// One metadata key and value: key not empty, both at most 255 characters, the key of
/// Nova's characters (`^[a-zA-Z0-9-_:. ]{1,255}$`).
pub fn check_item(key: &str, value: &str) -> Result<(), MetadataError> {
    if key.is_empty() {
        return Err(MetadataError::Invalid(
            "Invalid metadata:  has a minimum character requirement of 1.".into(),
        ));
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | ' '))
    {
        return Err(MetadataError::Invalid(format!(
            "Invalid input for field/attribute metadata. Additional properties are not allowed ('{}' was unexpected)",
            key.escape_debug()
        )));
    }
    if key.chars().count() > 255 {
        return Err(MetadataError::TooLong(
            "Invalid metadata size: Metadata property key greater than 255 characters".into(),
        ));
    }
    if value.chars().count() > 255 {
        return Err(MetadataError::TooLong(
            "Invalid metadata size: Metadata property value greater than 255 characters".into(),
        ));
    }
    Ok(())
}

/// Nova's 403 text when a server would hold more than `limit` items.
pub fn metadata_limit_message(limit: usize) -> String {
    format!("Maximum number of metadata items exceeds {limit}")
}

/// A random password of 12 letters and digits, as Nova generates.
pub fn generate_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn addresses_are_distinct_and_the_public_one_is_not_private() {
        let (p1, pub1, v61) = addresses(1);
        let (p2, pub2, v62) = addresses(2);
        assert_ne!(p1, p2);
        assert_ne!(pub1, pub2);
        assert_ne!(v61, v62);
        assert_eq!(p1.octets()[0], 10);
        assert!(!pub1.is_private() && !pub1.is_loopback() && !pub1.is_link_local());
        assert!(p1.is_private());
    }

    #[test]
    fn names_are_checked_like_nova() {
        assert_eq!(parse_name(None).unwrap_err(), "Server name is not defined");
        assert_eq!(
            parse_name(Some(&json!(5))).unwrap_err(),
            "Server name is not a string or unicode"
        );
        assert_eq!(
            parse_name(Some(&json!("  "))).unwrap_err(),
            "Server name has a minimum character requirement of 1."
        );
        assert_eq!(
            parse_name(Some(&json!("x".repeat(256)))).unwrap_err(),
            "Server name has more than 255 characters."
        );
        assert_eq!(parse_name(Some(&json!("web-1"))).unwrap(), "web-1");
        for bad in [
            "a\u{0}b",
            "bell\u{7}",
            "esc\u{1b}[1m",
            "new\nline",
            "rlo\u{202e}x",
            " lead",
            "trail ",
        ] {
            assert!(
                parse_name(Some(&json!(bad)))
                    .unwrap_err()
                    .starts_with("Invalid input for field/attribute name."),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn metadata_must_be_a_map_of_strings() {
        assert!(matches!(
            parse_metadata(&json!([])),
            Err(MetadataError::Invalid(m)) if m.contains("should be dict")
        ));
        assert!(matches!(
            parse_metadata(&json!({"a": 1})),
            Err(MetadataError::Invalid(m)) if m.contains("not a string")
        ));
        assert!(matches!(
            parse_metadata(&json!({"a": "x".repeat(256)})),
            Err(MetadataError::TooLong(_))
        ));
        assert_eq!(parse_metadata(&json!({"a": "b"})).unwrap().len(), 1);
        assert!(parse_metadata(&Value::Null).unwrap().is_empty());
    }

    #[test]
    fn hrefs_reduce_to_their_last_segment() {
        assert_eq!(id_from_href("http://h/v2/t/flavors/2"), "2");
        assert_eq!(id_from_href("2"), "2");
    }

    #[test]
    fn disk_config_accepts_only_auto_and_manual() {
        assert_eq!(parse_disk_config(&json!("AUTO")), Ok(Some(true)));
        assert_eq!(parse_disk_config(&json!("MANUAL")), Ok(Some(false)));
        assert!(parse_disk_config(&json!("auto")).is_err());
    }
}
