//! The in-memory backend: one lock per table, partitions ordered by insertion.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::model::{
    check_record, Image, PartitionImage, Record, RestoreError, RowAccess, Rows, Scope, StoreError,
    SURVIVES_RESET,
};

pub(super) struct MemoryBackend {
    pub(super) id: String,
    tables: Mutex<HashMap<&'static str, Arc<dyn ErasedTable>>>,
    counters: Mutex<HashMap<String, u64>>,
}

/// What the backend needs of a table without knowing its record type.
trait ErasedTable: Send + Sync {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    fn clear(&self, tenant: Option<&str>);
    fn snapshot(&self) -> serde_json::Value;
    fn check(&self, name: &str, parts: &[Part]) -> Result<(), RestoreError>;
    /// Replaces every record with `parts` (already checked).
    fn load(&self, parts: &[Part]);
}

type Part = PartitionImage;

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend {
            id: uuid::Uuid::new_v4().simple().to_string(),
            tables: Mutex::default(),
            counters: Mutex::default(),
        }
    }
}

impl MemoryBackend {
    pub(super) fn counter(&self, counter: &str) -> u64 {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters.get(counter).copied().unwrap_or(0)
    }

    pub(super) fn table<T: Record>(&self, name: &'static str) -> Arc<MemoryTable<T>> {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let erased = tables
            .entry(name)
            .or_insert_with(|| Arc::new(MemoryTable::<T>::default()))
            .clone();
        match erased.as_any().downcast::<MemoryTable<T>>() {
            Ok(table) => table,
            Err(_) => panic!("table {name} was opened with two record types"),
        }
    }

    pub(super) fn counters(&self) -> std::collections::BTreeMap<String, u64> {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    pub(super) fn check(&self, image: &Image) -> Result<(), RestoreError> {
        let tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        for (name, parts) in &image.tables {
            let table = tables.get(name.as_str()).ok_or_else(|| {
                RestoreError::Invalid(format!("tables.{name}: this mock has no such table"))
            })?;
            table.check(name, parts)?;
        }
        Ok(())
    }

    pub(super) fn restore(&self, image: &Image) {
        let tables: Vec<_> = self
            .tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(name, t)| (*name, t.clone()))
            .collect();
        for (name, table) in tables {
            table.load(image.tables.get(name).map_or(&[][..], Vec::as_slice));
        }
        *self.counters.lock().unwrap_or_else(|e| e.into_inner()) = image
            .counters
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
    }

    pub(super) fn next_id(&self, counter: &str) -> u64 {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let n = counters.entry(counter.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    pub(super) fn reset(&self, tenant: Option<&str>) {
        let tables: Vec<_> = self
            .tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(name, _)| !SURVIVES_RESET.contains(name))
            .map(|(_, t)| t.clone())
            .collect();
        for t in tables {
            t.clear(tenant);
        }
        if tenant.is_none() {
            self.counters
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
    }

    pub(super) fn snapshot(&self) -> serde_json::Value {
        let tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = serde_json::Map::new();
        for (name, t) in tables.iter() {
            out.insert((*name).to_string(), t.snapshot());
        }
        serde_json::Value::Object(out)
    }
}

pub(super) struct MemoryTable<T> {
    partitions: RwLock<crate::FastMap<Scope, Partition<T>>>,
    version: AtomicU64,
    /// Where row revisions come from: never reset, so a revision names one state of one
    /// row for the life of the process.
    revisions: AtomicU64,
}

impl<T> Default for MemoryTable<T> {
    fn default() -> Self {
        MemoryTable {
            partitions: RwLock::new(crate::FastMap::default()),
            version: AtomicU64::new(0),
            revisions: AtomicU64::new(0),
        }
    }
}

struct Partition<T> {
    next_seq: u64,
    seq_of: crate::FastMap<String, u64>,
    /// seq → (id, record, revision).
    rows: BTreeMap<u64, (String, T, u64)>,
}

impl<T> Default for Partition<T> {
    fn default() -> Self {
        Partition {
            next_seq: 0,
            seq_of: crate::FastMap::default(),
            rows: BTreeMap::new(),
        }
    }
}

/// Exclusive access to one partition in memory: what [`Rows`] wraps here.
pub(super) struct MemRows<'a, T> {
    partition: &'a mut Partition<T>,
    changed: bool,
    revisions: &'a AtomicU64,
}

impl<T: Record> RowAccess<T> for MemRows<'_, T> {
    fn get(&self, id: &str) -> Option<&T> {
        let seq = self.partition.seq_of.get(id)?;
        self.partition.rows.get(seq).map(|(_, v, _)| v)
    }

    /// A record to change; it gets a new revision whether or not it is changed.
    fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let seq = *self.partition.seq_of.get(id)?;
        self.changed = true;
        let rev = next_revision(self.revisions);
        self.partition.rows.get_mut(&seq).map(|(_, v, r)| {
            *r = rev;
            v
        })
    }

    /// Adds or replaces; a replaced record keeps its place in the order.
    fn put(&mut self, id: &str, value: T) {
        self.changed = true;
        let rev = next_revision(self.revisions);
        let p = &mut *self.partition;
        if let Some(seq) = p.seq_of.get(id) {
            if let Some(row) = p.rows.get_mut(seq) {
                row.1 = value;
                row.2 = rev;
                return;
            }
        }
        p.next_seq += 1;
        p.seq_of.insert(id.to_string(), p.next_seq);
        p.rows.insert(p.next_seq, (id.to_string(), value, rev));
    }

    fn remove(&mut self, id: &str) -> Option<T> {
        let seq = self.partition.seq_of.remove(id)?;
        self.changed = true;
        self.partition.rows.remove(&seq).map(|(_, v, _)| v)
    }

    fn len(&self) -> usize {
        self.partition.rows.len()
    }

    /// Records oldest first, with their ids.
    fn iter(&self) -> Box<dyn Iterator<Item = (&str, &T)> + '_> {
        Box::new(
            self.partition
                .rows
                .values()
                .map(|(id, v, _)| (id.as_str(), v)),
        )
    }

    /// Records to change; every one gets a new revision.
    fn iter_mut(&mut self) -> Box<dyn Iterator<Item = (&str, &mut T)> + '_> {
        self.changed = true;
        let revisions = self.revisions;
        Box::new(self.partition.rows.values_mut().map(move |(id, v, r)| {
            *r = next_revision(revisions);
            (id.as_str(), v)
        }))
    }
}

/// A revision no row of the table has had before.
fn next_revision(revisions: &AtomicU64) -> u64 {
    revisions.fetch_add(1, Ordering::Relaxed) + 1
}

impl<T: Record> MemoryTable<T> {
    pub(super) fn transact<R>(&self, scope: &Scope, f: impl FnOnce(&mut Rows<'_, T>) -> R) -> R {
        let mut parts = self.partitions.write().unwrap_or_else(|e| e.into_inner());
        let partition = parts.entry(scope.clone()).or_default();
        let mut access = MemRows {
            partition,
            changed: false,
            revisions: &self.revisions,
        };
        let out = f(&mut Rows::new(&mut access));
        if access.changed {
            self.version.fetch_add(1, Ordering::Release);
        }
        if parts.get(scope).is_some_and(|p| p.rows.is_empty()) {
            parts.remove(scope);
        }
        out
    }

    pub(super) fn page_map<R>(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
        mut keep: impl FnMut(&T) -> bool,
        mut map: impl FnMut(&T, u64) -> R,
    ) -> Result<Vec<R>, StoreError> {
        let parts = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        let Some(p) = parts.get(scope) else {
            return match after {
                Some(m) => Err(StoreError::MarkerNotFound(m.to_string())),
                None => Ok(Vec::new()),
            };
        };
        let start = match after {
            Some(m) => match p.seq_of.get(m) {
                Some(seq) => std::ops::Bound::Excluded(*seq),
                None => return Err(StoreError::MarkerNotFound(m.to_string())),
            },
            None => std::ops::Bound::Unbounded,
        };
        Ok(p.rows
            .range((start, std::ops::Bound::Unbounded))
            .map(|(_, (_, v, rev))| (v, *rev))
            .filter(|(v, _)| keep(v))
            .take(limit)
            .map(|(v, rev)| map(v, rev))
            .collect())
    }

    pub(super) fn get_map<R>(
        &self,
        scope: &Scope,
        id: &str,
        f: impl FnOnce(&T, u64) -> R,
    ) -> Option<R> {
        let parts = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        let p = parts.get(scope)?;
        let seq = p.seq_of.get(id)?;
        p.rows.get(seq).map(|(_, v, rev)| f(v, *rev))
    }

    pub(super) fn count(&self, scope: &Scope) -> usize {
        let parts = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        parts.get(scope).map_or(0, |p| p.rows.len())
    }

    pub(super) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }
}

impl<T: Record> ErasedTable for MemoryTable<T> {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn clear(&self, tenant: Option<&str>) {
        let mut parts = self.partitions.write().unwrap_or_else(|e| e.into_inner());
        match tenant {
            Some(t) => parts.retain(|scope, _| scope.tenant != t),
            None => parts.clear(),
        }
        self.version.fetch_add(1, Ordering::Release);
    }

    fn check(&self, name: &str, parts: &[Part]) -> Result<(), RestoreError> {
        for (scope, records) in parts {
            for (id, value) in records {
                check_record::<T>(name, scope, id, value)?;
            }
        }
        Ok(())
    }

    fn load(&self, parts: &[Part]) {
        let mut fresh = crate::FastMap::default();
        for (scope, records) in parts {
            let mut p = Partition::<T>::default();
            for (id, value) in records {
                let Ok(v) = serde_json::from_value::<T>(value.clone()) else {
                    continue;
                };
                let rev = next_revision(&self.revisions);
                match p.seq_of.get(id) {
                    Some(seq) => {
                        p.rows.insert(*seq, (id.clone(), v, rev));
                    }
                    None => {
                        p.next_seq += 1;
                        p.seq_of.insert(id.clone(), p.next_seq);
                        p.rows.insert(p.next_seq, (id.clone(), v, rev));
                    }
                }
            }
            if !p.rows.is_empty() {
                fresh.insert(scope.clone(), p);
            }
        }
        *self.partitions.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        self.version.fetch_add(1, Ordering::Release);
    }

    fn snapshot(&self) -> serde_json::Value {
        let parts = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        let mut scopes: Vec<_> = parts.iter().collect();
        scopes.sort_by(|a, b| a.0.cmp(b.0));
        serde_json::Value::Array(
            scopes
                .into_iter()
                .map(|(scope, p)| {
                    serde_json::json!({
                        "tenant": scope.tenant,
                        "region": scope.region,
                        "records": p.rows.values().map(|(id, v, _)| {
                            serde_json::json!({"id": id, "value": v})
                        }).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    }
}
