//! Who is calling: token validation in three modes, and the [`Caller`] it gives.
//!
//! - `signed` (default): the token's HMAC is checked with the shared key, then its expiry
//!   against the virtual clock and its id against the store's revocations. No round trip.
//! - `remote`: the token is sent to an Identity (this project's or a real Keystone, v2 or
//!   v3) and the answer is cached for `cache_ttl_ms`; until then, a cached answer keeps
//!   working while that Identity is away.
//! - `open`: any token, or none, is accepted and the tenant is taken from the URL, as
//!   Mimic does.
//!
//! The settings (`[auth]`) are in [`crate::settings`]. Handlers take a [`Caller`] from a
//! request through its extractor, in [`crate::caller`]: it reads the service context,
//! which holds this [`Authenticator`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::clock::parse_timestamp;
use crate::settings::{identity_base, AuthMode, AuthSettings, IdentityVersion, RemoteSettings};
use crate::store::{Scope, Store, Table};
use crate::token::{Claims, TokenCodec};

/// The text real Rackspace services answer with a 401.
pub const UNAUTHORIZED_MESSAGE: &str =
    "No valid token provided. Please use the 'X-Auth-Token' header with a valid token.";

/// The authenticated caller of an emulated route.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub tenant_id: String,
    pub user_id: String,
    pub user_name: String,
    pub roles: Vec<String>,
    /// The raw token, when one was sent.
    pub token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("no token")]
    Missing,
    #[error("token is invalid")]
    Invalid,
    #[error("token has expired")]
    Expired,
    #[error("token was revoked")]
    Revoked,
    #[error("identity is unreachable: {0}")]
    Unreachable(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revocation {
    pub expires_at: i64,
}

/// Validates tokens the way settings say.
#[derive(Clone)]
pub struct Authenticator {
    mode: AuthMode,
    codec: TokenCodec,
    store: Store,
    revoked: Table<Revocation>,
    remote: Option<Arc<RemoteValidator>>,
    /// Tokens whose signature was already checked. Checking one (HMAC, base64, claims
    /// JSON) costs more than everything else in validation, and a client sends the same
    /// token again and again. Expiry and revocation are still checked every time.
    verified: Arc<Mutex<crate::FastMap<String, Arc<Claims>>>>,
}

/// How many verified tokens are remembered before the memory starts over.
const VERIFIED_TOKENS: usize = 10_000;

impl Authenticator {
    pub fn new(settings: &AuthSettings, store: Store) -> Authenticator {
        let remote = (settings.mode == AuthMode::Remote)
            .then(|| Arc::new(RemoteValidator::new(&settings.remote)));
        Authenticator {
            mode: settings.mode,
            codec: TokenCodec::new(&settings.signing_key),
            revoked: store.table("revoked_tokens"),
            store,
            remote,
            verified: Arc::new(Mutex::new(crate::FastMap::default())),
        }
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    pub fn codec(&self) -> &TokenCodec {
        &self.codec
    }

    /// Checks a token issued by this stack: signature, expiry, revocation. Identity uses
    /// this for its own validation routes whatever the mode.
    pub async fn verify_local(&self, token: &str) -> Result<Claims, AuthFailure> {
        self.verify_shared(token).await.map(|c| (*c).clone())
    }

    /// [`Authenticator::verify_local`] without copying the claims.
    async fn verify_shared(&self, token: &str) -> Result<Arc<Claims>, AuthFailure> {
        let claims = self.signed_claims(token)?;
        if claims.is_expired(self.store.clock().now()) {
            return Err(AuthFailure::Expired);
        }
        if self
            .revoked
            .get_map(&Scope::global(), &claims.id, |_, _| ())
            .await
            .map_err(|e| AuthFailure::Unreachable(e.to_string()))?
            .is_some()
        {
            return Err(AuthFailure::Revoked);
        }
        Ok(claims)
    }

    fn signed_claims(&self, token: &str) -> Result<Arc<Claims>, AuthFailure> {
        if let Some(c) = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
        {
            return Ok(c.clone());
        }
        let claims = Arc::new(self.codec.verify(token).map_err(|_| AuthFailure::Invalid)?);
        crate::remember(
            &mut self.verified.lock().unwrap_or_else(|e| e.into_inner()),
            VERIFIED_TOKENS,
            token.to_string(),
            claims.clone(),
        );
        Ok(claims)
    }

    /// Marks a token as revoked until it would have expired anyway.
    pub async fn revoke(&self, claims: &Claims) -> Result<(), crate::store::StoreError> {
        self.add_revocation(&claims.id, claims.exp).await
    }

    /// Marks the token with id `id` as revoked: what Identity tells the other mocks.
    pub async fn add_revocation(
        &self,
        id: &str,
        expires_at: i64,
    ) -> Result<(), crate::store::StoreError> {
        self.revoked
            .put(&Scope::global(), id, Revocation { expires_at })
            .await
    }

    /// Validates a token according to the mode. In `open` mode a token that is not ours
    /// gives a caller with only the tenant from the URL.
    pub async fn validate(
        &self,
        token: Option<&str>,
        url_tenant: Option<&str>,
    ) -> Result<Caller, AuthFailure> {
        match self.mode {
            AuthMode::Open => {
                let from_token = match token {
                    Some(t) => self.verify_shared(t).await.ok(),
                    None => None,
                };
                Ok(match from_token {
                    Some(c) => Caller {
                        tenant_id: url_tenant.unwrap_or(&c.tenant_id).to_string(),
                        user_id: c.user_id.clone(),
                        user_name: c.user_name.clone(),
                        roles: c.roles.clone(),
                        token: token.map(str::to_string),
                    },
                    None => Caller {
                        tenant_id: url_tenant.unwrap_or_default().to_string(),
                        user_id: String::new(),
                        user_name: String::new(),
                        roles: Vec::new(),
                        token: token.map(str::to_string),
                    },
                })
            }
            AuthMode::Signed => {
                let token = token.ok_or(AuthFailure::Missing)?;
                let c = self.verify_shared(token).await?;
                Ok(caller_from_claims(&c, token))
            }
            AuthMode::Remote => {
                let token = token.ok_or(AuthFailure::Missing)?;
                match &self.remote {
                    Some(r) => r.validate(token).await,
                    None => Err(AuthFailure::Invalid),
                }
            }
        }
    }
}

fn caller_from_claims(c: &Claims, token: &str) -> Caller {
    Caller {
        tenant_id: c.tenant_id.clone(),
        user_id: c.user_id.clone(),
        user_name: c.user_name.clone(),
        roles: c.roles.clone(),
        token: Some(token.to_string()),
    }
}

/// Asks a remote Identity about tokens and remembers its answers.
pub struct RemoteValidator {
    settings: RemoteSettings,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, (Instant, Caller)>>,
    admin_token: Mutex<Option<String>>,
}

impl RemoteValidator {
    pub fn new(settings: &RemoteSettings) -> RemoteValidator {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms.max(1)))
            .build()
            .unwrap_or_default();
        RemoteValidator {
            settings: settings.clone(),
            http,
            cache: Mutex::new(HashMap::new()),
            admin_token: Mutex::new(
                (!settings.admin_token.is_empty()).then(|| settings.admin_token.clone()),
            ),
        }
    }

    fn base(&self) -> &str {
        identity_base(&self.settings.url)
    }

    pub async fn validate(&self, token: &str) -> Result<Caller, AuthFailure> {
        let ttl = Duration::from_millis(self.settings.cache_ttl_ms);
        if let Some((at, caller)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
        {
            if at.elapsed() < ttl {
                return Ok(caller);
            }
        }
        let caller = self.ask(token).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (at, _)| at.elapsed() < ttl);
        cache.insert(token.to_string(), (Instant::now(), caller.clone()));
        Ok(caller)
    }

    async fn ask(&self, token: &str) -> Result<Caller, AuthFailure> {
        let admin = self
            .admin_token()
            .await?
            .unwrap_or_else(|| token.to_string());
        let unreachable = |e: reqwest::Error| AuthFailure::Unreachable(e.to_string());
        let res = if self.settings.version == IdentityVersion::V3 {
            self.http
                .get(format!("{}/v3/auth/tokens", self.base()))
                .header("X-Auth-Token", admin)
                .header("X-Subject-Token", token)
                .send()
                .await
                .map_err(unreachable)?
        } else {
            self.http
                .get(format!("{}/v2.0/tokens/{token}", self.base()))
                .header("X-Auth-Token", admin)
                .send()
                .await
                .map_err(unreachable)?
        };
        if res.status().as_u16() == 401 {
            // Our admin token may have expired: get a fresh one next time.
            if !self.settings.username.is_empty() {
                *self.admin_token.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            return Err(AuthFailure::Invalid);
        }
        if !res.status().is_success() {
            return Err(if res.status().is_server_error() {
                AuthFailure::Unreachable(format!("identity answered {}", res.status()))
            } else {
                AuthFailure::Invalid
            });
        }
        let body: serde_json::Value = res.json().await.map_err(unreachable)?;
        let caller = if self.settings.version == IdentityVersion::V3 {
            caller_from_v3(&body, token)
        } else {
            caller_from_v2(&body, token)
        }
        .ok_or(AuthFailure::Invalid)?;
        Ok(caller)
    }

    async fn admin_token(&self) -> Result<Option<String>, AuthFailure> {
        if let Some(t) = self
            .admin_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(Some(t));
        }
        if self.settings.username.is_empty() {
            return Ok(None);
        }
        let unreachable = |e: reqwest::Error| AuthFailure::Unreachable(e.to_string());
        let token = if self.settings.version == IdentityVersion::V3 {
            let res = self
                .http
                .post(format!("{}/v3/auth/tokens", self.base()))
                .json(
                    &serde_json::json!({"auth": {"identity": {"methods": ["password"],
                    "password": {"user": {"name": self.settings.username,
                        "domain": {"id": "default"}, "password": self.settings.password}}}}}),
                )
                .send()
                .await
                .map_err(unreachable)?;
            res.headers()
                .get("x-subject-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        } else {
            let res = self
                .http
                .post(format!("{}/v2.0/tokens", self.base()))
                .json(&serde_json::json!({"auth": {"passwordCredentials": {
                    "username": self.settings.username, "password": self.settings.password}}}))
                .send()
                .await
                .map_err(unreachable)?;
            let body: serde_json::Value = res.json().await.map_err(unreachable)?;
            body.pointer("/access/token/id")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let token = token.ok_or_else(|| {
            AuthFailure::Unreachable("identity refused the validator's own credentials".into())
        })?;
        *self.admin_token.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        Ok(Some(token))
    }
}

fn not_expired(expires: Option<&str>) -> bool {
    expires
        .and_then(parse_timestamp)
        .is_none_or(|t| t > Utc::now())
}

fn caller_from_v2(body: &serde_json::Value, token: &str) -> Option<Caller> {
    let access = body.get("access")?;
    let t = access.get("token")?;
    if !not_expired(t.get("expires").and_then(|v| v.as_str())) {
        return None;
    }
    let user = access.get("user")?;
    Some(Caller {
        tenant_id: t.pointer("/tenant/id")?.as_str()?.to_string(),
        user_id: user
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        user_name: user
            .get("name")
            .or_else(|| user.get("username"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        roles: role_names(user.get("roles")),
        token: Some(token.to_string()),
    })
}

fn caller_from_v3(body: &serde_json::Value, token: &str) -> Option<Caller> {
    let t = body.get("token")?;
    if !not_expired(t.get("expires_at").and_then(|v| v.as_str())) {
        return None;
    }
    Some(Caller {
        tenant_id: t.pointer("/project/id")?.as_str()?.to_string(),
        user_id: t
            .pointer("/user/id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        user_name: t
            .pointer("/user/name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        roles: role_names(t.get("roles")),
        token: Some(token.to_string()),
    })
}

fn role_names(roles: Option<&serde_json::Value>) -> Vec<String> {
    roles
        .and_then(|r| r.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        AuthSettings {
            mode: AuthMode::Signed,
            signing_key: "k".into(),
            token_ttl_s: 60,
            remote: RemoteSettings {
                url: String::new(),
                version: IdentityVersion::V2,
                admin_token: String::new(),
                username: String::new(),
                password: String::new(),
                cache_ttl_ms: 0,
                timeout_ms: 1,
            },
        }
    }

    fn claims(now: i64) -> Claims {
        Claims {
            id: "t1".into(),
            tenant_id: "123".into(),
            tenant_name: "123".into(),
            user_id: "u".into(),
            user_name: "joe".into(),
            roles: vec![],
            methods: vec![],
            iat: now,
            exp: now + 60,
            never_expires: false,
            impersonator: None,
        }
    }

    #[tokio::test]
    async fn a_remembered_signature_still_expires_and_can_be_revoked() {
        let store = Store::memory();
        let auth = Authenticator::new(&settings(), store.clone());
        let c = claims(store.clock().now().timestamp());
        let token = auth.codec().issue(&c);
        assert_eq!(auth.verify_local(&token).await, Ok(c.clone()));
        assert_eq!(
            auth.verify_local(&token).await,
            Ok(c.clone()),
            "second time from memory"
        );
        let last = if token.ends_with('A') { "B" } else { "A" };
        let forged = format!("{}{last}", &token[..token.len() - 1]);
        assert_eq!(auth.verify_local(&forged).await, Err(AuthFailure::Invalid));
        store.clock().advance(61.0).unwrap();
        assert_eq!(auth.verify_local(&token).await, Err(AuthFailure::Expired));
        store.clock().advance(-61.0).unwrap();
        auth.revoke(&c).await.unwrap();
        assert_eq!(auth.verify_local(&token).await, Err(AuthFailure::Revoked));
    }
}
