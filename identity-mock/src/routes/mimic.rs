//! Mimic's identity control API, so suites written for Mimic keep working:
//! `POST /mimic/v1.1/tick`, `GET /mimic/v1.0/presets`, and auth behaviours at
//! `/mimic/v1.1/IdentityControlAPI/behaviors/auth`.
//!
//! Auth behaviours are `common::behaviors` registrations of the `auth` event, global to
//! the stack; `POST /v2.0/tokens`, impersonation and `POST /v3/auth/tokens` consult them
//! before checking credentials, as Mimic did.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use common::clock::{iso_micros, ClockChange};
use common::json::Body;
use common::store::{ClockError, Scope};

use super::request::Ctx;
use crate::domain::mimic::AUTH_EVENT;
use crate::error::IdentityError;

/// `POST /mimic/v1.1/tick {"amount": seconds}`: moves the stack's virtual clock as Mimic
/// does: time stands still between ticks (the clock is frozen, then moved), on every mock
/// of the catalog. `POST /_understudy/v1/clock/reset` goes back to wall time. A mock the
/// new time does not reach is named in a 502.
pub async fn tick(ctx: Ctx, body: Body) -> Result<HttpResponse, IdentityError> {
    let value: Value = serde_json::from_slice(&body.0)
        .map_err(|_| IdentityError::bad_request("Invalid JSON request body"))?;
    let amount = value
        .get("amount")
        .filter(|a| a.as_f64().is_some_and(f64::is_finite))
        .cloned()
        .ok_or_else(|| IdentityError::bad_request("amount must be a number of seconds"))?;
    let now = match ctx
        .store
        .change_clock(ClockChange::Tick(amount.as_f64().unwrap_or(0.0)))
        .await
    {
        Ok(now) => now,
        Err(ClockError::OutOfRange(e)) => return Err(IdentityError::bad_request(e.to_string())),
        Err(ClockError::Store(e)) => return Err(e.into()),
    };
    let (_, unreached) = common::control::spread_clock(&ctx).await;
    let body = json!({"advanced": amount, "now": iso_micros(now)});
    if unreached.is_empty() {
        return Ok(HttpResponse::Ok().json(body));
    }
    Err(IdentityError::v2(
        StatusCode::BAD_GATEWAY,
        format!("the clock did not reach {}", unreached.join(", ")),
    ))
}

/// `GET /mimic/v1.0/presets`: Mimic's magic values that this stack honours. Identity
/// honours none of Mimic's magic tokens; compute and load balancers honour the metadata
/// keys listed.
pub async fn get_presets() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "identity": {},
        "servers": {
            "create_server_failure": "{\"message\": \"given message\", \"code\": given code}",
            "server_building": "sets the server to be in building state for given time in seconds",
            "server_error": "sets server state to error on create",
            "delete_server_failure": "{\"code\": given code, \"times\": returns given code that many times}",
        },
        "loadbalancers": {
            "lb_building": "On create load balancer, keeps the load balancer in building state for given seconds",
            "lb_error_state": "Puts the LB in error state, and such an LB can only be deleted",
            "lb_pending_update": "Changes the load balancer to PENDING-UPDATE state for the given number of seconds, any action other than delete is performed on the server",
            "lb_pending_delete": "Changes the load balancer to PENDING-DELETE state for the given seconds, when deleted",
        },
    }))
}

/// `POST .../behaviors/auth`: 201 `{"id"}`, 400 when the registration is malformed.
pub async fn create_auth_behavior(ctx: Ctx, body: Body) -> Result<HttpResponse, IdentityError> {
    let value: Value = serde_json::from_slice(&body.0)
        .map_err(|_| IdentityError::bad_request("Invalid JSON request body"))?;
    let id = ctx
        .behaviors
        .register(&Scope::global(), &AUTH_EVENT, &value)
        .await
        .map_err(|e| IdentityError::bad_request(e.to_string()))?;
    Ok(HttpResponse::Created().json(json!({"id": id})))
}

/// `DELETE .../behaviors/auth/{id}`: 204, or 404 when there is no such behaviour.
pub async fn delete_auth_behavior(
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, IdentityError> {
    let id = path.into_inner();
    if ctx
        .behaviors
        .delete(&Scope::global(), &AUTH_EVENT, &id)
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(IdentityError::not_found(format!("No such behavior: {id}")))
    }
}
