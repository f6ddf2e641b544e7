//! Identity's state, built once and shared by every worker, and its repositories.
//!
//! The users ([`Directory`]) are the configured users of `strict` mode, or anyone at all
//! in `open` mode, where a username's tenant and ids are derived from it (see
//! [`crate::domain::derive`]). Open mode needs no state to authenticate. It remembers two
//! small facts in the store so the lookup routes can answer: which username a user id
//! belongs to (credentials routes) and which username a tenant belongs to
//! (`/v1.1/mosso/{tenant}`), plus the tenant a user was first seen with: its tenant from
//! then on (later calls without a tenant land in it, and another is refused).
//!
//! Tokens are signed, not stored: issuing one reads the clock and signs its claims
//! ([`IdentityState::issue`]); revoking one is stored by `common` and spread to the stack
//! ([`revoke`]). Mimic's auth behaviours are `common::behaviors` registrations
//! ([`auth_failure`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::keystone::{Format, KeystoneCatalog};
use common::behaviors::Behaviors;
use common::context::ServiceContext;
use common::render::RenderCache;
use common::store::{Scope, Store, StoreError, Table};
use common::token::Claims;

use crate::configuration::{IdentitySettings, Settings, UserMode};
use crate::domain::credentials::UserRef;
use crate::domain::derive;
use crate::domain::external::{Refused, Registry, Template};
use crate::domain::mimic::{auth_attribute, Failure, AUTH_EVENT, FAIL};
use crate::domain::token::{self, NewToken, TokenPolicy};
use crate::domain::user::{Refusal, User};

/// The state of identity's handlers.
pub struct IdentityState {
    pub directory: Directory,
    pub catalog: KeystoneCatalog,
    /// The external APIs suites add to the catalog (OS-KSADM / OS-KSCATALOG).
    pub external: ExternalApis,
    /// How issued tokens expire (`auth.token_ttl_s`, `identity.token_expiry` resolved).
    pub tokens: TokenPolicy,
    /// `GET /v2.0/tokens/{token_id}` answers by token, with the default region they show.
    pub validations: RenderCache<String, String>,
}

impl IdentityState {
    pub fn new(settings: &Settings, store: &Store) -> IdentityState {
        IdentityState {
            directory: Directory::new(&settings.identity, store),
            catalog: KeystoneCatalog::new(settings.base.catalog.clone()),
            external: ExternalApis::new(store),
            tokens: TokenPolicy {
                ttl_s: i64::try_from(settings.base.auth.token_ttl_s).unwrap_or(i64::MAX / 2),
                expire: settings.identity.tokens_expire(),
            },
            validations: RenderCache::default(),
        }
    }

    /// A tenant's catalog in one of Keystone's formats, the external services it sees
    /// first.
    pub async fn catalog_for(
        &self,
        format: Format,
        tenant_id: &str,
    ) -> Result<std::sync::Arc<serde_json::value::RawValue>, StoreError> {
        let external = self.external.for_catalog(tenant_id).await?;
        Ok(self.catalog.render(format, tenant_id, external.as_ref()))
    }

    /// Signs a new token, issued now on the stack's clock; its text and its claims.
    pub fn issue(&self, ctx: &ServiceContext, new: NewToken<'_>) -> (String, Claims) {
        let now = ctx.store.clock().now().timestamp();
        let claims = new.claims(token::new_id(), now, self.tokens);
        (ctx.auth.codec().issue(&claims), claims)
    }
}

/// The roles that may revoke any tenant's token (Rackspace's identity admins).
const TOKEN_ADMIN_ROLES: [&str; 2] = ["identity:admin", "identity:service-admin"];

/// Whether the holder of `by` may revoke `token` (v2.0 and v3 alike): its own, its
/// tenant's, or any when `by` is an identity admin's.
pub fn may_revoke(by: &Claims, token: &Claims) -> bool {
    token.user_id == by.user_id
        || (!by.tenant_id.is_empty() && token.tenant_id == by.tenant_id)
        || is_identity_admin(by)
}

/// Whether a token is an identity admin's (`identity:admin`, `identity:service-admin`).
pub fn is_identity_admin(claims: &Claims) -> bool {
    claims
        .roles
        .iter()
        .any(|r| TOKEN_ADMIN_ROLES.contains(&r.as_str()))
}

/// Revokes a token here and tells every mock of the stack, which check tokens locally.
pub async fn revoke(ctx: &ServiceContext, claims: &Claims) -> Result<(), StoreError> {
    ctx.auth.revoke(claims).await?;
    common::control::spread_revocation(ctx, &claims.id, claims.exp).await;
    Ok(())
}

/// The failure a registered auth behaviour injects into this authentication, if any.
pub async fn auth_failure(
    behaviors: &Behaviors,
    username: Option<&str>,
    tenant_id: Option<&str>,
) -> Result<Option<Failure>, StoreError> {
    let chosen = behaviors
        .choose(&Scope::global(), &AUTH_EVENT, |k| {
            auth_attribute(username, tenant_id, k)
        })
        .await?;
    Ok(chosen
        .filter(|c| c.name == FAIL)
        .map(|c| Failure::from_parameters(&c.parameters)))
}

/// The external APIs of the stack: one record holds every service and its templates
/// (small, and changed as one: ids and names are unique over all of them), and each
/// tenant's partition the template numbers enabled for it, so a tenant's reset forgets
/// them and tenants never share them. An enablement names a template's number, not its
/// id: a template removed and added again under the same id is not enabled anywhere.
pub struct ExternalApis {
    registry: Table<Registry>,
    enabled: Table<Vec<u64>>,
}

const REGISTRY: &str = "registry";
const ENABLED: &str = "enabled";

impl ExternalApis {
    fn new(store: &Store) -> ExternalApis {
        ExternalApis {
            registry: store.table("identity_external_apis"),
            enabled: store.table("identity_external_enabled"),
        }
    }

    /// Every service and template.
    pub async fn registry(&self) -> Result<Registry, StoreError> {
        Ok(self
            .registry
            .get(&Scope::global(), REGISTRY)
            .await?
            .unwrap_or_default())
    }

    /// Changes the registry atomically (against every worker and replica); a refused
    /// change leaves it as it was. `f` may run twice, when another writer made the first
    /// registry at the same moment.
    pub async fn change<R>(
        &self,
        f: impl Fn(&mut Registry) -> Result<R, Refused>,
    ) -> Result<Result<R, Refused>, StoreError> {
        let global = Scope::global();
        loop {
            let changed = self
                .registry
                .update(&global, REGISTRY, |r| {
                    let mut next = r.clone();
                    let out = f(&mut next);
                    if out.is_ok() {
                        *r = next;
                    }
                    out
                })
                .await?;
            if let Some(done) = changed {
                return Ok(done);
            }
            let mut first = Registry::default();
            let out = match f(&mut first) {
                Ok(out) => out,
                Err(refused) => return Ok(Err(refused)),
            };
            match self.registry.insert(&global, REGISTRY, first).await {
                Ok(()) => return Ok(Ok(out)),
                // Another writer made the registry first: the change is made on it.
                Err(StoreError::Exists(_)) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The template numbers enabled for a tenant.
    pub async fn enabled_for(&self, tenant: &str) -> Result<Vec<u64>, StoreError> {
        Ok(self
            .enabled
            .get(&Scope::tenant(tenant), ENABLED)
            .await?
            .unwrap_or_default())
    }

    /// Enables a template for a tenant (again: no change); numbers of templates no
    /// longer in `registry` are dropped meanwhile (those newer than it are kept: another
    /// request may have added and enabled one since it was read).
    pub async fn enable(
        &self,
        tenant: &str,
        template: &Template,
        registry: &Registry,
    ) -> Result<(), StoreError> {
        let seq = template.seq;
        let live = registry.seqs();
        let read_at = registry.last_seq;
        self.enabled
            .upsert(&Scope::tenant(tenant), ENABLED, Vec::new, |seqs| {
                seqs.retain(|s| *s > read_at || live.contains(s));
                if !seqs.contains(&seq) {
                    seqs.push(seq);
                }
            })
            .await
    }

    /// Disables a template for a tenant; false when it was not enabled for it.
    pub async fn disable(&self, tenant: &str, template: &Template) -> Result<bool, StoreError> {
        let seq = template.seq;
        Ok(self
            .enabled
            .update(&Scope::tenant(tenant), ENABLED, |seqs| {
                let before = seqs.len();
                seqs.retain(|s| *s != seq);
                seqs.len() != before
            })
            .await?
            .unwrap_or(false))
    }

    /// What a tenant's catalog adds: the registry as the tenant sees it
    /// ([`Registry::shown_to`]); `None` when it sees nothing. One read when no template
    /// is enabled for some tenants only; otherwise the tenant's numbers are read too, and
    /// the registry again for what they show. Only what the tenant sees is copied out.
    pub async fn for_catalog(&self, tenant: &str) -> Result<Option<Registry>, StoreError> {
        let global = Scope::global();
        let first = self
            .registry
            .get_map(&global, REGISTRY, |r, _| {
                (!r.services.is_empty()).then(|| (r.shown_to(&[]), r.has_tenant_templates()))
            })
            .await?
            .flatten();
        let shown = match first {
            None => None,
            Some((everyone, false)) => Some(everyone),
            Some((_, true)) => {
                let enabled = self.enabled_for(tenant).await?;
                self.registry
                    .get_map(&global, REGISTRY, |r, _| r.shown_to(&enabled))
                    .await?
            }
        };
        Ok(shown.filter(|r| !r.services.is_empty()))
    }
}

/// What open mode remembers about a user, keyed by user id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownUser {
    pub name: String,
    pub tenant: String,
}

/// The users of this identity.
pub struct Directory {
    mode: UserMode,
    default_region: String,
    default_roles: Vec<String>,
    users: Vec<User>,
    by_name: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
    by_tenant: HashMap<String, usize>,
    known: Table<KnownUser>,
    tenant_users: Table<String>,
}

impl Directory {
    pub fn new(settings: &IdentitySettings, store: &Store) -> Directory {
        let users: Vec<User> = settings
            .users
            .iter()
            .map(|u| User::configured(u, settings))
            .collect();
        let mut by_name = HashMap::new();
        let mut by_id = HashMap::new();
        let mut by_tenant = HashMap::new();
        for (i, u) in users.iter().enumerate() {
            by_name.insert(u.name.clone(), i);
            by_id.insert(u.id.clone(), i);
            by_tenant.entry(u.tenant_id.clone()).or_insert(i);
        }
        Directory {
            mode: settings.user_mode,
            default_region: settings.default_region.clone(),
            default_roles: settings.default_roles.clone(),
            users,
            by_name,
            by_id,
            by_tenant,
            known: store.table("identity_users"),
            tenant_users: store.table("identity_tenant_users"),
        }
    }

    pub fn mode(&self) -> UserMode {
        self.mode
    }

    pub fn is_strict(&self) -> bool {
        self.mode == UserMode::Strict
    }

    /// An open-mode user: ids derived from the name (or the one given), the tenant it was
    /// settled on, else one derived from the name.
    async fn open_user(&self, name: &str, id: Option<&str>) -> Result<User, StoreError> {
        let id = id
            .map(str::to_string)
            .unwrap_or_else(|| derive::user_id(name));
        let seen = self
            .known
            .get(&Scope::global(), &id)
            .await?
            .map(|k| k.tenant);
        Ok(User::open(
            name,
            id,
            seen,
            self.default_roles.clone(),
            self.default_region.clone(),
        ))
    }

    /// The user these password credentials prove, or why not.
    pub async fn by_password(
        &self,
        user: &UserRef,
        password: &str,
    ) -> Result<Result<User, Refusal>, StoreError> {
        if self.is_strict() {
            let found = match user {
                UserRef::Name(n) => self.by_name.get(n),
                UserRef::Id(i) => self.by_id.get(i),
            }
            .map(|i| &self.users[*i])
            .filter(|u| u.has_password(password));
            return Ok(found.cloned().ok_or(Refusal::WrongPassword));
        }
        Ok(Ok(match user {
            UserRef::Name(n) => self.open_user(n, None).await?,
            UserRef::Id(id) => match self.known.get(&Scope::global(), id).await? {
                Some(k) => self.open_user(&k.name, Some(id)).await?,
                None => self.open_user(id, Some(id)).await?,
            },
        }))
    }

    /// The user these API-key credentials prove, or why not.
    pub async fn by_api_key(
        &self,
        username: &str,
        api_key: &str,
    ) -> Result<Result<User, Refusal>, StoreError> {
        if self.is_strict() {
            let found = self
                .by_name
                .get(username)
                .map(|i| &self.users[*i])
                .filter(|u| u.has_api_key(api_key));
            return Ok(found.cloned().ok_or(Refusal::WrongApiKey));
        }
        Ok(Ok(self.open_user(username, None).await?))
    }

    /// A user by name: any name in open mode, a configured one in strict mode.
    pub async fn by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        if self.is_strict() {
            return Ok(self.by_name.get(username).map(|i| self.users[*i].clone()));
        }
        Ok(Some(self.open_user(username, None).await?))
    }

    /// A user by id: configured in strict mode, seen before in open mode.
    pub async fn by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        if self.is_strict() {
            return Ok(self.by_id.get(id).map(|i| self.users[*i].clone()));
        }
        match self.known.get(&Scope::global(), id).await? {
            Some(k) => Ok(Some(self.open_user(&k.name, Some(id)).await?)),
            None => Ok(None),
        }
    }

    /// The user a tenant belongs to. Open mode answers for any tenant: the user who used
    /// it, else a user named after it (remembered, so later calls agree).
    pub async fn by_tenant(&self, tenant: &str) -> Result<Option<User>, StoreError> {
        if self.is_strict() {
            return Ok(self.by_tenant.get(tenant).map(|i| self.users[*i].clone()));
        }
        let name = match self.tenant_users.get(&Scope::global(), tenant).await? {
            Some(name) => name,
            None => {
                let name = format!("user_{tenant}");
                // Should `user_T` be settled on another tenant already, it is still the
                // user answered for T (the route has nothing better to say).
                self.settle(&name, &derive::user_id(&name), tenant).await?;
                name
            }
        };
        Ok(Some(self.open_user(&name, None).await?))
    }

    /// Every user: the configured ones, or those open mode has seen.
    pub async fn list(&self) -> Result<Vec<User>, StoreError> {
        if self.is_strict() {
            return Ok(self.users.clone());
        }
        let mut out = Vec::new();
        for (id, k) in self
            .known
            .transact(&Scope::global(), |rows| {
                rows.iter()
                    .map(|(id, k)| (id.to_string(), k.clone()))
                    .collect::<Vec<_>>()
            })
            .await?
        {
            out.push(self.open_user(&k.name, Some(&id)).await?);
        }
        Ok(out)
    }

    /// The user behind a live token, as the directory knows them now (with the id and
    /// roles the token carries; in open mode, its tenant as settled under that id).
    pub async fn user_of(&self, claims: &Claims) -> Result<Option<User>, StoreError> {
        let found = if self.is_strict() {
            self.by_name(&claims.user_name).await?
        } else {
            Some(
                self.open_user(&claims.user_name, Some(&claims.user_id))
                    .await?,
            )
        };
        Ok(found.map(|u| User {
            id: claims.user_id.clone(),
            roles: claims.roles.clone(),
            ..u
        }))
    }

    /// Open mode: settles a user's tenant the first time the user is seen (a token issued
    /// to it, or it is looked up), remembering its name and that tenant. Whether `tenant`
    /// is the user's tenant: false when the user was settled on another one (by an
    /// earlier token, or by one issued at the same moment by another worker or replica:
    /// the first to write wins, and a settled tenant is never moved). Strict mode, and a
    /// token without a tenant, settle nothing.
    pub async fn settle(&self, name: &str, id: &str, tenant: &str) -> Result<bool, StoreError> {
        if self.is_strict() || tenant.is_empty() {
            return Ok(true);
        }
        let settled = match self.known.get(&Scope::global(), id).await? {
            Some(k) => k.tenant,
            None => {
                let first = || KnownUser {
                    name: name.to_string(),
                    tenant: tenant.to_string(),
                };
                self.known
                    .upsert(&Scope::global(), id, first, |k| k.tenant.clone())
                    .await?
            }
        };
        if settled != tenant {
            return Ok(false);
        }
        if self
            .tenant_users
            .get(&Scope::global(), tenant)
            .await?
            .is_none()
        {
            self.tenant_users
                .put(&Scope::global(), tenant, name.to_string())
                .await?;
        }
        Ok(true)
    }

    /// The region a user's token names as `RAX-AUTH:defaultRegion`.
    pub fn default_region(&self, username: &str) -> &str {
        self.by_name
            .get(username)
            .filter(|_| self.is_strict())
            .map(|i| self.users[*i].default_region.as_str())
            .unwrap_or(&self.default_region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configuration::UserEntry;
    use crate::domain::credentials::TenantRef;

    fn settings(mode: UserMode) -> IdentitySettings {
        IdentitySettings {
            user_mode: mode,
            default_region: "ORD".into(),
            default_roles: vec!["identity:user-admin".into()],
            users: vec![UserEntry {
                username: "alice".into(),
                password: Some("secret".into()),
                api_key: Some("key".into()),
                user_id: Some("u-alice".into()),
                tenant_id: Some("1000".into()),
                tenant_name: Some("alice-tenant".into()),
                roles: None,
                default_region: Some("LON".into()),
            }],
            token_expiry: Default::default(),
        }
    }

    #[tokio::test]
    async fn open_mode_accepts_anyone_with_stable_ids() {
        let d = Directory::new(&settings(UserMode::Open), &Store::memory());
        let u = d
            .by_password(&UserRef::Name("joe".into()), "anything")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.tenant_id, derive::tenant_id("joe"));
        assert_eq!(u.id, derive::user_id("joe"));
        assert_eq!(
            u.tenant_for(Some(&TenantRef::Name("999".into()))),
            Some(("999".into(), "999".into())),
            "a user not seen yet gets the tenant it asks for"
        );
        assert!(d.settle(&u.name, &u.id, "999").await.unwrap());
        assert!(
            !d.settle(&u.name, &u.id, "1000").await.unwrap(),
            "a settled tenant is never moved"
        );
        let again = d.by_api_key("joe", "whatever").await.unwrap().unwrap();
        assert_eq!(again.tenant_id, "999", "the chosen tenant is remembered");
        assert_eq!(
            again.tenant_for(Some(&TenantRef::Id("999".into()))),
            Some(("999".into(), "999".into()))
        );
        assert_eq!(
            again.tenant_for(Some(&TenantRef::Id("1000".into()))),
            None,
            "once seen, the user's tenant is settled"
        );
        assert_eq!(d.by_id(&u.id).await.unwrap().unwrap().name, "joe");
        assert_eq!(d.by_tenant("999").await.unwrap().unwrap().name, "joe");
        assert_eq!(
            d.by_tenant("555").await.unwrap().unwrap().name,
            "user_555",
            "an unseen tenant gets a user named after it"
        );
    }

    #[tokio::test]
    async fn strict_mode_checks_passwords_keys_and_tenants() {
        let d = Directory::new(&settings(UserMode::Strict), &Store::memory());
        let alice = UserRef::Name("alice".into());
        assert_eq!(
            d.by_password(&alice, "wrong").await.unwrap(),
            Err(Refusal::WrongPassword)
        );
        assert_eq!(
            d.by_password(&UserRef::Name("bob".into()), "secret")
                .await
                .unwrap(),
            Err(Refusal::WrongPassword)
        );
        assert_eq!(
            d.by_api_key("alice", "nope").await.unwrap(),
            Err(Refusal::WrongApiKey)
        );
        let u = d.by_password(&alice, "secret").await.unwrap().unwrap();
        assert_eq!(u.default_region, "LON");
        assert_eq!(
            u.tenant_for(Some(&TenantRef::Name("alice-tenant".into()))),
            Some(("1000".into(), "alice-tenant".into()))
        );
        assert_eq!(u.tenant_for(Some(&TenantRef::Id("2000".into()))), None);
        assert!(d.by_tenant("2000").await.unwrap().is_none());
        assert!(d
            .by_password(&UserRef::Id("u-alice".into()), "secret")
            .await
            .unwrap()
            .is_ok());
    }
}
