//! The account's lists: `/loadbalancers/protocols`, `/algorithms`, `/alloweddomains`,
//! `/absolutelimits`, and Repose's `/limits`.

use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::request::Req;
use super::wire;
use crate::domain::model::{ALGORITHMS, LISTED_PROTOCOLS, PROTOCOLS};
use crate::error::LbError;

pub async fn list_protocols(_: Req) -> Result<HttpResponse, LbError> {
    let protocols: Vec<Value> = PROTOCOLS[..LISTED_PROTOCOLS]
        .iter()
        .map(|(name, port)| json!({"name": name, "port": port}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "protocols": protocols })))
}

pub async fn list_algorithms(_: Req) -> Result<HttpResponse, LbError> {
    let algorithms: Vec<Value> = ALGORITHMS.iter().map(|a| json!({"name": a})).collect();
    Ok(HttpResponse::Ok().json(json!({ "algorithms": algorithms })))
}

pub async fn list_allowed_domains(_: Req) -> Result<HttpResponse, LbError> {
    Ok(HttpResponse::Ok().json(json!({"allowedDomains": [
        {"allowedDomain": {"name": "rackspace.com"}},
        {"allowedDomain": {"name": "rackspacecloud.com"}},
    ]})))
}

pub async fn get_absolute_limits(r: Req) -> Result<HttpResponse, LbError> {
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
pub async fn get_limits(r: Req) -> Result<HttpResponse, LbError> {
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
