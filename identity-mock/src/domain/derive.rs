//! Open mode needs no state: a username always maps to the same tenant id, user id and
//! API key, on every replica and after every restart, because each is a hash of it.

use sha2::{Digest, Sha256};

fn digest(purpose: &str, username: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(purpose.as_bytes());
    h.update([0]);
    h.update(username.as_bytes());
    h.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// A numeric tenant id, like Rackspace's mosso tenants: 7 to 10 digits, never starting
/// with 0 (so clients that read it as a number keep it intact).
pub fn tenant_id(username: &str) -> String {
    let d = digest("tenant", username);
    let n = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    (1_000_000 + n % 8_999_000_000).to_string()
}

/// A 32-hex user id, like Rackspace's.
pub fn user_id(username: &str) -> String {
    hex(&digest("user", username)[..16])
}

/// The API key an open-mode user is shown (any key is accepted anyway).
pub fn api_key(username: &str) -> String {
    hex(&digest("apikey", username)[..16])
}

/// A Keystone role id for a role name: Rackspace's well-known ids, else a stable hash.
pub fn role_id(name: &str) -> String {
    match name {
        "identity:user-admin" => "3".into(),
        "identity:default" => "2".into(),
        "object-store:default" => "5".into(),
        "compute:default" => "6".into(),
        other => hex(&digest("role", other)[..8]),
    }
}

/// A v3 audit id: 22 url-safe characters derived from the token id.
pub fn audit_id(token_id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    digest("audit", token_id)[..22]
        .iter()
        .map(|b| ALPHABET[(*b as usize) % 64] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_always_gets_the_same_tenant_and_user_id() {
        assert_eq!(tenant_id("joe"), tenant_id("joe"));
        assert_eq!(user_id("joe"), user_id("joe"));
        assert_ne!(tenant_id("joe"), tenant_id("jane"));
        assert_ne!(user_id("joe"), user_id("jane"));
    }

    #[test]
    fn derived_ids_look_like_rackspace_ids() {
        for name in ["joe", "", "a very long user name with spaces", "ü"] {
            let t = tenant_id(name);
            assert!(t.len() >= 7 && t.len() <= 10, "{t} has 7-10 digits");
            assert!(t.chars().all(|c| c.is_ascii_digit()), "{t} is numeric");
            assert!(!t.starts_with('0'), "{t} has no leading zero");
            let u = user_id(name);
            assert_eq!(u.len(), 32);
            assert!(u.chars().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(api_key(name).len(), 32);
        }
    }

    #[test]
    fn the_values_are_pinned_so_replicas_and_restarts_agree() {
        // Changing the derivation moves every open-mode user to another tenant: suites
        // that stored a tenant id would break. Change it only on purpose.
        assert_eq!(tenant_id("joe"), "2625513065");
        assert_eq!(user_id("joe"), "0bdc54629784436c27bf7c222ff49f8a");
        assert_eq!(api_key("joe"), "5976bb25f84b54bff31f05310a23402a");
        assert_eq!(tenant_id("otter"), "5968376923");
    }

    #[test]
    fn well_known_roles_keep_rackspace_ids() {
        assert_eq!(role_id("identity:user-admin"), "3");
        assert_eq!(role_id("compute:default"), "6");
        assert_eq!(role_id("custom"), role_id("custom"));
        assert_eq!(audit_id("t").len(), 22);
    }
}
