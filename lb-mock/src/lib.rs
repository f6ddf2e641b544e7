//! lb-mock: a stateful stand-in for Rackspace Cloud Load Balancers v1.0.
//!
//! - [`configuration`]: settings (`[lb]`: regions, status timings, limits).
//! - [`domain`]: stored records and the pure status machine.
//! - [`routes`]: the CLB API under `/{region}/v1.0/{tenant_id}` and `/v1.0/{tenant_id}`,
//!   and Mimic's `cloudLoadBalancerControl` API under `/mimic/{region}/v1.0/{tenant_id}`.
//! - [`compute`]: node status from Compute server status, found through the catalog.
//! - [`error`]: CLB's error bodies.
//!
//! State lives in one table of balancer records (nodes, VIPs and features inside the
//! record), partitioned by tenant and region; every change is one `transact` on one
//! record, so limits hold under concurrency.

pub mod compute;
pub mod configuration;
pub mod domain;
pub mod error;
pub mod routes;

use std::sync::Arc;

use actix_web::web;

use common::context::{RouteInfo, ServiceSpec, Shared};
use common::startup::Application;
use common::store::Table;

use crate::configuration::{LbSettings, Settings};
use crate::domain::model::LoadBalancer;
use crate::domain::status::Timings;

/// The text of an unknown route.
pub const NOT_FOUND: &str = "Resource not found";

/// The text CLB (and Mimic) answer for a body that is not JSON.
pub const BAD_JSON: &str = "Invalid JSON request body";

/// What the mock tells `common` about itself; unprefixed routes are in `default_region`.
pub fn spec(default_region: String) -> ServiceSpec {
    ServiceSpec {
        name: "lb",
        style: error::STYLE,
        bad_json: BAD_JSON,
        not_found: NOT_FOUND,
        route_info: Arc::new(move |path| route_info(path, &default_region)),
        fault_exempt: &["/mimic/"],
        summary: None,
    }
}

/// The deleted balancers of one scope, oldest first.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeletedBalancers {
    pub ids: std::collections::VecDeque<u64>,
}

/// lb-mock's own state, built once and shared by every worker.
pub struct State {
    pub lb: LbSettings,
    pub balancers: Table<LoadBalancer>,
    pub rate: Table<routes::RateWindow>,
    /// Deleted balancers per scope, oldest first, so their records can be forgotten.
    pub deleted: Table<DeletedBalancers>,
    pub compute: compute::ComputeCache,
    /// `GET /loadbalancers/{id}` answers, reused while everything they show is unchanged.
    pub rendered: common::render::RenderCache<u64, routes::wire::DetailStamp>,
}

impl State {
    /// Every tenant's balancers as the API shows them now: status, virtual IPs, and nodes
    /// with condition and status (Compute asked about the servers behind them, with a
    /// token this stack signs for the tenant).
    pub async fn summary(
        &self,
        ctx: &common::context::ServiceContext,
    ) -> Result<serde_json::Value, common::store::StoreError> {
        let tables = ctx.store.snapshot().await?;
        let now = ctx.store.clock().now().timestamp_millis();
        let timings = self.timings();
        let mut scopes = Vec::new();
        for part in tables["lb_loadbalancers"].as_array().into_iter().flatten() {
            let tenant = part["tenant"].as_str().unwrap_or_default();
            let region = part["region"].as_str().unwrap_or_default();
            let token = summary_token(ctx, tenant, now);
            let mut balancers = Vec::new();
            for r in part["records"].as_array().into_iter().flatten() {
                let Ok(lb) = serde_json::from_value::<LoadBalancer>(r["value"].clone()) else {
                    continue;
                };
                let Some(seen) = lb.observe(timings, now) else {
                    continue;
                };
                let servers = if lb.nodes.is_empty() {
                    None
                } else {
                    self.compute
                        .statuses(
                            ctx,
                            tenant,
                            region,
                            compute::Asker::Console(&token),
                            now,
                            self.lb.compute_cache_ms,
                        )
                        .await
                };
                let nodes: Vec<_> = lb
                    .nodes
                    .iter()
                    .map(|n| {
                        let server = servers.as_ref().and_then(|s| s.get(&n.address));
                        let status = domain::model::node_status(
                            n,
                            server.map(String::as_str),
                            now,
                            self.lb.health_monitor_online_after_ms,
                        );
                        serde_json::json!({
                            "id": n.id,
                            "address": n.address,
                            "port": n.port,
                            "condition": n.condition.as_str(),
                            "status": status.as_str(),
                        })
                    })
                    .collect();
                balancers.push(serde_json::json!({
                    "id": lb.id,
                    "name": lb.name,
                    "status": seen.status.as_str(),
                    "nodes": nodes,
                }));
            }
            scopes.push(serde_json::json!({
                "tenant": tenant, "region": region, "balancers": balancers,
            }));
        }
        Ok(serde_json::json!({ "scopes": scopes }))
    }

    pub fn timings(&self) -> Timings {
        Timings {
            build_ms: self.lb.build_time_ms,
            pending_update_ms: self.lb.pending_update_time_ms,
            pending_delete_ms: self.lb.pending_delete_time_ms,
            deleted_visible_ms: self.lb.deleted_visible_time_ms,
        }
    }
}

/// Binds the listener and prepares the app; `shared` lets several mocks share one store.
pub fn build(settings: Settings, shared: Option<Shared>) -> std::io::Result<Application> {
    let shared = match shared {
        Some(s) => s,
        None => Shared::new(&settings.base, "lb").map_err(std::io::Error::other)?,
    };
    let state = web::Data::new(State {
        lb: settings.lb.clone(),
        balancers: shared.store.table("lb_loadbalancers"),
        rate: shared.store.table("lb_rate_windows"),
        deleted: shared.store.table("lb_deleted"),
        compute: compute::ComputeCache::default(),
        rendered: common::render::RenderCache::default(),
    });
    let mut spec = spec(settings.lb.default_region.clone());
    let for_summary = web::Data::clone(&state);
    spec.summary = Some(Arc::new(move |ctx| {
        let state = web::Data::clone(&for_summary);
        Box::pin(async move { state.summary(&ctx).await })
    }));
    Application::build(spec, &settings.base, shared, move |cfg| {
        cfg.app_data(web::Data::clone(&state));
        routes::configure(cfg);
    })
}

/// A short-lived token of `tenant`, signed as this stack signs them: how the summary asks
/// Compute about the tenant's servers.
fn summary_token(ctx: &common::context::ServiceContext, tenant: &str, now_ms: i64) -> String {
    ctx.auth.codec().issue(&common::token::Claims::on_behalf_of(
        tenant,
        "understudy-console",
        now_ms / 1000,
        Some(300),
    ))
}

/// Tenant and region of a path: `/{region}/v1.0/{tenant}/...`, `/v1.0/{tenant}/...` (the
/// default region, unknown here) and the Mimic control forms under `/mimic/`.
pub fn route_info(path: &str, default_region: &str) -> RouteInfo {
    let path = path.strip_prefix("/mimic").unwrap_or(path);
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["v1.0", tenant, ..] => RouteInfo {
            tenant: Some((*tenant).to_string()),
            region: Some(default_region.to_string()),
            style: None,
        },
        [region, "v1.0", tenant, ..] => RouteInfo {
            tenant: Some((*tenant).to_string()),
            region: Some((*region).to_string()),
            style: None,
        },
        _ => RouteInfo::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_info_reads_tenant_and_region() {
        let i = route_info("/ORD/v1.0/123/loadbalancers", "ORD");
        assert_eq!(i.tenant.as_deref(), Some("123"));
        assert_eq!(i.region.as_deref(), Some("ORD"));
        let i = route_info("/v1.0/55/loadbalancers/1", "ORD");
        assert_eq!(i.tenant.as_deref(), Some("55"));
        let i = route_info("/mimic/DFW/v1.0/9/loadbalancer/1/attributes", "ORD");
        assert_eq!(i.region.as_deref(), Some("DFW"));
        assert!(route_info("/health", "ORD").tenant.is_none());
    }
}
