//! identity's HTTP routes, one module per area:
//! - [`versions`]: version documents at `/`, `/v2.0`, `/v3`;
//! - [`tokens`]: v2.0 authentication, validation, revocation, endpoints, impersonation;
//! - [`users`]: v2.0 tenants, users, API-key credentials, and v1.1 `mosso`;
//! - [`v3`]: v3 tokens and projects;
//! - [`mimic`]: Mimic's identity control API (tick, presets, auth behaviours).
//!
//! The v2.0 routes are served at `/v2.0` and again under `/identity`, where Mimic served
//! them, so suites written for Mimic keep their URLs. Trailing slashes are ignored, as
//! Mimic ignored them.
//!
//! Every route is in the one table below, so `/metrics` labels each request with the
//! pattern it matched (`/v2.0/tokens/{token_id}`), never with a token or an id.

pub mod mimic;
pub mod tokens;
pub mod users;
pub mod v3;
pub mod versions;

use std::collections::HashMap;

use actix_web::{web, HttpRequest};

use common::auth::UNAUTHORIZED_MESSAGE;
use common::startup::ServiceContext;
use common::token::Claims;

use crate::error::IdentityError;
use crate::IdentityState;

pub(crate) type Ctx = web::Data<ServiceContext>;
pub(crate) type State = web::Data<IdentityState>;
/// Query parameters; a query that does not parse counts as empty (extra ones are ignored).
pub(crate) type Query = Result<web::Query<HashMap<String, String>>, actix_web::Error>;

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

/// A request header as text.
pub(crate) fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

pub(crate) fn query_param<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query
        .as_ref()
        .ok()
        .and_then(|q| q.get(name))
        .map(String::as_str)
}

/// The claims of the caller's `X-Auth-Token`, when it is a live token of this stack.
pub(crate) async fn caller(ctx: &Ctx, req: &HttpRequest) -> Option<Claims> {
    let token = header(req, "x-auth-token")?;
    ctx.auth.verify_local(token).await.ok()
}

/// Strict mode guards the lookup routes with a valid `X-Auth-Token`; open mode, like
/// Mimic, does not.
pub(crate) async fn guard_v2(
    ctx: &Ctx,
    state: &State,
    req: &HttpRequest,
) -> Result<(), IdentityError> {
    if state.directory.is_strict() && caller(ctx, req).await.is_none() {
        return Err(IdentityError::unauthorized(UNAUTHORIZED_MESSAGE));
    }
    Ok(())
}

/// `scheme://host` the client used to reach us, for links.
pub(crate) fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}
