//! Servers: create, list (brief and detail, with filters and paging), show, update,
//! delete, and addresses.

use std::collections::HashMap;

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use common::behaviors::Attribute;
use common::context::ServiceContext;
use common::error::ApiError;
use common::json::Body;
use common::store::StoreError;
use regex::Regex;
use serde_json::{json, Map, Value};

use super::request::{parse_json, seg, uuid_like, wrapped_body, State, Tenant};
use super::wire::{self, json, json_parts, one_server, server_answer, server_brief, server_links};
use crate::domain::mimic::{self, Creation, Failure, DELETE_FAILURE_KEY};
use crate::domain::paging::{parse_limit, Query};
use crate::domain::quota::Usage;
use crate::domain::server::{
    generate_password, id_from_href, metadata_limit_message, parse_disk_config, parse_metadata,
    parse_name, ServerRecord,
};
use crate::domain::status::{Lifecycle, Pending, Settled, Shows};
use crate::error::{ComputeError, INTERNAL};
use common::render::JsonParts;

type Ctx = web::Data<ServiceContext>;

/// At most this many servers from one create (`max_count`).
const MAX_SERVERS_PER_REQUEST: u64 = 100;

fn non_null<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// An injected failure, answered as Mimic does: `{type: {message, code}}`, or the
/// message as the raw body when `type` is `"string"`.
fn failure_error(f: &Failure) -> ComputeError {
    let status = StatusCode::from_u16(f.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if f.kind == "string" {
        ComputeError::Api(ApiError::raw(
            status,
            "application/json",
            f.message.clone().into_bytes(),
        ))
    } else {
        ComputeError::Api(ApiError::json(
            status,
            json!({ f.kind.as_str(): {"message": f.message, "code": f.code} }),
        ))
    }
}

fn parse_count(v: Option<&Value>, name: &str) -> Result<Option<u64>, ComputeError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let n = v
        .as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| {
            ComputeError::bad_request(format!("Invalid input received: {name} must be an integer"))
        })?;
    if n < 1 {
        return Err(ComputeError::bad_request(format!(
            "Invalid input received: {name} must be >= 1"
        )));
    }
    Ok(Some(n as u64))
}

fn check_networks(v: Option<&Value>) -> Result<(), ComputeError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let list = v
        .as_array()
        .ok_or_else(|| ComputeError::bad_request("Bad networks format"))?;
    let mut seen = Vec::new();
    for n in list {
        let uuid = n.get("uuid").and_then(Value::as_str);
        if let Some(u) = uuid {
            if !uuid_like(u) {
                return Err(ComputeError::bad_request(format!(
                    "Bad networks format: network uuid is not in proper format ({u})"
                )));
            }
            if seen.contains(&u) {
                return Err(ComputeError::bad_request(format!(
                    "Duplicate networks ({u}) are not allowed"
                )));
            }
            seen.push(u);
        } else if !n.is_object() {
            return Err(ComputeError::bad_request("Bad networks format"));
        }
    }
    Ok(())
}

/// Nova's `personality` check (create and rebuild): a list of `{path, contents}`.
pub(crate) fn check_personality(v: Option<&Value>) -> Result<(), ComputeError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let list = v
        .as_array()
        .ok_or_else(|| ComputeError::bad_request("Bad personality format"))?;
    for item in list {
        for key in ["path", "contents"] {
            if item.get(key).is_none() {
                return Err(ComputeError::bad_request(format!(
                    "Bad personality format: missing '{key}'"
                )));
            }
        }
    }
    Ok(())
}

fn parse_access_ip(
    obj: &Map<String, Value>,
    key: &str,
    v6: bool,
) -> Result<Option<String>, ComputeError> {
    let Some(v) = non_null(obj, key) else {
        return Ok(None);
    };
    let Some(s) = v.as_str() else {
        return Err(ComputeError::bad_request(format!(
            "{key} is not proper IPv{} format",
            if v6 { 6 } else { 4 }
        )));
    };
    if s.is_empty() {
        return Ok(None);
    }
    let ok = if v6 {
        s.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        s.parse::<std::net::Ipv4Addr>().is_ok()
    };
    if ok {
        Ok(Some(s.to_string()))
    } else {
        Err(ComputeError::bad_request(format!(
            "{key} is not proper IPv{} format",
            if v6 { 6 } else { 4 }
        )))
    }
}

pub async fn create_server(
    t: Tenant,
    state: State,
    ctx: Ctx,
    body: Body,
) -> Result<HttpResponse, ComputeError> {
    let parsed = parse_json(&body.0)?;
    let server = wrapped_body(&parsed, "server")?;
    let disk_auto = parse_disk_config(server.get("OS-DCF:diskConfig").unwrap_or(&Value::Null))
        .map_err(ComputeError::bad_request)?
        .unwrap_or(true);
    let admin_pass = match non_null(server, "adminPass") {
        None => generate_password(),
        Some(Value::String(p)) => p.clone(),
        Some(_) => return Err(ComputeError::bad_request("Invalid adminPass")),
    };
    let name = parse_name(server.get("name")).map_err(ComputeError::bad_request)?;
    let image_ref = match non_null(server, "imageRef") {
        None => return Err(ComputeError::bad_request("Missing imageRef attribute")),
        Some(v) => {
            let id = v.as_str().map(id_from_href).unwrap_or_default();
            if !uuid_like(id) {
                return Err(ComputeError::bad_request("Invalid imageRef provided."));
            }
            id.to_string()
        }
    };
    check_personality(server.get("personality"))?;
    check_networks(server.get("networks"))?;
    let access_ipv4 = parse_access_ip(server, "accessIPv4", false)?;
    let access_ipv6 = parse_access_ip(server, "accessIPv6", true)?;
    let flavor_ref = match non_null(server, "flavorRef") {
        None => return Err(ComputeError::bad_request("Missing flavorRef attribute")),
        Some(Value::String(s)) => id_from_href(s).to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(ComputeError::bad_request("Invalid flavorRef provided.")),
    };
    let min = parse_count(server.get("min_count"), "min_count")?;
    let max = parse_count(server.get("max_count"), "max_count")?;
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            return Err(ComputeError::bad_request(
                "Invalid input received: min_count must be <= max_count",
            ));
        }
    }
    let region = t.scope.region.clone();
    let flavor = state
        .catalog
        .flavor(&flavor_ref, &region)
        .ok_or_else(|| ComputeError::bad_request("Invalid flavorRef provided."))?;
    if state.catalog.image(&image_ref, &region).is_none()
        && state.snapshots.get(&t.scope, &image_ref).await?.is_none()
    {
        return Err(ComputeError::bad_request("Can not find requested image"));
    }
    let metadata = parse_metadata(server.get("metadata").unwrap_or(&Value::Null))
        .map_err(ComputeError::from)?;
    if metadata.len() > state.settings.max_metadata_items {
        return Err(ComputeError::quota(metadata_limit_message(
            state.settings.max_metadata_items,
        )));
    }
    let key_name = match non_null(server, "key_name") {
        None => None,
        Some(Value::String(k)) if state.keypairs.get(&t.scope, k).await?.is_some() => {
            Some(k.clone())
        }
        Some(_) => return Err(ComputeError::bad_request("Invalid key_name provided.")),
    };

    // Mimic: metadata keys first, then registered behaviours.
    let plan = match mimic::from_metadata(&metadata).map_err(ComputeError::bad_request)? {
        Some(p) => p,
        None => {
            let md: HashMap<String, String> = metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let chosen = ctx
                .behaviors
                .choose(&t.scope, &mimic::CREATION, |k| match k {
                    "server_name" => Attribute::Text(&name),
                    "metadata" => Attribute::Map(&md),
                    _ => Attribute::Absent,
                })
                .await?;
            chosen.map_or(Creation::Default, |c| {
                mimic::from_behavior(&c.name, &c.parameters)
            })
        }
    };
    if let Creation::Fail(f) = &plan {
        return Err(failure_error(f));
    }

    // Nova makes `max_count` servers ("name-1", "name-2", ...) and answers with the first.
    let count = max.or(min).unwrap_or(1).min(MAX_SERVERS_PER_REQUEST) as i64;
    let one = state.usage_of(&flavor.id);
    let usage = Usage {
        instances: count,
        cores: one.cores * count,
        ram_mb: one.ram_mb * count,
    };
    state
        .reserve(&t.scope, usage)
        .await?
        .map_err(ComputeError::quota)?;
    let now = state.now_ms();
    let secs = |s: f64| (s * 1000.0).round() as i64;
    let pending = |shows, ms: i64| {
        (ms > 0).then_some(Pending {
            shows,
            since_ms: now,
            until_ms: now.saturating_add(ms),
        })
    };
    let life = match &plan {
        Creation::Build { seconds } => {
            Lifecycle::new(Settled::Active, pending(Shows::Build, secs(*seconds)))
        }
        Creation::Error => Lifecycle::new(Settled::Error, None),
        Creation::ActiveThenError { seconds } => {
            Lifecycle::new(Settled::Error, pending(Shows::Active, secs(*seconds)))
        }
        _ => Lifecycle::new(
            Settled::Active,
            pending(Shows::Build, state.settings.build_time_ms as i64),
        ),
    };
    let user_id = t.user_id(&state);
    let mut first: Option<String> = None;
    for n in 0..count {
        let made = async {
            let addr = state.next_address(&t.scope).await?;
            let id = uuid::Uuid::new_v4();
            let rec = ServerRecord {
                id,
                name: if count > 1 {
                    format!("{name}-{}", n + 1)
                } else {
                    name.clone()
                },
                user_id: user_id.clone(),
                created_ms: now,
                updated_ms: now,
                flavor_id: flavor.id.clone(),
                image_id: image_ref.clone(),
                key_name: key_name.clone(),
                metadata: metadata.clone(),
                addr,
                disk_auto,
                access_ipv4: access_ipv4.clone(),
                access_ipv6: access_ipv6.clone(),
                life: life.clone(),
            };
            let sid = id.to_string();
            state.servers.insert(&t.scope, &sid, rec).await?;
            Ok::<_, StoreError>(sid)
        }
        .await;
        match made {
            Ok(sid) => {
                first.get_or_insert(sid);
            }
            Err(e) => {
                let left = count - n;
                state
                    .release(
                        &t.scope,
                        Usage {
                            instances: left,
                            cores: one.cores * left,
                            ram_mb: one.ram_mb * left,
                        },
                    )
                    .await?;
                return Err(e.into());
            }
        }
    }
    let sid = first.unwrap_or_default();
    if let Creation::FalseNegative(f) = &plan {
        return Err(failure_error(f));
    }
    let links = server_links(&t.links, &sid);
    let location = links[0].href.clone();
    Ok(HttpResponse::Accepted()
        .insert_header((LOCATION, location))
        .json(json!({"server": {
            "OS-DCF:diskConfig": if disk_auto { "AUTO" } else { "MANUAL" },
            "id": sid,
            "links": links,
            "adminPass": admin_pass,
        }})))
}

/// The filters of a server list.
struct Filters {
    since_ms: Option<i64>,
    statuses: Vec<String>,
    name: Option<Regex>,
    image: Option<String>,
    flavor: Option<String>,
}

impl Filters {
    fn parse(q: &Query) -> Result<Filters, ComputeError> {
        let since_ms = match q.get("changes-since") {
            None => None,
            Some(s) => Some(
                common::clock::parse_timestamp(s.trim())
                    // An offset sent unencoded (`+00:00`) arrives with a space for its `+`.
                    .or_else(|| common::clock::parse_timestamp(&s.trim().replace(' ', "+")))
                    .ok_or_else(|| ComputeError::bad_request("Invalid changes-since value"))?
                    .timestamp_millis(),
            ),
        };
        let statuses: Vec<String> = q.all("status").map(|s| s.to_uppercase()).collect();
        if statuses.iter().any(|s| s == "DELETED") {
            return Err(ComputeError::forbidden(
                "Only administrators may list deleted instances",
            ));
        }
        let name = q.get("name").map(|n| {
            Regex::new(&n).unwrap_or_else(|_| {
                // Not a regular expression: match it literally.
                Regex::new(&regex::escape(&n))
                    .unwrap_or_else(|_| Regex::new("$^").expect("static regex"))
            })
        });
        Ok(Filters {
            since_ms,
            statuses,
            name,
            image: q.get("image").map(|i| id_from_href(&i).to_string()),
            flavor: q.get("flavor").map(|f| id_from_href(&f).to_string()),
        })
    }

    fn keep(&self, rec: &ServerRecord, now: i64) -> bool {
        let view = rec.life.view(now, rec.updated_ms);
        match self.since_ms {
            None if view.gone => return false,
            Some(since) if view.changed_ms < since => return false,
            _ => {}
        }
        (self.statuses.is_empty() || self.statuses.iter().any(|s| *s == *view.status))
            && self.name.as_ref().is_none_or(|re| re.is_match(&rec.name))
            && self.image.as_ref().is_none_or(|i| *i == rec.image_id)
            && self.flavor.as_ref().is_none_or(|f| *f == rec.flavor_id)
    }
}

/// One page of the tenant's servers as `map` makes them (with each server's id, for the
/// next link), and the `servers_links` of a full page.
async fn page<R>(
    t: &Tenant,
    state: &State,
    req: &HttpRequest,
    detail: bool,
    mut map: impl FnMut(&ServerRecord, u64, i64) -> R,
) -> Result<(Vec<(uuid::Uuid, R)>, Option<Value>), ComputeError> {
    let q = Query::parse(req.query_string());
    let limit = parse_limit(q.get("limit").as_deref(), state.settings.max_page_size)
        .map_err(ComputeError::bad_request)?;
    let filters = Filters::parse(&q)?;
    let marker = q.get("marker");
    let now = state.now_ms();
    let records = state
        .servers
        .page_map(
            &t.scope,
            marker.as_deref(),
            limit,
            |r| filters.keep(r, now),
            |r, revision| (r.id, map(r, revision, now)),
        )
        .await
        .map_err(|e| match e {
            StoreError::MarkerNotFound(m) => {
                ComputeError::bad_request(format!("marker [{m}] not found"))
            }
            e => e.into(),
        })?;
    let next = (records.len() == limit)
        .then(|| records.last())
        .flatten()
        .map(|(last, _)| {
            let path = if detail { "servers/detail" } else { "servers" };
            json!([{
                "href": format!("{}?{}", t.links.versioned(path), q.next(limit, &last.to_string())),
                "rel": "next",
            }])
        });
    Ok((records, next))
}

pub async fn list_servers(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let (servers, next) = page(&t, &state, &req, false, |r, _, _| {
        serde_json::to_value(server_brief(r, &t.links)).unwrap_or_default()
    })
    .await?;
    let servers: Vec<Value> = servers.into_iter().map(|(_, s)| s).collect();
    let mut body = json!({ "servers": servers });
    if let Some(next) = next {
        body["servers_links"] = next;
    }
    Ok(json(StatusCode::OK, &body))
}

pub async fn list_servers_detail(
    t: Tenant,
    state: State,
    rendered: web::Data<wire::RenderedServers>,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let base = wire::RenderBase::of(&t);
    // The cache is locked per server: a lock is never held across `.await`.
    let (servers, next) = page(&t, &state, &req, true, |r, revision, now| {
        let view = r.life.view(now, r.updated_ms);
        wire::server_json(&mut rendered.lock(), r, revision, view, &base)
    })
    .await?;
    let suffix = match next {
        Some(links) => format!("],\"servers_links\":{links}}}"),
        None => "]}".to_string(),
    };
    Ok(json_parts(JsonParts::new(
        b"{\"servers\":[",
        servers.into_iter().map(|(_, s)| s).collect(),
        bytes::Bytes::from(suffix),
    )))
}

pub async fn get_server(
    t: Tenant,
    state: State,
    rendered: web::Data<wire::RenderedServers>,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let id = &seg(&req, "server_id");
    let now = state.now_ms();
    let base = wire::RenderBase::of(&t);
    state
        .servers
        .get_map(&t.scope, id, |rec, revision| {
            let view = rec.life.view(now, rec.updated_ms);
            (!view.gone)
                .then(|| wire::server_json(&mut rendered.lock(), rec, revision, view, &base))
        })
        .await?
        .flatten()
        .map(server_answer)
        .ok_or_else(|| ComputeError::instance_not_found(id))
}

pub async fn update_server(
    t: Tenant,
    state: State,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, ComputeError> {
    let id = seg(&req, "server_id");
    let parsed = parse_json(&body.0)?;
    let server = wrapped_body(&parsed, "server")?;
    if server.contains_key("hostId") {
        return Err(ComputeError::bad_request("HostId cannot be updated."));
    }
    if server.contains_key("personality") {
        return Err(ComputeError::bad_request("Personality cannot be updated."));
    }
    let name = match non_null(server, "name") {
        Some(v) => Some(parse_name(Some(v)).map_err(ComputeError::bad_request)?),
        None => None,
    };
    let v4 = parse_access_ip(server, "accessIPv4", false)?;
    let v6 = parse_access_ip(server, "accessIPv6", true)?;
    let disk = parse_disk_config(server.get("OS-DCF:diskConfig").unwrap_or(&Value::Null))
        .map_err(ComputeError::bad_request)?;
    state
        .mutate_server(&t.scope, &id, |rec, _, now| {
            if let Some(n) = &name {
                rec.name = n.clone();
            }
            if server.contains_key("accessIPv4") {
                rec.access_ipv4 = v4.clone();
            }
            if server.contains_key("accessIPv6") {
                rec.access_ipv6 = v6.clone();
            }
            if let Some(d) = disk {
                rec.disk_auto = d;
            }
            rec.updated_ms = now;
            Ok(())
        })
        .await?;
    let (rec, view) = state.load_server(&t.scope, &id).await?;
    Ok(one_server(&t, &rec, view))
}

enum Deleted {
    /// Deleted now: the flavor (to give its usage back) and when.
    Now(String, i64),
    Already,
    Refused(u16),
}

pub async fn delete_server(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let id = &seg(&req, "server_id");
    let delete_ms = state.settings.delete_time_ms;
    let outcome = state
        .mutate_server(&t.scope, id, |rec, _, now| {
            // Mimic's delete_server_failure: the next `times` deletes answer `code`.
            if let Some(mut f) = rec
                .metadata
                .get(DELETE_FAILURE_KEY)
                .and_then(|v| mimic::parse_delete_failure(v))
                .filter(|f| f.times > 0)
            {
                f.times -= 1;
                rec.metadata
                    .insert(DELETE_FAILURE_KEY.to_string(), f.to_value());
                return Ok(Deleted::Refused(f.code));
            }
            if rec.life.deleted.is_some() {
                return Ok(Deleted::Already);
            }
            rec.life.delete(now, delete_ms);
            rec.updated_ms = now;
            Ok(Deleted::Now(rec.flavor_id.clone(), now))
        })
        .await?;
    match outcome {
        Deleted::Refused(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = if status.is_server_error() {
                INTERNAL
            } else {
                status.canonical_reason().unwrap_or("Error")
            };
            Err(ComputeError::new(status, message))
        }
        Deleted::Already => Ok(HttpResponse::NoContent().finish()),
        Deleted::Now(flavor, at) => {
            // The deletion is stored: nothing after it can undo it, so a step that fails
            // now is logged and the answer is still 204 (a 5xx would say nothing changed).
            if let Err(e) = state.release(&t.scope, state.usage_of(&flavor)).await {
                tracing::warn!(error = %e, "giving back a deleted server's quota failed; it stays counted");
            }
            if let Err(e) = state.forget_deleted(&t.scope, id, at).await {
                tracing::warn!(error = %e, "noting a deleted server failed; its record stays");
            }
            Ok(HttpResponse::NoContent().finish())
        }
    }
}

pub async fn list_ips(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let (rec, _) = state.load_server(&t.scope, &seg(&req, "server_id")).await?;
    Ok(json(
        StatusCode::OK,
        &json!({"addresses": wire::addresses_of(&rec)}),
    ))
}

pub async fn get_ips_by_network(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let (rec, _) = state.load_server(&t.scope, &seg(&req, "server_id")).await?;
    let network = seg(&req, "network");
    let addresses = serde_json::to_value(wire::addresses_of(&rec))
        .map_err(|_| ComputeError::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL))?;
    match addresses.get(&network) {
        Some(list) => Ok(json(StatusCode::OK, &json!({ network.as_str(): list }))),
        None => Err(ComputeError::not_found(
            "Instance is not a member of specified network",
        )),
    }
}
