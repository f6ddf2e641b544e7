//! Fault injection: acting, inside a request, on what the rules decide. The pipeline asks
//! [`decide`] (reading the caller's token and the body only when a rule needs them) and
//! hands a firing rule's action to [`apply`]: an error in the API's format, a wait, a
//! dropped or held connection, or the real answer cut short, spoiled or replaced.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::HttpResponse;
use bytes::Bytes;
use rand::Rng;

use crate::context::{RouteInfo, ServiceContext};
use crate::error::{ApiError, ErrorStyle};
use crate::faults::rules::{Action, Decision, Delay, Distribution, RequestFacts, MAX_HOLD_MS};
use crate::json::Body;

/// How long a delay action waits, drawn from its distribution.
pub fn delay_ms(d: &Delay) -> u64 {
    let ms = match d.distribution {
        Distribution::Uniform => {
            let (lo, hi) = (d.min_ms.min(d.max_ms), d.min_ms.max(d.max_ms));
            rand::thread_rng().gen_range(lo..=hi)
        }
        Distribution::LogNormal => {
            // Box-Muller: a standard normal from two uniforms.
            let mut rng = rand::thread_rng();
            let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(f64::MIN_POSITIVE), rng.gen());
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            ((d.median_ms.max(1) as f64) * (d.sigma * z).exp()).round() as u64
        }
        Distribution::Fixed => d.ms,
    };
    ms.min(MAX_HOLD_MS)
}

pub(crate) async fn decide(
    ctx: &ServiceContext,
    req: &mut ServiceRequest,
    info: &RouteInfo,
) -> Decision {
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
            let body = match req.extract::<Body>().await {
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

pub(crate) async fn apply(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_their_distribution() {
        let uniform = Delay {
            distribution: Distribution::Uniform,
            ms: 0,
            min_ms: 10,
            max_ms: 20,
            median_ms: 0,
            sigma: 0.0,
        };
        for _ in 0..100 {
            assert!((10..=20).contains(&delay_ms(&uniform)));
        }
        let fixed = Delay {
            distribution: Distribution::Fixed,
            ms: 7,
            min_ms: 0,
            max_ms: 0,
            median_ms: 0,
            sigma: 0.0,
        };
        assert_eq!(delay_ms(&fixed), 7);
        let ln = Delay {
            distribution: Distribution::LogNormal,
            ms: 0,
            min_ms: 0,
            max_ms: 0,
            median_ms: 50,
            sigma: 0.0,
        };
        assert_eq!(delay_ms(&ln), 50, "sigma 0 is the median");
    }
}
