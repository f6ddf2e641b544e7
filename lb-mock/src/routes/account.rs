//! Account-level lists (protocols, algorithms, limits, allowed domains), usage and stats.

use actix_web::HttpResponse;
use serde_json::{json, Value};

use common::clock::parse_timestamp;

use super::{wire, Req};
use crate::domain::model::{LoadBalancer, ALGORITHMS, LISTED_PROTOCOLS, PROTOCOLS};
use crate::domain::status::LbStatus;
use crate::error::LbError;

pub fn list_protocols() -> Result<HttpResponse, LbError> {
    let protocols: Vec<Value> = PROTOCOLS[..LISTED_PROTOCOLS]
        .iter()
        .map(|(name, port)| json!({"name": name, "port": port}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "protocols": protocols })))
}

pub fn list_algorithms() -> Result<HttpResponse, LbError> {
    let algorithms: Vec<Value> = ALGORITHMS.iter().map(|a| json!({"name": a})).collect();
    Ok(HttpResponse::Ok().json(json!({ "algorithms": algorithms })))
}

pub fn list_allowed_domains() -> Result<HttpResponse, LbError> {
    Ok(HttpResponse::Ok().json(json!({"allowedDomains": [
        {"allowedDomain": {"name": "rackspace.com"}},
        {"allowedDomain": {"name": "rackspacecloud.com"}},
    ]})))
}

pub fn get_absolute_limits(r: &Req<'_>) -> Result<HttpResponse, LbError> {
    let lb = &r.state.lb;
    Ok(HttpResponse::Ok().json(json!({"absolute": [
        {"name": "IPV6_LIMIT", "value": lb.ipv6_vip_limit},
        {"name": "LOADBALANCER_LIMIT", "value": lb.loadbalancer_limit},
        {"name": "BATCH_DELETE_LIMIT", "value": lb.batch_delete_limit},
        {"name": "ACCESS_LIST_LIMIT", "value": lb.access_list_limit},
        {"name": "NODE_LIMIT", "value": lb.node_limit},
        {"name": "NODE_META_LIMIT", "value": lb.metadata_limit},
        {"name": "CERTIFICATE_MAPPING_LIMIT", "value": 20},
        {"name": "LOADBALANCER_META_LIMIT", "value": lb.metadata_limit},
    ]})))
}

/// Repose's rate limits: the configured per-minute limit for every verb (the real
/// defaults when rate limiting is off).
pub fn get_limits(r: &Req<'_>) -> Result<HttpResponse, LbError> {
    let configured = r.state.lb.rate_limit_per_minute;
    let next = wire::iso(r.now_ms + 60_000);
    let limit: Vec<Value> = [("GET", 600), ("PUT", 600), ("DELETE", 300), ("POST", 300)]
        .into_iter()
        .map(|(verb, default)| {
            let value = if configured > 0 { configured } else { default };
            json!({"verb": verb, "value": value, "remaining": value, "unit": "MINUTE",
                   "next-available": next})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"limits": {"rate": [
        {"uri": "/v1.0/*", "regex": ".*/([0-9]+)/loadbalancers.*", "limit": limit}
    ], "absolute": {}}})))
}

fn date_param(r: &Req<'_>, key: &str) -> Result<Option<i64>, LbError> {
    r.query(key)
        .map(|s| {
            parse_timestamp(s)
                .map(|t| t.timestamp_millis())
                .ok_or_else(|| LbError::bad_request("Date parameters must follow ISO-8601 format"))
        })
        .transpose()
}

/// A plausible usage record of one balancer over `[start, end]`, derived from its id.
fn usage_record(lb: &LoadBalancer, start: i64, end: i64, n: u64) -> Value {
    let hours = ((end - start).max(0) / 3_600_000) as u64 + 1;
    let seed = lb.id.wrapping_mul(2_654_435_761) % 1000;
    let public = lb
        .vips
        .iter()
        .any(|v| v.kind == crate::domain::model::VipType::Public);
    json!({
        "id": lb.id * 1000 + n,
        "averageNumConnections": (seed % 50) as f64 / 10.0,
        "incomingTransfer": hours * (seed * 1024 + 4096),
        "outgoingTransfer": hours * (seed * 4096 + 16384),
        "averageNumConnectionsSsl": 0.0,
        "incomingTransferSsl": 0,
        "outgoingTransferSsl": 0,
        "numVips": lb.vips.len(),
        "numPolls": hours * 12,
        "startTime": wire::iso(start),
        "endTime": wire::iso(end),
        "vipType": if public { "PUBLIC" } else { "SERVICENET" },
        "sslMode": "OFF",
        "eventType": if n == 0 { Value::from("CREATE_LOADBALANCER") } else { Value::Null },
    })
}

fn usage_window(r: &Req<'_>, current: bool) -> Result<(i64, i64), LbError> {
    let day = 86_400_000;
    if current {
        return Ok((r.now_ms - day, r.now_ms));
    }
    let start = date_param(r, "startTime")?;
    let end = date_param(r, "endTime")?;
    let (start, end) = (start.unwrap_or(r.now_ms - day), end.unwrap_or(r.now_ms));
    if start > end {
        return Err(LbError::bad_request(
            "Must specify an earlier startTime than endTime.",
        ));
    }
    Ok((start, end))
}

fn records(lb: &LoadBalancer, start: i64, end: i64) -> Vec<Value> {
    let (start, end) = (start.max(lb.created_ms), end);
    if start > end {
        return Vec::new();
    }
    vec![usage_record(lb, start, end, 0)]
}

pub async fn get_usage(r: &Req<'_>, id: u64, current: bool) -> Result<HttpResponse, LbError> {
    let (start, end) = usage_window(r, current)?;
    let (lb, _) = r.load(id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "loadBalancerUsageRecords": records(&lb, start, end),
        "links": [],
    })))
}

pub async fn get_account_usage(r: &Req<'_>) -> Result<HttpResponse, LbError> {
    let (start, end) = usage_window(r, false)?;
    let mut usages = Vec::new();
    let (mut count, mut public, mut servicenet) = (0u64, 0u64, 0u64);
    r.state
        .balancers
        .page(&r.scope, None, usize::MAX, |lb| {
            count += 1;
            for v in &lb.vips {
                match v.kind {
                    crate::domain::model::VipType::Public => public += 1,
                    crate::domain::model::VipType::Servicenet => servicenet += 1,
                }
            }
            usages.push(json!({
                "loadBalancerId": lb.id,
                "loadBalancerName": lb.name,
                "loadBalancerUsageRecords": records(lb, start, end),
                "links": [],
            }));
            false
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "accountId": r.tenant.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(r.tenant.clone())),
        "accountUsage": {"accountUsageRecords": [{
            "numLoadBalancers": count,
            "numPublicVips": public,
            "numServicenetVips": servicenet,
            "startTime": wire::iso(start),
        }], "links": []},
        "loadBalancerUsages": usages,
    })))
}

pub async fn get_stats(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let (lb, seen) = r.load(id).await?;
    if seen.status != LbStatus::Active {
        return Err(LbError::unprocessable(
            "The load balancer is not available to display statistics.",
        ));
    }
    let s = lb.id.wrapping_mul(40_503) % 97;
    let nodes = lb.nodes.len() as u64;
    Ok(HttpResponse::Ok().json(json!({
        "connectTimeOut": s % 10,
        "connectError": s % 7,
        "connectFailure": s % 5,
        "dataTimedOut": s % 13,
        "keepAliveTimedOut": s % 11,
        "maxConn": 10 * nodes + s,
        "currentConn": 3 * nodes + s % 17,
        "connectTimeOutSsl": 0,
        "connectErrorSsl": 0,
        "connectFailureSsl": 0,
        "dataTimedOutSsl": 0,
        "keepAliveTimedOutSsl": 0,
        "maxConnSsl": 0,
        "currentConnSsl": 0,
    })))
}
