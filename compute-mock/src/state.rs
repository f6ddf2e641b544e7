//! The compute mock's repositories, built once and shared by every worker.

use common::store::{Scope, Store, StoreError, Table};

use crate::configuration::ComputeSettings;
use crate::domain::catalog::{Catalog, Image};
use crate::domain::keypair::KeypairRecord;
use crate::domain::quota::Usage;
use crate::domain::server::ServerRecord;
use crate::domain::status::View;
use crate::error::ComputeError;

/// The key of the one usage record of each scope.
const USAGE: &str = "usage";

/// A deleted server, kept in its scope's queue of deletions (oldest first, the order the
/// table keeps) until the API stops showing it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeletedServer {
    /// When it was deleted (ms of the virtual clock).
    pub at_ms: i64,
}

pub struct ComputeState {
    pub settings: ComputeSettings,
    pub catalog: Catalog,
    pub servers: Table<ServerRecord>,
    pub usage: Table<Usage>,
    pub keypairs: Table<KeypairRecord>,
    /// Images made by `createImage`, per tenant and region.
    pub snapshots: Table<SnapshotRecord>,
    /// Deleted servers per scope, one record each, so their records can be forgotten in
    /// order.
    pub deleted: Table<DeletedServer>,
    store: Store,
}

/// A stored snapshot image.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotRecord {
    pub id: String,
    pub name: String,
    pub server: String,
    pub min_ram: u64,
    pub min_disk: u64,
    pub created_ms: i64,
}

impl SnapshotRecord {
    pub fn image(&self) -> Image {
        Image {
            id: self.id.clone(),
            name: self.name.clone(),
            min_ram: self.min_ram,
            min_disk: self.min_disk,
            os_type: String::new(),
            os_distro: String::new(),
            regions: Vec::new(),
            server: Some(self.server.clone()),
            created_ms: self.created_ms,
        }
    }
}

impl ComputeState {
    pub fn new(settings: ComputeSettings, store: &Store) -> ComputeState {
        ComputeState {
            catalog: Catalog::new(&settings.flavors, &settings.images),
            settings,
            servers: store.table("compute_servers"),
            usage: store.table("compute_usage"),
            keypairs: store.table("compute_keypairs"),
            snapshots: store.table("compute_snapshots"),
            deleted: store.table("compute_deleted_servers"),
            store: store.clone(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.store.clock().now().timestamp_millis()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Reserves `req` against the scope's quota atomically; Nova's text when it does not fit.
    pub async fn reserve(
        &self,
        scope: &Scope,
        req: Usage,
    ) -> Result<Result<(), String>, StoreError> {
        let quota = self.settings.quota_for(&scope.tenant);
        self.usage
            .upsert(scope, USAGE, Usage::default, |used| {
                crate::domain::quota::check(&quota, used, &req)?;
                used.add(req);
                Ok(())
            })
            .await
    }

    /// Gives back usage (delete, failed create, resize back).
    pub async fn release(&self, scope: &Scope, req: Usage) -> Result<(), StoreError> {
        self.usage
            .update(scope, USAGE, |u| u.sub(req))
            .await
            .map(|_| ())
    }

    pub async fn used(&self, scope: &Scope) -> Result<Usage, StoreError> {
        Ok(self.usage.get(scope, USAGE).await?.unwrap_or_default())
    }

    /// The address counter of one tenant and region.
    pub async fn next_address(&self, scope: &Scope) -> Result<u64, StoreError> {
        self.store
            .next_id(&format!(
                "compute/addresses/{}/{}",
                scope.tenant, scope.region
            ))
            .await
    }

    /// Notes that server `id` was deleted at `now`, and forgets the deleted servers the
    /// API no longer shows: gone (`delete_time_ms`) for longer than `deleted_retention_ms`,
    /// or beyond the `max_deleted_kept` newest. The queue is one record per deletion; the
    /// push that notes a deletion also answers the queue's length and oldest entry, so a
    /// deletion that forgets nothing is one step. When the queue overflows, the oldest
    /// sixteenth of it is forgotten at once (their servers removed in one step, then their
    /// entries in another), so the work of forgetting is spread over that many deletions.
    /// A deletion that passes the cap trims before it answers. Deletions in flight together
    /// see different lengths, and only those that pass the cap by one, or by one more
    /// sixteenth each time, trim (when every trim runs, the others have nothing to forget).
    /// So once the deletions in flight have answered, the queue holds no more than
    /// `max_deleted_kept`; should a trim not run (its request went away) or fail, up to a
    /// sixteenth more, until the next deletion that trims (a failed trim leaves its
    /// entries, for that one to forget). A failed push is this call's error; a failed
    /// trim is logged, not answered: the deletion itself is done.
    pub async fn forget_deleted(
        &self,
        scope: &Scope,
        id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let keep_ms = (self.settings.delete_time_ms + self.settings.deleted_retention_ms)
            .min(i64::MAX as u64) as i64;
        let expired = |d: &DeletedServer| now.saturating_sub(d.at_ms) > keep_ms;
        let cap = self.settings.max_deleted_kept;
        let (count, oldest) = self
            .deleted
            .push(scope, id, DeletedServer { at_ms: now })
            .await?;
        let over = count > cap;
        let trims = over && (count - cap - 1).is_multiple_of((cap / 16).max(1));
        if !trims && !oldest.is_some_and(|(_, d)| expired(&d)) {
            return Ok(());
        }
        let floor = cap - cap / 16;
        if let Err(e) = self
            .trim_deleted(scope, |left, d| (over && left > floor) || expired(d))
            .await
        {
            tracing::warn!(error = %e, "forgetting deleted servers failed; the next trim retries");
        }
        Ok(())
    }

    /// Forgets the oldest deleted servers `pick` takes: the servers first, then their
    /// entries, so that should either step fail, the entries are still there to be
    /// picked again.
    async fn trim_deleted(
        &self,
        scope: &Scope,
        pick: impl FnMut(usize, &DeletedServer) -> bool,
    ) -> Result<(), StoreError> {
        let gone: Vec<String> = self
            .deleted
            .oldest(scope, pick)
            .await?
            .into_iter()
            .map(|(gone, _)| gone)
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        self.servers
            .transact_some(scope, &gone, |rows, _| {
                for id in &gone {
                    rows.remove(id);
                }
            })
            .await?;
        self.deleted
            .transact_some(scope, &gone, |rows, _| {
                for id in &gone {
                    rows.remove(id);
                }
            })
            .await
    }

    /// The server's record and what it shows now; 404 when unknown or gone.
    pub async fn load_server(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<(ServerRecord, View), ComputeError> {
        let now = self.now_ms();
        let rec = self
            .servers
            .get(scope, id)
            .await?
            .ok_or_else(|| ComputeError::instance_not_found(id))?;
        let view = rec.life.view(now, rec.updated_ms);
        if view.gone {
            return Err(ComputeError::instance_not_found(id));
        }
        Ok((rec, view))
    }

    /// Changes one live server atomically: `f` sees the record (its finished transitions
    /// folded in) and what it shows now.
    pub async fn mutate_server<R>(
        &self,
        scope: &Scope,
        id: &str,
        mut f: impl FnMut(&mut ServerRecord, &View, i64) -> Result<R, ComputeError>,
    ) -> Result<R, ComputeError> {
        let now = self.now_ms();
        self.servers
            .update(scope, id, |rec| {
                if rec.life.is_gone(now) {
                    return Err(ComputeError::instance_not_found(id));
                }
                if let Some(done) = rec.life.settle(now) {
                    rec.updated_ms = rec.updated_ms.max(done);
                }
                let view = rec.life.view(now, rec.updated_ms);
                f(rec, &view, now)
            })
            .await?
            .unwrap_or_else(|| Err(ComputeError::instance_not_found(id)))
    }

    /// The images a tenant sees in a region: the catalog's and its own snapshots.
    pub async fn images(&self, scope: &Scope) -> Result<Vec<Image>, StoreError> {
        let mut images: Vec<Image> = self.catalog.images_in(&scope.region).cloned().collect();
        images.extend(self.snapshots.list(scope).await?.iter().map(|s| s.image()));
        Ok(images)
    }

    /// Every tenant's servers as the API shows them now (status, addresses): what
    /// `GET /_understudy/v1/summary` and the console show.
    pub async fn summary(&self) -> Result<serde_json::Value, StoreError> {
        let tables = self.store.snapshot().await?;
        let now = self.now_ms();
        let mut scopes = Vec::new();
        for part in tables["compute_servers"].as_array().into_iter().flatten() {
            let mut servers = Vec::new();
            for r in part["records"].as_array().into_iter().flatten() {
                let Ok(rec) = serde_json::from_value::<ServerRecord>(r["value"].clone()) else {
                    continue;
                };
                if rec.life.is_gone(now) {
                    continue;
                }
                let view = rec.life.view(now, rec.updated_ms);
                let (private, public, v6) = crate::domain::server::addresses(rec.addr);
                servers.push(serde_json::json!({
                    "id": rec.id,
                    "name": rec.name,
                    "status": view.status,
                    "task_state": view.task_state,
                    "addresses": [private.to_string(), public.to_string(), v6.to_string()],
                }));
            }
            scopes.push(serde_json::json!({
                "tenant": part["tenant"],
                "region": part["region"],
                "servers": servers,
            }));
        }
        Ok(serde_json::json!({ "scopes": scopes }))
    }

    /// The usage a server of `flavor_id` counts for.
    pub fn usage_of(&self, flavor_id: &str) -> Usage {
        let f = self.catalog.any_flavor(flavor_id);
        Usage {
            instances: 1,
            cores: f.map_or(0, |f| f.vcpus as i64),
            ram_mb: f.map_or(0, |f| f.ram as i64),
        }
    }
}
