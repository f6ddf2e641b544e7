//! Version documents, in the shape keystoneauth and gophercloud read
//! (`versions.values[]` with `id`, `status`, `links[rel=self]`).

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::request::base_url;

fn v3_entry(base: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

fn v2_entry(self_href: String) -> Value {
    json!({
        "id": "v2.0",
        "status": "stable",
        "updated": "2014-04-17T00:00:00Z",
        "links": [
            {"rel": "self", "href": self_href},
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v2.0+json"}],
    })
}

/// `GET /`: 300 Multiple Choices, preferring v3.
pub async fn list_versions(req: HttpRequest) -> HttpResponse {
    let base = base_url(&req);
    HttpResponse::MultipleChoices()
        .insert_header((LOCATION, format!("{base}/v3/")))
        .json(json!({"versions": {"values": [v3_entry(&base), v2_entry(format!("{base}/v2.0/"))]}}))
}

/// `GET /v2.0` (and `/identity/v2.0`): links point back where the client came from.
pub async fn get_v2(req: HttpRequest) -> HttpResponse {
    let base = base_url(&req);
    let path = req.path().trim_end_matches('/');
    HttpResponse::Ok().json(json!({"version": v2_entry(format!("{base}{path}/"))}))
}

/// `GET /v3`.
pub async fn get_v3(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().json(json!({"version": v3_entry(&base_url(&req))}))
}
