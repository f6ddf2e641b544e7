//! Version documents: `GET /` and `GET /v2` (also under a region prefix).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::request::{region_of, State};
use super::wire::json;
use crate::error::ComputeError;

fn v2(root: &str) -> Value {
    json!({
        "id": "v2.0",
        "status": "CURRENT",
        "version": "",
        "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [
            {"rel": "self", "href": format!("{root}/v2/")},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
        ],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"},
        ],
    })
}

fn root(req: &HttpRequest) -> String {
    let origin = common::request_origin(req);
    match req.match_info().get("region") {
        Some(r) => format!("{origin}/{r}"),
        None => origin,
    }
}

pub async fn get_versions(req: HttpRequest) -> HttpResponse {
    let root = root(&req);
    json(StatusCode::OK, &json!({ "versions": [v2(&root)] }))
}

pub async fn get_version(req: HttpRequest, state: State) -> Result<HttpResponse, ComputeError> {
    region_of(&req, &state)?;
    let root = root(&req);
    Ok(json(StatusCode::OK, &json!({ "version": v2(&root) })))
}
