//! The store's contract, one suite for every backend: what a repository may rely on,
//! whether its state lives in this process (`memory`) or in a Redis every replica shares.
//!
//! Each check runs against the memory backend, and against Redis when
//! `UNDERSTUDY_TEST_REDIS` names one (CI starts one). "Two replicas" are two handles on one
//! state: clones of one memory store, or two stores built from the same Redis settings
//! (two connections, as two processes have).
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use common::clock::{ClockChange, ClockState};
use common::journal::{Journal, JournalEntry, JournalQuery};
use common::store::{redis::RedisSettings, Scope, Store, StoreError, StoreSettings, Table};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
struct Thing {
    n: u32,
}

/// A fresh state and a way to open another replica's handle on it.
struct Backend {
    name: &'static str,
    settings: StoreSettings,
    first: Store,
}

impl Backend {
    fn replica(&self) -> Store {
        match self.settings {
            StoreSettings::Memory => self.first.clone(),
            _ => Store::from_settings(&self.settings, "svc").unwrap(),
        }
    }
}

fn backends() -> Vec<Backend> {
    let mut out = vec![Backend {
        name: "memory",
        settings: StoreSettings::Memory,
        first: Store::memory(),
    }];
    let redis = test_support::store_under_test();
    if matches!(redis, StoreSettings::Redis(_)) {
        out.push(Backend {
            name: "redis",
            first: Store::from_settings(&redis, "svc").unwrap(),
            settings: redis,
        });
    } else {
        eprintln!(
            "store conformance: {} is not set, so only the memory backend is checked",
            test_support::TEST_REDIS
        );
    }
    out
}

fn scope(t: &str) -> Scope {
    Scope::new(t, "ORD")
}

#[tokio::test]
async fn a_revision_changes_with_every_write_and_is_never_reused() {
    for b in backends() {
        let things = b.first.table::<Thing>("things");
        let s = scope("a");
        let rev = || async { things.get_map(&s, "1", |_, r| r).await.unwrap() };
        things.insert(&s, "1", Thing { n: 1 }).await.unwrap();
        let first = rev().await.unwrap();
        assert_eq!(rev().await, Some(first), "{}: reads keep it", b.name);
        things.update(&s, "1", |t| t.n = 2).await.unwrap();
        let second = rev().await.unwrap();
        assert_ne!(second, first, "{}", b.name);
        let page = things
            .page_map(&s, None, 10, |_| true, |t, r| (t.n, r))
            .await;
        assert_eq!(page.unwrap(), vec![(2, second)], "{}", b.name);
        things.remove(&s, "1").await.unwrap();
        b.first.reset().await.unwrap();
        things.insert(&s, "1", Thing { n: 2 }).await.unwrap();
        let third = rev().await.unwrap();
        assert!(
            third != first && third != second,
            "{}: a new row, a new revision, even after a reset",
            b.name
        );
    }
}

#[tokio::test]
async fn tables_are_partitioned_by_scope_and_ids_are_unique() {
    for b in backends() {
        let things = b.first.table::<Thing>("things");
        things
            .insert(&scope("a"), "1", Thing { n: 1 })
            .await
            .unwrap();
        assert_eq!(things.get(&scope("b"), "1").await.unwrap(), None);
        assert_eq!(
            things.get(&scope("a"), "1").await.unwrap(),
            Some(Thing { n: 1 })
        );
        assert!(
            matches!(
                things.insert(&scope("a"), "1", Thing { n: 2 }).await,
                Err(StoreError::Exists(_))
            ),
            "{}",
            b.name
        );
        assert_eq!(things.get(&scope("a"), "1").await.unwrap().unwrap().n, 1);
        // A tenant may hold any text: it names one partition.
        let odd = Scope::new("a:b%3A", "x:y");
        things.put(&odd, "1", Thing { n: 9 }).await.unwrap();
        assert_eq!(things.count(&scope("a")).await.unwrap(), 1, "{}", b.name);
        assert_eq!(things.get(&odd, "1").await.unwrap().unwrap().n, 9);
        let other = b.first.table::<Thing>("others");
        assert_eq!(other.get(&scope("a"), "1").await.unwrap(), None);
    }
}

#[tokio::test]
async fn pages_follow_insertion_order_and_markers() {
    for b in backends() {
        let things = b.first.table::<Thing>("things");
        for n in 0..300 {
            things
                .insert(&scope("a"), &n.to_string(), Thing { n })
                .await
                .unwrap();
        }
        things.remove(&scope("a"), "4").await.unwrap();
        // Replacing keeps the place; removing and adding again moves to the end.
        things.put(&scope("a"), "5", Thing { n: 5 }).await.unwrap();
        things
            .transact(&scope("a"), |rows| {
                let v = rows.remove("6").unwrap();
                rows.put("6", v);
            })
            .await
            .unwrap();
        let page = things
            .page(&scope("a"), Some("2"), 3, |_| true)
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|t| t.n).collect::<Vec<_>>(),
            vec![3, 5, 7],
            "{}",
            b.name
        );
        let all = things.list(&scope("a")).await.unwrap();
        assert_eq!(all.len(), 299);
        assert_eq!(all.last().unwrap().n, 6, "{}", b.name);
        // A filter that keeps few records still fills the page, across many rows.
        let rare = things
            .page(&scope("a"), None, 3, |t| t.n % 100 == 99)
            .await
            .unwrap();
        assert_eq!(
            rare.iter().map(|t| t.n).collect::<Vec<_>>(),
            vec![99, 199, 299],
            "{}",
            b.name
        );
        let after = things
            .page(&scope("a"), Some("250"), 1000, |_| true)
            .await
            .unwrap();
        assert_eq!(after.len(), 50, "{}", b.name);
        for marker in ["4", "nope"] {
            assert!(
                matches!(
                    things.page(&scope("a"), Some(marker), 3, |_| true).await,
                    Err(StoreError::MarkerNotFound(_))
                ),
                "{}: marker {marker}",
                b.name
            );
        }
        assert!(matches!(
            things.page(&scope("empty"), Some("1"), 3, |_| true).await,
            Err(StoreError::MarkerNotFound(_))
        ));
    }
}

#[tokio::test]
async fn reset_forgets_records_and_counters_but_not_revocations_and_moves_versions() {
    for b in backends() {
        let things = b.first.table::<Thing>("things");
        let revoked = b.first.table::<Thing>("revoked_tokens");
        things.put(&scope("a"), "1", Thing { n: 1 }).await.unwrap();
        things.put(&scope("b"), "1", Thing { n: 1 }).await.unwrap();
        revoked
            .put(&Scope::global(), "t", Thing::default())
            .await
            .unwrap();
        b.first.next_id("x").await.unwrap();
        let v = things.version().await.unwrap();
        b.first.reset_tenant("a").await.unwrap();
        assert_eq!(things.count(&scope("a")).await.unwrap(), 0, "{}", b.name);
        assert_eq!(things.count(&scope("b")).await.unwrap(), 1, "{}", b.name);
        let v2 = things.version().await.unwrap();
        assert_ne!(v2, v, "{}", b.name);
        b.first.reset().await.unwrap();
        assert_eq!(things.count(&scope("b")).await.unwrap(), 0, "{}", b.name);
        assert_ne!(things.version().await.unwrap(), v2, "{}", b.name);
        assert_eq!(b.first.counter("x").await.unwrap(), 0, "{}", b.name);
        assert!(
            revoked.get(&Scope::global(), "t").await.unwrap().is_some(),
            "{}: revocations survive a reset",
            b.name
        );
    }
}

#[tokio::test]
async fn concurrent_updates_through_two_replicas_never_lose_a_write() {
    for b in backends() {
        let replicas = [b.first.clone(), b.replica()];
        let c = Scope::global();
        replicas[0]
            .table::<Thing>("things")
            .put(&c, "c", Thing { n: 0 })
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let things = replicas[i % 2].table::<Thing>("things");
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    things.update(&c, "c", |t| t.n += 1).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let n = replicas[1]
            .table::<Thing>("things")
            .get(&c, "c")
            .await
            .unwrap()
            .unwrap()
            .n;
        assert_eq!(n, 400, "{}", b.name);
    }
}

/// Many changes queued at once on one partition (one hot record, many others, and
/// records that do not exist yet), from two replicas and many threads: each change of a
/// record sees the one before it, so the values handed back are exactly 1..=n.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_queued_together_each_see_the_one_before_them() {
    for b in backends() {
        // One table handle per replica, shared by its tasks (as a mock shares its state),
        // so their changes queue together.
        let tables = [
            b.first.table::<Thing>("things"),
            b.replica().table::<Thing>("things"),
        ];
        let s = scope("queued");
        let mut tasks = Vec::new();
        for i in 0..64 {
            let things = tables[i % 2].clone();
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut seen = Vec::new();
                for round in 0..10 {
                    let n = things
                        .upsert(&s, "hot", Thing::default, |t| {
                            t.n += 1;
                            t.n
                        })
                        .await
                        .unwrap();
                    seen.push(n);
                    // A record of its own, created by the first change, changed by the rest.
                    let own = things
                        .upsert(&s, &format!("own-{i}"), Thing::default, |t| {
                            t.n += 1;
                            t.n
                        })
                        .await
                        .unwrap();
                    assert_eq!(own, round + 1);
                    // Absent: the change sees nothing and writes nothing.
                    let none = things.update(&s, "absent", |t| t.n).await.unwrap();
                    assert_eq!(none, None);
                }
                seen
            }));
        }
        let mut seen = Vec::new();
        for t in tasks {
            seen.extend(t.await.unwrap());
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=640).collect::<Vec<u32>>(), "{}", b.name);
        let things = &tables[1];
        assert_eq!(things.get(&s, "hot").await.unwrap(), Some(Thing { n: 640 }));
        assert_eq!(
            things.get(&s, "own-63").await.unwrap(),
            Some(Thing { n: 10 })
        );
        assert_eq!(things.get(&s, "absent").await.unwrap(), None);
        assert_eq!(things.count(&s).await.unwrap(), 65, "{}", b.name);
    }
}

/// A change whose caller goes away while it waits (a client that hung up) does not take
/// the changes queued with it down: every change whose caller stayed lands, and those
/// whose callers left before their turn do not. Another replica holds the partition while
/// the changes queue, so those whose callers go away are queued when they do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_caller_goes_away_leaves_the_others_whole() {
    use std::time::Duration;
    for b in backends() {
        let things = b.first.table::<Thing>("things");
        let s = scope("gone");
        things.put(&s, "c", Thing { n: 0 }).await.unwrap();
        let holder = test_support::hold_partition(
            b.replica().table::<Thing>("things"),
            s.clone(),
            Duration::from_millis(1000),
        )
        .await;
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        for i in 0..200 {
            let things = things.clone();
            let s = s.clone();
            let task = tokio::spawn(async move { things.update(&s, "c", |t| t.n += 1).await });
            if i % 3 == 0 {
                dropped.push(task);
            } else {
                kept.push(task);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        for t in &dropped {
            t.abort();
        }
        tokio::task::spawn_blocking(move || holder.join().unwrap())
            .await
            .unwrap()
            .unwrap();
        for t in kept {
            assert_eq!(t.await.unwrap().unwrap(), Some(()), "{}", b.name);
        }
        for t in dropped {
            let _ = t.await;
        }
        let n = things.get(&s, "c").await.unwrap().unwrap().n;
        assert!(n >= 133, "{}: every kept change landed: {n}", b.name);
        if b.name == "redis" {
            assert!(n < 200, "the callers went away before their turn: {n}");
        }
    }
}

#[tokio::test]
async fn a_check_then_insert_is_atomic_across_replicas() {
    for b in backends() {
        let replicas = [b.first.clone(), b.replica()];
        let mut tasks = Vec::new();
        for i in 0..20 {
            let things = replicas[i % 2].table::<Thing>("limited");
            tasks.push(tokio::spawn(async move {
                things
                    .transact(&scope("a"), |rows| {
                        if rows.len() >= 5 {
                            return false;
                        }
                        rows.put(&i.to_string(), Thing { n: i as u32 });
                        true
                    })
                    .await
                    .unwrap()
            }));
        }
        let mut admitted = 0;
        for t in tasks {
            admitted += usize::from(t.await.unwrap());
        }
        assert_eq!(admitted, 5, "{}", b.name);
        let count = replicas[1]
            .table::<Thing>("limited")
            .count(&scope("a"))
            .await
            .unwrap();
        assert_eq!(count, 5, "{}", b.name);
    }
}

/// Removes what `oldest` picked, as a bounded queue does.
async fn remove_picked(things: &Table<Thing>, s: &Scope, picked: &[(String, Thing)]) {
    let ids: Vec<String> = picked.iter().map(|(id, _)| id.clone()).collect();
    things
        .transact_some(s, &ids, |rows, _| {
            for id in &ids {
                rows.remove(id);
            }
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn the_oldest_are_picked_while_asked_and_replicas_removing_what_they_picked_never_remove_too_much(
) {
    for b in backends() {
        let things = b.first.table::<Thing>("queue");
        let s = scope("a");
        for i in 0..40u32 {
            things
                .put(&s, &i.to_string(), Thing { n: i })
                .await
                .unwrap();
        }
        // Old records (n < 5), then the oldest past 30, then the first not picked stops it.
        let picked = things
            .oldest(&s, |left, t| t.n < 5 || left > 30)
            .await
            .unwrap();
        let ids: Vec<_> = picked.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            "{}",
            b.name
        );
        assert_eq!(picked[9].1, Thing { n: 9 });
        assert_eq!(
            things.count(&s).await.unwrap(),
            40,
            "{}: picking removes nothing",
            b.name
        );
        remove_picked(&things, &s, &picked).await;
        assert_eq!(things.count(&s).await.unwrap(), 30, "{}", b.name);
        let nothing = things.oldest(&s, |_, t| t.n < 5).await.unwrap();
        assert!(nothing.is_empty(), "{}", b.name);

        // Twenty queues at once over two replicas, each picking to leave 20 records and
        // removing what it picked: exactly ten go, the oldest.
        let replicas = [b.first.clone(), b.replica()];
        let mut tasks = Vec::new();
        for i in 0..20 {
            let things = replicas[i % 2].table::<Thing>("queue");
            tasks.push(tokio::spawn(async move {
                let s = scope("a");
                let picked = things.oldest(&s, |left, _| left > 20).await.unwrap();
                remove_picked(&things, &s, &picked).await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(things.count(&s).await.unwrap(), 20, "{}", b.name);
        let first = things.page(&s, None, 1, |_| true).await.unwrap();
        assert_eq!(first, [Thing { n: 20 }], "{}", b.name);
        assert!(things
            .oldest(&scope("empty"), |_, _| true)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn a_push_adds_the_newest_and_reports_the_count_and_the_oldest_across_replicas() {
    for b in backends() {
        let things = b.first.table::<Thing>("pushed");
        let s = scope("p");
        let (count, oldest) = things.push(&s, "a", Thing { n: 1 }).await.unwrap();
        assert_eq!(
            (count, oldest),
            (1, Some(("a".into(), Thing { n: 1 }))),
            "{}",
            b.name
        );
        let (count, oldest) = things.push(&s, "b", Thing { n: 2 }).await.unwrap();
        assert_eq!(
            (count, oldest),
            (2, Some(("a".into(), Thing { n: 1 }))),
            "{}",
            b.name
        );
        // A taken id is refused and changes nothing.
        assert!(
            matches!(
                things.push(&s, "a", Thing { n: 9 }).await,
                Err(StoreError::Exists(id)) if id == "a"
            ),
            "{}",
            b.name
        );
        assert_eq!(things.get(&s, "a").await.unwrap(), Some(Thing { n: 1 }));
        // The pushed record is the newest: the oldest are the others.
        let picked = things.oldest(&s, |left, _| left > 1).await.unwrap();
        assert_eq!(picked, [("a".to_string(), Thing { n: 1 })], "{}", b.name);
        remove_picked(&things, &s, &picked).await;

        // Forty pushes at once over two replicas: every one lands, the counts they report
        // are forty different ones, and the oldest is always the first that was kept.
        let replicas = [b.first.clone(), b.replica()];
        let mut tasks = Vec::new();
        for i in 0..40u32 {
            let things = replicas[(i % 2) as usize].table::<Thing>("pushed");
            tasks.push(tokio::spawn(async move {
                things
                    .push(&scope("p"), &format!("c{i}"), Thing { n: 100 + i })
                    .await
                    .unwrap()
            }));
        }
        let mut counts = HashSet::new();
        for t in tasks {
            let (count, oldest) = t.await.unwrap();
            counts.insert(count);
            assert_eq!(oldest, Some(("b".into(), Thing { n: 2 })), "{}", b.name);
        }
        assert_eq!(counts, (2..=41).collect::<HashSet<usize>>(), "{}", b.name);
        assert_eq!(things.count(&s).await.unwrap(), 41, "{}", b.name);
    }
}

#[tokio::test]
async fn a_step_over_named_records_sees_only_them_and_is_atomic_across_replicas() {
    for b in backends() {
        let things = b.first.table::<Thing>("named");
        let s = scope("a");
        for i in 0..10u32 {
            things
                .put(&s, &i.to_string(), Thing { n: i })
                .await
                .unwrap();
        }
        let ids = [
            "3".to_string(),
            "7".to_string(),
            "new".to_string(),
            "gone".to_string(),
        ];
        let (seen, total) = things
            .transact_some(&s, &ids, |rows, total| {
                let seen: Vec<_> = rows.iter().map(|(id, t)| (id.to_string(), t.n)).collect();
                rows.get_mut("3").unwrap().n = 30;
                rows.remove("7");
                rows.insert("new", Thing { n: 99 }).unwrap();
                assert!(rows.insert("new", Thing { n: 1 }).is_err());
                (seen, total)
            })
            .await
            .unwrap();
        assert_eq!(
            seen,
            [("3".to_string(), 3), ("7".to_string(), 7)],
            "{}",
            b.name
        );
        assert_eq!(total, 10, "{}", b.name);
        let all: Vec<u32> = things.list(&s).await.unwrap().iter().map(|t| t.n).collect();
        assert_eq!(all, [0, 1, 2, 30, 4, 5, 6, 8, 9, 99], "{}", b.name);

        // Forty increments of one record over two replicas: none lost.
        let replicas = [b.first.clone(), b.replica()];
        let mut tasks = Vec::new();
        for i in 0..40 {
            let things = replicas[i % 2].table::<Thing>("named");
            tasks.push(tokio::spawn(async move {
                things
                    .transact_some(&scope("a"), &["0".to_string()], |rows, _| {
                        rows.get_mut("0").unwrap().n += 1;
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            things.get(&s, "0").await.unwrap(),
            Some(Thing { n: 40 }),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn upsert_creates_then_changes_and_remove_hands_the_record_back() {
    for b in backends() {
        let things = b.first.table::<Thing>("things");
        let s = scope("a");
        let n = things
            .upsert(&s, "u", Thing::default, |t| {
                t.n += 1;
                t.n
            })
            .await
            .unwrap();
        assert_eq!(n, 1, "{}", b.name);
        let n = things
            .upsert(&s, "u", Thing::default, |t| {
                t.n += 1;
                t.n
            })
            .await
            .unwrap();
        assert_eq!(n, 2, "{}", b.name);
        assert_eq!(things.update(&s, "nope", |t| t.n).await.unwrap(), None);
        assert_eq!(
            things.remove(&s, "u").await.unwrap(),
            Some(Thing { n: 2 }),
            "{}",
            b.name
        );
        assert_eq!(things.remove(&s, "u").await.unwrap(), None);
        assert_eq!(things.count(&s).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn counters_count_from_one_and_never_hand_out_a_value_twice() {
    for b in backends() {
        assert_eq!(b.first.next_id("x").await.unwrap(), 1, "{}", b.name);
        assert_eq!(b.first.next_id("x").await.unwrap(), 2);
        assert_eq!(b.first.next_id("y").await.unwrap(), 1);
        let replicas = [b.first.clone(), b.replica()];
        let mut tasks = Vec::new();
        for i in 0..10 {
            let s = replicas[i % 2].clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..30 {
                    got.push(s.next_id("z").await.unwrap());
                }
                got
            }));
        }
        let mut seen = HashSet::new();
        for t in tasks {
            for v in t.await.unwrap() {
                assert!(seen.insert(v), "{}: {v} handed out twice", b.name);
            }
        }
        assert_eq!(seen.len(), 300);
        assert_eq!(b.replica().counter("z").await.unwrap(), 300);
    }
}

#[tokio::test]
async fn a_write_through_one_replica_is_seen_by_the_other_and_moves_the_version() {
    for b in backends() {
        let (one, two) = (b.first.clone(), b.replica());
        let v = two.table::<Thing>("rules").version().await.unwrap();
        one.table::<Thing>("rules")
            .put(&Scope::global(), "r", Thing { n: 7 })
            .await
            .unwrap();
        assert_ne!(
            two.table::<Thing>("rules").version().await.unwrap(),
            v,
            "{}",
            b.name
        );
        assert_eq!(
            two.table::<Thing>("rules")
                .get(&Scope::global(), "r")
                .await
                .unwrap(),
            Some(Thing { n: 7 })
        );
        assert_eq!(one.id(), two.id(), "{}: one state, one id", b.name);
    }
}

#[tokio::test]
async fn clock_changes_reach_every_replica_and_concurrent_ones_add_up() {
    for b in backends() {
        let (one, two) = (b.first.clone(), b.replica());
        let at = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        one.change_clock(ClockChange::Freeze(Some(at)))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..10 {
            let s = if i % 2 == 0 { one.clone() } else { two.clone() };
            tasks.push(tokio::spawn(async move {
                s.change_clock(ClockChange::Advance(1.0)).await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        two.sync_clock().await.unwrap();
        one.sync_clock().await.unwrap();
        let expected = ClockState::Frozen {
            at: at + chrono::Duration::seconds(10),
        };
        assert_eq!(two.clock().state(), expected, "{}", b.name);
        assert_eq!(one.clock().state(), expected, "{}", b.name);
        assert_eq!(one.clock_id(), two.clock_id());
        assert!(two.change_clock(ClockChange::Advance(1e13)).await.is_err());
        two.sync_clock().await.unwrap();
        assert_eq!(
            two.clock().state(),
            expected,
            "{}: refused, unchanged",
            b.name
        );
    }
}

#[tokio::test]
async fn the_journal_is_one_log_for_every_replica() {
    for b in backends() {
        let one = Journal::for_store(3, &b.first);
        let two = if matches!(b.settings, StoreSettings::Memory) {
            one.clone()
        } else {
            Journal::for_store(3, &b.replica())
        };
        for i in 0..5 {
            let j = if i % 2 == 0 { &one } else { &two };
            j.record(entry(&format!("/{i}"))).await;
        }
        let all = two.query(&JournalQuery::default()).await.unwrap();
        assert_eq!(
            all.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["/2", "/3", "/4"],
            "{}",
            b.name
        );
        assert_eq!(all[2].seq, 5, "{}", b.name);
        two.set_capacity(2).await.unwrap();
        assert_eq!(one.capacity().await.unwrap(), 2, "{}", b.name);
        assert_eq!(one.query(&JournalQuery::default()).await.unwrap().len(), 2);
        one.clear().await.unwrap();
        assert!(two
            .query(&JournalQuery::default())
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn the_journal_numbers_every_entry_of_concurrent_requests_once() {
    for b in backends() {
        let one = Journal::for_store(1000, &b.first);
        let two = if matches!(b.settings, StoreSettings::Memory) {
            one.clone()
        } else {
            Journal::for_store(1000, &b.replica())
        };
        one.clear().await.unwrap();
        // More at once than one step appends (the Redis journal groups what waits).
        let appends = (0..600).map(|i| {
            let j = if i % 2 == 0 { one.clone() } else { two.clone() };
            async move { j.record(entry(&format!("/{i}"))).await }
        });
        futures_util::future::join_all(appends).await;
        let all = two.query(&JournalQuery::default()).await.unwrap();
        let mut paths: Vec<&str> = all.iter().map(|e| e.path.as_str()).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), 600, "{}: every entry kept once", b.name);
        let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
        let first = seqs[0];
        assert_eq!(
            seqs,
            (first..first + 600).collect::<Vec<_>>(),
            "{}: numbered one after another, oldest first",
            b.name
        );
    }
}

/// An append whose runtime stops before its appending task ever runs (a worker going
/// away) loses its entry, not the journal: the next append, in another runtime, lands.
#[test]
fn an_append_whose_runtime_stops_first_leaves_the_journal_appending() {
    use std::time::Duration;
    for b in backends() {
        let journal = Journal::for_store(10, &b.first);
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let first = runtime();
        first.block_on(async {
            // Polled once, the runtime never parked: the entry queued and its task
            // spawned, never run.
            use futures_util::FutureExt;
            let _ = journal.record(entry("/lost")).now_or_never();
        });
        drop(first);
        runtime().block_on(async {
            tokio::time::timeout(Duration::from_secs(5), journal.record(entry("/kept")))
                .await
                .expect("the journal still appends");
            let all = journal.query(&JournalQuery::default()).await.unwrap();
            assert!(all.iter().any(|e| e.path == "/kept"), "{}: {all:?}", b.name);
        });
    }
}

fn entry(path: &str) -> JournalEntry {
    JournalEntry {
        seq: 0,
        time: chrono::Utc::now(),
        received_us: 0,
        service: "svc".into(),
        method: "GET".into(),
        path: path.into(),
        route: None,
        query: String::new(),
        status: 200,
        tenant: None,
        region: None,
        latency_us: 1,
        request_id: "r".into(),
        rule: None,
        exchange: None,
    }
}

#[tokio::test]
async fn snapshots_list_every_table_by_scope() {
    for b in backends() {
        let things = b.first.table::<Thing>("things");
        b.first.table::<Thing>("empty_table");
        things.put(&scope("b"), "2", Thing { n: 2 }).await.unwrap();
        things.put(&scope("a"), "1", Thing { n: 1 }).await.unwrap();
        let snap = b.first.snapshot().await.unwrap();
        assert_eq!(snap["empty_table"], serde_json::json!([]), "{}", b.name);
        assert_eq!(
            snap["things"],
            serde_json::json!([
                {"tenant": "a", "region": "ORD", "records": [{"id": "1", "value": {"n": 1}}]},
                {"tenant": "b", "region": "ORD", "records": [{"id": "2", "value": {"n": 2}}]},
            ]),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn a_redis_that_does_not_answer_is_unavailable_within_the_timeout() {
    // Nothing listens on this port: every operation fails fast, none hangs or panics.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = StoreSettings::Redis(RedisSettings {
        url: format!("redis://127.0.0.1:{port}/0"),
        namespace: "down".into(),
        timeout_ms: 300,
    });
    let store = Store::from_settings(&settings, "svc").unwrap();
    let started = std::time::Instant::now();
    let things = store.table::<Thing>("things");
    assert!(matches!(
        things.get(&scope("a"), "1").await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        things.insert(&scope("a"), "1", Thing::default()).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.sync_clock().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(store.ping().await.is_err());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answers within the timeout, took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_backend_is_a_tagged_setting() {
    let memory: StoreSettings = toml::from_str("backend = \"memory\"").unwrap();
    assert_eq!(memory, StoreSettings::Memory);
    let redis: StoreSettings =
        toml::from_str("backend = \"redis\"\nurl = \"redis://r:6379/0\"").unwrap();
    assert_eq!(
        redis,
        StoreSettings::Redis(RedisSettings {
            url: "redis://r:6379/0".into(),
            namespace: "understudy".into(),
            timeout_ms: 2000,
        })
    );
    assert!(
        toml::from_str::<StoreSettings>("backend = \"redis\"").is_err(),
        "url needed"
    );
    assert!(toml::from_str::<StoreSettings>("backend = \"mongo\"").is_err());
    assert!(
        toml::from_str::<StoreSettings>("backend = \"redis\"\nurl = \"redis://r\"\nurll = 1")
            .is_err()
    );
}
