//! Metadata of a balancer (`/loadbalancers/{id}/metadata[/{meta_id}]`) and of a node
//! (`.../nodes/{node_id}/metadata[/{meta_id}]`): list, add, show, update, delete, bulk
//! delete. Metadata answers 200 and does not move the balancer to PENDING_UPDATE; adding
//! needs ACTIVE.

use actix_web::HttpResponse;
use serde_json::json;

use super::request::{Req, NO_IDS};
use super::wire::ok_empty;
use crate::domain::metadata::{self, writable, Target};
use crate::error::LbError;

/// The balancer and whose metadata the path names (ids checked in that order).
fn target(r: &Req) -> Result<(u64, Target), LbError> {
    let id = r.lb_id()?;
    if r.has_segment("node_id") {
        Ok((id, Target::Node(r.item_id("node_id")?)))
    } else {
        Ok((id, Target::Balancer))
    }
}

pub async fn list_metadata(r: Req) -> Result<HttpResponse, LbError> {
    let (id, target) = target(&r)?;
    let lb = r.balancers().load_live(id).await?;
    Ok(HttpResponse::Ok().json(json!({ "metadata": target.items(&lb)? })))
}

pub async fn add_metadata(r: Req) -> Result<HttpResponse, LbError> {
    let (id, target) = target(&r)?;
    let body = r.json()?;
    let items = metadata::parse_add(&body)?;
    let balancers = r.balancers();
    let ids = balancers.next_ids("lb_meta", items.len()).await?;
    let limit = r.state.lb.metadata_limit;
    let added = balancers
        .mutate(id, |lb, status| {
            Ok(metadata::add(
                lb,
                status,
                target,
                items.clone(),
                ids.clone(),
                limit,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "metadata": added })))
}

pub async fn get_metadata_item(r: Req) -> Result<HttpResponse, LbError> {
    let (id, target) = target(&r)?;
    let mid = r.item_id("meta_id")?;
    let lb = r.balancers().load_live(id).await?;
    let item = target
        .items(&lb)?
        .iter()
        .find(|m| m.id == mid)
        .ok_or_else(|| target.missing(id, mid))?;
    Ok(HttpResponse::Ok().json(json!({ "meta": item })))
}

pub async fn update_metadata_item(r: Req) -> Result<HttpResponse, LbError> {
    let (id, target) = target(&r)?;
    let mid = r.item_id("meta_id")?;
    let body = r.json()?;
    let value = metadata::parse_value(&body)?;
    r.balancers()
        .mutate(id, |lb, status| {
            writable(lb, status)?;
            let lb_id = lb.id;
            let item = target
                .items_mut(lb)?
                .iter_mut()
                .find(|m| m.id == mid)
                .ok_or_else(|| target.missing(lb_id, mid))?;
            item.value = value.clone();
            Ok(())
        })
        .await?;
    Ok(ok_empty())
}

pub async fn delete_metadata_item(r: Req) -> Result<HttpResponse, LbError> {
    let (id, target) = target(&r)?;
    let mid = r.item_id("meta_id")?;
    r.balancers()
        .mutate(id, |lb, status| {
            writable(lb, status)?;
            let lb_id = lb.id;
            let items = target.items_mut(lb)?;
            let before = items.len();
            items.retain(|m| m.id != mid);
            if items.len() == before {
                return Err(target.missing(lb_id, mid).into());
            }
            Ok(())
        })
        .await?;
    Ok(ok_empty())
}

pub async fn delete_metadata_items(r: Req) -> Result<HttpResponse, LbError> {
    let (id, target) = target(&r)?;
    let ids = r.query_ids()?;
    if ids.is_empty() {
        return Err(LbError::bad_request(NO_IDS));
    }
    let max = r.state.lb.batch_delete_limit;
    r.balancers()
        .mutate(id, |lb, status| {
            writable(lb, status)?;
            let items = target.items_mut(lb)?;
            Ok(metadata::bulk_delete(items, target, &ids, max)?)
        })
        .await?;
    Ok(ok_empty())
}
