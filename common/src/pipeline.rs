//! The request pipeline every mock shares, in order, for every request: the stack's
//! clock read from a shared store (503 in the API's format when it does not answer,
//! probes excepted); request id; trailing slashes trimmed; a CONNECT's tunnel not read as
//! its body; the request noted for the journal; the oversized-body check (413); the admin
//! token on Mimic's control routes; fault rules (never on the control API or the
//! console); the mock's handler; metrics, and the journal (which keeps neither the
//! console's reads nor the stack's own calls).

use std::time::Instant;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web;
use bytes::Bytes;

use crate::context::{
    admin_allowed, ServiceContext, ADMIN_TOKEN_REQUIRED, CONSOLE_HEADER, CONTROL_PREFIX,
    STORE_HEADER, UI_PREFIX,
};
use crate::error::{ApiError, ErrorStyle};
use crate::faults::inject::{apply, decide};
use crate::faults::rules::Decision;
use crate::journal::{Exchange, Headers, JournalEntry, KeptBody};
use crate::json::{body_limit_for, too_large, Body};

/// The request pipeline every mock shares (see the module docs).
pub(crate) async fn pipeline(
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
    // CONNECT asks for a tunnel: actix hands the rest of the connection to the handler as
    // the request's body, and a handler that reads its body would wait for the client to
    // hang up. No route here serves CONNECT: it is a request without a body, answered as
    // any method its route does not serve.
    if req.method() == actix_web::http::Method::CONNECT {
        req.set_payload(actix_web::dev::Payload::None);
    }
    let path = req.path().to_string();
    let info = (ctx.spec.route_info)(&path);
    let method = req.method().clone();
    // The console reading the stack for the person looking at it: no fault rule
    // touches it.
    let console = path.starts_with(UI_PREFIX) || req.headers().contains_key(CONSOLE_HEADER);
    // Neither it nor the stack's own traffic (a peer spreading the clock, a stack-wide
    // read) is what a user asks the journal about.
    let unjournaled =
        console || path.starts_with(CONTROL_PREFIX) && req.headers().contains_key(STORE_HEADER);

    let mut fired: Option<String> = None;
    let limit = body_limit_for(&path, ctx.base.server.request_body_limit_bytes);
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
            if let Ok(body) = req.extract::<Body>().await {
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
        req.into_response(too_large(style, limit).to_response())
    } else if path.starts_with(CONTROL_PREFIX) || console {
        next.call(req).await?.map_into_boxed_body()
    } else if ctx.spec.fault_exempt.iter().any(|p| path.starts_with(p)) {
        // Mimic's control routes: behind the same admin token as the control API.
        if admin_allowed(&ctx.base.control.admin_token, req.headers()) {
            rewrite_path(&ctx, &mut req);
            next.call(req).await?.map_into_boxed_body()
        } else {
            let e = ApiError::new(style, StatusCode::UNAUTHORIZED, ADMIN_TOKEN_REQUIRED);
            req.into_response(e.to_response())
        }
    } else {
        let decision = decide(&ctx, &mut req, &info).await;
        rewrite_path(&ctx, &mut req);
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
    let route = res.request().match_pattern();
    ctx.metrics.observe(
        ctx.spec.name,
        route.as_deref().unwrap_or("unmatched"),
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
            route,
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

fn header_list(headers: &actix_web::http::header::HeaderMap) -> Headers {
    let bytes = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    let mut out = Headers::with_capacity(bytes, headers.len());
    for (k, v) in headers {
        // Visible ASCII, as nearly every header is, is copied as it is; anything else is
        // read as UTF-8 (lossy).
        match v.to_str() {
            Ok(text) => out.push(k.as_str(), text),
            Err(_) => out.push(k.as_str(), &String::from_utf8_lossy(v.as_bytes())),
        }
    }
    out
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
    let path = req.path().trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path }.to_string();
    set_path(req, &path);
}

/// The mock's own rewrite of the path to route ([`crate::context::ServiceSpec::rewrite_path`]).
fn rewrite_path(ctx: &ServiceContext, req: &mut ServiceRequest) {
    if let Some(path) = ctx.spec.rewrite_path.and_then(|f| f(req.path())) {
        set_path(req, &path);
    }
}

/// Routes `req` as if `path` had been sent (the query is kept).
fn set_path(req: &mut ServiceRequest, path: &str) {
    let uri = &req.head().uri;
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
