//! `/loadbalancers/{id}/errorpage`: show (the default page when none is set), set, delete.
//! Changes need ACTIVE and leave PENDING_UPDATE.

use actix_web::HttpResponse;
use serde_json::json;

use super::request::Req;
use super::wire::ok_empty;
use crate::domain::features::{
    check_error_page, parse_error_page, DEFAULT_ERROR_PAGE, ERRORPAGE_IMMUTABLE,
};
use crate::domain::model::Change;
use crate::domain::status::LbStatus;
use crate::error::LbError;

pub async fn get_error_page(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let lb = r.balancers().load_live(id).await?;
    let content = lb.error_page.as_deref().unwrap_or(DEFAULT_ERROR_PAGE);
    Ok(HttpResponse::Ok().json(json!({"errorpage": {"content": content}})))
}

/// 200 with the page echoed (gophercloud requires it; the real service's code is unclear).
pub async fn set_error_page(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let body = r.json()?;
    let content = parse_error_page(&body)?;
    let now = r.now_ms;
    let echoed = content.clone();
    r.balancers()
        .mutate(id, |lb, status| {
            check_error_page(lb.protocol)?;
            if status != LbStatus::Active {
                return Err(LbError::unprocessable(ERRORPAGE_IMMUTABLE));
            }
            lb.error_page = Some(content.clone());
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"errorpage": {"content": echoed}})))
}

pub async fn delete_error_page(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            if status != LbStatus::Active {
                return Err(LbError::unprocessable(ERRORPAGE_IMMUTABLE));
            }
            lb.error_page = None;
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(ok_empty())
}
