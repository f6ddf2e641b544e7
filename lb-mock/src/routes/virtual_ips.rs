//! `/loadbalancers/{id}/virtualips[/{vip_id}]`: list, add a public IPv6 VIP, delete one or several.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;

use super::request::{Req, NO_IDS};
use super::wire::{self, accepted, VipView};
use crate::domain::fields::{self, field, opt};
use crate::domain::guards::require_active;
use crate::domain::model::{Change, Vip, VipType};
use crate::error::LbError;

const LAST_VIP: &str = "Cannot delete virtual ips. Minimum number of virtual ips required is 1.";

pub async fn list_virtual_ips(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let lb = r.balancers().load_live(id).await?;
    Ok(HttpResponse::Ok().json(json!({ "virtualIps": wire::vips(&lb) })))
}

fn validation_fault(message: &str) -> LbError {
    LbError::Validation {
        message: "Validation fault",
        messages: vec![message.to_string()],
    }
}

/// Only a PUBLIC IPv6 VIP can be added; 202 with the bare VIP.
pub async fn add_virtual_ip(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let body = r.json()?;
    let v = body.as_object().ok_or(LbError::Schema)?;
    if field(v, "id").is_some() {
        return Err(validation_fault("Cannot add a shared virtual ip."));
    }
    let kind = opt(v, "type", fields::string)?
        .map(|t| VipType::parse(t).ok_or(LbError::Schema))
        .transpose()?;
    let version = opt(v, "ipVersion", fields::string)?;
    if kind != Some(VipType::Public) || version != Some("IPV6") {
        return Err(validation_fault(
            "Must specify a valid IP type. Only PUBLIC IPV6 virtual ips can be added.",
        ));
    }
    let balancers = r.balancers();
    let vid = balancers.next_id("lb_vip").await?;
    let now = r.now_ms;
    let limit = r.state.lb.ipv6_vip_limit;
    let vip = balancers
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            if lb.vips.iter().filter(|v| v.v6).count() >= limit {
                return Err(LbError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("Your load balancer cannot have more than {limit} IPv6 virtual ips."),
                ));
            }
            let vip = Vip {
                id: vid,
                kind: VipType::Public,
                v6: true,
            };
            lb.vips.push(vip);
            lb.changed(now, Change::Other);
            Ok(vip)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(VipView::from(&vip)))
}

pub async fn delete_virtual_ip(r: Req) -> Result<HttpResponse, LbError> {
    let (id, vid) = (r.lb_id()?, r.item_id("vip_id")?);
    remove_vips(&r, id, &[vid]).await
}

pub async fn delete_virtual_ips(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let ids = r.query_ids()?;
    if ids.is_empty() {
        return Err(LbError::bad_request(NO_IDS));
    }
    let max = r.state.lb.batch_delete_limit;
    if ids.len() > max {
        return Err(LbError::bad_request(format!(
            "Currently, the limit of accepted parameters is: {max} : please supply a valid parameter list."
        )));
    }
    remove_vips(&r, id, &ids).await
}

async fn remove_vips(r: &Req, id: u64, ids: &[u64]) -> Result<HttpResponse, LbError> {
    let now = r.now_ms;
    r.balancers()
        .mutate(id, |lb, status| {
            let unknown: Vec<String> = ids
                .iter()
                .filter(|v| !lb.vips.iter().any(|x| x.id == **v))
                .map(u64::to_string)
                .collect();
            if !unknown.is_empty() {
                return Err(LbError::bad_request(format!(
                    "Must provide valid virtual ips, {} could not be found.",
                    unknown.join(",")
                )));
            }
            if lb.vips.iter().all(|x| ids.contains(&x.id)) {
                return Err(LbError::bad_request(LAST_VIP));
            }
            require_active(lb, status)?;
            lb.vips.retain(|x| !ids.contains(&x.id));
            lb.changed(now, Change::Other);
            Ok(())
        })
        .await?;
    Ok(accepted())
}
