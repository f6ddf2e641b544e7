//! Flavors: `GET /flavors`, `/flavors/detail` (filters `minRam`, `minDisk`, paging) and
//! `/flavors/{id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::request::{seg, State, Tenant};
use super::wire::{flavor_brief, flavor_detail, json};
use crate::configuration::FlavorSettings;
use crate::domain::paging::{paginate, Query};
use crate::error::{ComputeError, NOT_FOUND};

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
    )
    .map_err(ComputeError::bad_request)?;
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
