//! Keystone v2.0 tenants and users, Rackspace API-key credentials, and the v1.1
//! `mosso` lookup otter's impersonating authenticator uses.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use common::auth::UNAUTHORIZED_MESSAGE;

use super::request::{caller, guard_v2, query_param, Ctx, Query, State};
use crate::domain::credentials::name_problem;
use crate::domain::user::User;
use crate::error::IdentityError;

/// `GET /v2.0/tenants`: the tenants of the `X-Auth-Token`'s user.
pub async fn list_tenants(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, IdentityError> {
    let claims = caller(&ctx, &req)
        .await
        .ok_or_else(|| IdentityError::unauthorized(UNAUTHORIZED_MESSAGE))?;
    let (id, name) = if claims.tenant_id.is_empty() || state.directory.is_strict() {
        match state.directory.user_of(&claims).await? {
            Some(u) => (u.tenant_id, u.tenant_name),
            None => return Err(IdentityError::unauthorized(UNAUTHORIZED_MESSAGE)),
        }
    } else {
        (claims.tenant_id, claims.tenant_name)
    };
    Ok(HttpResponse::Ok().json(json!({
        "tenants": [{"id": id, "name": name, "enabled": true}],
        "tenants_links": [],
    })))
}

fn user_body(u: &User, created: &str) -> Value {
    json!({
        "id": u.id,
        "username": u.name,
        "enabled": true,
        "email": format!("{}@example.com", u.name.replace(|c: char| c.is_whitespace(), "_")),
        "RAX-AUTH:defaultRegion": u.default_region,
        "RAX-AUTH:domainId": u.tenant_id,
        "RAX-AUTH:multiFactorEnabled": false,
        "created": created,
    })
}

/// `GET /v2.0/users?name=U`: one `user`, or the `users` list without `name`.
pub async fn list_users(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, IdentityError> {
    guard_v2(&ctx, &state, &req).await?;
    // Users have no creation record; every user reads as created when the clock began.
    let created = "2015-01-01T00:00:00.000Z";
    match query_param(&query, "name").filter(|n| !n.is_empty()) {
        Some(name) => {
            // A name no credentials could carry (control characters, too long) is no
            // user's, and is not remembered as one.
            let user = if name_problem(name).is_some() {
                None
            } else {
                state.directory.by_name(name).await?
            }
            .ok_or_else(|| IdentityError::not_found("User not found"))?;
            // Looked up, the user is seen: its tenant (the one answered) is settled.
            state
                .directory
                .settle(&user.name, &user.id, &user.tenant_id)
                .await?;
            Ok(HttpResponse::Ok().json(json!({"user": user_body(&user, created)})))
        }
        None => {
            let users: Vec<Value> = state
                .directory
                .list()
                .await?
                .iter()
                .map(|u| user_body(u, created))
                .collect();
            Ok(HttpResponse::Ok().json(json!({"users": users})))
        }
    }
}

async fn find_user(state: &State, id: &str) -> Result<User, IdentityError> {
    state
        .directory
        .by_id(id)
        .await?
        .ok_or_else(|| IdentityError::not_found(format!("User {id} not found")))
}

fn api_key_body(u: &User, key: &str) -> Value {
    json!({"RAX-KSKEY:apiKeyCredentials": {"username": u.name, "apiKey": key}})
}

/// `GET /v2.0/users/{user_id}/OS-KSADM/credentials`.
pub async fn list_credentials(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, IdentityError> {
    guard_v2(&ctx, &state, &req).await?;
    let user = find_user(&state, &path.into_inner()).await?;
    let credentials: Vec<Value> = user
        .api_key
        .as_deref()
        .map(|k| api_key_body(&user, k))
        .into_iter()
        .collect();
    Ok(HttpResponse::Ok().json(json!({"credentials": credentials, "credentials_links": []})))
}

/// `GET /v2.0/users/{user_id}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials`.
pub async fn get_api_key_credentials(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, IdentityError> {
    guard_v2(&ctx, &state, &req).await?;
    let id = path.into_inner();
    let user = find_user(&state, &id).await?;
    let key = user.api_key.as_deref().ok_or_else(|| {
        IdentityError::not_found(format!(
            "Credential type RAX-KSKEY:apiKeyCredentials was not found for User with Id: {id}"
        ))
    })?;
    Ok(HttpResponse::Ok().json(api_key_body(&user, key)))
}

/// `GET /v1.1/mosso/{tenant_id}`: 301 with `{"user": {"id": <username>}}`, as Mimic
/// answers (no `Location`; otter does not follow it and reads only `user.id`).
pub async fn get_mosso_user(
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, IdentityError> {
    let tenant = path.into_inner();
    let user =
        state.directory.by_tenant(&tenant).await?.ok_or_else(|| {
            IdentityError::not_found(format!("User with MossoId {tenant} not found"))
        })?;
    Ok(HttpResponse::build(StatusCode::MOVED_PERMANENTLY)
        .json(json!({"user": {"id": user.name, "enabled": true}})))
}
