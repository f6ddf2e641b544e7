//! Mimic's `cloudLoadBalancerControl` API, under `/mimic/{region}/v1.0/{tenant_id}` (and
//! `/mimic/v1.0/{tenant_id}`, the default region): set a balancer's status
//! (`PATCH .../loadbalancer/{id}/attributes`, singular) and a node's status
//! (`PUT .../loadbalancers/{id}/nodes/{node_id}/status`). No token is needed and bodies
//! come without a Content-Type (otter). Statuses set here stick until changed. Any other
//! path or method under `/mimic` is an unknown route.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::Value;

use common::json::Body;
use common::store::Scope;

use super::request::{self, app_state, region_of};
use crate::domain::model::NodeStatus;
use crate::domain::status::{LbStatus, StatusState};
use crate::error::LbError;
use crate::state::State;

/// Mimic's control routes.
pub fn scope() -> actix_web::Scope {
    let mut scope = web::scope("/mimic");
    for prefix in ["/{region}/v1.0/{tenant_id}", "/v1.0/{tenant_id}"] {
        scope = scope
            .service(
                web::resource(format!("{prefix}/loadbalancer/{{id}}/attributes"))
                    .route(web::patch().to(set_attributes))
                    .default_service(web::to(unknown)),
            )
            .service(
                web::resource(format!(
                    "{prefix}/loadbalancers/{{id}}/nodes/{{node_id}}/status"
                ))
                .route(web::put().to(set_node_status))
                .default_service(web::to(unknown)),
            );
    }
    scope
}

/// One control request: its body, region (checked), tenant and time.
pub struct Control {
    state: web::Data<State>,
    scope: Scope,
    tenant: String,
    now_ms: i64,
    body: Bytes,
    http: HttpRequest,
}

impl FromRequest for Control {
    type Error = LbError;
    type Future = Pin<Box<dyn Future<Output = Result<Control, LbError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = Body::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = body.await?;
            let (ctx, state) = app_state(&req)?;
            let region = region_of(&req, &state)?;
            let tenant = req
                .match_info()
                .get("tenant_id")
                .unwrap_or_default()
                .to_string();
            Ok(Control {
                state,
                scope: Scope::new(tenant.clone(), region),
                tenant,
                now_ms: ctx.store.clock().now().timestamp_millis(),
                body: body.0,
                http: req,
            })
        })
    }
}

impl Control {
    fn segment(&self, name: &str) -> &str {
        self.http.match_info().get(name).unwrap_or_default()
    }

    fn not_owned(&self, id: &str) -> LbError {
        LbError::not_found(format!(
            "Tenant {} doesn't own load balancer {id}",
            self.tenant
        ))
    }
}

async fn unknown(_: Control) -> Result<HttpResponse, LbError> {
    Err(LbError::route_not_found())
}

/// `{"status": S}` → 204; S sticks until changed.
async fn set_attributes(c: Control) -> Result<HttpResponse, LbError> {
    let id = c.segment("id");
    let body = request::json(&c.body)?;
    let obj = body
        .as_object()
        .ok_or_else(|| LbError::bad_request("Attempt to alter a bad attribute"))?;
    if obj.keys().any(|k| k != "status") || obj.is_empty() {
        return Err(LbError::bad_request("Attempt to alter a bad attribute"));
    }
    // The value refused, named as Mimic names it for a string, null, a boolean or a
    // plain number (as Python prints it); a list or an object as JSON.
    let given = &obj["status"];
    let wanted = match given {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => other.to_string(),
    };
    let status = LbStatus::SETTABLE
        .into_iter()
        .find(|s| given.as_str() == Some(s.as_str()))
        .ok_or_else(|| {
            let allowed: Vec<String> = LbStatus::SETTABLE
                .iter()
                .map(|s| format!("u'{}'", s.as_str()))
                .collect();
            LbError::bad_request(format!(
                "Unsupported status {wanted} not one of [{}]",
                allowed.join(", ")
            ))
        })?;
    let lb_id = request::lb_id(id).map_err(|_| c.not_owned(id))?;
    let now = c.now_ms;
    c.state
        .balancers(&c.scope, now)
        .mutate_or(
            lb_id,
            || c.not_owned(id),
            |lb, _| {
                lb.state = StatusState::forced(status, now);
                lb.updated_ms = now;
                Ok(())
            },
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `{"status": "ONLINE"|"OFFLINE"}` → 200; wins over every other source of node status.
async fn set_node_status(c: Control) -> Result<HttpResponse, LbError> {
    let (id, nid) = (c.segment("id"), c.segment("node_id"));
    let bad =
        || LbError::bad_request("status key not found or it must have ONLINE or OFFLINE value");
    let body = request::json(&c.body).map_err(|_| bad())?;
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .and_then(NodeStatus::parse)
        .ok_or_else(bad)?;
    let lb_id = request::lb_id(id).map_err(|_| c.not_owned(id))?;
    let no_node = || {
        LbError::not_found(format!(
            "Load balancer {id} on tenant {} does not have node {nid}",
            c.tenant
        ))
    };
    let node_id = request::item_id(nid).map_err(|_| no_node())?;
    c.state
        .balancers(&c.scope, c.now_ms)
        .mutate_or(
            lb_id,
            || c.not_owned(id),
            |lb, _| {
                let node = lb.node_mut(node_id).ok_or_else(no_node)?;
                node.forced = Some(status);
                Ok(())
            },
        )
        .await?;
    Ok(HttpResponse::Ok().finish())
}
