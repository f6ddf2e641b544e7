//! Node status from Compute: a node whose address belongs to a Compute server that is not
//! ACTIVE is OFFLINE.
//!
//! Compute is found through the catalog (`compute` type, the balancer's region; beside a
//! real Identity, the catalog of the caller's token). Its
//! answer (address → server status) is cached per tenant and region for
//! `lb.compute_cache_ms`, so a GET stays fast; a missing or unreachable Compute is cached
//! too, as "no information" (every node ONLINE as far as Compute is concerned). Requests
//! that miss the cache together wait for one lookup (one per tenant and region at a time),
//! so forty balancers read at once cost Compute one listing, not forty.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::context::ServiceContext;

/// The longest a node-status lookup (catalog and server list together) may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_millis(1000);

/// Who asks Compute about a tenant's servers: a client's request (with its token, if it
/// sent one), or the console (with a token it signed; neither faults nor the journal see
/// that lookup).
#[derive(Clone, Copy)]
pub enum Asker<'a> {
    Client(Option<&'a str>),
    Console(&'a str),
}

/// Address → Compute server status (`ACTIVE`, `BUILD`, `ERROR`, ...).
pub type ServerStatuses = Arc<HashMap<String, String>>;

/// Answers by tenant, then region: looked up with borrowed keys, so a hit allocates nothing.
#[derive(Default)]
pub struct ComputeCache {
    entries: Mutex<HashMap<String, HashMap<String, Entry>>>,
    /// The lookup under way for a tenant and region, if any.
    lookups: Mutex<HashMap<(String, String), Lookup>>,
}

/// One tenant and region's turn to ask Compute (held while a lookup runs).
type Lookup = std::sync::Weak<tokio::sync::Mutex<()>>;

#[derive(Clone)]
struct Entry {
    wall: Instant,
    virtual_ms: i64,
    statuses: Option<ServerStatuses>,
}

impl ComputeCache {
    /// The statuses of the tenant's servers in `region`, or `None` when Compute is not
    /// listed or does not answer. `now_ms` is the virtual clock: moving it also expires
    /// the cache, so a test that advances time sees new server states.
    pub async fn statuses(
        &self,
        ctx: &ServiceContext,
        tenant: &str,
        region: &str,
        asker: Asker<'_>,
        now_ms: i64,
        ttl_ms: u64,
    ) -> Option<ServerStatuses> {
        let ttl = Duration::from_millis(ttl_ms);
        if let Some(hit) = self.fresh(tenant, region, now_ms, ttl_ms) {
            return hit;
        }
        let lookup = self.lookup_of(tenant, region);
        let _turn = lookup.lock().await;
        // Another request may have looked while this one waited.
        if let Some(hit) = self.fresh(tenant, region, now_ms, ttl_ms) {
            return hit;
        }
        // Bounded, so an Identity or Compute that does not answer cannot hold a GET for long.
        let statuses = tokio::time::timeout(LOOKUP_TIMEOUT, fetch(ctx, tenant, region, asker))
            .await
            .ok()
            .flatten()
            .map(Arc::new);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 10_000 {
            entries.retain(|_, regions| {
                regions.retain(|_, e| e.wall.elapsed() < ttl);
                !regions.is_empty()
            });
        }
        entries.entry(tenant.to_string()).or_default().insert(
            region.to_string(),
            Entry {
                wall: Instant::now(),
                virtual_ms: now_ms,
                statuses: statuses.clone(),
            },
        );
        statuses
    }
}

impl ComputeCache {
    /// The cached answer, if it is still current in wall and virtual time.
    fn fresh(
        &self,
        tenant: &str,
        region: &str,
        now_ms: i64,
        ttl_ms: u64,
    ) -> Option<Option<ServerStatuses>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(tenant)?.get(region)?;
        let current = e.wall.elapsed() < Duration::from_millis(ttl_ms)
            && now_ms.abs_diff(e.virtual_ms) < ttl_ms;
        current.then(|| e.statuses.clone())
    }

    fn lookup_of(&self, tenant: &str, region: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        let key = (tenant.to_string(), region.to_string());
        if let Some(l) = lookups.get(&key).and_then(std::sync::Weak::upgrade) {
            return l;
        }
        if lookups.len() >= 4096 {
            lookups.retain(|_, w| w.strong_count() > 0);
        }
        let l = Arc::new(tokio::sync::Mutex::new(()));
        lookups.insert(key, Arc::downgrade(&l));
        l
    }
}

async fn fetch(
    ctx: &ServiceContext,
    tenant: &str,
    region: &str,
    asker: Asker<'_>,
) -> Option<HashMap<String, String>> {
    let (token, for_console) = match asker {
        Asker::Client(t) => (t, false),
        Asker::Console(t) => (Some(t), true),
    };
    let catalog = match ctx.catalog.for_caller(token).await {
        Ok(c) => c,
        Err(why) => {
            tracing::debug!(%why, "no catalog: node status ignores compute");
            return None;
        }
    };
    // By Rackspace's name first, then by type (a real Keystone's catalog names it `nova`).
    let url = catalog
        .url_for("cloudServersOpenStack", region, tenant, true)
        .or_else(|| catalog.url_for("compute", region, tenant, true))?;
    let mut req = ctx
        .http
        .get(format!(
            "{}/servers/detail?limit=1000",
            url.trim_end_matches('/')
        ))
        .timeout(Duration::from_secs(2));
    if let Some(t) = token {
        req = req.header("X-Auth-Token", t);
    }
    if for_console {
        req = req.header(common::context::CONSOLE_HEADER, "1");
    }
    let res = match req.send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            tracing::debug!(status = %r.status(), "compute refused the server list");
            return None;
        }
        Err(e) => {
            tracing::debug!(error = %e, "compute is unreachable: node status ignores it");
            return None;
        }
    };
    let body: Value = res.json().await.ok()?;
    Some(statuses_of(&body))
}

/// Address → status from a `servers/detail` body.
pub fn statuses_of(body: &Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let servers = body.get("servers").and_then(Value::as_array);
    for s in servers.into_iter().flatten() {
        let status = s.get("status").and_then(Value::as_str).unwrap_or("ACTIVE");
        let networks = s.get("addresses").and_then(Value::as_object);
        for ips in networks.into_iter().flat_map(|n| n.values()) {
            for ip in ips.as_array().into_iter().flatten() {
                if let Some(addr) = ip.get("addr").and_then(Value::as_str) {
                    out.insert(addr.to_string(), status.to_string());
                }
            }
        }
        for key in ["accessIPv4", "accessIPv6"] {
            if let Some(addr) = s.get(key).and_then(Value::as_str).filter(|a| !a.is_empty()) {
                out.entry(addr.to_string())
                    .or_insert_with(|| status.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_of_every_network_maps_to_its_server_status() {
        let body = serde_json::json!({"servers": [
            {"status": "BUILD", "addresses": {"private": [{"addr": "10.0.0.1", "version": 4}],
                                              "public": [{"addr": "1.2.3.4", "version": 4}]}},
            {"status": "ACTIVE", "addresses": {"private": [{"addr": "10.0.0.2", "version": 4}]}}
        ]});
        let m = statuses_of(&body);
        assert_eq!(m.get("10.0.0.1").map(String::as_str), Some("BUILD"));
        assert_eq!(m.get("1.2.3.4").map(String::as_str), Some("BUILD"));
        assert_eq!(m.get("10.0.0.2").map(String::as_str), Some("ACTIVE"));
    }
}
