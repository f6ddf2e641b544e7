//! Mimic's identity control API, so suites written for Mimic keep working:
//! `POST /mimic/v1.1/tick`, `GET /mimic/v1.0/presets`, and auth behaviours at
//! `/mimic/v1.1/IdentityControlAPI/behaviors/auth`.
//!
//! Auth behaviours are `common::behaviors` registrations of the [`AUTH_EVENT`], global to
//! the stack; `POST /v2.0/tokens`, impersonation and `POST /v3/auth/tokens` consult them
//! before checking credentials, as Mimic did.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use common::behaviors::{Attribute, Event};
use common::clock::{iso_micros, ClockChange};
use common::error::ApiError;
use common::json::Body;
use common::store::{ClockError, Scope, StoreError};

use super::Ctx;
use crate::error::{IdentityError, V3_STYLE};

/// Mimic's identity `auth` event.
pub const AUTH_EVENT: Event = Event {
    name: "auth",
    text_criteria: &["username", "tenant_id"],
    map_criteria: &[],
    behaviors: &["fail"],
};

const DEFAULT_FAIL_MESSAGE: &str = "Unable to authenticate user with credentials provided.";

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

/// An injected authentication failure: Mimic's `fail` behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: StatusCode,
    pub kind: String,
    pub message: String,
}

impl Failure {
    fn from_parameters(p: &Value) -> Failure {
        let status = p
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::UNAUTHORIZED);
        let text = |key: &str, default: &str| {
            p.get(key)
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_string()
        };
        Failure {
            status,
            kind: text("type", "unauthorized"),
            message: text("message", DEFAULT_FAIL_MESSAGE),
        }
    }

    /// Mimic's body: `{type: {message, code}}`, or the bare message when type is `string`.
    pub fn into_v2(self) -> IdentityError {
        if self.kind == "string" {
            return ApiError::raw(self.status, "text/plain; charset=utf-8", self.message).into();
        }
        ApiError::json(
            self.status,
            json!({ self.kind: {"message": self.message, "code": self.status.as_u16()} }),
        )
        .into()
    }

    /// The same failure for a v3 client, in v3's error format.
    pub fn into_v3(self) -> IdentityError {
        if self.kind == "string" {
            return self.into_v2();
        }
        ApiError::new(V3_STYLE, self.status, self.message).into()
    }
}

/// The failure a registered behaviour injects into this authentication, if any.
/// An absent attribute (an auth without a tenant) simply does not match.
pub async fn auth_failure(
    ctx: &Ctx,
    username: Option<&str>,
    tenant_id: Option<&str>,
) -> Result<Option<Failure>, StoreError> {
    let attribute = |k: &str| {
        let v = match k {
            "username" => username,
            "tenant_id" => tenant_id,
            _ => None,
        };
        v.map(Attribute::Text).unwrap_or(Attribute::Absent)
    };
    let chosen = ctx
        .behaviors
        .choose(&Scope::global(), &AUTH_EVENT, attribute)
        .await?;
    Ok(chosen
        .filter(|c| c.name == "fail")
        .map(|c| Failure::from_parameters(&c.parameters)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_parameters_default_to_mimics() {
        assert_eq!(
            Failure::from_parameters(&json!({})),
            Failure {
                status: StatusCode::UNAUTHORIZED,
                kind: "unauthorized".into(),
                message: DEFAULT_FAIL_MESSAGE.into()
            }
        );
        let f = Failure::from_parameters(
            &json!({"code": 500, "message": "boom", "type": "identityFault"}),
        );
        assert_eq!(f.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(f.kind, "identityFault");
        assert_eq!(
            Failure::from_parameters(&json!({"code": 7})).status,
            StatusCode::UNAUTHORIZED,
            "an impossible status falls back to 401"
        );
    }
}
