//! Metadata of a balancer (`/loadbalancers/{id}/metadata`) and of a node
//! (`.../nodes/{nid}/metadata`): list, add, show, update, delete, bulk delete. Metadata
//! answers 200 and does not move the balancer to PENDING_UPDATE; adding needs ACTIVE.

use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::body::{self, field, opt};
use super::{node_id, not_found_route, require_active, Req, NO_IDS};
use crate::domain::model::{LoadBalancer, Meta};
use crate::domain::status::LbStatus;
use crate::error::LbError;

/// Whose metadata a request is about.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Balancer,
    Node(u64),
}

impl Target {
    fn noun(self) -> &'static str {
        match self {
            Target::Balancer => "load balancer",
            Target::Node(_) => "node",
        }
    }

    fn items(self, lb: &LoadBalancer) -> Result<&Vec<Meta>, LbError> {
        match self {
            Target::Balancer => Ok(&lb.metadata),
            Target::Node(nid) => lb
                .node(nid)
                .map(|n| &n.metadata)
                .ok_or_else(|| LbError::not_found("Node not found")),
        }
    }

    fn items_mut(self, lb: &mut LoadBalancer) -> Result<&mut Vec<Meta>, LbError> {
        match self {
            Target::Balancer => Ok(&mut lb.metadata),
            Target::Node(nid) => lb
                .node_mut(nid)
                .map(|n| &mut n.metadata)
                .ok_or_else(|| LbError::not_found("Node not found")),
        }
    }

    fn missing(self, lb_id: u64, mid: u64) -> LbError {
        LbError::not_found(match self {
            Target::Balancer => format!(
                "LoadbalancerMeta data item with id #{mid} not found for loadbalancer #{lb_id}"
            ),
            Target::Node(nid) => format!("Node meta data {mid} doesn't exist on node {nid}."),
        })
    }
}

/// Our texts (CLB's are not known) for metadata with control characters.
const CONTROL_IN_KEY: &str = "Key must not contain control characters.";
const CONTROL_IN_VALUE: &str = "Value must not contain control characters.";

/// Reads `[{"key", "value"}]`, pushing CLB's validation texts.
pub fn parse_items(
    list: &[Value],
    messages: &mut Vec<String>,
) -> Result<Vec<(String, String)>, LbError> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(list.len());
    for v in list {
        let item = v.as_object().ok_or(LbError::Schema)?;
        if field(item, "id").is_some() {
            messages.push("Metadata id field cannot be modified.".into());
        }
        let key = opt(item, "key", body::string)?;
        let value = opt(item, "value", body::string)?;
        match key {
            None | Some("") => messages.push("Must provide a key for the metadata item.".into()),
            Some(k) if k.chars().count() > 256 => {
                messages.push("Key must not exceed 256 characters.".into())
            }
            Some(k) if common::has_control_characters(k) => messages.push(CONTROL_IN_KEY.into()),
            _ => {}
        }
        match value {
            None => messages.push("Must provide a value for the metadata item.".into()),
            Some(v) if v.chars().count() > 256 => {
                messages.push("Value must not exceed 256 characters.".into())
            }
            Some(v) if common::has_control_characters(v) => messages.push(CONTROL_IN_VALUE.into()),
            _ => {}
        }
        if let (Some(k), Some(v)) = (key, value) {
            if out.iter().any(|(o, _)| o == k) {
                messages.push(
                    "Duplicate keys detected. Please ensure that the key is unique for each metadata item."
                        .into(),
                );
            }
            out.push((k.to_string(), v.to_string()));
        }
    }
    messages.dedup();
    Ok(out)
}

pub async fn route(
    r: &Req<'_>,
    m: &str,
    id: u64,
    target: Target,
    rest: &[&str],
) -> Result<HttpResponse, LbError> {
    match (m, rest) {
        ("GET", []) => list_metadata(r, id, target).await,
        ("POST", []) => add_metadata(r, id, target).await,
        ("DELETE", []) => delete_metadata_items(r, id, target).await,
        ("GET", [mid]) => get_metadata_item(r, id, target, node_id(mid)?).await,
        ("PUT", [mid]) => update_metadata_item(r, id, target, node_id(mid)?).await,
        ("DELETE", [mid]) => delete_metadata_item(r, id, target, node_id(mid)?).await,
        (_, [] | [_]) => Err(super::method_not_allowed()),
        _ => Err(not_found_route()),
    }
}

async fn list_metadata(r: &Req<'_>, id: u64, target: Target) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    Ok(HttpResponse::Ok().json(json!({ "metadata": target.items(&lb)? })))
}

async fn add_metadata(r: &Req<'_>, id: u64, target: Target) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let list = body
        .get("metadata")
        .and_then(Value::as_array)
        .ok_or(LbError::Schema)?;
    let mut messages = Vec::new();
    if list.is_empty() {
        messages.push("Must provide at least one metadata item".into());
    }
    let items = parse_items(list, &mut messages)?;
    if !messages.is_empty() {
        return Err(LbError::validation(messages));
    }
    let ids = r.next_ids("lb_meta", items.len()).await?;
    let limit = r.state.lb.metadata_limit;
    let added = r
        .mutate(id, |lb, status| {
            require_active(lb, status)?;
            let existing = target.items_mut(lb)?;
            if existing.len() + items.len() > limit {
                return Err(LbError::bad_request(format!(
                    "Metadata must not exceed {limit} per {}.",
                    target.noun()
                )));
            }
            if items.iter().any(|(k, _)| existing.iter().any(|m| m.key == *k)) {
                return Err(LbError::unprocessable(format!(
                    "Duplicate metadata keys detected. One or more metadata keys already configured on {}.",
                    target.noun()
                )));
            }
            let first = existing.len();
            for ((key, value), id) in items.into_iter().zip(ids) {
                existing.push(Meta { id, key, value });
            }
            Ok(existing[first..].to_vec())
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "metadata": added })))
}

async fn get_metadata_item(
    r: &Req<'_>,
    id: u64,
    target: Target,
    mid: u64,
) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    let item = target
        .items(&lb)?
        .iter()
        .find(|m| m.id == mid)
        .ok_or_else(|| target.missing(id, mid))?;
    Ok(HttpResponse::Ok().json(json!({ "meta": item })))
}

fn writable(lb: &LoadBalancer, status: LbStatus) -> Result<(), LbError> {
    if status == LbStatus::Deleted {
        return require_active(lb, status);
    }
    Ok(())
}

async fn update_metadata_item(
    r: &Req<'_>,
    id: u64,
    target: Target,
    mid: u64,
) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let meta = body::wrapped(&body, "meta")?;
    let value = match opt(meta, "value", body::string)? {
        None => {
            return Err(LbError::validation_one(
                "Must provide a value for the metadata item.",
            ))
        }
        Some(v) if v.chars().count() > 256 => {
            return Err(LbError::validation_one(
                "Value must not exceed 256 characters.",
            ))
        }
        Some(v) if common::has_control_characters(v) => {
            return Err(LbError::validation_one(CONTROL_IN_VALUE))
        }
        Some(v) => v.to_string(),
    };
    r.mutate(id, |lb, status| {
        writable(lb, status)?;
        let lb_id = lb.id;
        let item = target
            .items_mut(lb)?
            .iter_mut()
            .find(|m| m.id == mid)
            .ok_or_else(|| target.missing(lb_id, mid))?;
        item.value = value;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().content_type("application/json").finish())
}

async fn delete_metadata_item(
    r: &Req<'_>,
    id: u64,
    target: Target,
    mid: u64,
) -> Result<HttpResponse, LbError> {
    r.mutate(id, |lb, status| {
        writable(lb, status)?;
        let lb_id = lb.id;
        let items = target.items_mut(lb)?;
        let before = items.len();
        items.retain(|m| m.id != mid);
        if items.len() == before {
            return Err(target.missing(lb_id, mid));
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().content_type("application/json").finish())
}

async fn delete_metadata_items(
    r: &Req<'_>,
    id: u64,
    target: Target,
) -> Result<HttpResponse, LbError> {
    let ids = r.query_ids()?;
    if ids.is_empty() {
        return Err(LbError::bad_request(NO_IDS));
    }
    let max = r.state.lb.batch_delete_limit;
    r.mutate(id, |lb, status| {
        writable(lb, status)?;
        let items = target.items_mut(lb)?;
        let mut messages = Vec::new();
        if ids.len() > max {
            messages.push(format!(
                "Request to delete {} metadata items exceeds the account limit BATCH_DELETE_LIMIT of {max} please attempt to delete fewer then {max} metadata items",
                ids.len()
            ));
        }
        let unknown: Vec<String> = ids
            .iter()
            .filter(|i| !items.iter().any(|m| m.id == **i))
            .map(u64::to_string)
            .collect();
        if !unknown.is_empty() {
            messages.push(format!(
                "Metadata ids {} are not a part of your {}",
                unknown.join(","),
                match target {
                    Target::Balancer => "loadbalancer",
                    Target::Node(_) => "node",
                }
            ));
        }
        if !messages.is_empty() {
            return Err(LbError::validation(messages));
        }
        items.retain(|m| !ids.contains(&m.id));
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().content_type("application/json").finish())
}
