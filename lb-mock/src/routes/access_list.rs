//! `/loadbalancers/{id}/accesslist` and `.../accesslist/{item_id}`: show, add network
//! items, delete all, some (`?id=`) or one. Reads of a DELETED balancer answer 410;
//! every change needs ACTIVE and leaves PENDING_UPDATE.

use actix_web::HttpResponse;
use serde_json::json;

use super::request::{Req, NO_IDS};
use super::wire::{self, accepted};
use crate::domain::features;
use crate::domain::guards::{check_batch_size, require_active, require_active_for_batch};
use crate::domain::model::Change;
use crate::error::LbError;

pub async fn get_access_list(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let lb = r.balancers().load_live(id).await?;
    Ok(HttpResponse::Ok().json(json!({ "accessList": wire::access_list(&lb) })))
}

pub async fn add_access_list(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let body = r.json()?;
    let limit = r.state.lb.access_list_limit;
    let items = features::parse_access_list(&body, limit)?;
    let balancers = r.balancers();
    let ids = balancers.next_ids("lb_access_item", items.len()).await?;
    let now = r.now_ms;
    balancers
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            features::add_access_items(lb, items.clone(), ids.clone(), limit)?;
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}

/// `DELETE .../accesslist` (everything) or `?id=..` (some items, all or nothing).
pub async fn delete_access_list(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let ids = r.query_ids()?;
    let has_query = r.query.iter().any(|(k, _)| k == "id");
    if has_query && ids.is_empty() {
        return Err(LbError::bad_request(NO_IDS));
    }
    let max = r.state.lb.batch_delete_limit;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            if ids.is_empty() {
                require_active(lb, status)?;
                if lb.access_list.is_empty() {
                    return Err(LbError::unprocessable("No access list found to delete"));
                }
                lb.access_list.clear();
            } else {
                require_active_for_batch(status)?;
                check_batch_size(ids.len(), max)?;
                features::remove_access_items(lb, &ids)?;
            }
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}

pub async fn delete_access_item(r: Req) -> Result<HttpResponse, LbError> {
    let (id, item) = (r.lb_id()?, r.item_id("item_id")?);
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            if !lb.access_list.iter().any(|a| a.id == item) {
                return Err(LbError::not_found("Network Item not found"));
            }
            require_active(lb, status)?;
            lb.access_list.retain(|a| a.id != item);
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}
