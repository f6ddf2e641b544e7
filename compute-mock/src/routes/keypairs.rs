//! `os-keypairs`: create (import or generate), list, show, delete.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use common::json::Body;
use serde_json::{json, Value};

use super::request::{parse_json, seg, State, Tenant};
use super::wire::{iso, json};
use crate::domain::keypair::{self, KeypairRecord};
use crate::error::ComputeError;

fn not_found(name: &str, user: &str) -> ComputeError {
    ComputeError::not_found(format!("Keypair {name} not found for user {user}"))
}

pub async fn create_keypair(
    t: Tenant,
    state: State,
    body: Body,
) -> Result<HttpResponse, ComputeError> {
    let parsed = parse_json(&body.0)?;
    let kp = parsed
        .as_ref()
        .and_then(|v| v.get("keypair"))
        .and_then(Value::as_object)
        .ok_or_else(|| ComputeError::bad_request("Invalid request body"))?;
    let name = match kp.get("name") {
        None | Some(Value::Null) => return Err(ComputeError::bad_request("Invalid request body")),
        Some(Value::String(n)) => n.clone(),
        Some(_) => {
            return Err(ComputeError::bad_request(
                "Keypair data is invalid: Keypair name must be string and between 1 and 255 characters long",
            ))
        }
    };
    keypair::check_name(&name).map_err(ComputeError::bad_request)?;
    keypair::check_type(kp.get("type")).map_err(ComputeError::bad_request)?;
    let (public_key, private_key) = match kp.get("public_key").filter(|v| !v.is_null()) {
        Some(Value::String(k)) => (k.clone(), None),
        Some(_) => {
            return Err(ComputeError::bad_request(
                "Keypair data is invalid: failed to generate fingerprint",
            ))
        }
        None => {
            let (public, private) = keypair::generate();
            (public, Some(private))
        }
    };
    let fingerprint = keypair::fingerprint(&public_key).ok_or_else(|| {
        ComputeError::bad_request("Keypair data is invalid: failed to generate fingerprint")
    })?;
    let user_id = t.user_id(&state);
    let rec = KeypairRecord {
        name: name.clone(),
        public_key,
        fingerprint,
        user_id,
        created_ms: state.now_ms(),
    };
    let max = state.settings.max_keypairs;
    let stored = rec.clone();
    state
        .keypairs
        .transact(&t.scope, |rows| {
            if rows.contains(&name) {
                return Err(ComputeError::conflict(format!(
                    "Key pair '{name}' already exists."
                )));
            }
            if rows.len() >= max {
                return Err(ComputeError::forbidden(
                    "Quota exceeded, too many key pairs.",
                ));
            }
            rows.put(&name, stored);
            Ok(())
        })
        .await??;
    let mut out = json!({
        "name": rec.name,
        "public_key": rec.public_key,
        "fingerprint": rec.fingerprint,
        "user_id": rec.user_id,
    });
    if let Some(p) = private_key {
        out["private_key"] = json!(p);
    }
    Ok(json(StatusCode::OK, &json!({ "keypair": out })))
}

pub async fn list_keypairs(t: Tenant, state: State) -> Result<HttpResponse, ComputeError> {
    let list: Vec<Value> = state
        .keypairs
        .list(&t.scope)
        .await?
        .into_iter()
        .map(|k| {
            json!({"keypair": {"fingerprint": k.fingerprint, "name": k.name, "public_key": k.public_key}})
        })
        .collect();
    Ok(json(StatusCode::OK, &json!({ "keypairs": list })))
}

pub async fn get_keypair(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let name = seg(&req, "name");
    let k = state
        .keypairs
        .get(&t.scope, &name)
        .await?
        .ok_or_else(|| not_found(&name, &t.user_id(&state)))?;
    let created = iso(k.created_ms).trim_end_matches('Z').to_string() + ".000000";
    Ok(json(
        StatusCode::OK,
        &json!({"keypair": {
            "name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint,
            "user_id": k.user_id, "id": 1, "created_at": created, "updated_at": null,
            "deleted": false, "deleted_at": null,
        }}),
    ))
}

pub async fn delete_keypair(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let name = seg(&req, "name");
    match state.keypairs.remove(&t.scope, &name).await? {
        Some(_) => Ok(HttpResponse::Accepted().finish()),
        None => Err(not_found(&name, &t.user_id(&state))),
    }
}
