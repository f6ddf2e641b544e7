//! Understudy's Identity: a stand-in for Keystone v2.0 with Rackspace's extensions
//! (`RAX-KSKEY` API keys, `RAX-AUTH` impersonation, `/v1.1/mosso`), Keystone v3, and
//! Mimic's identity control API (`/mimic/v1.1/tick`, auth behaviours).
//!
//! How the parts fit:
//! - [`configuration`]: settings (`[identity]`: `open` or `strict` users) and defaults,
//!   including the catalog every token carries.
//! - [`directory`]: who the users are, in either mode.
//! - [`domain`]: pure logic: request parsing, derived ids, token bodies.
//! - [`routes`]: the HTTP handlers, one module per API area.
//! - [`error`]: the v2 and v3 error formats.
//!
//! Tokens are `common::token` signed tokens: any mock of the stack validates them with
//! the shared key, v2 and v3 read the same claims, and revocation goes into the store.

pub mod configuration;
pub mod directory;
pub mod domain;
pub mod error;
pub mod routes;

use actix_web::web;

use common::context::{RouteInfo, ServiceSpec, Shared};
use common::startup::Application;

use crate::configuration::Settings;
use crate::directory::Directory;
use crate::domain::keystone::KeystoneCatalog;

/// What identity tells `common` about itself.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "identity",
        style: error::V2_STYLE,
        bad_json: domain::credentials::UNPARSABLE,
        not_found: NOT_FOUND,
        route_info: std::sync::Arc::new(route_info),
        fault_exempt: &["/mimic/"],
        summary: None,
    }
}

/// The state of identity's handlers, built once and shared by every worker.
pub struct IdentityState {
    pub directory: Directory,
    pub catalog: KeystoneCatalog,
    pub token_ttl_s: i64,
    /// Whether issued tokens expire (`identity.token_expiry`, resolved).
    pub tokens_expire: bool,
    /// `GET /v2.0/tokens/{id}` answers by token, with the default region they show.
    pub validations: common::render::RenderCache<String, String>,
}

/// Binds the listener and prepares the server; `shared` lets the launcher give several
/// mocks one store.
pub fn build(settings: Settings, shared: Option<Shared>) -> std::io::Result<Application> {
    let shared = match shared {
        Some(s) => s,
        None => Shared::new(&settings.base, "identity").map_err(std::io::Error::other)?,
    };
    let state = web::Data::new(IdentityState {
        directory: Directory::new(&settings.identity, &shared.store),
        catalog: KeystoneCatalog::new(settings.base.catalog.clone()),
        token_ttl_s: i64::try_from(settings.base.auth.token_ttl_s).unwrap_or(i64::MAX / 2),
        tokens_expire: settings.identity.tokens_expire(),
        validations: common::render::RenderCache::default(),
    });
    Application::build(spec(), &settings.base, shared, move |cfg| {
        cfg.app_data(web::Data::clone(&state));
        routes::configure(cfg);
    })
}

/// The text of Identity's 404 for a route it does not serve.
pub const NOT_FOUND: &str = "Resource not found";

/// The tenant a path is about (only `/v1.1/mosso/{tenant}` names one), and the v3 error
/// format for `/v3` paths.
fn route_info(path: &str) -> RouteInfo {
    let style = (path == "/v3" || path.starts_with("/v3/")).then_some(error::V3_STYLE);
    let tenant = path
        .strip_prefix("/identity")
        .unwrap_or(path)
        .strip_prefix("/v1.1/mosso/")
        .map(|t| t.trim_end_matches('/').to_string())
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
    }
}
