//! The Redis backend: every replica of a service, and every service of a stack, on one
//! Redis.
//!
//! Keys (`P` = `{namespace}:{service}`, `S` = `{namespace}`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:rows:{table}:{tenant}:{region}` | hash | id → `v1:{revision}:{JSON record}` |
//! | `P:order:{table}:{tenant}:{region}` | sorted set | id → the revision it was added with (insertion order) |
//! | `P:lock:{table}:{tenant}:{region}` | string | the token of the writer holding the partition (expires) |
//! | `P:parts` | set | the partitions that hold records (`{table}:{tenant}:{region}`) |
//! | `P:tv:{table}` | string | the table's version: moved by every write and reset |
//! | `P:rev` | string | where revisions come from |
//! | `P:c:{name}` | string | counters (ids, addresses, fault budgets) |
//! | `P:journal`, `P:journal:seq`, `P:journal:cap` | list, strings | the journal |
//! | `S:clock` | string | the stack's clock state (JSON) |
//!
//! Tenant and region are escaped (`%` and `:`), so a key names one partition. Every
//! write is one Lua script: it checks the partition lock, writes the records with fresh
//! revisions, moves the table version and keeps `parts`, atomically. A multi-record
//! operation holds the partition lock (`SET NX PX`) while its closure runs; a writer
//! that died holding it loses it after [`LOCK_TTL`]. A batch of single-record changes
//! (`redis/batch.rs`) holds no lock: it writes a record only if its revision is still the
//! one it read, and takes the lock only after a few tries found its records changed or
//! the partition held.
//!
//! The client is the `redis` crate's `ConnectionManager`: one multiplexed connection per
//! runtime of a mock (each actix worker's, pipelined, so the requests a worker serves share
//! it without a pool, and its calls are not handed to another thread; a batch of queued
//! changes, and of journal entries, is the exception: it runs on the task of the worker
//! whose change or entry queued first), reconnected after a failure. Every command is
//! bounded by `store.timeout_ms`; a command that fails or times out is
//! [`StoreError::Unavailable`], which the mocks answer with 503.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};
use serde::{Deserialize, Serialize};

use super::model::{
    check_record, ClockError, Image, Loaded, Record, RestoreError, Rows, Scope, StoreError, Write,
    SURVIVES_RESET,
};

type CheckRecord = fn(&str, &Scope, &str, &serde_json::Value) -> Result<(), RestoreError>;
use crate::clock::{ClockChange, ClockState};

mod batch;

/// `[store]` with `backend = "redis"`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port/db`.
    pub url: String,
    /// The stack's keys start with it: stacks with different namespaces share one Redis
    /// without seeing each other, and a reset clears only its own.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Longest wait for one Redis command (and for connecting); then the request is
    /// answered 503.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_namespace() -> String {
    "understudy".into()
}

fn default_timeout_ms() -> u64 {
    2000
}

impl RedisSettings {
    /// What a bad setting is, before anything binds.
    pub fn check(&self) -> Result<(), String> {
        redis::Client::open(self.url.as_str())
            .map_err(|e| format!("store.url: not a Redis URL ({e})"))?;
        let ns_ok = !self.namespace.is_empty()
            && self.namespace.len() <= 64
            && self
                .namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !ns_ok {
            return Err("store.namespace: 1 to 64 letters, digits, '_', '-' or '.'".to_string());
        }
        if self.timeout_ms == 0 {
            return Err("store.timeout_ms: must be at least 1".to_string());
        }
        Ok(())
    }
}

/// How long a partition lock lives if its holder never releases it (a killed replica).
pub const LOCK_TTL: Duration = Duration::from_secs(5);

/// The schema version written before every record; a record with another one is refused
/// rather than misread.
const SCHEMA: &str = "v1";

#[derive(Clone)]
pub struct RedisBackend {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    /// One connection per runtime that uses the store (each actix worker's, the main
    /// one's): a connection's driver task runs on the runtime that opened it, so a worker's
    /// Redis calls do not hand off to another thread and back (but for a batch of queued
    /// changes, which runs on its drainer's runtime).
    conns: Mutex<
        crate::FastMap<Option<tokio::runtime::Id>, Arc<tokio::sync::OnceCell<ConnectionManager>>>,
    >,
    timeout: Duration,
    /// `{namespace}:{service}`.
    prefix: String,
    /// `{namespace}`.
    stack: String,
    id: String,
    clock_id: String,
    /// This process's queue for each partition lock: a writer that takes the partition's
    /// lock holds its entry alone, the one-step writes that need no lock hold it together
    /// (so they go to Redis side by side), and while this process holds a partition its
    /// other writers wait here rather than polling Redis.
    local: Mutex<crate::FastMap<String, Weak<tokio::sync::RwLock<()>>>>,
    /// Tables opened in this process, with how each checks a record: a snapshot lists
    /// them even when empty, a restore checks every record first.
    opened: Mutex<BTreeMap<&'static str, CheckRecord>>,
    /// The journal entries waiting to be appended ([`RedisBackend::log_append`]).
    log: Mutex<LogQueue>,
}

/// The most journal entries one step appends, and about the most bytes (an entry may
/// keep bodies of up to `journal.body_limit_bytes` each; one entry goes whatever its size).
const LOG_BATCH_MOST: usize = 256;
const LOG_BATCH_BYTES: usize = 1 << 20;

/// A journal entry waiting for its append, with whom to tell its number.
type LogEntry = (
    String,
    tokio::sync::oneshot::Sender<Result<u64, StoreError>>,
);

/// Journal entries waiting for their append.
#[derive(Default)]
struct LogQueue {
    waiting: Vec<LogEntry>,
    /// Whether a task is appending them.
    draining: bool,
}

/// The appending task's hold on the queue: dropped before the queue is empty (the task
/// was dropped), it lets the queue go, so the next append starts another task, and drops
/// the waiting entries, whose callers hear they were lost.
struct LogDraining {
    backend: RedisBackend,
    done: bool,
}

impl Drop for LogDraining {
    fn drop(&mut self) {
        if !self.done {
            let mut q = self.backend.log_queue();
            q.draining = false;
            q.waiting.clear();
        }
    }
}

impl LogDraining {
    /// Appends the waiting entries, a batch per step, until none wait. Should the task
    /// end early, or never run (its runtime stopped), the entries it held are answered as
    /// lost and the next append starts another.
    async fn run(mut self, capacity: usize) {
        loop {
            let batch: Vec<LogEntry> = {
                let mut q = self.backend.log_queue();
                if q.waiting.is_empty() {
                    q.draining = false;
                    self.done = true;
                    return;
                }
                let mut bytes = 0;
                let n = q
                    .waiting
                    .iter()
                    .take(LOG_BATCH_MOST)
                    .take_while(|(e, _)| {
                        let first = bytes == 0;
                        bytes += e.len().max(1);
                        first || bytes <= LOG_BATCH_BYTES
                    })
                    .count();
                q.waiting.drain(..n).collect()
            };
            let mut inv = LOG_APPEND.prepare_invoke();
            inv.key(self.backend.key("journal"))
                .key(self.backend.key("journal:seq"))
                .key(self.backend.key("journal:cap"))
                .arg(capacity);
            for (entry, _) in &batch {
                inv.arg(entry);
            }
            let first: Result<u64, StoreError> = self.backend.eval(inv).await;
            for (i, (_, tx)) in batch.into_iter().enumerate() {
                let _ = tx.send(first.clone().map(|n| n + i as u64));
            }
        }
    }
}

impl RedisBackend {
    pub(super) fn new(settings: &RedisSettings, service: &str) -> Result<RedisBackend, StoreError> {
        settings.check().map_err(StoreError::Backend)?;
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let info = client.get_connection_info();
        let addr = info.addr().to_string();
        let db = info.redis_settings().db();
        let stack = settings.namespace.clone();
        Ok(RedisBackend {
            inner: Arc::new(Inner {
                client,
                conns: Mutex::default(),
                timeout: Duration::from_millis(settings.timeout_ms),
                prefix: format!("{stack}:{service}"),
                id: format!("redis://{addr}/{db}/{stack}/{service}"),
                clock_id: format!("redis://{addr}/{db}/{stack}/clock"),
                stack,
                local: Mutex::default(),
                opened: Mutex::default(),
                log: Mutex::default(),
            }),
        })
    }

    pub(super) fn id(&self) -> &str {
        &self.inner.id
    }

    pub(super) fn clock_id(&self) -> &str {
        &self.inner.clock_id
    }

    pub(super) fn table<T: Record>(&self, name: &'static str) -> RedisTable<T> {
        self.inner
            .opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, check_record::<T>);
        RedisTable {
            backend: self.clone(),
            name,
            queues: Arc::default(),
        }
    }

    /// This runtime's connection, opened the first time it asks.
    async fn conn(&self) -> Result<ConnectionManager, StoreError> {
        let inner = &self.inner;
        let runtime = tokio::runtime::Handle::try_current().ok().map(|h| h.id());
        let cell = inner
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(runtime)
            .or_default()
            .clone();
        let connect = cell.get_or_try_init(|| async {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(inner.timeout))
                .set_response_timeout(Some(inner.timeout))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(200));
            ConnectionManager::new_with_config(inner.client.clone(), config).await
        });
        match tokio::time::timeout(inner.timeout, connect).await {
            Ok(Ok(c)) => Ok(c.clone()),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(_) => Err(StoreError::Unavailable(
                "connecting to Redis timed out".into(),
            )),
        }
    }

    /// Runs one command, bounded by the timeout.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut c = self.conn().await?;
        match tokio::time::timeout(self.inner.timeout, cmd.query_async(&mut c)).await {
            Ok(r) => r.map_err(unavailable),
            Err(_) => Err(StoreError::Unavailable(
                "Redis did not answer in time".into(),
            )),
        }
    }

    /// Runs commands in one round trip, bounded by the timeout.
    async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, StoreError> {
        let mut c = self.conn().await?;
        match tokio::time::timeout(self.inner.timeout, pipe.query_async(&mut c)).await {
            Ok(r) => r.map_err(unavailable),
            Err(_) => Err(StoreError::Unavailable(
                "Redis did not answer in time".into(),
            )),
        }
    }

    /// Runs one script, bounded by the timeout.
    async fn eval<T: redis::FromRedisValue>(
        &self,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut c = self.conn().await?;
        match tokio::time::timeout(self.inner.timeout, inv.invoke_async(&mut c)).await {
            Ok(r) => r.map_err(unavailable),
            Err(_) => Err(StoreError::Unavailable(
                "Redis did not answer in time".into(),
            )),
        }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.inner.prefix)
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self.query(&redis::cmd("PING")).await?;
        Ok(())
    }

    pub(super) async fn next_id(&self, counter: &str) -> Result<u64, StoreError> {
        self.query(redis::cmd("INCR").arg(self.key(&format!("c:{counter}"))))
            .await
    }

    pub(super) async fn counter(&self, counter: &str) -> Result<u64, StoreError> {
        let v: Option<u64> = self
            .query(redis::cmd("GET").arg(self.key(&format!("c:{counter}"))))
            .await?;
        Ok(v.unwrap_or(0))
    }

    fn clock_key(&self) -> String {
        format!("{}:clock", self.inner.stack)
    }

    pub(super) async fn clock_state(&self) -> Result<ClockState, StoreError> {
        let raw: Option<String> = self.query(redis::cmd("GET").arg(self.clock_key())).await?;
        Ok(raw
            .and_then(|r| serde_json::from_str(&r).ok())
            .unwrap_or_default())
    }

    /// Applies `change` to the clock Redis holds, again if another replica changed it
    /// between the read and the write; returns the state written.
    pub(super) async fn change_clock(&self, change: ClockChange) -> Result<ClockState, ClockError> {
        loop {
            let raw: Option<String> = self.query(redis::cmd("GET").arg(self.clock_key())).await?;
            let before = raw
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok())
                .unwrap_or_default();
            let next = change.apply(&before, chrono::Utc::now())?;
            let json = serde_json::to_string(&next).unwrap_or_default();
            let mut inv = CLOCK_CAS.prepare_invoke();
            inv.key(self.clock_key())
                .arg(raw.unwrap_or_default())
                .arg(json);
            let written: i64 = self.eval(inv).await?;
            if written == 1 {
                return Ok(next);
            }
        }
    }

    /// Forgets every record and counter of this service (all tenants, or one), but
    /// revocations; moves the version of every table touched.
    pub(super) async fn reset(&self, tenant: Option<&str>) -> Result<(), StoreError> {
        let parts: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(self.key("parts")))
            .await?;
        let mut tables = BTreeSet::new();
        for part in parts {
            let Some((table, t, _)) = split_part(&part) else {
                continue;
            };
            if SURVIVES_RESET.contains(&table.as_str()) || tenant.is_some_and(|x| x != t) {
                continue;
            }
            let mut del = redis::cmd("DEL");
            del.arg(self.key(&format!("rows:{part}")))
                .arg(self.key(&format!("order:{part}")));
            let _: i64 = self.query(&del).await?;
            let _: i64 = self
                .query(redis::cmd("SREM").arg(self.key("parts")).arg(&part))
                .await?;
            tables.insert(table);
        }
        if tenant.is_none() {
            let counters = self.scan(&self.key("c:*")).await?;
            for chunk in counters.chunks(500) {
                let _: i64 = self.query(redis::cmd("DEL").arg(chunk)).await?;
            }
            // Every table this process knows moves too, so no cache of an empty table
            // outlives a reset made elsewhere.
            tables.extend(
                self.inner
                    .opened
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .keys()
                    .map(|t| t.to_string()),
            );
        }
        for table in tables {
            let _: i64 = self
                .query(redis::cmd("INCR").arg(self.key(&format!("tv:{table}"))))
                .await?;
        }
        Ok(())
    }

    async fn scan(&self, pattern: &str) -> Result<Vec<String>, StoreError> {
        let mut cursor: u64 = 0;
        let mut out = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1000),
                )
                .await?;
            out.extend(keys);
            if next == 0 {
                return Ok(out);
            }
            cursor = next;
        }
    }

    pub(super) async fn snapshot(&self) -> Result<serde_json::Value, StoreError> {
        let parts: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(self.key("parts")))
            .await?;
        let mut by_table: BTreeMap<String, Vec<(Scope, String)>> = self
            .inner
            .opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .map(|t| (t.to_string(), Vec::new()))
            .collect();
        for part in parts {
            if let Some((table, tenant, region)) = split_part(&part) {
                by_table
                    .entry(table)
                    .or_default()
                    .push((Scope::new(tenant, region), part));
            }
        }
        let mut out = serde_json::Map::new();
        for (table, mut scopes) in by_table {
            scopes.sort();
            let mut list = Vec::new();
            for (scope, part) in scopes {
                let rows = self.read_all(&part).await?;
                let records: Vec<_> = rows
                    .into_iter()
                    .filter_map(|(id, raw)| {
                        let (_, json) = split_record(&raw).ok()?;
                        let value: serde_json::Value = serde_json::from_str(json).ok()?;
                        Some(serde_json::json!({"id": id, "value": value}))
                    })
                    .collect();
                list.push(serde_json::json!({
                    "tenant": scope.tenant, "region": scope.region, "records": records,
                }));
            }
            out.insert(table, serde_json::Value::Array(list));
        }
        Ok(serde_json::Value::Object(out))
    }

    /// Every record of a partition, in order, as stored.
    async fn read_all(&self, part: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut inv = LOCK_ALL.prepare_invoke();
        inv.key(self.key(&format!("lock:{part}")))
            .key(self.key(&format!("rows:{part}")))
            .key(self.key(&format!("order:{part}")))
            .arg("")
            .arg(0);
        let v: Vec<Value> = self.eval(inv).await?;
        Ok(pairs(&v[1..]))
    }

    pub(super) async fn counters(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let prefix = self.key("c:");
        let keys = self.scan(&format!("{prefix}*")).await?;
        let mut out = BTreeMap::new();
        for chunk in keys.chunks(500) {
            let values: Vec<Option<u64>> = self.query(redis::cmd("MGET").arg(chunk)).await?;
            for (k, v) in chunk.iter().zip(values) {
                if let (Some(name), Some(v)) = (k.strip_prefix(&prefix), v) {
                    out.insert(name.to_string(), v);
                }
            }
        }
        Ok(out)
    }

    pub(super) fn check(&self, image: &Image) -> Result<(), RestoreError> {
        let opened = self.inner.opened.lock().unwrap_or_else(|e| e.into_inner());
        for (name, parts) in &image.tables {
            let check = opened.get(name.as_str()).ok_or_else(|| {
                RestoreError::Invalid(format!("tables.{name}: this mock has no such table"))
            })?;
            for (scope, records) in parts {
                for (id, value) in records {
                    check(name, scope, id, value)?;
                }
            }
        }
        Ok(())
    }

    /// Replaces this service's records and counters with `image` (checked before).
    pub(super) async fn restore(&self, image: &Image) -> Result<(), StoreError> {
        let parts: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(self.key("parts")))
            .await?;
        for part in &parts {
            let _: i64 = self
                .query(
                    redis::cmd("DEL")
                        .arg(self.key(&format!("rows:{part}")))
                        .arg(self.key(&format!("order:{part}"))),
                )
                .await?;
        }
        let _: i64 = self.query(redis::cmd("DEL").arg(self.key("parts"))).await?;
        for chunk in self.scan(&self.key("c:*")).await?.chunks(500) {
            let _: i64 = self.query(redis::cmd("DEL").arg(chunk)).await?;
        }
        for (name, value) in &image.counters {
            let _: () = self
                .query(
                    redis::cmd("SET")
                        .arg(self.key(&format!("c:{name}")))
                        .arg(*value),
                )
                .await?;
        }
        let names: Vec<&'static str> = self
            .inner
            .opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        for name in names {
            let table: RedisTable<serde_json::Value> = RedisTable {
                backend: self.clone(),
                name,
                queues: Arc::default(),
            };
            for (scope, records) in image.tables.get(name).map_or(&[][..], Vec::as_slice) {
                let part = table.part(scope);
                for chunk in records.chunks(500) {
                    let mut writes = Vec::new();
                    for (id, value) in chunk {
                        writes.push(('P', id.as_str(), encode(value)?));
                    }
                    table.write(&part, None, &writes).await?;
                }
            }
            let _: i64 = self
                .query(redis::cmd("INCR").arg(self.key(&format!("tv:{name}"))))
                .await?;
        }
        Ok(())
    }

    fn local_lock(&self, part: &str) -> Arc<tokio::sync::RwLock<()>> {
        let mut map = self.inner.local.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = map.get(part).and_then(Weak::upgrade) {
            return l;
        }
        if map.len() >= 4096 {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let l = Arc::new(tokio::sync::RwLock::new(()));
        map.insert(part.to_string(), Arc::downgrade(&l));
        l
    }

    // ---- the journal's shared log ----

    /// Appends an entry (JSON without its number) and keeps the newest `capacity` (or
    /// the capacity set through the control API); returns its number, once the entry is in
    /// Redis. The entries of requests answered at the same time go in one step: the first
    /// to find the queue idle starts a task ([`LogDraining::run`]) that appends what waits,
    /// in queue order, until nothing does.
    pub(crate) async fn log_append(&self, entry: &str, capacity: usize) -> Result<u64, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start = {
            let mut q = self.log_queue();
            q.waiting.push((entry.to_string(), tx));
            !std::mem::replace(&mut q.draining, true)
        };
        if start {
            // The hold is made before the task: dropped unpolled (its runtime stopping),
            // the task still lets the queue go.
            let draining = LogDraining {
                backend: self.clone(),
                done: false,
            };
            tokio::spawn(draining.run(capacity));
        }
        rx.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the journal's append ended before it was written".into(),
            ))
        })
    }

    /// The journal entries waiting to be appended (a lock never held across an await).
    fn log_queue(&self) -> std::sync::MutexGuard<'_, LogQueue> {
        self.inner.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every entry kept, newest first, with its number.
    pub(crate) async fn log_read(&self) -> Result<Vec<(u64, String)>, StoreError> {
        let raw: Vec<String> = self
            .query(redis::cmd("LRANGE").arg(self.key("journal")).arg(0).arg(-1))
            .await?;
        Ok(raw
            .into_iter()
            .filter_map(|line| {
                let (n, json) = line.split_once(' ')?;
                Some((n.parse().ok()?, json.to_string()))
            })
            .collect())
    }

    pub(crate) async fn log_clear(&self) -> Result<(), StoreError> {
        let _: i64 = self
            .query(redis::cmd("DEL").arg(self.key("journal")))
            .await?;
        Ok(())
    }

    pub(crate) async fn log_capacity(&self) -> Result<Option<usize>, StoreError> {
        self.query(redis::cmd("GET").arg(self.key("journal:cap")))
            .await
    }

    pub(crate) async fn set_log_capacity(&self, capacity: usize) -> Result<(), StoreError> {
        let _: () = self
            .query(redis::cmd("SET").arg(self.key("journal:cap")).arg(capacity))
            .await?;
        let _: () = self
            .query(
                redis::cmd("LTRIM")
                    .arg(self.key("journal"))
                    .arg(0)
                    .arg(capacity.max(1) as i64 - 1),
            )
            .await?;
        Ok(())
    }
}

/// One typed table on Redis.
pub struct RedisTable<T> {
    backend: RedisBackend,
    name: &'static str,
    /// The single-record changes waiting for each partition ([`batch`]).
    queues: Arc<batch::Queues<T>>,
}

impl<T> Clone for RedisTable<T> {
    fn clone(&self) -> Self {
        RedisTable {
            backend: self.backend.clone(),
            name: self.name,
            queues: self.queues.clone(),
        }
    }
}

/// The wait between attempts at a partition another writer holds: 1 ms, doubling to 4 ms
/// (a partition is usually held for a few round trips, under a millisecond, so a longer
/// wait would mostly wait for nothing), until the lock's lifetime (and a second) has
/// passed; then the store is unavailable.
struct Backoff {
    started: Instant,
    pause: Duration,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            started: Instant::now(),
            pause: Duration::from_millis(1),
        }
    }

    async fn wait(&mut self, part: &str) -> Result<(), StoreError> {
        if self.started.elapsed() > LOCK_TTL + Duration::from_secs(1) {
            return Err(StoreError::Unavailable(format!(
                "partition {part} stayed locked"
            )));
        }
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(4));
        Ok(())
    }
}

/// How many times a batch of single-record changes is tried without the partition's lock
/// (each time its records changed meanwhile, or the partition was held) before it takes
/// the lock, which no other writer can pass.
const UNLOCKED_TRIES: usize = 4;

/// How a try without the lock ended: every change answered, or these to try again
/// (their records were changed meanwhile, or a writer held the partition).
enum Tried<T> {
    Done,
    Changed(Vec<batch::Waiter<T>>),
    Busy(Vec<batch::Waiter<T>>),
}

/// A lock held on one partition, released by the write that ends it.
struct Held {
    token: String,
    _local: tokio::sync::OwnedRwLockWriteGuard<()>,
}

impl<T: Record> RedisTable<T> {
    fn part(&self, scope: &Scope) -> String {
        format!(
            "{}:{}:{}",
            self.name,
            escape(&scope.tenant),
            escape(&scope.region)
        )
    }

    fn keys(&self, part: &str) -> [String; 6] {
        let b = &self.backend;
        [
            b.key(&format!("lock:{part}")),
            b.key(&format!("rows:{part}")),
            b.key(&format!("order:{part}")),
            b.key("rev"),
            b.key(&format!("tv:{}", self.name)),
            b.key("parts"),
        ]
    }

    pub(super) async fn get_map<R>(
        &self,
        scope: &Scope,
        id: &str,
        f: impl FnOnce(&T, u64) -> R,
    ) -> Result<Option<R>, StoreError> {
        let part = self.part(scope);
        let raw: Option<String> = self
            .backend
            .query(
                redis::cmd("HGET")
                    .arg(self.backend.key(&format!("rows:{part}")))
                    .arg(id),
            )
            .await?;
        match raw {
            None => Ok(None),
            Some(raw) => {
                let (rev, v) = decode::<T>(&raw)?;
                Ok(Some(f(&v, rev)))
            }
        }
    }

    pub(super) async fn count(&self, scope: &Scope) -> Result<usize, StoreError> {
        let part = self.part(scope);
        self.backend
            .query(redis::cmd("HLEN").arg(self.backend.key(&format!("rows:{part}"))))
            .await
    }

    pub(super) async fn version(&self) -> Result<u64, StoreError> {
        let v: Option<u64> = self
            .backend
            .query(redis::cmd("GET").arg(self.backend.key(&format!("tv:{}", self.name))))
            .await?;
        Ok(v.unwrap_or(0))
    }

    pub(super) async fn page_map<R>(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
        mut keep: impl FnMut(&T) -> bool,
        mut map: impl FnMut(&T, u64) -> R,
    ) -> Result<Vec<R>, StoreError> {
        let part = self.part(scope);
        let chunk = limit.clamp(64, 1000);
        let mut out = Vec::new();
        let mut marker = after.map(str::to_string);
        let mut from_score = String::new();
        while out.len() < limit {
            let mut inv = PAGE.prepare_invoke();
            inv.key(self.backend.key(&format!("rows:{part}")))
                .key(self.backend.key(&format!("order:{part}")))
                .arg(marker.take().unwrap_or_default())
                .arg(&from_score)
                .arg(chunk);
            let v: Vec<Value> = self.backend.eval(inv).await?;
            if int(v.first()) == 0 {
                return Err(StoreError::MarkerNotFound(
                    after.unwrap_or_default().to_string(),
                ));
            }
            let rows = &v[1..];
            let got = rows.len() / 3;
            for triple in rows.chunks(3) {
                if let [score, _id, raw] = triple {
                    from_score = text(score);
                    let raw = text(raw);
                    if raw.is_empty() {
                        continue;
                    }
                    let (rev, value) = decode::<T>(&raw)?;
                    if out.len() < limit && keep(&value) {
                        out.push(map(&value, rev));
                    }
                }
            }
            if got < chunk {
                break;
            }
        }
        Ok(out)
    }

    /// Takes the partition's lock with `script` (KEYS lock, rows, order; ARGV token, ttl,
    /// then `args`), waiting while another writer holds it; what the script read with it.
    async fn lock(
        &self,
        part: &str,
        script: &Script,
        args: &[&str],
    ) -> Result<(Held, Vec<Value>), StoreError> {
        let local = self.backend.local_lock(part).write_owned().await;
        self.lock_as(local, part, script, args).await
    }

    /// [`Self::lock`] by the holder of this process's queue for the partition.
    async fn lock_as(
        &self,
        local: tokio::sync::OwnedRwLockWriteGuard<()>,
        part: &str,
        script: &Script,
        args: &[&str],
    ) -> Result<(Held, Vec<Value>), StoreError> {
        let token = format!("{:032x}", rand::random::<u128>());
        let keys = self.keys(part);
        let mut backoff = Backoff::new();
        loop {
            let mut inv = script.prepare_invoke();
            inv.key(&keys[0]).key(&keys[1]).key(&keys[2]);
            inv.arg(&token).arg(LOCK_TTL.as_millis() as u64);
            for a in args {
                inv.arg(*a);
            }
            let v: Vec<Value> = self.backend.eval(inv).await?;
            if int(v.first()) == 1 {
                return Ok((
                    Held {
                        token,
                        _local: local,
                    },
                    v,
                ));
            }
            backoff.wait(part).await?;
        }
    }

    /// Writes and, when `held`, releases the lock. Without a lock, waits while another
    /// writer holds the partition.
    async fn write(
        &self,
        part: &str,
        held: Option<&Held>,
        writes: &[(char, &str, String)],
    ) -> Result<(), StoreError> {
        let keys = self.keys(part);
        let mut backoff = Backoff::new();
        loop {
            let mut inv = WRITE.prepare_invoke();
            for k in &keys {
                inv.key(k);
            }
            inv.arg(held.map_or("", |h| h.token.as_str()))
                .arg(part)
                .arg(writes.len());
            for (op, id, v) in writes {
                inv.arg(op.to_string()).arg(*id).arg(v);
            }
            let answer: String = self.backend.eval(inv).await?;
            match answer.as_str() {
                "OK" => return Ok(()),
                "EXISTS" => {
                    let id = writes.first().map_or("", |w| w.1);
                    return Err(StoreError::Exists(id.to_string()));
                }
                "LOST" => {
                    return Err(StoreError::Unavailable(format!(
                        "the lock on {part} expired before the write"
                    )))
                }
                _busy => backoff.wait(part).await?,
            }
        }
    }

    /// One record written (or removed, `value` = `None`) in one step that takes no lock
    /// (beside the process's other such steps on the partition).
    pub(super) async fn write_one(
        &self,
        scope: &Scope,
        id: &str,
        value: Option<&T>,
        insert_only: bool,
    ) -> Result<(), StoreError> {
        let part = self.part(scope);
        let local = self.backend.local_lock(&part);
        let _queue = local.read().await;
        let w = match value {
            Some(v) => (if insert_only { 'I' } else { 'P' }, id, encode(v)?),
            None => ('D', id, String::new()),
        };
        self.write(&part, None, &[w]).await
    }

    /// `Table::update` and `Table::upsert`: `f` sees the record (`None` when absent) and
    /// may replace, change or take it, atomically against every writer of the partition.
    /// The change queues with the others waiting for the partition ([`batch`]).
    pub(super) async fn modify<R>(
        &self,
        scope: &Scope,
        id: &str,
        f: impl FnMut(&mut Option<T>) -> R,
    ) -> Result<R, StoreError> {
        let part = self.part(scope);
        let mut f = f;
        // A change comes back unrun only when its drainer ended before its turn (the
        // runtime it ran on stopped): it queues again, behind those queued since, for
        // whichever drainer serves the partition next. Each attempt needs a drainer to
        // end, so this cannot spin; the bound is for a runtime that drops every task.
        for _ in 0..16 {
            let (waiter, ticket) = batch::waiter(id);
            if let Some(draining) = batch::enqueue(&self.queues, &part, waiter) {
                let table = self.clone();
                tokio::spawn(async move { table.drain(draining).await });
            }
            match ticket.serve(f).await {
                batch::Served::Answer(out) => return out,
                batch::Served::NotRun(back) => f = back,
            }
            tokio::task::yield_now().await;
        }
        Err(StoreError::Unavailable(format!(
            "the changes queued on {part} were dropped"
        )))
    }

    /// Serves a partition's queued changes, a batch at a time, until none are left.
    async fn drain(self, mut draining: batch::Draining<T>) {
        loop {
            let local = self.backend.local_lock(draining.part()).write_owned().await;
            let Some(waiting) = draining.next() else {
                return;
            };
            self.run_batch(draining.part(), local, waiting).await;
        }
    }

    /// A batch of changes: tried without the partition's lock a few times, then under it.
    async fn run_batch(
        &self,
        part: &str,
        local: tokio::sync::OwnedRwLockWriteGuard<()>,
        waiting: Vec<batch::Waiter<T>>,
    ) {
        let mut waiting = waiting;
        let mut backoff = Backoff::new();
        for _ in 0..UNLOCKED_TRIES {
            match self.try_batch(part, waiting).await {
                Tried::Done => return,
                Tried::Changed(again) => waiting = again,
                Tried::Busy(again) => {
                    if let Err(e) = backoff.wait(part).await {
                        for w in &again {
                            w.answer(Err(e.clone()));
                        }
                        return;
                    }
                    waiting = again;
                }
            }
        }
        self.locked_batch(part, local, waiting).await
    }

    /// The batch without the partition's lock: its records read (`HMGET`, pipelined with a
    /// look at the lock), each change run by its caller, and one step that writes each record only if no other
    /// writer changed it since the read (its revision is the one read) and no writer holds
    /// the partition. The changes of a record another writer changed meanwhile come back
    /// to run on a fresh read; the others are answered.
    async fn try_batch(&self, part: &str, waiting: Vec<batch::Waiter<T>>) -> Tried<T> {
        let mut ids: Vec<&str> = Vec::new();
        for w in &waiting {
            if !ids.contains(&w.id()) {
                ids.push(w.id());
            }
        }
        let keys = self.keys(part);
        // The lock and the records in one round trip: while a writer holds the partition
        // no change runs (it would only run again).
        let mut read = redis::pipe();
        read.cmd("GET")
            .arg(&keys[0])
            .cmd("HMGET")
            .arg(&keys[1])
            .arg(&ids);
        let (held, read) = match self
            .backend
            .query_pipe::<(Option<String>, Vec<Option<String>>)>(&read)
            .await
        {
            Ok(read) => read,
            Err(e) => {
                for w in &waiting {
                    w.answer(Err(e.clone()));
                }
                return Tried::Done;
            }
        };
        if held.is_some() {
            return Tried::Busy(waiting);
        }
        let mut found: crate::FastMap<String, Result<(u64, T), StoreError>> = ids
            .iter()
            .zip(read)
            .filter_map(|(id, raw)| Some((id.to_string(), decode::<T>(&raw?))))
            .collect();
        let mut revisions: crate::FastMap<String, u64> = crate::FastMap::default();
        let chains = batch::chains(waiting, |id| {
            found.remove(id).map(|r| {
                r.map(|(rev, v)| {
                    revisions.insert(id.to_string(), rev);
                    v
                })
            })
        });
        let chains = batch::run(chains).await;
        // Each chain's own failure (a record that cannot be encoded), if any.
        let mut failed: Vec<Option<StoreError>> = vec![None; chains.len()];
        let mut writes: Vec<(char, &str, String, String)> = Vec::new();
        for (c, failed) in chains.iter().zip(&mut failed) {
            let seen = revisions.get(c.id()).copied().unwrap_or(0).to_string();
            match c.outcome() {
                Some(Some(value)) => match encode(value) {
                    Ok(json) => writes.push(('P', c.id(), seen, json)),
                    Err(e) => *failed = Some(e),
                },
                Some(None) => writes.push(('D', c.id(), seen, String::new())),
                None => {}
            }
        }
        if writes.is_empty() {
            for (c, failed) in chains.into_iter().zip(failed) {
                c.answer(failed.map_or(Ok(()), Err));
            }
            return Tried::Done;
        }
        let mut inv = WRITE_IF_UNCHANGED.prepare_invoke();
        for k in &keys {
            inv.key(k);
        }
        inv.arg(part).arg(writes.len());
        for (op, id, seen, json) in &writes {
            inv.arg(op.to_string()).arg(*id).arg(seen).arg(json);
        }
        let answer: Result<Vec<Value>, StoreError> = self.backend.eval(inv).await;
        let changed: Vec<String> = match &answer {
            Ok(v) if v.first().map(text).as_deref() == Some("BUSY") => {
                let again = chains.into_iter().flat_map(batch::Chain::into_waiters);
                return Tried::Busy(again.collect());
            }
            Ok(v) => v.iter().skip(1).map(text).collect(),
            Err(_) => Vec::new(),
        };
        let result = answer.map(|_| ());
        let mut again = Vec::new();
        for (c, failed) in chains.into_iter().zip(failed) {
            if failed.is_none() && changed.iter().any(|id| id == c.id()) {
                again.extend(c.into_waiters());
            } else {
                c.answer(failed.map_or_else(|| result.clone(), Err));
            }
        }
        if again.is_empty() {
            Tried::Done
        } else {
            Tried::Changed(again)
        }
    }

    /// One lock, the batch's records read with it, each change run by its caller, one
    /// write that lets go of the lock. A record that cannot be read or written fails its
    /// own changes, not the others'.
    async fn locked_batch(
        &self,
        part: &str,
        local: tokio::sync::OwnedRwLockWriteGuard<()>,
        waiting: Vec<batch::Waiter<T>>,
    ) {
        let mut ids: Vec<&str> = Vec::new();
        for w in &waiting {
            if !ids.contains(&w.id()) {
                ids.push(w.id());
            }
        }
        let (held, v) = match self.lock_as(local, part, &LOCK_SOME, &ids).await {
            Ok(locked) => locked,
            Err(e) => {
                for w in &waiting {
                    w.answer(Err(e.clone()));
                }
                return;
            }
        };
        let mut found: crate::FastMap<String, String> =
            pairs(v.get(2..).unwrap_or_default()).into_iter().collect();
        let chains = batch::chains(waiting, |id| {
            found
                .remove(id)
                .map(|raw| decode::<T>(&raw).map(|(_, v)| v))
        });
        let chains = batch::run(chains).await;
        // Each chain's own failure (a record that cannot be encoded), if any.
        let mut failed: Vec<Option<StoreError>> = vec![None; chains.len()];
        let result = {
            let mut writes = Vec::new();
            for (c, failed) in chains.iter().zip(&mut failed) {
                match c.outcome() {
                    Some(Some(value)) => match encode(value) {
                        Ok(json) => writes.push(('P', c.id(), json)),
                        Err(e) => *failed = Some(e),
                    },
                    Some(None) => writes.push(('D', c.id(), String::new())),
                    None => {}
                }
            }
            self.write(part, Some(&held), &writes).await
        };
        for (c, failed) in chains.into_iter().zip(failed) {
            c.answer(failed.map_or_else(|| result.clone(), Err));
        }
    }

    /// `Table::transact_some`: the partition locked, only the named records read.
    pub(super) async fn transact_some<R>(
        &self,
        scope: &Scope,
        ids: &[String],
        f: impl FnOnce(&mut Rows<'_, T>, usize) -> R,
    ) -> Result<R, StoreError> {
        let part = self.part(scope);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (held, v) = self.lock(&part, &LOCK_SOME, &ids).await?;
        let total = usize::try_from(int(v.get(1))).unwrap_or(0);
        let mut rows = Vec::new();
        for (id, raw) in pairs(v.get(2..).unwrap_or_default()) {
            match decode::<T>(&raw) {
                Ok((_, value)) => rows.push((id, value)),
                Err(e) => {
                    self.write(&part, Some(&held), &[]).await?;
                    return Err(e);
                }
            }
        }
        let mut loaded = Loaded::new(rows);
        let out = f(&mut Rows::new(&mut loaded), total);
        self.write_back(&part, &held, &loaded).await?;
        Ok(out)
    }

    /// Writes what a step changed in `loaded` and ends the lock.
    async fn write_back(
        &self,
        part: &str,
        held: &Held,
        loaded: &Loaded<T>,
    ) -> Result<(), StoreError> {
        let mut writes = Vec::new();
        for w in loaded.writes() {
            match w {
                Write::Delete(id) => writes.push(('D', id, String::new())),
                Write::Put(id, value) => match encode(value) {
                    Ok(json) => writes.push(('P', id, json)),
                    Err(e) => {
                        self.write(part, Some(held), &[]).await?;
                        return Err(e);
                    }
                },
            }
        }
        self.write(part, Some(held), &writes).await
    }

    /// `Table::oldest`: under the partition lock, reads the oldest records a few at a
    /// time while `pick` takes them, then lets the lock go, having written nothing.
    pub(super) async fn oldest(
        &self,
        scope: &Scope,
        mut pick: impl FnMut(usize, &T) -> bool,
    ) -> Result<Vec<(String, T)>, StoreError> {
        // Enough for what a bounded queue forgets at once at its default cap (Compute's
        // sixteenth of 1,000), so the lock is held for two steps: other writers of the
        // partition wait for it.
        const CHUNK: usize = 64;
        let part = self.part(scope);
        let keys = self.keys(&part);
        // One step takes the lock, counts the records and reads the oldest few.
        let (held, first) = self
            .lock(&part, &LOCK_OLDEST, &[&CHUNK.to_string()])
            .await?;
        let mut left = usize::try_from(int(first.get(1))).unwrap_or(0);
        let read = async {
            let mut out = Vec::new();
            let mut rows: Vec<Value> = first.get(2..).unwrap_or_default().to_vec();
            let mut from_score = String::new();
            loop {
                for triple in rows.chunks(3) {
                    if let [score, id, raw] = triple {
                        from_score = text(score);
                        let raw = text(raw);
                        if raw.is_empty() {
                            continue;
                        }
                        let (_, value) = decode::<T>(&raw)?;
                        if !pick(left, &value) {
                            return Ok(out);
                        }
                        left = left.saturating_sub(1);
                        out.push((text(id), value));
                    }
                }
                if rows.len() / 3 < CHUNK {
                    return Ok(out);
                }
                let mut inv = PAGE.prepare_invoke();
                inv.key(&keys[1])
                    .key(&keys[2])
                    .arg("")
                    .arg(&from_score)
                    .arg(CHUNK);
                let v: Vec<Value> = self.backend.eval(inv).await?;
                rows = v.get(1..).unwrap_or_default().to_vec();
            }
        };
        let out: Result<Vec<(String, T)>, StoreError> = read.await;
        self.write(&part, Some(&held), &[]).await?;
        out
    }

    /// Runs `script` (KEYS lock, rows, order, rev, tv, parts; ARGV the partition, then
    /// `args`) as one step that takes no lock: beside the process's other such steps on
    /// the partition, after those holding its lock, and again while the script answers
    /// `{'BUSY'}` (another process holds the partition).
    /// What the script answered otherwise.
    async fn unlocked_step(
        &self,
        part: &str,
        script: &Script,
        args: &[&str],
    ) -> Result<Vec<Value>, StoreError> {
        let local = self.backend.local_lock(part);
        let _queue = local.read().await;
        let keys = self.keys(part);
        let mut backoff = Backoff::new();
        loop {
            let mut inv = script.prepare_invoke();
            for k in &keys {
                inv.key(k);
            }
            inv.arg(part);
            for a in args {
                inv.arg(*a);
            }
            let v: Vec<Value> = self.backend.eval(inv).await?;
            if v.first().map(text).as_deref() != Some("BUSY") {
                return Ok(v);
            }
            backoff.wait(part).await?;
        }
    }

    /// `Table::push`: one script adds the record and reads the count and the oldest record.
    pub(super) async fn push(
        &self,
        scope: &Scope,
        id: &str,
        value: &T,
    ) -> Result<(usize, Option<(String, T)>), StoreError> {
        let part = self.part(scope);
        let json = encode(value)?;
        let v = self.unlocked_step(&part, &PUSH, &[id, &json]).await?;
        if v.first().map(text).as_deref() == Some("EXISTS") {
            return Err(StoreError::Exists(id.to_string()));
        }
        let count = usize::try_from(int(v.get(1))).unwrap_or(0);
        let oldest = match (v.get(2), v.get(3)) {
            (Some(oid), Some(raw)) => Some((text(oid), decode::<T>(&text(raw))?.1)),
            _ => None,
        };
        Ok((count, oldest))
    }

    /// Removes one record in one step (no lock taken), handing back what it was.
    pub(super) async fn remove(&self, scope: &Scope, id: &str) -> Result<Option<T>, StoreError> {
        let part = self.part(scope);
        let v = self.unlocked_step(&part, &REMOVE, &[id]).await?;
        match v.get(1) {
            Some(raw) => Ok(Some(decode::<T>(&text(raw))?.1)),
            None => Ok(None),
        }
    }

    pub(super) async fn transact<R>(
        &self,
        scope: &Scope,
        f: impl FnOnce(&mut Rows<'_, T>) -> R,
    ) -> Result<R, StoreError> {
        let part = self.part(scope);
        let (held, v) = self.lock(&part, &LOCK_ALL, &[]).await?;
        let mut rows = Vec::new();
        for (id, raw) in pairs(&v[1..]) {
            match decode::<T>(&raw) {
                Ok((_, value)) => rows.push((id, value)),
                Err(e) => {
                    self.write(&part, Some(&held), &[]).await?;
                    return Err(e);
                }
            }
        }
        let mut loaded = Loaded::new(rows);
        let out = f(&mut Rows::new(&mut loaded));
        self.write_back(&part, &held, &loaded).await?;
        Ok(out)
    }
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn encode<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("cannot encode: {e}")))
}

/// `v1:{rev}:{json}` → revision and JSON text.
fn split_record(raw: &str) -> Result<(u64, &str), StoreError> {
    let bad = || StoreError::Backend("a record in Redis has another schema version".into());
    let rest = raw
        .strip_prefix(SCHEMA)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(bad)?;
    let (rev, json) = rest.split_once(':').ok_or_else(bad)?;
    Ok((rev.parse().map_err(|_| bad())?, json))
}

fn decode<T: Record>(raw: &str) -> Result<(u64, T), StoreError> {
    let (rev, json) = split_record(raw)?;
    let v = serde_json::from_str(json)
        .map_err(|e| StoreError::Backend(format!("a record in Redis cannot be read: {e}")))?;
    Ok((rev, v))
}

/// `%` and `:` escaped, so `{table}:{tenant}:{region}` splits back unambiguously.
fn escape(s: &str) -> String {
    s.replace('%', "%25").replace(':', "%3A")
}

fn unescape(s: &str) -> String {
    s.replace("%3A", ":").replace("%25", "%")
}

fn split_part(part: &str) -> Option<(String, String, String)> {
    let mut it = part.split(':');
    let (table, tenant, region) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    Some((table.to_string(), unescape(tenant), unescape(region)))
}

fn int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Int(n)) => *n,
        Some(Value::BulkString(b)) => String::from_utf8_lossy(b).parse().unwrap_or(0),
        _ => 0,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        _ => String::new(),
    }
}

/// `[id, raw, id, raw, …]` → pairs, skipping empty records.
fn pairs(v: &[Value]) -> Vec<(String, String)> {
    v.chunks(2)
        .filter_map(|p| match p {
            [id, raw] => {
                let raw = text(raw);
                (!raw.is_empty()).then(|| (text(id), raw))
            }
            _ => None,
        })
        .collect()
}

/// How every script that writes records writes one (KEYS rows, order, rev, tv, parts at
/// 2..6, as the scripts below have them): a record put gets a fresh revision and, when
/// new, its place in the order; a removal leaves both; `moved` moves the table's version
/// and keeps the partition listed in `parts` while it holds records.
const RECORD_WRITES: &str = r"
local function put(id, json)
  local rev = redis.call('INCR', KEYS[4])
  redis.call('HSET', KEYS[2], id, 'v1:' .. rev .. ':' .. json)
  if not redis.call('ZSCORE', KEYS[3], id) then
    redis.call('ZADD', KEYS[3], rev, id)
  end
end
local function del(id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
local function moved(part)
  redis.call('INCR', KEYS[5])
  if redis.call('HLEN', KEYS[2]) == 0 then
    redis.call('SREM', KEYS[6], part)
  else
    redis.call('SADD', KEYS[6], part)
  end
end
";

/// A script that writes records: [`RECORD_WRITES`], then `body`.
fn record_script(body: &str) -> Script {
    Script::new(&format!("{RECORD_WRITES}{body}"))
}

/// KEYS lock, rows, order, rev, tv, parts; ARGV token ('' = hold none), part, n, then n
/// triples (op I|P|D, id, JSON).
static WRITE: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    record_script(
        r"
local lock = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if lock then return 'BUSY' end
elseif lock ~= ARGV[1] then
  return 'LOST'
end
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  if ARGV[4 + 3 * i] == 'I' and redis.call('HEXISTS', KEYS[2], ARGV[5 + 3 * i]) == 1 then
    if ARGV[1] ~= '' then redis.call('DEL', KEYS[1]) end
    return 'EXISTS'
  end
end
for i = 0, n - 1 do
  local op, id = ARGV[4 + 3 * i], ARGV[5 + 3 * i]
  if op == 'D' then del(id) else put(id, ARGV[6 + 3 * i]) end
end
if n > 0 then moved(ARGV[2]) end
if ARGV[1] ~= '' then redis.call('DEL', KEYS[1]) end
return 'OK'
",
    )
});

/// KEYS lock, rows, order, rev, tv, parts; ARGV part, n, then n quadruples (op P|D, id,
/// the revision read, '0' = absent; JSON) → {'OK', ids of the records not written because
/// their revision is no longer the one read…}, or {'BUSY'} while a writer holds the
/// partition (nothing written).
static WRITE_IF_UNCHANGED: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    record_script(
        r"
if redis.call('GET', KEYS[1]) then return {'BUSY'} end
local out = {'OK'}
local wrote = false
for i = 0, tonumber(ARGV[2]) - 1 do
  local op, id, seen = ARGV[3 + 4 * i], ARGV[4 + 4 * i], ARGV[5 + 4 * i]
  local cur = redis.call('HGET', KEYS[2], id)
  local rev = cur and string.match(cur, '^[^:]*:(%d+):') or '0'
  if rev ~= seen then
    out[#out + 1] = id
  elseif op == 'D' then
    del(id)
    wrote = true
  else
    put(id, ARGV[6 + 4 * i])
    wrote = true
  end
end
if wrote then moved(ARGV[1]) end
return out
",
    )
});

/// KEYS lock, rows, order; ARGV token, ttl ms, n → {1, records in the partition, score,
/// id, record, … of the n oldest}, or {0} when another writer holds the partition.
static LOCK_OLDEST: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    Script::new(
        r"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local out = {1, redis.call('HLEN', KEYS[2])}
local ids = redis.call('ZRANGE', KEYS[3], 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
for i = 1, #ids, 2 do
  out[#out + 1] = ids[i + 1]
  out[#out + 1] = ids[i]
  out[#out + 1] = redis.call('HGET', KEYS[2], ids[i]) or ''
end
return out
",
    )
});

/// KEYS lock, rows, order, rev, tv, parts; ARGV part, id → {'OK', record} or {'OK'} when
/// there was none, or {'BUSY'} while another writer holds the partition.
static REMOVE: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    record_script(
        r"
if redis.call('GET', KEYS[1]) then return {'BUSY'} end
local old = redis.call('HGET', KEYS[2], ARGV[2])
if not old then return {'OK'} end
del(ARGV[2])
moved(ARGV[1])
return {'OK', old}
",
    )
});

/// KEYS lock, rows, order, rev, tv, parts; ARGV part, id, JSON → {'OK', records in the
/// partition, oldest id, oldest record}, {'EXISTS'} when the id is taken, or {'BUSY'}
/// while another writer holds the partition.
static PUSH: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    record_script(
        r"
if redis.call('GET', KEYS[1]) then return {'BUSY'} end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return {'EXISTS'} end
put(ARGV[2], ARGV[3])
moved(ARGV[1])
local oldest = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
return {'OK', redis.call('HLEN', KEYS[2]), oldest, redis.call('HGET', KEYS[2], oldest)}
",
    )
});

/// KEYS lock, rows (order unused); ARGV token, ttl ms, ids… → {1, records in the partition, id, record,
/// …} (record '' when absent), or {0}.
static LOCK_SOME: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    Script::new(
        r"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local out = {1, redis.call('HLEN', KEYS[2])}
for i = 3, #ARGV do
  out[#out + 1] = ARGV[i]
  out[#out + 1] = redis.call('HGET', KEYS[2], ARGV[i]) or ''
end
return out
",
    )
});

/// KEYS lock, rows, order; ARGV token ('' = read without locking), ttl ms → {1, id,
/// record, …} in order, or {0}.
static LOCK_ALL: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    Script::new(
        r"
if ARGV[1] ~= '' and not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
local out = {1}
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return out
",
    )
});

/// KEYS rows, order; ARGV marker id ('' = none), score to start after ('' = start),
/// count → {1, score, id, record, …} or {0} when the marker is unknown.
static PAGE: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    Script::new(
        r"
local min = '-inf'
if ARGV[1] ~= '' then
  local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if not s then return {0} end
  min = '(' .. s
elseif ARGV[2] ~= '' then
  min = '(' .. ARGV[2]
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], min, '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {1}
for i = 1, #ids, 2 do
  out[#out + 1] = ids[i + 1]
  out[#out + 1] = ids[i]
  out[#out + 1] = redis.call('HGET', KEYS[1], ids[i]) or ''
end
return out
",
    )
});

/// KEYS clock; ARGV the state read ('' = none), the state to write → 1, or 0 when
/// another replica changed it meanwhile.
static CLOCK_CAS: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    Script::new(
        r"
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
",
    )
});

/// KEYS list, seq, cap; ARGV default capacity, then the entries in order → the first
/// entry's number (the others follow it).
static LOG_APPEND: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    Script::new(
        r"
local n = #ARGV - 1
local first = redis.call('INCRBY', KEYS[2], n) - n + 1
local cap = tonumber(redis.call('GET', KEYS[3]) or ARGV[1])
for i = 1, n do
  redis.call('LPUSH', KEYS[1], (first + i - 1) .. ' ' .. ARGV[i + 1])
end
redis.call('LTRIM', KEYS[1], 0, cap - 1)
return first
",
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_split_back_whatever_the_tenant_holds() {
        let p = format!("t:{}:{}", escape("a:b%3A"), escape("ORD"));
        assert_eq!(
            split_part(&p),
            Some(("t".into(), "a:b%3A".into(), "ORD".into()))
        );
    }

    #[test]
    fn records_of_another_schema_are_refused() {
        assert!(split_record("v2:1:{}").is_err());
        assert_eq!(split_record("v1:7:{\"a\":1}").unwrap(), (7, "{\"a\":1}"));
    }

    #[test]
    fn settings_are_checked() {
        let mut s = RedisSettings {
            url: "redis://127.0.0.1:6379/0".into(),
            namespace: "ci-1".into(),
            timeout_ms: 100,
        };
        assert!(s.check().is_ok());
        s.namespace = "a b".into();
        assert!(s.check().is_err());
        s.namespace = "ok".into();
        s.url = "http://x".into();
        assert!(s.check().is_err());
    }
}
