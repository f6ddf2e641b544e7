//! Tokens that carry their own truth: signed claims any mock can verify locally.
//!
//! A token is `uu1.<base64url(claims json)>.<base64url(hmac-sha256)>`. Identity issues
//! them; every mock verifies them with the shared key, without a round trip. Verification
//! is constant-time (the MAC comparison goes through `hmac`'s `verify_slice`). Expiry and
//! revocation are checked by the caller against the virtual clock and the store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const PREFIX: &str = "uu1";

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Token id: what revocation names.
    #[serde(rename = "jti")]
    pub id: String,
    #[serde(rename = "tid")]
    pub tenant_id: String,
    #[serde(rename = "tnm")]
    pub tenant_name: String,
    #[serde(rename = "uid")]
    pub user_id: String,
    #[serde(rename = "unm")]
    pub user_name: String,
    #[serde(rename = "rol", default)]
    pub roles: Vec<String>,
    /// How the bearer authenticated (`PASSWORD`, `APIKEY`, `TOKEN`, `IMPERSONATE`).
    #[serde(rename = "amr", default)]
    pub methods: Vec<String>,
    /// Issued at, unix seconds (virtual clock).
    pub iat: i64,
    /// Expires at, unix seconds (virtual clock).
    pub exp: i64,
    /// Whether `exp` is ignored. Identity decides when it issues the token (its
    /// `identity.token_expiry`), so every mock that checks the token agrees: Mimic's
    /// tokens never expire, a strict Identity's expire on the virtual clock. A token
    /// that does not say so expires.
    #[serde(rename = "nxp", default, skip_serializing_if = "std::ops::Not::not")]
    pub never_expires: bool,
    /// The user who impersonates the bearer, if any: (id, name).
    #[serde(rename = "imp", default, skip_serializing_if = "Option::is_none")]
    pub impersonator: Option<(String, String)>,
}

impl Claims {
    /// A token this stack signs for its own calls on `tenant`'s behalf (the console asking
    /// Compute, a seed's requests): `user` says who asks; it expires `ttl_s` after `now`
    /// (unix seconds), or never.
    pub fn on_behalf_of(tenant: &str, user: &str, now: i64, ttl_s: Option<i64>) -> Claims {
        Claims {
            id: uuid::Uuid::new_v4().simple().to_string(),
            tenant_id: tenant.to_string(),
            tenant_name: tenant.to_string(),
            user_id: format!("{user}-{tenant}"),
            user_name: user.to_string(),
            roles: Vec::new(),
            methods: vec!["TOKEN".to_string()],
            iat: now,
            exp: now.saturating_add(ttl_s.unwrap_or(86_400)),
            never_expires: ttl_s.is_none(),
            impersonator: None,
        }
    }

    pub fn issued_at(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.iat, 0).single().unwrap_or_default()
    }

    pub fn expires_at(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.exp, 0).single().unwrap_or_default()
    }

    /// Whether the token has expired at `now`; never, for a token that does not expire.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        !self.never_expires && now.timestamp() >= self.exp
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is not an understudy token")]
    Malformed,
    #[error("token signature does not match")]
    BadSignature,
}

/// Signs and verifies tokens with one key.
#[derive(Clone)]
pub struct TokenCodec {
    key: Hmac<Sha256>,
}

impl TokenCodec {
    pub fn new(key: &str) -> TokenCodec {
        // HMAC takes keys of any length, so this cannot fail.
        let key =
            Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap_or_else(|_| unreachable_key());
        TokenCodec { key }
    }

    pub fn issue(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let body = format!("{PREFIX}.{}", URL_SAFE_NO_PAD.encode(payload));
        let mut mac = self.key.clone();
        mac.update(body.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{body}.{sig}")
    }

    /// The claims of a token whose signature is good; expiry is not checked here.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let (body, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let payload = body
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_prefix('.'))
            .ok_or(TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.key.clone();
        mac.update(body.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)
    }
}

fn unreachable_key() -> Hmac<Sha256> {
    // `new_from_slice` only fails for fixed-size-key MACs; HMAC accepts any length.
    panic!("hmac rejected a key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            id: "abc".into(),
            tenant_id: "123456".into(),
            tenant_name: "123456".into(),
            user_id: "u1".into(),
            user_name: "joe".into(),
            roles: vec!["identity:user-admin".into()],
            methods: vec!["PASSWORD".into()],
            iat: 1_000,
            exp: 2_000,
            never_expires: false,
            impersonator: None,
        }
    }

    #[test]
    fn a_token_round_trips() {
        let codec = TokenCodec::new("k");
        let token = codec.issue(&claims());
        assert_eq!(codec.verify(&token), Ok(claims()));
    }

    #[test]
    fn another_key_is_refused() {
        let token = TokenCodec::new("k").issue(&claims());
        assert_eq!(
            TokenCodec::new("other").verify(&token),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let codec = TokenCodec::new("k");
        let token = codec.issue(&claims());
        let mut forged = claims();
        forged.tenant_id = "999999".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let sig = token.rsplit('.').next().unwrap();
        let tampered = format!("uu1.{forged_payload}.{sig}");
        assert_eq!(codec.verify(&tampered), Err(TokenError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let codec = TokenCodec::new("k");
        for bad in [
            "",
            ".",
            "uu1..",
            "token_123",
            "uu1.%%%.%%%",
            "a.b.c.d",
            "uu1.e30.AAAA",
        ] {
            assert!(codec.verify(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn expiry_is_inclusive_of_the_expiry_second() {
        let c = claims();
        assert!(!c.is_expired(Utc.timestamp_opt(1_999, 0).unwrap()));
        assert!(c.is_expired(Utc.timestamp_opt(2_000, 0).unwrap()));
    }
}
