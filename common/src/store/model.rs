//! The store's vocabulary, below both backends and the `Store` that picks one: what a
//! record, a scope, an error and a restorable image are, and [`Rows`], the view of one
//! partition a multi-record step works on, whichever backend holds it.

use std::collections::BTreeMap;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::clock::OutOfRange;

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

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("record {0} already exists")]
    Exists(String),
    #[error("marker {0} not found")]
    MarkerNotFound(String),
    /// The backend holds something this version cannot read (another schema version).
    #[error("store backend failed: {0}")]
    Backend(String),
    /// The backend does not answer (Redis down, timed out, a partition locked too long):
    /// the request is answered 503, nothing is changed.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
}

/// One partition of a table in an [`Image`]: its scope and its records (id, JSON), in order.
pub type PartitionImage = (Scope, Vec<(String, serde_json::Value)>);

/// A whole state to restore, as a snapshot writes it: `{table: [{tenant, region,
/// records: [{id, value}]}]}` and `{counter: value}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Image {
    pub tables: BTreeMap<String, Vec<PartitionImage>>,
    pub counters: BTreeMap<String, u64>,
}

impl Image {
    /// Reads a snapshot's `tables` and `counters`; says where it is malformed.
    pub fn parse(
        tables: &serde_json::Value,
        counters: &serde_json::Value,
    ) -> Result<Image, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Part {
            tenant: String,
            region: String,
            records: Vec<Rec>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Rec {
            id: String,
            value: serde_json::Value,
        }
        let tables: BTreeMap<String, Vec<Part>> =
            serde_json::from_value(tables.clone()).map_err(|e| format!("tables: {e}"))?;
        let counters: BTreeMap<String, u64> = if counters.is_null() {
            BTreeMap::new()
        } else {
            serde_json::from_value(counters.clone()).map_err(|e| format!("counters: {e}"))?
        };
        Ok(Image {
            tables: tables
                .into_iter()
                .map(|(name, parts)| {
                    let parts = parts
                        .into_iter()
                        .map(|p| {
                            let scope = Scope::new(p.tenant, p.region);
                            (
                                scope,
                                p.records.into_iter().map(|r| (r.id, r.value)).collect(),
                            )
                        })
                        .collect();
                    (name, parts)
                })
                .collect(),
            counters,
        })
    }
}

/// A state that cannot be restored, or a store that did not answer.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `value` is a record of type `T` (what a table checks a restored record with).
pub(crate) fn check_record<T: Record>(
    table: &str,
    scope: &Scope,
    id: &str,
    value: &serde_json::Value,
) -> Result<(), RestoreError> {
    serde_json::from_value::<T>(value.clone()).map(|_| ()).map_err(|e| {
        RestoreError::Invalid(format!(
            "tables.{table}: record {id:?} of tenant {:?}, region {:?} is not a {table} record: {e}",
            scope.tenant, scope.region
        ))
    })
}

/// A clock change refused, or not made because the store did not answer.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a backend gives a step for one partition: the records and the ways to change
/// them. [`Rows`] is the one type steps see.
pub(crate) trait RowAccess<T> {
    fn get(&self, id: &str) -> Option<&T>;
    /// A record to change; it gets a new revision whether or not it is changed.
    fn get_mut(&mut self, id: &str) -> Option<&mut T>;
    /// Adds or replaces; a replaced record keeps its place in the order.
    fn put(&mut self, id: &str, value: T);
    fn remove(&mut self, id: &str) -> Option<T>;
    fn len(&self) -> usize;
    /// Records oldest first, with their ids.
    fn iter(&self) -> Box<dyn Iterator<Item = (&str, &T)> + '_>;
    /// Records to change; every one gets a new revision.
    fn iter_mut(&mut self) -> Box<dyn Iterator<Item = (&str, &mut T)> + '_>;
}

/// Exclusive access to one partition inside `Table::transact` (or to the named records of
/// one, `Table::transact_some`), whatever the backend.
pub struct Rows<'a, T> {
    inner: &'a mut dyn RowAccess<T>,
}

impl<'a, T> Rows<'a, T> {
    pub(crate) fn new(inner: &'a mut dyn RowAccess<T>) -> Rows<'a, T> {
        Rows { inner }
    }
}

impl<T: Record> Rows<'_, T> {
    pub fn get(&self, id: &str) -> Option<&T> {
        self.inner.get(id)
    }

    /// A record to change; it gets a new revision whether or not it is changed.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.inner.get_mut(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    pub fn insert(&mut self, id: &str, value: T) -> Result<(), StoreError> {
        if self.contains(id) {
            return Err(StoreError::Exists(id.to_string()));
        }
        self.put(id, value);
        Ok(())
    }

    /// Adds or replaces; a replaced record keeps its place in the order.
    pub fn put(&mut self, id: &str, value: T) {
        self.inner.put(id, value)
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        self.inner.remove(id)
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The oldest records while `pick(left, oldest)` says so; see `Table::oldest`.
    pub fn oldest(&self, mut pick: impl FnMut(usize, &T) -> bool) -> Vec<(String, T)> {
        let mut left = self.len();
        let mut out = Vec::new();
        for (id, v) in self.iter() {
            if !pick(left, v) {
                break;
            }
            left -= 1;
            out.push((id.to_string(), v.clone()));
        }
        out
    }

    /// Records oldest first, with their ids.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&str, &T)> + '_> {
        self.inner.iter()
    }

    /// Records to change; every one gets a new revision.
    pub fn iter_mut(&mut self) -> Box<dyn Iterator<Item = (&str, &mut T)> + '_> {
        self.inner.iter_mut()
    }
}

/// A working copy of one partition, read from a shared backend under the partition's
/// lock; what changed in it is written back as one atomic step.
pub(crate) struct Loaded<T> {
    /// Records in order; a removed one leaves `None`.
    rows: Vec<Option<(String, T)>>,
    index: crate::FastMap<String, usize>,
    /// Ids written (put or handed out mutably).
    touched: std::collections::HashSet<String>,
    /// Ids removed (some put again afterwards: they move to the end).
    removed: std::collections::HashSet<String>,
}

/// One write of a [`Loaded`] partition, in the order the backend must apply them.
pub(crate) enum Write<'a, T> {
    Put(&'a str, &'a T),
    Delete(&'a str),
}

impl<T> Loaded<T> {
    pub(crate) fn new(rows: Vec<(String, T)>) -> Loaded<T> {
        let index = rows
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.clone(), i))
            .collect();
        Loaded {
            rows: rows.into_iter().map(Some).collect(),
            index,
            touched: Default::default(),
            removed: Default::default(),
        }
    }

    /// What to write back: deletions first, then the records written, oldest first (a
    /// record removed and put again is deleted and added, so it moves to the end).
    pub(crate) fn writes(&self) -> Vec<Write<'_, T>> {
        let mut out: Vec<Write<'_, T>> = self
            .removed
            .iter()
            .map(|id| Write::Delete(id.as_str()))
            .collect();
        for (id, v) in self.rows.iter().flatten() {
            if self.touched.contains(id) {
                out.push(Write::Put(id.as_str(), v));
            }
        }
        out
    }
}

impl<T> RowAccess<T> for Loaded<T> {
    fn get(&self, id: &str) -> Option<&T> {
        let i = *self.index.get(id)?;
        self.rows[i].as_ref().map(|(_, v)| v)
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let i = *self.index.get(id)?;
        self.touched.insert(id.to_string());
        self.rows[i].as_mut().map(|(_, v)| v)
    }

    fn put(&mut self, id: &str, value: T) {
        self.touched.insert(id.to_string());
        if let Some(&i) = self.index.get(id) {
            self.rows[i] = Some((id.to_string(), value));
            return;
        }
        self.index.insert(id.to_string(), self.rows.len());
        self.rows.push(Some((id.to_string(), value)));
    }

    fn remove(&mut self, id: &str) -> Option<T> {
        let i = self.index.remove(id)?;
        self.removed.insert(id.to_string());
        self.touched.remove(id);
        self.rows[i].take().map(|(_, v)| v)
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (&str, &T)> + '_> {
        Box::new(
            self.rows
                .iter()
                .filter_map(|r| r.as_ref().map(|(id, v)| (id.as_str(), v))),
        )
    }

    fn iter_mut(&mut self) -> Box<dyn Iterator<Item = (&str, &mut T)> + '_> {
        for (id, _) in self.rows.iter().flatten() {
            self.touched.insert(id.clone());
        }
        Box::new(
            self.rows
                .iter_mut()
                .filter_map(|r| r.as_mut().map(|(id, v)| (id.as_str(), v))),
        )
    }
}
