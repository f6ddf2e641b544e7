//! Settings of lb-mock: common's sections plus `[lb]` (regions, timings, limits).

use serde::{Deserialize, Serialize};

use common::settings::{BaseSettings, SettingsError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    #[serde(flatten)]
    pub base: BaseSettings,
    pub lb: LbSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LbSettings {
    pub regions: Vec<String>,
    pub default_region: String,
    pub build_time_ms: u64,
    pub pending_update_time_ms: u64,
    pub pending_delete_time_ms: u64,
    pub deleted_visible_time_ms: u64,
    /// Deleted balancers kept per tenant and region at most: once a deleted balancer is no
    /// longer visible, or beyond this many, its record is forgotten (memory stays bounded).
    pub max_deleted_kept: usize,
    pub node_limit: usize,
    pub loadbalancer_limit: usize,
    pub batch_delete_limit: usize,
    pub access_list_limit: usize,
    pub metadata_limit: usize,
    pub ipv6_vip_limit: usize,
    pub rate_limit_per_minute: u64,
    pub compute_cache_ms: u64,
    pub health_monitor_online_after_ms: u64,
}

impl common::settings::Settings for Settings {
    const DEFAULTS: &'static str = include_str!("defaults.toml");
    const LIST_KEYS: &'static [&'static str] = &["lb.regions"];

    fn base(&self) -> &BaseSettings {
        &self.base
    }

    fn base_mut(&mut self) -> &mut BaseSettings {
        &mut self.base
    }

    fn default_region(&self) -> Option<String> {
        Some(self.lb.default_region.clone())
    }

    fn validate(&self) -> Result<(), SettingsError> {
        self.base.validate()?;
        let lb = &self.lb;
        if lb.regions.is_empty() {
            return Err(SettingsError::Invalid(
                "lb.regions must list at least one region".into(),
            ));
        }
        if let Some(r) = lb
            .regions
            .iter()
            .find(|r| r.is_empty() || **r != r.to_uppercase())
        {
            return Err(SettingsError::Invalid(format!(
                "lb.regions must be upper-case names, got {r:?}"
            )));
        }
        if !lb.regions.contains(&lb.default_region) {
            return Err(SettingsError::Invalid(format!(
                "lb.default_region {:?} is not one of lb.regions",
                lb.default_region
            )));
        }
        if lb.node_limit == 0 || lb.batch_delete_limit == 0 {
            return Err(SettingsError::Invalid(
                "lb.node_limit and lb.batch_delete_limit must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
