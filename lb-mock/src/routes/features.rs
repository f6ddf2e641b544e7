//! Features of one balancer: health monitor, session persistence, connection throttle,
//! access list, error page, content caching and connection logging. Reads of a DELETED
//! balancer answer 410; every change needs ACTIVE and leaves PENDING_UPDATE.

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use super::body::{self, field, opt};
use super::{accepted, require_active, wire, Req, NOT_ACTIVE, NO_IDS};
use crate::domain::model::{valid_address, AccessItem, HealthMonitor, Protocol, Throttle};
use crate::domain::status::LbStatus;
use crate::error::LbError;

const DEFAULT_ERROR_PAGE: &str = "<html> DEFAULT ERROR PAGE</html>";

// ----- health monitor -------------------------------------------------------------

/// Reads a health monitor body; CLB's validation texts, then its protocol rules.
pub fn parse_health_monitor(
    h: &Map<String, Value>,
    protocol: Protocol,
) -> Result<HealthMonitor, LbError> {
    let mut m: Vec<String> = Vec::new();
    let kind = opt(h, "type", body::string)?;
    let kind = match kind {
        None => {
            m.push("Must provide a type for the health monitor.".into());
            None
        }
        Some(k @ ("CONNECT" | "HTTP" | "HTTPS")) => Some(k),
        Some(_) => return Err(LbError::Schema),
    };
    let mut range =
        |key: &str, missing: &str, lo: i64, hi: i64, bad: &str| -> Result<u32, LbError> {
            match opt(h, key, body::int)? {
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
    let path = opt(h, "path", body::string)?;
    let status_regex = opt(h, "statusRegex", body::string)?;
    let body_regex = opt(h, "bodyRegex", body::string)?;
    let host_header = opt(h, "hostHeader", body::string)?;
    if host_header.is_some_and(common::has_control_characters) {
        // Ours: CLB's text is not known.
        m.push("Host header must not contain control characters.".into());
    }
    let valid_regex = |r: &str| regex::Regex::new(r).is_ok();
    match kind {
        Some("CONNECT") => {
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
        Some(_) => {
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
        return Err(LbError::validation(m));
    }
    let kind = kind.unwrap_or("CONNECT");
    if protocol.is_udp() {
        return Err(LbError::bad_request(
            "Protocol UDP, UDP_STREAM and DNS_UDP are not allowed with health monitors. ",
        ));
    }
    if kind != "CONNECT" && protocol.name() != kind {
        return Err(LbError::bad_request(format!(
            "Cannot update Health Monitor to Type {kind} because load balancer protocol is {}",
            protocol.name()
        )));
    }
    let s = |x: Option<&str>| x.map(str::to_string);
    Ok(HealthMonitor {
        kind: kind.to_string(),
        delay,
        timeout,
        attempts,
        path: s(path),
        status_regex: s(status_regex),
        body_regex: s(body_regex),
        host_header: s(host_header),
    })
}

pub async fn get_health_monitor(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    let hm = lb
        .health_monitor
        .as_deref()
        .map_or_else(|| json!({}), wire::health_monitor);
    Ok(HttpResponse::Ok().json(json!({ "healthMonitor": hm })))
}

pub async fn set_health_monitor(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let h = body::wrapped(&body, "healthMonitor")?;
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        require_active(lb, status)?;
        let hm = parse_health_monitor(h, lb.protocol)?;
        lb.health_monitor = Some(Box::new(hm));
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

pub async fn delete_health_monitor(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        require_active(lb, status)?;
        if lb.health_monitor.take().is_none() {
            return Err(LbError::unprocessable("No health monitor found to delete."));
        }
        // Without a monitor nothing keeps nodes OFFLINE waiting to be found healthy.
        for n in &mut lb.nodes {
            n.awaiting_health = false;
        }
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

// ----- session persistence --------------------------------------------------------

/// A persistence type the balancer's protocol allows.
pub fn check_persistence(t: &str, protocol: Protocol) -> Result<String, LbError> {
    match t {
        "HTTP_COOKIE" if protocol.name() != "HTTP" => Err(LbError::bad_request(
            "HTTP_COOKIE Session persistence is only valid with HTTP protocol with or without SSL termination.",
        )),
        "SSL_ID" if protocol.name() != "HTTPS" => Err(LbError::bad_request(
            "SSL_ID session persistence is only valid with the HTTPS protocol. ",
        )),
        "HTTP_COOKIE" | "SOURCE_IP" | "SSL_ID" => Ok(t.to_string()),
        _ => Err(LbError::Schema),
    }
}

pub async fn get_session_persistence(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    let sp = match &lb.session_persistence {
        Some(t) => json!({"persistenceType": t}),
        None => json!({}),
    };
    Ok(HttpResponse::Ok().json(json!({ "sessionPersistence": sp })))
}

pub async fn set_session_persistence(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let sp = body::wrapped(&body, "sessionPersistence")?;
    let t = opt(sp, "persistenceType", body::string)?
        .ok_or_else(|| LbError::validation_one("Must provide a persistence type."))?;
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        require_active(lb, status)?;
        lb.session_persistence = Some(check_persistence(t, lb.protocol)?);
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

pub async fn delete_session_persistence(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        require_active(lb, status)?;
        if lb.session_persistence.take().is_none() {
            return Err(LbError::unprocessable(
                "Session persistence is already deleted.",
            ));
        }
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

// ----- connection throttle --------------------------------------------------------

/// Reads a throttle body over the current one (fields not given are kept).
pub fn parse_throttle(
    t: &Map<String, Value>,
    current: Option<&Throttle>,
) -> Result<Throttle, LbError> {
    let mut m: Vec<String> = Vec::new();
    let mut get = |key: &str, lo: i64, hi: i64, bad: &str| -> Result<Option<i64>, LbError> {
        let v = opt(t, key, body::int)?;
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
        return Err(LbError::validation(m));
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

pub async fn get_connection_throttle(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    let t = lb
        .throttle
        .as_deref()
        .map_or_else(|| json!({}), wire::throttle);
    Ok(HttpResponse::Ok().json(json!({ "connectionThrottle": t })))
}

pub async fn set_connection_throttle(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let t = body::wrapped(&body, "connectionThrottle")?;
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        require_active(lb, status)?;
        let throttle = parse_throttle(t, lb.throttle.as_deref())?;
        lb.throttle = Some(Box::new(throttle));
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

pub async fn delete_connection_throttle(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        require_active(lb, status)?;
        if lb.throttle.take().is_none() {
            return Err(LbError::unprocessable(
                "No connection throttle found to delete.",
            ));
        }
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

// ----- access list ----------------------------------------------------------------

/// Reads network items (`{"address", "type"}`) as (address, allow).
pub fn parse_network_items(
    list: &[Value],
    messages: &mut Vec<String>,
) -> Result<Vec<(String, bool)>, LbError> {
    let mut out = Vec::with_capacity(list.len());
    for v in list {
        let item = v.as_object().ok_or(LbError::Schema)?;
        let address = opt(item, "address", body::string)?;
        let kind = opt(item, "type", body::string)?;
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
            Some(_) => return Err(LbError::Schema),
        };
        match address {
            None | Some("") => {
                messages.push("Must provide an address for the network item.".into())
            }
            Some(a) if !valid_address(a, true) => {
                messages.push("Must provide a valid address for the network item.".into())
            }
            Some(a) => out.push((a.to_string(), allow)),
        }
    }
    messages.dedup();
    Ok(out)
}

pub async fn get_access_list(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    Ok(HttpResponse::Ok().json(json!({ "accessList": wire::access_list(&lb) })))
}

pub async fn add_access_list(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let list = body
        .get("accessList")
        .and_then(Value::as_array)
        .ok_or(LbError::Schema)?;
    let mut messages = Vec::new();
    if list.is_empty() {
        messages.push("Must provide at least one network item to the access list.".into());
    }
    if list.len() > r.state.lb.access_list_limit {
        messages.push(
            "Must not provide more than one hundred network items for the access list.".into(),
        );
    }
    let items = parse_network_items(list, &mut messages)?;
    if !messages.is_empty() {
        return Err(LbError::validation(messages));
    }
    let ids = r.next_ids("lb_access_item", items.len()).await?;
    let now = r.now_ms;
    let limit = r.state.lb.access_list_limit;
    r.mutate(id, |lb, status| {
        require_active(lb, status)?;
        if lb.access_list.len() + items.len() > limit {
            return Err(LbError::bad_request(format!(
                "Access list size must not exceed {limit} items."
            )));
        }
        let mut seen: Vec<&str> = lb.access_list.iter().map(|i| i.address.as_str()).collect();
        for (a, _) in &items {
            if seen.contains(&a.as_str()) {
                return Err(LbError::bad_request(
                    "Must supply a unique access list item to update the current list.",
                ));
            }
            seen.push(a);
        }
        for ((address, allow), id) in items.into_iter().zip(ids) {
            lb.access_list.push(AccessItem { id, address, allow });
        }
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

/// `DELETE .../accesslist` (everything) or `?id=..` (some items, all or nothing).
pub async fn delete_access_list(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let ids = r.query_ids()?;
    let has_query = r.query.iter().any(|(k, _)| k == "id");
    if has_query && ids.is_empty() {
        return Err(LbError::bad_request(NO_IDS));
    }
    let max = r.state.lb.batch_delete_limit;
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        if ids.is_empty() {
            require_active(lb, status)?;
            if lb.access_list.is_empty() {
                return Err(LbError::unprocessable("No access list found to delete"));
            }
            lb.access_list.clear();
        } else {
            match status {
                LbStatus::Active => {}
                LbStatus::Deleted => return Err(LbError::unprocessable(super::DELETED_IMMUTABLE)),
                _ => return Err(LbError::unprocessable(NOT_ACTIVE)),
            }
            if ids.len() > max {
                return Err(LbError::bad_request(format!(
                    "Currently, the limit of accepted parameters is: {max} :please supply a valid parameter list."
                )));
            }
            let unknown: Vec<String> = ids
                .iter()
                .filter(|i| !lb.access_list.iter().any(|a| a.id == **i))
                .map(u64::to_string)
                .collect();
            match unknown.len() {
                0 => {}
                1 => {
                    return Err(LbError::bad_request(format!(
                        "Network item with id {} not found.",
                        unknown[0]
                    )))
                }
                _ => {
                    return Err(LbError::bad_request(format!(
                        "Network items with ids {} not found.",
                        unknown.join(", ")
                    )))
                }
            }
            lb.access_list.retain(|a| !ids.contains(&a.id));
        }
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

pub async fn delete_access_item(r: &Req<'_>, id: u64, item: u64) -> Result<HttpResponse, LbError> {
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        if !lb.access_list.iter().any(|a| a.id == item) {
            return Err(LbError::not_found("Network Item not found"));
        }
        require_active(lb, status)?;
        lb.access_list.retain(|a| a.id != item);
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

// ----- error page -----------------------------------------------------------------

const ERRORPAGE_IMMUTABLE: &str =
    "Load balancer is considered immutable and cannot process request";

pub async fn get_error_page(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    let content = lb.error_page.as_deref().unwrap_or(DEFAULT_ERROR_PAGE);
    Ok(HttpResponse::Ok().json(json!({"errorpage": {"content": content}})))
}

/// 200 with the page echoed (gophercloud requires it; the real service's code is unclear).
pub async fn set_error_page(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let body = body::json(r.body)?;
    let page = body::wrapped(&body, "errorpage")?;
    let content = match opt(page, "content", body::string)? {
        None | Some("") => {
            return Err(LbError::validation_one(
                "You must provide Content to set ErrorPage",
            ))
        }
        Some(c) if c.len() > 65536 => {
            return Err(LbError::validation_one(
                "Your content length must be less than 65536 bytes\n",
            ))
        }
        Some(c) => c.to_string(),
    };
    let now = r.now_ms;
    let echoed = content.clone();
    r.mutate(id, |lb, status| {
        if lb.protocol.name() != "HTTP" {
            return Err(LbError::bad_request(
                "Custom error page is allowed only on loadbalancers with HTTP protocol.",
            ));
        }
        if status != LbStatus::Active {
            return Err(LbError::unprocessable(ERRORPAGE_IMMUTABLE));
        }
        lb.error_page = Some(content);
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({"errorpage": {"content": echoed}})))
}

pub async fn delete_error_page(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        if status != LbStatus::Active {
            return Err(LbError::unprocessable(ERRORPAGE_IMMUTABLE));
        }
        lb.error_page = None;
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().content_type("application/json").finish())
}

// ----- content caching and connection logging ------------------------------------

pub async fn get_content_caching(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    Ok(HttpResponse::Ok().json(json!({"contentCaching": {"enabled": lb.content_caching}})))
}

pub async fn get_connection_logging(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let lb = r.load_live(id).await?;
    Ok(HttpResponse::Ok().json(json!({"connectionLogging": {"enabled": lb.connection_logging}})))
}

fn enabled_body(r: &Req<'_>, key: &str, missing: &str) -> Result<bool, LbError> {
    let body = body::json(r.body)?;
    let obj = body::wrapped(&body, key)?;
    opt(obj, "enabled", body::boolean)?.ok_or_else(|| LbError::validation_one(missing))
}

pub async fn set_content_caching(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let enabled = enabled_body(
        r,
        "contentCaching",
        "Must specify whether content caching is enabled or not.",
    )?;
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        require_active(lb, status)?;
        if enabled && lb.protocol.name() != "HTTP" {
            return Err(LbError::bad_request(
                "Content caching can only be enabled for HTTP loadbalancers.",
            ));
        }
        lb.content_caching = enabled;
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}

pub async fn set_connection_logging(r: &Req<'_>, id: u64) -> Result<HttpResponse, LbError> {
    let enabled = enabled_body(
        r,
        "connectionLogging",
        "Must specify whether connection logging is enabled or not.",
    )?;
    let now = r.now_ms;
    r.mutate(id, |lb, status| {
        require_active(lb, status)?;
        if enabled && lb.protocol.is_udp() {
            return Err(LbError::bad_request(
                "Connection logging cannot be enabled for load balancers with UDP, DNS_UDP or UDP_STREAM protocol",
            ));
        }
        lb.connection_logging = enabled;
        lb.changed(now, false);
        Ok(())
    })
    .await?;
    Ok(accepted())
}
