//! Keystone v2.0 tokens: `POST /tokens` (password, API key, token), validation
//! (`GET`/`HEAD /tokens/{token_id}` with `belongsTo`), revocation, the flattened catalog of a
//! token, and Rackspace impersonation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use common::auth::UNAUTHORIZED_MESSAGE;
use common::json::Body;
use common::token::Claims;

use super::request::{caller, guard_v2, query_param, segment, Ctx, Query, State};
use crate::domain::credentials::{
    AuthMethod, AuthRequest, Credential, ImpersonationRequest, TenantRef, UserRef,
};
use crate::domain::keystone::Format;
use crate::domain::render;
use crate::domain::token::{Expiry, NewToken};
use crate::domain::user::{Refusal, User};
use crate::error::IdentityError;
use crate::state::{auth_failure, may_revoke, revoke};

const WRONG_PASSWORD: &str = "Unable to authenticate user with credentials provided.";
const WRONG_API_KEY: &str = "Username or api key is invalid.";
const BAD_TOKEN: &str = "Token not authenticated.";
const TOKEN_NOT_FOUND: &str = "Token not found.";
/// Rackspace's revoke says it without the period.
const REVOKE_NOT_FOUND: &str = "Token not found";
/// Rackspace's 403.
const NOT_AUTHORIZED: &str = "Not Authorized";

fn tenant_mismatch(tenant: &str, user_name: &str, user_id: &str) -> IdentityError {
    IdentityError::unauthorized(format!(
        "Tenant with Name/Id: '{tenant}' is not valid for User '{user_name}' (id: '{user_id}')"
    ))
}

fn token_tenant_mismatch(t: &str) -> String {
    format!("Token doesn't belong to Tenant with Id/Name: '{t}'")
}

/// Password and API-key credentials: a new token for the user in the tenant asked for.
fn sign_in(
    ctx: &Ctx,
    state: &State,
    found: Result<User, Refusal>,
    method: AuthMethod,
    tenant: Option<&TenantRef>,
) -> Result<(String, Claims), IdentityError> {
    let user = found.map_err(|r| {
        IdentityError::unauthorized(match r {
            Refusal::WrongPassword => WRONG_PASSWORD,
            Refusal::WrongApiKey => WRONG_API_KEY,
        })
    })?;
    let scope = match (user.tenant_for(tenant), tenant) {
        (Some(scope), _) => scope,
        (None, Some(t)) => return Err(tenant_mismatch(t.as_str(), &user.name, &user.id)),
        (None, None) => return Err(IdentityError::unauthorized(WRONG_PASSWORD)),
    };
    Ok(state.issue(
        ctx,
        NewToken {
            user: &user,
            tenant: scope,
            methods: vec![method.as_str().to_string()],
            expiry: Expiry::Default,
            impersonator: None,
        },
    ))
}

/// Token credentials: Rackspace answers with the very token presented; asking for
/// another tenant gives a token for it (same user, methods and expiry) if the user may
/// use it.
async fn rescope(
    ctx: &Ctx,
    state: &State,
    token: &str,
    original: Claims,
    tenant: Option<&TenantRef>,
) -> Result<(String, Claims), IdentityError> {
    let Some(t) =
        tenant.filter(|t| t.as_str() != original.tenant_id && t.as_str() != original.tenant_name)
    else {
        return Ok((token.to_string(), original));
    };
    let user = state
        .directory
        .user_of(&original)
        .await?
        .ok_or_else(|| IdentityError::unauthorized(BAD_TOKEN))?;
    let scope = user
        .tenant_for(Some(t))
        .ok_or_else(|| IdentityError::unauthorized(token_tenant_mismatch(t.as_str())))?;
    Ok(state.issue(
        ctx,
        NewToken {
            user: &user,
            tenant: scope,
            methods: original.methods.clone(),
            expiry: Expiry::of(&original),
            impersonator: original.impersonator.clone(),
        },
    ))
}

/// `POST /v2.0/tokens`: 200 with `access.{token,user,serviceCatalog}`.
pub async fn create_token(
    ctx: Ctx,
    state: State,
    body: Body,
) -> Result<HttpResponse, IdentityError> {
    let request = AuthRequest::parse(&body.0).map_err(|e| IdentityError::bad_request(e.0))?;
    let presented = match &request.credential {
        Credential::Token { id } => Some(ctx.auth.verify_local(id).await),
        _ => None,
    };
    let username = match (&request.credential, &presented) {
        (
            Credential::Password {
                user: UserRef::Name(n),
                ..
            },
            _,
        ) => Some(n.as_str()),
        (Credential::ApiKey { username, .. }, _) => Some(username.as_str()),
        (_, Some(Ok(claims))) => Some(claims.user_name.as_str()),
        _ => None,
    };
    let tenant_text = request.tenant.as_ref().map(TenantRef::as_str);
    if let Some(f) = auth_failure(&ctx.behaviors, username, tenant_text).await? {
        return Err(f.into_v2());
    }

    let tenant = request.tenant.as_ref();
    let (token, claims) = match &request.credential {
        Credential::Token { id } => {
            let original = presented
                .and_then(Result::ok)
                .ok_or_else(|| IdentityError::unauthorized(BAD_TOKEN))?;
            rescope(&ctx, &state, id, original, tenant).await?
        }
        Credential::Password { user, password } => {
            let found = state.directory.by_password(user, password).await?;
            sign_in(&ctx, &state, found, request.credential.method(), tenant)?
        }
        Credential::ApiKey { username, api_key } => {
            let found = state.directory.by_api_key(username, api_key).await?;
            sign_in(&ctx, &state, found, request.credential.method(), tenant)?
        }
    };
    // The first token settles the user's tenant; one issued at the same moment for
    // another tenant (another worker or replica) loses, and is not handed out.
    let settled = state
        .directory
        .settle(&claims.user_name, &claims.user_id, &claims.tenant_id)
        .await?;
    if !settled {
        return Err(match &request.credential {
            Credential::Token { .. } => {
                IdentityError::unauthorized(token_tenant_mismatch(&claims.tenant_id))
            }
            _ => tenant_mismatch(&claims.tenant_id, &claims.user_name, &claims.user_id),
        });
    }
    let catalog = if claims.tenant_id.is_empty() {
        render::no_catalog()
    } else {
        state.catalog_for(Format::V2, &claims.tenant_id).await?
    };
    let region = state.directory.default_region(&claims.user_name);
    Ok(json_answer(render::v2_access(
        &token, &claims, region, &catalog,
    )))
}

fn json_answer(body: impl actix_web::body::MessageBody + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body)
}

/// The `{token_id}` of `/tokens/{token_id}[/endpoints]`, as the path carries it.
fn token_id(req: &HttpRequest) -> &str {
    segment(req, "token_id")
}

/// Validation shared by `GET` and `HEAD`: the token's claims, or the 404.
async fn validate(
    ctx: &Ctx,
    state: &State,
    req: &HttpRequest,
    token: &str,
    query: &Query,
) -> Result<Claims, IdentityError> {
    guard_v2(ctx, state, req).await?;
    let claims = ctx
        .auth
        .verify_local(token)
        .await
        .map_err(|_| IdentityError::not_found(TOKEN_NOT_FOUND))?;
    if let Some(t) = query_param(query, "belongsTo").filter(|t| !t.is_empty()) {
        if t != claims.tenant_id && t != claims.tenant_name {
            return Err(IdentityError::not_found(token_tenant_mismatch(t)));
        }
    }
    Ok(claims)
}

/// `GET /v2.0/tokens/{token_id}[?belongsTo=T]`: the token and its user, no catalog.
pub async fn get_token(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, IdentityError> {
    let token = token_id(&req);
    let claims = validate(&ctx, &state, &req, token, &query).await?;
    // A token's answer is a function of the token (its claims are signed into it) and the
    // user's default region; expiry and revocation were checked above, every time.
    let region = state.directory.default_region(&claims.user_name);
    Ok(json_answer(state.validations.lock().get_or_render(
        token,
        |r| r == region,
        || region.to_string(),
        |r| render::v2_validation(token, &claims, r),
    )))
}

/// `HEAD /v2.0/tokens/{token_id}`: the status of `GET`, with no body.
pub async fn check_token(ctx: Ctx, state: State, req: HttpRequest, query: Query) -> HttpResponse {
    let status = match validate(&ctx, &state, &req, token_id(&req), &query).await {
        Ok(_) => StatusCode::OK,
        Err(e) => actix_web::ResponseError::status_code(&e),
    };
    HttpResponse::build(status).finish()
}

/// `DELETE /v2.0/tokens/{token_id}`: 204; the token fails validation everywhere after.
/// An admin call, as in Rackspace, in either user mode: the caller's `X-Auth-Token` (401
/// without a valid one) may revoke its own tenant's tokens (its own included), an identity
/// admin's any token; another tenant's token is a 403 and stays valid.
pub async fn delete_token(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, IdentityError> {
    let by = caller(&ctx, &req)
        .await
        .ok_or_else(|| IdentityError::unauthorized(UNAUTHORIZED_MESSAGE))?;
    let claims = ctx
        .auth
        .verify_local(token_id(&req))
        .await
        .map_err(|_| IdentityError::not_found(REVOKE_NOT_FOUND))?;
    if !may_revoke(&by, &claims) {
        return Err(IdentityError::v2(StatusCode::FORBIDDEN, NOT_AUTHORIZED));
    }
    revoke(&ctx, &claims).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /v2.0/tokens`: revokes the caller's own `X-Auth-Token`.
pub async fn delete_own_token(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, IdentityError> {
    let claims = caller(&ctx, &req)
        .await
        .ok_or_else(|| IdentityError::unauthorized(UNAUTHORIZED_MESSAGE))?;
    revoke(&ctx, &claims).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v2.0/tokens/{token_id}/endpoints`: the token's catalog, flattened.
pub async fn list_token_endpoints(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, IdentityError> {
    guard_v2(&ctx, &state, &req).await?;
    let claims = ctx
        .auth
        .verify_local(token_id(&req))
        .await
        .map_err(|_| IdentityError::not_found(TOKEN_NOT_FOUND))?;
    let endpoints = if claims.tenant_id.is_empty() {
        render::no_catalog()
    } else {
        state
            .catalog_for(Format::V2Endpoints, &claims.tenant_id)
            .await?
    };
    Ok(HttpResponse::Ok().json(render::WithCatalog::new(
        json!({"endpoints_links": []}),
        "endpoints",
        Some(endpoints),
    )))
}

/// `POST /v2.0/RAX-AUTH/impersonation-tokens`: a token for another user, carrying the
/// impersonator (the caller's `X-Auth-Token`; required in strict mode, optional in open
/// mode as in Mimic).
pub async fn create_impersonation_token(
    ctx: Ctx,
    state: State,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, IdentityError> {
    let request =
        ImpersonationRequest::parse(&body.0).map_err(|e| IdentityError::bad_request(e.0))?;
    let username = request.username.as_str();
    let impersonator = caller(&ctx, &req).await;
    if impersonator.is_none() && state.directory.is_strict() {
        return Err(IdentityError::unauthorized(UNAUTHORIZED_MESSAGE));
    }
    if let Some(f) = auth_failure(&ctx.behaviors, Some(username), None).await? {
        return Err(f.into_v2());
    }
    let user = state
        .directory
        .by_name(username)
        .await?
        .ok_or_else(|| IdentityError::not_found("User not found"))?;
    let by = impersonator
        .map(|c| (c.user_id, c.user_name))
        .unwrap_or_else(|| (String::new(), "anonymous".to_string()));
    let now = ctx.store.clock().now().timestamp();
    let tenant = (user.tenant_id.clone(), user.tenant_name.clone());
    let (token, claims) = state.issue(
        &ctx,
        NewToken {
            user: &user,
            tenant,
            methods: vec![AuthMethod::Impersonate.as_str().to_string()],
            expiry: Expiry::At(now.saturating_add(request.lifetime_s)),
            impersonator: Some(by),
        },
    );
    if !state
        .directory
        .settle(&claims.user_name, &claims.user_id, &claims.tenant_id)
        .await?
    {
        return Err(tenant_mismatch(
            &claims.tenant_id,
            &claims.user_name,
            &claims.user_id,
        ));
    }
    Ok(HttpResponse::Ok().json(json!({"access": {"token": {
        "id": token,
        "expires": render::v2_time(claims.expires_at()),
        "RAX-AUTH:authenticatedBy": claims.methods,
    }}})))
}
