//! `/loadbalancers` and `/loadbalancers/{id}`: create, list, show, update, delete.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use common::clock::parse_timestamp;

use super::body::{self, field, opt};
use super::nodes::{new_node, parse_new_nodes, NewNode};
use super::wire::{self, NodeJudge};
use super::{accepted, lb_not_found, require_active, Req, NO_IDS};
use crate::domain::model::{
    AccessItem, Algorithm, LoadBalancer, Meta, MimicKnobs, Protocol, Vip, VipType,
};
use crate::domain::status::{deletable, LbStatus, StatusState};
use crate::error::LbError;

/// What a valid create body asks for.
struct NewLb {
    name: String,
    protocol: Protocol,
    port: u16,
    algorithm: Algorithm,
    timeout: u16,
    half_closed: bool,
    https_redirect: bool,
    connection_logging: bool,
    content_caching: bool,
    vips: Vec<VipSpec>,
    nodes: Vec<NewNode>,
    metadata: Vec<(String, String)>,
    access_list: Vec<(String, bool)>,
    health_monitor: Option<crate::domain::model::HealthMonitor>,
    session_persistence: Option<String>,
    throttle: Option<crate::domain::model::Throttle>,
}

enum VipSpec {
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

/// Checks of the fields create and update share; messages in CLB's rule order.
struct Common {
    name: Option<String>,
    protocol: Option<Protocol>,
    algorithm: Option<Algorithm>,
    port: Option<u16>,
    timeout: Option<u16>,
    half_closed: Option<bool>,
    https_redirect: Option<bool>,
}

fn common_fields(
    lb: &Map<String, Value>,
    creating: bool,
    messages: &mut Vec<String>,
) -> Result<Common, LbError> {
    for (key, text) in READ_ONLY {
        if field(lb, key).is_some() {
            messages.push(text.into());
        }
    }
    let name = opt(lb, "name", body::string)?;
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
    let protocol = match opt(lb, "protocol", body::string)? {
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
    let algorithm = match opt(lb, "algorithm", body::string)? {
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
    let port = match opt(lb, "port", body::int)? {
        Some(p) if !(1..=65535).contains(&p) => {
            messages.push("Load balancer port is invalid. Please specify a valid port.".into());
            None
        }
        p => p.map(|p| p as u16),
    };
    let timeout = match opt(lb, "timeout", body::int)? {
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
        half_closed: opt(lb, "halfClosed", body::boolean)?,
        https_redirect: opt(lb, "httpsRedirect", body::boolean)?,
    })
}

fn parse_vips(
    lb: &Map<String, Value>,
    messages: &mut Vec<String>,
) -> Result<Vec<VipSpec>, LbError> {
    let list = body::list(lb, "virtualIps")?;
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        messages.push("Must provide at least one virtual ip for the load balancer.".into());
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for v in list {
        let v = v.as_object().ok_or(LbError::Schema)?;
        let id = opt(v, "id", body::int)?;
        let kind = opt(v, "type", body::string)?;
        let version = opt(v, "ipVersion", body::string)?;
        match (id, kind) {
            (Some(id), None) if version.is_none() => out.push(VipSpec::Shared(id.max(0) as u64)),
            (None, Some(kind)) => {
                let kind = VipType::parse(kind).ok_or(LbError::Schema)?;
                let v6 = match version {
                    None => None,
                    Some("IPV4") => Some(false),
                    Some("IPV6") => Some(true),
                    Some(_) => return Err(LbError::Schema),
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

fn parse_create(r: &Req<'_>, body: &Value) -> Result<NewLb, LbError> {
    let lb = body::wrapped(body, "loadBalancer")?;
    let mut messages = Vec::new();
    let c = common_fields(lb, true, &mut messages)?;
    let vips = parse_vips(lb, &mut messages)?;
    let nodes = match body::list(lb, "nodes")? {
        Some(list) => {
            if list.len() > r.state.lb.node_limit {
                messages
                    .push("Must not provide more than twenty five nodes per load balancer.".into());
            }
            parse_new_nodes(list, &mut messages)?
        }
        None => Vec::new(),
    };
    let access_list = match body::list(lb, "accessList")? {
        Some(list) => {
            if list.len() > r.state.lb.access_list_limit {
                messages.push("Must not provide more than one hundred access list items".into());
            }
            super::features::parse_network_items(list, &mut messages)?
        }
        None => Vec::new(),
    };
    let metadata = match body::list(lb, "metadata")? {
        Some(list) => {
            if list.len() > r.state.lb.metadata_limit {
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
        return Err(LbError::validation(messages));
    }
    let protocol = c.protocol.ok_or(LbError::Schema)?;
    let port = match c.port {
        Some(p) => p,
        None if protocol.default_port() == 0 => {
            return Err(LbError::bad_request(
                "Must provide port for TCP and UDP protocols.",
            ))
        }
        None => protocol.default_port(),
    };
    let connection_logging = body::enabled_flag(lb, "connectionLogging")?.unwrap_or(false);
    let content_caching = body::enabled_flag(lb, "contentCaching")?.unwrap_or(false);
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
            let obj = v.as_object().ok_or(LbError::Schema)?;
            (!obj.is_empty())
                .then(|| super::features::parse_health_monitor(obj, protocol))
                .transpose()?
        }
        None => None,
    };
    let session_persistence = match field(lb, "sessionPersistence") {
        Some(v) => {
            let obj = v.as_object().ok_or(LbError::Schema)?;
            opt(obj, "persistenceType", body::string)?
                .map(|t| super::features::check_persistence(t, protocol))
                .transpose()?
        }
        None => None,
    };
    let throttle = match field(lb, "connectionThrottle") {
        Some(v) => {
            let obj = v.as_object().ok_or(LbError::Schema)?;
            (!obj.is_empty())
                .then(|| super::features::parse_throttle(obj, None))
                .transpose()?
        }
        None => None,
    };
    super::nodes::check_secondary(nodes.iter().map(|n| n.kind), health_monitor.is_some())?;
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

/// The protocol-dependent rules of create and update (plain 400s).
fn check_protocol_rules(
    protocol: Protocol,
    port: u16,
    connection_logging: bool,
    content_caching: bool,
    https_redirect: bool,
) -> Result<(), LbError> {
    if connection_logging && protocol.is_udp() {
        return Err(LbError::bad_request(
            "Connection logging cannot be enabled for load balancers with UDP, DNS_UDP or UDP_STREAM protocol",
        ));
    }
    if https_redirect && !(protocol.name() == "HTTPS" && port == 443) {
        return Err(LbError::bad_request(
            "HTTPS Redirect can only be enabled for HTTPS load balancers using port 443.",
        ));
    }
    if content_caching && protocol.name() != "HTTP" {
        return Err(LbError::bad_request(
            "Content caching can only be enabled for HTTP loadbalancers.",
        ));
    }
    Ok(())
}

/// Mimic's metadata keys: `lb_building`, `lb_pending_update`, `lb_pending_delete` (seconds;
/// a falsy value means 10) and `lb_error_state`.
fn knobs(metadata: &[(String, String)]) -> Option<Box<MimicKnobs>> {
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

pub async fn create_load_balancer(r: &Req<'_>) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let spec = parse_create(r, &body)?;
    let id = r.ctx.store.next_id("lb_loadbalancer").await?;
    let node_ids = r.next_ids("lb_node", spec.nodes.len()).await?;
    let new_vips = spec
        .vips
        .iter()
        .filter(|v| matches!(v, VipSpec::New { .. }))
        .count();
    let mut vip_ids = r.next_ids("lb_vip", new_vips).await?.into_iter();
    let meta_ids = r.next_ids("lb_meta", spec.metadata.len()).await?;
    let item_ids = r.next_ids("lb_access_item", spec.access_list.len()).await?;
    let now = r.now_ms;
    let knobs = knobs(&spec.metadata);
    let monitored = spec.health_monitor.is_some();
    let mut lb = LoadBalancer {
        id,
        name: spec.name,
        protocol: spec.protocol,
        port: spec.port,
        algorithm: spec.algorithm,
        timeout: spec.timeout,
        half_closed: spec.half_closed,
        https_redirect: spec.https_redirect,
        connection_logging: spec.connection_logging,
        content_caching: spec.content_caching,
        created_ms: now,
        updated_ms: now,
        state: StatusState::new(LbStatus::Build, now),
        knobs,
        vips: Vec::with_capacity(spec.vips.len()),
        nodes: spec
            .nodes
            .into_iter()
            .zip(node_ids)
            .map(|(n, nid)| new_node(n, nid, now, monitored))
            .collect(),
        metadata: spec
            .metadata
            .into_iter()
            .zip(meta_ids)
            .map(|((key, value), id)| Meta { id, key, value })
            .collect(),
        health_monitor: spec.health_monitor.map(Box::new),
        session_persistence: spec.session_persistence,
        throttle: spec.throttle.map(Box::new),
        access_list: spec
            .access_list
            .into_iter()
            .zip(item_ids)
            .map(|((address, allow), id)| AccessItem { id, address, allow })
            .collect(),
        error_page: None,
    };
    let timings = r.state.timings();
    let limit = r.state.lb.loadbalancer_limit;
    let ipv6_limit = r.state.lb.ipv6_vip_limit;
    let lb = r
        .state
        .balancers
        .transact(&r.scope, |rows| {
            // Fewer records than the limit (deleted ones included) cannot reach it: only
            // then is the partition scanned, so creates stay O(1) under a high limit.
            if limit > 0 && rows.len() >= limit {
                let mut live = 0;
                let mut gone = Vec::new();
                for (key, other) in rows.iter() {
                    match other.observe(timings, now) {
                        None => gone.push(key.to_string()),
                        Some(s) if s.status != LbStatus::Deleted => live += 1,
                        Some(_) => {}
                    }
                }
                for key in gone {
                    rows.remove(&key);
                }
                if live >= limit {
                    return Err(LbError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("Load balancer limit reached. Limit is set to '{limit}'. Contact support if you would like to increase your limit."),
                    ));
                }
            }
            for v in &spec.vips {
                match v {
                    VipSpec::New { kind, v6 } => lb.vips.push(Vip {
                        id: vip_ids.next().unwrap_or_default(),
                        kind: *kind,
                        v6: *v6,
                    }),
                    VipSpec::Shared(vid) => {
                        let found = rows
                            .iter()
                            .flat_map(|(_, other)| other.vips.iter())
                            .find(|x| x.id == *vid)
                            .copied();
                        match found {
                            Some(x) => lb.vips.push(x),
                            None => {
                                return Err(LbError::bad_request(format!(
                                    "Must provide valid virtual ips, {vid} could not be found."
                                )))
                            }
                        }
                    }
                }
            }
            if lb.vips.iter().filter(|v| v.v6).count() > ipv6_limit {
                return Err(LbError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("Your load balancer cannot have more than {ipv6_limit} IPv6 virtual ips."),
                ));
            }
            let vip_addresses: Vec<String> = lb.vips.iter().map(Vip::address).collect();
            if lb.nodes.iter().any(|n| vip_addresses.contains(&n.address)) {
                return Err(LbError::bad_request(super::nodes::VIP_AS_NODE));
            }
            rows.insert(&Req::key(id), lb.clone())?;
            Ok(lb)
        })
        .await??;
    let seen = lb.observe(timings, now).ok_or_else(lb_not_found)?;
    let judge = NodeJudge {
        servers: None,
        now_ms: now,
        online_after_ms: r.state.lb.health_monitor_online_after_ms,
    };
    Ok(HttpResponse::Accepted()
        .content_type("application/json")
        .body(wire::detail(&lb, seen, &r.region, &judge)))
}

pub async fn get_load_balancer(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let (lb, seen, revision) = r.load_revised(id).await?;
    let servers = if seen.status == LbStatus::Deleted {
        None
    } else {
        r.server_statuses(&lb).await
    };
    let judge = NodeJudge {
        servers: servers.as_ref(),
        now_ms: r.now_ms,
        online_after_ms: r.state.lb.health_monitor_online_after_ms,
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(wire::detail_cached(
            &r.state.rendered,
            &lb,
            revision,
            seen,
            &r.region,
            &judge,
        )))
}

pub async fn list_load_balancers(r: &Req<'_>) -> Result<HttpResponse, LbError> {
    let status = match r.query("status") {
        None => None,
        Some(s) => Some(LbStatus::parse(s).ok_or_else(|| {
            LbError::bad_request(format!("{s} is not a valid LoadBalancer status"))
        })?),
    };
    let name = r.query("name");
    if name.is_some_and(str::is_empty) {
        return Err(LbError::bad_request(
            "Must supply LoadBalancer name to process this request.",
        ));
    }
    let since = match r.query("changes-since") {
        None => None,
        Some(s) => Some(
            parse_timestamp(s)
                .ok_or_else(|| LbError::bad_request("Date parameters must follow ISO-8601 format"))?
                .timestamp_millis(),
        ),
    };
    let node_address = r.query("nodeaddress").filter(|a| !a.is_empty());
    let limit = match r.query("limit").and_then(|l| l.parse::<i64>().ok()) {
        Some(l) if (0..=100).contains(&l) => l as usize,
        _ => 100,
    };
    let marker = r.query("marker").and_then(|m| m.parse::<u64>().ok());
    let mut offset = r
        .query("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let timings = r.state.timings();
    let now = r.now_ms;
    let mut out: Vec<Value> = Vec::new();
    r.state
        .balancers
        .page(&r.scope, None, usize::MAX, |lb| {
            if out.len() >= limit || marker.is_some_and(|m| lb.id < m) {
                return false;
            }
            let Some(seen) = lb.observe(timings, now) else {
                return false;
            };
            let wanted = match status {
                Some(s) => seen.status == s,
                None => seen.status != LbStatus::Deleted,
            };
            let wanted = wanted
                && since.is_none_or(|t| lb.updated_ms.max(seen.since_ms) >= t)
                && match node_address {
                    Some(a) => lb.nodes.iter().any(|n| n.address == a),
                    None => name.is_none_or(|n| lb.name == n),
                };
            if !wanted {
                return false;
            }
            if offset > 0 {
                offset -= 1;
                return false;
            }
            out.push(if node_address.is_some() {
                json!({"id": lb.id, "name": lb.name, "status": seen.status.as_str()})
            } else {
                wire::summary(lb, seen)
            });
            false
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "loadBalancers": out })))
}

pub async fn update_load_balancer(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let lb_body = body::wrapped(&body, "loadBalancer")?;
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
                "Please visit {}/loadbalancers/{id}/{part} to configure {what}.",
                r.tenant
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
        return Err(LbError::validation(messages));
    }
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
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
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

pub async fn delete_load_balancer(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    delete_many(r, &[id]).await
}

pub async fn delete_load_balancers(r: &Req<'_>) -> Result<HttpResponse, LbError> {
    let ids = r.query_ids()?;
    if ids.is_empty() {
        return Err(LbError::bad_request(NO_IDS));
    }
    let max = r.state.lb.batch_delete_limit;
    if ids.len() > max {
        return Err(LbError::bad_request(format!(
            "Currently, the limit of accepted parameters is: {max} :please supply a valid parameter list."
        )));
    }
    delete_many(r, &ids).await
}

/// DELETE of one or several balancers, all or nothing: ACTIVE, ERROR and SUSPENDED ones
/// go to PENDING_DELETE; unknown, PENDING_* and DELETED ones are "could not be found"
/// (as observed on the real API), BUILD ones "are immutable".
async fn delete_many(r: &Req<'_>, ids: &[u64]) -> Result<HttpResponse, LbError> {
    let timings = r.state.timings();
    let now = r.now_ms;
    r.state
        .balancers
        .transact(&r.scope, |rows| {
            let mut missing = Vec::new();
            let mut immutable = Vec::new();
            for id in ids {
                let status = rows
                    .get(&Req::key(*id))
                    .and_then(|lb| lb.observe(timings, now))
                    .map(|s| s.status);
                match status {
                    Some(s) if deletable(s) => {}
                    Some(LbStatus::Build) => immutable.push(id.to_string()),
                    _ => missing.push(id.to_string()),
                }
            }
            if !missing.is_empty() {
                return Err(LbError::bad_request(format!(
                    "Must provide valid load balancers: {}  could not be found.",
                    missing.join(",")
                )));
            }
            if !immutable.is_empty() {
                return Err(LbError::bad_request(format!(
                    "Must provide valid load balancers: {}  are immutable and could not be processed.",
                    immutable.join(",")
                )));
            }
            for id in ids {
                if let Some(lb) = rows.get_mut(&Req::key(*id)) {
                    let at = now.max(lb.state.since_ms);
                    lb.updated_ms = at;
                    lb.state = StatusState::new(LbStatus::PendingDelete, at);
                }
            }
            Ok(())
        })
        .await??;
    forget_deleted(r, ids).await?;
    Ok(accepted())
}

/// Notes the balancers just deleted and forgets the records of deleted balancers the API
/// no longer shows (past `deleted_visible_time_ms`, 404 already), or beyond
/// `lb.max_deleted_kept` per scope, oldest first: memory stays bounded at any churn, and
/// each deletion forgets at most what it pushes out.
async fn forget_deleted(r: &Req<'_>, ids: &[u64]) -> Result<(), LbError> {
    let cap = r.state.lb.max_deleted_kept;
    let timings = r.state.timings();
    let now = r.now_ms;
    let queue = r
        .state
        .deleted
        .upsert(&r.scope, DELETED_QUEUE, Default::default, |q| {
            q.ids.extend(ids.iter().copied());
            q.ids.clone()
        })
        .await?;
    let gone = r
        .state
        .balancers
        .transact(&r.scope, |rows| {
            let mut gone = Vec::new();
            let mut left = queue.len();
            for id in &queue {
                let key = Req::key(*id);
                let invisible = rows
                    .get(&key)
                    .is_none_or(|lb| lb.observe(timings, now).is_none());
                if !(invisible || left > cap) {
                    break;
                }
                rows.remove(&key);
                gone.push(*id);
                left -= 1;
            }
            gone
        })
        .await?;
    if !gone.is_empty() {
        r.state
            .deleted
            .update(&r.scope, DELETED_QUEUE, |q| {
                q.ids.retain(|id| !gone.contains(id))
            })
            .await?;
    }
    Ok(())
}

/// The key of the one queue of deleted balancers of each scope.
const DELETED_QUEUE: &str = "deleted";
