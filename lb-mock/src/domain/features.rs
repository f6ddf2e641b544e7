//! Rules of a balancer's features: health monitor, session persistence, connection
//! throttle, access list, error page, content caching and connection logging.

use serde_json::{Map, Value};

use super::fields::{self, field, opt};
use super::model::{
    valid_network_item, AccessItem, HealthMonitor, HealthMonitorType, LoadBalancer, Protocol,
    Throttle,
};
use super::rejection::Rejection;

// ----- health monitor -------------------------------------------------------------

/// Reads a health monitor body; CLB's validation texts, then its protocol rules.
pub fn parse_health_monitor(
    h: &Map<String, Value>,
    protocol: Protocol,
) -> Result<HealthMonitor, Rejection> {
    let mut m: Vec<String> = Vec::new();
    let kind = match opt(h, "type", fields::string)? {
        None => {
            m.push("Must provide a type for the health monitor.".into());
            None
        }
        Some(k) => Some(HealthMonitorType::parse(k).ok_or(Rejection::Schema)?),
    };
    let mut range =
        |key: &str, missing: &str, lo: i64, hi: i64, bad: &str| -> Result<u32, Rejection> {
            match opt(h, key, fields::int)? {
                None => {
                    m.push(missing.into());
                    Ok(0)
                }
                Some(v) if !(lo..=hi).contains(&v) => {
                    m.push(bad.into());
                    Ok(0)
                }
                Some(v) => Ok(v as u32),
            }
        };
    let delay = range(
        "delay",
        "Must provide delay for the health monitor.",
        1,
        3600,
        "Must specify valid delay range between 1 and 3600.",
    )?;
    let timeout = range(
        "timeout",
        "Must provide timeout for the health monitor.",
        1,
        300,
        "Must specify valid timeout range between 1 and 300.",
    )?;
    let attempts = range(
        "attemptsBeforeDeactivation",
        "Must provide attempts before deactivation for the health monitor.",
        1,
        10,
        "Must specify valid attempts before deactivation range between 1 and 10.",
    )?;
    let path = opt(h, "path", fields::string)?;
    let status_regex = opt(h, "statusRegex", fields::string)?;
    let body_regex = opt(h, "bodyRegex", fields::string)?;
    let host_header = opt(h, "hostHeader", fields::string)?;
    if host_header.is_some_and(common::has_control_characters) {
        // Ours: CLB's text is not known.
        m.push("Host header must not contain control characters.".into());
    }
    let valid_regex = |r: &str| regex::Regex::new(r).is_ok();
    match kind {
        Some(HealthMonitorType::Connect) => {
            if path.is_some() {
                m.push("A connect health monitor may not have a path. Use HTTP/HTTPS health monitor instead.".into());
            }
            if body_regex.is_some() {
                m.push("A connect health monitor may not have a body regex. Use HTTP/HTTPS health monitor instead.".into());
            }
            if status_regex.is_some() {
                m.push("A connect health monitor may not have a status regex. Use HTTP/HTTPS health monitor instead.".into());
            }
            if host_header.is_some() {
                m.push("Host Header is not supported for CONNECT based health monitors.".into());
            }
        }
        Some(HealthMonitorType::Http | HealthMonitorType::Https) => {
            match path {
                None | Some("") => {
                    m.push("Must provide a valid path for the health monitor.".into())
                }
                Some(p) if !p.starts_with('/') => {
                    m.push("Must provide a forward slash(/) as the beginning of the path.".into())
                }
                Some(p) if p.chars().count() > 128 => {
                    m.push("path can not exceed 128 characters.".into())
                }
                _ => {}
            }
            match status_regex {
                None => m.push("Must provide a status regex for the health monitor.".into()),
                Some(r) if r.chars().count() > 128 => {
                    m.push("statusRegex can not exceed 128 characters.".into())
                }
                Some(r) if !valid_regex(r) => m.push("Must provide a valid status regex".into()),
                _ => {}
            }
            match body_regex {
                Some(r) if r.chars().count() > 128 => {
                    m.push("bodyRegex can not exceed 128 characters.".into())
                }
                Some(r) if !valid_regex(r) => m.push("Must provide a valid body regex".into()),
                _ => {}
            }
            if host_header.is_some_and(|h| h.chars().count() > 256) {
                m.push("Host Header field cannot exceed 256 characters".into());
            }
        }
        None => {}
    }
    if !m.is_empty() {
        return Err(Rejection::Validation(m));
    }
    let kind = kind.unwrap_or(HealthMonitorType::Connect);
    if protocol.is_udp() {
        return Err(Rejection::bad_request(
            "Protocol UDP, UDP_STREAM and DNS_UDP are not allowed with health monitors. ",
        ));
    }
    if kind != HealthMonitorType::Connect && protocol.name() != kind.as_str() {
        return Err(Rejection::bad_request(format!(
            "Cannot update Health Monitor to Type {} because load balancer protocol is {}",
            kind.as_str(),
            protocol.name()
        )));
    }
    let s = |x: Option<&str>| x.map(str::to_string);
    Ok(HealthMonitor {
        kind,
        delay,
        timeout,
        attempts,
        path: s(path),
        status_regex: s(status_regex),
        body_regex: s(body_regex),
        host_header: s(host_header),
    })
}

// ----- session persistence --------------------------------------------------------

/// A persistence type the balancer's protocol allows.
pub fn check_persistence(t: &str, protocol: Protocol) -> Result<String, Rejection> {
    match t {
        "HTTP_COOKIE" if protocol.name() != "HTTP" => Err(Rejection::bad_request(
            "HTTP_COOKIE Session persistence is only valid with HTTP protocol with or without SSL termination.",
        )),
        "SSL_ID" if protocol.name() != "HTTPS" => Err(Rejection::bad_request(
            "SSL_ID session persistence is only valid with the HTTPS protocol. ",
        )),
        "HTTP_COOKIE" | "SOURCE_IP" | "SSL_ID" => Ok(t.to_string()),
        _ => Err(Rejection::Schema),
    }
}

/// The persistence type of a `{"sessionPersistence": {"persistenceType"}}` body.
pub fn parse_persistence(body: &Value) -> Result<&str, Rejection> {
    let sp = fields::wrapped(body, "sessionPersistence")?;
    opt(sp, "persistenceType", fields::string)?
        .ok_or_else(|| Rejection::validation_one("Must provide a persistence type."))
}

// ----- connection throttle --------------------------------------------------------

/// Reads a throttle body over the current one (fields not given are kept).
pub fn parse_throttle(
    t: &Map<String, Value>,
    current: Option<&Throttle>,
) -> Result<Throttle, Rejection> {
    let mut m: Vec<String> = Vec::new();
    let mut get = |key: &str, lo: i64, hi: i64, bad: &str| -> Result<Option<i64>, Rejection> {
        let v = opt(t, key, fields::int)?;
        if v.is_some_and(|v| !(lo..=hi).contains(&v)) {
            m.push(bad.into());
        }
        Ok(v)
    };
    let min = get(
        "minConnections",
        0,
        1000,
        "Must provide a valid minimum connections range.",
    )?;
    let max = get(
        "maxConnections",
        0,
        100_000,
        "Must provide a valid maximum connections range.",
    )?;
    let rate = get(
        "maxConnectionRate",
        0,
        100_000,
        "Must provde a valid maximum connection rate range.",
    )?;
    let interval = get(
        "rateInterval",
        1,
        3600,
        "Must provide a valid rate interval range.",
    )?;
    if min.is_none() && max.is_none() && rate.is_none() && interval.is_none() && m.is_empty() {
        m.push("You must provide at least one of the following: minConnections, maxConnections, maxConnectionRate, rateInterval.".into());
    }
    if !m.is_empty() {
        return Err(Rejection::Validation(m));
    }
    let cur = current.copied().unwrap_or(Throttle {
        min_connections: None,
        max_connections: None,
        max_connection_rate: None,
        rate_interval: None,
    });
    Ok(Throttle {
        min_connections: min.or(cur.min_connections),
        max_connections: max.or(cur.max_connections),
        max_connection_rate: rate.or(cur.max_connection_rate),
        rate_interval: interval.or(cur.rate_interval),
    })
}

// ----- access list ----------------------------------------------------------------

/// Reads network items (`{"address", "type"}`) as (address, allow).
pub fn parse_network_items(
    list: &[Value],
    messages: &mut Vec<String>,
) -> Result<Vec<(String, bool)>, Rejection> {
    let mut out = Vec::with_capacity(list.len());
    for v in list {
        let item = v.as_object().ok_or(Rejection::Schema)?;
        let address = opt(item, "address", fields::string)?;
        let kind = opt(item, "type", fields::string)?;
        if field(item, "id").is_some() {
            messages.push("Network item id field cannot be modified.".into());
        }
        let allow = match kind {
            None => {
                messages.push("Must provide a valid type for the network item.".into());
                false
            }
            Some("ALLOW") => true,
            Some("DENY") => false,
            Some(_) => return Err(Rejection::Schema),
        };
        match address {
            None | Some("") => {
                messages.push("Must provide an address for the network item.".into())
            }
            Some(a) if !valid_network_item(a) => {
                messages.push("Must provide a valid address for the network item.".into())
            }
            Some(a) => out.push((a.to_string(), allow)),
        }
    }
    messages.dedup();
    Ok(out)
}

/// Reads an add body (`{"accessList": [...]}`) against the access list limit.
pub fn parse_access_list(body: &Value, limit: usize) -> Result<Vec<(String, bool)>, Rejection> {
    let list = fields::wrapped_list(body, "accessList")?;
    let mut messages = Vec::new();
    if list.is_empty() {
        messages.push("Must provide at least one network item to the access list.".into());
    }
    if list.len() > limit {
        messages.push(
            "Must not provide more than one hundred network items for the access list.".into(),
        );
    }
    let items = parse_network_items(list, &mut messages)?;
    if !messages.is_empty() {
        return Err(Rejection::Validation(messages));
    }
    Ok(items)
}

/// Adds network items (with their new ids) to the balancer's access list.
pub fn add_access_items(
    lb: &mut LoadBalancer,
    items: Vec<(String, bool)>,
    ids: Vec<u64>,
    limit: usize,
) -> Result<(), Rejection> {
    if lb.access_list.len() + items.len() > limit {
        return Err(Rejection::bad_request(format!(
            "Access list size must not exceed {limit} items."
        )));
    }
    let mut seen: Vec<&str> = lb.access_list.iter().map(|i| i.address.as_str()).collect();
    for (a, _) in &items {
        if seen.contains(&a.as_str()) {
            return Err(Rejection::bad_request(
                "Must supply a unique access list item to update the current list.",
            ));
        }
        seen.push(a);
    }
    for ((address, allow), id) in items.into_iter().zip(ids) {
        lb.access_list.push(AccessItem { id, address, allow });
    }
    Ok(())
}

/// Removes the network items `ids`, all or nothing.
pub fn remove_access_items(lb: &mut LoadBalancer, ids: &[u64]) -> Result<(), Rejection> {
    let unknown: Vec<String> = ids
        .iter()
        .filter(|i| !lb.access_list.iter().any(|a| a.id == **i))
        .map(u64::to_string)
        .collect();
    match unknown.len() {
        0 => {}
        1 => {
            return Err(Rejection::bad_request(format!(
                "Network item with id {} not found.",
                unknown[0]
            )))
        }
        _ => {
            return Err(Rejection::bad_request(format!(
                "Network items with ids {} not found.",
                unknown.join(", ")
            )))
        }
    }
    lb.access_list.retain(|a| !ids.contains(&a.id));
    Ok(())
}

// ----- error page -----------------------------------------------------------------

/// What a balancer without its own error page shows.
pub const DEFAULT_ERROR_PAGE: &str = "<html> DEFAULT ERROR PAGE</html>";

/// The text of an error page change while the balancer is not ACTIVE.
pub const ERRORPAGE_IMMUTABLE: &str =
    "Load balancer is considered immutable and cannot process request";

/// The content of a `{"errorpage": {"content"}}` body.
pub fn parse_error_page(body: &Value) -> Result<String, Rejection> {
    let page = fields::wrapped(body, "errorpage")?;
    match opt(page, "content", fields::string)? {
        None | Some("") => Err(Rejection::validation_one(
            "You must provide Content to set ErrorPage",
        )),
        Some(c) if c.len() > 65536 => Err(Rejection::validation_one(
            "Your content length must be less than 65536 bytes\n",
        )),
        Some(c) => Ok(c.to_string()),
    }
}

/// Only HTTP balancers have a custom error page.
pub fn check_error_page(protocol: Protocol) -> Result<(), Rejection> {
    if protocol.name() != "HTTP" {
        return Err(Rejection::bad_request(
            "Custom error page is allowed only on loadbalancers with HTTP protocol.",
        ));
    }
    Ok(())
}

// ----- content caching and connection logging ------------------------------------

/// Content caching can be enabled on HTTP balancers only.
pub fn check_content_caching(enabled: bool, protocol: Protocol) -> Result<(), Rejection> {
    if enabled && protocol.name() != "HTTP" {
        return Err(Rejection::bad_request(
            "Content caching can only be enabled for HTTP loadbalancers.",
        ));
    }
    Ok(())
}

/// Connection logging cannot be enabled on UDP balancers.
pub fn check_connection_logging(enabled: bool, protocol: Protocol) -> Result<(), Rejection> {
    if enabled && protocol.is_udp() {
        return Err(Rejection::bad_request(
            "Connection logging cannot be enabled for load balancers with UDP, DNS_UDP or UDP_STREAM protocol",
        ));
    }
    Ok(())
}
