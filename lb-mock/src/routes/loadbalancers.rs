//! `/loadbalancers` and `/loadbalancers/{id}`: create, list, show, update, delete.

use actix_web::HttpResponse;
use serde_json::{json, Value};

use common::clock::parse_timestamp;

use super::request::{Req, NO_IDS};
use super::wire::{self, accepted, NodeJudge};
use crate::domain::balancer::{self, VipSpec};
use crate::domain::guards::check_batch_size;
use crate::domain::model::{AccessItem, LoadBalancer, Meta};
use crate::domain::nodes::new_node;
use crate::domain::status::{LbStatus, StatusState};
use crate::error::LbError;

pub async fn create_load_balancer(r: Req) -> Result<HttpResponse, LbError> {
    let body = r.json()?;
    let spec = balancer::parse_create(&r.state.lb, &body)?;
    let balancers = r.balancers();
    let id = balancers.next_id("lb_loadbalancer").await?;
    let node_ids = balancers.next_ids("lb_node", spec.nodes.len()).await?;
    let new_vips = spec
        .vips
        .iter()
        .filter(|v| matches!(v, VipSpec::New { .. }))
        .count();
    let vip_ids = balancers.next_ids("lb_vip", new_vips).await?;
    let meta_ids = balancers.next_ids("lb_meta", spec.metadata.len()).await?;
    let item_ids = balancers
        .next_ids("lb_access_item", spec.access_list.len())
        .await?;
    let now = r.now_ms;
    let knobs = balancer::knobs(&spec.metadata);
    let monitored = spec.health_monitor.is_some();
    let lb = LoadBalancer {
        id,
        name: spec.name,
        protocol: spec.protocol,
        port: spec.port,
        algorithm: spec.algorithm,
        timeout: spec.timeout,
        half_closed: spec.half_closed,
        https_redirect: spec.https_redirect,
        connection_logging: spec.connection_logging,
        content_caching: spec.content_caching,
        created_ms: now,
        updated_ms: now,
        state: StatusState::new(LbStatus::Build, now),
        knobs,
        vips: Vec::with_capacity(spec.vips.len()),
        nodes: spec
            .nodes
            .into_iter()
            .zip(node_ids)
            .map(|(n, nid)| new_node(n, nid, now, monitored))
            .collect(),
        metadata: spec
            .metadata
            .into_iter()
            .zip(meta_ids)
            .map(|((key, value), id)| Meta { id, key, value })
            .collect(),
        health_monitor: spec.health_monitor.map(Box::new),
        session_persistence: spec.session_persistence,
        throttle: spec.throttle.map(Box::new),
        access_list: spec
            .access_list
            .into_iter()
            .zip(item_ids)
            .map(|((address, allow), id)| AccessItem { id, address, allow })
            .collect(),
        error_page: None,
    };
    let lb = balancers.create(lb, &spec.vips, vip_ids).await?;
    let seen = lb
        .observe(r.state.timings(), now)
        .ok_or_else(LbError::lb_not_found)?;
    let judge = NodeJudge::new(None, now, r.state.lb.health_monitor_online_after_ms);
    Ok(HttpResponse::Accepted()
        .content_type("application/json")
        .body(wire::detail(&lb, seen, &r.region, &judge)))
}

pub async fn get_load_balancer(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let (lb, seen, revision) = r.balancers().load_revised(id).await?;
    let servers = if seen.status == LbStatus::Deleted {
        None
    } else {
        r.server_statuses(&lb).await
    };
    let judge = NodeJudge::new(
        servers.as_ref(),
        r.now_ms,
        r.state.lb.health_monitor_online_after_ms,
    );
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(wire::detail_cached(
            &r.state.rendered,
            &lb,
            revision,
            seen,
            &r.region,
            &judge,
        )))
}

pub async fn list_load_balancers(r: Req) -> Result<HttpResponse, LbError> {
    let status = match r.query("status") {
        None => None,
        Some(s) => Some(LbStatus::parse(s).ok_or_else(|| {
            LbError::bad_request(format!("{s} is not a valid LoadBalancer status"))
        })?),
    };
    let name = r.query("name");
    if name.is_some_and(str::is_empty) {
        return Err(LbError::bad_request(
            "Must supply LoadBalancer name to process this request.",
        ));
    }
    let since = match r.query("changes-since") {
        None => None,
        Some(s) => Some(
            parse_timestamp(s)
                .ok_or_else(|| LbError::bad_request("Date parameters must follow ISO-8601 format"))?
                .timestamp_millis(),
        ),
    };
    let node_address = r.query("nodeaddress").filter(|a| !a.is_empty());
    let limit = match r.query("limit").and_then(|l| l.parse::<i64>().ok()) {
        Some(l) if (0..=100).contains(&l) => l as usize,
        _ => 100,
    };
    let marker = r.query("marker").and_then(|m| m.parse::<u64>().ok());
    let mut offset = r
        .query("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let timings = r.state.timings();
    let now = r.now_ms;
    let mut out: Vec<Value> = Vec::new();
    r.balancers()
        .visit(|lb| {
            if out.len() >= limit || marker.is_some_and(|m| lb.id < m) {
                return;
            }
            let Some(seen) = lb.observe(timings, now) else {
                return;
            };
            let wanted = match status {
                Some(s) => seen.status == s,
                None => seen.status != LbStatus::Deleted,
            };
            let wanted = wanted
                && since.is_none_or(|t| lb.updated_ms.max(seen.since_ms) >= t)
                && match node_address {
                    Some(a) => lb.nodes.iter().any(|n| n.address == a),
                    None => name.is_none_or(|n| lb.name == n),
                };
            if !wanted {
                return;
            }
            if offset > 0 {
                offset -= 1;
                return;
            }
            out.push(if node_address.is_some() {
                json!({"id": lb.id, "name": lb.name, "status": seen.status.as_str()})
            } else {
                wire::summary(lb, seen)
            });
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "loadBalancers": out })))
}

pub async fn update_load_balancer(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let body = r.json()?;
    let c = balancer::parse_update(&r.tenant, id, &body)?;
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            Ok(balancer::update(lb, status, c.clone(), now)?)
        })
        .await?;
    Ok(accepted())
}

pub async fn delete_load_balancer(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    r.balancers().delete(&[id]).await?;
    Ok(accepted())
}

pub async fn delete_load_balancers(r: Req) -> Result<HttpResponse, LbError> {
    let ids = r.query_ids()?;
    if ids.is_empty() {
        return Err(LbError::bad_request(NO_IDS));
    }
    check_batch_size(ids.len(), r.state.lb.batch_delete_limit)?;
    r.balancers().delete(&ids).await?;
    Ok(accepted())
}
