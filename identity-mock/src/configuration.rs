//! Settings of identity-mock: common's sections plus `[identity]` (user mode and users).

use serde::{Deserialize, Serialize};

use common::settings::{BaseSettings, SettingsError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    #[serde(flatten)]
    pub base: BaseSettings,
    pub identity: IdentitySettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    pub user_mode: UserMode,
    /// `RAX-AUTH:defaultRegion` of users whose entry names none.
    pub default_region: String,
    /// Roles of open-mode users, and of strict users that list none.
    pub default_roles: Vec<String>,
    /// The users of `strict` mode (ignored in `open` mode).
    #[serde(default)]
    pub users: Vec<UserEntry>,
    /// Whether issued tokens expire (after `auth.token_ttl_s` of virtual time).
    #[serde(default)]
    pub token_expiry: TokenExpiry,
}

/// Whether the tokens Identity issues expire on the virtual clock.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TokenExpiry {
    /// `virtual` in `strict` user mode, `never` in `open` mode.
    #[default]
    Auto,
    /// After `auth.token_ttl_s` of virtual time: a long tick expires them.
    Virtual,
    /// Never, as Mimic's tokens: a suite that ticks a day keeps its token.
    Never,
}

impl IdentitySettings {
    /// Whether tokens expire, with `auto` resolved by the user mode.
    pub fn tokens_expire(&self) -> bool {
        match self.token_expiry {
            TokenExpiry::Virtual => true,
            TokenExpiry::Never => false,
            TokenExpiry::Auto => self.user_mode == UserMode::Strict,
        }
    }
}

/// Whether any credentials are accepted (`open`) or only the configured users (`strict`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UserMode {
    Open,
    Strict,
}

/// One user of `strict` mode.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub username: String,
    /// When absent, password credentials are refused for this user.
    #[serde(default)]
    pub password: Option<String>,
    /// When absent, API-key credentials are refused for this user.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Derived from the username when absent.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The user's (mosso) tenant; derived from the username when absent.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Defaults to the tenant id, as Rackspace's mosso tenants do.
    #[serde(default)]
    pub tenant_name: Option<String>,
    /// Defaults to `identity.default_roles`.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub default_region: Option<String>,
}

impl common::settings::Settings for Settings {
    const DEFAULTS: &'static str = include_str!("defaults.toml");

    fn base(&self) -> &BaseSettings {
        &self.base
    }

    fn base_mut(&mut self) -> &mut BaseSettings {
        &mut self.base
    }

    /// Seed users join `identity.users` (strict mode knows only those); in open mode the
    /// seed also authenticates them once, so they exist as Mimic's users do.
    fn add_seed_users(&mut self, users: &[serde_json::Value]) -> Result<(), String> {
        for (i, u) in users.iter().enumerate() {
            let entry: UserEntry =
                serde_json::from_value(u.clone()).map_err(|e| format!("users[{i}]: {e}"))?;
            if self
                .identity
                .users
                .iter()
                .any(|x| x.username == entry.username)
            {
                return Err(format!(
                    "users[{i}].username: {:?} is already a user",
                    entry.username
                ));
            }
            self.identity.users.push(entry);
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), SettingsError> {
        self.base.validate()?;
        let mut names = std::collections::HashSet::new();
        for u in &self.identity.users {
            if u.username.is_empty() {
                return Err(SettingsError::Invalid(
                    "identity.users entries need a username".into(),
                ));
            }
            if !names.insert(u.username.as_str()) {
                return Err(SettingsError::Invalid(format!(
                    "identity.users lists {:?} twice",
                    u.username
                )));
            }
        }
        if self.identity.default_region.is_empty() {
            return Err(SettingsError::Invalid(
                "identity.default_region must not be empty".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::settings::{load, Env};

    #[test]
    fn defaults_load_with_port_5000_open_users_and_the_eight_services() {
        let s: Settings = common::settings::defaults().unwrap();
        assert_eq!(s.base.server.port, 5000);
        assert_eq!(s.base.server.host, "127.0.0.1");
        assert_eq!(s.identity.user_mode, UserMode::Open);
        let names: Vec<&str> = s
            .base
            .catalog
            .services
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "cloudServersOpenStack",
                "cloudServersBehavior",
                "cloudLoadBalancers",
                "cloudLoadBalancerControl",
                "cloudImages",
                "cloudIdentity",
                "cloudOrchestration",
                "rackconnect"
            ]
        );
        let named = |n: &str| {
            s.base
                .catalog
                .services
                .iter()
                .find(|e| e.name == n)
                .unwrap()
        };
        assert!(named("cloudOrchestration").external);
        assert!(!s.base.catalog.services[0].external);
    }

    #[test]
    fn the_user_mode_can_be_set_from_the_environment() {
        let env = [(
            "UNDERSTUDY__IDENTITY__USER_MODE".to_string(),
            "strict".to_string(),
        )];
        let s: Settings = load(None, Env::Map(env.into_iter().collect())).unwrap();
        assert_eq!(s.identity.user_mode, UserMode::Strict);
    }

    #[test]
    fn users_listed_twice_or_without_a_name_are_refused() {
        let mut s: Settings = common::settings::defaults().unwrap();
        let user = UserEntry {
            username: "alice".into(),
            password: None,
            api_key: None,
            user_id: None,
            tenant_id: None,
            tenant_name: None,
            roles: None,
            default_region: None,
        };
        s.identity.users = vec![user.clone(), user.clone()];
        assert!(common::settings::Settings::validate(&s).is_err());
        s.identity.users = vec![UserEntry {
            username: String::new(),
            ..user
        }];
        assert!(common::settings::Settings::validate(&s).is_err());
    }
}
