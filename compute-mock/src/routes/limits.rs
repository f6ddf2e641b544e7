//! `GET /limits` (rate and absolute, with real usage) and `GET /os-quota-sets/{tenant}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::request::{seg, State, Tenant};
use super::wire::{iso, json};
use crate::error::ComputeError;

/// Nova's default rate rules, each with its full allowance left.
fn rate(now_ms: i64) -> Value {
    let next = iso(now_ms);
    let limit = |verb: &str| json!({"verb": verb, "value": 120, "remaining": 120, "unit": "MINUTE", "next-available": next});
    json!([
        {"uri": "*", "regex": ".*", "limit": [limit("POST"), limit("PUT"), limit("DELETE")]},
        {"uri": "*/servers", "regex": "^/servers", "limit": [limit("POST")]},
        {"uri": "*changes-since*", "regex": ".*changes-since.*", "limit": [limit("GET")]},
    ])
}

pub async fn get_limits(t: Tenant, state: State) -> Result<HttpResponse, ComputeError> {
    let quota = state.settings.quota_for(&t.scope.tenant);
    let used = state.used(&t.scope).await?;
    let s = &state.settings;
    Ok(json(
        StatusCode::OK,
        &json!({"limits": {
            "rate": rate(state.now_ms()),
            "absolute": {
                "maxServerMeta": s.max_metadata_items,
                "maxImageMeta": s.max_metadata_items,
                "maxPersonality": 5,
                "maxPersonalitySize": 1000,
                "maxTotalCores": quota.cores,
                "maxTotalInstances": quota.instances,
                "maxTotalRAMSize": quota.ram_mb,
                "maxTotalKeypairs": s.max_keypairs,
                "maxTotalPrivateNetworks": 10,
                "maxSecurityGroups": -1,
                "maxSecurityGroupRules": -1,
                "maxTotalFloatingIps": -1,
                "totalCoresUsed": used.cores,
                "totalInstancesUsed": used.instances,
                "totalRAMUsed": used.ram_mb,
                "totalPrivateNetworksUsed": 0,
                "totalSecurityGroupsUsed": 0,
                "totalFloatingIpsUsed": 0,
            },
        }}),
    ))
}

pub async fn get_quota_set(
    t: Tenant,
    state: State,
    req: HttpRequest,
) -> Result<HttpResponse, ComputeError> {
    let tenant = seg(&req, "quota_tenant");
    // A project reads its own quota; another's is for administrators (Nova's policy).
    if tenant != t.scope.tenant {
        return Err(ComputeError::forbidden(
            "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.",
        ));
    }
    let quota = state.settings.quota_for(&tenant);
    Ok(json(
        StatusCode::OK,
        &json!({"quota_set": {
            "id": tenant,
            "instances": quota.instances,
            "cores": quota.cores,
            "ram": quota.ram_mb,
            "key_pairs": state.settings.max_keypairs,
            "metadata_items": state.settings.max_metadata_items,
            "injected_files": 5,
            "injected_file_content_bytes": 1000,
            "injected_file_path_bytes": 255,
            "security_groups": -1,
            "security_group_rules": -1,
            "floating_ips": -1,
            "fixed_ips": -1,
        }}),
    ))
}
