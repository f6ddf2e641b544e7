//! Users as the routes see them, and the rules about them that need no store: who a
//! configured entry is, who an open-mode username is, whether credentials prove a user,
//! and which tenant a user may scope a token to.

use crate::configuration::{IdentitySettings, UserEntry, UserMode};
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

    /// A user of `open` mode: the API key derived from the name, the tenant as given
    /// (the one last chosen, or derived), the default roles and region.
    pub fn open(
        name: &str,
        id: String,
        tenant: String,
        roles: Vec<String>,
        default_region: String,
    ) -> User {
        User {
            api_key: Some(derive::api_key(name)),
            id,
            name: name.to_string(),
            password: None,
            tenant_name: tenant.clone(),
            tenant_id: tenant,
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
    /// user may not use it. Open mode honours any tenant; tenant names are tenant ids there.
    pub fn tenant_for(
        &self,
        mode: UserMode,
        requested: Option<&TenantRef>,
    ) -> Option<(String, String)> {
        let own = || (self.tenant_id.clone(), self.tenant_name.clone());
        match (mode, requested) {
            (_, None) => Some(own()),
            (UserMode::Open, Some(t)) => Some((t.as_str().to_string(), t.as_str().to_string())),
            (UserMode::Strict, Some(TenantRef::Id(id))) => (*id == self.tenant_id).then(own),
            (UserMode::Strict, Some(TenantRef::Name(n))) => (*n == self.tenant_name).then(own),
        }
    }
}
