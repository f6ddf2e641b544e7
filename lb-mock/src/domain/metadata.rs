//! Rules of metadata, a balancer's or a node's: what an item may hold, whose items a
//! request is about, and when they may change (metadata leaves the status alone).

use serde_json::Value;

use super::fields::{self, field, opt};
use super::guards::require_active;
use super::model::{LoadBalancer, Meta};
use super::rejection::Rejection;
use super::status::LbStatus;

/// Whose metadata a request is about.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Balancer,
    Node(u64),
}

impl Target {
    pub fn noun(self) -> &'static str {
        match self {
            Target::Balancer => "load balancer",
            Target::Node(_) => "node",
        }
    }

    pub fn items(self, lb: &LoadBalancer) -> Result<&Vec<Meta>, Rejection> {
        match self {
            Target::Balancer => Ok(&lb.metadata),
            Target::Node(nid) => lb
                .node(nid)
                .map(|n| &n.metadata)
                .ok_or_else(|| Rejection::not_found("Node not found")),
        }
    }

    pub fn items_mut(self, lb: &mut LoadBalancer) -> Result<&mut Vec<Meta>, Rejection> {
        match self {
            Target::Balancer => Ok(&mut lb.metadata),
            Target::Node(nid) => lb
                .node_mut(nid)
                .map(|n| &mut n.metadata)
                .ok_or_else(|| Rejection::not_found("Node not found")),
        }
    }

    pub fn missing(self, lb_id: u64, mid: u64) -> Rejection {
        Rejection::not_found(match self {
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
) -> Result<Vec<(String, String)>, Rejection> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(list.len());
    for v in list {
        let item = v.as_object().ok_or(Rejection::Schema)?;
        if field(item, "id").is_some() {
            messages.push("Metadata id field cannot be modified.".into());
        }
        let key = opt(item, "key", fields::string)?;
        let value = opt(item, "value", fields::string)?;
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

/// Reads an add body (`{"metadata": [...]}`).
pub fn parse_add(body: &Value) -> Result<Vec<(String, String)>, Rejection> {
    let list = fields::wrapped_list(body, "metadata")?;
    let mut messages = Vec::new();
    if list.is_empty() {
        messages.push("Must provide at least one metadata item".into());
    }
    let items = parse_items(list, &mut messages)?;
    if !messages.is_empty() {
        return Err(Rejection::Validation(messages));
    }
    Ok(items)
}

/// Adds `items` (with their new ids) to the target's metadata; the added items.
pub fn add(
    lb: &mut LoadBalancer,
    status: LbStatus,
    target: Target,
    items: Vec<(String, String)>,
    ids: Vec<u64>,
    limit: usize,
) -> Result<Vec<Meta>, Rejection> {
    require_active(lb, status)?;
    let existing = target.items_mut(lb)?;
    if existing.len() + items.len() > limit {
        return Err(Rejection::bad_request(format!(
            "Metadata must not exceed {limit} per {}.",
            target.noun()
        )));
    }
    if items
        .iter()
        .any(|(k, _)| existing.iter().any(|m| m.key == *k))
    {
        return Err(Rejection::unprocessable(format!(
            "Duplicate metadata keys detected. One or more metadata keys already configured on {}.",
            target.noun()
        )));
    }
    let first = existing.len();
    for ((key, value), id) in items.into_iter().zip(ids) {
        existing.push(Meta { id, key, value });
    }
    Ok(existing[first..].to_vec())
}

/// Reads the new value of one item (`{"meta": {"value"}}`).
pub fn parse_value(body: &Value) -> Result<String, Rejection> {
    let meta = fields::wrapped(body, "meta")?;
    match opt(meta, "value", fields::string)? {
        None => Err(Rejection::validation_one(
            "Must provide a value for the metadata item.",
        )),
        Some(v) if v.chars().count() > 256 => Err(Rejection::validation_one(
            "Value must not exceed 256 characters.",
        )),
        Some(v) if common::has_control_characters(v) => {
            Err(Rejection::validation_one(CONTROL_IN_VALUE))
        }
        Some(v) => Ok(v.to_string()),
    }
}

/// Metadata changes are refused only on a DELETED balancer.
pub fn writable(lb: &LoadBalancer, status: LbStatus) -> Result<(), Rejection> {
    if status == LbStatus::Deleted {
        return require_active(lb, status);
    }
    Ok(())
}

/// Removes the items `ids` of a target, all or nothing: the batch limit first, then the
/// ids that are not the target's.
pub fn bulk_delete(
    items: &mut Vec<Meta>,
    target: Target,
    ids: &[u64],
    max: usize,
) -> Result<(), Rejection> {
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
        return Err(Rejection::Validation(messages));
    }
    items.retain(|m| !ids.contains(&m.id));
    Ok(())
}
