//! `/loadbalancers/{id}/connectionlogging`: show, enable or disable (not on UDP balancers).

use actix_web::HttpResponse;
use serde_json::json;

use super::request::Req;
use super::wire::accepted;
use crate::domain::features::check_connection_logging;
use crate::domain::fields::required_enabled;
use crate::domain::guards::require_active;
use crate::domain::model::Change;
use crate::error::LbError;

pub async fn get_connection_logging(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let lb = r.balancers().load_live(id).await?;
    Ok(HttpResponse::Ok().json(json!({"connectionLogging": {"enabled": lb.connection_logging}})))
}

pub async fn set_connection_logging(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let enabled = required_enabled(
        &r.json()?,
        "connectionLogging",
        "Must specify whether connection logging is enabled or not.",
    )?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            check_connection_logging(enabled, lb.protocol)?;
            lb.connection_logging = enabled;
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}
