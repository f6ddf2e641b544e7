//! State behind one abstraction: typed tables of records, counters and the clock.
//!
//! Handlers talk to repositories, repositories talk to [`Table`]s, and a table talks to
//! the backend chosen in settings. Today the only backend is in memory; a shared backend
//! (Redis) becomes another variant of [`Backend`] without any handler changing, because
//! every operation is already `async` and fallible, records are `serde` types, and the
//! operations that must be atomic (read-modify-write, check-then-insert) are expressed as
//! closures run by the backend ([`Table::update`], [`Table::transact`]).
//!
//! Records live in partitions named by a [`Scope`] (tenant and region), so a tenant can
//! be reset alone and tenants never share a partition.

mod memory;

use std::sync::Arc;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::clock::Clock;

pub use memory::Rows;

/// Tables a reset leaves alone: a revoked token stays revoked on a mock that is reset
/// (Identity told it once, and will not again); revocations end with the token's expiry.
pub const SURVIVES_RESET: &[&str] = &["revoked_tokens"];

/// What a table can hold.
pub trait Record: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> Record for T {}

/// The partition a record lives in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Scope {
    pub tenant: String,
    pub region: String,
}

impl Scope {
    pub fn new(tenant: impl Into<String>, region: impl Into<String>) -> Scope {
        Scope {
            tenant: tenant.into(),
            region: region.into(),
        }
    }

    /// Records that belong to no tenant (fault rules, behaviours, revocations).
    pub fn global() -> Scope {
        Scope::new("", "")
    }

    pub fn tenant(tenant: impl Into<String>) -> Scope {
        Scope::new(tenant, "")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record {0} already exists")]
    Exists(String),
    #[error("marker {0} not found")]
    MarkerNotFound(String),
    #[error("store backend failed: {0}")]
    Backend(String),
}

/// Settings of the state store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `memory` (the only backend today).
    pub backend: String,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            backend: "memory".into(),
        }
    }
}

/// Handle on the whole state of one mock (or of the whole stack, in the launcher).
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
    clock: Clock,
}

enum Backend {
    Memory(memory::MemoryBackend),
}

impl Store {
    pub fn from_settings(settings: &StoreSettings) -> Result<Store, StoreError> {
        Store::from_settings_with_clock(settings, Clock::default())
    }

    /// A store that reads `clock`: how the launcher gives its three mocks one clock.
    pub fn from_settings_with_clock(
        settings: &StoreSettings,
        clock: Clock,
    ) -> Result<Store, StoreError> {
        match settings.backend.as_str() {
            "memory" => Ok(Store {
                backend: Arc::new(Backend::Memory(memory::MemoryBackend::default())),
                clock,
            }),
            other => Err(StoreError::Backend(format!(
                "unknown store backend {other:?} (expected \"memory\")"
            ))),
        }
    }

    pub fn memory() -> Store {
        Store {
            backend: Arc::new(Backend::Memory(memory::MemoryBackend::default())),
            clock: Clock::default(),
        }
    }

    /// The virtual clock kept with this state.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The table called `name`. Asking twice for one name gives the same table; asking
    /// for one name with two record types is a programming error and panics in tests.
    pub fn table<T: Record>(&self, name: &'static str) -> Table<T> {
        match &*self.backend {
            Backend::Memory(m) => Table {
                inner: TableInner::Memory(m.table(name)),
            },
        }
    }

    /// The next value of a named counter, starting at 1.
    pub async fn next_id(&self, counter: &str) -> Result<u64, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.next_id(counter)),
        }
    }

    /// The current value of a named counter (0 if never counted).
    pub async fn counter(&self, counter: &str) -> Result<u64, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.counter(counter)),
        }
    }

    /// An id that names this state: two mocks with the same id share one store (the
    /// launcher), so a stack-wide control call must reach only one of them.
    pub fn id(&self) -> &str {
        match &*self.backend {
            Backend::Memory(m) => &m.id,
        }
    }

    /// Forgets every record and counter but revocations ([`SURVIVES_RESET`]). The clock
    /// is left alone.
    pub async fn reset(&self) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Memory(m) => m.reset(None),
        }
        Ok(())
    }

    /// Forgets every record of one tenant, in every table and region.
    pub async fn reset_tenant(&self, tenant: &str) -> Result<(), StoreError> {
        match &*self.backend {
            Backend::Memory(m) => m.reset(Some(tenant)),
        }
        Ok(())
    }

    /// Every record of every table, by table and scope: a snapshot for the control API.
    pub async fn snapshot(&self) -> Result<serde_json::Value, StoreError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.snapshot()),
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
}

impl<T: Record> Table<T> {
    pub async fn get(&self, scope: &Scope, id: &str) -> Result<Option<T>, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.get_map(scope, id, |v, _| v.clone())),
        }
    }

    /// Adds a record; fails with [`StoreError::Exists`] if the id is taken.
    pub async fn insert(&self, scope: &Scope, id: &str, value: T) -> Result<(), StoreError> {
        self.transact(scope, |rows| rows.insert(id, value)).await?
    }

    /// Adds or replaces a record.
    pub async fn put(&self, scope: &Scope, id: &str, value: T) -> Result<(), StoreError> {
        self.transact(scope, |rows| rows.put(id, value)).await
    }

    /// Changes one record atomically; `None` when there is no such record.
    pub async fn update<R>(
        &self,
        scope: &Scope,
        id: &str,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<Option<R>, StoreError> {
        self.transact(scope, |rows| rows.get_mut(id).map(f)).await
    }

    pub async fn remove(&self, scope: &Scope, id: &str) -> Result<Option<T>, StoreError> {
        self.transact(scope, |rows| rows.remove(id)).await
    }

    /// Runs `f` with exclusive access to one partition: checks and writes inside it are
    /// atomic against every other writer (quota checks, node limits, unique names).
    pub async fn transact<R>(
        &self,
        scope: &Scope,
        f: impl FnOnce(&mut Rows<'_, T>) -> R,
    ) -> Result<R, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.transact(scope, f)),
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
    /// A record's *revision* changes whenever it may have changed (every write access in
    /// a transaction), and is never reused: equal revisions, equal records.
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
        }
    }

    pub async fn count(&self, scope: &Scope) -> Result<usize, StoreError> {
        match &self.inner {
            TableInner::Memory(t) => Ok(t.count(scope)),
        }
    }

    /// A number that changes whenever any record of the table changes; lets readers keep
    /// a compiled cache (fault rules) and rebuild it only when needed.
    pub fn version(&self) -> u64 {
        match &self.inner {
            TableInner::Memory(t) => t.version(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Thing {
        n: u32,
    }

    fn scope(t: &str) -> Scope {
        Scope::new(t, "ORD")
    }

    #[tokio::test]
    async fn a_revision_changes_with_every_write_and_is_never_reused() {
        let store = Store::memory();
        let things = store.table::<Thing>("things");
        let s = scope("a");
        let rev = |t: &Table<Thing>| {
            let t = t.clone();
            let s = s.clone();
            async move { t.get_map(&s, "1", |_, r| r).await.unwrap() }
        };
        things.insert(&s, "1", Thing { n: 1 }).await.unwrap();
        let first = rev(&things).await.unwrap();
        assert_eq!(rev(&things).await, Some(first), "reads keep it");
        things.update(&s, "1", |t| t.n = 2).await.unwrap();
        let second = rev(&things).await.unwrap();
        assert_ne!(second, first);
        let page = things
            .page_map(&s, None, 10, |_| true, |t, r| (t.n, r))
            .await;
        assert_eq!(page.unwrap(), vec![(2, second)]);
        things.transact(&s, |rows| rows.remove("1")).await.unwrap();
        things.insert(&s, "1", Thing { n: 2 }).await.unwrap();
        let third = rev(&things).await.unwrap();
        assert!(
            third != first && third != second,
            "a new row, a new revision"
        );
    }

    #[tokio::test]
    async fn tables_are_partitioned_by_scope() {
        let store = Store::memory();
        let things = store.table::<Thing>("things");
        things
            .insert(&scope("a"), "1", Thing { n: 1 })
            .await
            .unwrap();
        assert_eq!(things.get(&scope("b"), "1").await.unwrap(), None);
        assert_eq!(
            things.get(&scope("a"), "1").await.unwrap(),
            Some(Thing { n: 1 })
        );
        assert!(matches!(
            things.insert(&scope("a"), "1", Thing { n: 2 }).await,
            Err(StoreError::Exists(_))
        ));
    }

    #[tokio::test]
    async fn the_same_name_gives_the_same_table() {
        let store = Store::memory();
        store
            .table::<Thing>("things")
            .put(&scope("a"), "1", Thing { n: 1 })
            .await
            .unwrap();
        assert_eq!(
            store
                .table::<Thing>("things")
                .count(&scope("a"))
                .await
                .unwrap(),
            1
        );
    }

    #[tokio::test]
    async fn pages_follow_insertion_order_and_markers() {
        let store = Store::memory();
        let things = store.table::<Thing>("things");
        for n in 0..10 {
            things
                .insert(&scope("a"), &n.to_string(), Thing { n })
                .await
                .unwrap();
        }
        things.remove(&scope("a"), "4").await.unwrap();
        let page = things
            .page(&scope("a"), Some("2"), 3, |_| true)
            .await
            .unwrap();
        assert_eq!(page.iter().map(|t| t.n).collect::<Vec<_>>(), vec![3, 5, 6]);
        let odd = things
            .page(&scope("a"), None, 100, |t| t.n % 2 == 1)
            .await
            .unwrap();
        assert_eq!(odd.len(), 5);
        assert!(matches!(
            things.page(&scope("a"), Some("4"), 3, |_| true).await,
            Err(StoreError::MarkerNotFound(_))
        ));
    }

    #[tokio::test]
    async fn reset_tenant_leaves_other_tenants() {
        let store = Store::memory();
        let things = store.table::<Thing>("things");
        things.put(&scope("a"), "1", Thing { n: 1 }).await.unwrap();
        things.put(&scope("b"), "1", Thing { n: 1 }).await.unwrap();
        let v = things.version();
        store.reset_tenant("a").await.unwrap();
        assert_eq!(things.count(&scope("a")).await.unwrap(), 0);
        assert_eq!(things.count(&scope("b")).await.unwrap(), 1);
        assert_ne!(things.version(), v);
        store.reset().await.unwrap();
        assert_eq!(things.count(&scope("b")).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn concurrent_updates_never_lose_a_write() {
        let store = Store::memory();
        let things = store.table::<Thing>("things");
        things
            .put(&Scope::global(), "c", Thing { n: 0 })
            .await
            .unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let things = things.clone();
                tokio::spawn(async move {
                    for _ in 0..500 {
                        things
                            .update(&Scope::global(), "c", |t| t.n += 1)
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            things.get(&Scope::global(), "c").await.unwrap().unwrap().n,
            4000
        );
    }

    #[tokio::test]
    async fn counters_count_from_one() {
        let store = Store::memory();
        assert_eq!(store.next_id("x").await.unwrap(), 1);
        assert_eq!(store.next_id("x").await.unwrap(), 2);
        assert_eq!(store.next_id("y").await.unwrap(), 1);
    }
}
