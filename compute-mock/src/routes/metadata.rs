//! Server metadata: the whole set (`GET`, `PUT` replaces, `POST` merges) and one item
//! (`GET`, `PUT`, `DELETE /metadata/{key}`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use common::json::Body;
use serde_json::{json, Map, Value};

use super::request::{parse_json, seg, State, Tenant};
use super::wire::json;
use crate::domain::server::{check_item, metadata_limit_message, parse_metadata, Metadata};
use crate::domain::status::{check_state, View};
use crate::error::ComputeError;

const ITEM_NOT_FOUND: &str = "Metadata item was not found";

fn writable(view: &View, action: &str, id: &str) -> Result<(), ComputeError> {
    check_state(view, &["active", "paused", "suspended", "stopped"], &[None])
        .map_err(|c| ComputeError::conflict(c.message(action, id)))
}

pub async fn list_metadata(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let (rec, _) = state.load_server(&t.scope, &seg(&req, "server_id")).await?;
    Ok(json(StatusCode::OK, &json!({ "metadata": rec.metadata })))
}

/// The `metadata` object of a set-wide body, with Nova's texts for each way it is wrong.
fn metadata_body(bytes: &[u8]) -> Result<Metadata, ComputeError> {
    let parsed = parse_json(bytes)?;
    let m = parsed
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|o| o.get("metadata"))
        .ok_or_else(|| ComputeError::bad_request("Malformed request body"))?;
    if !m.is_object() {
        return Err(ComputeError::bad_request(
            "Malformed request body. metadata must be object",
        ));
    }
    parse_metadata(m).map_err(ComputeError::from)
}

async fn write_all(
    t: Tenant,
    state: State,
    req: HttpRequest,
    body: Body,
    replace: bool,
) -> Result<HttpResponse, ComputeError> {
    let id = seg(&req, "server_id");
    let items = metadata_body(&body.0)?;
    let limit = state.settings.max_metadata_items;
    let result = state
        .mutate_server(&t.scope, &id, |rec, view, now| {
            writable(view, "update metadata", &id)?;
            let mut next = if replace {
                Metadata::new()
            } else {
                rec.metadata.clone()
            };
            next.extend(items.iter().map(|(k, v)| (k.clone(), v.clone())));
            if next.len() > limit {
                return Err(ComputeError::quota(metadata_limit_message(limit)));
            }
            rec.metadata = next.clone();
            rec.updated_ms = now;
            Ok(next)
        })
        .await?;
    Ok(json(StatusCode::OK, &json!({ "metadata": result })))
}

pub async fn replace_metadata(
    t: Tenant,
    state: State,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, ComputeError> {
    write_all(t, state, req, body, true).await
}

pub async fn merge_metadata(
    t: Tenant,
    state: State,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, ComputeError> {
    write_all(t, state, req, body, false).await
}

pub async fn get_metadata_item(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let (rec, _) = state.load_server(&t.scope, &seg(&req, "server_id")).await?;
    let key = seg(&req, "key");
    let value = rec
        .metadata
        .get(&key)
        .ok_or_else(|| ComputeError::not_found(ITEM_NOT_FOUND))?;
    Ok(json(StatusCode::OK, &json!({ "meta": { key: value } })))
}

pub async fn set_metadata_item(
    t: Tenant,
    state: State,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, ComputeError> {
    let id = seg(&req, "server_id");
    let key = seg(&req, "key");
    let parsed = parse_json(&body.0)?;
    let meta: &Map<String, Value> = match parsed
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|o| o.get("meta"))
    {
        None => return Err(ComputeError::bad_request("Malformed request body")),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(ComputeError::bad_request(
                "Malformed request body. meta item must be object",
            ))
        }
    };
    let Some(value) = meta.get(&key) else {
        return Err(ComputeError::bad_request("Request body and URI mismatch"));
    };
    if meta.len() > 1 {
        return Err(ComputeError::bad_request(
            "Request body contains too many items",
        ));
    }
    let value = value.as_str().ok_or_else(|| {
        ComputeError::bad_request("Invalid metadata: The input is not a string or unicode")
    })?;
    check_item(&key, value).map_err(ComputeError::from)?;
    let limit = state.settings.max_metadata_items;
    state
        .mutate_server(&t.scope, &id, |rec, view, now| {
            writable(view, "update metadata", &id)?;
            if !rec.metadata.contains_key(&key) && rec.metadata.len() >= limit {
                return Err(ComputeError::quota(metadata_limit_message(limit)));
            }
            rec.metadata.insert(key.clone(), value.to_string());
            rec.updated_ms = now;
            Ok(())
        })
        .await?;
    Ok(json(StatusCode::OK, &json!({ "meta": { key: value } })))
}

pub async fn delete_metadata_item(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let id = seg(&req, "server_id");
    let key = seg(&req, "key");
    state
        .mutate_server(&t.scope, &id, |rec, view, now| {
            if !rec.metadata.contains_key(&key) {
                return Err(ComputeError::not_found(ITEM_NOT_FOUND));
            }
            writable(view, "delete metadata", &id)?;
            rec.metadata.remove(&key);
            rec.updated_ms = now;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
