//! `/loadbalancers/{id}/sessionpersistence`: show, set, delete. Reads of a DELETED
//! balancer answer 410; every change needs ACTIVE and leaves PENDING_UPDATE.

use actix_web::HttpResponse;
use serde_json::json;

use super::request::Req;
use super::wire::accepted;
use crate::domain::features::{check_persistence, parse_persistence};
use crate::domain::guards::require_active;
use crate::domain::model::Change;
use crate::error::LbError;

pub async fn get_session_persistence(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let lb = r.balancers().load_live(id).await?;
    let sp = match &lb.session_persistence {
        Some(t) => json!({"persistenceType": t}),
        None => json!({}),
    };
    Ok(HttpResponse::Ok().json(json!({ "sessionPersistence": sp })))
}

pub async fn set_session_persistence(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let body = r.json()?;
    let t = parse_persistence(&body)?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            lb.session_persistence = Some(check_persistence(t, lb.protocol)?);
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}

pub async fn delete_session_persistence(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            if lb.session_persistence.take().is_none() {
                return Err(LbError::unprocessable(
                    "Session persistence is already deleted.",
                ));
            }
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}
