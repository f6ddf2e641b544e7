//! Images: the seeded base images of the region plus the tenant's snapshots.
//! `GET /images`, `/images/detail` (filters and paging), `GET`/`DELETE /images/{id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::request::{seg, State, Tenant};
use super::wire::{image_brief, image_detail, json};
use crate::domain::catalog::Image;
use crate::domain::paging::paginate;
use crate::domain::paging::Query;
use crate::error::ComputeError;

const IMAGE_NOT_FOUND: &str = "Image not found.";

async fn list(
    t: Tenant,
    state: State,
    req: HttpRequest,
    detail: bool,
) -> Result<HttpResponse, ComputeError> {
    let q = Query::parse(req.query_string());
    let images = state.images(&t.scope).await?;
    let name = q.get("name");
    let status = q.get("status").map(|s| s.to_uppercase());
    let kind = q.get("type");
    let server = q.get("server");
    let num = |k: &str| -> Result<Option<u64>, ComputeError> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ComputeError::bad_request(format!("Invalid {k} filter [{v}]"))),
        }
    };
    let (min_ram, min_disk) = (num("minRam")?, num("minDisk")?);
    let items: Vec<&Image> = images
        .iter()
        .filter(|i| {
            name.as_ref().is_none_or(|n| *n == i.name)
                && status.as_ref().is_none_or(|s| s == "ACTIVE")
                && kind.as_ref().is_none_or(|k| match k.as_str() {
                    "BASE" | "base" => i.server.is_none(),
                    "SNAPSHOT" | "snapshot" => i.server.is_some(),
                    _ => true,
                })
                && server
                    .as_ref()
                    .is_none_or(|s| i.server.as_deref().is_some_and(|x| s.ends_with(x)))
                && min_ram.is_none_or(|m| i.min_ram >= m)
                && min_disk.is_none_or(|m| i.min_disk >= m)
        })
        .collect();
    let path = if detail { "images/detail" } else { "images" };
    let (page, next) = paginate(
        items,
        |i| i.id.as_str(),
        &q,
        state.settings.max_page_size,
        &t.links.versioned(path),
    )
    .map_err(ComputeError::bad_request)?;
    let out: Vec<Value> = page
        .iter()
        .map(|i| {
            if detail {
                image_detail(i, &t.links)
            } else {
                image_brief(i, &t.links)
            }
        })
        .collect();
    let mut body = json!({ "images": out });
    if let Some(next) = next {
        body["images_links"] = next;
    }
    Ok(json(StatusCode::OK, &body))
}

pub async fn list_images(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    list(t, state, req, false).await
}

pub async fn list_images_detail(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    list(t, state, req, true).await
}

pub async fn get_image(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let id = seg(&req, "image_id");
    let image = match state.catalog.image(&id, &t.scope.region) {
        Some(i) => i.clone(),
        None => state
            .snapshots
            .get(&t.scope, &id)
            .await?
            .map(|s| s.image())
            .ok_or_else(|| ComputeError::not_found(IMAGE_NOT_FOUND))?,
    };
    Ok(json(
        StatusCode::OK,
        &json!({ "image": image_detail(&image, &t.links) }),
    ))
}

pub async fn delete_image(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let id = seg(&req, "image_id");
    if state.catalog.image(&id, &t.scope.region).is_some() {
        return Err(ComputeError::forbidden(
            "You are not allowed to delete the image.",
        ));
    }
    match state.snapshots.remove(&t.scope, &id).await? {
        Some(_) => Ok(HttpResponse::NoContent().finish()),
        None => Err(ComputeError::not_found(IMAGE_NOT_FOUND)),
    }
}
