//! Keystone v3: `POST/GET/HEAD/DELETE /v3/auth/tokens` (the token travels in
//! `X-Subject-Token`), `GET /v3/auth/projects`, `GET /v3/auth/catalog`, `GET /v3/projects`.
//! Errors use v3's own `{"error": {...}}` format.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use common::error::ApiError;
use common::json::Body;
use common::token::Claims;

use super::request::{base_url, caller, header, query_param, Ctx, Query, State};
use crate::domain::credentials::{AuthMethod, TenantRef, UserRef};
use crate::domain::keystone::Format;
use crate::domain::render;
use crate::domain::token::{Expiry, NewToken};
use crate::domain::user::{Refusal, User};
use crate::domain::v3::{V3AuthRequest, V3Identity, V3Scope, V3User, DEFAULT_DOMAIN_ID};
use crate::error::{IdentityError, V3_FORBIDDEN, V3_UNAUTHORIZED};
use crate::state::{auth_failure, may_revoke, revoke};

const SUBJECT: &str = "X-Subject-Token";

fn unauthorized() -> IdentityError {
    IdentityError::v3(StatusCode::UNAUTHORIZED, V3_UNAUTHORIZED)
}

fn token_not_found(token: &str) -> IdentityError {
    IdentityError::v3(
        StatusCode::NOT_FOUND,
        format!("Could not find token: {token}."),
    )
}

async fn token_response(
    status: StatusCode,
    token: &str,
    claims: &Claims,
    state: &State,
    query: &Query,
) -> Result<HttpResponse, IdentityError> {
    let catalog = if !claims.tenant_id.is_empty() && query_param(query, "nocatalog").is_none() {
        Some(state.catalog_for(Format::V3, &claims.tenant_id).await?)
    } else {
        None
    };
    Ok(HttpResponse::build(status)
        .insert_header((SUBJECT, token))
        .json(std::collections::BTreeMap::from([(
            "token",
            render::v3_token(claims, catalog),
        )])))
}

/// `POST /v3/auth/tokens`: 201, the token in `X-Subject-Token`.
pub async fn create_token(
    ctx: Ctx,
    state: State,
    body: Result<Body, ApiError>,
    query: Query,
) -> Result<HttpResponse, IdentityError> {
    let body = body.map_err(|e| IdentityError::from(e).into_v3())?;
    let request = V3AuthRequest::parse(&body.0).map_err(|e| {
        IdentityError::v3(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            e.message,
        )
    })?;
    let presented = match &request.identity {
        V3Identity::Token { id } => Some(
            ctx.auth
                .verify_local(id)
                .await
                .map_err(|_| token_not_found(id))?,
        ),
        V3Identity::Password { .. } => None,
    };
    let username = match (&request.identity, &presented) {
        (
            V3Identity::Password {
                user: V3User::Name { name, .. },
                ..
            },
            _,
        ) => Some(name.as_str()),
        (_, Some(c)) => Some(c.user_name.as_str()),
        _ => None,
    };
    let requested = match &request.scope {
        V3Scope::ProjectId(id) => Some(TenantRef::Id(id.clone())),
        V3Scope::ProjectName { name, .. } => Some(TenantRef::Name(name.clone())),
        _ => None,
    };
    let requested_text = requested.as_ref().map(TenantRef::as_str);
    if let Some(f) = auth_failure(&ctx.behaviors, username, requested_text).await? {
        return Err(f.into_v3());
    }

    let (user, methods, expiry, impersonator, default_tenant): (User, _, _, _, _) =
        match (&request.identity, presented) {
            (V3Identity::Password { user, password }, _) => {
                let r = match user {
                    V3User::Id(id) => UserRef::Id(id.clone()),
                    V3User::Name { name, .. } => UserRef::Name(name.clone()),
                };
                let user = state
                    .directory
                    .by_password(&r, password)
                    .await?
                    .map_err(|_: Refusal| unauthorized())?;
                let tenant = (user.tenant_id.clone(), user.tenant_name.clone());
                (
                    user,
                    vec![AuthMethod::Password.as_str().to_string()],
                    Expiry::Default,
                    None,
                    tenant,
                )
            }
            (V3Identity::Token { .. }, Some(original)) => {
                let user = state
                    .directory
                    .user_of(&original)
                    .await?
                    .ok_or_else(unauthorized)?;
                let mut methods = original.methods.clone();
                let token = AuthMethod::Token.as_str();
                if !methods.iter().any(|m| m == token) {
                    methods.push(token.to_string());
                }
                // Keystone keeps the original expiry: a token cannot extend itself.
                let tenant = (original.tenant_id.clone(), original.tenant_name.clone());
                (
                    user,
                    methods,
                    Expiry::of(&original),
                    original.impersonator,
                    tenant,
                )
            }
            (V3Identity::Token { id }, None) => return Err(token_not_found(id)),
        };
    let tenant = match &request.scope {
        V3Scope::Default => default_tenant,
        V3Scope::Unscoped | V3Scope::Domain(_) => (String::new(), String::new()),
        V3Scope::Unsupported(_) => return Err(unauthorized()),
        V3Scope::ProjectId(_) | V3Scope::ProjectName { .. } => user
            .tenant_for(requested.as_ref())
            .ok_or_else(unauthorized)?,
    };
    let (token, claims) = state.issue(
        &ctx,
        NewToken {
            user: &user,
            tenant,
            methods,
            expiry,
            impersonator,
        },
    );
    // The first token settles the user's project; see the v2.0 route.
    if !state
        .directory
        .settle(&claims.user_name, &claims.user_id, &claims.tenant_id)
        .await?
    {
        return Err(unauthorized());
    }
    token_response(StatusCode::CREATED, &token, &claims, &state, &query).await
}

/// Strict mode wants a live `X-Auth-Token` on validation; open mode does not.
async fn guard_v3(ctx: &Ctx, state: &State, req: &HttpRequest) -> Result<(), IdentityError> {
    if state.directory.is_strict() && caller(ctx, req).await.is_none() {
        return Err(unauthorized());
    }
    Ok(())
}

async fn subject(
    ctx: &Ctx,
    state: &State,
    req: &HttpRequest,
) -> Result<(String, Claims), IdentityError> {
    guard_v3(ctx, state, req).await?;
    let token = header(req, SUBJECT)
        .ok_or_else(|| IdentityError::v3(StatusCode::NOT_FOUND, "No token in the request"))?;
    let claims = ctx
        .auth
        .verify_local(token)
        .await
        .map_err(|_| token_not_found(token))?;
    Ok((token.to_string(), claims))
}

/// `GET /v3/auth/tokens`: 200, the same body as issue (`?nocatalog` drops the catalog).
pub async fn get_token(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, IdentityError> {
    let (token, claims) = subject(&ctx, &state, &req).await?;
    token_response(StatusCode::OK, &token, &claims, &state, &query).await
}

/// `HEAD /v3/auth/tokens`: the status of `GET`, no body.
pub async fn check_token(ctx: Ctx, state: State, req: HttpRequest) -> HttpResponse {
    let status = match subject(&ctx, &state, &req).await {
        Ok(_) => StatusCode::OK,
        Err(e) => actix_web::ResponseError::status_code(&e),
    };
    HttpResponse::build(status).finish()
}

/// `DELETE /v3/auth/tokens`: 204, and the token is revoked for v2 and v3 alike. As the
/// v2.0 route, in either user mode: the caller's `X-Auth-Token` (401 without a valid one)
/// may revoke its own tenant's tokens, an identity admin's any; another is a 403.
pub async fn delete_token(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, IdentityError> {
    let by = caller(&ctx, &req).await.ok_or_else(unauthorized)?;
    let (_, claims) = subject(&ctx, &state, &req).await?;
    if !may_revoke(&by, &claims) {
        return Err(IdentityError::v3(StatusCode::FORBIDDEN, V3_FORBIDDEN));
    }
    revoke(&ctx, &claims).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The projects (tenants) the caller's user may scope to.
async fn projects_of(
    ctx: &Ctx,
    state: &State,
    req: &HttpRequest,
) -> Result<Vec<(String, String)>, IdentityError> {
    let claims = caller(ctx, req).await.ok_or_else(unauthorized)?;
    if !claims.tenant_id.is_empty() && !state.directory.is_strict() {
        return Ok(vec![(claims.tenant_id, claims.tenant_name)]);
    }
    let user = state
        .directory
        .user_of(&claims)
        .await?
        .ok_or_else(unauthorized)?;
    Ok(vec![(user.tenant_id, user.tenant_name)])
}

fn project(base: &str, id: &str, name: &str) -> Value {
    json!({
        "domain_id": DEFAULT_DOMAIN_ID,
        "enabled": true,
        "id": id,
        "name": name,
        "links": {"self": format!("{base}/v3/projects/{id}")},
    })
}

/// `GET /v3/auth/projects`.
pub async fn list_auth_projects(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, IdentityError> {
    let base = base_url(&req);
    let projects: Vec<Value> = projects_of(&ctx, &state, &req)
        .await?
        .iter()
        .map(|(id, name)| project(&base, id, name))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "projects": projects,
        "links": {"self": format!("{base}/v3/auth/projects"), "previous": null, "next": null},
    })))
}

/// `GET /v3/projects`: the caller's projects, in the admin list's shape.
pub async fn list_projects(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, IdentityError> {
    let base = base_url(&req);
    let projects: Vec<Value> = projects_of(&ctx, &state, &req)
        .await?
        .iter()
        .map(|(id, name)| {
            let mut p = project(&base, id, name);
            p["is_domain"] = json!(false);
            p["description"] = Value::Null;
            p["parent_id"] = Value::Null;
            p["tags"] = json!([]);
            p
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "projects": projects,
        "links": {"self": format!("{base}/v3/projects"), "previous": null, "next": null},
    })))
}

/// `GET /v3/auth/catalog`: needs a project-scoped token (403 otherwise).
pub async fn get_catalog(
    ctx: Ctx,
    req: HttpRequest,
    state: State,
) -> Result<HttpResponse, IdentityError> {
    let claims = caller(&ctx, &req).await.ok_or_else(unauthorized)?;
    if claims.tenant_id.is_empty() {
        return Err(IdentityError::v3(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform the requested action.",
        ));
    }
    Ok(HttpResponse::Ok().json(render::WithCatalog::new(
        json!({"links": {"self": format!("{}/v3/auth/catalog", base_url(&req))}}),
        "catalog",
        Some(state.catalog_for(Format::V3, &claims.tenant_id).await?),
    )))
}
