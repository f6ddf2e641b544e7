//! Layered, typed settings: defaults compiled into the binary, then an optional file,
//! then environment variables (`UNDERSTUDY__SECTION__KEY`, `__` for nesting).
//!
//! Every mock's settings struct flattens [`BaseSettings`] (the sections `common` owns)
//! and adds one section of its own. Loading never reads the process environment behind
//! the caller's back: [`Env::Process`] is chosen by the binary, tests pass [`Env::Map`].

use std::collections::HashMap;
use std::path::Path;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::store::StoreSettings;

/// Prefix of every environment variable read as a setting.
pub const ENV_PREFIX: &str = "UNDERSTUDY";

/// Defaults of the sections `common` owns, as TOML.
pub const BASE_DEFAULTS: &str = include_str!("defaults.toml");

/// The sections every mock shares.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BaseSettings {
    pub server: ServerSettings,
    pub telemetry: TelemetrySettings,
    pub auth: AuthSettings,
    pub catalog: CatalogSettings,
    pub control: ControlSettings,
    pub journal: JournalSettings,
    pub store: StoreSettings,
    pub seed: SeedSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct SeedSettings {
    /// A seed file (TOML, or JSON by its `.json` name) applied before the port is bound;
    /// `--seed FILE` on the command line wins. Empty: start empty.
    pub file: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind; `0.0.0.0` in containers.
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// Largest accepted request body; larger ones get 413 in the API's error format.
    pub request_body_limit_bytes: usize,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// How long in-flight requests may finish after SIGINT/SIGTERM.
    pub shutdown_timeout_s: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// One JSON object per log line instead of human-readable text.
    pub json: bool,
    /// Log filter when `RUST_LOG` is not set.
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ControlSettings {
    /// When not empty, every control call must carry `X-Admin-Token` (or
    /// `Authorization: Bearer`) with this value.
    pub admin_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JournalSettings {
    /// How many recent requests the journal keeps.
    pub capacity: usize,
    /// Bytes of each request and answer body kept with an entry (headers are always
    /// kept); longer bodies are cut with a note. 0 keeps no bodies.
    pub body_limit_bytes: usize,
}

/// How the mocks tell who is calling (`auth.mode`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    Signed,
    Remote,
    Open,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub mode: AuthMode,
    /// Key every mock of a stack shares to sign and check tokens.
    pub signing_key: String,
    /// Lifetime of issued tokens.
    pub token_ttl_s: u64,
    pub remote: RemoteSettings,
}

/// The Identity that validates tokens when `auth.mode` is `remote` (`[auth.remote]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemoteSettings {
    /// Base URL of the Identity that validates tokens (`http://keystone:5000`).
    pub url: String,
    /// `v2` (`GET /v2.0/tokens/{id}`) or `v3` (`GET /v3/auth/tokens`).
    #[serde(deserialize_with = "by_name")]
    pub version: IdentityVersion,
    /// Token sent as `X-Auth-Token` when validating; when empty, one is obtained with
    /// `username`/`password`, or the token validates itself.
    pub admin_token: String,
    pub username: String,
    pub password: String,
    pub cache_ttl_ms: u64,
    pub timeout_ms: u64,
}

/// The Keystone API a remote Identity is asked through: `v2` (v2.0) or `v3`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum IdentityVersion {
    V2,
    V3,
}

/// A closed set of names (a unit-only enum) read from text, so that a bad name is refused
/// with the names it may take (`unknown variant `v4`, expected `v2` or `v3``) whatever
/// the source: read as an enum, the settings loader says only that the Rust type has no
/// such variant.
fn by_name<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    let name = String::deserialize(d)?;
    T::deserialize(serde::de::value::StringDeserializer::<D::Error>::new(name))
}

/// An Identity's base URL, without a trailing `/v2.0` or `/v3`: users write either.
pub fn identity_base(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    url.strip_suffix("/v2.0")
        .or_else(|| url.strip_suffix("/v3"))
        .unwrap_or(url)
}

impl AuthSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.signing_key.is_empty() {
            return Err(SettingsError::Invalid(
                "auth.signing_key must not be empty".into(),
            ));
        }
        if self.mode == AuthMode::Remote
            && !(self.remote.url.starts_with("http://") || self.remote.url.starts_with("https://"))
        {
            return Err(SettingsError::Invalid(format!(
                "auth.remote.url must be an http(s) URL when auth.mode is remote, got {:?}",
                self.remote.url
            )));
        }
        Ok(())
    }
}

/// The service catalog (`[catalog]`): what services the stack lists, and where.
///
/// Settings list services (name, type, regions) with URL templates; `{tenant_id}`,
/// `{region}` and `{region_lower}` are filled per tenant and region. Mocked services and
/// external real services are listed the same way; `external = true` only keeps a service
/// out of control-plane fan-out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CatalogSettings {
    /// Where Identity answers; mocks fetch the catalog from here.
    pub identity_url: String,
    /// Regions of every service that does not list its own, upper-case.
    pub regions: Vec<String>,
    /// How long a fetched catalog is reused.
    pub cache_ttl_ms: u64,
    pub services: Vec<ServiceEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Regions of this service; empty means the catalog's regions. `""` is a global
    /// endpoint with no region.
    #[serde(default)]
    pub regions: Vec<String>,
    pub public_url: String,
    /// Defaults to `public_url`.
    #[serde(default)]
    pub internal_url: Option<String>,
    #[serde(default)]
    pub admin_url: Option<String>,
    /// A real service, not a mock of this stack: no control fan-out.
    #[serde(default)]
    pub external: bool,
}

impl CatalogSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        for r in &self.regions {
            if r.is_empty() || *r != r.to_uppercase() {
                return Err(SettingsError::Invalid(format!(
                    "catalog.regions must be upper-case names, got {r:?}"
                )));
            }
        }
        for s in &self.services {
            for url in [
                Some(&s.public_url),
                s.internal_url.as_ref(),
                s.admin_url.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(SettingsError::Invalid(format!(
                        "catalog service {} has a URL that is not http(s): {url:?}",
                        s.name
                    )));
                }
            }
            if let Some(r) = s.regions.iter().find(|r| **r != r.to_uppercase()) {
                return Err(SettingsError::Invalid(format!(
                    "catalog service {} has a region that is not upper-case: {r:?}",
                    s.name
                )));
            }
        }
        Ok(())
    }
}

/// Where environment overrides come from.
pub enum Env {
    /// The process environment (binaries only).
    Process,
    /// A fixed map of variable names to values (tests).
    Map(HashMap<String, String>),
    /// No overrides.
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid settings: {0}")]
    Invalid(String),
    #[error("cannot read settings: {0}")]
    Load(#[from] config::ConfigError),
}

/// What a settings type must offer so `common` can start it.
pub trait Settings: DeserializeOwned + Serialize + Clone + Send + Sync + 'static {
    /// The mock's own defaults (TOML), layered over [`BASE_DEFAULTS`].
    const DEFAULTS: &'static str;
    /// Keys of the mock's own section whose environment variable is a comma-separated
    /// list (`compute.regions`), as `catalog.regions` is for the shared sections.
    const LIST_KEYS: &'static [&'static str] = &[];
    fn base(&self) -> &BaseSettings;
    fn base_mut(&mut self) -> &mut BaseSettings;
    /// Checks that go beyond the types; runs before any port is bound.
    fn validate(&self) -> Result<(), SettingsError> {
        self.base().validate()
    }
    /// The region of this mock's unprefixed routes, where it has regions (a seed entry
    /// that names none goes there).
    fn default_region(&self) -> Option<String> {
        None
    }
    /// Takes a seed's users (the shape of `identity.users`); only Identity has users.
    fn add_seed_users(&mut self, _users: &[serde_json::Value]) -> Result<(), String> {
        Ok(())
    }
}

impl BaseSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.auth.validate()?;
        self.catalog.validate()?;
        if self.journal.capacity == 0 {
            return Err(SettingsError::Invalid(
                "journal.capacity must be at least 1".into(),
            ));
        }
        if self.server.request_body_limit_bytes == 0 {
            return Err(SettingsError::Invalid(
                "server.request_body_limit_bytes must be at least 1".into(),
            ));
        }
        if let StoreSettings::Redis(r) = &self.store {
            r.check().map_err(SettingsError::Invalid)?;
        }
        Ok(())
    }
}

/// Loads settings: base defaults, the mock's defaults, `file` if given, then `env`.
pub fn load<S: Settings>(file: Option<&Path>, env: Env) -> Result<S, SettingsError> {
    let mut builder = config::Config::builder()
        .add_source(config::File::from_str(
            BASE_DEFAULTS,
            config::FileFormat::Toml,
        ))
        .add_source(config::File::from_str(
            S::DEFAULTS,
            config::FileFormat::Toml,
        ));
    if let Some(path) = file {
        if !path.exists() {
            return Err(SettingsError::Invalid(format!(
                "settings file {} does not exist",
                path.display()
            )));
        }
        builder = builder.add_source(config::File::from(path));
    }
    let environment = S::LIST_KEYS.iter().fold(
        config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("catalog.regions"),
        |environment, key| environment.with_list_parse_key(key),
    );
    builder = match env {
        Env::Process => builder.add_source(environment),
        Env::Map(map) => builder.add_source(environment.source(Some(map))),
        Env::None => builder,
    };
    let config = builder.build()?;
    // Deserializing the shared sections alone first names the bad key (`server.port`);
    // through the mock's flattened struct the path is lost.
    config.clone().try_deserialize::<BaseSettings>()?;
    let settings: S = config.try_deserialize()?;
    settings.validate()?;
    Ok(settings)
}

/// Defaults only: what a test starts from before overriding fields.
pub fn defaults<S: Settings>() -> Result<S, SettingsError> {
    load(None, Env::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Shared {
        #[serde(flatten)]
        base: BaseSettings,
    }

    impl Settings for Shared {
        const DEFAULTS: &'static str = "";
        fn base(&self) -> &BaseSettings {
            &self.base
        }
        fn base_mut(&mut self) -> &mut BaseSettings {
            &mut self.base
        }
    }

    fn with(key: &str, value: &str) -> Result<Shared, SettingsError> {
        load(
            None,
            Env::Map([(key.to_string(), value.to_string())].into()),
        )
    }

    #[test]
    fn the_identity_version_is_v2_or_v3_and_a_bad_one_is_named_by_key() {
        let s = with("UNDERSTUDY__AUTH__REMOTE__VERSION", "v3").expect("v3 loads");
        assert_eq!(s.base.auth.remote.version, IdentityVersion::V3);
        let e = with("UNDERSTUDY__AUTH__REMOTE__VERSION", "v4")
            .expect_err("v4 is refused")
            .to_string();
        for part in ["auth.remote.version", "`v4`", "`v2`", "`v3`"] {
            assert!(e.contains(part), "{e}");
        }
    }
}
