//! Key pairs: names, imported keys, and generated (fake but well-formed) key material.

use serde::{Deserialize, Serialize};

use super::digest;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeypairRecord {
    pub name: String,
    pub public_key: String,
    pub fingerprint: String,
    pub user_id: String,
    pub created_ms: i64,
}

/// Nova's name rules: 1–255 characters of letters, digits, `_`, `-` and space.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 255 {
        return Err("Keypair data is invalid: Keypair name must be string and between 1 and 255 characters long".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ')
    {
        return Err("Keypair data is invalid: Keypair name contains unsafe characters".into());
    }
    Ok(())
}

/// A key pair's `type` (microversion 2.2): absent, `ssh` or `x509`.
pub fn check_type(v: Option<&serde_json::Value>) -> Result<(), String> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(()),
        Some(serde_json::Value::String(t)) if t == "ssh" || t == "x509" => Ok(()),
        Some(other) => Err(format!(
            "Invalid input for field/attribute type. Value: {other}. {other} is not one of ['ssh', 'x509']"
        )),
    }
}

/// The fingerprint of an imported OpenSSH public key (`<type> <base64> [comment]`), as
/// colon-separated hex pairs; `None` when the key does not look like one.
pub fn fingerprint(public_key: &str) -> Option<String> {
    let mut parts = public_key.split_whitespace();
    let kind = parts.next()?;
    let body = parts.next()?;
    let known = kind.starts_with("ssh-") || kind.starts_with("ecdsa-");
    let base64ish = body.len() >= 16
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
    (known && base64ish).then(|| colon_hex(&digest::bytes(body, 16)))
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A freshly generated pair: (public key, private key). Not a usable key, but shaped
/// like one, so clients that store or print it are happy.
pub fn generate() -> (String, String) {
    use rand::RngCore;
    let mut material = vec![0u8; 279];
    rand::thread_rng().fill_bytes(&mut material);
    // An ssh-rsa blob starts with its type string, length-prefixed.
    let mut blob = vec![0, 0, 0, 7];
    blob.extend_from_slice(b"ssh-rsa");
    blob.extend_from_slice(&[0, 0, 0, 3, 1, 0, 1, 0, 0, 1, 1, 0]);
    blob.extend_from_slice(&material[..257]);
    let public = format!("ssh-rsa {} Generated-by-Nova\n", digest::base64(&blob));
    let mut secret = vec![0u8; 1190];
    rand::thread_rng().fill_bytes(&mut secret);
    let body = digest::base64(&secret);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let private = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (public, private)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ssh_and_x509_are_key_types() {
        use serde_json::json;
        assert!(check_type(None).is_ok());
        assert!(check_type(Some(&json!("ssh"))).is_ok());
        assert!(check_type(Some(&json!("x509"))).is_ok());
        assert!(check_type(Some(&json!("rsa"))).is_err());
        assert!(check_type(Some(&json!(1))).is_err());
    }

    #[test]
    fn names_follow_novas_rules() {
        assert!(check_name("my key_1-a").is_ok());
        assert!(check_name("").unwrap_err().contains("between 1 and 255"));
        assert!(check_name("bad/name")
            .unwrap_err()
            .contains("unsafe characters"));
    }

    #[test]
    fn generated_keys_are_shaped_like_ssh_keys_and_fingerprint() {
        let (public, private) = generate();
        assert!(public.starts_with("ssh-rsa AAAAB3NzaC1yc2E"));
        assert!(private.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let fp = fingerprint(&public).expect("generated key has a fingerprint");
        assert_eq!(fp.split(':').count(), 16);
        assert!(fingerprint("not a key").is_none());
    }
}
