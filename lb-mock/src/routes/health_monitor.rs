//! `/loadbalancers/{id}/healthmonitor`: show, set, delete. Reads of a DELETED balancer
//! answer 410; every change needs ACTIVE and leaves PENDING_UPDATE.

use actix_web::HttpResponse;
use serde_json::json;

use super::request::Req;
use super::wire::{self, accepted};
use crate::domain::features::parse_health_monitor;
use crate::domain::fields;
use crate::domain::guards::require_active;
use crate::domain::model::Change;
use crate::error::LbError;

pub async fn get_health_monitor(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let lb = r.balancers().load_live(id).await?;
    let hm = lb
        .health_monitor
        .as_deref()
        .map_or_else(|| json!({}), wire::health_monitor);
    Ok(HttpResponse::Ok().json(json!({ "healthMonitor": hm })))
}

pub async fn set_health_monitor(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let body = r.json()?;
    let h = fields::wrapped(&body, "healthMonitor")?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            let hm = parse_health_monitor(h, lb.protocol)?;
            lb.health_monitor = Some(Box::new(hm));
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}

pub async fn delete_health_monitor(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            if lb.health_monitor.take().is_none() {
                return Err(LbError::unprocessable("No health monitor found to delete."));
            }
            // Without a monitor nothing keeps nodes OFFLINE waiting to be found healthy.
            for n in &mut lb.nodes {
                n.awaiting_health = false;
            }
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}
