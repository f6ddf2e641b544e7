//! `/loadbalancers/{id}/nodes`: batch add, list, show, update, delete, bulk delete, and
//! the node Atom feed.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use super::body::{self, field, opt};
use super::wire::{self, NodeJudge};
use super::{accepted, require_active, Req, DELETED_IMMUTABLE, NOT_ACTIVE, NO_IDS};
use crate::domain::model::{Condition, LoadBalancer, Node, NodeType, Vip};
use crate::domain::status::LbStatus;
use crate::error::LbError;

pub const VIP_AS_NODE: &str = "Invalid node address. The load balancer's virtual ip or host end point address cannot be used as a node address.";
const DUPLICATE_EXISTING: &str =
    "Duplicate nodes detected. One or more nodes already configured on load balancer.";
const DUPLICATE_IN_BODY: &str =
    "Duplicate nodes detected. Please ensure that the ip address and port are unique for each node.";
const BAD_WEIGHT: &str = "Node weight is invalid. Range is 1-100. Please specify a valid weight.";

/// A node as a create or add body asks for it.
pub struct NewNode {
    pub address: String,
    pub port: u16,
    pub condition: Condition,
    pub weight: u8,
    pub kind: NodeType,
}

/// Reads the nodes of a create or add body, pushing CLB's validation texts.
pub fn parse_new_nodes(
    list: &[Value],
    messages: &mut Vec<String>,
) -> Result<Vec<NewNode>, LbError> {
    let mut out: Vec<NewNode> = Vec::with_capacity(list.len());
    for v in list {
        let n = v.as_object().ok_or(LbError::Schema)?;
        let address = opt(n, "address", body::string)?;
        let port = opt(n, "port", body::int)?;
        let condition = opt(n, "condition", body::string)?
            .map(|c| Condition::parse(c).ok_or(LbError::Schema))
            .transpose()?;
        let kind = opt(n, "type", body::string)?
            .map(|t| NodeType::parse(t).ok_or(LbError::Schema))
            .transpose()?;
        let weight = opt(n, "weight", body::int)?;
        match address {
            None => messages.push("Must provide a valid ip for the node.".into()),
            Some(a) if !crate::domain::model::valid_address(a, false) => {
                messages.push("Node ip is invalid. Please specify a valid ip.".into())
            }
            _ => {}
        }
        match port {
            None => messages.push("Must provide a valid port for the node.".into()),
            Some(p) if !(1..=65535).contains(&p) => {
                messages.push("Node port is invalid. Please specify a valid port.".into())
            }
            _ => {}
        }
        if weight.is_some_and(|w| !(1..=100).contains(&w)) {
            messages.push(BAD_WEIGHT.into());
        }
        if field(n, "status").is_some() {
            messages.push("Node status field cannot be modified.".into());
        }
        if field(n, "id").is_some() {
            messages.push("Node id field cannot be modified.".into());
        }
        let (Some(address), Some(port)) = (address, port) else {
            continue;
        };
        let node = NewNode {
            address: address.to_string(),
            port: port.clamp(0, 65535) as u16,
            // CLB requires a condition; Mimic and most clients default it to ENABLED.
            condition: condition.unwrap_or(Condition::Enabled),
            weight: weight.unwrap_or(1).clamp(1, 100) as u8,
            kind: kind.unwrap_or(NodeType::Primary),
        };
        if out
            .iter()
            .any(|o| o.address == node.address && o.port == node.port)
        {
            messages.push(DUPLICATE_IN_BODY.into());
        }
        out.push(node);
    }
    messages.dedup();
    Ok(out)
}

/// A stored node from a requested one, with its "created" feed entry.
pub fn new_node(n: NewNode, id: u64, now_ms: i64, monitored: bool) -> Node {
    let mut node = Node {
        id,
        address: n.address,
        port: n.port,
        condition: n.condition,
        weight: n.weight,
        kind: n.kind,
        forced: None,
        awaiting_health: monitored,
        created_ms: now_ms,
        metadata: Vec::new(),
        // Most nodes only ever have their "created" entry: keep the allocation exact.
        events: Vec::with_capacity(1),
    };
    node.record(now_ms, true);
    node
}

/// CLB's rules for SECONDARY nodes.
pub fn check_secondary(
    mut kinds: impl Iterator<Item = NodeType> + Clone,
    monitored: bool,
) -> Result<(), LbError> {
    let any = kinds.clone().next().is_some();
    if kinds.clone().any(|k| k == NodeType::Secondary) {
        if !monitored {
            return Err(LbError::bad_request(
                "you must enable health monitoring to use secondary nodes",
            ));
        }
        if any && !kinds.any(|k| k == NodeType::Primary) {
            return Err(LbError::bad_request(
                "you must have at least one primary node enabled",
            ));
        }
    }
    Ok(())
}

fn judge<'a>(r: &Req<'_>, servers: Option<&'a crate::compute::ServerStatuses>) -> NodeJudge<'a> {
    NodeJudge {
        servers,
        now_ms: r.now_ms,
        online_after_ms: r.state.lb.health_monitor_online_after_ms,
    }
}

pub async fn list_nodes(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    let servers = r.server_statuses(&lb).await;
    let j = judge(r, servers.as_ref());
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

pub async fn get_node(r: &Req<'_>, id: u64, nid: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    let node = lb
        .node(nid)
        .ok_or_else(|| LbError::not_found("Node not found"))?;
    let servers = r.server_statuses(&lb).await;
    let mut view = judge(r, servers.as_ref()).view(node);
    view.metadata = Some(node.metadata.iter().collect());
    Ok(HttpResponse::Ok().json(json!({ "node": view })))
}

/// Whether `new` nodes may join `lb` in `status`: an ACTIVE balancer, the node limit,
/// secondary nodes only with a health monitor, no duplicates, no VIP address as a node.
fn admit(
    lb: &LoadBalancer,
    status: LbStatus,
    new: &[NewNode],
    limit: usize,
) -> Result<(), LbError> {
    if status == LbStatus::Deleted {
        return Err(LbError::unprocessable(DELETED_IMMUTABLE));
    }
    require_active(lb, status)?;
    if lb.nodes.len() + new.len() > limit {
        return Err(LbError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Nodes must not exceed {limit} per load balancer."),
        ));
    }
    check_secondary(
        lb.nodes
            .iter()
            .map(|n| n.kind)
            .chain(new.iter().map(|n| n.kind)),
        lb.health_monitor.is_some(),
    )?;
    if new.iter().any(|n| {
        lb.nodes
            .iter()
            .any(|o| o.address == n.address && o.port == n.port)
    }) {
        return Err(LbError::unprocessable(DUPLICATE_EXISTING));
    }
    let vip_addresses: Vec<String> = lb.vips.iter().map(Vip::address).collect();
    if new.iter().any(|n| vip_addresses.contains(&n.address)) {
        return Err(LbError::bad_request(VIP_AS_NODE));
    }
    Ok(())
}

pub async fn add_nodes(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let list = body
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or(LbError::Schema)?;
    let mut messages = Vec::new();
    if list.is_empty() {
        messages.push("Must provide at least one node to add.".into());
    }
    let new = parse_new_nodes(list, &mut messages)?;
    if !messages.is_empty() {
        return Err(LbError::validation(messages));
    }
    let limit = r.state.lb.node_limit;
    // Checked before node ids are drawn, so a refused request consumes none; checked again
    // with the write, which is what makes it atomic.
    let (current, seen) = r.load(id).await?;
    admit(&current, seen.status, &new, limit)?;
    let ids = r.next_ids("lb_node", new.len()).await?;
    let now = r.now_ms;
    let added = r
        .mutate(id, |lb, status| {
            admit(lb, status, &new, limit)?;
            let monitored = lb.health_monitor.is_some();
            let first = lb.nodes.len();
            for (n, nid) in new.into_iter().zip(ids) {
                lb.nodes.push(new_node(n, nid, now, monitored));
            }
            lb.changed(now, true);
            Ok(lb.nodes[first..].to_vec())
        })
        .await?;
    let j = judge(r, None);
    let nodes: Vec<_> = added.iter().map(|n| j.view(n)).collect();
    Ok(HttpResponse::Accepted().json(json!({ "nodes": nodes })))
}

pub async fn update_node(r: &Req<'_>, id: u64, nid: u64) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let n: &Map<String, Value> = body::wrapped(&body, "node")?;
    let condition = opt(n, "condition", body::string)?
        .map(|c| Condition::parse(c).ok_or(LbError::Schema))
        .transpose()?;
    let kind = opt(n, "type", body::string)?
        .map(|t| NodeType::parse(t).ok_or(LbError::Schema))
        .transpose()?;
    let weight = opt(n, "weight", body::int)?;
    let mut messages: Vec<String> = Vec::new();
    if field(n, "address").is_some() {
        messages.push("Node ip field cannot be modified.".into());
    }
    if field(n, "port").is_some() {
        messages.push("Port field cannot be modified.".into());
    }
    if weight.is_some_and(|w| !(1..=100).contains(&w)) {
        messages.push(BAD_WEIGHT.into());
    }
    if field(n, "id").is_some() {
        messages.push("Node id field cannot be modified.".into());
    }
    if field(n, "status").is_some() {
        messages.push("Node status field cannot be modified.".into());
    }
    if condition.is_none() && kind.is_none() && weight.is_none() && messages.is_empty() {
        messages.push(
            "The node must have at least one of the following to update: condition, weight, type."
                .into(),
        );
    }
    if !messages.is_empty() {
        return Err(LbError::validation(messages));
    }
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        let lb_id = lb.id;
        if lb.node(nid).is_none() {
            return Err(node_not_found(nid, lb_id));
        }
        require_active(lb, status)?;
        let monitored = lb.health_monitor.is_some();
        let kinds = lb.nodes.iter().map(|o| {
            if o.id == nid {
                kind.unwrap_or(o.kind)
            } else {
                o.kind
            }
        });
        check_secondary(kinds, monitored)?;
        if let Some(node) = lb.node_mut(nid) {
            node.condition = condition.unwrap_or(node.condition);
            node.kind = kind.unwrap_or(node.kind);
            node.weight = weight.map_or(node.weight, |w| w as u8);
            node.record(now, false);
        }
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

fn node_not_found(nid: u64, lb_id: u64) -> LbError {
    LbError::not_found(format!(
        "Node with id #{nid} not found for loadbalancer #{lb_id}"
    ))
}

pub async fn delete_node(r: &Req<'_>, id: u64, nid: u64) -> Result<HttpResponse, LbError> {
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        if lb.node(nid).is_none() {
            return Err(node_not_found(nid, lb.id));
        }
        require_active(lb, status)?;
        lb.nodes.retain(|n| n.id != nid);
        lb.changed(now, true);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

/// `DELETE .../nodes?id=1&id=2`: all or nothing. CLB's order: no ids; balancer state;
/// then one Validation Failure listing the batch limit first, then the unknown ids.
pub async fn delete_nodes(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let ids = r.query_ids()?;
    if ids.is_empty() {
        return Err(LbError::bad_request(NO_IDS));
    }
    let now = r.now_ms;
    let max = r.state.lb.batch_delete_limit;
    r.mutate(id, |lb, status| {
        match status {
            LbStatus::Active => {}
            LbStatus::Deleted => return Err(LbError::unprocessable(DELETED_IMMUTABLE)),
            _ => return Err(LbError::unprocessable(NOT_ACTIVE)),
        }
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        let (known, unknown): (Vec<u64>, Vec<u64>) =
            unique.iter().partition(|nid| lb.node(**nid).is_some());
        let mut messages = Vec::new();
        if known.len() > max {
            messages.push(format!(
                "Request to delete {} nodes exceeds the account limit BATCH_DELETE_LIMIT of {max} please attempt to delete fewer then {max} nodes",
                known.len()
            ));
        }
        if !unknown.is_empty() {
            // In the order the client sent them.
            let mut listed: Vec<String> = Vec::new();
            for nid in &ids {
                let s = nid.to_string();
                if unknown.contains(nid) && !listed.contains(&s) {
                    listed.push(s);
                }
            }
            messages.push(format!(
                "Node ids {} are not a part of your loadbalancer",
                listed.join(",")
            ));
        }
        if !messages.is_empty() {
            return Err(LbError::validation(messages));
        }
        lb.nodes.retain(|n| !known.contains(&n.id));
        lb.changed(now, true);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

/// `PUT .../nodes` with `{"nodes": [{"id", "condition"?, "weight"?, "type"?}]}`: several
/// nodes at once, all or nothing; 202 with the updated nodes.
pub async fn update_nodes(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let list = body
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or(LbError::Schema)?;
    let mut changes = Vec::with_capacity(list.len());
    let mut messages: Vec<String> = Vec::new();
    for v in list {
        let n = v.as_object().ok_or(LbError::Schema)?;
        let Some(nid) = opt(n, "id", body::int)? else {
            messages.push("Must provide a node id for each node to update.".into());
            continue;
        };
        let condition = opt(n, "condition", body::string)?
            .map(|c| Condition::parse(c).ok_or(LbError::Schema))
            .transpose()?;
        let kind = opt(n, "type", body::string)?
            .map(|t| NodeType::parse(t).ok_or(LbError::Schema))
            .transpose()?;
        let weight = opt(n, "weight", body::int)?;
        if field(n, "address").is_some() {
            messages.push("Node ip field cannot be modified.".into());
        }
        if field(n, "port").is_some() {
            messages.push("Port field cannot be modified.".into());
        }
        if weight.is_some_and(|w| !(1..=100).contains(&w)) {
            messages.push(BAD_WEIGHT.into());
        }
        changes.push((nid.max(0) as u64, condition, kind, weight.map(|w| w as u8)));
    }
    if list.is_empty() {
        messages.push("Must provide at least one node to update.".into());
    }
    messages.dedup();
    if !messages.is_empty() {
        return Err(LbError::validation(messages));
    }
    let now = r.now_ms;
    let updated = r
        .mutate(id, |lb, status| {
            let lb_id = lb.id;
            if let Some((nid, ..)) = changes.iter().find(|(nid, ..)| lb.node(*nid).is_none()) {
                return Err(node_not_found(*nid, lb_id));
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
            lb.changed(now, false);
            Ok(out)
        })
        .await?;
    let j = judge(r, None);
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

/// `GET .../nodes/events`: the node feed entries of every node, newest first, as JSON.
pub async fn list_node_events(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    let mut events: Vec<(i64, Value)> = Vec::new();
    for node in &lb.nodes {
        for (n, e) in node.events.iter().enumerate() {
            let (title, message, kind) = feed_text(node, e);
            events.push((
                e.at_ms,
                json!({
                    "nodeId": node.id,
                    "detailedMessage": message,
                    "callbackHost": "",
                    "accountId": r.tenant.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(r.tenant.clone())),
                    "loadbalancerId": lb.id,
                    "severity": "INFO",
                    "author": "Rackspace Cloud",
                    "created": wire::iso(e.at_ms),
                    "category": kind,
                    "relativeUri": format!("/{}/loadbalancers/{}/nodes/{}", r.tenant, lb.id, node.id),
                    "description": message,
                    "title": title,
                    "id": node.id * 1000 + n as u64,
                    "type": if e.created { "CREATED_NODE" } else { "UPDATE_NODE" },
                }),
            ));
        }
    }
    events.sort_by_key(|e| std::cmp::Reverse(e.0));
    let events: Vec<Value> = events.into_iter().map(|(_, v)| v).collect();
    Ok(HttpResponse::Ok().json(json!({"nodeServiceEvents": events, "links": []})))
}

/// Title, summary and category of one feed entry (the texts otter parses).
fn feed_text(
    node: &Node,
    e: &crate::domain::model::NodeEvent,
) -> (&'static str, String, &'static str) {
    if e.created {
        (
            "Node Successfully Created",
            format!(
                "Node successfully created with address: '{}', port: '{}', condition: '{}', weight: '{}'",
                node.address, node.port, e.condition.as_str(), e.weight
            ),
            "CREATE",
        )
    } else {
        (
            "Node Successfully Updated",
            format!(
                "Node successfully updated with address: '{}', port: '{}', weight: '{}', condition: '{}'",
                node.address, node.port, e.weight, e.condition.as_str()
            ),
            "UPDATE",
        )
    }
}

/// `GET .../nodes/{nid}.atom`: Atom XML whatever the Accept header, newest entry first.
pub async fn get_node_feed(r: &Req<'_>, id: u64, nid: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    let node = lb
        .node(nid)
        .ok_or_else(|| LbError::not_found("Node not found"))?;
    let base = format!("/v1.0/{}/loadbalancers/{id}/nodes/{nid}", r.tenant);
    let page = r
        .query("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1);
    let mut xml = String::with_capacity(512 + node.events.len() * 512);
    xml.push_str(
        r#"<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">"#,
    );
    xml.push_str(&format!(
        r#"<title type="text">Node Feed</title><id>{}-loadbalancers-{id}-nodes-{nid}</id><author><name>Rackspace Cloud</name></author>"#,
        escape(&r.tenant)
    ));
    if page <= 1 {
        for (n, e) in node.events.iter().enumerate().rev() {
            let (title, summary, term) = feed_text(node, e);
            xml.push_str(&format!(
                r#"<entry><title type="text">{title}</title><summary type="text">{}</summary><author><name>{}</name></author><link href="{}"/><id>urn:lb-mock:{id}:{nid}:{n}</id><category term="{term}"/><updated>{}</updated></entry>"#,
                escape(&summary),
                escape(&r.tenant),
                escape(&base),
                wire::iso(e.at_ms),
            ));
        }
    }
    xml.push_str("</feed>");
    Ok(HttpResponse::Ok()
        .content_type("application/atom+xml")
        .body(xml))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
