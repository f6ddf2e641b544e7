//! Response bodies, mirroring CLB's field names, shared by every route that shows a
//! balancer or its parts. Built from stored records on each read; typed (not `json!`) so
//! a balancer with 25 nodes serialises in one pass.

use bytes::Bytes;
use chrono::DateTime;
use common::render::RenderCache;
use serde::Serialize;
use serde_json::{json, Value};

use common::clock::iso_seconds;

use crate::compute::ServerStatuses;
use crate::domain::model::{
    node_status, HealthMonitor, LoadBalancer, Meta, Node, NodeStatus, Throttle, Vip,
};
use crate::domain::status::{LbStatus, Observed};
use crate::state::DetailStamp;

/// `2011-04-13T14:18:07Z` from unix milliseconds.
pub fn iso(ms: i64) -> String {
    iso_seconds(DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

#[derive(Serialize)]
pub struct Time {
    pub time: String,
}

impl Time {
    fn at(ms: i64) -> Time {
        Time { time: iso(ms) }
    }
}

#[derive(Serialize)]
pub struct Enabled {
    pub enabled: bool,
}

#[derive(Serialize)]
pub struct NodeView<'a> {
    pub address: &'a str,
    pub id: u64,
    pub port: u16,
    pub status: &'static str,
    pub condition: &'static str,
    pub weight: u8,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Vec<&'a Meta>>,
}

/// How node status is judged for one read.
pub struct NodeJudge<'a> {
    pub servers: Option<&'a ServerStatuses>,
    pub now_ms: i64,
    pub online_after_ms: u64,
}

impl NodeJudge<'_> {
    /// How a request at `now_ms` judges nodes, with Compute's view of the servers if any.
    pub fn new(
        servers: Option<&ServerStatuses>,
        now_ms: i64,
        online_after_ms: u64,
    ) -> NodeJudge<'_> {
        NodeJudge {
            servers,
            now_ms,
            online_after_ms,
        }
    }

    pub fn status(&self, n: &Node) -> NodeStatus {
        let server = self
            .servers
            .and_then(|s| s.get(&n.address))
            .map(String::as_str);
        node_status(n, server, self.now_ms, self.online_after_ms)
    }

    pub fn view<'n>(&self, n: &'n Node) -> NodeView<'n> {
        NodeView {
            address: &n.address,
            id: n.id,
            port: n.port,
            status: self.status(n).as_str(),
            condition: n.condition.as_str(),
            weight: n.weight,
            kind: n.kind.as_str(),
            metadata: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VipView {
    pub address: String,
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub ip_version: &'static str,
}

impl From<&Vip> for VipView {
    fn from(v: &Vip) -> VipView {
        VipView {
            address: v.address(),
            id: v.id,
            kind: v.kind.as_str(),
            ip_version: v.ip_version(),
        }
    }
}

pub fn vips(lb: &LoadBalancer) -> Vec<VipView> {
    lb.vips.iter().map(VipView::from).collect()
}

#[derive(Serialize)]
pub struct Cluster {
    pub name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceAddresses {
    pub ipv6_public: String,
    pub ipv4_servicenet: String,
    pub ipv4_public: String,
}

/// The `updated` a reader sees: a timed transition (BUILD → ACTIVE, PENDING_DELETE →
/// DELETED) counts as an update.
fn updated_ms(lb: &LoadBalancer, seen: &Observed) -> i64 {
    lb.updated_ms.max(seen.since_ms)
}

/// Full details (`GET /loadbalancers/{id}`, the create answer).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail<'a> {
    pub name: &'a str,
    pub id: u64,
    pub protocol: &'static str,
    pub port: u16,
    pub algorithm: &'static str,
    pub status: &'static str,
    pub timeout: u16,
    pub half_closed: bool,
    pub https_redirect: bool,
    pub cluster: Cluster,
    /// Always `[]` here: the nodes are written by [`write_nodes`] and spliced in.
    pub nodes: [u8; 0],
    pub node_count: usize,
    pub virtual_ips: Vec<VipView>,
    pub created: Time,
    pub updated: Time,
    pub source_addresses: SourceAddresses,
    pub connection_logging: Enabled,
    pub content_caching: Enabled,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a [Meta]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_throttle: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_monitor: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_list: Option<Value>,
}

/// [`detail`], remembered in `cache` and reused while the stamp is unchanged.
pub fn detail_cached(
    cache: &RenderCache<u64, DetailStamp>,
    lb: &LoadBalancer,
    revision: u64,
    seen: Observed,
    region: &str,
    judge: &NodeJudge<'_>,
) -> Bytes {
    let statuses: Vec<NodeStatus> = lb.nodes.iter().map(|n| judge.status(n)).collect();
    cache.lock().get_or_render(
        &lb.id,
        |s| {
            s.revision == revision
                && s.seen == seen
                && s.region == region
                && s.node_statuses == statuses
        },
        || DetailStamp {
            revision,
            seen,
            region: region.to_string(),
            node_statuses: statuses.clone(),
        },
        |s| detail(lb, s.seen, &s.region, judge).into_bytes(),
    )
}

/// The JSON text of one balancer; a DELETED one shows only name, id, status and times.
pub fn detail(lb: &LoadBalancer, seen: Observed, region: &str, judge: &NodeJudge<'_>) -> String {
    if seen.status == LbStatus::Deleted {
        return json!({"loadBalancer": {
            "name": lb.name, "id": lb.id, "status": "DELETED",
            "created": {"time": iso(lb.created_ms)}, "updated": {"time": iso(updated_ms(lb, &seen))},
        }})
        .to_string();
    }
    let d = Detail {
        name: &lb.name,
        id: lb.id,
        protocol: lb.protocol.name(),
        port: lb.port,
        algorithm: lb.algorithm.name(),
        status: seen.status.as_str(),
        timeout: lb.timeout,
        half_closed: lb.half_closed,
        https_redirect: lb.https_redirect,
        cluster: Cluster {
            name: format!(
                "ztm-n{:02}.{}1.lbaas.rackspace.net",
                lb.id % 8 + 1,
                region.to_lowercase()
            ),
        },
        nodes: [],
        node_count: lb.nodes.len(),
        virtual_ips: vips(lb),
        created: Time::at(lb.created_ms),
        updated: Time::at(updated_ms(lb, &seen)),
        source_addresses: source_addresses(lb.id),
        connection_logging: Enabled {
            enabled: lb.connection_logging,
        },
        content_caching: Enabled {
            enabled: lb.content_caching,
        },
        metadata: (!lb.metadata.is_empty()).then_some(&lb.metadata[..]),
        session_persistence: lb
            .session_persistence
            .as_ref()
            .map(|p| json!({"persistenceType": p})),
        connection_throttle: lb.throttle.as_deref().map(throttle),
        health_monitor: lb.health_monitor.as_deref().map(health_monitor),
        access_list: (!lb.access_list.is_empty()).then(|| access_list(lb)),
    };
    #[derive(Serialize)]
    struct Wrapped<'a> {
        #[serde(rename = "loadBalancer")]
        lb: Detail<'a>,
    }
    let json = serde_json::to_string(&Wrapped { lb: d }).unwrap_or_default();
    // The first unescaped `"nodes":[]` is the key itself: `name`, the only client text
    // before it, is a JSON string, where quotes are escaped.
    match json.find(NODES_PLACEHOLDER) {
        Some(at) => {
            // `close` is the placeholder's `]`: the nodes go between `[` and it.
            let close = at + NODES_PLACEHOLDER.len() - 1;
            let mut out = String::with_capacity(json.len() + lb.nodes.len() * 120);
            out.push_str(&json[..close]);
            write_nodes(&mut out, lb.nodes.iter().map(|n| judge.view(n)));
            out.push_str(&json[close..]);
            out
        }
        None => json,
    }
}

const NODES_PLACEHOLDER: &str = "\"nodes\":[]";

/// Writes a node list as JSON by hand: a balancer's 25 nodes are most of its body, and
/// their keys and enumerations never need escaping.
pub fn write_nodes<'a>(out: &mut String, nodes: impl Iterator<Item = NodeView<'a>>) {
    use std::fmt::Write;
    for (i, v) in nodes.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"address\":");
        push_json_str(out, v.address);
        let _ = write!(
            out,
            ",\"id\":{},\"port\":{},\"status\":\"{}\",\"condition\":\"{}\",\"weight\":{},\"type\":\"{}\"}}",
            v.id, v.port, v.status, v.condition, v.weight, v.kind
        );
    }
}

/// `{"nodes": [...]}` for a node list.
pub fn nodes_body<'a>(nodes: impl Iterator<Item = NodeView<'a>>) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("{\"nodes\":[");
    write_nodes(&mut out, nodes);
    out.push_str("]}");
    out
}

fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

fn source_addresses(id: u64) -> SourceAddresses {
    SourceAddresses {
        ipv6_public: format!("2001:4801:79f1:{:x}::3/64", id % 0xffff + 1),
        ipv4_servicenet: format!("10.183.{}.{}", 248 + (id >> 8) % 8, id % 256),
        ipv4_public: format!("50.56.{}.{}", (id >> 8) % 256, id % 256),
    }
}

/// An entry of `GET /loadbalancers`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary<'a> {
    pub name: &'a str,
    pub id: u64,
    pub protocol: &'static str,
    pub port: u16,
    pub algorithm: &'static str,
    pub status: &'static str,
    pub node_count: usize,
    pub timeout: u16,
    pub virtual_ips: Vec<VipView>,
    pub created: Time,
    pub updated: Time,
}

pub fn summary(lb: &LoadBalancer, seen: Observed) -> Value {
    let s = Summary {
        name: &lb.name,
        id: lb.id,
        protocol: lb.protocol.name(),
        port: lb.port,
        algorithm: lb.algorithm.name(),
        status: seen.status.as_str(),
        node_count: lb.nodes.len(),
        timeout: lb.timeout,
        virtual_ips: vips(lb),
        created: Time::at(lb.created_ms),
        updated: Time::at(updated_ms(lb, &seen)),
    };
    serde_json::to_value(s).unwrap_or(Value::Null)
}

pub fn throttle(t: &Throttle) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in [
        ("minConnections", t.min_connections),
        ("maxConnections", t.max_connections),
        ("maxConnectionRate", t.max_connection_rate),
        ("rateInterval", t.rate_interval),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    Value::Object(m)
}

pub fn health_monitor(h: &HealthMonitor) -> Value {
    let mut v = json!({
        "type": h.kind.as_str(),
        "delay": h.delay,
        "timeout": h.timeout,
        "attemptsBeforeDeactivation": h.attempts,
    });
    for (k, x) in [
        ("path", &h.path),
        ("statusRegex", &h.status_regex),
        ("bodyRegex", &h.body_regex),
        ("hostHeader", &h.host_header),
    ] {
        if let Some(x) = x {
            v[k] = json!(x);
        }
    }
    v
}

pub fn access_list(lb: &LoadBalancer) -> Value {
    Value::Array(
        lb.access_list
            .iter()
            .map(|i| {
                json!({"address": i.address, "id": i.id,
                       "type": if i.allow { "ALLOW" } else { "DENY" }})
            })
            .collect(),
    )
}

/// 202 with an empty JSON answer: a change was accepted.
pub fn accepted() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Accepted()
        .content_type("application/json")
        .finish()
}

/// 200 with an empty JSON answer (metadata and error page changes).
pub fn ok_empty() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Algorithm, Condition, Node, NodeType, Protocol, VipType};
    use crate::domain::status::StatusState;

    fn balancer(name: &str) -> LoadBalancer {
        let node = |id: u64, address: &str| Node {
            id,
            address: address.into(),
            port: 80,
            condition: Condition::Enabled,
            weight: 1,
            kind: NodeType::Primary,
            forced: None,
            awaiting_health: false,
            created_ms: 0,
            metadata: Vec::new(),
            events: Vec::new(),
        };
        LoadBalancer {
            id: 7,
            name: name.into(),
            protocol: Protocol::parse("HTTP").unwrap(),
            port: 80,
            algorithm: Algorithm::random(),
            timeout: 30,
            half_closed: false,
            https_redirect: false,
            connection_logging: false,
            content_caching: false,
            created_ms: 0,
            updated_ms: 0,
            state: StatusState::new(LbStatus::Active, 0),
            knobs: None,
            vips: vec![Vip {
                id: 1,
                kind: VipType::Public,
                v6: false,
            }],
            nodes: vec![node(1, "10.0.0.1"), node(2, "web.example.com")],
            metadata: Vec::new(),
            health_monitor: None,
            session_persistence: None,
            throttle: None,
            access_list: Vec::new(),
            error_page: None,
        }
    }

    #[test]
    fn hand_written_nodes_are_spliced_into_the_detail() {
        let lb = balancer(r#"tricky "nodes":[] name"#);
        let seen = Observed {
            status: LbStatus::Active,
            since_ms: 0,
        };
        let judge = NodeJudge {
            servers: None,
            now_ms: 0,
            online_after_ms: 0,
        };
        let v: Value = serde_json::from_str(&detail(&lb, seen, "ORD", &judge)).unwrap();
        assert_eq!(v["loadBalancer"]["name"], r#"tricky "nodes":[] name"#);
        assert_eq!(
            v["loadBalancer"]["nodes"],
            json!([
                {"address": "10.0.0.1", "id": 1, "port": 80, "status": "ONLINE", "condition": "ENABLED", "weight": 1, "type": "PRIMARY"},
                {"address": "web.example.com", "id": 2, "port": 80, "status": "ONLINE", "condition": "ENABLED", "weight": 1, "type": "PRIMARY"},
            ])
        );
        assert_eq!(v["loadBalancer"]["nodeCount"], 2);
    }

    #[test]
    fn odd_addresses_are_escaped() {
        let mut out = String::new();
        push_json_str(&mut out, "a\"b\\c");
        assert_eq!(serde_json::from_str::<String>(&out).unwrap(), "a\"b\\c");
    }
}
