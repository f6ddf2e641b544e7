//! Users as the routes see them, and the rules about them that need no store: who a
//! configured entry is, who an open-mode username is, whether credentials prove a user,
//! and which tenant a user may scope a token to.

use crate::configuration::{IdentitySettings, UserEntry};
use crate::domain::credentials::TenantRef;
use crate::domain::derive;

/// A user as the routes see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub password: Option<String>,
    pub api_key: Option<String>,
    pub tenant_id: String,
    pub tenant_name: String,
    /// Whether the user's tenant is settled: a configured user's always, an open-mode
    /// user's once the user was seen (a token issued to it, or it was looked up). A
    /// settled user asking for another tenant is refused (Rackspace's 401; Mimic's too,
    /// since its issue #146).
    pub tenant_settled: bool,
    pub roles: Vec<String>,
    pub default_region: String,
}

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    WrongPassword,
    WrongApiKey,
}

impl User {
    /// A user of `strict` mode, as its entry describes it (ids derived from the username
    /// where the entry names none, roles and region from the defaults).
    pub fn configured(u: &UserEntry, settings: &IdentitySettings) -> User {
        let tenant_id = u
            .tenant_id
            .clone()
            .unwrap_or_else(|| derive::tenant_id(&u.username));
        User {
            id: u
                .user_id
                .clone()
                .unwrap_or_else(|| derive::user_id(&u.username)),
            name: u.username.clone(),
            password: u.password.clone(),
            api_key: u.api_key.clone(),
            tenant_name: u.tenant_name.clone().unwrap_or_else(|| tenant_id.clone()),
            tenant_id,
            tenant_settled: true,
            roles: u
                .roles
                .clone()
                .unwrap_or_else(|| settings.default_roles.clone()),
            default_region: u
                .default_region
                .clone()
                .unwrap_or_else(|| settings.default_region.clone()),
        }
    }

    /// A user of `open` mode: the API key derived from the name, the tenant it was seen
    /// with (settled) or else derived from the name (not yet: the first token may name
    /// another), the default roles and region.
    pub fn open(
        name: &str,
        id: String,
        seen: Option<String>,
        roles: Vec<String>,
        default_region: String,
    ) -> User {
        let tenant_settled = seen.is_some();
        let tenant = seen.unwrap_or_else(|| derive::tenant_id(name));
        User {
            api_key: Some(derive::api_key(name)),
            id,
            name: name.to_string(),
            password: None,
            tenant_name: tenant.clone(),
            tenant_id: tenant,
            tenant_settled,
            roles,
            default_region,
        }
    }

    /// Whether this (configured) user's password is `password`.
    pub fn has_password(&self, password: &str) -> bool {
        self.password.as_deref() == Some(password)
    }

    /// Whether this (configured) user's API key is `api_key`.
    pub fn has_api_key(&self, api_key: &str) -> bool {
        self.api_key.as_deref() == Some(api_key)
    }

    /// The tenant (id, name) this user gets for a requested tenant, or `None` when the
    /// user may not use it: a user whose tenant is not settled yet (open mode, never seen)
    /// gets any tenant asked for (tenant names are tenant ids there); a settled one only
    /// its own.
    pub fn tenant_for(&self, requested: Option<&TenantRef>) -> Option<(String, String)> {
        let own = || (self.tenant_id.clone(), self.tenant_name.clone());
        match requested {
            None => Some(own()),
            Some(t) if !self.tenant_settled => {
                Some((t.as_str().to_string(), t.as_str().to_string()))
            }
            Some(TenantRef::Id(id)) => (*id == self.tenant_id).then(own),
            Some(TenantRef::Name(n)) => (*n == self.tenant_name).then(own),
        }
    }
}
