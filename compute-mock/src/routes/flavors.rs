//! Flavors: `GET /flavors`, `/flavors/detail` (filters `minRam`, `minDisk`, paging) and
//! `/flavors/{id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::views::{flavor_brief, flavor_detail};
use super::{json, seg, State, Tenant};
use crate::configuration::FlavorSettings;
use crate::domain::paging::{parse_limit, Query};
use crate::error::{ComputeError, NOT_FOUND};

/// Applies `marker` and `limit` to an in-memory list; returns the page and the
/// `<collection>_links` next link when the page is full.
pub(crate) fn paginate<'a, T>(
    items: Vec<&'a T>,
    id: impl Fn(&T) -> &str,
    q: &Query,
    max: usize,
    url: &str,
) -> Result<(Vec<&'a T>, Option<Value>), ComputeError> {
    let limit = parse_limit(q.get("limit").as_deref(), max).map_err(ComputeError::bad_request)?;
    let start = match q.get("marker") {
        None => 0,
        Some(m) => {
            items
                .iter()
                .position(|i| id(i) == m)
                .ok_or_else(|| ComputeError::bad_request(format!("marker [{m}] not found")))?
                + 1
        }
    };
    let page: Vec<&T> = items.into_iter().skip(start).take(limit).collect();
    let next = (page.len() == limit)
        .then(|| page.last())
        .flatten()
        .map(|last| json!([{"href": format!("{url}?{}", q.next(limit, id(last))), "rel": "next"}]));
    Ok((page, next))
}

fn min_filter(q: &Query, key: &str) -> Result<Option<u64>, ComputeError> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ComputeError::bad_request(format!("Invalid {key} filter [{v}]"))),
    }
}

async fn list(
    t: Tenant,
    state: State,
    req: HttpRequest,
    detail: bool,
) -> Result<HttpResponse, ComputeError> {
    let q = Query::parse(req.query_string());
    let min_ram = min_filter(&q, "minRam")?;
    let min_disk = min_filter(&q, "minDisk")?;
    let items: Vec<&FlavorSettings> = state
        .catalog
        .flavors_in(&t.scope.region)
        .filter(|f| min_ram.is_none_or(|m| f.ram >= m) && min_disk.is_none_or(|m| f.disk >= m))
        .collect();
    let path = if detail { "flavors/detail" } else { "flavors" };
    let (page, next) = paginate(
        items,
        |f| f.id.as_str(),
        &q,
        state.settings.max_page_size,
        &t.links.versioned(path),
    )?;
    let flavors: Vec<Value> = page
        .iter()
        .map(|f| {
            if detail {
                flavor_detail(f, &t.links)
            } else {
                flavor_brief(f, &t.links)
            }
        })
        .collect();
    let mut body = json!({ "flavors": flavors });
    if let Some(next) = next {
        body["flavors_links"] = next;
    }
    Ok(json(StatusCode::OK, &body))
}

pub async fn list_flavors(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    list(t, state, req, false).await
}

pub async fn list_flavors_detail(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    list(t, state, req, true).await
}

pub async fn get_flavor(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let f = state
        .catalog
        .flavor(&seg(&req, "flavor_id"), &t.scope.region)
        .ok_or_else(|| ComputeError::not_found(NOT_FOUND))?;
    Ok(json(
        StatusCode::OK,
        &json!({ "flavor": flavor_detail(f, &t.links) }),
    ))
}
