//! Understudy's Identity: a stand-in for Keystone v2.0 with Rackspace's extensions
//! (`RAX-KSKEY` API keys, `RAX-AUTH` impersonation, `/v1.1/mosso`), Keystone v3, and
//! Mimic's identity control API (`/mimic/v1.1/tick`, auth behaviours).
//!
//! How the parts fit:
//! - [`configuration`]: settings (`[identity]`: `open` or `strict` users) and defaults,
//!   including the catalog every token carries.
//! - [`domain`]: pure logic: users and the tenants they may use, request parsing, derived
//!   ids, what a new token says, token bodies, Mimic's auth failures.
//! - [`state`]: the handlers' state, built once: the users (who they are, in either
//!   mode, and what open mode remembers of them in the store), the catalog, issuing and
//!   revoking tokens, the registered auth behaviours.
//! - [`routes`]: the HTTP handlers, one module per API area, and the one route table.
//! - [`error`]: the v2 and v3 error formats.
//!
//! Tokens are `common::token` signed tokens: any mock of the stack validates them with
//! the shared key, v2 and v3 read the same claims, and revocation goes into the store.

pub mod configuration;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;

use actix_web::web;

use common::context::{RouteInfo, ServiceSpec, Shared};
use common::startup::Application;

use crate::configuration::Settings;
use crate::state::IdentityState;

/// What identity tells `common` about itself.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "identity",
        style: error::V2_STYLE,
        bad_json: domain::credentials::UNPARSABLE,
        not_found: error::NOT_FOUND,
        route_info: std::sync::Arc::new(route_info),
        fault_exempt: &["/mimic/"],
        rewrite_path: None,
        summary: None,
    }
}

/// Binds the listener and prepares the server; `shared` lets the launcher give several
/// mocks one store.
pub fn build(settings: Settings, shared: Option<Shared>) -> std::io::Result<Application> {
    let shared = Shared::given_or_new(shared, &settings.base, "identity")?;
    let state = web::Data::new(IdentityState::new(&settings, &shared.store));
    Application::build(spec(), &settings.base, shared, move |cfg| {
        cfg.app_data(web::Data::clone(&state));
        routes::configure(cfg);
    })
}

/// The tenant a path is about (`/v1.1/mosso/{tenant}` and
/// `/v2.0/tenants/{tenant}/OS-KSCATALOG/...` name one), and the v3 error format for `/v3`
/// paths.
fn route_info(path: &str) -> RouteInfo {
    let style = (path == "/v3" || path.starts_with("/v3/")).then_some(error::V3_STYLE);
    let path = path.strip_prefix("/identity").unwrap_or(path);
    let tenant = path
        .strip_prefix("/v1.1/mosso/")
        .map(|t| t.trim_end_matches('/'))
        .or_else(|| {
            path.strip_prefix("/v2.0/tenants/")
                .and_then(|rest| rest.split_once("/OS-KSCATALOG/"))
                .map(|(t, _)| t)
        })
        .map(str::to_string)
        .filter(|t| !t.is_empty());
    RouteInfo {
        tenant,
        region: None,
        style,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mosso_paths_name_a_tenant() {
        assert_eq!(route_info("/v1.1/mosso/123").tenant.as_deref(), Some("123"));
        assert_eq!(
            route_info("/identity/v1.1/mosso/123/").tenant.as_deref(),
            Some("123")
        );
        assert_eq!(route_info("/v2.0/tokens").tenant, None);
        assert_eq!(
            route_info("/identity/v2.0/tenants/77/OS-KSCATALOG/endpoints")
                .tenant
                .as_deref(),
            Some("77")
        );
        assert_eq!(route_info("/v2.0/tenants").tenant, None);
    }
}
