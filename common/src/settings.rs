//! Layered, typed settings: defaults compiled into the binary, then an optional file,
//! then environment variables (`UNDERSTUDY__SECTION__KEY`, `__` for nesting).
//!
//! Every mock's settings struct flattens [`BaseSettings`] (the sections `common` owns)
//! and adds one section of its own. Loading never reads the process environment behind
//! the caller's back: [`Env::Process`] is chosen by the binary, tests pass [`Env::Map`].

use std::collections::HashMap;
use std::path::Path;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::auth::AuthSettings;
use crate::catalog::CatalogSettings;
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
    let environment = config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .with_list_parse_key("catalog.regions")
        .with_list_parse_key("compute.regions")
        .with_list_parse_key("lb.regions");
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
