//! The control API every mock serves under [`CONTROL_PREFIX`]: health and readiness,
//! clock, reset and snapshot, journal, faults, metrics, catalog and its OpenAPI document.
//!
//! What a call means is the same in every topology (the launcher, three binaries,
//! Compose), because every mock keeps its own state (shared by the replicas of one
//! service on a Redis store, as is the stack's clock) and learns of its peers only
//! through the catalog, over HTTP:
//!
//! - **The clock is the stack's.** Every clock call (and Mimic's tick) changes this mock's
//!   clock, then sends the resulting state to every peer (`PUT /clock`); a peer that
//!   cannot be reached is named in the answer, whose status is then 502.
//! - **Everything else is this mock's**, unless widened: a fault rule without
//!   `match.service` is for the service whose control API received it; a rule that names
//!   another service is forwarded to the stack and kept by that service alone; reset,
//!   journal, faults and state read or change this mock only.
//! - **`?scope=stack`** widens a call to every mock of the catalog: writes are repeated
//!   on each (every answer reported under `results`), reads are merged (journal, faults)
//!   or listed per mock (state).
//!
//! A forwarded call carries the sender's store id and clock id, so a mock never applies
//! its own call twice and mocks that read one clock (the launcher's, or a stack's on one
//! Redis) move it once.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::{iso_micros, ClockChange, ClockState};
use crate::context::{
    admin_allowed, ServiceContext, ADMIN_TOKEN_REQUIRED, CONTROL_PREFIX, STORE_HEADER,
};
use crate::error::{ApiError, ErrorStyle};
use crate::faults::rules::{FaultRule, RuleError};
use crate::journal::JournalQuery;
use crate::json::Body;
use crate::store::{ClockError, StoreError};

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
    ("PUT", "/clock"),
    ("POST", "/clock/advance"),
    ("POST", "/clock/tick"),
    ("POST", "/clock/set"),
    ("POST", "/clock/freeze"),
    ("POST", "/clock/unfreeze"),
    ("POST", "/clock/reset"),
    ("POST", "/reset"),
    ("GET", "/state"),
    ("PUT", "/state"),
    ("GET", "/summary"),
    ("GET", "/journal"),
    ("GET", "/journal.har"),
    ("DELETE", "/journal"),
    ("PUT", "/journal/capacity"),
    ("GET", "/faults"),
    ("POST", "/faults"),
    ("DELETE", "/faults"),
    ("GET", "/faults/{id}"),
    ("DELETE", "/faults/{id}"),
    ("POST", "/revocations"),
];

const CLOCK_HEADER: &str = "x-understudy-clock";

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
        .route("/clock", web::put().to(put_clock))
        .route("/clock/advance", web::post().to(advance_clock))
        .route("/clock/tick", web::post().to(tick_clock))
        .route("/clock/set", web::post().to(set_clock))
        .route("/clock/freeze", web::post().to(freeze_clock))
        .route("/clock/unfreeze", web::post().to(unfreeze_clock))
        .route("/clock/reset", web::post().to(reset_clock))
        .route("/reset", web::post().to(reset))
        .route("/state", web::get().to(state))
        .route("/state", web::put().to(put_state))
        .route("/summary", web::get().to(summary))
        .route("/journal", web::get().to(get_journal))
        .route("/journal.har", web::get().to(get_journal_har))
        .route("/journal", web::delete().to(clear_journal))
        .route("/journal/capacity", web::put().to(set_journal_capacity))
        .route("/faults", web::get().to(list_faults))
        .route("/faults", web::post().to(create_fault))
        .route("/faults", web::delete().to(clear_faults))
        .route("/faults/{id}", web::get().to(get_fault))
        .route("/faults/{id}", web::delete().to(delete_fault))
        .route("/revocations", web::post().to(add_revocation))
        .default_service(web::to(|| async {
            control_error(StatusCode::NOT_FOUND, "no such control route").to_response()
        }))
}

fn control_error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorStyle::CONTROL, status, message)
}

fn out_of_range(e: crate::clock::OutOfRange) -> ApiError {
    control_error(StatusCode::BAD_REQUEST, e.to_string())
}

fn internal(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "control call failed");
    match e {
        StoreError::Unavailable(_) => control_error(
            StatusCode::SERVICE_UNAVAILABLE,
            crate::error::STORE_UNAVAILABLE,
        ),
        _ => control_error(StatusCode::INTERNAL_SERVER_ERROR, "the state store failed"),
    }
}

fn clock_error(e: ClockError) -> ApiError {
    match e {
        ClockError::OutOfRange(e) => out_of_range(e),
        ClockError::Store(e) => internal(e),
    }
}

/// Health, readiness and the catalog stay open; everything else needs the admin token
/// when one is configured.
async fn require_admin(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let ctx = req.app_data::<Ctx>().cloned();
    // A call this mock fanned out that came back to it (its own origin is in the catalog).
    let own_store = ctx.as_ref().map(|c| c.store.id().to_string());
    let from_self = req
        .headers()
        .get(STORE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|id| Some(id) == own_store.as_deref());
    if from_self {
        let skipped = HttpResponse::Ok().json(json!({"skipped": "this mock sent the call"}));
        return Ok(req.into_response(skipped));
    }
    let expected = ctx
        .map(|c| c.base.control.admin_token.clone())
        .unwrap_or_default();
    // The catalog is open too: it holds the URLs any token's catalog gives, and mocks of
    // the stack read it before they know any admin token's use.
    let open = ["/health", "/ready", "/catalog"]
        .iter()
        .any(|p| req.path().ends_with(p));
    if !open && !admin_allowed(&expected, req.headers()) {
        let e = control_error(StatusCode::UNAUTHORIZED, ADMIN_TOKEN_REQUIRED);
        return Ok(req.into_response(e.to_response()));
    }
    // `scope` widens a call to the stack; any other value is a mistake, not "this mock".
    let bad_scope = req
        .query_string()
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope="))
        .any(|v| v != "stack");
    if bad_scope {
        let e = control_error(StatusCode::BAD_REQUEST, "scope must be 'stack'");
        return Ok(req.into_response(e.to_response()));
    }
    next.call(req).await.map(|r| r.map_into_boxed_body())
}

async fn health(ctx: Ctx) -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "service": ctx.spec.name}))
}

/// Ready when what this mock needs is there: nothing, with a local catalog; the real
/// Identity, beside one (its peers come from the caller's token then); else the stack's
/// catalog at `catalog.identity_url`.
async fn ready(ctx: Ctx) -> HttpResponse {
    if let Err(why) = ctx.store.ping().await {
        return HttpResponse::ServiceUnavailable().json(json!({
            "ready": false,
            "service": ctx.spec.name,
            "waiting_for": [{"what": "store", "url": ctx.store.id(), "reason": why.to_string()}],
        }));
    }
    if ctx.catalog.is_local()
        || ctx.catalog.identity_url().is_empty() && !ctx.catalog.beside_real_identity()
    {
        return HttpResponse::Ok()
            .json(json!({"ready": true, "service": ctx.spec.name, "waiting_for": []}));
    }
    if ctx.catalog.beside_real_identity() {
        let url = ctx
            .catalog
            .remote()
            .map(|r| r.url.clone())
            .unwrap_or_default();
        return match ctx.catalog.remote_answers().await {
            Ok(()) => HttpResponse::Ok()
                .json(json!({"ready": true, "service": ctx.spec.name, "waiting_for": []})),
            Err(why) => HttpResponse::ServiceUnavailable().json(json!({
                "ready": false,
                "service": ctx.spec.name,
                "waiting_for": [{"what": "identity", "url": url, "reason": why}],
            })),
        };
    }
    match ctx.catalog.get().await {
        Ok(_) if ctx.clock_joined.load(std::sync::atomic::Ordering::Acquire) || try_join_clock(&ctx).await => {
            HttpResponse::Ok()
                .json(json!({"ready": true, "service": ctx.spec.name, "waiting_for": []}))
        }
        Ok(_) => HttpResponse::ServiceUnavailable().json(json!({
            "ready": false,
            "service": ctx.spec.name,
            "waiting_for": [{"what": "clock", "url": ctx.catalog.identity_url(), "reason": "the stack's clock is not read yet"}],
        })),
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

pub(crate) fn clock_view(ctx: &ServiceContext) -> Value {
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

fn scope_query(req: &HttpRequest) -> ScopeQuery {
    web::Query::<ScopeQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// Whether the call asks for the whole stack (`?scope=stack`).
fn is_stack(req: &HttpRequest) -> bool {
    scope_query(req).scope.as_deref() == Some("stack")
}

/// Whether the call was forwarded by another mock (which does the fanning out).
fn forwarded(req: &HttpRequest) -> bool {
    req.headers().contains_key(STORE_HEADER)
}

/// The query string without `scope`: what a forwarded call carries.
fn query_without_scope(req: &HttpRequest) -> String {
    req.query_string()
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("scope="))
        .collect::<Vec<_>>()
        .join("&")
}

/// Sends one control call to every mock of the catalog, this one included (it knows
/// itself by the store id and answers `skipped`). Each answer is reported as
/// `{"origin", "status", "body"}`, or `{"origin", "status": 0, "error"}` when the mock
/// cannot be reached; a catalog that cannot be had is reported the same way, under
/// Identity's origin. A mock with no `catalog.identity_url` and no local catalog is
/// alone: it has no peers.
pub async fn fan_out(
    ctx: &ServiceContext,
    method: reqwest::Method,
    path_and_query: &str,
    body: Option<Vec<u8>>,
) -> Vec<Value> {
    if ctx.catalog.identity_url().is_empty() && !ctx.catalog.is_local() {
        return Vec::new();
    }
    let origins = match ctx.catalog.get().await {
        Ok(c) => c.control_origins(),
        // Beside real services: no Understudy peers to tell.
        Err(_) if ctx.catalog.beside_real_identity() => return Vec::new(),
        Err(why) => {
            return vec![json!({"origin": ctx.catalog.identity_url(), "status": 0, "error": why})]
        }
    };
    let calls = origins.into_iter().map(|origin| {
        let mut call = ctx
            .http
            .request(method.clone(), format!("{origin}{path_and_query}"))
            .header(STORE_HEADER, ctx.store.id())
            .header(CLOCK_HEADER, ctx.store.clock_id());
        if !ctx.base.control.admin_token.is_empty() {
            call = call.header("x-admin-token", ctx.base.control.admin_token.clone());
        }
        if let Some(b) = &body {
            call = call
                .header("content-type", "application/json")
                .body(b.clone());
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
    futures_util::future::join_all(calls).await
}

/// The origins of fanned-out answers that were not 2xx (or never came).
pub fn failures(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .filter(|r| {
            !r["status"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s))
        })
        .map(|r| r["origin"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Takes the clock of the stack from Identity once, at start-up: a mock that starts (or
/// restarts) after a tick then reads the same time as its peers. Retries until Identity
/// answers (two minutes at most); `/ready` waits for it.
pub async fn join_stack_clock(ctx: web::Data<ServiceContext>) {
    for _ in 0..240 {
        if ctx.clock_joined.load(std::sync::atomic::Ordering::Acquire) || try_join_clock(&ctx).await
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    tracing::warn!("could not take the stack's clock from identity; this mock keeps its own");
}

/// One attempt of [`join_stack_clock`]: whether this mock now reads the stack's clock.
async fn try_join_clock(ctx: &ServiceContext) -> bool {
    let url = format!(
        "{}{CONTROL_PREFIX}/clock",
        ctx.catalog.identity_url().trim_end_matches('/')
    );
    let mut call = ctx
        .http
        .get(&url)
        .timeout(std::time::Duration::from_secs(2));
    if !ctx.base.control.admin_token.is_empty() {
        call = call.header("x-admin-token", ctx.base.control.admin_token.clone());
    }
    let view: Value = match call.send().await {
        Ok(res) if res.status().is_success() => res.json().await.unwrap_or(Value::Null),
        // Beside a real Identity, which has no Understudy clock: this mock's is the stack's.
        Ok(_) if ctx.catalog.beside_real_identity() => Value::String("alone".into()),
        _ => return false,
    };
    let state = clock_state_of(&view);
    if let Some(state) = state {
        // Into the shared store too, when there is one: Identity may keep its own.
        if ctx
            .store
            .change_clock(ClockChange::Replace(state))
            .await
            .is_err()
        {
            return false;
        }
    }
    ctx.clock_joined
        .store(true, std::sync::atomic::Ordering::Release);
    true
}

/// Sends this mock's clock state to every peer, so the whole stack reads one time.
/// Returns every answer and the origins that did not take it.
pub async fn spread_clock(ctx: &ServiceContext) -> (Vec<Value>, Vec<String>) {
    let state = serde_json::to_vec(&ctx.store.clock().state()).unwrap_or_default();
    let path = format!("{CONTROL_PREFIX}/clock");
    let results = fan_out(ctx, reqwest::Method::PUT, &path, Some(state)).await;
    let failed = failures(&results);
    if !failed.is_empty() {
        tracing::warn!(peers = ?failed, "the clock did not reach every mock of the stack");
    }
    (results, failed)
}

/// Answers a state-changing call: the local answer, or with `scope=stack` the local
/// answer and every other mock's under `results`.
async fn answer(
    ctx: &ServiceContext,
    req: &HttpRequest,
    body: Option<&[u8]>,
    status: StatusCode,
    local: Value,
) -> HttpResponse {
    if forwarded(req) || !is_stack(req) {
        return HttpResponse::build(status).json(local);
    }
    let mut results = vec![
        json!({"service": ctx.spec.name, "origin": "self", "status": status.as_u16(), "body": local}),
    ];
    let query = query_without_scope(req);
    let path = format!(
        "{}{}{query}",
        req.path(),
        if query.is_empty() { "" } else { "?" }
    );
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .unwrap_or(reqwest::Method::POST);
    results.extend(fan_out(ctx, method, &path, body.map(<[u8]>::to_vec)).await);
    stack_answer(status, results)
}

/// The answer of a write sent to the whole stack: every mock's answer under `results`,
/// and 502 naming under `unreached` the mocks that did not take it.
fn stack_answer(status: StatusCode, results: Vec<Value>) -> HttpResponse {
    let unreached = failures(&results);
    if unreached.is_empty() {
        return HttpResponse::build(status).json(json!({"results": results}));
    }
    HttpResponse::BadGateway().json(json!({
        "results": results,
        "unreached": unreached,
        "error": {
            "code": 502,
            "message": format!("the call did not reach {}", unreached.join(", ")),
        },
    }))
}

/// The path and query a stack-wide read asks every peer (its own, without `scope`).
fn stack_path(req: &HttpRequest) -> String {
    let query = query_without_scope(req);
    format!(
        "{}{}{query}",
        req.path(),
        if query.is_empty() { "" } else { "?" }
    )
}

/// Every peer's answer to `GET path_and_query` that can be merged (2xx, not the mock that
/// sent the call), and the peers not reached: what every stack-wide read gathers.
pub(crate) async fn peer_reads(
    ctx: &ServiceContext,
    path_and_query: &str,
) -> (Vec<Value>, Vec<String>) {
    let results = fan_out(ctx, reqwest::Method::GET, path_and_query, None).await;
    let unreached = failures(&results);
    let bodies = results
        .into_iter()
        .filter(|r| {
            r["status"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s))
                && r["body"]["skipped"].is_null()
        })
        .map(|mut r| r["body"].take())
        .collect();
    (bodies, unreached)
}

/// A clock call's answer: this mock's clock, every peer's answer under `stack`, and 502
/// naming the peers the new time did not reach. A call forwarded by a peer is answered
/// at once (the sender does the spreading).
async fn clock_changed(ctx: &ServiceContext, req: &HttpRequest) -> HttpResponse {
    let mut view = clock_view(ctx);
    if forwarded(req) {
        return HttpResponse::Ok().json(view);
    }
    let (results, failed) = spread_clock(ctx).await;
    view["stack"] = Value::Array(results);
    if failed.is_empty() {
        return HttpResponse::Ok().json(view);
    }
    view["error"] = json!({
        "code": 502,
        "message": format!("the clock did not reach {}", failed.join(", ")),
    });
    HttpResponse::BadGateway().json(view)
}

async fn get_clock(ctx: Ctx) -> HttpResponse {
    HttpResponse::Ok().json(clock_view(&ctx))
}

/// `PUT /clock`: the whole clock state, as another mock spreads it (or a user restores it).
async fn put_clock(ctx: Ctx, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    let state: ClockState = parse(&body.0)?;
    let same_clock = req
        .headers()
        .get(CLOCK_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|id| id == ctx.store.clock_id());
    if !same_clock {
        ctx.store
            .change_clock(ClockChange::Replace(state))
            .await
            .map_err(clock_error)?;
    }
    Ok(clock_changed(&ctx, &req).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    seconds: f64,
}

async fn advance_clock(ctx: Ctx, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    move_clock(&ctx, &req, &body, ClockChange::Advance).await
}

/// `POST /clock/tick {"seconds": n}`: Mimic's tick on any mock (frozen where it reads
/// now, then moved).
async fn tick_clock(ctx: Ctx, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    move_clock(&ctx, &req, &body, ClockChange::Tick).await
}

/// A clock call that takes `{"seconds": n}`.
async fn move_clock(
    ctx: &ServiceContext,
    req: &HttpRequest,
    body: &Body,
    change: fn(f64) -> ClockChange,
) -> Result<HttpResponse, ApiError> {
    let b: AdvanceBody = parse(&body.0)?;
    // Forward only: `clock/set` is how a test puts the clock back.
    if !b.seconds.is_finite() || b.seconds < 0.0 {
        return Err(control_error(
            StatusCode::BAD_REQUEST,
            "seconds must be a finite number, 0 or more",
        ));
    }
    ctx.store
        .change_clock(change(b.seconds))
        .await
        .map_err(clock_error)?;
    Ok(clock_changed(ctx, req).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBody {
    now: DateTime<Utc>,
}

async fn set_clock(ctx: Ctx, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    let b: SetBody = parse(&body.0)?;
    ctx.store
        .change_clock(ClockChange::Set(b.now))
        .await
        .map_err(clock_error)?;
    Ok(clock_changed(&ctx, &req).await)
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
    ctx.store
        .change_clock(ClockChange::Freeze(b.at))
        .await
        .map_err(clock_error)?;
    Ok(clock_changed(&ctx, &req).await)
}

async fn unfreeze_clock(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    ctx.store
        .change_clock(ClockChange::Unfreeze)
        .await
        .map_err(clock_error)?;
    Ok(clock_changed(&ctx, &req).await)
}

/// `POST /clock/reset`: back to wall time, running (after Mimic ticks froze it).
async fn reset_clock(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    ctx.store
        .change_clock(ClockChange::Reset)
        .await
        .map_err(clock_error)?;
    Ok(clock_changed(&ctx, &req).await)
}

async fn reset(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = web::Query::<ScopeQuery>::from_query(req.query_string())
        .map_err(|e| control_error(StatusCode::BAD_REQUEST, e.to_string()))?;
    // An empty tenant names no tenant; read as one, it would reset the records kept for
    // the whole stack (fault rules among them).
    if q.tenant.as_deref() == Some("") {
        return Err(control_error(
            StatusCode::BAD_REQUEST,
            "tenant must not be empty",
        ));
    }
    match &q.tenant {
        Some(t) => ctx.store.reset_tenant(t).await.map_err(internal)?,
        None => {
            ctx.store.reset().await.map_err(internal)?;
            ctx.journal.clear().await.map_err(internal)?;
        }
    }
    let local = json!({"reset": q.tenant.as_deref().unwrap_or("all")});
    Ok(answer(&ctx, &req, None, StatusCode::OK, local).await)
}

async fn state(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let snapshot = ctx.store.snapshot().await.map_err(internal)?;
    let counters = ctx.store.counters().await.map_err(internal)?;
    let local = json!({
        "service": ctx.spec.name,
        "clock": clock_view(&ctx),
        "tables": snapshot,
        "counters": counters,
    });
    if forwarded(&req) || !is_stack(&req) {
        return Ok(HttpResponse::Ok().json(local));
    }
    let mut services = vec![local];
    for r in fan_out(&ctx, reqwest::Method::GET, &stack_path(&req), None).await {
        if r["body"]["tables"].is_object() {
            services.push(r["body"].clone());
        } else if r["body"]["skipped"].is_null() {
            services.push(r);
        }
    }
    Ok(HttpResponse::Ok().json(json!({"services": services})))
}

/// `PUT /state`: puts back what `GET /state` gave, exactly (records with their ids,
/// counters, the clock). The body is one mock's snapshot, or a stack's
/// (`{"services": [...]}`), of which each mock takes its own; with `scope=stack` every
/// mock of the catalog is restored from the same body. A body this mock cannot take
/// (malformed, another service's, a record its tables cannot hold) is refused with 400
/// and changes nothing here.
async fn put_state(ctx: Ctx, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    let doc: Value = parse(&body.0)?;
    let bad = |m: String| control_error(StatusCode::BAD_REQUEST, m);
    let mine = match doc.get("services") {
        Some(Value::Array(all)) => all.iter().find(|s| s["service"] == ctx.spec.name).cloned(),
        Some(_) => return Err(bad("services must be a list of snapshots".into())),
        None if doc["service"] == ctx.spec.name => Some(doc.clone()),
        None if doc["service"].is_string() => {
            return Err(bad(format!(
                "this is a snapshot of {}, not of {}",
                doc["service"], ctx.spec.name
            )))
        }
        None => return Err(bad("a snapshot names its service".into())),
    };
    let stack = is_stack(&req) && !forwarded(&req);
    let restored = match mine {
        Some(snapshot) => {
            let image = crate::store::Image::parse(&snapshot["tables"], &snapshot["counters"])
                .map_err(bad)?;
            let clock = clock_state_of(&snapshot["clock"]);
            if !snapshot["clock"].is_null() && clock.is_none() {
                return Err(bad("clock: not a clock as GET /clock shows it".into()));
            }
            ctx.store.restore(&image).await.map_err(|e| match e {
                crate::store::RestoreError::Invalid(m) => bad(m),
                crate::store::RestoreError::Store(e) => internal(e),
            })?;
            if let Some(state) = clock {
                ctx.store
                    .change_clock(ClockChange::Replace(state))
                    .await
                    .map_err(clock_error)?;
            }
            true
        }
        // A stack snapshot without this mock: nothing of it to put back here.
        None if stack || forwarded(&req) => false,
        None => return Err(bad(format!("the snapshot has no {}", ctx.spec.name))),
    };
    let local = json!({"service": ctx.spec.name, "restored": restored});
    if !stack {
        return Ok(HttpResponse::Ok().json(local));
    }
    let path = format!("{CONTROL_PREFIX}/state");
    let results = fan_out(&ctx, reqwest::Method::PUT, &path, Some(body.0.to_vec())).await;
    let failed = failures(&results);
    let status = if failed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    let mut out = json!({"service": ctx.spec.name, "restored": restored, "stack": results});
    if !failed.is_empty() {
        out["error"] = json!({
            "code": 502,
            "message": format!("the state did not reach {}", failed.join(", ")),
        });
    }
    Ok(HttpResponse::build(status).json(out))
}

/// `GET /summary`: what this mock holds as its API shows it now (servers with status and
/// addresses, balancers with nodes), for people and the console; `scope=stack` lists
/// every mock's.
async fn summary(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let scopes = match &ctx.spec.summary {
        Some(f) => f(ctx.clone()).await.map_err(internal)?,
        None => json!({"scopes": []}),
    };
    let mut local = json!({"service": ctx.spec.name, "clock": clock_view(&ctx)});
    local["scopes"] = scopes["scopes"].clone();
    if forwarded(&req) || !is_stack(&req) {
        return Ok(HttpResponse::Ok().json(local));
    }
    let (peers, unreached) = peer_reads(&ctx, &stack_path(&req)).await;
    let mut services = vec![local];
    services.extend(peers.into_iter().filter(|b| b["scopes"].is_array()));
    Ok(HttpResponse::Ok().json(json!({"services": services, "unreached": unreached})))
}

/// The clock state a clock view (`GET /clock`) shows.
fn clock_state_of(view: &Value) -> Option<ClockState> {
    match (view["mode"].as_str(), view["now"].as_str()) {
        (Some("frozen"), Some(now)) => {
            crate::clock::parse_timestamp(now).map(|at| ClockState::Frozen { at })
        }
        (Some("running"), _) => view["offset_ms"]
            .as_i64()
            .map(|offset_ms| ClockState::Running { offset_ms }),
        _ => None,
    }
}

async fn get_journal(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (entries, capacity, unreached) = read_journal(&ctx, &req, "/journal").await?;
    match unreached {
        Some(unreached) => Ok(HttpResponse::Ok()
            .json(json!({"capacity": capacity, "entries": entries, "unreached": unreached}))),
        None => Ok(HttpResponse::Ok().json(json!({"capacity": capacity, "entries": entries}))),
    }
}

/// `GET /journal.har`: the same entries as `/journal` (same filters, `scope=stack`), as a
/// HAR 1.2 document for a browser's developer tools or a HAR viewer.
async fn get_journal_har(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (entries, _, unreached) = read_journal(&ctx, &req, "/journal").await?;
    let entries: Vec<crate::journal::JournalEntry> = entries
        .into_iter()
        .filter_map(|e| serde_json::from_value(e).ok())
        .collect();
    let mut har = crate::har::document(&entries);
    if let Some(unreached) = unreached.filter(|u| !u.is_empty()) {
        har["log"]["comment"] = json!(format!("not reached: {}", unreached.join(", ")));
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "content-disposition",
            "attachment; filename=\"understudy-journal.har\"",
        ))
        .json(har))
}

/// The journal entries a read asks for (this mock's, or the stack's one timeline with
/// `scope=stack`, read from every peer at `peer_path`), the capacity (0 for a stack
/// read) and, for a stack read, the mocks not reached.
async fn read_journal(
    ctx: &ServiceContext,
    req: &HttpRequest,
    peer_path: &str,
) -> Result<(Vec<Value>, usize, Option<Vec<String>>), ApiError> {
    let q = web::Query::<JournalQuery>::from_query(&query_without_scope(req))
        .map_err(|e| control_error(StatusCode::BAD_REQUEST, format!("bad journal query: {e}")))?;
    let mut entries: Vec<Value> = ctx
        .journal
        .query(&q)
        .await
        .map_err(internal)?
        .into_iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .collect();
    let capacity = ctx.journal.capacity().await.map_err(internal)?;
    if is_stack(req) && !forwarded(req) {
        let query = query_without_scope(req);
        let path = format!(
            "{CONTROL_PREFIX}{peer_path}{}{query}",
            if query.is_empty() { "" } else { "?" }
        );
        let (peers, unreached) = peer_reads(ctx, &path).await;
        for body in &peers {
            if let Some(items) = body["entries"].as_array() {
                entries.extend(items.iter().cloned());
            }
        }
        // One timeline, oldest first, as a single journal answers: by virtual time, then
        // (under a frozen clock, when many entries share one) by arrival.
        let key = |e: &Value| {
            (
                e["time"].as_str().and_then(crate::clock::parse_timestamp),
                e["received_us"].as_i64().unwrap_or_default(),
            )
        };
        entries.sort_by_key(key);
        if let Some(limit) = q.limit {
            let skip = entries.len().saturating_sub(limit);
            entries.drain(..skip);
        }
        return Ok((entries, 0, Some(unreached)));
    }
    Ok((entries, capacity, None))
}

/// The `key` arrays of every other mock's answer to this read, and the mocks that did
/// not answer. A stack read that reaches no peer at all is still answered: what could
/// not be read is named under `unreached`.
async fn merge_stack(
    ctx: &ServiceContext,
    req: &HttpRequest,
    key: &str,
) -> Result<(Vec<Value>, Vec<String>), ApiError> {
    let mut merged = Vec::new();
    let (peers, unreached) = peer_reads(ctx, &stack_path(req)).await;
    for body in &peers {
        if let Some(items) = body[key].as_array() {
            merged.extend(items.iter().cloned());
        }
    }
    Ok((merged, unreached))
}

async fn clear_journal(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    ctx.journal.clear().await.map_err(internal)?;
    if is_stack(&req) && !forwarded(&req) {
        let path = format!("{CONTROL_PREFIX}/journal");
        let results = fan_out(&ctx, reqwest::Method::DELETE, &path, None).await;
        return Ok(stack_answer(StatusCode::OK, results));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapacityBody {
    capacity: usize,
}

async fn set_journal_capacity(ctx: Ctx, body: Body) -> Result<HttpResponse, ApiError> {
    let b: CapacityBody = parse(&body.0)?;
    if b.capacity == 0 {
        return Err(control_error(
            StatusCode::BAD_REQUEST,
            "capacity must be at least 1",
        ));
    }
    ctx.journal
        .set_capacity(b.capacity)
        .await
        .map_err(internal)?;
    Ok(HttpResponse::Ok().json(json!({"capacity": b.capacity})))
}

async fn list_faults(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut rules: Vec<Value> = ctx
        .faults
        .list()
        .await
        .map_err(internal)?
        .into_iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    if is_stack(&req) && !forwarded(&req) {
        let (merged, unreached) = merge_stack(&ctx, &req, "faults").await?;
        rules.extend(merged);
        return Ok(HttpResponse::Ok().json(json!({"faults": rules, "unreached": unreached})));
    }
    Ok(HttpResponse::Ok().json(json!({"faults": rules})))
}

/// `POST /faults`. A rule without `match.service` is for this mock's service (and says
/// so once stored); one that names another service is forwarded to the stack and kept
/// only by that service; with `?scope=stack` every mock keeps a copy for itself. The id
/// is fixed before forwarding, so a rule has one id across the stack.
async fn create_fault(ctx: Ctx, req: HttpRequest, body: Body) -> Result<HttpResponse, ApiError> {
    let mut rule: FaultRule = parse(&body.0)?;
    crate::faults::rules::check(&rule).map_err(rule_error)?;
    if rule.id.is_empty() {
        rule.id = crate::faults::rules::new_rule_id();
    }
    let own = ctx.spec.name;
    if let Some(service) = rule.matcher.service.as_deref() {
        if service != own && !crate::faults::rules::SERVICES.contains(&service) {
            return Err(control_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "match.service must be one of {}",
                    crate::faults::rules::SERVICES.join(", ")
                ),
            ));
        }
    }
    let mine = rule.matcher.service.as_deref().is_none_or(|s| s == own);
    let stored = if mine {
        let mut local = rule.clone();
        local.matcher.service = Some(own.to_string());
        Some(ctx.faults.add(local).await.map_err(rule_error)?)
    } else {
        None
    };
    let stack = is_stack(&req);
    if forwarded(&req) || (mine && !stack) {
        return Ok(match stored {
            Some(r) => HttpResponse::Created().json(r),
            None => HttpResponse::Ok().json(json!({
                "skipped": format!("the rule is for another service; this is {own}"),
            })),
        });
    }
    let forwarded_rule = serde_json::to_vec(&rule).unwrap_or_default();
    let path = format!("{CONTROL_PREFIX}/faults");
    let results = fan_out(&ctx, reqwest::Method::POST, &path, Some(forwarded_rule)).await;
    if stack {
        let mut all = vec![json!({
            "service": own, "origin": "self",
            "status": if stored.is_some() { 201 } else { 200 },
            "body": stored.as_ref().map(|r| serde_json::to_value(r).unwrap_or(Value::Null)),
        })];
        all.extend(results);
        return Ok(stack_answer(StatusCode::CREATED, all));
    }
    // The rule named another service: answer as that service did.
    match results.iter().find(|r| r["status"] == 201) {
        Some(r) => Ok(HttpResponse::Created().json(&r["body"])),
        None => Err(control_error(
            StatusCode::BAD_GATEWAY,
            format!(
                "no mock of service {:?} took the rule (asked: {})",
                rule.matcher.service.as_deref().unwrap_or_default(),
                results
                    .iter()
                    .map(|r| r["origin"].as_str().unwrap_or("?"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

fn rule_error(e: RuleError) -> ApiError {
    match e {
        RuleError::Invalid(m) => control_error(StatusCode::BAD_REQUEST, m),
        RuleError::Store(e) => internal(e),
    }
}

async fn clear_faults(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    ctx.faults.clear().await.map_err(internal)?;
    Ok(answer(&ctx, &req, None, StatusCode::OK, json!({"cleared": true})).await)
}

/// `GET /faults/{id}`: the rule here, or wherever the stack keeps it (rules have one id
/// across the stack; one that names another service lives there).
async fn get_fault(
    ctx: Ctx,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if let Some(r) = ctx.faults.get(&id).await.map_err(internal)? {
        return Ok(HttpResponse::Ok().json(r));
    }
    if !forwarded(&req) {
        let path = format!("{CONTROL_PREFIX}/faults/{id}");
        let results = fan_out(&ctx, reqwest::Method::GET, &path, None).await;
        if let Some(r) = results
            .iter()
            .find(|r| r["status"] == 200 && r["body"]["id"].is_string())
        {
            return Ok(HttpResponse::Ok().json(&r["body"]));
        }
    }
    Err(control_error(
        StatusCode::NOT_FOUND,
        format!("no fault rule {id}"),
    ))
}

/// `DELETE /faults/{id}`: removes the rule here; a rule this mock does not hold is looked
/// for on the rest of the stack (rules have one id across it), as with `?scope=stack`.
async fn delete_fault(
    ctx: Ctx,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let removed = ctx.faults.remove(&id).await.map_err(internal)?;
    if forwarded(&req) {
        return if removed {
            Ok(HttpResponse::Ok().json(json!({"deleted": true})))
        } else {
            Err(control_error(
                StatusCode::NOT_FOUND,
                format!("no fault rule {id}"),
            ))
        };
    }
    // A rule id names one rule wherever the stack keeps it: the copies a stack-wide rule
    // gave every mock go with it.
    let path = format!("{CONTROL_PREFIX}/faults/{id}");
    let results = fan_out(&ctx, reqwest::Method::DELETE, &path, None).await;
    let elsewhere = results.iter().any(|r| r["body"]["deleted"] == true);
    if !removed && !elsewhere {
        return Err(control_error(
            StatusCode::NOT_FOUND,
            format!("no fault rule {id}"),
        ));
    }
    Ok(HttpResponse::Ok().json(json!({"deleted": true, "results": results})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevocationBody {
    id: String,
    expires_at: i64,
}

/// `POST /revocations`: a token Identity revoked, so this mock refuses it too.
async fn add_revocation(ctx: Ctx, body: Body) -> Result<HttpResponse, ApiError> {
    let b: RevocationBody = parse(&body.0)?;
    ctx.auth
        .add_revocation(&b.id, b.expires_at)
        .await
        .map_err(internal)?;
    Ok(HttpResponse::Ok().json(json!({"revoked": b.id})))
}

/// Tells every mock of the stack that a token is revoked; Identity calls this after
/// revoking locally. Mocks that cannot be told are logged, not fatal: the token is
/// revoked where it was issued whatever happens.
pub async fn spread_revocation(ctx: &ServiceContext, id: &str, expires_at: i64) {
    let body = serde_json::to_vec(&json!({"id": id, "expires_at": expires_at})).unwrap_or_default();
    let path = format!("{CONTROL_PREFIX}/revocations");
    let results = fan_out(ctx, reqwest::Method::POST, &path, Some(body)).await;
    let failed = failures(&results);
    if !failed.is_empty() {
        tracing::warn!(peers = ?failed, "a revocation did not reach every mock of the stack");
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        control_error(
            StatusCode::BAD_REQUEST,
            format!("invalid request body: {e}"),
        )
    })
}
