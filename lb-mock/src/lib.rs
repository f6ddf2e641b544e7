//! lb-mock: a stateful stand-in for Rackspace Cloud Load Balancers v1.0.
//!
//! - [`configuration`]: settings (`[lb]`: regions, status timings, limits).
//! - [`domain`]: stored records, the pure status machine, and every resource's rules and
//!   validation with CLB's texts (no HTTP).
//! - [`state`]: the mock's state and its repositories (load, change, list, create and
//!   delete balancers; the rate windows), built once per process.
//! - [`routes`]: the CLB API under `/{region}/v1.0/{tenant_id}` and `/v1.0/{tenant_id}`
//!   as one actix route table (one file per resource), and Mimic's
//!   `cloudLoadBalancerControl` API under `/mimic/{region}/v1.0/{tenant_id}`.
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
pub mod state;

use std::sync::Arc;

use actix_web::web;

use common::context::{RouteInfo, ServiceSpec, Shared};
use common::startup::Application;

use crate::configuration::{LbSettings, Settings};
use crate::state::State;

pub use error::{BAD_JSON, NOT_FOUND};

/// What the mock tells `common` about itself: unprefixed routes are in the default
/// region, and only the configured regions are served.
pub fn spec(lb: &LbSettings) -> ServiceSpec {
    let default_region = lb.default_region.clone();
    let regions = lb.regions.clone();
    ServiceSpec {
        name: "lb",
        style: error::STYLE,
        bad_json: BAD_JSON,
        not_found: NOT_FOUND,
        route_info: Arc::new(move |path| route_info(path, &default_region, &regions)),
        fault_exempt: &["/mimic/"],
        rewrite_path: Some(routes::route_path),
        summary: None,
    }
}

/// Binds the listener and prepares the app; `shared` lets several mocks share one store.
pub fn build(settings: Settings, shared: Option<Shared>) -> std::io::Result<Application> {
    let shared = Shared::given_or_new(shared, &settings.base, "lb")?;
    let state = web::Data::new(State::new(settings.lb.clone(), &shared.store));
    let mut spec = spec(&settings.lb);
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

/// Tenant and region of a path: `/{region}/v1.0/{tenant}/...`, `/v1.0/{tenant}/...` (the
/// default region) and the Mimic control forms under `/mimic/`.
///
/// The region is the one the route serves the request in: routes match region names as
/// written, and only the configured (upper-case) ones, so `/ord/...` is served in no
/// region (an unknown route) and reports none: a fault rule for region `ORD` matches
/// exactly the requests served as ORD.
pub fn route_info(path: &str, default_region: &str, regions: &[String]) -> RouteInfo {
    RouteInfo::of_tenant_path(path, "v1.0", default_region, |region| {
        regions
            .iter()
            .any(|r| r == region)
            .then(|| region.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> Vec<String> {
        vec!["ORD".to_string(), "DFW".to_string()]
    }

    #[test]
    fn route_info_reads_tenant_and_region() {
        let i = route_info("/ORD/v1.0/123/loadbalancers", "ORD", &regions());
        assert_eq!(i.tenant.as_deref(), Some("123"));
        assert_eq!(i.region.as_deref(), Some("ORD"));
        let i = route_info("/v1.0/55/loadbalancers/1", "ORD", &regions());
        assert_eq!(i.tenant.as_deref(), Some("55"));
        assert_eq!(i.region.as_deref(), Some("ORD"));
        let i = route_info(
            "/mimic/DFW/v1.0/9/loadbalancer/1/attributes",
            "ORD",
            &regions(),
        );
        assert_eq!(i.region.as_deref(), Some("DFW"));
        assert!(route_info("/health", "ORD", &regions()).tenant.is_none());
    }

    #[test]
    fn route_info_reports_the_region_the_route_serves() {
        // Routes match region names case-sensitively: `ord` is no region, so nothing
        // served as ORD is reported for it (nor is an unknown region).
        for path in ["/ord/v1.0/123/loadbalancers", "/XYZ/v1.0/123/loadbalancers"] {
            let i = route_info(path, "ORD", &regions());
            assert_eq!(i.tenant.as_deref(), Some("123"), "{path}");
            assert_eq!(i.region, None, "{path}");
        }
        let i = route_info(
            "/mimic/dfw/v1.0/9/loadbalancer/1/attributes",
            "ORD",
            &regions(),
        );
        assert_eq!(i.region, None);
    }
}
