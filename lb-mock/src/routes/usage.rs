//! Usage: the account's (`/loadbalancers/usage`) and one balancer's
//! (`/loadbalancers/{id}/usage`, `.../usage/current`), plausible records derived from ids.

use actix_web::HttpResponse;
use serde_json::{json, Value};

use common::clock::parse_timestamp;

use super::request::Req;
use super::wire;
use crate::domain::model::{LoadBalancer, VipType};
use crate::error::LbError;

fn date_param(r: &Req, key: &str) -> Result<Option<i64>, LbError> {
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
    let public = lb.vips.iter().any(|v| v.kind == VipType::Public);
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

fn usage_window(r: &Req, current: bool) -> Result<(i64, i64), LbError> {
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

pub async fn get_usage(r: Req) -> Result<HttpResponse, LbError> {
    balancer_usage(r, false).await
}

pub async fn get_current_usage(r: Req) -> Result<HttpResponse, LbError> {
    balancer_usage(r, true).await
}

async fn balancer_usage(r: Req, current: bool) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let (start, end) = usage_window(&r, current)?;
    let (lb, _) = r.balancers().load(id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "loadBalancerUsageRecords": records(&lb, start, end),
        "links": [],
    })))
}

pub async fn get_account_usage(r: Req) -> Result<HttpResponse, LbError> {
    let (start, end) = usage_window(&r, false)?;
    let mut usages = Vec::new();
    let (mut count, mut public, mut servicenet) = (0u64, 0u64, 0u64);
    r.balancers()
        .visit(|lb| {
            count += 1;
            for v in &lb.vips {
                match v.kind {
                    VipType::Public => public += 1,
                    VipType::Servicenet => servicenet += 1,
                }
            }
            usages.push(json!({
                "loadBalancerId": lb.id,
                "loadBalancerName": lb.name,
                "loadBalancerUsageRecords": records(lb, start, end),
                "links": [],
            }));
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
