//! Start-up of one mock: bind first (port 0 works), wrap the mock's routes in the shared
//! pipeline, serve until SIGINT/SIGTERM.
//!
//! The pipeline, in order, for every request: request id; oversized-body check; fault
//! rules (never on the control API); the mock's handler; journal and metrics. Unknown
//! routes and the control API are added here too, so every mock has them.

use std::net::TcpListener;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;

use crate::auth::Authenticator;
use crate::behaviors::Behaviors;
use crate::catalog::CatalogClient;
use crate::error::{ApiError, ErrorStyle};
use crate::faults::{delay_ms, Action, Decision, FaultEngine, RequestFacts, MAX_HOLD_MS};
use crate::journal::{Exchange, Journal, JournalEntry, KeptBody};
use crate::metrics::Metrics;
use crate::settings::BaseSettings;
use crate::store::{Store, StoreError};

/// The prefix of the control API every mock serves; no emulated route starts with it.
pub const CONTROL_PREFIX: &str = "/_understudy/v1";

/// What a mock can tell from a path alone, before routing: the tenant and region it is
/// about (for fault rules and the journal) and, when one API answers in two formats
/// (Keystone v2 and v3), the error style of that path.
#[derive(Debug, Clone, Default)]
pub struct RouteInfo {
    pub tenant: Option<String>,
    pub region: Option<String>,
    pub style: Option<ErrorStyle>,
}

/// Reads a [`RouteInfo`] from a path; a closure, so it can know settings (the default
/// region of unprefixed routes).
pub type RouteInfoFn = Arc<dyn Fn(&str) -> RouteInfo + Send + Sync>;

/// What a mock tells `common` about itself.
#[derive(Clone)]
pub struct ServiceSpec {
    /// `identity`, `compute` or `lb`: the name fault rules and the journal use.
    pub name: &'static str,
    pub style: ErrorStyle,
    /// The API's text for a body that is not valid JSON.
    pub bad_json: &'static str,
    /// The API's text for an unknown route.
    pub not_found: &'static str,
    pub route_info: RouteInfoFn,
    /// Mimic's control routes: generic faults never touch them, and the admin token
    /// guards them as it guards the control API.
    pub fault_exempt: &'static [&'static str],
    /// What the mock holds, as its API shows it now (statuses judged on the clock):
    /// `GET /_understudy/v1/summary` and the console's State panel.
    pub summary: Option<SummaryFn>,
}

/// A mock's summary of its state: `{"scopes": [{"tenant", "region", ...}]}`.
pub type SummaryFn = Arc<
    dyn Fn(
            web::Data<ServiceContext>,
        )
            -> futures_util::future::LocalBoxFuture<'static, Result<serde_json::Value, StoreError>>
        + Send
        + Sync,
>;

/// The state of one mock: its store (with the clock it reads), journal and metrics.
///
/// Every mock has its own, in every topology; the launcher builds three with
/// [`Shared::with_clock`] so that only the clock is one object in its process. What a
/// mock knows of its peers it learns over HTTP, in one process or in three.
#[derive(Clone)]
pub struct Shared {
    pub store: Store,
    pub journal: Journal,
    pub metrics: Metrics,
}

impl Shared {
    /// The state of the mock `service` (its [`ServiceSpec::name`]).
    pub fn new(base: &BaseSettings, service: &str) -> Result<Shared, StoreError> {
        Shared::with_clock(base, service, crate::clock::Clock::default())
    }

    /// A mock's state that reads a clock other mocks of this process read too.
    pub fn with_clock(
        base: &BaseSettings,
        service: &str,
        clock: crate::clock::Clock,
    ) -> Result<Shared, StoreError> {
        let store = Store::from_settings_with_clock(&base.store, service, clock)?;
        Ok(Shared {
            journal: Journal::for_store(base.journal.capacity, &store),
            store,
            metrics: Metrics::default(),
        })
    }
}

/// Everything a handler of one mock may need from `common`; app data of every worker.
pub struct ServiceContext {
    pub spec: ServiceSpec,
    pub style: ErrorStyle,
    pub base: BaseSettings,
    pub store: Store,
    pub journal: Journal,
    pub metrics: Metrics,
    pub auth: Authenticator,
    pub faults: FaultEngine,
    pub behaviors: Behaviors,
    pub catalog: Arc<CatalogClient>,
    pub http: reqwest::Client,
    /// Whether this mock reads the stack's clock: true at once for a mock with no
    /// Identity to ask (Identity itself, the launcher's, a mock alone); for the others,
    /// once they have taken Identity's clock (a mock that starts or restarts after a
    /// tick must not run on wall time while its peers stand still).
    pub clock_joined: std::sync::atomic::AtomicBool,
}

impl ServiceContext {
    pub fn new(spec: ServiceSpec, base: &BaseSettings, shared: &Shared) -> ServiceContext {
        ServiceContext {
            style: spec.style,
            base: base.clone(),
            store: shared.store.clone(),
            journal: shared.journal.clone(),
            metrics: shared.metrics.clone(),
            auth: Authenticator::new(&base.auth, shared.store.clone()),
            faults: FaultEngine::new(spec.name, &shared.store),
            spec,
            behaviors: Behaviors::new(&shared.store),
            catalog: Arc::new(CatalogClient::new(&base.catalog).beside(
                (base.auth.mode == crate::settings::AuthMode::Remote).then(|| {
                    crate::catalog::RemoteIdentity {
                        url: base.auth.remote.url.clone(),
                        version: base.auth.remote.version,
                    }
                }),
            )),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            clock_joined: std::sync::atomic::AtomicBool::new(
                base.catalog.identity_url.is_empty() || !base.catalog.services.is_empty(),
            ),
        }
    }

    /// The error style of a path: the control API's under its prefix, else the API's,
    /// unless the path says otherwise.
    pub fn style_of(&self, path: &str) -> ErrorStyle {
        if path.starts_with(CONTROL_PREFIX) {
            return ErrorStyle::CONTROL;
        }
        (self.spec.route_info)(path).style.unwrap_or(self.style)
    }

    /// An error in this API's format.
    pub fn error(&self, status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::new(self.style, status, message)
    }
}

/// A bound, not yet running, mock.
pub struct Application {
    port: u16,
    server: Server,
    context: web::Data<ServiceContext>,
}

impl Application {
    /// Binds `base.server.host:port` and prepares the server; `routes` adds the mock's
    /// own routes (and its own app data, built once by the caller).
    pub fn build(
        spec: ServiceSpec,
        base: &BaseSettings,
        shared: Shared,
        routes: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    ) -> std::io::Result<Application> {
        let listener = TcpListener::bind((base.server.host.as_str(), base.server.port))?;
        let port = listener.local_addr()?.port();
        let name = spec.name;
        let context = web::Data::new(ServiceContext::new(spec, base, &shared));
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(crate::control::join_stack_clock(context.clone()));
        }
        let ctx = context.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(ctx.clone())
                .wrap(from_fn(pipeline))
                .service(crate::control::scope())
                .service(crate::console::scope())
                .configure(routes.clone())
                .default_service(web::to(not_found))
        })
        // Without it, the last segment of a large answer (a page of servers) waits for
        // the client's delayed ACK: up to 40 ms per answer.
        .tcp_nodelay(true)
        .listen(listener)?
        .shutdown_timeout(base.server.shutdown_timeout_s);
        if base.server.workers > 0 {
            server = server.workers(base.server.workers);
        }
        tracing::info!(service = name, port, "listening");
        Ok(Application {
            port,
            server: server.run(),
            context,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn context(&self) -> web::Data<ServiceContext> {
        self.context.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM, or the handle), letting requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    let ctx = req.app_data::<web::Data<ServiceContext>>();
    let (style, message) = ctx
        .map(|c| (c.style_of(req.path()), c.spec.not_found))
        .unwrap_or((ErrorStyle::CONTROL, "not found"));
    ApiError::new(style, StatusCode::NOT_FOUND, message)
        .kind("itemNotFound")
        .to_response()
}

/// The request pipeline every mock shares (see the module docs).
async fn pipeline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(ctx) = req.app_data::<web::Data<ServiceContext>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let started = Instant::now();
    // A shared store holds the stack's clock: read it before anything reads the time.
    let unavailable = if ctx.store.is_shared() && !is_probe(req.path()) {
        ctx.store.sync_clock().await.err()
    } else {
        None
    };
    let wall = chrono::Utc::now();
    let time = ctx.store.clock().state().now_at(wall);
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_string)
        // Not a v4 UUID: that costs a getrandom system call per request.
        .unwrap_or_else(|| format!("req-{:032x}", rand::random::<u128>()));
    if req.path().len() > 1 && req.path().ends_with('/') {
        trim_trailing_slashes(&mut req);
    }
    let path = req.path().to_string();
    let info = (ctx.spec.route_info)(&path);
    let method = req.method().clone();
    // The console reading the stack for the person looking at it: no fault rule
    // touches it.
    let console = path.starts_with(crate::console::UI_PREFIX)
        || req.headers().contains_key(crate::console::CONSOLE_HEADER);
    // Neither it nor the stack's own traffic (a peer spreading the clock, a stack-wide
    // read) is what a user asks the journal about.
    let unjournaled = console
        || path.starts_with(CONTROL_PREFIX)
            && req.headers().contains_key(crate::control::STORE_HEADER);

    let mut fired: Option<String> = None;
    let limit = crate::json::body_limit_for(&path, ctx.base.server.request_body_limit_bytes);
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // What the journal keeps of the request: its headers, and its body when one is
    // declared within the limits (read here and handed on to the handler unchanged).
    let keep = ctx.base.journal.body_limit_bytes;
    let mut exchange = (!unjournaled).then(|| Box::new(request_exchange(&req)));
    if let Some(x) = exchange.as_mut() {
        if keep > 0 && declared.is_some_and(|n| n > 0 && n <= limit) && unavailable.is_none() {
            if let Ok(body) = req.extract::<crate::json::Body>().await {
                x.request_body = Some(KeptBody::keep(&body.0, &mime_of(req.headers()), keep));
                req.set_payload(actix_web::dev::Payload::from(body.0));
            }
        }
    }
    // The control API answers in its own style, whichever mock serves it.
    let style = if path.starts_with(CONTROL_PREFIX) {
        ErrorStyle::CONTROL
    } else {
        info.style.unwrap_or(ctx.style)
    };
    let mut res = if let Some(e) = unavailable {
        tracing::error!(error = %e, "state store unavailable; answering 503");
        let e = ApiError::new(
            style,
            StatusCode::SERVICE_UNAVAILABLE,
            crate::error::STORE_UNAVAILABLE,
        )
        .kind("serviceUnavailable");
        req.into_response(e.to_response())
    } else if declared.is_some_and(|n| n > limit) {
        req.into_response(crate::json::too_large(style, limit).to_response())
    } else if path.starts_with(CONTROL_PREFIX) || console {
        next.call(req).await?.map_into_boxed_body()
    } else if ctx.spec.fault_exempt.iter().any(|p| path.starts_with(p)) {
        // Mimic's control routes: behind the same admin token as the control API.
        if crate::control::admin_allowed(&ctx.base.control.admin_token, req.headers()) {
            next.call(req).await?.map_into_boxed_body()
        } else {
            let e = ApiError::new(
                style,
                StatusCode::UNAUTHORIZED,
                crate::control::ADMIN_TOKEN_REQUIRED,
            );
            req.into_response(e.to_response())
        }
    } else {
        let decision = decide(&ctx, &mut req, &info).await;
        match decision {
            Decision::Fire { rule, action } => {
                ctx.metrics.fault_fired(ctx.spec.name, &rule);
                fired = Some(rule);
                apply(style, action, req, next).await?
            }
            _ => next.call(req).await?.map_into_boxed_body(),
        }
    };

    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    let latency = started.elapsed();
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    ctx.metrics.observe(
        ctx.spec.name,
        &route,
        method.as_str(),
        status,
        latency.as_secs_f64(),
    );
    let tenant = info.tenant.or_else(|| {
        res.request()
            .match_info()
            .get("tenant_id")
            .map(str::to_string)
    });
    if unjournaled {
        return Ok(res);
    }
    if let Some(x) = exchange.as_mut() {
        res = keep_response(res, x, keep).await;
    }
    ctx.journal
        .record(JournalEntry {
            seq: 0,
            time,
            received_us: wall.timestamp_micros(),
            service: ctx.spec.name.into(),
            method: method_name(&method),
            path,
            query: res.request().query_string().to_string(),
            status,
            tenant,
            region: info.region,
            latency_us: latency.as_micros() as u64,
            request_id,
            rule: fired,
            exchange,
        })
        .await;
    Ok(res)
}

/// The request's side of a journal entry: host and headers (the body is added when kept).
fn request_exchange(req: &ServiceRequest) -> Exchange {
    Exchange {
        host: req
            .headers()
            .get(actix_web::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        request_headers: header_list(req.headers()),
        ..Exchange::default()
    }
}

fn header_list(headers: &actix_web::http::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn mime_of(headers: &actix_web::http::header::HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Answers made of parts (rendered records) up to this size are gathered to be kept;
/// larger ones (a page of a thousand servers) are streamed as they are, and noted.
const GATHER_LIMIT: usize = 256 << 10;

/// Notes the answer's headers and (up to `keep` bytes) its body in `x`, handing the
/// answer on unchanged. A streamed answer larger than [`GATHER_LIMIT`] is noted, not
/// copied.
async fn keep_response(
    res: ServiceResponse<BoxBody>,
    x: &mut Exchange,
    keep: usize,
) -> ServiceResponse<BoxBody> {
    x.response_headers = header_list(res.headers());
    let mime = mime_of(res.headers());
    let (req, res) = res.into_parts();
    let (res, body) = res.into_parts();
    let size = match body.size() {
        BodySize::Sized(n) => n as usize,
        _ => 0,
    };
    let body = if keep == 0 {
        x.response_body = Some(KeptBody::not_kept(
            size,
            &mime,
            "bodies are not kept (journal.body_limit_bytes = 0)",
        ));
        body
    } else {
        match body.try_into_bytes() {
            Ok(bytes) => {
                x.response_body = Some(KeptBody::keep(&bytes, &mime, keep));
                BoxBody::new(bytes)
            }
            Err(body) if size <= GATHER_LIMIT && matches!(body.size(), BodySize::Sized(_)) => {
                match actix_web::body::to_bytes(body).await {
                    Ok(bytes) => {
                        x.response_body = Some(KeptBody::keep(&bytes, &mime, keep));
                        BoxBody::new(bytes)
                    }
                    Err(_) => {
                        x.response_body = Some(KeptBody::not_kept(
                            size,
                            &mime,
                            crate::journal::STREAMED_NOT_KEPT,
                        ));
                        BoxBody::new(Bytes::new())
                    }
                }
            }
            Err(body) => {
                x.response_body = Some(KeptBody::not_kept(
                    size,
                    &mime,
                    crate::journal::STREAMED_NOT_KEPT,
                ));
                body
            }
        }
    };
    ServiceResponse::new(req, res.set_body(body))
}

/// Liveness and readiness are answered whatever the store says (readiness says why).
fn is_probe(path: &str) -> bool {
    path.strip_prefix(CONTROL_PREFIX)
        .is_some_and(|p| p == "/health" || p == "/ready")
}

/// A method's name, without an allocation for the standard ones.
fn method_name(m: &actix_web::http::Method) -> std::borrow::Cow<'static, str> {
    use actix_web::http::Method;
    const STANDARD: [(Method, &str); 7] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
    ];
    STANDARD
        .iter()
        .find(|(s, _)| s == m)
        .map(|(_, name)| std::borrow::Cow::Borrowed(*name))
        .unwrap_or_else(|| std::borrow::Cow::Owned(m.to_string()))
}

/// Trailing slashes are ignored on every route, as Mimic ignored them: `/servers/` is
/// `/servers`. Done here, once, only for the rare path that has one.
fn trim_trailing_slashes(req: &mut ServiceRequest) {
    let uri = &req.head().uri;
    let path = uri.path().trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    let rebuilt = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    let Ok(pq) = rebuilt.parse() else { return };
    parts.path_and_query = Some(pq);
    let Ok(uri) = actix_web::http::Uri::from_parts(parts) else {
        return;
    };
    req.match_info_mut().get_mut().update(&uri);
    req.head_mut().uri = uri;
}

async fn decide(ctx: &ServiceContext, req: &mut ServiceRequest, info: &RouteInfo) -> Decision {
    let (any, needs_user) = ctx.faults.wanted().await;
    if !any {
        return Decision::Pass;
    }
    let claims = if needs_user {
        req.headers()
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| ctx.auth.codec().verify(t).ok())
    } else {
        None
    };
    let now = ctx.store.clock().now();
    let user = claims
        .as_ref()
        .map(|c| (c.user_name.as_str(), c.user_id.as_str()));
    let first = ctx
        .faults
        .decide(&facts(ctx, req, info, user), None, now)
        .await;
    let decision = match first {
        Ok(Decision::NeedBody) => {
            let body = match req.extract::<crate::json::Body>().await {
                Ok(b) => b.0,
                Err(_) => Bytes::new(),
            };
            let d = ctx
                .faults
                .decide(&facts(ctx, req, info, user), Some(&body), now)
                .await;
            req.set_payload(actix_web::dev::Payload::from(body));
            d
        }
        other => other,
    };
    decision.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "fault rules unavailable; answering normally");
        Decision::Pass
    })
}

fn facts<'a>(
    ctx: &'a ServiceContext,
    req: &'a ServiceRequest,
    info: &'a RouteInfo,
    user: Option<(&'a str, &'a str)>,
) -> RequestFacts<'a> {
    RequestFacts {
        service: ctx.spec.name,
        method: req.method(),
        path: req.path(),
        tenant: info.tenant.as_deref(),
        region: info.region.as_deref(),
        headers: req.headers(),
        user,
    }
}

async fn apply(
    style: ErrorStyle,
    action: Action,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let error = |status: u16, kind: Option<String>, message: Option<String>| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = message.unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("Injected fault")
                .to_string()
        });
        let e = ApiError::new(style, status, message);
        match kind {
            Some(k) => e.kind(k),
            None => e,
        }
    };
    Ok(match action {
        Action::Error {
            status,
            kind,
            message,
            body,
            content_type,
        } => {
            let e = match body {
                Some(raw) => ApiError::raw(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    content_type.as_deref().unwrap_or("application/json"),
                    raw,
                ),
                None => error(status, kind, message),
            };
            req.into_response(e.to_response())
        }
        Action::RateLimit {
            status,
            retry_after_s,
            message,
        } => {
            let e = error(
                status,
                Some("overLimit".into()),
                Some(message.unwrap_or_else(|| "Rate limit exceeded. Try again later.".into())),
            )
            .retry_after(retry_after_s);
            req.into_response(e.to_response())
        }
        Action::Delay(d) => {
            tokio::time::sleep(Duration::from_millis(delay_ms(&d))).await;
            next.call(req).await?.map_into_boxed_body()
        }
        Action::Drop => req.into_response(HttpResponse::Ok().body(BoxBody::new(Abort))),
        Action::Hang { ms } => {
            tokio::time::sleep(Duration::from_millis(ms.min(MAX_HOLD_MS))).await;
            req.into_response(HttpResponse::Ok().body(BoxBody::new(Abort)))
        }
        Action::FalseNegative {
            status,
            kind,
            message,
        } => {
            let res = next.call(req).await?;
            let (req, _) = res.into_parts();
            let e = error(status, kind, message);
            ServiceResponse::new(req, e.to_response())
        }
        Action::Truncate { bytes } => {
            let res = next.call(req).await?.map_into_boxed_body();
            rewrite_body(res, |b| {
                let keep = bytes.unwrap_or(b.len() / 2).min(b.len().saturating_sub(1));
                b.slice(..keep)
            })
            .await?
        }
        Action::Malformed => {
            let res = next.call(req).await?.map_into_boxed_body();
            rewrite_body(res, |b| {
                let mut out = b"{\"malformed\": ".to_vec();
                out.extend_from_slice(&b[..b.len() / 2]);
                Bytes::from(out)
            })
            .await?
        }
    })
}

async fn rewrite_body(
    res: ServiceResponse<BoxBody>,
    f: impl FnOnce(Bytes) -> Bytes,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let new = f(bytes);
    head.headers_mut().remove(CONTENT_LENGTH);
    if !head.headers().contains_key(CONTENT_TYPE) {
        head.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(ServiceResponse::new(req, head.set_body(BoxBody::new(new))))
}

/// A body that fails before its first byte: the server closes the connection without
/// an answer, which is how a dropped connection looks to a client.
struct Abort;

impl MessageBody for Abort {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by a fault rule",
        ))))
    }
}
