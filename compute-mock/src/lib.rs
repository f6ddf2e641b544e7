//! compute-mock: a stand-in for Nova v2 as Rackspace ran it (Cloud Servers), with Mimic's
//! compute control routes.
//!
//! - [`configuration`]: settings (`[compute]`: regions, timings, quotas, flavors, images).
//! - [`domain`]: the server record and its status machine (a pure function of the record
//!   and the virtual clock), quotas, key pairs, paging, Mimic's creation plans.
//! - [`state`]: the repositories over `common`'s store, built once per process.
//! - [`routes`]: handlers named `verb_resource`, wire formats, links built from the
//!   request's Host, and Mimic's `behaviors/creation` and `attributes` control routes.
//! - [`error`]: Nova's error body and the mock's error type.
//!
//! Routes are served at `/{region}/v2/{tenant_id}` (the catalog's form) and at
//! `/v2/{tenant_id}` (the default region); Mimic's control routes at
//! `/mimic/{region}/v2/{tenant_id}`.

use std::sync::Arc;

use actix_web::web;
use common::context::{RouteInfo, ServiceSpec, Shared};
use common::startup::Application;

pub mod configuration;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;

use configuration::Settings;
use state::ComputeState;

/// What the mock tells `common` about itself; unprefixed routes are in `default_region`.
pub fn spec(default_region: String) -> ServiceSpec {
    ServiceSpec {
        name: "compute",
        style: error::NOVA,
        bad_json: "Malformed request body",
        not_found: error::NOT_FOUND,
        route_info: Arc::new(move |path| route_info(path, &default_region)),
        fault_exempt: &["/mimic/"],
        rewrite_path: None,
        summary: None,
    }
}

/// Tenant and region of `/{region}/v2/{tenant}/...`, `/v2/{tenant}/...` and
/// `/mimic/{region}/v2/{tenant}/...`.
pub fn route_info(path: &str, default_region: &str) -> RouteInfo {
    // The image service: Glance's error format, the region from the path.
    let mut segs = path.trim_start_matches('/').split('/');
    if let (Some(region), Some("images")) = (segs.next(), segs.next()) {
        if region != "v2" && region != "mimic" {
            return RouteInfo {
                tenant: None,
                region: Some(region.to_uppercase()),
                style: Some(error::GLANCE),
            };
        }
    }
    // Nova's routes read the region whatever its case.
    RouteInfo::of_tenant_path(path, "v2", default_region, |r| Some(r.to_uppercase()))
}

/// Builds the compute mock (bound, not yet running). `shared` lets a launcher run several
/// mocks over one store; `None` makes a store from settings.
pub fn build(settings: Settings, shared: Option<Shared>) -> std::io::Result<Application> {
    let shared = Shared::given_or_new(shared, &settings.base, "compute")?;
    let state = web::Data::new(ComputeState::new(settings.compute.clone(), &shared.store));
    let mut spec = spec(settings.compute.default_region.clone());
    let for_summary = web::Data::clone(&state);
    spec.summary = Some(Arc::new(move |_ctx| {
        let state = web::Data::clone(&for_summary);
        Box::pin(async move { state.summary().await })
    }));
    let rendered = web::Data::new(routes::RenderedServers::default());
    Application::build(spec, &settings.base, shared, move |cfg| {
        cfg.app_data(web::Data::clone(&state))
            .app_data(web::Data::clone(&rendered));
        routes::configure(cfg);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_info_reads_tenant_and_region() {
        let r = route_info("/DFW/v2/123/servers", "ORD");
        assert_eq!(r.tenant.as_deref(), Some("123"));
        assert_eq!(r.region.as_deref(), Some("DFW"));
        let r = route_info("/mimic/IAD/v2/9/attributes", "ORD");
        assert_eq!(
            (r.tenant.as_deref(), r.region.as_deref()),
            (Some("9"), Some("IAD"))
        );
        assert_eq!(
            route_info("/v2/77/servers", "ORD").tenant.as_deref(),
            Some("77")
        );
        assert!(route_info("/", "ORD").tenant.is_none());
    }
}
