//! The control API every mock serves under [`CONTROL_PREFIX`]: health and readiness,
//! clock, reset and snapshot, journal, faults, metrics, catalog and its OpenAPI document.
//!
//! Calls that change state accept `?scope=stack`: the mock acts, then forwards the same
//! call to every other mock listed in the catalog and reports each answer. A forwarded
//! call carries the sender's store id, so mocks that share one store (the launcher) act
//! once.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::{iso_micros, ClockState};
use crate::error::{ApiError, ErrorStyle};
use crate::faults::FaultRule;
use crate::journal::JournalQuery;
use crate::json::{Body, Json};
use crate::startup::{ServiceContext, CONTROL_PREFIX};

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("control-openapi.json");

/// Every route of the control API, as (method, path under the prefix); the OpenAPI test
/// checks the document against this list and this list against the running server.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("GET", "/catalog"),
    ("GET", "/clock"),
    ("POST", "/clock/advance"),
    ("POST", "/clock/set"),
    ("POST", "/clock/freeze"),
    ("POST", "/clock/unfreeze"),
    ("POST", "/reset"),
    ("GET", "/state"),
    ("GET", "/journal"),
    ("DELETE", "/journal"),
    ("PUT", "/journal/capacity"),
    ("GET", "/faults"),
    ("POST", "/faults"),
    ("DELETE", "/faults"),
    ("GET", "/faults/{id}"),
    ("DELETE", "/faults/{id}"),
];

const STORE_HEADER: &str = "x-understudy-store";

type Ctx = web::Data<ServiceContext>;

pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope(CONTROL_PREFIX)
        .wrap(actix_web::middleware::from_fn(require_admin))
        .route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready))
        .route("/openapi.json", web::get().to(openapi))
        .route("/metrics", web::get().to(metrics))
        .route("/catalog", web::get().to(catalog))
        .route("/clock", web::get().to(get_clock))
        .route("/clock/advance", web::post().to(advance_clock))
        .route("/clock/set", web::post().to(set_clock))
        .route("/clock/freeze", web::post().to(freeze_clock))
        .route("/clock/unfreeze", web::post().to(unfreeze_clock))
        .route("/reset", web::post().to(reset))
        .route("/state", web::get().to(state))
        .route("/journal", web::get().to(get_journal))
        .route("/journal", web::delete().to(clear_journal))
        .route("/journal/capacity", web::put().to(set_journal_capacity))
        .route("/faults", web::get().to(list_faults))
        .route("/faults", web::post().to(create_fault))
        .route("/faults", web::delete().to(clear_faults))
        .route("/faults/{id}", web::get().to(get_fault))
        .route("/faults/{id}", web::delete().to(delete_fault))
        .default_service(web::to(|| async {
            control_error(StatusCode::NOT_FOUND, "no such control route").to_response()
        }))
}

fn control_error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorStyle::CONTROL, status, message)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "control call failed");
    control_error(StatusCode::INTERNAL_SERVER_ERROR, "the state store failed")
}

/// Health and readiness are probes and stay open; everything else needs the admin token
/// when one is configured.
async fn require_admin(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let ctx = req.app_data::<Ctx>().cloned();
    let expected = ctx
        .map(|c| c.base.control.admin_token.clone())
        .unwrap_or_default();
    let open = req.path().ends_with("/health") || req.path().ends_with("/ready");
    if !expected.is_empty() && !open {
        let given = req
            .headers()
            .get("x-admin-token")
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                req.headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
            });
        let ok = given.is_some_and(|g| {
            subtle::ConstantTimeEq::ct_eq(g.as_bytes(), expected.as_bytes()).into()
        });
        if !ok {
            let e = control_error(StatusCode::UNAUTHORIZED, "admin token required");
            return Ok(req.into_response(e.to_response()));
        }
    }
    next.call(req).await.map(|r| r.map_into_boxed_body())
}

async fn health(ctx: Ctx) -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "service": ctx.spec.name}))
}

async fn ready(ctx: Ctx) -> HttpResponse {
    if ctx.catalog.is_local() {
        return HttpResponse::Ok()
            .json(json!({"ready": true, "service": ctx.spec.name, "waiting_for": []}));
    }
    match ctx.catalog.get().await {
        Ok(_) => HttpResponse::Ok()
            .json(json!({"ready": true, "service": ctx.spec.name, "waiting_for": []})),
        Err(why) => HttpResponse::ServiceUnavailable().json(json!({
            "ready": false,
            "service": ctx.spec.name,
            "waiting_for": [{"what": "catalog", "url": ctx.catalog.identity_url(), "reason": why}],
        })),
    }
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

async fn metrics(ctx: Ctx) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(ctx.metrics.render())
}

async fn catalog(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let c = ctx
        .catalog
        .get()
        .await
        .map_err(|why| control_error(StatusCode::SERVICE_UNAVAILABLE, why))?;
    Ok(HttpResponse::Ok().json(c.settings()))
}

fn clock_view(ctx: &ServiceContext) -> Value {
    let state = ctx.store.clock().state();
    let now = ctx.store.clock().now();
    let (mode, offset_ms) = match state {
        ClockState::Running { offset_ms } => ("running", Some(offset_ms)),
        ClockState::Frozen { .. } => ("frozen", None),
    };
    json!({"now": iso_micros(now), "mode": mode, "offset_ms": offset_ms})
}

#[derive(Deserialize, Default)]
struct ScopeQuery {
    scope: Option<String>,
    tenant: Option<String>,
}

/// Whether this call came from a mock that shares our store (then we must not act).
fn already_applied(ctx: &ServiceContext, req: &HttpRequest) -> bool {
    req.headers()
        .get(STORE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|id| id == ctx.store.id())
}

/// Answers a state-changing call: the local answer, or with `scope=stack` the local
/// answer and every other mock's.
async fn answer(
    ctx: &ServiceContext,
    req: &HttpRequest,
    body: Option<&[u8]>,
    status: StatusCode,
    local: Value,
) -> HttpResponse {
    let q = web::Query::<ScopeQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    if q.scope.as_deref() != Some("stack") {
        return HttpResponse::build(status).json(local);
    }
    let mut results = vec![
        json!({"service": ctx.spec.name, "origin": "self", "status": status.as_u16(), "body": local}),
    ];
    let origins = match ctx.catalog.get().await {
        Ok(c) => c.control_origins(),
        Err(why) => {
            results.push(json!({"origin": ctx.catalog.identity_url(), "status": 0, "error": why}));
            Vec::new()
        }
    };
    let query: String = req
        .query_string()
        .split('&')
        .filter(|kv| !kv.starts_with("scope="))
        .collect::<Vec<_>>()
        .join("&");
    let futures = origins.into_iter().map(|origin| {
        let url = format!(
            "{origin}{}{}{query}",
            req.path(),
            if query.is_empty() { "" } else { "?" }
        );
        let method = Method::from_bytes(req.method().as_str().as_bytes()).unwrap_or(Method::POST);
        let mut call = ctx
            .http
            .request(
                reqwest::Method::from_bytes(method.as_str().as_bytes())
                    .unwrap_or(reqwest::Method::POST),
                &url,
            )
            .header(STORE_HEADER, ctx.store.id());
        if !ctx.base.control.admin_token.is_empty() {
            call = call.header("x-admin-token", ctx.base.control.admin_token.clone());
        }
        if let Some(b) = body {
            call = call
                .header("content-type", "application/json")
                .body(b.to_vec());
        }
        async move {
            match call.send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    json!({"origin": origin, "status": status, "body": body})
                }
                Err(e) => json!({"origin": origin, "status": 0, "error": e.to_string()}),
            }
        }
    });
    results.extend(futures_util::future::join_all(futures).await);
    HttpResponse::build(status).json(json!({"results": results}))
}

fn shared_skip() -> HttpResponse {
    HttpResponse::Ok().json(json!({"skipped": "this mock shares its state with the sender"}))
}

async fn get_clock(ctx: Ctx) -> HttpResponse {
    HttpResponse::Ok().json(clock_view(&ctx))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    seconds: f64,
}

async fn advance_clock(ctx: Ctx, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    let b: AdvanceBody = parse(&body.0)?;
    if !b.seconds.is_finite() {
        return Err(control_error(
            StatusCode::BAD_REQUEST,
            "seconds must be a finite number",
        ));
    }
    if !already_applied(&ctx, &req) {
        ctx.store.clock().advance(b.seconds);
    } else {
        return Ok(shared_skip());
    }
    Ok(answer(&ctx, &req, Some(&body.0), StatusCode::OK, clock_view(&ctx)).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBody {
    now: DateTime<Utc>,
}

async fn set_clock(ctx: Ctx, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    let b: SetBody = parse(&body.0)?;
    if already_applied(&ctx, &req) {
        return Ok(shared_skip());
    }
    ctx.store.clock().set(b.now);
    Ok(answer(&ctx, &req, Some(&body.0), StatusCode::OK, clock_view(&ctx)).await)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FreezeBody {
    at: Option<DateTime<Utc>>,
}

async fn freeze_clock(ctx: Ctx, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    let b: FreezeBody = if body.0.is_empty() {
        FreezeBody::default()
    } else {
        parse(&body.0)?
    };
    if already_applied(&ctx, &req) {
        return Ok(shared_skip());
    }
    ctx.store.clock().freeze(b.at);
    Ok(answer(&ctx, &req, Some(&body.0), StatusCode::OK, clock_view(&ctx)).await)
}

async fn unfreeze_clock(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    if already_applied(&ctx, &req) {
        return shared_skip();
    }
    ctx.store.clock().unfreeze();
    answer(&ctx, &req, None, StatusCode::OK, clock_view(&ctx)).await
}

async fn reset(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = web::Query::<ScopeQuery>::from_query(req.query_string())
        .map_err(|e| control_error(StatusCode::BAD_REQUEST, e.to_string()))?;
    if already_applied(&ctx, &req) {
        return Ok(shared_skip());
    }
    match &q.tenant {
        Some(t) => ctx.store.reset_tenant(t).await.map_err(internal)?,
        None => {
            ctx.store.reset().await.map_err(internal)?;
            ctx.journal.clear();
        }
    }
    let local = json!({"reset": q.tenant.as_deref().unwrap_or("all")});
    Ok(answer(&ctx, &req, None, StatusCode::OK, local).await)
}

async fn state(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let snapshot = ctx.store.snapshot().await.map_err(internal)?;
    Ok(HttpResponse::Ok().json(json!({"clock": clock_view(&ctx), "tables": snapshot})))
}

async fn get_journal(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = web::Query::<JournalQuery>::from_query(req.query_string())
        .map_err(|e| control_error(StatusCode::BAD_REQUEST, format!("bad journal query: {e}")))?;
    let entries = ctx.journal.query(&q);
    Ok(HttpResponse::Ok().json(json!({"capacity": ctx.journal.capacity(), "entries": entries})))
}

async fn clear_journal(ctx: Ctx) -> HttpResponse {
    ctx.journal.clear();
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapacityBody {
    capacity: usize,
}

async fn set_journal_capacity(
    ctx: Ctx,
    Json(b): Json<CapacityBody>,
) -> Result<HttpResponse, ApiError> {
    if b.capacity == 0 {
        return Err(control_error(
            StatusCode::BAD_REQUEST,
            "capacity must be at least 1",
        ));
    }
    ctx.journal.set_capacity(b.capacity);
    Ok(HttpResponse::Ok().json(json!({"capacity": b.capacity})))
}

async fn list_faults(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let rules = ctx.faults.list().await.map_err(internal)?;
    Ok(HttpResponse::Ok().json(json!({"faults": rules})))
}

async fn create_fault(ctx: Ctx, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    let rule: FaultRule = parse(&body.0)?;
    if already_applied(&ctx, &req) {
        return Ok(shared_skip());
    }
    let rule = ctx.faults.add(rule).await.map_err(|e| match e {
        crate::faults::RuleError::Invalid(m) => control_error(StatusCode::BAD_REQUEST, m),
        crate::faults::RuleError::Store(e) => internal(e),
    })?;
    // Forward with the id fixed, so the rule has one id across the stack.
    let forwarded = serde_json::to_vec(&rule).unwrap_or_default();
    let local = serde_json::to_value(&rule).unwrap_or(Value::Null);
    Ok(answer(&ctx, &req, Some(&forwarded), StatusCode::CREATED, local).await)
}

async fn clear_faults(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if already_applied(&ctx, &req) {
        return Ok(shared_skip());
    }
    ctx.faults.clear().await.map_err(internal)?;
    Ok(answer(&ctx, &req, None, StatusCode::OK, json!({"cleared": true})).await)
}

async fn get_fault(ctx: Ctx, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match ctx.faults.get(&id).await.map_err(internal)? {
        Some(r) => Ok(HttpResponse::Ok().json(r)),
        None => Err(control_error(
            StatusCode::NOT_FOUND,
            format!("no fault rule {id}"),
        )),
    }
}

async fn delete_fault(
    ctx: Ctx,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if already_applied(&ctx, &req) {
        return Ok(shared_skip());
    }
    let removed = ctx.faults.remove(&id).await.map_err(internal)?;
    let q = web::Query::<ScopeQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    if !removed && q.scope.as_deref() != Some("stack") {
        return Err(control_error(
            StatusCode::NOT_FOUND,
            format!("no fault rule {id}"),
        ));
    }
    Ok(answer(
        &ctx,
        &req,
        None,
        StatusCode::OK,
        json!({"deleted": removed}),
    )
    .await)
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        control_error(
            StatusCode::BAD_REQUEST,
            format!("invalid request body: {e}"),
        )
    })
}
