//! Rules of a balancer itself: what a create or update body may ask for (CLB's
//! validation texts, in its rule order), the protocol-dependent rules and Mimic's
//! metadata knobs.

use serde_json::{Map, Value};

use super::fields::{self, field, opt};
use super::guards::require_active;
use super::model::{
    Algorithm, Change, HealthMonitor, LoadBalancer, MimicKnobs, Protocol, Throttle, VipType,
};
use super::nodes::{check_secondary, parse_new_nodes, NewNode};
use super::rejection::Rejection;
use super::status::LbStatus;
use crate::configuration::LbSettings;

/// What a valid create body asks for.
pub struct NewLb {
    pub name: String,
    pub protocol: Protocol,
    pub port: u16,
    pub algorithm: Algorithm,
    pub timeout: u16,
    pub half_closed: bool,
    pub https_redirect: bool,
    pub connection_logging: bool,
    pub content_caching: bool,
    pub vips: Vec<VipSpec>,
    pub nodes: Vec<NewNode>,
    pub metadata: Vec<(String, String)>,
    pub access_list: Vec<(String, bool)>,
    pub health_monitor: Option<HealthMonitor>,
    pub session_persistence: Option<String>,
    pub throttle: Option<Throttle>,
}

/// A virtual IP a create body asks for: a new one, or one of another balancer's (shared).
pub enum VipSpec {
    New { kind: VipType, v6: bool },
    Shared(u64),
}

const READ_ONLY: [(&str, &str); 5] = [
    ("id", "Load balancer id field cannot be modified."),
    ("status", "Load balancer status field cannot be modified."),
    ("cluster", "Load balancer cluster field cannot be modified."),
    ("created", "Load balancer created field cannot be modified."),
    ("updated", "Load balancer updated field cannot be modified."),
];

/// The fields create and update share, as checked by [`common_fields`].
#[derive(Clone)]
pub struct Common {
    pub name: Option<String>,
    pub protocol: Option<Protocol>,
    pub algorithm: Option<Algorithm>,
    pub port: Option<u16>,
    pub timeout: Option<u16>,
    pub half_closed: Option<bool>,
    pub https_redirect: Option<bool>,
}

/// Checks of the fields create and update share; messages in CLB's rule order.
fn common_fields(
    lb: &Map<String, Value>,
    creating: bool,
    messages: &mut Vec<String>,
) -> Result<Common, Rejection> {
    for (key, text) in READ_ONLY {
        if field(lb, key).is_some() {
            messages.push(text.into());
        }
    }
    let name = opt(lb, "name", fields::string)?;
    match name {
        None if creating => messages.push("Must provide a name for the load balancer.".into()),
        Some(n) if n.trim().is_empty() || common::has_control_characters(n) => {
            messages.push("Load balancer name is invalid. Please specify a valid name".into())
        }
        Some(n) if n.chars().count() > 128 => {
            messages.push("Load Balancer name must be less than or equal to 128".into())
        }
        _ => {}
    }
    let protocol = match opt(lb, "protocol", fields::string)? {
        None => {
            if creating {
                messages.push("Must provide a valid protocol for the load balancer.".into());
            }
            None
        }
        Some(p) => {
            let parsed = Protocol::parse(p);
            if parsed.is_none() {
                messages.push(
                    "Load balancer protocol is invalid. Please specify a valid protocol.".into(),
                );
            }
            parsed
        }
    };
    let algorithm = match opt(lb, "algorithm", fields::string)? {
        None => None,
        Some(a) => {
            let parsed = Algorithm::parse(a);
            if parsed.is_none() {
                messages.push(
                    "Load balancer algorithm is invalid. Please specify a valid algorithm.".into(),
                );
            }
            parsed
        }
    };
    let port = match opt(lb, "port", fields::int)? {
        Some(p) if !(1..=65535).contains(&p) => {
            messages.push("Load balancer port is invalid. Please specify a valid port.".into());
            None
        }
        p => p.map(|p| p as u16),
    };
    let timeout = match opt(lb, "timeout", fields::int)? {
        Some(t) if !(30..=120).contains(&t) => {
            messages.push(
                "Load balancer timeout is invalid. Please specify a valid timeout value.".into(),
            );
            None
        }
        t => t.map(|t| t as u16),
    };
    Ok(Common {
        name: name.map(str::to_string),
        protocol,
        algorithm,
        port,
        timeout,
        half_closed: opt(lb, "halfClosed", fields::boolean)?,
        https_redirect: opt(lb, "httpsRedirect", fields::boolean)?,
    })
}

fn parse_vips(
    lb: &Map<String, Value>,
    messages: &mut Vec<String>,
) -> Result<Vec<VipSpec>, Rejection> {
    let list = fields::list(lb, "virtualIps")?;
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        messages.push("Must provide at least one virtual ip for the load balancer.".into());
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for v in list {
        let v = v.as_object().ok_or(Rejection::Schema)?;
        let id = opt(v, "id", fields::int)?;
        let kind = opt(v, "type", fields::string)?;
        let version = opt(v, "ipVersion", fields::string)?;
        match (id, kind) {
            (Some(id), None) if version.is_none() => out.push(VipSpec::Shared(id.max(0) as u64)),
            (None, Some(kind)) => {
                let kind = VipType::parse(kind).ok_or(Rejection::Schema)?;
                let v6 = match version {
                    None => None,
                    Some("IPV4") => Some(false),
                    Some("IPV6") => Some(true),
                    Some(_) => return Err(Rejection::Schema),
                };
                match (kind, v6) {
                    (VipType::Servicenet, Some(true)) => messages.push(
                        "Must specify a valid IP type. IPv6 supports the 'PUBLIC' type only."
                            .into(),
                    ),
                    (VipType::Public, None) => {
                        out.push(VipSpec::New { kind, v6: false });
                        out.push(VipSpec::New { kind, v6: true });
                    }
                    (kind, v6) => out.push(VipSpec::New {
                        kind,
                        v6: v6.unwrap_or(false),
                    }),
                }
            }
            _ => messages.push("Must specify either a shared or new virtual ip.".into()),
        }
    }
    Ok(out)
}

/// Reads a create body (`{"loadBalancer": {...}}`) against the account's limits.
pub fn parse_create(limits: &LbSettings, body: &Value) -> Result<NewLb, Rejection> {
    let lb = fields::wrapped(body, "loadBalancer")?;
    let mut messages = Vec::new();
    let c = common_fields(lb, true, &mut messages)?;
    let vips = parse_vips(lb, &mut messages)?;
    let nodes = match fields::list(lb, "nodes")? {
        Some(list) => {
            if list.len() > limits.node_limit {
                messages
                    .push("Must not provide more than twenty five nodes per load balancer.".into());
            }
            parse_new_nodes(list, &mut messages)?
        }
        None => Vec::new(),
    };
    let access_list = match fields::list(lb, "accessList")? {
        Some(list) => {
            if list.len() > limits.access_list_limit {
                messages.push("Must not provide more than one hundred access list items".into());
            }
            super::features::parse_network_items(list, &mut messages)?
        }
        None => Vec::new(),
    };
    let metadata = match fields::list(lb, "metadata")? {
        Some(list) => {
            if list.len() > limits.metadata_limit {
                messages.push(
                    "Must not provide more than twenty five metadata items per load balancer."
                        .into(),
                );
            }
            super::metadata::parse_items(list, &mut messages)?
        }
        None => Vec::new(),
    };
    messages.dedup();
    if !messages.is_empty() {
        return Err(Rejection::Validation(messages));
    }
    let protocol = c.protocol.ok_or(Rejection::Schema)?;
    let port = match c.port {
        Some(p) => p,
        None if protocol.default_port() == 0 => {
            return Err(Rejection::bad_request(
                "Must provide port for TCP and UDP protocols.",
            ))
        }
        None => protocol.default_port(),
    };
    let connection_logging = fields::enabled_flag(lb, "connectionLogging")?.unwrap_or(false);
    let content_caching = fields::enabled_flag(lb, "contentCaching")?.unwrap_or(false);
    let https_redirect = c.https_redirect.unwrap_or(false);
    check_protocol_rules(
        protocol,
        port,
        connection_logging,
        content_caching,
        https_redirect,
    )?;
    let health_monitor = match field(lb, "healthMonitor") {
        Some(v) => {
            let obj = v.as_object().ok_or(Rejection::Schema)?;
            (!obj.is_empty())
                .then(|| super::features::parse_health_monitor(obj, protocol))
                .transpose()?
        }
        None => None,
    };
    let session_persistence = match field(lb, "sessionPersistence") {
        Some(v) => {
            let obj = v.as_object().ok_or(Rejection::Schema)?;
            opt(obj, "persistenceType", fields::string)?
                .map(|t| super::features::check_persistence(t, protocol))
                .transpose()?
        }
        None => None,
    };
    let throttle = match field(lb, "connectionThrottle") {
        Some(v) => {
            let obj = v.as_object().ok_or(Rejection::Schema)?;
            (!obj.is_empty())
                .then(|| super::features::parse_throttle(obj, None))
                .transpose()?
        }
        None => None,
    };
    check_secondary(nodes.iter().map(|n| n.kind), health_monitor.is_some())?;
    Ok(NewLb {
        name: c.name.unwrap_or_default(),
        protocol,
        port,
        algorithm: c.algorithm.unwrap_or_else(Algorithm::random),
        timeout: c.timeout.unwrap_or(30),
        half_closed: c.half_closed.unwrap_or(false),
        https_redirect,
        connection_logging,
        content_caching,
        vips,
        nodes,
        metadata,
        access_list,
        health_monitor,
        session_persistence,
        throttle,
    })
}

/// Reads an update body of balancer `id` (`{"loadBalancer": {...}}`): the parts that
/// have their own resource are refused with its address under `tenant`.
pub fn parse_update(tenant: &str, id: u64, body: &Value) -> Result<Common, Rejection> {
    let lb_body = fields::wrapped(body, "loadBalancer")?;
    let mut messages = Vec::new();
    for (key, part) in [
        ("nodes", "nodes"),
        ("virtualIps", "virtualips"),
        ("healthMonitor", "healthmonitor"),
        ("sessionPersistence", "sessionpersistence"),
        ("connectionThrottle", "connectionthrottle"),
        ("accessList", "accesslist"),
        ("connectionLogging", "connectionlogging"),
        ("contentCaching", "contentcaching"),
        ("metadata", "metadata"),
        ("sslTermination", "ssltermination"),
    ] {
        if field(lb_body, key).is_some() {
            let what = part.replace("ssltermination", "ssl termination");
            messages.push(format!(
                "Please visit {tenant}/loadbalancers/{id}/{part} to configure {what}."
            ));
        }
    }
    let c = common_fields(lb_body, false, &mut messages)?;
    if c.name.is_none()
        && c.protocol.is_none()
        && c.algorithm.is_none()
        && c.port.is_none()
        && c.timeout.is_none()
        && c.half_closed.is_none()
        && c.https_redirect.is_none()
        && messages.is_empty()
    {
        messages.push("The load balancer must have at least one of the following to update: name, algorithm, protocol, port, timeout, halfClosed, or httpsRedirect.".into());
    }
    if !messages.is_empty() {
        return Err(Rejection::Validation(messages));
    }
    Ok(c)
}

/// Applies a checked update to `lb` in `status` at `now_ms`.
pub fn update(
    lb: &mut LoadBalancer,
    status: LbStatus,
    c: Common,
    now_ms: i64,
) -> Result<(), Rejection> {
    require_active(lb, status)?;
    let protocol = c.protocol.unwrap_or(lb.protocol);
    let port = c.port.unwrap_or(lb.port);
    let https_redirect = c.https_redirect.unwrap_or(lb.https_redirect);
    check_protocol_rules(
        protocol,
        port,
        lb.connection_logging,
        lb.content_caching,
        https_redirect,
    )?;
    if protocol != lb.protocol {
        // Changing the protocol turns session persistence off (CLB docs).
        lb.session_persistence = None;
    }
    if let Some(n) = c.name {
        lb.name = n;
    }
    lb.protocol = protocol;
    lb.port = port;
    lb.https_redirect = https_redirect;
    lb.algorithm = c.algorithm.unwrap_or(lb.algorithm);
    lb.timeout = c.timeout.unwrap_or(lb.timeout);
    lb.half_closed = c.half_closed.unwrap_or(lb.half_closed);
    lb.changed(now_ms, Change::Other);
    Ok(())
}

/// The protocol-dependent rules of create and update (plain 400s).
pub fn check_protocol_rules(
    protocol: Protocol,
    port: u16,
    connection_logging: bool,
    content_caching: bool,
    https_redirect: bool,
) -> Result<(), Rejection> {
    if connection_logging && protocol.is_udp() {
        return Err(Rejection::bad_request(
            "Connection logging cannot be enabled for load balancers with UDP, DNS_UDP or UDP_STREAM protocol",
        ));
    }
    if https_redirect && !(protocol.name() == "HTTPS" && port == 443) {
        return Err(Rejection::bad_request(
            "HTTPS Redirect can only be enabled for HTTPS load balancers using port 443.",
        ));
    }
    if content_caching && protocol.name() != "HTTP" {
        return Err(Rejection::bad_request(
            "Content caching can only be enabled for HTTP loadbalancers.",
        ));
    }
    Ok(())
}

/// Mimic's metadata keys: `lb_building`, `lb_pending_update`, `lb_pending_delete` (seconds;
/// a falsy value means 10) and `lb_error_state`.
pub fn knobs(metadata: &[(String, String)]) -> Option<Box<MimicKnobs>> {
    let seconds = |v: &str| {
        let s = v.trim().parse::<f64>().unwrap_or(0.0);
        let s = if s > 0.0 && s.is_finite() { s } else { 10.0 };
        (s * 1000.0).round() as u64
    };
    let mut k = MimicKnobs::default();
    for (key, value) in metadata {
        match key.as_str() {
            "lb_building" => k.build_ms = Some(seconds(value)),
            "lb_pending_update" => k.pending_update_ms = Some(seconds(value)),
            "lb_pending_delete" => k.pending_delete_ms = Some(seconds(value)),
            "lb_error_state" => k.error_next = true,
            _ => {}
        }
    }
    (k != MimicKnobs::default()).then(|| Box::new(k))
}
