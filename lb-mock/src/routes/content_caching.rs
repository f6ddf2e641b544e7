//! `/loadbalancers/{id}/contentcaching`: show, enable or disable (HTTP balancers only).

use actix_web::HttpResponse;
use serde_json::json;

use super::request::Req;
use super::wire::accepted;
use crate::domain::features::check_content_caching;
use crate::domain::fields::required_enabled;
use crate::domain::guards::require_active;
use crate::domain::model::Change;
use crate::error::LbError;

pub async fn get_content_caching(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let lb = r.balancers().load_live(id).await?;
    Ok(HttpResponse::Ok().json(json!({"contentCaching": {"enabled": lb.content_caching}})))
}

pub async fn set_content_caching(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let enabled = required_enabled(
        &r.json()?,
        "contentCaching",
        "Must specify whether content caching is enabled or not.",
    )?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            check_content_caching(enabled, lb.protocol)?;
            lb.content_caching = enabled;
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}
