//! The queue for single-record changes (`Table::update`, `Table::upsert` on Redis).
//!
//! A change of one record is a read, the caller's closure, and a write. Queued one by
//! one, a busy partition (a tenant's quota usage, which every create and delete changes)
//! did one change per two round trips whatever the load. Instead, the changes waiting for
//! a partition go together: a drainer task (`RedisTable::drain`, one per partition and
//! table handle) reads the batch's records in one step, hands each record in turn to the
//! task that asked (which runs its own closure on it, so closures may borrow and need not
//! be `Send`), and writes what they made of them in one step.
//!
//! That step writes a record only if no other writer changed it since the read (its
//! revision is still the one read) and no writer holds the partition's lock; the changes
//! of a record that was changed meanwhile get a fresh read and run again, so replicas
//! changing different records of one partition do not wait for each other. After a few
//! such tries the batch takes the partition's lock, reads and writes under it, and no
//! other writer can pass it (`redis.rs`, `RedisTable::run_batch`); while it holds it, the
//! other writers of the partition, in every replica, wait.
//!
//! Each change sees the one before it on the same record, in the order they queued, and
//! is atomic against every other writer, in every replica, as one change was. A caller
//! that goes away while its change waits leaves the record as it was and the others
//! whole. A drainer that ends before a change's turn (its runtime stopped) hands the
//! change back to its caller, which queues it again; a change that already ran on a try
//! that did not land is told the store did not answer.
//!
//! This file holds the queue and the hand-over; `redis.rs` reads and writes.

use std::sync::Arc;

use futures_util::future::join_all;
use tokio::sync::{mpsc, oneshot};

use crate::store::model::{Record, StoreError};
use crate::FastMap;

/// The most changes one lock serves; those queued beyond it wait for the next.
const MOST: usize = 256;

/// A change waiting for its partition, as the drainer sees it.
pub(super) struct Waiter<T> {
    id: String,
    turns: mpsc::UnboundedSender<Turn<T>>,
}

/// The same change, as its caller holds it.
pub(super) struct Ticket<T> {
    turns: mpsc::UnboundedReceiver<Turn<T>>,
}

/// What the drainer tells a waiting change.
enum Turn<T> {
    /// The record as the changes before this one left it (`None`: there is none); the
    /// caller answers with what it is now.
    Record(Option<T>, oneshot::Sender<Option<T>>),
    /// Whether the batch's write landed (or why this change did not).
    Done(Result<(), StoreError>),
}

/// A change for the record `id`, and its caller's end.
pub(super) fn waiter<T>(id: &str) -> (Waiter<T>, Ticket<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Waiter {
            id: id.to_string(),
            turns: tx,
        },
        Ticket { turns: rx },
    )
}

impl<T> Waiter<T> {
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    /// Tells the caller how its change ended.
    pub(super) fn answer(&self, result: Result<(), StoreError>) {
        let _ = self.turns.send(Turn::Done(result));
    }
}

/// How a queued change ended for its caller.
pub(super) enum Served<R, F> {
    /// Its closure ran and this is the answer, or it failed with this error.
    Answer(Result<R, StoreError>),
    /// Its drainer ended before its turn: nothing was done, and here is the closure back.
    NotRun(F),
}

impl<T> Ticket<T> {
    /// Waits for the change's turn, runs `f` on the record, and answers once the batch's
    /// write has landed. A change whose record another writer changed between the read
    /// and the write is handed the record again: `f` runs once per turn, and the answer
    /// is what its last run said.
    pub(super) async fn serve<R, F: FnMut(&mut Option<T>) -> R>(
        mut self,
        mut f: F,
    ) -> Served<R, F> {
        let mut out = None;
        loop {
            match self.turns.recv().await {
                Some(Turn::Record(mut slot, back)) => {
                    out = Some(f(&mut slot));
                    // The drainer waits for this answer; if it is gone, so is the batch,
                    // and the next turn says so.
                    let _ = back.send(slot);
                }
                Some(Turn::Done(Ok(()))) => {
                    return Served::Answer(out.ok_or_else(|| {
                        StoreError::Backend("a queued change was answered but not run".into())
                    }))
                }
                Some(Turn::Done(Err(e))) => return Served::Answer(Err(e)),
                None => {
                    return match out {
                        None => Served::NotRun(f),
                        Some(_) => Served::Answer(Err(StoreError::Unavailable(
                            "the batch of queued changes ended without knowing whether its \
                             write landed"
                                .into(),
                        ))),
                    }
                }
            }
        }
    }
}

/// The changes queued on each partition of one table; a partition is here while its
/// drainer runs.
pub(super) type Queues<T> = std::sync::Mutex<FastMap<String, Vec<Waiter<T>>>>;

/// Queues a change; on an idle partition, what its new drainer serves (the caller
/// spawns it).
pub(super) fn enqueue<T>(queues: &Arc<Queues<T>>, part: &str, w: Waiter<T>) -> Option<Draining<T>> {
    let mut map = queues.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(queue) = map.get_mut(part) {
        queue.push(w);
        return None;
    }
    map.insert(part.to_string(), vec![w]);
    Some(Draining {
        queues: queues.clone(),
        part: part.to_string(),
        done: false,
    })
}

/// A partition's queue while a drainer serves it. Dropped before the queue is empty (the
/// drainer panicked, or its task was dropped, run or not), it drops the changes still
/// queued, whose callers queue them again, so no change waits for a drainer that will
/// not come.
pub(super) struct Draining<T> {
    queues: Arc<Queues<T>>,
    part: String,
    done: bool,
}

impl<T> Draining<T> {
    pub(super) fn part(&self) -> &str {
        &self.part
    }

    /// The next batch in queue order (changes whose callers went away left out), or
    /// `None` when the queue is empty: then the partition has no drainer.
    pub(super) fn next(&mut self) -> Option<Vec<Waiter<T>>> {
        let mut map = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let Some(queue) = map.get_mut(&self.part) else {
            // Not reached: the entry is this drainer's until it says so.
            self.done = true;
            return None;
        };
        loop {
            if queue.is_empty() {
                map.remove(&self.part);
                self.done = true;
                return None;
            }
            let n = queue.len().min(MOST);
            let batch: Vec<_> = queue.drain(..n).filter(|w| !w.turns.is_closed()).collect();
            if !batch.is_empty() {
                return Some(batch);
            }
        }
    }
}

impl<T> Drop for Draining<T> {
    fn drop(&mut self) {
        if !self.done {
            let mut map = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            map.remove(&self.part);
        }
    }
}

/// The changes of one record in a batch.
pub(super) struct Chain<T> {
    id: String,
    existed: bool,
    /// The record as the changes so far left it; an error if it cannot be read.
    slot: Option<Result<T, StoreError>>,
    /// Whether some change ran (so the record is written back).
    touched: bool,
    /// Those still to hear how the batch ended.
    waiters: Vec<Waiter<T>>,
}

/// The batch as one chain per record, in queue order; `read` gives each record as read
/// with the lock.
pub(super) fn chains<T>(
    batch: Vec<Waiter<T>>,
    mut read: impl FnMut(&str) -> Option<Result<T, StoreError>>,
) -> Vec<Chain<T>> {
    let mut at: FastMap<String, usize> = FastMap::default();
    let mut chains: Vec<Chain<T>> = Vec::new();
    for w in batch {
        match at.get(&w.id) {
            Some(&i) => chains[i].waiters.push(w),
            None => {
                let slot = read(&w.id);
                at.insert(w.id.clone(), chains.len());
                chains.push(Chain {
                    id: w.id.clone(),
                    existed: slot.is_some(),
                    slot,
                    touched: false,
                    waiters: vec![w],
                });
            }
        }
    }
    chains
}

/// Hands every record to its changes: chains of different records side by side, the
/// changes of one record in turn.
pub(super) async fn run<T: Record>(chains: Vec<Chain<T>>) -> Vec<Chain<T>> {
    join_all(chains.into_iter().map(Chain::run)).await
}

impl<T: Record> Chain<T> {
    async fn run(mut self) -> Chain<T> {
        if let Some(Err(e)) = &self.slot {
            for w in self.waiters.drain(..) {
                w.answer(Err(e.clone()));
            }
            return self;
        }
        let mut slot = self.slot.take().and_then(Result::ok);
        for w in &self.waiters {
            let (back, answer) = oneshot::channel();
            // Sent as a copy: a caller that goes away takes it with it.
            if w.turns.send(Turn::Record(slot.clone(), back)).is_err() {
                continue; // its caller went away: the record stays as it was
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

impl<T> Chain<T> {
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    /// What to write back: `None` nothing, `Some(Some(v))` the record, `Some(None)` its
    /// removal.
    pub(super) fn outcome(&self) -> Option<Option<&T>> {
        if !self.touched {
            return None;
        }
        match &self.slot {
            Some(Ok(value)) => Some(Some(value)),
            None if self.existed => Some(None),
            _ => None,
        }
    }

    /// The changes of the record, to be handed a fresher copy of it.
    pub(super) fn into_waiters(self) -> Vec<Waiter<T>> {
        self.waiters
    }

    /// Tells each change of the record how the batch ended.
    pub(super) fn answer(self, result: Result<(), StoreError>) {
        for w in &self.waiters {
            w.answer(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues() -> Arc<Queues<u32>> {
        Arc::default()
    }

    #[tokio::test]
    async fn a_drainer_dropped_before_it_runs_hands_its_changes_back_unrun() {
        let q = queues();
        let (w, ticket) = waiter::<u32>("a");
        let draining = enqueue(&q, "p", w).expect("the first change starts a drainer");
        let (w2, ticket2) = waiter::<u32>("b");
        assert!(
            enqueue(&q, "p", w2).is_none(),
            "the second one queues behind it"
        );
        drop(draining);
        assert!(
            q.lock().unwrap().is_empty(),
            "the partition has no drainer left"
        );
        assert!(matches!(
            ticket.serve(|v| v.is_none()).await,
            Served::NotRun(_)
        ));
        assert!(matches!(
            ticket2.serve(|v| v.is_none()).await,
            Served::NotRun(_)
        ));
        // Queued again, the change starts a new drainer.
        let (w, _ticket) = waiter::<u32>("a");
        assert!(enqueue(&q, "p", w).is_some());
    }

    #[tokio::test]
    async fn batches_come_in_queue_order_without_the_callers_that_went_away() {
        let q = queues();
        let (w1, _t1) = waiter::<u32>("1");
        let mut draining = enqueue(&q, "p", w1).unwrap();
        let (w2, t2) = waiter::<u32>("2");
        let (w3, _t3) = waiter::<u32>("3");
        assert!(enqueue(&q, "p", w2).is_none());
        assert!(enqueue(&q, "p", w3).is_none());
        drop(t2);
        let batch = draining.next().unwrap();
        let ids: Vec<&str> = batch.iter().map(Waiter::id).collect();
        assert_eq!(ids, ["1", "3"]);
        assert!(draining.next().is_none());
        assert!(q.lock().unwrap().is_empty());
        drop(draining);
        // The finished drainer does not take a newer one's queue with it.
        let (w4, _t4) = waiter::<u32>("4");
        let _newer = enqueue(&q, "p", w4).unwrap();
        assert_eq!(q.lock().unwrap().get("p").map(Vec::len), Some(1));
    }

    #[tokio::test]
    async fn changes_of_one_record_see_each_other_in_turn_and_hear_the_write() {
        let q = queues();
        let mut tickets = Vec::new();
        let mut draining = None;
        for id in ["n", "n", "m", "n"] {
            let (w, t) = waiter::<u32>(id);
            draining = draining.or(enqueue(&q, "p", w));
            tickets.push(t);
        }
        let batch = draining.as_mut().unwrap().next().unwrap();
        let callers: Vec<_> = tickets
            .into_iter()
            .map(|t| {
                tokio::spawn(t.serve(|v: &mut Option<u32>| {
                    let n = v.unwrap_or(0) + 1;
                    *v = Some(n);
                    n
                }))
            })
            .collect();
        let chains = run(chains(batch, |id| (id == "n").then_some(Ok(10)))).await;
        let outcomes: Vec<_> = chains
            .iter()
            .map(|c| (c.id().to_string(), c.outcome().map(|v| v.copied())))
            .collect();
        assert_eq!(
            outcomes,
            [("n".into(), Some(Some(13))), ("m".into(), Some(Some(1)))]
        );
        for c in chains {
            c.answer(Ok(()));
        }
        let mut seen = Vec::new();
        for c in callers {
            match c.await.unwrap() {
                Served::Answer(Ok(n)) => seen.push(n),
                _ => panic!("every change ran and its write landed"),
            }
        }
        assert_eq!(seen, [11, 12, 1, 13]);
    }
}
