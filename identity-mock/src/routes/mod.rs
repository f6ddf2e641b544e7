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

pub mod mimic;
pub mod tokens;
pub mod users;
pub mod v3;
pub mod versions;

use std::collections::HashMap;

use actix_web::{web, HttpRequest};

use common::auth::UNAUTHORIZED_MESSAGE;
use common::context::ServiceContext;
use common::token::Claims;

use crate::error::IdentityError;
use crate::IdentityState;

pub(crate) type Ctx = web::Data<ServiceContext>;
pub(crate) type State = web::Data<IdentityState>;
/// Query parameters; a query that does not parse counts as empty (extra ones are ignored).
pub(crate) type Query = Result<web::Query<HashMap<String, String>>, actix_web::Error>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions::list_versions));
    for prefix in ["", "/identity"] {
        cfg.service(web::scope(&format!("{prefix}/v2.0")).configure(v2_routes));
        cfg.route(
            &format!("{prefix}/v1.1/mosso/{{tenant_id}}"),
            web::get().to(users::get_mosso_user),
        );
    }
    cfg.service(web::scope("/v3").configure(v3::configure));
    cfg.service(web::scope("/mimic").configure(mimic::configure));
}

fn v2_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(versions::get_v2))
        .route("/", web::get().to(versions::get_v2))
        // `/tokens/{id}[/endpoints]` is dispatched by hand: actix matches a `{token_id}`
        // pattern with a regex over the whole path, and a token is 300 characters long.
        .service(
            web::scope("/tokens")
                .route("", web::post().to(tokens::create_token))
                .route("", web::delete().to(tokens::delete_own_token))
                .default_service(web::to(tokens::token_routes)),
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
