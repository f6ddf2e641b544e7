//! The image service (Glance v2, Rackspace's `cloudImages`) under `/{region}/images`:
//! version discovery, `GET /v2/images` (filters, sort, paging), `GET /v2/images/{id}` and
//! the two schemas clients fetch. It shows the images Compute's `/images` shows (base
//! images of the region and the caller's snapshots), with the same ids, so a client that
//! finds an image here can boot it on Nova. The tenant is the token's: Glance URLs name
//! none. Errors are Glance's `{"message", "code", "title"}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::request::{State, Tenant};
use crate::domain::catalog::Image;
use crate::domain::glance::{self, Facts, ListQuery, CONTAINER_FORMAT, DISK_FORMAT, SIZE_BYTES};
use crate::error::ComputeError;

/// Mounts the image service.
pub fn scope() -> actix_web::Scope {
    web::scope("/{region}/images")
        .route("", web::get().to(get_versions_choice))
        .route("/", web::get().to(get_versions_choice))
        .route("/versions", web::get().to(get_versions))
        .route("/v2", web::get().to(get_versions))
        .route("/v2/", web::get().to(get_versions))
        .route("/v2/images", web::get().to(list_images))
        .route("/v2/images/{image_id:.*}", web::get().to(get_image))
        // python-novaclient's image proxy adds `/v2` to the catalog URL (OpenStack's Glance
        // endpoints are unversioned; Rackspace's, like this one, end in `/v2`), so a
        // `nova boot --image NAME` arrives with the version twice.
        .route("/v2/v2/images", web::get().to(list_images))
        .route("/v2/v2/images/{image_id:.*}", web::get().to(get_image))
        .route("/v2/schemas/image", web::get().to(get_image_schema))
        .route("/v2/schemas/images", web::get().to(get_images_schema))
}

/// Glance's error body; clients read only the status, people read the message.
fn glance_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json((crate::error::GLANCE.render)(status, None, message))
}

/// Glance's answer when there is no caller (401) or the region is unknown (404).
fn refusal(e: &ComputeError) -> HttpResponse {
    let status = e.status();
    let message = match status {
        StatusCode::UNAUTHORIZED => "The request you have made requires authentication.",
        StatusCode::NOT_FOUND => "The resource could not be found.",
        _ => "The request could not be completed.",
    };
    glance_error(status, message)
}

/// `scheme://host/{region}/images`, as the client addressed it.
fn root(req: &HttpRequest) -> String {
    let region = req.match_info().get("region").unwrap_or_default();
    format!("{}/{region}/images", common::request_origin(req))
}

fn versions(req: &HttpRequest) -> Value {
    let href = format!("{}/v2/", root(req));
    let entry = |id: &str, status: &str| json!({"id": id, "status": status, "links": [{"rel": "self", "href": href}]});
    json!({"versions": [entry("v2.2", "CURRENT"), entry("v2.1", "SUPPORTED"), entry("v2.0", "SUPPORTED")]})
}

/// `GET /{region}/images/`: 300 with the versions, as Glance's root answers.
async fn get_versions_choice(req: HttpRequest, state: State) -> HttpResponse {
    if super::request::region_of(&req, &state).is_err() {
        return glance_error(StatusCode::NOT_FOUND, "The resource could not be found.");
    }
    HttpResponse::MultipleChoices().json(versions(&req))
}

async fn get_versions(req: HttpRequest, state: State) -> HttpResponse {
    if super::request::region_of(&req, &state).is_err() {
        return glance_error(StatusCode::NOT_FOUND, "The resource could not be found.");
    }
    HttpResponse::Ok().json(versions(&req))
}

fn facts<'a>(image: &'a Image, tenant: &'a str) -> Facts<'a> {
    let properties = match super::wire::image_metadata(image) {
        Value::Object(m) => m
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    let (visibility, owner) = match image.server {
        None => ("public", None),
        Some(_) => ("private", Some(tenant)),
    };
    Facts {
        image,
        visibility,
        owner,
        properties,
    }
}

fn render(f: &Facts<'_>) -> Value {
    let i = f.image;
    let time = common::clock::iso_seconds(
        chrono::DateTime::from_timestamp_millis(i.created_ms).unwrap_or_default(),
    );
    let mut v = Map::new();
    for (k, value) in [
        ("id", json!(i.id)),
        ("name", json!(i.name)),
        ("status", json!("active")),
        ("visibility", json!(f.visibility)),
        ("protected", json!(false)),
        ("os_hidden", json!(false)),
        ("checksum", Value::Null),
        ("os_hash_algo", Value::Null),
        ("os_hash_value", Value::Null),
        ("owner", json!(f.owner)),
        ("size", json!(SIZE_BYTES)),
        ("virtual_size", Value::Null),
        ("container_format", json!(CONTAINER_FORMAT)),
        ("disk_format", json!(DISK_FORMAT)),
        ("min_ram", json!(i.min_ram)),
        ("min_disk", json!(i.min_disk)),
        ("created_at", json!(time)),
        ("updated_at", json!(time)),
        ("tags", json!([])),
        ("self", json!(format!("/v2/images/{}", i.id))),
        ("file", json!(format!("/v2/images/{}/file", i.id))),
        ("schema", json!("/v2/schemas/image")),
    ] {
        v.insert(k.to_string(), value);
    }
    for (k, value) in &f.properties {
        v.insert(k.clone(), json!(value));
    }
    if !i.os_distro.is_empty() {
        v.insert("os_distro".into(), json!(i.os_distro));
    }
    Value::Object(v)
}

/// `GET /v2/images`.
pub async fn list_images(
    t: Result<Tenant, ComputeError>,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let t = match t {
        Ok(t) => t,
        Err(e) => return Ok(refusal(&e)),
    };
    let pairs = match web::Query::<Vec<(String, String)>>::from_query(req.query_string()) {
        Ok(p) => p.into_inner(),
        Err(_) => {
            return Ok(glance_error(
                StatusCode::BAD_REQUEST,
                "Invalid query string",
            ))
        }
    };
    let q = match ListQuery::parse(&pairs) {
        Ok(q) => q,
        Err(e) => return Ok(glance_error(StatusCode::BAD_REQUEST, &e.0)),
    };
    let images = state.images(&t.scope).await?;
    let all: Vec<Facts<'_>> = images.iter().map(|i| facts(i, &t.scope.tenant)).collect();
    let (page, full) = match glance::list(all, &q) {
        Ok(p) => p,
        Err(e) => return Ok(glance_error(StatusCode::BAD_REQUEST, &e.0)),
    };
    let raw = crate::domain::paging::Query::parse(req.query_string());
    let without_marker: Vec<&str> = req
        .query_string()
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("marker="))
        .collect();
    let first = if without_marker.is_empty() {
        "/v2/images".to_string()
    } else {
        format!("/v2/images?{}", without_marker.join("&"))
    };
    let mut body = json!({
        "images": page.iter().map(render).collect::<Vec<_>>(),
        "schema": "/v2/schemas/images",
        "first": first,
    });
    if let (true, Some(last)) = (full, page.last()) {
        body["next"] = json!(format!("/v2/images?{}", raw.next(q.limit, &last.image.id)));
    }
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /v2/images/{id}`: the bare image; 404 for anything else (names included:
/// clients look a name up here first).
pub async fn get_image(
    t: Result<Tenant, ComputeError>,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let t = match t {
        Ok(t) => t,
        Err(e) => return Ok(refusal(&e)),
    };
    let id = req.match_info().get("image_id").unwrap_or_default();
    let found = match state.catalog.image(id, &t.scope.region) {
        Some(i) => Some(i.clone()),
        None => state.snapshots.get(&t.scope, id).await?.map(|s| s.image()),
    };
    Ok(match found {
        Some(image) => HttpResponse::Ok().json(render(&facts(&image, &t.scope.tenant))),
        None => glance_error(
            StatusCode::NOT_FOUND,
            &format!("No image found with ID {id}"),
        ),
    })
}

fn image_schema() -> Value {
    json!({
        "name": "image",
        "properties": {
            "id": {"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
            "name": {"type": ["null", "string"], "maxLength": 255},
            "status": {"type": "string", "readOnly": true, "enum": ["queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"]},
            "visibility": {"type": "string", "enum": ["community", "public", "private", "shared"]},
            "protected": {"type": "boolean"},
            "os_hidden": {"type": "boolean"},
            "checksum": {"type": ["null", "string"], "readOnly": true, "maxLength": 32},
            "os_hash_algo": {"type": ["null", "string"], "readOnly": true, "maxLength": 64},
            "os_hash_value": {"type": ["null", "string"], "readOnly": true, "maxLength": 128},
            "owner": {"type": ["null", "string"], "maxLength": 255},
            "size": {"type": ["null", "integer"], "readOnly": true},
            "virtual_size": {"type": ["null", "integer"], "readOnly": true},
            "container_format": {"type": ["null", "string"], "enum": [null, "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]},
            "disk_format": {"type": ["null", "string"], "enum": [null, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]},
            "created_at": {"type": "string", "readOnly": true},
            "updated_at": {"type": "string", "readOnly": true},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
            "min_ram": {"type": "integer"},
            "min_disk": {"type": "integer"},
            "self": {"type": "string", "readOnly": true},
            "file": {"type": "string", "readOnly": true},
            "schema": {"type": "string", "readOnly": true}
        },
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"}
        ]
    })
}

async fn get_image_schema() -> HttpResponse {
    HttpResponse::Ok().json(image_schema())
}

async fn get_images_schema() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"}
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"}
        ]
    }))
}
