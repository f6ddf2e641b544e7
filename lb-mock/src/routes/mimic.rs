//! Mimic's `cloudLoadBalancerControl` API, under `/mimic/{region}/v1.0/{tenant_id}`:
//! set a balancer's status (`PATCH .../loadbalancer/{id}/attributes`, singular) and a
//! node's status (`PUT .../loadbalancers/{id}/nodes/{nid}/status`). No token is needed
//! and bodies come without a Content-Type (otter). Statuses set here stick until changed.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use common::context::ServiceContext;
use common::json::Body;
use common::store::Scope;

use super::{body, not_found_route, region_of, segments};
use crate::domain::model::NodeStatus;
use crate::domain::status::{LbStatus, StatusState};
use crate::error::LbError;
use crate::State;

pub async fn dispatch(
    req: HttpRequest,
    body: Body,
    ctx: web::Data<ServiceContext>,
    state: web::Data<State>,
) -> Result<HttpResponse, LbError> {
    let region = region_of(&req, &state)?;
    let tenant = req
        .match_info()
        .get("tenant_id")
        .unwrap_or_default()
        .to_string();
    let (segs, _) = segments(req.match_info().get("rest").unwrap_or_default());
    let c = Control {
        state: &state,
        scope: Scope::new(tenant.clone(), region),
        tenant,
        now_ms: ctx.store.clock().now().timestamp_millis(),
    };
    match (req.method().as_str(), segs.as_slice()) {
        ("PATCH", ["loadbalancer", id, "attributes"]) => c.set_attributes(id, &body.0).await,
        ("PUT", ["loadbalancers", id, "nodes", nid, "status"]) => {
            c.set_node_status(id, nid, &body.0).await
        }
        _ => Err(not_found_route()),
    }
}

struct Control<'a> {
    state: &'a State,
    scope: Scope,
    tenant: String,
    now_ms: i64,
}

impl Control<'_> {
    fn not_owned(&self, id: &str) -> LbError {
        LbError::not_found(format!(
            "Tenant {} doesn't own load balancer {id}",
            self.tenant
        ))
    }

    /// `{"status": S}` → 204; S sticks until changed.
    async fn set_attributes(&self, id: &str, raw: &[u8]) -> Result<HttpResponse, LbError> {
        let body = body::json(raw)?;
        let obj = body
            .as_object()
            .ok_or_else(|| LbError::bad_request("Attempt to alter a bad attribute"))?;
        if obj.keys().any(|k| k != "status") || obj.is_empty() {
            return Err(LbError::bad_request("Attempt to alter a bad attribute"));
        }
        let wanted = obj
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let status = LbStatus::SETTABLE
            .into_iter()
            .find(|s| s.as_str() == wanted)
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
        let lb_id = super::lb_id(id).map_err(|_| self.not_owned(id))?;
        let (timings, now) = (self.state.timings(), self.now_ms);
        self.state
            .balancers
            .update(&self.scope, &lb_id.to_string(), |lb| {
                if lb.observe(timings, now).is_none() {
                    return Err(self.not_owned(id));
                }
                lb.state = StatusState::forced(status, now);
                lb.updated_ms = now;
                Ok::<_, LbError>(())
            })
            .await?
            .unwrap_or_else(|| Err(self.not_owned(id)))?;
        Ok(HttpResponse::NoContent().finish())
    }

    /// `{"status": "ONLINE"|"OFFLINE"}` → 200; wins over every other source of node status.
    async fn set_node_status(
        &self,
        id: &str,
        nid: &str,
        raw: &[u8],
    ) -> Result<HttpResponse, LbError> {
        let bad =
            || LbError::bad_request("status key not found or it must have ONLINE or OFFLINE value");
        let body = body::json(raw).map_err(|_| bad())?;
        let status = body
            .get("status")
            .and_then(Value::as_str)
            .and_then(NodeStatus::parse)
            .ok_or_else(bad)?;
        let lb_id = super::lb_id(id).map_err(|_| self.not_owned(id))?;
        let no_node = || {
            LbError::not_found(format!(
                "Load balancer {id} on tenant {} does not have node {nid}",
                self.tenant
            ))
        };
        let node_id = super::node_id(nid).map_err(|_| no_node())?;
        let (timings, now) = (self.state.timings(), self.now_ms);
        self.state
            .balancers
            .update(&self.scope, &lb_id.to_string(), |lb| {
                if lb.observe(timings, now).is_none() {
                    return Err(self.not_owned(id));
                }
                let node = lb.node_mut(node_id).ok_or_else(no_node)?;
                node.forced = Some(status);
                Ok::<_, LbError>(())
            })
            .await?
            .unwrap_or_else(|| Err(self.not_owned(id)))?;
        Ok(HttpResponse::Ok().finish())
    }
}
