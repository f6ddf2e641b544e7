//! Rules of a balancer's nodes: what an add or update body may ask for, who may join a
//! balancer, the SECONDARY rules, and the texts of a node's feed.

use serde_json::{Map, Value};

use super::fields::{self, field, opt};
use super::guards::{require_active, DELETED_IMMUTABLE};
use super::model::{valid_node_address, Condition, LoadBalancer, Node, NodeEvent, NodeType, Vip};
use super::rejection::Rejection;
use super::status::LbStatus;

pub const VIP_AS_NODE: &str = "Invalid node address. The load balancer's virtual ip or host end point address cannot be used as a node address.";
const DUPLICATE_EXISTING: &str =
    "Duplicate nodes detected. One or more nodes already configured on load balancer.";
const DUPLICATE_IN_BODY: &str =
    "Duplicate nodes detected. Please ensure that the ip address and port are unique for each node.";
const BAD_WEIGHT: &str = "Node weight is invalid. Range is 1-100. Please specify a valid weight.";

/// A node as a create or add body asks for it.
#[derive(Clone)]
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
) -> Result<Vec<NewNode>, Rejection> {
    let mut out: Vec<NewNode> = Vec::with_capacity(list.len());
    for v in list {
        let n = v.as_object().ok_or(Rejection::Schema)?;
        let address = opt(n, "address", fields::string)?;
        let port = opt(n, "port", fields::int)?;
        let condition = opt(n, "condition", fields::string)?
            .map(|c| Condition::parse(c).ok_or(Rejection::Schema))
            .transpose()?;
        let kind = opt(n, "type", fields::string)?
            .map(|t| NodeType::parse(t).ok_or(Rejection::Schema))
            .transpose()?;
        let weight = opt(n, "weight", fields::int)?;
        match address {
            None => messages.push("Must provide a valid ip for the node.".into()),
            Some(a) if !valid_node_address(a) => {
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

/// Reads an add body (`{"nodes": [...]}`).
pub fn parse_add(body: &Value) -> Result<Vec<NewNode>, Rejection> {
    let list = fields::wrapped_list(body, "nodes")?;
    let mut messages = Vec::new();
    if list.is_empty() {
        messages.push("Must provide at least one node to add.".into());
    }
    let new = parse_new_nodes(list, &mut messages)?;
    if !messages.is_empty() {
        return Err(Rejection::Validation(messages));
    }
    Ok(new)
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
) -> Result<(), Rejection> {
    let any = kinds.clone().next().is_some();
    if kinds.clone().any(|k| k == NodeType::Secondary) {
        if !monitored {
            return Err(Rejection::bad_request(
                "you must enable health monitoring to use secondary nodes",
            ));
        }
        if any && !kinds.any(|k| k == NodeType::Primary) {
            return Err(Rejection::bad_request(
                "you must have at least one primary node enabled",
            ));
        }
    }
    Ok(())
}

/// Whether `new` nodes may join `lb` in `status`: an ACTIVE balancer, the node limit,
/// secondary nodes only with a health monitor, no duplicates, no VIP address as a node.
pub fn admit(
    lb: &LoadBalancer,
    status: LbStatus,
    new: &[NewNode],
    limit: usize,
) -> Result<(), Rejection> {
    if status == LbStatus::Deleted {
        return Err(Rejection::unprocessable(DELETED_IMMUTABLE));
    }
    require_active(lb, status)?;
    if lb.nodes.len() + new.len() > limit {
        return Err(Rejection::OverLimit(format!(
            "Nodes must not exceed {limit} per load balancer."
        )));
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
        return Err(Rejection::unprocessable(DUPLICATE_EXISTING));
    }
    let vip_addresses: Vec<String> = lb.vips.iter().map(Vip::address).collect();
    if new.iter().any(|n| vip_addresses.contains(&n.address)) {
        return Err(Rejection::bad_request(VIP_AS_NODE));
    }
    Ok(())
}

/// What an update of one node asks to change.
pub struct NodeChange {
    pub condition: Option<Condition>,
    pub kind: Option<NodeType>,
    pub weight: Option<i64>,
}

/// Reads the body of an update of one node (`{"node": {...}}`).
pub fn parse_update(body: &Value) -> Result<NodeChange, Rejection> {
    let n: &Map<String, Value> = fields::wrapped(body, "node")?;
    let condition = opt(n, "condition", fields::string)?
        .map(|c| Condition::parse(c).ok_or(Rejection::Schema))
        .transpose()?;
    let kind = opt(n, "type", fields::string)?
        .map(|t| NodeType::parse(t).ok_or(Rejection::Schema))
        .transpose()?;
    let weight = opt(n, "weight", fields::int)?;
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
        return Err(Rejection::Validation(messages));
    }
    Ok(NodeChange {
        condition,
        kind,
        weight,
    })
}

/// One node's part of a bulk update: its id, then what changes.
pub type BulkChange = (u64, Option<Condition>, Option<NodeType>, Option<u8>);

/// Reads the body of a bulk update (`{"nodes": [{"id", ...}]}`).
pub fn parse_bulk_update(body: &Value) -> Result<Vec<BulkChange>, Rejection> {
    let list = fields::wrapped_list(body, "nodes")?;
    let mut changes = Vec::with_capacity(list.len());
    let mut messages: Vec<String> = Vec::new();
    for v in list {
        let n = v.as_object().ok_or(Rejection::Schema)?;
        let Some(nid) = opt(n, "id", fields::int)? else {
            messages.push("Must provide a node id for each node to update.".into());
            continue;
        };
        let condition = opt(n, "condition", fields::string)?
            .map(|c| Condition::parse(c).ok_or(Rejection::Schema))
            .transpose()?;
        let kind = opt(n, "type", fields::string)?
            .map(|t| NodeType::parse(t).ok_or(Rejection::Schema))
            .transpose()?;
        let weight = opt(n, "weight", fields::int)?;
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
        return Err(Rejection::Validation(messages));
    }
    Ok(changes)
}

pub fn node_not_found(nid: u64, lb_id: u64) -> Rejection {
    Rejection::not_found(format!(
        "Node with id #{nid} not found for loadbalancer #{lb_id}"
    ))
}

/// Which of `ids` a bulk delete removes from `lb`, after CLB's checks: the batch limit
/// first, then the ids that are not the balancer's (in the order the client sent them).
pub fn bulk_delete(lb: &LoadBalancer, ids: &[u64], max: usize) -> Result<Vec<u64>, Rejection> {
    let mut unique = ids.to_vec();
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
        for nid in ids {
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
        return Err(Rejection::Validation(messages));
    }
    Ok(known)
}

/// Title, summary and category of one feed entry (the texts otter parses).
pub fn feed_text(node: &Node, e: &NodeEvent) -> (&'static str, String, &'static str) {
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
