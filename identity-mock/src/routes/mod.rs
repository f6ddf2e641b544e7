//! identity's HTTP routes, one module per area:
//! - [`versions`]: version documents at `/`, `/v2.0`, `/v3`;
//! - [`tokens`]: v2.0 authentication, validation, revocation, endpoints, impersonation;
//! - [`users`]: v2.0 tenants, users, API-key credentials, and v1.1 `mosso`;
//! - [`external`]: v2.0 OS-KSADM services and OS-KSCATALOG endpoint templates, the
//!   external APIs suites add to the catalog;
//! - [`v3`]: v3 tokens and projects;
//! - [`mimic`]: Mimic's identity control API (tick, presets, auth behaviours);
//! - [`request`]: what every handler reads from a request (headers, query, the caller's
//!   token, the base URL) and strict mode's guard.
//!
//! The v2.0 routes are served at `/v2.0` and again under `/identity`, where Mimic served
//! them, so suites written for Mimic keep their URLs. Trailing slashes are ignored, as
//! Mimic ignored them.
//!
//! Every route is in the one table below, so `/metrics` labels each request with the
//! pattern it matched (`/v2.0/tokens/{token_id}`), never with a token or an id.

mod external;
mod mimic;
mod request;
mod tokens;
mod users;
mod v3;
mod versions;

use actix_web::web;

/// Mounts every route of the mock. The patterns registered here are the route labels of
/// `/metrics` (`/v2.0/tokens/{token_id}/endpoints`). A method a route does not serve is
/// Identity's 404, as for any unknown route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions::list_versions));
    for prefix in ["", "/identity"] {
        cfg.service(web::scope(&format!("{prefix}/v2.0")).configure(v2_routes));
        cfg.route(
            &format!("{prefix}/v1.1/mosso/{{tenant_id}}"),
            web::get().to(users::get_mosso_user),
        );
    }
    cfg.service(web::scope("/v3").configure(v3_routes));
    cfg.service(web::scope("/mimic").configure(mimic_routes));
}

fn v2_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(versions::get_v2))
        .route("/", web::get().to(versions::get_v2))
        .route("/tokens", web::post().to(tokens::create_token))
        .route("/tokens", web::delete().to(tokens::delete_own_token))
        .route("/tokens/{token_id}", web::get().to(tokens::get_token))
        .route("/tokens/{token_id}", web::head().to(tokens::check_token))
        .route("/tokens/{token_id}", web::delete().to(tokens::delete_token))
        .route(
            "/tokens/{token_id}/endpoints",
            web::get().to(tokens::list_token_endpoints),
        )
        .route(
            "/RAX-AUTH/impersonation-tokens",
            web::post().to(tokens::create_impersonation_token),
        )
        .route("/tenants", web::get().to(users::list_tenants))
        .route("/users", web::get().to(users::list_users))
        .route(
            "/users/{user_id}/OS-KSADM/credentials",
            web::get().to(users::list_credentials),
        )
        .route(
            "/users/{user_id}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials",
            web::get().to(users::get_api_key_credentials),
        );
    // Mimic served the services at `/services`; Keystone documents `/OS-KSADM/services`.
    for services in ["/services", "/OS-KSADM/services"] {
        cfg.route(services, web::get().to(external::list_services))
            .route(services, web::post().to(external::create_service))
            .route(
                &format!("{services}/{{service_id}}"),
                web::get().to(external::get_service),
            )
            .route(
                &format!("{services}/{{service_id}}"),
                web::delete().to(external::delete_service),
            );
    }
    let templates = "/OS-KSCATALOG/endpointTemplates";
    let template = "/OS-KSCATALOG/endpointTemplates/{template_id}";
    let endpoints = "/tenants/{tenant_id}/OS-KSCATALOG/endpoints";
    let endpoint = "/tenants/{tenant_id}/OS-KSCATALOG/endpoints/{template_id}";
    cfg.route(templates, web::get().to(external::list_templates))
        .route(templates, web::post().to(external::create_template))
        .route(template, web::get().to(external::get_template))
        .route(template, web::put().to(external::replace_template))
        .route(template, web::delete().to(external::delete_template))
        .route(endpoints, web::get().to(external::list_tenant_endpoints))
        .route(endpoints, web::post().to(external::enable_tenant_endpoint))
        .route(
            endpoint,
            web::delete().to(external::disable_tenant_endpoint),
        );
}

fn v3_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(versions::get_v3))
        .route("/", web::get().to(versions::get_v3))
        .route("/auth/tokens", web::post().to(v3::create_token))
        .route("/auth/tokens", web::get().to(v3::get_token))
        .route("/auth/tokens", web::head().to(v3::check_token))
        .route("/auth/tokens", web::delete().to(v3::delete_token))
        .route("/auth/projects", web::get().to(v3::list_auth_projects))
        .route("/auth/catalog", web::get().to(v3::get_catalog))
        .route("/projects", web::get().to(v3::list_projects));
}

fn mimic_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1.1/tick", web::post().to(mimic::tick))
        .route("/v1.0/presets", web::get().to(mimic::get_presets))
        .route(
            "/v1.1/IdentityControlAPI/behaviors/auth",
            web::post().to(mimic::create_auth_behavior),
        )
        .route(
            "/v1.1/IdentityControlAPI/behaviors/auth/{behavior_id}",
            web::delete().to(mimic::delete_auth_behavior),
        );
}
