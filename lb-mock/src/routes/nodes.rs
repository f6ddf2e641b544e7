//! `/loadbalancers/{id}/nodes` and `.../nodes/{node_id}`: batch add, list, show, update
//! (one or several), delete (one or several).

use actix_web::HttpResponse;
use serde_json::json;

use super::request::{Req, NO_IDS};
use super::wire::{self, accepted, NodeJudge};
use crate::compute::ServerStatuses;
use crate::domain::guards::{require_active, require_active_for_batch};
use crate::domain::model::Change;
use crate::domain::nodes::{self, check_secondary, new_node, node_not_found};
use crate::error::LbError;

fn judge<'a>(r: &Req, servers: Option<&'a ServerStatuses>) -> NodeJudge<'a> {
    NodeJudge::new(servers, r.now_ms, r.state.lb.health_monitor_online_after_ms)
}

pub async fn list_nodes(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let lb = r.balancers().load_live(id).await?;
    let servers = r.server_statuses(&lb).await;
    let j = judge(&r, servers.as_ref());
    // CLB accepts `offset`, `limit` and (inclusive) `marker` here too.
    let number = |k: &str| r.query(k).and_then(|v| v.parse::<u64>().ok());
    let marker = number("marker").unwrap_or(0);
    let nodes = lb
        .nodes
        .iter()
        .filter(|n| n.id >= marker)
        .skip(number("offset").unwrap_or(0) as usize)
        .take(number("limit").map_or(usize::MAX, |l| l as usize))
        .map(|n| j.view(n));
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(wire::nodes_body(nodes)))
}

pub async fn get_node(r: Req) -> Result<HttpResponse, LbError> {
    let (id, nid) = (r.lb_id()?, r.item_id("node_id")?);
    let lb = r.balancers().load_live(id).await?;
    let node = lb
        .node(nid)
        .ok_or_else(|| LbError::not_found("Node not found"))?;
    let servers = r.server_statuses(&lb).await;
    let mut view = judge(&r, servers.as_ref()).view(node);
    view.metadata = Some(node.metadata.iter().collect());
    Ok(HttpResponse::Ok().json(json!({ "node": view })))
}

pub async fn add_nodes(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let body = r.json()?;
    let new = nodes::parse_add(&body)?;
    let limit = r.state.lb.node_limit;
    let balancers = r.balancers();
    // Checked before node ids are drawn, so a refused request consumes none; checked again
    // with the write, which is what makes it atomic.
    let (current, seen) = balancers.load(id).await?;
    nodes::admit(&current, seen.status, &new, limit)?;
    let ids = balancers.next_ids("lb_node", new.len()).await?;
    let now = r.now_ms;
    let added = balancers
        .mutate(id, |lb, status| {
            nodes::admit(lb, status, &new, limit)?;
            let monitored = lb.health_monitor.is_some();
            let first = lb.nodes.len();
            for (n, nid) in new.iter().cloned().zip(ids.iter().cloned()) {
                lb.nodes.push(new_node(n, nid, now, monitored));
            }
            lb.changed(now, Change::NodeList);
            Ok(lb.nodes[first..].to_vec())
        })
        .await?;
    let j = judge(&r, None);
    let nodes: Vec<_> = added.iter().map(|n| j.view(n)).collect();
    Ok(HttpResponse::Accepted().json(json!({ "nodes": nodes })))
}

pub async fn update_node(r: Req) -> Result<HttpResponse, LbError> {
    let (id, nid) = (r.lb_id()?, r.item_id("node_id")?);
    let body = r.json()?;
    let change = nodes::parse_update(&body)?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            let lb_id = lb.id;
            if lb.node(nid).is_none() {
                return Err(node_not_found(nid, lb_id).into());
            }
            require_active(lb, status)?;
            let monitored = lb.health_monitor.is_some();
            let kinds = lb.nodes.iter().map(|o| {
                if o.id == nid {
                    change.kind.unwrap_or(o.kind)
                } else {
                    o.kind
                }
            });
            check_secondary(kinds, monitored)?;
            if let Some(node) = lb.node_mut(nid) {
                node.condition = change.condition.unwrap_or(node.condition);
                node.kind = change.kind.unwrap_or(node.kind);
                node.weight = change.weight.map_or(node.weight, |w| w as u8);
                node.record(now, false);
            }
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}

pub async fn delete_node(r: Req) -> Result<HttpResponse, LbError> {
    let (id, nid) = (r.lb_id()?, r.item_id("node_id")?);
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            if lb.node(nid).is_none() {
                return Err(node_not_found(nid, lb.id).into());
            }
            require_active(lb, status)?;
            lb.nodes.retain(|n| n.id != nid);
            lb.changed(now, Change::NodeList);
            Ok(())
        })
        .await?;
    Ok(accepted())
}

/// `DELETE .../nodes?id=1&id=2`: all or nothing. CLB's order: no ids; balancer state;
/// then one Validation Failure listing the batch limit first, then the unknown ids.
pub async fn delete_nodes(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let ids = r.query_ids()?;
    if ids.is_empty() {
        return Err(LbError::bad_request(NO_IDS));
    }
    let now = r.now_ms;
    let max = r.state.lb.batch_delete_limit;
    r.balancers()
        .mutate(id, |lb, status| {
            require_active_for_batch(status)?;
            let known = nodes::bulk_delete(lb, &ids, max)?;
            lb.nodes.retain(|n| !known.contains(&n.id));
            lb.changed(now, Change::NodeList);
            Ok(())
        })
        .await?;
    Ok(accepted())
}

/// `PUT .../nodes` with `{"nodes": [{"id", "condition"?, "weight"?, "type"?}]}`: several
/// nodes at once, all or nothing; 202 with the updated nodes.
pub async fn update_nodes(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let body = r.json()?;
    let changes = nodes::parse_bulk_update(&body)?;
    let now = r.now_ms;
    let updated = r
        .balancers()
        .mutate(id, |lb, status| {
            let lb_id = lb.id;
            if let Some((nid, ..)) = changes.iter().find(|(nid, ..)| lb.node(*nid).is_none()) {
                return Err(node_not_found(*nid, lb_id).into());
            }
            require_active(lb, status)?;
            let monitored = lb.health_monitor.is_some();
            let kinds = lb.nodes.iter().map(|o| {
                changes
                    .iter()
                    .find(|(nid, ..)| *nid == o.id)
                    .and_then(|c| c.2)
                    .unwrap_or(o.kind)
            });
            check_secondary(kinds, monitored)?;
            let mut out = Vec::with_capacity(changes.len());
            for (nid, condition, kind, weight) in &changes {
                if let Some(node) = lb.node_mut(*nid) {
                    node.condition = condition.unwrap_or(node.condition);
                    node.kind = kind.unwrap_or(node.kind);
                    node.weight = weight.unwrap_or(node.weight);
                    node.record(now, false);
                    out.push(node.clone());
                }
            }
            lb.changed(now, Change::Other);
            Ok(out)
        })
        .await?;
    let j = judge(&r, None);
    let nodes: Vec<_> = updated
        .iter()
        .map(|n| {
            let mut v = j.view(n);
            v.metadata = Some(n.metadata.iter().collect());
            v
        })
        .collect();
    Ok(HttpResponse::Accepted().json(json!({ "nodes": nodes })))
}
