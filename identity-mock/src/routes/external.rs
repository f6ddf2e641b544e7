//! External APIs a suite adds to the catalog: OS-KSADM services (`/services`, also at
//! Keystone's `/OS-KSADM/services`), OS-KSCATALOG endpoint templates, and the templates
//! enabled for one tenant (`/tenants/{tenant_id}/OS-KSCATALOG/endpoints`).
//!
//! As in Mimic, these routes want an `X-Auth-Token` header (401 `Authentication
//! required` without one) but not a particular token in open mode. Strict mode wants a
//! live token (401), an identity admin's to change anything (403 `Not Authorized`, as
//! Rackspace's admin routes), and, to list a tenant's endpoints, that tenant's or an
//! admin's. The service a template belongs to may be named by Mimic's `serviceid` header
//! or Keystone's `?serviceId=`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use common::auth::UNAUTHORIZED_MESSAGE;
use common::json::Body;

use super::request::{caller, header, query_param, segment, Ctx, Query, State};
use crate::domain::external::{
    self, check_put_id, parse_enable, parse_service, parse_template, Template,
    TEMPLATE_NOT_ENABLED, TEMPLATE_NOT_FOUND,
};
use crate::error::IdentityError;
use crate::state::is_identity_admin;

/// Mimic's 400 for a body that is not JSON, on these routes.
const INVALID_JSON: &str = "Invalid JSON request body";

fn json_of(body: &Body) -> Result<Value, IdentityError> {
    serde_json::from_slice(&body.0).map_err(|_| IdentityError::bad_request(INVALID_JSON))
}

/// Mimic's 401 for these routes when no token is given at all.
const AUTHENTICATION_REQUIRED: &str = "Authentication required";

/// Rackspace's 403 for a token that may not do this.
const NOT_AUTHORIZED: &str = "Not Authorized";

/// Who may call: in open mode anyone with a token; in strict mode a live token, an
/// identity admin's to change anything, that tenant's (or an admin's) for `Tenant`.
enum May<'a> {
    Read,
    Change,
    Tenant(&'a str),
}

async fn guard(
    ctx: &Ctx,
    state: &State,
    req: &HttpRequest,
    may: May<'_>,
) -> Result<(), IdentityError> {
    if header(req, "x-auth-token").is_none() {
        return Err(IdentityError::unauthorized(AUTHENTICATION_REQUIRED));
    }
    if !state.directory.is_strict() {
        return Ok(());
    }
    let claims = caller(ctx, req)
        .await
        .ok_or_else(|| IdentityError::unauthorized(UNAUTHORIZED_MESSAGE))?;
    let allowed = match may {
        May::Read => true,
        May::Change => is_identity_admin(&claims),
        May::Tenant(t) => claims.tenant_id == t || is_identity_admin(&claims),
    };
    if allowed {
        Ok(())
    } else {
        Err(IdentityError::v2(StatusCode::FORBIDDEN, NOT_AUTHORIZED))
    }
}

/// The service a template call names: the `serviceid` header, else `?serviceId=`.
fn service_named<'a>(req: &'a HttpRequest, query: &'a Query) -> Option<&'a str> {
    header(req, "serviceid").or_else(|| query_param(query, "serviceId"))
}

fn created(body: Value) -> HttpResponse {
    HttpResponse::Created().json(body)
}

/// A template as its routes answer it.
fn template_body(t: &Template) -> Value {
    json!({"OS-KSCATALOG:endpointTemplate": t.to_json()})
}

/// `GET /v2.0/services`: every external service, in the order they were added.
pub async fn list_services(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Read).await?;
    let registry = state.external.registry().await?;
    let services: Vec<Value> = registry.services.iter().map(|s| s.to_json()).collect();
    Ok(HttpResponse::Ok()
        .json(json!({"OS-KSADM:services": services, "OS-KSADM:services_links": []})))
}

/// `POST /v2.0/services`: 201 and the service (its `id` made when none is given).
pub async fn create_service(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Change).await?;
    let service = parse_service(&json_of(&body)?, || uuid::Uuid::new_v4().to_string())?;
    state
        .external
        .change(|r| r.add_service(service.clone()))
        .await??;
    Ok(created(json!({"OS-KSADM:service": service.to_json()})))
}

/// `GET /v2.0/services/{service_id}`.
pub async fn get_service(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Read).await?;
    let registry = state.external.registry().await?;
    let service = registry
        .service(segment(&req, "service_id"))
        .ok_or_else(|| IdentityError::not_found(external::API_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(json!({"OS-KSADM:service": service.to_json()})))
}

/// `DELETE /v2.0/services/{service_id}`: 204; a service with templates stays (409).
pub async fn delete_service(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Change).await?;
    let id = segment(&req, "service_id");
    state.external.change(|r| r.remove_service(id)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v2.0/OS-KSCATALOG/endpointTemplates`: every template (of one service, when
/// one is named), service by service.
pub async fn list_templates(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Read).await?;
    let registry = state.external.registry().await?;
    let templates: Vec<Value> = registry
        .templates(service_named(&req, &query))?
        .into_iter()
        .map(|t| t.to_json())
        .collect();
    // Mimic's keys, which suites read.
    Ok(HttpResponse::Ok().json(json!({
        "OS-KSCATALOG": templates,
        "OS-KSCATALOG:endpointsTemplates_links": [],
    })))
}

/// `POST /v2.0/OS-KSCATALOG/endpointTemplates`: 201 and the template. It joins the
/// service named, else the service whose name is the template's.
pub async fn create_template(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    query: Query,
    body: Body,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Change).await?;
    let template = parse_template(&json_of(&body)?)?;
    let service = service_named(&req, &query);
    let kept = state
        .external
        .change(|r| r.add_template(service, template.clone()))
        .await??;
    Ok(created(template_body(&kept)))
}

/// `GET /v2.0/OS-KSCATALOG/endpointTemplates/{template_id}`.
pub async fn get_template(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Read).await?;
    let registry = state.external.registry().await?;
    let (_, template) = registry
        .template(segment(&req, "template_id"))
        .ok_or_else(|| IdentityError::not_found(TEMPLATE_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(template_body(template)))
}

/// `PUT /v2.0/OS-KSCATALOG/endpointTemplates/{template_id}`: the whole template
/// replaced (a field left out is back to its default); 201, as Mimic answered.
pub async fn replace_template(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    query: Query,
    body: Body,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Change).await?;
    let id = segment(&req, "template_id");
    let body = json_of(&body)?;
    check_put_id(&body, id)?;
    let template = parse_template(&body)?;
    let service = service_named(&req, &query);
    let kept = state
        .external
        .change(|r| r.replace_template(id, service, template.clone()))
        .await??;
    Ok(created(template_body(&kept)))
}

/// `DELETE /v2.0/OS-KSCATALOG/endpointTemplates/{template_id}`: 204; no tenant has it
/// enabled any more.
pub async fn delete_template(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Change).await?;
    let id = segment(&req, "template_id");
    let service = service_named(&req, &query);
    state
        .external
        .change(|r| r.remove_template(id, service))
        .await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v2.0/tenants/{tenant_id}/OS-KSCATALOG/endpoints`: the templates the tenant
/// sees (enabled for everyone, or for it), of one service when one is named.
pub async fn list_tenant_endpoints(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, IdentityError> {
    let tenant = segment(&req, "tenant_id");
    guard(&ctx, &state, &req, May::Tenant(tenant)).await?;
    let registry = state.external.registry().await?;
    let only = service_named(&req, &query);
    if let Some(id) = only {
        registry
            .service(id)
            .ok_or_else(|| IdentityError::not_found(external::API_NOT_FOUND))?;
    }
    let enabled = state.external.enabled_for(tenant).await?;
    let endpoints: Vec<Value> = registry
        .visible(&enabled)
        .into_iter()
        .filter(|(s, _)| only.is_none_or(|id| s.id == id))
        .flat_map(|(_, templates)| templates)
        .map(|t| t.to_tenant_json(tenant))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"endpoints": endpoints, "endpoints_links": []})))
}

/// `POST /v2.0/tenants/{tenant_id}/OS-KSCATALOG/endpoints`: enables a template for the
/// tenant; 201 and the endpoint it now has.
pub async fn enable_tenant_endpoint(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Change).await?;
    let tenant = segment(&req, "tenant_id");
    let id = parse_enable(&json_of(&body)?)?;
    let registry = state.external.registry().await?;
    let (_, template) = registry
        .template(&id)
        .ok_or_else(|| IdentityError::not_found(TEMPLATE_NOT_FOUND))?;
    state.external.enable(tenant, template, &registry).await?;
    Ok(created(
        json!({"endpoint": template.to_tenant_json(tenant)}),
    ))
}

/// `DELETE /v2.0/tenants/{tenant_id}/OS-KSCATALOG/endpoints/{template_id}`: 204, or 404
/// when it was not enabled for the tenant. A template enabled for everyone stays in the
/// tenant's catalog all the same.
pub async fn disable_tenant_endpoint(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, IdentityError> {
    guard(&ctx, &state, &req, May::Change).await?;
    let tenant = segment(&req, "tenant_id");
    let registry = state.external.registry().await?;
    let (_, template) = registry
        .template(segment(&req, "template_id"))
        .ok_or_else(|| IdentityError::not_found(TEMPLATE_NOT_FOUND))?;
    if !state.external.disable(tenant, template).await? {
        return Err(IdentityError::not_found(TEMPLATE_NOT_ENABLED));
    }
    Ok(HttpResponse::NoContent().finish())
}
