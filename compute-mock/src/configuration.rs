//! Settings of the compute mock: the shared sections plus `[compute]`.
//!
//! Every default lives in `defaults.toml` (compiled in); the flavors and images a fresh
//! tenant sees are seeded from `[[compute.flavors]]` and `[[compute.images]]` there.

use std::collections::BTreeMap;

use common::settings::{BaseSettings, SettingsError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    #[serde(flatten)]
    pub base: BaseSettings,
    pub compute: ComputeSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ComputeSettings {
    /// Regions served under `/{region}/v2/{tenant_id}`, upper-case.
    pub regions: Vec<String>,
    /// The region of the unprefixed `/v2/{tenant_id}` routes.
    pub default_region: String,
    /// Time a new server spends in BUILD (0: ACTIVE at once, as Mimic).
    pub build_time_ms: u64,
    /// Time in REBOOT after a soft reboot.
    pub reboot_time_ms: u64,
    /// Time in HARD_REBOOT after a hard reboot.
    pub hard_reboot_time_ms: u64,
    /// Time in REBUILD after a rebuild.
    pub rebuild_time_ms: u64,
    /// Time a deleted server stays readable with `task_state: deleting`.
    pub delete_time_ms: u64,
    /// How long, after it is gone, a deleted server is still listed by `changes-since`;
    /// then its record is forgotten.
    pub deleted_retention_ms: u64,
    /// Deleted servers kept per tenant and region at most (the oldest are forgotten first,
    /// a sixteenth of the cap at once when it is passed), so memory stays bounded at any
    /// churn.
    pub max_deleted_kept: usize,
    /// Largest page of a list (`osapi_max_limit`).
    pub max_page_size: usize,
    /// Metadata items per server (Rackspace: 40).
    pub max_metadata_items: usize,
    /// Key pairs per tenant and region.
    pub max_keypairs: usize,
    /// The user id shown on servers when the caller's token names none (open auth).
    pub default_user_id: String,
    pub quota: Quota,
    /// Per-tenant quota overrides: `[compute.quota_overrides.<tenant>]`.
    #[serde(default)]
    pub quota_overrides: BTreeMap<String, QuotaOverride>,
    pub flavors: Vec<FlavorSettings>,
    pub images: Vec<ImageSettings>,
}

/// Quota of one tenant in one region; -1 is unlimited.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub instances: i64,
    pub cores: i64,
    pub ram_mb: i64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QuotaOverride {
    pub instances: Option<i64>,
    pub cores: Option<i64>,
    pub ram_mb: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FlavorSettings {
    pub id: String,
    pub name: String,
    pub ram: u64,
    pub vcpus: u64,
    pub disk: u64,
    #[serde(default)]
    pub swap: u64,
    #[serde(default)]
    pub ephemeral: u64,
    pub rxtx_factor: f64,
    /// Rackspace's flavor class (`standard1`, `general1`, ...), shown in extra_specs.
    #[serde(default)]
    pub class: String,
    /// Regions that list this flavor; empty means every region.
    #[serde(default)]
    pub regions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImageSettings {
    pub name: String,
    /// A fixed id; when absent the id is derived from the name, so every replica and
    /// every start agrees on it.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default = "default_min_ram")]
    pub min_ram: u64,
    #[serde(default = "default_min_disk")]
    pub min_disk: u64,
    #[serde(default = "default_os_type")]
    pub os_type: String,
    #[serde(default)]
    pub os_distro: String,
    /// Regions that list this image; empty means every region.
    #[serde(default)]
    pub regions: Vec<String>,
}

fn default_min_ram() -> u64 {
    512
}

fn default_min_disk() -> u64 {
    20
}

fn default_os_type() -> String {
    "linux".into()
}

impl ComputeSettings {
    /// The quota of one tenant: the defaults with that tenant's overrides.
    pub fn quota_for(&self, tenant: &str) -> Quota {
        let mut q = self.quota;
        if let Some(o) = self.quota_overrides.get(tenant) {
            q.instances = o.instances.unwrap_or(q.instances);
            q.cores = o.cores.unwrap_or(q.cores);
            q.ram_mb = o.ram_mb.unwrap_or(q.ram_mb);
        }
        q
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |m: String| Err(SettingsError::Invalid(m));
        if self.regions.is_empty() {
            return invalid("compute.regions must list at least one region".into());
        }
        if let Some(r) = self.regions.iter().find(|r| **r != r.to_uppercase()) {
            return invalid(format!("compute.regions must be upper-case, got {r:?}"));
        }
        if !self.regions.contains(&self.default_region) {
            return invalid(format!(
                "compute.default_region {:?} is not one of compute.regions",
                self.default_region
            ));
        }
        if self.max_page_size == 0 {
            return invalid("compute.max_page_size must be at least 1".into());
        }
        let mut ids = std::collections::HashSet::new();
        if let Some(f) = self.flavors.iter().find(|f| !ids.insert(f.id.as_str())) {
            return invalid(format!("compute.flavors lists id {:?} twice", f.id));
        }
        let mut names = std::collections::HashSet::new();
        if let Some(i) = self.images.iter().find(|i| !names.insert(i.name.as_str())) {
            return invalid(format!("compute.images lists name {:?} twice", i.name));
        }
        if let Some(i) = self.images.iter().find(|i| {
            i.id.as_deref()
                .is_some_and(|id| uuid::Uuid::parse_str(id).is_err())
        }) {
            return invalid(format!(
                "compute.images {:?} has an id that is not a UUID",
                i.name
            ));
        }
        Ok(())
    }
}

impl common::settings::Settings for Settings {
    const DEFAULTS: &'static str = include_str!("defaults.toml");
    const LIST_KEYS: &'static [&'static str] = &["compute.regions"];

    fn base(&self) -> &BaseSettings {
        &self.base
    }

    fn base_mut(&mut self) -> &mut BaseSettings {
        &mut self.base
    }

    fn default_region(&self) -> Option<String> {
        Some(self.compute.default_region.clone())
    }

    fn validate(&self) -> Result<(), SettingsError> {
        self.base.validate()?;
        self.compute.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_validate() {
        let s: Settings = common::settings::defaults().expect("defaults load");
        assert_eq!(s.base.server.port, 8774);
        assert_eq!(s.compute.default_region, "ORD");
        assert_eq!(s.compute.quota.instances, -1, "no quota, as Mimic");
        assert!(s
            .compute
            .images
            .iter()
            .any(|i| i.name.starts_with("Ubuntu")));
        assert!(s.compute.flavors.iter().any(|f| f.id == "2"));
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let mut s: Settings = common::settings::defaults().expect("defaults load");
        s.compute.quota_overrides.insert(
            "t1".into(),
            QuotaOverride {
                instances: Some(3),
                ..Default::default()
            },
        );
        let q = s.compute.quota_for("t1");
        assert_eq!((q.instances, q.cores, q.ram_mb), (3, -1, -1));
        assert_eq!(s.compute.quota_for("t2").instances, -1);
    }

    #[test]
    fn regions_from_the_environment_are_a_list() {
        let env = [(
            "UNDERSTUDY__COMPUTE__REGIONS".to_string(),
            "ORD,DFW".to_string(),
        )];
        let s: Settings =
            common::settings::load(None, common::settings::Env::Map(env.into_iter().collect()))
                .expect("settings load");
        assert_eq!(s.compute.regions, ["ORD", "DFW"]);
    }
}
