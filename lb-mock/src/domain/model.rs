//! Stored records of lb-mock, kept lean: one [`LoadBalancer`] record holds its nodes,
//! virtual IPs and features, so every limit check is one atomic write on one record.
//! Enumerations are stored as small indexes into static tables; addresses of virtual IPs
//! are derived from their ids instead of stored.

use serde::{Deserialize, Serialize};

use super::status::{Observed, StatusState, Timings};

/// Protocols with their default ports (0: the port must be given).
pub const PROTOCOLS: &[(&str, u16)] = &[
    ("DNS_TCP", 53),
    ("DNS_UDP", 53),
    ("FTP", 21),
    ("HTTP", 80),
    ("HTTPS", 443),
    ("IMAPS", 993),
    ("IMAPv4", 143),
    ("LDAP", 389),
    ("LDAPS", 636),
    ("MYSQL", 3306),
    ("POP3", 110),
    ("POP3S", 995),
    ("SMTP", 25),
    ("TCP", 0),
    ("TCP_CLIENT_FIRST", 0),
    ("UDP", 0),
    ("UDP_STREAM", 0),
    ("SFTP", 22),
    ("TCP_STREAM", 0),
    // Accepted but not listed by GET /loadbalancers/protocols.
    ("IMAPv2", 143),
    ("IMAPv3", 220),
];

/// How many of [`PROTOCOLS`] the protocols list shows.
pub const LISTED_PROTOCOLS: usize = 19;

pub const ALGORITHMS: &[&str] = &[
    "LEAST_CONNECTIONS",
    "RANDOM",
    "ROUND_ROBIN",
    "WEIGHTED_LEAST_CONNECTIONS",
    "WEIGHTED_ROUND_ROBIN",
];

/// A protocol, as an index into [`PROTOCOLS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protocol(u8);

impl Protocol {
    pub fn parse(s: &str) -> Option<Protocol> {
        PROTOCOLS
            .iter()
            .position(|(n, _)| *n == s)
            .map(|i| Protocol(i as u8))
    }
    pub fn name(self) -> &'static str {
        PROTOCOLS[self.0 as usize].0
    }
    pub fn default_port(self) -> u16 {
        PROTOCOLS[self.0 as usize].1
    }
    pub fn is_udp(self) -> bool {
        matches!(self.name(), "UDP" | "UDP_STREAM" | "DNS_UDP")
    }
}

/// An algorithm, as an index into [`ALGORITHMS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Algorithm(u8);

impl Algorithm {
    pub fn parse(s: &str) -> Option<Algorithm> {
        ALGORITHMS
            .iter()
            .position(|n| *n == s)
            .map(|i| Algorithm(i as u8))
    }
    pub fn random() -> Algorithm {
        Algorithm(1)
    }
    pub fn name(self) -> &'static str {
        ALGORITHMS[self.0 as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    Enabled,
    Disabled,
    Draining,
}

impl Condition {
    pub fn parse(s: &str) -> Option<Condition> {
        match s {
            "ENABLED" => Some(Condition::Enabled),
            "DISABLED" => Some(Condition::Disabled),
            "DRAINING" => Some(Condition::Draining),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Enabled => "ENABLED",
            Condition::Disabled => "DISABLED",
            Condition::Draining => "DRAINING",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeType {
    Primary,
    Secondary,
}

impl NodeType {
    pub fn parse(s: &str) -> Option<NodeType> {
        match s {
            "PRIMARY" => Some(NodeType::Primary),
            "SECONDARY" => Some(NodeType::Secondary),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            NodeType::Primary => "PRIMARY",
            NodeType::Secondary => "SECONDARY",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeStatus {
    Online,
    Offline,
}

impl NodeStatus {
    pub fn parse(s: &str) -> Option<NodeStatus> {
        match s {
            "ONLINE" => Some(NodeStatus::Online),
            "OFFLINE" => Some(NodeStatus::Offline),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Online => "ONLINE",
            NodeStatus::Offline => "OFFLINE",
        }
    }
}

/// One metadata item (of a balancer or of a node).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub id: u64,
    pub key: String,
    pub value: String,
}

/// What a node feed entry records; address and port come from the node (immutable).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NodeEvent {
    pub at_ms: i64,
    pub created: bool,
    pub weight: u8,
    pub condition: Condition,
}

/// Entries a node feed keeps (newest first when read).
pub const NODE_EVENTS_KEPT: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: u64,
    pub address: String,
    pub port: u16,
    pub condition: Condition,
    pub weight: u8,
    pub kind: NodeType,
    /// Set by the Mimic control plane; wins over everything else.
    pub forced: Option<NodeStatus>,
    /// Added while a health monitor was set: OFFLINE until found healthy.
    pub awaiting_health: bool,
    pub created_ms: i64,
    pub metadata: Vec<Meta>,
    pub events: Vec<NodeEvent>,
}

impl Node {
    pub fn record(&mut self, at_ms: i64, created: bool) {
        if self.events.len() >= NODE_EVENTS_KEPT {
            self.events.remove(0);
        }
        self.events.push(NodeEvent {
            at_ms,
            created,
            weight: self.weight,
            condition: self.condition,
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VipType {
    Public,
    Servicenet,
}

impl VipType {
    pub fn parse(s: &str) -> Option<VipType> {
        match s {
            "PUBLIC" => Some(VipType::Public),
            "SERVICENET" => Some(VipType::Servicenet),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            VipType::Public => "PUBLIC",
            VipType::Servicenet => "SERVICENET",
        }
    }
}

/// A virtual IP; its address is a function of its id, type and version, so a shared VIP
/// (same id) shows the same address on every balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vip {
    pub id: u64,
    pub kind: VipType,
    pub v6: bool,
}

impl Vip {
    pub fn address(&self) -> String {
        let id = self.id;
        if self.v6 {
            format!(
                "2001:4800:7901:0000:{:04x}:0000:{:04x}:{:04x}",
                (id >> 32) & 0xffff,
                (id >> 16) & 0xffff,
                id & 0xffff
            )
        } else {
            let (a, b) = match self.kind {
                VipType::Public => (173, 203),
                VipType::Servicenet => (10, 183),
            };
            format!("{a}.{b}.{}.{}", (id >> 8) & 0xff, id & 0xff)
        }
    }
    pub fn ip_version(&self) -> &'static str {
        if self.v6 {
            "IPV6"
        } else {
            "IPV4"
        }
    }
}

/// What a health monitor checks, spelled (and stored) as CLB spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HealthMonitorType {
    Connect,
    Http,
    Https,
}

impl HealthMonitorType {
    pub fn parse(s: &str) -> Option<HealthMonitorType> {
        match s {
            "CONNECT" => Some(HealthMonitorType::Connect),
            "HTTP" => Some(HealthMonitorType::Http),
            "HTTPS" => Some(HealthMonitorType::Https),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            HealthMonitorType::Connect => "CONNECT",
            HealthMonitorType::Http => "HTTP",
            HealthMonitorType::Https => "HTTPS",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthMonitor {
    pub kind: HealthMonitorType,
    pub delay: u32,
    pub timeout: u32,
    pub attempts: u32,
    pub path: Option<String>,
    pub status_regex: Option<String>,
    pub body_regex: Option<String>,
    pub host_header: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    pub min_connections: Option<i64>,
    pub max_connections: Option<i64>,
    pub max_connection_rate: Option<i64>,
    pub rate_interval: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessItem {
    pub id: u64,
    pub address: String,
    /// ALLOW or DENY.
    pub allow: bool,
}

/// Per-balancer timings and Mimic's `lb_error_state`, from Mimic's metadata keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MimicKnobs {
    pub build_ms: Option<u64>,
    pub pending_update_ms: Option<u64>,
    pub pending_delete_ms: Option<u64>,
    /// The next node change puts the balancer in ERROR.
    pub error_next: bool,
}

/// What a successful change of a balancer touched ([`LoadBalancer::changed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Nodes were added or removed: the change Mimic's `lb_error_state` turns into ERROR.
    NodeList,
    /// Anything else: settings, features, virtual IPs, a node's condition, weight or type.
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub id: u64,
    pub name: String,
    pub protocol: Protocol,
    pub port: u16,
    pub algorithm: Algorithm,
    pub timeout: u16,
    pub half_closed: bool,
    pub https_redirect: bool,
    pub connection_logging: bool,
    pub content_caching: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub state: StatusState,
    pub knobs: Option<Box<MimicKnobs>>,
    pub vips: Vec<Vip>,
    pub nodes: Vec<Node>,
    pub metadata: Vec<Meta>,
    pub health_monitor: Option<Box<HealthMonitor>>,
    pub session_persistence: Option<String>,
    pub throttle: Option<Box<Throttle>>,
    pub access_list: Vec<AccessItem>,
    pub error_page: Option<String>,
}

impl LoadBalancer {
    /// The timings of this balancer: settings, overridden by Mimic's metadata keys.
    pub fn timings(&self, defaults: Timings) -> Timings {
        match &self.knobs {
            None => defaults,
            Some(k) => Timings {
                build_ms: k.build_ms.unwrap_or(defaults.build_ms),
                pending_update_ms: k.pending_update_ms.unwrap_or(defaults.pending_update_ms),
                pending_delete_ms: k.pending_delete_ms.unwrap_or(defaults.pending_delete_ms),
                deleted_visible_ms: defaults.deleted_visible_ms,
            },
        }
    }

    /// The status at `now_ms`. A request that read the clock before another one changed
    /// this record is served as if it came just after that change: time never runs
    /// backwards for one record, so concurrent changes never see each other "in the future".
    pub fn observe(&self, defaults: Timings, now_ms: i64) -> Option<Observed> {
        self.state
            .observe(&self.timings(defaults), now_ms.max(self.state.since_ms))
    }

    pub fn node(&self, id: u64) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn node_mut(&mut self, id: u64) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.id == id)
    }

    /// Marks a successful change: `updated` and the status (PENDING_UPDATE, or ERROR when
    /// Mimic's `lb_error_state` asked for it and the change added or removed nodes).
    pub fn changed(&mut self, now_ms: i64, change: Change) {
        let now_ms = now_ms.max(self.state.since_ms);
        self.updated_ms = now_ms;
        let error_next =
            change == Change::NodeList && self.knobs.as_ref().is_some_and(|k| k.error_next);
        if error_next {
            if let Some(k) = self.knobs.as_mut() {
                k.error_next = false;
            }
        }
        self.state = StatusState::after_change(now_ms, error_next);
    }
}

/// Whether `s` is a node's address: an IPv4 or IPv6 address, or a host name.
pub fn valid_node_address(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    // A host name with at least one letter (so "1.2.3.999" is not taken for one).
    s.chars().any(|c| c.is_ascii_alphabetic())
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Whether `s` is an access list's network item: an IPv4 or IPv6 address, with a CIDR
/// prefix or without (no host names: CLB filters by address).
pub fn valid_network_item(s: &str) -> bool {
    let (ip, prefix) = match s.split_once('/') {
        Some((ip, p)) => (ip, Some(p)),
        None => (s, None),
    };
    let Ok(addr) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    let most = if addr.is_ipv4() { 32 } else { 128 };
    prefix.is_none_or(|p| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u8>().is_ok_and(|p| p <= most)
    })
}

#[cfg(test)]
mod tests {
    use super::super::status::LbStatus;
    use super::*;

    #[test]
    fn protocols_know_their_default_ports() {
        let http = Protocol::parse("HTTP").unwrap();
        assert_eq!((http.name(), http.default_port()), ("HTTP", 80));
        assert_eq!(Protocol::parse("TCP").unwrap().default_port(), 0);
        assert!(Protocol::parse("http").is_none());
        assert!(Protocol::parse("UDP_STREAM").unwrap().is_udp());
    }

    #[test]
    fn vip_addresses_follow_type_and_version() {
        let v4 = Vip {
            id: 258,
            kind: VipType::Public,
            v6: false,
        };
        assert_eq!(v4.address(), "173.203.1.2");
        let sn = Vip {
            id: 1,
            kind: VipType::Servicenet,
            v6: false,
        };
        assert_eq!(sn.address(), "10.183.0.1");
        let v6 = Vip {
            id: 0x10002,
            kind: VipType::Public,
            v6: true,
        };
        assert_eq!(v6.address(), "2001:4800:7901:0000:0000:0000:0001:0002");
        assert!(v6.address().parse::<std::net::Ipv6Addr>().is_ok());
    }

    #[test]
    fn health_monitor_types_keep_clbs_spelling() {
        for t in [
            HealthMonitorType::Connect,
            HealthMonitorType::Http,
            HealthMonitorType::Https,
        ] {
            assert_eq!(HealthMonitorType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::json!(t.as_str())
            );
        }
        assert_eq!(HealthMonitorType::parse("http"), None);
    }

    #[test]
    fn only_a_change_of_the_node_list_trips_mimics_error_state() {
        let mut lb = LoadBalancer {
            id: 1,
            name: "lb".into(),
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
            knobs: Some(Box::new(MimicKnobs {
                error_next: true,
                ..MimicKnobs::default()
            })),
            vips: Vec::new(),
            nodes: Vec::new(),
            metadata: Vec::new(),
            health_monitor: None,
            session_persistence: None,
            throttle: None,
            access_list: Vec::new(),
            error_page: None,
        };
        lb.changed(10, Change::Other);
        assert_eq!(lb.state.status, LbStatus::PendingUpdate);
        lb.changed(20, Change::NodeList);
        assert_eq!(lb.state.status, LbStatus::Error);
        assert_eq!(lb.updated_ms, 20);
        lb.changed(30, Change::NodeList);
        assert_eq!(lb.state.status, LbStatus::PendingUpdate, "once only");
    }

    #[test]
    fn node_addresses_are_ips_or_host_names_and_network_items_ips_or_cidrs() {
        for ok in ["10.1.1.1", "::1", "example.com", "web-1.internal"] {
            assert!(valid_node_address(ok), "{ok} should be valid");
        }
        for bad in ["", "10.1.1.999", "-a.com", "a..b", "10.0.0.0/8", "a b"] {
            assert!(!valid_node_address(bad), "{bad} should be invalid");
        }
        for ok in [
            "10.0.0.0/8",
            "0.0.0.0/0",
            "10.1.1.1",
            "::1",
            "2001:db8::/32",
        ] {
            assert!(valid_network_item(ok), "{ok} should be valid");
        }
        for bad in [
            "",
            "bad",
            "example.com",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.1.1.999",
        ] {
            assert!(!valid_network_item(bad), "{bad} should be invalid");
        }
    }
}

/// A node's status: the control plane's word wins; then a Compute server that is not
/// ACTIVE makes it OFFLINE; then a node added under a health monitor stays OFFLINE until
/// `online_after_ms` has passed (never, when 0); otherwise ONLINE.
pub fn node_status(
    node: &Node,
    server_status: Option<&str>,
    now_ms: i64,
    online_after_ms: u64,
) -> NodeStatus {
    if let Some(s) = node.forced {
        return s;
    }
    if server_status.is_some_and(|s| s != "ACTIVE") {
        return NodeStatus::Offline;
    }
    let healthy_at = node.created_ms.saturating_add(online_after_ms as i64);
    if node.awaiting_health && (online_after_ms == 0 || now_ms < healthy_at) {
        NodeStatus::Offline
    } else {
        NodeStatus::Online
    }
}

#[cfg(test)]
mod node_status_tests {
    use super::*;

    fn node() -> Node {
        Node {
            id: 1,
            address: "10.0.0.1".into(),
            port: 80,
            condition: Condition::Enabled,
            weight: 1,
            kind: NodeType::Primary,
            forced: None,
            awaiting_health: false,
            created_ms: 0,
            metadata: Vec::new(),
            events: Vec::new(),
        }
    }

    #[test]
    fn a_plain_node_is_online() {
        assert_eq!(node_status(&node(), None, 0, 0), NodeStatus::Online);
        assert_eq!(
            node_status(&node(), Some("ACTIVE"), 0, 0),
            NodeStatus::Online
        );
    }

    #[test]
    fn a_server_that_is_not_active_makes_its_node_offline() {
        assert_eq!(
            node_status(&node(), Some("BUILD"), 0, 0),
            NodeStatus::Offline
        );
    }

    #[test]
    fn the_control_plane_wins() {
        let mut n = node();
        n.forced = Some(NodeStatus::Online);
        assert_eq!(node_status(&n, Some("ERROR"), 0, 0), NodeStatus::Online);
    }

    #[test]
    fn monitored_nodes_wait_to_be_healthy() {
        let mut n = node();
        n.awaiting_health = true;
        assert_eq!(node_status(&n, None, 1_000_000, 0), NodeStatus::Offline);
        assert_eq!(node_status(&n, None, 999, 1000), NodeStatus::Offline);
        assert_eq!(node_status(&n, None, 1000, 1000), NodeStatus::Online);
    }
}
