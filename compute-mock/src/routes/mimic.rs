//! Mimic's compute control routes, at the `cloudServersBehavior` catalog URL
//! `/mimic/{region}/v2/{tenant_id}`: `behaviors/creation` (register, delete) and
//! `attributes` (force statuses). No token is needed and bodies are read as JSON
//! whatever their Content-Type, as otter sends them.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use common::context::ServiceContext;
use common::json::Body;
use common::store::Scope;
use serde_json::{json, Value};

use super::request::{region_of, seg, State};
use super::wire::json;
use crate::domain::mimic::CREATION;
use crate::domain::status::Settled;
use crate::error::ComputeError;

pub fn scope() -> actix_web::Scope {
    web::scope("/mimic/{region}/v2/{tenant_id}")
        .route("/behaviors/creation", web::post().to(create_behavior))
        .route("/behaviors/creation/", web::post().to(create_behavior))
        .route(
            "/behaviors/creation/{id}",
            web::delete().to(delete_behavior),
        )
        .route("/attributes", web::post().to(set_attributes))
        .route("/attributes/", web::post().to(set_attributes))
}

fn scope_of(req: &HttpRequest, state: &State) -> Result<Scope, ComputeError> {
    Ok(Scope::new(seg(req, "tenant_id"), region_of(req, state)?))
}

async fn create_behavior(
    req: HttpRequest,
    state: State,
    ctx: web::Data<ServiceContext>,
    body: Body,
) -> Result<HttpResponse, ComputeError> {
    let scope = scope_of(&req, &state)?;
    let parsed: Value = serde_json::from_slice(&body.0)
        .map_err(|_| ComputeError::bad_request("Malformed request body"))?;
    let id = ctx
        .behaviors
        .register(&scope, &CREATION, &parsed)
        .await
        .map_err(|e| ComputeError::bad_request(e.to_string()))?;
    Ok(json(StatusCode::CREATED, &json!({ "id": id })))
}

async fn delete_behavior(
    req: HttpRequest,
    state: State,
    ctx: web::Data<ServiceContext>,
) -> Result<HttpResponse, ComputeError> {
    let scope = scope_of(&req, &state)?;
    if ctx
        .behaviors
        .delete(&scope, &CREATION, &seg(&req, "id"))
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ComputeError::not_found(crate::error::NOT_FOUND))
    }
}

/// `{"status": {"<server id>": "<STATUS>", ...}}`: every id must name a server of the
/// scope, or nothing changes (400). A forced status sticks: no deadline overrides it.
async fn set_attributes(
    req: HttpRequest,
    state: State,
    body: Body,
) -> Result<HttpResponse, ComputeError> {
    let scope = scope_of(&req, &state)?;
    let parsed: Value = serde_json::from_slice(&body.0)
        .map_err(|_| ComputeError::bad_request("Malformed request body"))?;
    let statuses = parsed
        .get("status")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ComputeError::bad_request("status must be an object of server id to status")
        })?;
    let mut wanted = Vec::with_capacity(statuses.len());
    for (id, s) in statuses {
        let s = s
            .as_str()
            .ok_or_else(|| ComputeError::bad_request(format!("status of {id} must be a string")))?;
        wanted.push((id.clone(), s.to_string()));
    }
    let now = state.now_ms();
    state
        .servers
        .transact(&scope, |rows| {
            if let Some((id, _)) = wanted.iter().find(|(id, _)| !rows.contains(id)) {
                return Err(ComputeError::bad_request(format!("No such server: {id}")));
            }
            for (id, status) in wanted {
                if let Some(rec) = rows.get_mut(&id) {
                    rec.life.set(match status.as_str() {
                        "ACTIVE" => Settled::Active,
                        "ERROR" => Settled::Error,
                        _ => Settled::Forced(status),
                    });
                    rec.updated_ms = now;
                }
            }
            Ok(())
        })
        .await??;
    Ok(HttpResponse::Created().finish())
}
