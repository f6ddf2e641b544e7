//! lb-mock's state and its repositories: one table of balancer records (nodes, VIPs and
//! features inside the record) partitioned by tenant and region, the per-tenant rate
//! windows, the queues of deleted balancers, Compute's view of the servers behind nodes,
//! and the remembered renderings of balancers.
//!
//! Every change of a balancer is one `transact` on its record ([`Balancers::mutate`]),
//! so limits hold under concurrency.

use std::collections::VecDeque;

use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};

use common::context::ServiceContext;
use common::render::RenderCache;
use common::store::{Rows, Scope, Store, StoreError, Table};

use crate::compute::{self, Asker, ComputeCache, ServerStatuses};
use crate::configuration::LbSettings;
use crate::domain::balancer::VipSpec;
use crate::domain::model::{node_status, LoadBalancer, NodeStatus, Vip};
use crate::domain::status::{deletable, LbStatus, Observed, StatusState, Timings};
use crate::error::LbError;

/// The text of a read of a DELETED balancer's parts.
pub const MARKED_DELETED: &str = "The loadbalancer is marked as deleted.";

/// The key of the one queue of deleted balancers of each scope.
const DELETED_QUEUE: &str = "deleted";

/// The deleted balancers of one scope, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeletedBalancers {
    pub ids: VecDeque<u64>,
}

/// Requests of one tenant in the current minute of the virtual clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateWindow {
    pub start_ms: i64,
    pub count: u64,
}

/// Everything a remembered rendering of a balancer was made from, with its nodes'
/// statuses judged: while it is unchanged, so is the rendering.
#[derive(Debug, PartialEq)]
pub struct DetailStamp {
    /// The balancer's store revision: equal revisions, equal records.
    pub revision: u64,
    pub seen: Observed,
    pub region: String,
    pub node_statuses: Vec<NodeStatus>,
}

/// lb-mock's own state, built once and shared by every worker.
pub struct State {
    pub lb: LbSettings,
    pub balancers: Table<LoadBalancer>,
    pub rate: Table<RateWindow>,
    /// Deleted balancers per scope, oldest first, so their records can be forgotten.
    pub deleted: Table<DeletedBalancers>,
    pub compute: ComputeCache,
    /// `GET /loadbalancers/{id}` answers, reused while everything they show is unchanged.
    pub rendered: RenderCache<u64, DetailStamp>,
    store: Store,
}

impl State {
    pub fn new(lb: LbSettings, store: &Store) -> State {
        State {
            lb,
            balancers: store.table("lb_loadbalancers"),
            rate: store.table("lb_rate_windows"),
            deleted: store.table("lb_deleted"),
            compute: ComputeCache::default(),
            rendered: RenderCache::default(),
            store: store.clone(),
        }
    }

    pub fn timings(&self) -> Timings {
        Timings {
            build_ms: self.lb.build_time_ms,
            pending_update_ms: self.lb.pending_update_time_ms,
            pending_delete_ms: self.lb.pending_delete_time_ms,
            deleted_visible_ms: self.lb.deleted_visible_time_ms,
        }
    }

    /// The balancers of one tenant and region, as seen at `now_ms`.
    pub fn balancers<'a>(&'a self, scope: &'a Scope, now_ms: i64) -> Balancers<'a> {
        Balancers {
            state: self,
            scope,
            now_ms,
        }
    }

    /// Counts a request of `tenant` against `lb.rate_limit_per_minute` (Repose's limit);
    /// over it, the 413 that says when the minute ends.
    pub async fn count_request(&self, tenant: &str, now_ms: i64) -> Result<(), LbError> {
        let limit = self.lb.rate_limit_per_minute;
        if limit == 0 {
            return Ok(());
        }
        let verdict = self
            .rate
            .upsert(
                &Scope::tenant(tenant),
                "minute",
                || RateWindow {
                    start_ms: now_ms,
                    count: 0,
                },
                |w| {
                    if !(now_ms >= w.start_ms && now_ms < w.start_ms + 60_000) {
                        *w = RateWindow {
                            start_ms: now_ms,
                            count: 0,
                        };
                    }
                    w.count += 1;
                    (w.count > limit).then_some(w.start_ms + 60_000)
                },
            )
            .await?;
        match verdict {
            None => Ok(()),
            Some(until_ms) => Err(LbError::RateLimited {
                retry_after_s: ((until_ms - now_ms).max(0) as u64).div_ceil(1000),
                until: common::clock::iso_seconds(
                    chrono::DateTime::from_timestamp_millis(until_ms).unwrap_or_default(),
                ),
            }),
        }
    }

    /// Compute's view of the servers of the scope's tenant, when `lb` has nodes to judge.
    pub async fn server_statuses(
        &self,
        ctx: &ServiceContext,
        scope: &Scope,
        asker: Asker<'_>,
        now_ms: i64,
        lb: &LoadBalancer,
    ) -> Option<ServerStatuses> {
        if lb.nodes.is_empty() {
            return None;
        }
        self.compute
            .statuses(
                ctx,
                &scope.tenant,
                &scope.region,
                asker,
                now_ms,
                self.lb.compute_cache_ms,
            )
            .await
    }

    /// Every tenant's balancers as the API shows them now: status, virtual IPs, and nodes
    /// with condition and status (Compute asked about the servers behind them, with a
    /// token this stack signs for the tenant).
    pub async fn summary(&self, ctx: &ServiceContext) -> Result<serde_json::Value, StoreError> {
        let tables = ctx.store.snapshot().await?;
        let now = ctx.store.clock().now().timestamp_millis();
        let timings = self.timings();
        let mut scopes = Vec::new();
        for part in tables["lb_loadbalancers"].as_array().into_iter().flatten() {
            let tenant = part["tenant"].as_str().unwrap_or_default();
            let region = part["region"].as_str().unwrap_or_default();
            let token = summary_token(ctx, tenant, now);
            let mut balancers = Vec::new();
            for r in part["records"].as_array().into_iter().flatten() {
                let Ok(lb) = serde_json::from_value::<LoadBalancer>(r["value"].clone()) else {
                    continue;
                };
                let Some(seen) = lb.observe(timings, now) else {
                    continue;
                };
                let servers = if lb.nodes.is_empty() {
                    None
                } else {
                    self.compute
                        .statuses(
                            ctx,
                            tenant,
                            region,
                            compute::Asker::Console(&token),
                            now,
                            self.lb.compute_cache_ms,
                        )
                        .await
                };
                let nodes: Vec<_> = lb
                    .nodes
                    .iter()
                    .map(|n| {
                        let server = servers.as_ref().and_then(|s| s.get(&n.address));
                        let status = node_status(
                            n,
                            server.map(String::as_str),
                            now,
                            self.lb.health_monitor_online_after_ms,
                        );
                        serde_json::json!({
                            "id": n.id,
                            "address": n.address,
                            "port": n.port,
                            "condition": n.condition.as_str(),
                            "status": status.as_str(),
                        })
                    })
                    .collect();
                balancers.push(serde_json::json!({
                    "id": lb.id,
                    "name": lb.name,
                    "status": seen.status.as_str(),
                    "nodes": nodes,
                }));
            }
            scopes.push(serde_json::json!({
                "tenant": tenant, "region": region, "balancers": balancers,
            }));
        }
        Ok(serde_json::json!({ "scopes": scopes }))
    }
}

/// A short-lived token of `tenant`, signed as this stack signs them: how the summary asks
/// Compute about the tenant's servers.
fn summary_token(ctx: &ServiceContext, tenant: &str, now_ms: i64) -> String {
    ctx.auth.codec().issue(&common::token::Claims::on_behalf_of(
        tenant,
        "understudy-console",
        now_ms / 1000,
        Some(300),
    ))
}

/// The store key of balancer `id`.
pub fn key(id: u64) -> String {
    id.to_string()
}

/// The balancers of one tenant and region, read and changed at one instant of the
/// virtual clock.
pub struct Balancers<'a> {
    state: &'a State,
    scope: &'a Scope,
    now_ms: i64,
}

impl Balancers<'_> {
    /// The balancer and its status now; 404 when unknown or no longer visible.
    pub async fn load(&self, id: u64) -> Result<(LoadBalancer, Observed), LbError> {
        self.load_revised(id).await.map(|(lb, seen, _)| (lb, seen))
    }

    /// [`Balancers::load`], with the balancer's store revision (for remembered renderings).
    pub async fn load_revised(&self, id: u64) -> Result<(LoadBalancer, Observed, u64), LbError> {
        let (lb, revision) = self
            .state
            .balancers
            .get_map(self.scope, &key(id), |lb, rev| (lb.clone(), rev))
            .await?
            .ok_or_else(LbError::lb_not_found)?;
        let seen = lb
            .observe(self.state.timings(), self.now_ms)
            .ok_or_else(LbError::lb_not_found)?;
        Ok((lb, seen, revision))
    }

    /// [`Balancers::load`], but 410 for a DELETED balancer (reads of its parts).
    pub async fn load_live(&self, id: u64) -> Result<LoadBalancer, LbError> {
        let (lb, seen) = self.load(id).await?;
        if seen.status == LbStatus::Deleted {
            return Err(LbError::new(StatusCode::GONE, MARKED_DELETED));
        }
        Ok(lb)
    }

    /// Runs `f` on the balancer and its current status with exclusive access: checks and
    /// writes inside `f` are atomic. 404 when the balancer is unknown or gone.
    pub async fn mutate<T>(
        &self,
        id: u64,
        f: impl FnMut(&mut LoadBalancer, LbStatus) -> Result<T, LbError>,
    ) -> Result<T, LbError> {
        self.mutate_or(id, LbError::lb_not_found, f).await
    }

    /// [`Balancers::mutate`], answering `missing()` when the balancer is unknown or gone.
    pub async fn mutate_or<T>(
        &self,
        id: u64,
        missing: impl Fn() -> LbError,
        mut f: impl FnMut(&mut LoadBalancer, LbStatus) -> Result<T, LbError>,
    ) -> Result<T, LbError> {
        let timings = self.state.timings();
        let now = self.now_ms;
        self.state
            .balancers
            .update(self.scope, &key(id), |lb| {
                let status = lb.observe(timings, now).ok_or_else(&missing)?.status;
                f(lb, status)
            })
            .await?
            .unwrap_or_else(|| Err(missing()))
    }

    /// Hands every balancer record of the scope to `f`, oldest first (deleted and no
    /// longer visible ones too: `f` observes their status).
    pub async fn visit(&self, mut f: impl FnMut(&LoadBalancer)) -> Result<(), LbError> {
        self.state
            .balancers
            .page(self.scope, None, usize::MAX, |lb| {
                f(lb);
                false
            })
            .await?;
        Ok(())
    }

    /// Ids for new records, from the store's counter `counter`.
    pub async fn next_ids(&self, counter: &str, n: usize) -> Result<Vec<u64>, LbError> {
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            ids.push(self.state.store.next_id(counter).await?);
        }
        Ok(ids)
    }

    /// One id for a new record, from the store's counter `counter`.
    pub async fn next_id(&self, counter: &str) -> Result<u64, LbError> {
        Ok(self.state.store.next_id(counter).await?)
    }

    /// Stores the new balancer `lb` with the virtual IPs `vips` asks for (new ones take
    /// `vip_ids` in order; shared ones are found on the scope's other balancers), within
    /// the balancer and IPv6 limits; the balancer as stored.
    pub async fn create(
        &self,
        mut lb: LoadBalancer,
        vips: &[VipSpec],
        vip_ids: Vec<u64>,
    ) -> Result<LoadBalancer, LbError> {
        let id = lb.id;
        let mut vip_ids = vip_ids.into_iter();
        let now = self.now_ms;
        let timings = self.state.timings();
        let limit = self.state.lb.loadbalancer_limit;
        let ipv6_limit = self.state.lb.ipv6_vip_limit;
        let shares = vips.iter().any(|v| matches!(v, VipSpec::Shared(_)));
        let mut step = |rows: &mut Rows<'_, LoadBalancer>| {
            // Fewer records than the limit (deleted ones included) cannot reach it: only
            // then is the partition scanned, so creates stay O(1) under a high limit.
            if limit > 0 && rows.len() >= limit {
                let mut live = 0;
                let mut gone = Vec::new();
                for (key, other) in rows.iter() {
                    match other.observe(timings, now) {
                        None => gone.push(key.to_string()),
                        Some(s) if s.status != LbStatus::Deleted => live += 1,
                        Some(_) => {}
                    }
                }
                for key in gone {
                    rows.remove(&key);
                }
                if live >= limit {
                    return Err(LbError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!("Load balancer limit reached. Limit is set to '{limit}'. Contact support if you would like to increase your limit."),
                        ));
                }
            }
            for v in vips {
                match v {
                    VipSpec::New { kind, v6 } => lb.vips.push(Vip {
                        id: vip_ids.next().unwrap_or_default(),
                        kind: *kind,
                        v6: *v6,
                    }),
                    VipSpec::Shared(vid) => {
                        let found = rows
                            .iter()
                            .flat_map(|(_, other)| other.vips.iter())
                            .find(|x| x.id == *vid)
                            .copied();
                        match found {
                            Some(x) => lb.vips.push(x),
                            None => {
                                return Err(LbError::bad_request(format!(
                                    "Must provide valid virtual ips, {vid} could not be found."
                                )))
                            }
                        }
                    }
                }
            }
            if lb.vips.iter().filter(|v| v.v6).count() > ipv6_limit {
                return Err(LbError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "Your load balancer cannot have more than {ipv6_limit} IPv6 virtual ips."
                    ),
                ));
            }
            let vip_addresses: Vec<String> = lb.vips.iter().map(Vip::address).collect();
            if lb.nodes.iter().any(|n| vip_addresses.contains(&n.address)) {
                return Err(LbError::bad_request(crate::domain::nodes::VIP_AS_NODE));
            }
            rows.insert(&key(id), lb.clone())?;
            Ok(lb.clone())
        };
        // Only a shared VIP (found on the scope's other balancers) or a partition as large
        // as the balancer limit needs every balancer read; otherwise the step reads just
        // the new id, so a create costs the same however many balancers and nodes the
        // tenant has.
        let balancers = &self.state.balancers;
        let quick = balancers
            .transact_some(self.scope, &[key(id)], |rows, total| {
                let needs_all = shares || (limit > 0 && total >= limit);
                (!needs_all).then(|| step(rows))
            })
            .await?;
        match quick {
            Some(created) => created,
            None => balancers.transact(self.scope, step).await?,
        }
    }

    /// DELETE of one or several balancers, all or nothing: ACTIVE, ERROR and SUSPENDED ones
    /// go to PENDING_DELETE; unknown, PENDING_* and DELETED ones are "could not be found"
    /// (as observed on the real API), BUILD ones "are immutable". Once the deletion is
    /// stored it is answered as done: should noting the balancers in the deleted queue, or
    /// forgetting older ones, fail afterwards, that is logged (a later deletion forgets
    /// what the queue holds; a balancer the queue missed is forgotten only by a reset, or
    /// once it is no longer shown, by a create at the balancer limit that succeeds: never
    /// with `loadbalancer_limit = 0`).
    pub async fn delete(&self, ids: &[u64]) -> Result<(), LbError> {
        let timings = self.state.timings();
        let now = self.now_ms;
        let keys: Vec<String> = ids.iter().map(|id| key(*id)).collect();
        self.state
            .balancers
            .transact_some(self.scope, &keys, |rows, _| {
                let mut missing = Vec::new();
                let mut immutable = Vec::new();
                for id in ids {
                    let status = rows
                        .get(&key(*id))
                        .and_then(|lb| lb.observe(timings, now))
                        .map(|s| s.status);
                    match status {
                        Some(s) if deletable(s) => {}
                        Some(LbStatus::Build) => immutable.push(id.to_string()),
                        _ => missing.push(id.to_string()),
                    }
                }
                if !missing.is_empty() {
                    return Err(LbError::bad_request(format!(
                        "Must provide valid load balancers: {}  could not be found.",
                        missing.join(",")
                    )));
                }
                if !immutable.is_empty() {
                    return Err(LbError::bad_request(format!(
                        "Must provide valid load balancers: {}  are immutable and could not be processed.",
                        immutable.join(",")
                    )));
                }
                for id in ids {
                    if let Some(lb) = rows.get_mut(&key(*id)) {
                        let at = now.max(lb.state.since_ms);
                        lb.updated_ms = at;
                        lb.state = StatusState::new(LbStatus::PendingDelete, at);
                    }
                }
                Ok(())
            })
            .await??;
        if let Err(e) = self.forget_deleted(ids).await {
            tracing::warn!(error = %e, "noting deleted balancers failed; the deletion stands");
        }
        Ok(())
    }

    /// Notes the balancers just deleted and forgets the records of deleted balancers the API
    /// no longer shows (past `deleted_visible_time_ms`, 404 already), or beyond
    /// `lb.max_deleted_kept` per scope, oldest first: memory stays bounded at any churn, and
    /// each deletion forgets at most what it pushes out.
    async fn forget_deleted(&self, ids: &[u64]) -> Result<(), LbError> {
        let cap = self.state.lb.max_deleted_kept;
        let timings = self.state.timings();
        let now = self.now_ms;
        let queue = self
            .state
            .deleted
            .upsert(self.scope, DELETED_QUEUE, Default::default, |q| {
                q.ids.extend(ids.iter().copied());
                q.ids.iter().copied().collect::<Vec<u64>>()
            })
            .await?;
        // The queue is walked oldest first, a few more records than the cap pushes out at a
        // time, each batch in one step that reads just its balancers.
        let mut gone = Vec::new();
        let mut left = queue.len();
        let mut next = 0;
        while next < queue.len() {
            let batch = &queue[next..queue.len().min(next + left.saturating_sub(cap) + 8)];
            let keys: Vec<String> = batch.iter().map(|id| key(*id)).collect();
            let stopped = self
                .state
                .balancers
                .transact_some(self.scope, &keys, |rows, _| {
                    for (id, key) in batch.iter().zip(&keys) {
                        let invisible = rows
                            .get(key)
                            .is_none_or(|lb| lb.observe(timings, now).is_none());
                        if !(invisible || left > cap) {
                            return true;
                        }
                        rows.remove(key);
                        gone.push(*id);
                        left -= 1;
                    }
                    false
                })
                .await?;
            if stopped {
                break;
            }
            next += batch.len();
        }
        if !gone.is_empty() {
            self.state
                .deleted
                .update(self.scope, DELETED_QUEUE, |q| {
                    q.ids.retain(|id| !gone.contains(id))
                })
                .await?;
        }
        Ok(())
    }
}
