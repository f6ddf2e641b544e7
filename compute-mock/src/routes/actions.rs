//! `POST /servers/{id}/action`: reboot, rebuild, resize, confirmResize, revertResize,
//! changePassword, rescue, unrescue, createImage. Body checks run before the server
//! lookup, state checks inside the same atomic change as the effect (Nova's order).

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use common::json::Body;
use serde_json::{json, Value};

use super::request::{parse_json, seg, uuid_like, State, Tenant};
use super::wire::{host_id, json, server_detail};
use crate::domain::server::{
    generate_password, id_from_href, metadata_limit_message, parse_disk_config, parse_metadata,
    parse_name,
};
use crate::domain::status::{check_state, Settled, Shows, View};
use crate::error::ComputeError;
use crate::state::SnapshotRecord;

/// The state check of one action, with its name as Nova's 409 text writes it.
fn allowed(
    view: &View,
    action: &str,
    id: &str,
    vm_states: &[&str],
    task_states: &[Option<&str>],
) -> Result<(), ComputeError> {
    check_state(view, vm_states, task_states)
        .map_err(|c| ComputeError::conflict(c.message(action, id)))
}

/// `adminPass`: absent, or a string (Nova's schema has no null for it).
fn admin_pass(v: Option<&Value>) -> Result<Option<String>, ComputeError> {
    match v {
        None => Ok(None),
        Some(Value::String(p)) => Ok(Some(p.clone())),
        Some(_) => Err(ComputeError::bad_request("Invalid adminPass")),
    }
}

pub async fn act(
    t: Tenant,
    state: State,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, ComputeError> {
    let id = seg(&req, "server_id");
    let parsed = parse_json(&body.0)?;
    let Some((action, arg)) = parsed
        .as_ref()
        .and_then(Value::as_object)
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
    else {
        // Nova's schema holds one action per request; two would be done by half.
        return Err(ComputeError::bad_request("Malformed request body"));
    };
    match action.as_str() {
        "reboot" => reboot(&t, &state, &id, arg).await,
        "rebuild" => rebuild(&t, &state, &id, arg).await,
        "resize" => resize(&t, &state, &id, arg).await,
        "confirmResize" => confirm_resize(&t, &state, &id).await,
        "revertResize" => revert_resize(&t, &state, &id).await,
        "changePassword" => change_password(&t, &state, &id, arg).await,
        "rescue" => rescue(&t, &state, &id, arg).await,
        "unrescue" => unrescue(&t, &state, &id).await,
        "createImage" => create_image(&t, &state, &id, arg).await,
        other => Err(ComputeError::bad_request(format!(
            "There is no such action: {other}"
        ))),
    }
}

async fn reboot(
    t: &Tenant,
    state: &State,
    id: &str,
    arg: &Value,
) -> Result<HttpResponse, ComputeError> {
    let kind = match arg.get("type") {
        None | Some(Value::Null) => {
            return Err(ComputeError::bad_request(
                "Missing argument 'type' for reboot",
            ))
        }
        Some(Value::String(s)) => s.to_uppercase(),
        Some(_) => {
            return Err(ComputeError::bad_request(
                "Argument 'type' for reboot must be a string",
            ))
        }
    };
    let hard = match kind.as_str() {
        "HARD" => true,
        "SOFT" => false,
        _ => {
            return Err(ComputeError::bad_request(
                "Argument 'type' for reboot is not HARD or SOFT",
            ))
        }
    };
    let (soft_ms, hard_ms) = (
        state.settings.reboot_time_ms,
        state.settings.hard_reboot_time_ms,
    );
    state
        .mutate_server(&t.scope, id, |rec, view, now| {
            if hard {
                allowed(
                    view,
                    "reboot",
                    id,
                    &["active", "stopped", "paused", "suspended", "error"],
                    &[None, Some("rebooting"), Some("rebooting_hard")],
                )?;
                rec.life.start(Shows::HardReboot, now, hard_ms);
            } else {
                allowed(view, "reboot", id, &["active"], &[None, Some("rebooting")])?;
                rec.life.start(Shows::Reboot, now, soft_ms);
            }
            rec.updated_ms = now;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

async fn rebuild(
    t: &Tenant,
    state: &State,
    id: &str,
    arg: &Value,
) -> Result<HttpResponse, ComputeError> {
    let image = match arg.get("imageRef") {
        None | Some(Value::Null) => {
            return Err(ComputeError::bad_request(
                "Could not parse imageRef from request.",
            ))
        }
        Some(v) => {
            let r = v.as_str().map(id_from_href).unwrap_or_default();
            if !uuid_like(r) {
                return Err(ComputeError::bad_request("Invalid imageRef provided."));
            }
            r.to_string()
        }
    };
    let name = match arg.get("name").filter(|v| !v.is_null()) {
        Some(v) => Some(parse_name(Some(v)).map_err(ComputeError::bad_request)?),
        None => None,
    };
    let pass = admin_pass(arg.get("adminPass"))?.unwrap_or_else(generate_password);
    let metadata = match arg.get("metadata").filter(|v| !v.is_null()) {
        Some(m) => {
            if !m.is_object() {
                return Err(ComputeError::bad_request(
                    "Unable to parse metadata key/value pairs.",
                ));
            }
            let md = parse_metadata(m).map_err(ComputeError::from)?;
            if md.len() > state.settings.max_metadata_items {
                return Err(ComputeError::quota(metadata_limit_message(
                    state.settings.max_metadata_items,
                )));
            }
            Some(md)
        }
        None => None,
    };
    let disk = parse_disk_config(arg.get("OS-DCF:diskConfig").unwrap_or(&Value::Null))
        .map_err(ComputeError::bad_request)?;
    super::servers::check_personality(arg.get("personality"))?;
    if state.catalog.image(&image, &t.scope.region).is_none()
        && state.snapshots.get(&t.scope, &image).await?.is_none()
    {
        return Err(ComputeError::bad_request("Cannot find image for rebuild"));
    }
    let rebuild_ms = state.settings.rebuild_time_ms;
    state
        .mutate_server(&t.scope, id, |rec, view, now| {
            allowed(
                view,
                "rebuild",
                id,
                &["active", "stopped", "error"],
                &[None],
            )?;
            rec.image_id = image.clone();
            if let Some(n) = &name {
                rec.name = n.clone();
            }
            if let Some(md) = &metadata {
                rec.metadata = md.clone();
            }
            if let Some(d) = disk {
                rec.disk_auto = d;
            }
            rec.life.start(Shows::Rebuild, now, rebuild_ms);
            rec.updated_ms = now;
            Ok(())
        })
        .await?;
    let (rec, view) = state.load_server(&t.scope, id).await?;
    let host = host_id(&t.scope.tenant, &t.scope.region);
    let mut server =
        serde_json::to_value(server_detail(&rec, view, &t.links, &t.scope.tenant, &host))
            .unwrap_or_default();
    server["adminPass"] = json!(pass);
    Ok(HttpResponse::Accepted()
        .insert_header((LOCATION, t.links.versioned(&format!("servers/{id}"))))
        .json(json!({ "server": server })))
}

async fn resize(
    t: &Tenant,
    state: &State,
    id: &str,
    arg: &Value,
) -> Result<HttpResponse, ComputeError> {
    let flavor = match arg.get("flavorRef") {
        None | Some(Value::Null) => {
            return Err(ComputeError::bad_request(
                "Resize requests require 'flavorRef' attribute.",
            ))
        }
        Some(Value::String(s)) if !s.is_empty() => id_from_href(s).to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            return Err(ComputeError::bad_request(
                "Resize request has invalid 'flavorRef' attribute.",
            ))
        }
    };
    parse_disk_config(arg.get("OS-DCF:diskConfig").unwrap_or(&Value::Null))
        .map_err(ComputeError::bad_request)?;
    if state.catalog.flavor(&flavor, &t.scope.region).is_none() {
        return Err(ComputeError::bad_request(
            "Unable to locate requested flavor.",
        ));
    }
    let old = state
        .mutate_server(&t.scope, id, |rec, view, now| {
            allowed(view, "resize", id, &["active", "stopped"], &[None])?;
            if rec.flavor_id == flavor {
                return Err(ComputeError::bad_request(
                    "Resize requires a flavor change.",
                ));
            }
            let old = std::mem::replace(&mut rec.flavor_id, flavor.clone());
            rec.life.set(Settled::Resized {
                old_flavor: old.clone(),
            });
            rec.updated_ms = now;
            Ok(old)
        })
        .await?;
    swap_usage(t, state, &old, &flavor).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Moves quota usage from one flavor to another (resize and its revert).
async fn swap_usage(t: &Tenant, state: &State, from: &str, to: &str) -> Result<(), ComputeError> {
    state.release(&t.scope, state.usage_of(from)).await?;
    let mut add = state.usage_of(to);
    add.instances = 1;
    // The resize was accepted: count the new flavor even past the quota.
    state
        .usage
        .upsert(&t.scope, "usage", Default::default, |u| u.add(add))
        .await?;
    Ok(())
}

async fn confirm_resize(t: &Tenant, state: &State, id: &str) -> Result<HttpResponse, ComputeError> {
    state
        .mutate_server(&t.scope, id, |rec, view, now| {
            allowed(view, "confirmResize", id, &["resized"], &[None])?;
            rec.life.set(Settled::Active);
            rec.updated_ms = now;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn revert_resize(t: &Tenant, state: &State, id: &str) -> Result<HttpResponse, ComputeError> {
    let swapped = state
        .mutate_server(&t.scope, id, |rec, view, now| {
            allowed(view, "revertResize", id, &["resized"], &[None])?;
            let swapped = match &rec.life.settled {
                Settled::Resized { old_flavor } => {
                    let old = old_flavor.clone();
                    let new = std::mem::replace(&mut rec.flavor_id, old.clone());
                    Some((new, old))
                }
                _ => None,
            };
            rec.life.set(Settled::Active);
            rec.updated_ms = now;
            Ok(swapped)
        })
        .await?;
    if let Some((from, to)) = swapped {
        swap_usage(t, state, &from, &to).await?;
    }
    Ok(HttpResponse::Accepted().finish())
}

async fn change_password(
    t: &Tenant,
    state: &State,
    id: &str,
    arg: &Value,
) -> Result<HttpResponse, ComputeError> {
    match arg.get("adminPass") {
        None | Some(Value::Null) => {
            return Err(ComputeError::bad_request("No adminPass was specified"))
        }
        Some(Value::String(_)) => {}
        Some(_) => return Err(ComputeError::bad_request("Invalid adminPass")),
    }
    state
        .mutate_server(&t.scope, id, |_, view, _| {
            allowed(view, "changePassword", id, &["active"], &[None])
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

async fn rescue(
    t: &Tenant,
    state: &State,
    id: &str,
    arg: &Value,
) -> Result<HttpResponse, ComputeError> {
    // Nova's schema: an object, or null for "no options".
    if !(arg.is_object() || arg.is_null()) {
        return Err(ComputeError::bad_request(format!(
            "Invalid input for field/attribute rescue. Value: {arg}. {arg} is not of type 'object', 'null'"
        )));
    }
    let pass = admin_pass(arg.get("adminPass"))?.unwrap_or_else(generate_password);
    state
        .mutate_server(&t.scope, id, |rec, view, now| {
            allowed(view, "rescue", id, &["active", "stopped", "error"], &[None])?;
            rec.life.set(Settled::Rescued);
            rec.updated_ms = now;
            Ok(())
        })
        .await?;
    Ok(json(StatusCode::OK, &json!({ "adminPass": pass })))
}

async fn unrescue(t: &Tenant, state: &State, id: &str) -> Result<HttpResponse, ComputeError> {
    state
        .mutate_server(&t.scope, id, |rec, view, now| {
            allowed(view, "unrescue", id, &["rescued"], &[None])?;
            rec.life.set(Settled::Active);
            rec.updated_ms = now;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

async fn create_image(
    t: &Tenant,
    state: &State,
    id: &str,
    arg: &Value,
) -> Result<HttpResponse, ComputeError> {
    let name = match arg.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
        _ => {
            return Err(ComputeError::bad_request(
                "createImage entity requires name attribute",
            ))
        }
    };
    crate::domain::server::check_printable("name", &name).map_err(ComputeError::bad_request)?;
    if let Some(m) = arg.get("metadata").filter(|m| !m.is_null()) {
        let md = parse_metadata(m).map_err(|_| ComputeError::bad_request("Invalid metadata"))?;
        if md.len() > state.settings.max_metadata_items {
            return Err(ComputeError::forbidden("Image metadata limit exceeded"));
        }
    }
    let (rec, view) = state.load_server(&t.scope, id).await?;
    allowed(
        &view,
        "createImage",
        id,
        &["active", "stopped", "paused", "suspended"],
        &[None],
    )?;
    let flavor = state.catalog.any_flavor(&rec.flavor_id);
    let image_id = uuid::Uuid::new_v4().to_string();
    state
        .snapshots
        .insert(
            &t.scope,
            &image_id,
            SnapshotRecord {
                id: image_id.clone(),
                name,
                server: id.to_string(),
                min_ram: flavor.map_or(512, |f| f.ram),
                min_disk: flavor.map_or(20, |f| f.disk),
                created_ms: state.now_ms(),
            },
        )
        .await?;
    Ok(HttpResponse::Accepted()
        .insert_header((LOCATION, t.links.versioned(&format!("images/{image_id}"))))
        .finish())
}
