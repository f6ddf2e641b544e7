//! One partition lock for every single-record change queued on a partition.
//!
//! A change of one record ([`RedisTable::modify`]: `Table::update`, `Table::upsert`) needs
//! the partition's lock: one round trip to take it and read the record, one to write it
//! and let go. The partition's writers in one process used to queue for it one by one, so
//! a busy partition (a tenant's quota usage, which every create and delete changes) did
//! one change per two round trips whatever the load. Now the changes waiting for a
//! partition go together: one task per partition (the drainer) takes the lock once for
//! all of them, reads their records in the same step, hands each record in turn to the
//! task that asked (which runs its own closure on it, so closures may borrow and need not
//! be `Send`), and writes what they made of them in one step that lets go of the lock.
//!
//! Each change still sees the one before it on the same record, in the order they
//! queued, and the batch is atomic against every other writer, in every replica, as one
//! change was. The drainer is a spawned task: a request that goes away while its change
//! waits leaves the record as it was, and does not take the other changes with it.

use futures_util::future::join_all;
use tokio::sync::{mpsc, oneshot, OwnedRwLockWriteGuard};

use super::{decode, encode, pairs, RedisTable, LOCK_SOME};
use crate::store::model::{Record, StoreError};
use crate::FastMap;

/// The most changes one lock serves; those queued beyond it wait for the next.
const MOST: usize = 256;

/// A change waiting for its partition.
pub(super) struct Waiter<T> {
    id: String,
    turns: mpsc::UnboundedSender<Turn<T>>,
}

/// What the drainer tells a waiting change.
enum Turn<T> {
    /// The record as the changes before this one left it (`None`: there is none); the
    /// waiter answers with what it is now.
    Record(Option<T>, oneshot::Sender<Option<T>>),
    /// Whether the batch's write landed (or why this change did not).
    Done(Result<(), StoreError>),
}

/// The changes queued on each partition of one table; a partition is here while its
/// drainer runs.
pub(super) type Queues<T> = std::sync::Mutex<FastMap<String, Vec<Waiter<T>>>>;

impl<T: Record> RedisTable<T> {
    /// `Table::update` and `Table::upsert`: `f` sees the record (`None` when absent) and
    /// may replace, change or take it, atomically against every writer of the partition.
    pub(in crate::store) async fn modify<R>(
        &self,
        scope: &super::Scope,
        id: &str,
        f: impl FnOnce(&mut Option<T>) -> R,
    ) -> Result<R, StoreError> {
        let part = self.part(scope);
        let (tx, mut turns) = mpsc::unbounded_channel();
        self.enqueue(
            &part,
            Waiter {
                id: id.to_string(),
                turns: tx,
            },
        );
        let mut f = Some(f);
        let mut out = None;
        loop {
            match turns.recv().await {
                Some(Turn::Record(mut slot, back)) => {
                    if let Some(f) = f.take() {
                        out = Some(f(&mut slot));
                    }
                    // The drainer waits for this answer; if it is gone, so is the batch,
                    // and the next turn says so.
                    let _ = back.send(slot);
                }
                Some(Turn::Done(Ok(()))) => {
                    return out.ok_or_else(|| {
                        StoreError::Backend(format!("the change of {id} in {part} was not run"))
                    })
                }
                Some(Turn::Done(Err(e))) => return Err(e),
                None => {
                    return Err(StoreError::Unavailable(format!(
                        "the writes queued on {part} were dropped"
                    )))
                }
            }
        }
    }

    /// Queues a change; the first one on an idle partition starts its drainer.
    fn enqueue(&self, part: &str, waiter: Waiter<T>) {
        let mut map = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = map.get_mut(part) {
            queue.push(waiter);
            return;
        }
        map.insert(part.to_string(), vec![waiter]);
        drop(map);
        let table = self.clone();
        let part = part.to_string();
        tokio::spawn(async move { table.drain(part).await });
    }

    /// Serves the partition's queue, a batch per lock, until it is empty.
    async fn drain(self, part: String) {
        // If this task ends any other way (a panic, the runtime shutting down), the
        // changes still queued are dropped, and their waiters answer "unavailable" rather
        // than waiting for a drainer that will not come.
        struct Leave<'a, T> {
            queues: &'a Queues<T>,
            part: &'a str,
            done: bool,
        }
        impl<T> Drop for Leave<'_, T> {
            fn drop(&mut self) {
                if !self.done {
                    let mut map = self.queues.lock().unwrap_or_else(|e| e.into_inner());
                    map.remove(self.part);
                }
            }
        }
        let mut leave = Leave {
            queues: &self.queues,
            part: &part,
            done: false,
        };
        loop {
            let local = self.backend.local_lock(&part).write_owned().await;
            let batch = {
                let mut map = self.queues.lock().unwrap_or_else(|e| e.into_inner());
                let Some(queue) = map.get_mut(&part) else {
                    leave.done = true;
                    return;
                };
                if queue.is_empty() {
                    map.remove(&part);
                    leave.done = true;
                    return;
                }
                let n = queue.len().min(MOST);
                queue.drain(..n).collect::<Vec<_>>()
            };
            self.run_batch(&part, local, batch).await;
        }
    }

    /// One lock, the batch's records read with it, each change run by its waiter, one
    /// write that lets go of the lock.
    async fn run_batch(&self, part: &str, local: OwnedRwLockWriteGuard<()>, batch: Vec<Waiter<T>>) {
        let mut ids: Vec<&str> = Vec::new();
        for w in &batch {
            if !ids.contains(&w.id.as_str()) {
                ids.push(&w.id);
            }
        }
        let (held, v) = match self.lock_as(local, part, &LOCK_SOME, &ids).await {
            Ok(locked) => locked,
            Err(e) => {
                for w in &batch {
                    let _ = w.turns.send(Turn::Done(Err(e.clone())));
                }
                return;
            }
        };
        let mut found: FastMap<String, String> =
            pairs(v.get(2..).unwrap_or_default()).into_iter().collect();
        // One chain per record, in the order its changes queued; chains of different
        // records run side by side.
        let mut chains: Vec<Chain<T>> = Vec::new();
        for w in batch {
            match chains.iter_mut().find(|c| c.id == w.id) {
                Some(c) => c.waiters.push(w),
                None => {
                    let raw = found.remove(&w.id);
                    chains.push(Chain {
                        id: w.id.clone(),
                        existed: raw.is_some(),
                        slot: raw.map(|raw| decode::<T>(&raw).map(|(_, v)| v)),
                        touched: false,
                        waiters: vec![w],
                    });
                }
            }
        }
        let chains = join_all(chains.into_iter().map(Chain::run)).await;
        let mut writes = Vec::new();
        let mut failed = None;
        for c in &chains {
            if !c.touched {
                continue;
            }
            match &c.slot {
                Some(Ok(value)) => match encode(value) {
                    Ok(json) => writes.push(('P', c.id.as_str(), json)),
                    Err(e) => failed = Some(e),
                },
                None if c.existed => writes.push(('D', c.id.as_str(), String::new())),
                _ => {}
            }
        }
        let result = match failed {
            Some(e) => self.write(part, Some(&held), &[]).await.and(Err(e)),
            None => self.write(part, Some(&held), &writes).await,
        };
        for c in chains {
            for w in c.waiters {
                let _ = w.turns.send(Turn::Done(result.clone()));
            }
        }
    }
}

/// The changes of one record in a batch.
struct Chain<T> {
    id: String,
    existed: bool,
    /// The record as the changes so far left it; an error if it cannot be read.
    slot: Option<Result<T, StoreError>>,
    /// Whether some change ran (so the record is written back).
    touched: bool,
    /// Those still to hear how the batch ended.
    waiters: Vec<Waiter<T>>,
}

impl<T: Record> Chain<T> {
    async fn run(mut self) -> Chain<T> {
        if let Some(Err(e)) = &self.slot {
            for w in self.waiters.drain(..) {
                let _ = w.turns.send(Turn::Done(Err(e.clone())));
            }
            return self;
        }
        let mut slot = self.slot.take().map(|r| r.ok()).unwrap_or(None);
        for w in &self.waiters {
            let (back, answer) = oneshot::channel();
            if w.turns.send(Turn::Record(slot.clone(), back)).is_err() {
                continue; // its request went away: the record stays as it was
            }
            if let Ok(now) = answer.await {
                slot = now;
                self.touched = true;
            }
        }
        self.slot = slot.map(Ok);
        self
    }
}
