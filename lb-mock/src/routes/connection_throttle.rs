//! `/loadbalancers/{id}/connectionthrottle`: show, set (over the current one), delete.
//! Reads of a DELETED balancer answer 410; every change needs ACTIVE and leaves
//! PENDING_UPDATE.

use actix_web::HttpResponse;
use serde_json::json;

use super::request::Req;
use super::wire::{self, accepted};
use crate::domain::features::parse_throttle;
use crate::domain::fields;
use crate::domain::guards::require_active;
use crate::domain::model::Change;
use crate::error::LbError;

pub async fn get_connection_throttle(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let lb = r.balancers().load_live(id).await?;
    let t = lb
        .throttle
        .as_deref()
        .map_or_else(|| json!({}), wire::throttle);
    Ok(HttpResponse::Ok().json(json!({ "connectionThrottle": t })))
}

pub async fn set_connection_throttle(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let body = r.json()?;
    let t = fields::wrapped(&body, "connectionThrottle")?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            let throttle = parse_throttle(t, lb.throttle.as_deref())?;
            lb.throttle = Some(Box::new(throttle));
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}

pub async fn delete_connection_throttle(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            if lb.throttle.take().is_none() {
                return Err(LbError::unprocessable(
                    "No connection throttle found to delete.",
                ));
            }
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}
