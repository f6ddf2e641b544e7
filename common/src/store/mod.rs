//! State behind one abstraction: typed tables of records, counters, the journal's log and
//! the clock, in the backend chosen in settings.
//!
//! Handlers talk to each mock's state (its repositories, built once per process), the
//! state talks to [`Table`]s, and a table talks to the backend:
//!
//! - `memory` (the default): one process's state, behind one lock per table.
//! - `redis`: every replica of a service, and the three services of a stack, share one
//!   Redis ([`redis`]). Keys are namespaced per stack (`store.namespace`) and per service,
//!   so several stacks share one Redis and a reset clears only its own keys.
//!
//! The contract both backends keep (checked by one conformance suite,
//! `common/tests/store.rs`):
//! - Reads and writes of **one record** ([`Table::get_map`], [`Table::update`],
//!   [`Table::upsert`], [`Table::insert`], [`Table::remove`]) touch that record only.
//! - A **multi-record** operation ([`Table::transact`]) runs its closure with a
//!   backend-neutral view of one partition ([`Rows`]) under that partition's lock; every
//!   single-record write of the partition takes the same lock. The closure runs exactly
//!   once (a lock, not optimistic retries: see ARCHITECTURE.md), so what it returns may
//!   be used outside; on Redis it sees a copy of the whole partition, so it is kept for
//!   what must be atomic over several records (quotas over records, node limits,
//!   batch deletes).
//! - **Revisions**, counters and table versions come from the backend: a revision names
//!   one state of one record and is never reused, a table version changes with every
//!   write to the table, both across processes, so a cache kept beside them (compiled
//!   fault rules, rendered records) is reused only while the backend says it is current.
//! - Records live in partitions named by a [`Scope`] (tenant and region), so a tenant can
//!   be reset alone and tenants never share a partition.
//! - A backend that cannot answer gives [`StoreError::Unavailable`]: every mock answers
//!   it with 503 in its API's own format.

mod memory;
mod model;
pub mod redis;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, ClockChange};

pub use model::{
    ClockError, Image, PartitionImage, Record, RestoreError, Rows, Scope, StoreError,
    SURVIVES_RESET,
};
use model::{Loaded, Write};

/// Settings of the state store: `[store]`, `backend` names the variant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum StoreSettings {
    /// This process's memory: state ends with the process, replicas share nothing.
    #[default]
    Memory,
    /// One Redis shared by every replica and service of a stack.
    Redis(redis::RedisSettings),
}

/// Handle on the whole state of one mock (shared by its replicas with the Redis backend).
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
    clock: Clock,
}

enum Backend {
    Memory(memory::MemoryBackend),
    Redis(redis::RedisBackend),
}

impl Store {
    pub fn from_settings(settings: &StoreSettings, service: &str) -> Result<Store, StoreError> {
        Store::from_settings_with_clock(settings, service, Clock::default())
    }

    /// The store of `service` (its keys' namespace on a shared backend) that reads
    /// `clock`: how the launcher gives its three mocks one clock object.
    pub fn from_settings_with_clock(
        settings: &StoreSettings,
        service: &str,
        clock: Clock,
    ) -> Result<Store, StoreError> {
        let backend = match settings {
            StoreSettings::Memory => Backend::Memory(memory::MemoryBackend::default()),
            StoreSettings::Redis(r) => Backend::Redis(redis::RedisBackend::new(r, service)?),
        };
        Ok(Store {
            backend: Arc::new(backend),
            clock,
        })
    }

    pub fn memory() -> Store {
        Store {
            backend: Arc::new(Backend::Memory(memory::MemoryBackend::default())),
            clock: Clock::default(),
        }
    }

    /// The virtual clock as this process last read it. With a shared backend the request
    /// pipeline refreshes it from the store first ([`Store::sync_clock`]).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Whether replicas and services share this state through the backend.
    pub fn is_shared(&self) -> bool {
        matches!(&*self.backend, Backend::Redis(_))
    }

    /// Names the clock this store reads: equal ids, one clock (the launcher's three
    /// mocks in memory; every mock of a stack on one Redis namespace).
    pub fn clock_id(&self) -> &str {
        match &*self.backend {
            Backend::Memory(_) => self.clock.id(),
            Backend::Redis(r) => r.clock_id(),
        }
    }

    /// Reads the stack's clock from a shared backend into this process's clock. Nothing
    /// to do in memory.
    pub async fn sync_clock(&self) -> Result<(), StoreError> {
        if let Backend::Redis(r) = &*self.backend {
            let state = r.clock_state().await?;
            // A state the backend holds was checked when it was written.
            let _ = self.clock.set_state(state);
        }
        Ok(())
    }

    /// Changes the clock: in this process, and in a shared backend atomically against
    /// every other replica's change. Returns the new `now`.
    pub async fn change_clock(&self, change: ClockChange) -> Result<DateTime<Utc>, ClockError> {
        match &*self.backend {
            Backend::Memory(_) => Ok(self.clock.change(&change)?),
            Backend::Redis(r) => {
                let state = r.change_clock(change).await?;
                Ok(self.clock.set_state(state)?)
            }
        }
    }

    /// The table called `name`. Asking twice for one name gives the same table; asking
    /// for one name with two record types is a programming error and panics in tests.
    pub fn table<T: Record>(&self, name: &'static str) -> Table<T> {
        match &*self.backend {
            Backend::Memory(m) => Table {
                inner: TableInner::Memory(m.table(name)),
            },
            Backend::Redis(r) => Table {
                inner: TableInner::Redis(r.table(name)),
            },
        }
    }

    /// The next value of a named counter, starting at 1; never handed out twice, across
    /// replicas too.
    pub async fn next_id(&self, counter: &str) -> Result<u64, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.next_id(counter)),
            Backend::Redis(r) => r.next_id(counter).await,
        }
    }

    /// The current value of a named counter (0 if never counted).
    pub async fn counter(&self, counter: &str) -> Result<u64, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.counter(counter)),
            Backend::Redis(r) => r.counter(counter).await,
        }
    }

    /// An id that names this state: two mocks with the same id share one store (replicas
    /// of a service on one Redis), so a stack-wide control call must reach only one.
    pub fn id(&self) -> &str {
        match &*self.backend {
            Backend::Memory(m) => &m.id,
            Backend::Redis(r) => r.id(),
        }
    }

    /// Whether the backend answers; why not when it does not (for `/ready`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Redis(r) => r.ping().await,
        }
    }

    /// Forgets every record and counter but revocations ([`SURVIVES_RESET`]). The clock
    /// is left alone, and so are revisions and table versions (never reused).
    pub async fn reset(&self) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Memory(m) => m.reset(None),
            Backend::Redis(r) => r.reset(None).await?,
        }
        Ok(())
    }

    /// Forgets every record of one tenant, in every table and region.
    pub async fn reset_tenant(&self, tenant: &str) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Memory(m) => m.reset(Some(tenant)),
            Backend::Redis(r) => r.reset(Some(tenant)).await?,
        }
        Ok(())
    }

    /// Every record of every table, by table and scope: a snapshot for the control API.
    pub async fn snapshot(&self) -> Result<serde_json::Value, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.snapshot()),
            Backend::Redis(r) => r.snapshot().await,
        }
    }

    /// Every counter and its value (part of a snapshot: a restored state hands out the
    /// ids that come next, never one already used).
    pub async fn counters(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.counters()),
            Backend::Redis(r) => r.counters().await,
        }
    }

    /// Replaces the whole state with `image` (what [`Store::snapshot`] and
    /// [`Store::counters`] gave): revocations included, nothing of the state before
    /// left. Every record is checked first: a table this mock does not have, or a record
    /// its table cannot hold, is refused with nothing changed.
    pub async fn restore(&self, image: &Image) -> Result<(), RestoreError> {
        match &*self.backend {
            Backend::Memory(m) => {
                m.check(image)?;
                m.restore(image);
            }
            Backend::Redis(r) => {
                r.check(image)?;
                r.restore(image).await?;
            }
        }
        Ok(())
    }

    /// The shared log behind the journal, when the backend keeps one.
    pub(crate) fn redis(&self) -> Option<&redis::RedisBackend> {
        match &*self.backend {
            Backend::Memory(_) => None,
            Backend::Redis(r) => Some(r),
        }
    }
}

/// A typed table of records, partitioned by [`Scope`], ordered by insertion.
#[derive(Clone)]
pub struct Table<T: Record> {
    inner: TableInner<T>,
}

#[derive(Clone)]
enum TableInner<T: Record> {
    Memory(Arc<memory::MemoryTable<T>>),
    Redis(redis::RedisTable<T>),
}

impl<T: Record> Table<T> {
    pub async fn get(&self, scope: &Scope, id: &str) -> Result<Option<T>, StoreError> {
        self.get_map(scope, id, |v, _| v.clone()).await
    }

    /// Adds a record; fails with [`StoreError::Exists`] if the id is taken.
    pub async fn insert(&self, scope: &Scope, id: &str, value: T) -> Result<(), StoreError> {
        match &self.inner {
            TableInner::Memory(t) => t.transact(scope, |rows| rows.insert(id, value)),
            TableInner::Redis(t) => t.write_one(scope, id, Some(&value), true).await,
        }
    }

    /// Adds or replaces a record.
    pub async fn put(&self, scope: &Scope, id: &str, value: T) -> Result<(), StoreError> {
        match &self.inner {
            TableInner::Memory(t) => {
                t.transact(scope, |rows| rows.put(id, value));
                Ok(())
            }
            TableInner::Redis(t) => t.write_one(scope, id, Some(&value), false).await,
        }
    }

    /// Changes one record atomically; `None` when there is no such record. `f` may run
    /// more than once (on Redis, again on a fresh read when another writer changed the
    /// record meanwhile): only its last run's record is kept and its answer returned, so
    /// `f` changes nothing but the record.
    pub async fn update<R>(
        &self,
        scope: &Scope,
        id: &str,
        mut f: impl FnMut(&mut T) -> R,
    ) -> Result<Option<R>, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.transact(scope, |rows| rows.get_mut(id).map(f))),
            TableInner::Redis(t) => t.modify(scope, id, |slot| slot.as_mut().map(&mut f)).await,
        }
    }

    /// Changes one record atomically, creating it with `default()` first when absent. As
    /// in [`Table::update`], `f` (and `default`) may run more than once.
    pub async fn upsert<R>(
        &self,
        scope: &Scope,
        id: &str,
        default: impl Fn() -> T,
        mut f: impl FnMut(&mut T) -> R,
    ) -> Result<R, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.transact(scope, |rows| {
                if !rows.contains(id) {
                    rows.put(id, default());
                }
                rows.get_mut(id).map(f)
            }))
            .and_then(|r| r.ok_or_else(|| StoreError::Backend("upsert lost its row".into()))),
            TableInner::Redis(t) => {
                t.modify(scope, id, |slot| f(slot.get_or_insert_with(&default)))
                    .await
            }
        }
    }

    pub async fn remove(&self, scope: &Scope, id: &str) -> Result<Option<T>, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.transact(scope, |rows| rows.remove(id))),
            TableInner::Redis(t) => t.remove(scope, id).await,
        }
    }

    /// Runs `f` once with exclusive access to one partition: checks and writes inside it
    /// are atomic against every other writer of the partition, in every replica (quota
    /// checks over records, node limits, batch deletes). Prefer the single-record
    /// operations: on a shared backend this one reads the whole partition.
    pub async fn transact<R>(
        &self,
        scope: &Scope,
        f: impl FnOnce(&mut Rows<'_, T>) -> R,
    ) -> Result<R, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.transact(scope, f)),
            TableInner::Redis(t) => t.transact(scope, f).await,
        }
    }

    /// [`Table::transact`] over only the records named in `ids`: `f` sees those that exist
    /// (and any it adds), and how many records the whole partition holds. Atomic against
    /// every other writer of the partition, in every replica, like `transact`, but it reads
    /// just the named records, so a step about a few records of a large partition costs
    /// the same however large it is. `Rows::len` and `Rows::iter` see only the loaded
    /// records, and `Rows::insert` knows only of them: name every id the step may add.
    pub async fn transact_some<R>(
        &self,
        scope: &Scope,
        ids: &[String],
        f: impl FnOnce(&mut Rows<'_, T>, usize) -> R,
    ) -> Result<R, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.transact(scope, |rows| {
                let total = rows.len();
                let picked = ids
                    .iter()
                    .filter_map(|id| rows.get(id).map(|v| (id.clone(), v.clone())))
                    .collect();
                let mut loaded = Loaded::new(picked);
                let out = f(&mut Rows::new(&mut loaded), total);
                for w in loaded.writes() {
                    match w {
                        Write::Delete(id) => {
                            rows.remove(id);
                        }
                        Write::Put(id, v) => rows.put(id, v.clone()),
                    }
                }
                out
            })),
            TableInner::Redis(t) => t.transact_some(scope, ids, f).await,
        }
    }

    /// Adds `value` as the partition's newest record ([`StoreError::Exists`] when the id is
    /// taken) and answers, from the same atomic step, how many records the partition holds
    /// now and its oldest one: the one round trip a bounded queue needs to learn whether
    /// [`Table::oldest`] has anything to pick.
    pub async fn push(
        &self,
        scope: &Scope,
        id: &str,
        value: T,
    ) -> Result<(usize, Option<(String, T)>), StoreError> {
        match &self.inner {
            TableInner::Memory(t) => t.transact(scope, |rows| {
                rows.insert(id, value)?;
                let oldest = rows
                    .iter()
                    .next()
                    .map(|(id, v)| (id.to_string(), v.clone()));
                Ok((rows.len(), oldest))
            }),
            TableInner::Redis(t) => t.push(scope, id, &value).await,
        }
    }

    /// A partition's oldest records while `pick(left, oldest)` says so, where `left` counts
    /// the records from the one asked about to the newest; stops at the first one it does
    /// not pick. Nothing is removed. What it reads is one moment of the partition, in
    /// every replica (no writer changes it meanwhile), and only the records it picks and the
    /// one it stops at: a bounded queue (Compute's deleted servers) costs the same however
    /// long it is. A queue that forgets what this picks removes it afterwards, what the
    /// records stand for first: should a step fail, the records are still there to be
    /// picked again. Readers at once each pick a prefix of the same order; when a prefix
    /// ends where `left` says, each leaves the newest records it was asked to keep, so
    /// removing what all of them picked still leaves those of the latest read. The picked
    /// records, oldest first.
    pub async fn oldest(
        &self,
        scope: &Scope,
        pick: impl FnMut(usize, &T) -> bool,
    ) -> Result<Vec<(String, T)>, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.transact(scope, |rows| rows.oldest(pick))),
            TableInner::Redis(t) => t.oldest(scope, pick).await,
        }
    }

    /// All records of a partition, oldest first.
    pub async fn list(&self, scope: &Scope) -> Result<Vec<T>, StoreError> {
        self.page(scope, None, usize::MAX, |_| true).await
    }

    /// Up to `limit` records that satisfy `keep`, oldest first, starting after the record
    /// with id `after` (which must exist: [`StoreError::MarkerNotFound`] otherwise).
    pub async fn page(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
        keep: impl FnMut(&T) -> bool,
    ) -> Result<Vec<T>, StoreError> {
        self.page_map(scope, after, limit, keep, |v, _| v.clone())
            .await
    }

    /// [`Table::page`], handing back what `map` makes of each record and its revision
    /// instead of a copy of it (a rendering, an id), so a large page copies no records.
    /// A record's *revision* changes whenever it may have changed (every write access),
    /// and is never reused: equal revisions, equal records.
    pub async fn page_map<R>(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
        keep: impl FnMut(&T) -> bool,
        map: impl FnMut(&T, u64) -> R,
    ) -> Result<Vec<R>, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => t.page_map(scope, after, limit, keep, map),
            TableInner::Redis(t) => t.page_map(scope, after, limit, keep, map).await,
        }
    }

    /// What `f` makes of one record and its revision, without copying it; `None` when
    /// there is no such record.
    pub async fn get_map<R>(
        &self,
        scope: &Scope,
        id: &str,
        f: impl FnOnce(&T, u64) -> R,
    ) -> Result<Option<R>, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.get_map(scope, id, f)),
            TableInner::Redis(t) => t.get_map(scope, id, f).await,
        }
    }

    pub async fn count(&self, scope: &Scope) -> Result<usize, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.count(scope)),
            TableInner::Redis(t) => t.count(scope).await,
        }
    }

    /// A number that changes whenever any record of the table changes, in any replica;
    /// lets readers keep a compiled cache (fault rules) and rebuild it only when needed.
    pub async fn version(&self) -> Result<u64, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.version()),
            TableInner::Redis(t) => t.version().await,
        }
    }
}
