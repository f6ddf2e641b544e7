//! The handlers' toolkit: the state they are given, request bodies read as Nova reads
//! them, JSON answers, path segments. Handlers import from here, never from each other.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::tenant::Tenant;
use super::views;
use crate::error::ComputeError;
use crate::state::ComputeState;

pub(crate) type State = web::Data<ComputeState>;

/// Parses a request body that must be an object wrapping `key`: no body is Nova's 422,
/// bad JSON its 400, a body without the `key` object 422.
pub(crate) fn wrapped_body<'a>(
    parsed: &'a Option<Value>,
    key: &str,
) -> Result<&'a serde_json::Map<String, Value>, ComputeError> {
    parsed
        .as_ref()
        .and_then(|v| v.get(key))
        .and_then(Value::as_object)
        .ok_or_else(ComputeError::unprocessable)
}

/// The body as JSON; `None` when empty; 400 "Malformed request body" when not JSON.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Option<Value>, ComputeError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|_| ComputeError::bad_request("Malformed request body"))
}

/// A JSON answer; actix sets `Content-Type: application/json`.
pub(crate) fn json(status: StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

/// A JSON answer sent as the parts it was assembled from.
pub(crate) fn json_parts(parts: common::render::JsonParts) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(parts)
}

/// `{"server": ...}` of one server rendering.
pub(crate) fn server_answer(server: bytes::Bytes) -> HttpResponse {
    json_parts(common::render::JsonParts::new(
        b"{\"server\":",
        vec![server],
        bytes::Bytes::from_static(b"}"),
    ))
}

/// `{"server": ...}` of one live server (just written: rendered afresh).
pub(crate) fn one_server(
    t: &Tenant,
    rec: &crate::domain::server::ServerRecord,
    view: crate::domain::status::View,
) -> HttpResponse {
    let base = views::RenderBase::of(t);
    server_answer(bytes::Bytes::from(views::render_server(rec, &view, &base)))
}

/// A named path segment (`server_id`, `key`, ...), decoded.
pub(crate) fn seg(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_string()
}

/// True when `s` has the shape of a UUID (Nova's `uuidutils.is_uuid_like`).
pub(crate) fn uuid_like(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}
