//! The rules every `SessionStore` keeps, one generic async fn per rule, run against each
//! store: memory (tests, demos), SQLite (one instance) and PostgreSQL (several instances;
//! the test database of scripts/pg-test.sh, a schema per test). So the stores agree, and a
//! test written against `MemoryStore` holds for the real ones. Each run is named
//! `store_conformance::<rule>::<store>`. What only one store has (files, schemas,
//! migrations, several pools) is in store_sqlite.rs and store_postgres.rs.

use crate::support;

use std::sync::Arc;

use serde_json::json;
use support::store::{calling, declined, id, session};
use tempfile::TempDir;
use threeds_bridge::backend::native::postgres::PostgresOptions;
use threeds_bridge::backend::native::sqlite::SqliteStore;
use threeds_bridge::backend::native::{Purge, Retention};
use threeds_bridge::emv::Pan;
use threeds_bridge::order::OrderId;
use threeds_bridge::payment::{CardSummary, ProviderKind};
use threeds_bridge::session::{AdapterState, Phase, Session};
use threeds_bridge::store::memory::MemoryStore;
use threeds_bridge::store::{SessionStore, StoreError};

/// `rule` against a fresh memory, SQLite and PostgreSQL store, as three tests.
macro_rules! every_store {
    ($($rule:ident),* $(,)?) => {$(
        mod $rule {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn memory() {
                super::$rule(Arc::new(MemoryStore::default())).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let (_dir, store) = sqlite_store(Retention::default());
                super::$rule(Arc::new(store)).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$rule(Arc::new(support::store::postgres().await)).await
            }
        }
    )*};
}

every_store!(
    creates_and_loads_by_id_and_by_order,
    a_taken_id_or_order_is_a_duplicate,
    swap_is_compare_and_set_on_the_version,
    of_concurrent_swaps_from_one_version_exactly_one_wins,
    a_final_session_is_never_replaced,
    due_is_the_unfinished_sessions_to_wake_soonest_first,
    lookups_follow_every_swap_and_ignore_refused_writes,
    a_swap_may_move_the_order_and_expiry_and_the_lookups_follow,
);

fn sqlite_store(retention: Retention) -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_with(dir.path().join("sessions.db"), retention).expect("open");
    (dir, store)
}

/// A session with something in every part a store must keep: a phase in doubt with
/// adapter state, a card summary, a wake-up time.
fn in_doubt(id: &str, order_id: &str) -> Session {
    let mut s = session(id, ProviderKind::Dlocal, order_id, 60_000);
    s.card = Some(CardSummary::from(&Pan::parse("4000000000001000").unwrap()));
    s.advanced(
        Phase::Unknown {
            state: AdapterState(json!({ "order_id": order_id, "amount": 1250 })),
            purpose: "dlocal.create".into(),
            lookups: 2,
            next_lookup_at_ms: 8_000,
            since_ms: 3_000,
        },
        4_000,
    )
    .expect("into doubt")
    .with_wake_at(30_000)
}

async fn creates_and_loads_by_id_and_by_order<S: SessionStore>(store: Arc<S>) {
    let s = in_doubt(&id(1), "order-1");
    store.create(&s).await.unwrap();
    assert_eq!(store.load(&s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(
        store
            .load_by_order(ProviderKind::Dlocal, "order-1")
            .await
            .unwrap(),
        Some(s.clone())
    );
    assert_eq!(store.load(&id(2)).await.unwrap(), None);
    assert_eq!(
        store
            .load_by_order(ProviderKind::Payroc, "order-1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .load_by_order(ProviderKind::Dlocal, "order-2")
            .await
            .unwrap(),
        None
    );

    // What a swap wrote is what both lookups read.
    let over = s.advanced(declined(), 9_000).unwrap().with_wake_at(30_000);
    assert!(store.swap(&over).await.unwrap());
    assert_eq!(store.load(&s.id).await.unwrap(), Some(over.clone()));
    assert_eq!(
        store
            .load_by_order(ProviderKind::Dlocal, "order-1")
            .await
            .unwrap(),
        Some(over)
    );
}

async fn a_taken_id_or_order_is_a_duplicate<S: SessionStore>(store: Arc<S>) {
    let first = session(&id(1), ProviderKind::Bambora, "order-1", 60_000);
    store.create(&first).await.unwrap();

    let same_id = session(&id(1), ProviderKind::Paysafe, "order-2", 60_000);
    let same_order = session(&id(2), ProviderKind::Bambora, "order-1", 60_000);
    for taken in [&same_id, &same_order] {
        let refused = store.create(taken).await.unwrap_err();
        assert_eq!(refused, StoreError::Duplicate);
        assert_eq!(refused.code(), "duplicate_payment");
    }
    assert_eq!(store.load(&id(1)).await.unwrap(), Some(first));
    assert_eq!(store.load(&id(2)).await.unwrap(), None);
    assert_eq!(
        store
            .load_by_order(ProviderKind::Paysafe, "order-2")
            .await
            .unwrap(),
        None
    );

    // The same order id at another provider is another payment.
    let other_provider = session(&id(3), ProviderKind::Dlocal, "order-1", 60_000);
    store.create(&other_provider).await.unwrap();
    assert_eq!(store.load(&id(3)).await.unwrap(), Some(other_provider));
}

async fn swap_is_compare_and_set_on_the_version<S: SessionStore>(store: Arc<S>) {
    let v1 = session(&id(1), ProviderKind::Paysafe, "order-1", 60_000);
    store.create(&v1).await.unwrap();

    let v2 = v1.advanced(calling("authorize"), 10).unwrap();
    assert!(store.swap(&v2).await.unwrap());
    assert_eq!(store.load(&v1.id).await.unwrap(), Some(v2.clone()));

    // Someone else built a version 2 from the same version 1: it lost.
    let stale = v1.advanced(calling("stale"), 10).unwrap();
    assert!(!store.swap(&stale).await.unwrap());
    // Skipping a version, version 0, an unknown id: nothing to replace.
    let mut skipping = v2.advanced(calling("skip"), 10).unwrap();
    skipping.version += 1;
    assert!(!store.swap(&skipping).await.unwrap());
    let mut zero = v1.clone();
    zero.version = 0;
    assert!(!store.swap(&zero).await.unwrap());
    let mut unknown = v2.advanced(calling("x"), 10).unwrap();
    unknown.id = id(9);
    assert!(!store.swap(&unknown).await.unwrap());
    assert_eq!(store.load(&v1.id).await.unwrap(), Some(v2.clone()));
    assert_eq!(store.load(&id(9)).await.unwrap(), None);

    // The next version from the stored one wins again.
    let v3 = v2.advanced(calling("capture"), 20).unwrap();
    assert!(store.swap(&v3).await.unwrap());
    assert_eq!(store.load(&v1.id).await.unwrap(), Some(v3));
}

async fn of_concurrent_swaps_from_one_version_exactly_one_wins<S: SessionStore + 'static>(
    store: Arc<S>,
) {
    let mut current = session(&id(1), ProviderKind::Dlocal, "order-1", 60_000);
    store.create(&current).await.unwrap();
    // Several rounds, each from the last winner: one lucky round proves little.
    for round in 0..4 {
        let contenders: Vec<_> = (0..24)
            .map(|n| {
                let store = Arc::clone(&store);
                let next = current
                    .advanced(calling(&format!("round-{round}-contender-{n}")), 10)
                    .unwrap();
                tokio::spawn(async move { (store.swap(&next).await.unwrap(), next) })
            })
            .collect();
        let winners = support::store::winners(contenders).await;
        assert_eq!(winners.len(), 1, "round {round}: exactly one swap wins");
        let stored = store.load(&current.id).await.unwrap().expect("stored");
        assert_eq!(Some(&stored), winners.first(), "round {round}");
        current = stored;
    }
    assert_eq!(current.version, 5);
}

async fn a_final_session_is_never_replaced<S: SessionStore + 'static>(store: Arc<S>) {
    let v1 = session(&id(1), ProviderKind::Payroc, "order-1", 60_000);
    store.create(&v1).await.unwrap();
    let v2 = v1.advanced(declined(), 20).unwrap();
    assert!(store.swap(&v2).await.unwrap());

    // From the right version, whatever the phase: a late webhook, a replayed return.
    let mut backwards = v2.clone();
    backwards.version = 3;
    backwards.phase = calling("again");
    let mut into_doubt = v2.clone();
    into_doubt.version = 3;
    into_doubt.phase = in_doubt(&v1.id, "order-1").phase;
    let mut elsewhere = v2.clone();
    elsewhere.version = 3;
    elsewhere.order_id = OrderId::parse("order-2").unwrap();
    for late in [backwards, into_doubt, elsewhere] {
        assert!(!store.swap(&late).await.unwrap(), "{:?}", late.phase);
    }
    // Nor many at once.
    let racing: Vec<_> = (0..8)
        .map(|n| {
            let store = Arc::clone(&store);
            let mut late = v2.clone();
            late.version = 3;
            late.phase = calling(&format!("late-{n}"));
            tokio::spawn(async move { store.swap(&late).await.unwrap() })
        })
        .collect();
    for late in racing {
        assert!(!late.await.unwrap());
    }
    assert_eq!(store.load(&v1.id).await.unwrap(), Some(v2.clone()));
    assert_eq!(
        store
            .load_by_order(ProviderKind::Payroc, "order-1")
            .await
            .unwrap(),
        Some(v2)
    );
}

async fn due_is_the_unfinished_sessions_to_wake_soonest_first<S: SessionStore>(store: Arc<S>) {
    let waking = |n: u32, at: Option<u64>| {
        let mut s = session(&id(n), ProviderKind::Bambora, &format!("order-{n}"), 60_000);
        s.wake_at_ms = at;
        s
    };
    let late = waking(1, Some(300));
    let first = waking(2, Some(100));
    let second = waking(3, Some(200));
    let never = waking(4, None);
    let future = waking(5, Some(1_000_000));
    // Final, yet with a wake-up time left on it: a final session is never due.
    let mut over = waking(6, None).advanced(declined(), 5).unwrap();
    over.wake_at_ms = Some(50);
    for s in [&late, &first, &second, &never, &future, &over] {
        store.create(s).await.unwrap();
    }
    let ids = |sessions: Vec<Session>| sessions.into_iter().map(|s| s.id).collect::<Vec<_>>();

    assert_eq!(ids(store.due(0, 10).await.unwrap()), Vec::<String>::new());
    assert_eq!(ids(store.due(99, 10).await.unwrap()), Vec::<String>::new());
    assert_eq!(ids(store.due(250, 10).await.unwrap()), [id(2), id(3)]);
    // At its wake-up time exactly, a session is due.
    assert_eq!(
        ids(store.due(300, 10).await.unwrap()),
        [id(2), id(3), id(1)]
    );
    assert_eq!(ids(store.due(300, 2).await.unwrap()), [id(2), id(3)]);
    assert_eq!(ids(store.due(300, 0).await.unwrap()), Vec::<String>::new());
    assert_eq!(
        ids(store.due(u64::MAX, 10).await.unwrap()),
        [id(2), id(3), id(1), id(5)]
    );
    // What due returns is the stored session, whole.
    assert_eq!(
        store.due(100, 1).await.unwrap(),
        std::slice::from_ref(&first)
    );

    // A swap moves the wake-up time: the first becomes final, the second sleeps longer.
    assert!(store
        .swap(&first.advanced(declined(), 10).unwrap().with_wake_at(0))
        .await
        .unwrap());
    let mut later = second.advanced(calling("later"), 10).unwrap();
    later.wake_at_ms = Some(5_000);
    assert!(store.swap(&later).await.unwrap());
    assert_eq!(ids(store.due(300, 10).await.unwrap()), [id(1)]);
    assert_eq!(ids(store.due(5_000, 10).await.unwrap()), [id(1), id(3)]);
}

/// The stored Paysafe session of `order`.
async fn paysafe_order<S: SessionStore>(store: Arc<S>, order: &str) -> Option<Session> {
    store
        .load_by_order(ProviderKind::Paysafe, order)
        .await
        .unwrap()
}

/// The memory store's lookups are indexes beside its map (src/store/memory.rs): after any
/// run of swaps, lost swaps and refused creates, by id, by order and `due` agree.
async fn lookups_follow_every_swap_and_ignore_refused_writes<S: SessionStore>(store: Arc<S>) {
    let ids = |sessions: Vec<Session>| sessions.into_iter().map(|s| s.id).collect::<Vec<_>>();
    let by_order = |order: &'static str| paysafe_order(Arc::clone(&store), order);
    let first = session(&id(1), ProviderKind::Paysafe, "order-1", 60_000).with_wake_at(1_000);
    store.create(&first).await.unwrap();
    // A create refused for its order leaves no trace under its own id.
    let rival = session(&id(2), ProviderKind::Paysafe, "order-1", 60_000);
    assert_eq!(store.create(&rival).await, Err(StoreError::Duplicate));
    assert_eq!(store.load(&id(2)).await.unwrap(), None);
    // A create refused for its id leaves the order it named free.
    let same_id = session(&id(1), ProviderKind::Paysafe, "order-2", 60_000);
    assert_eq!(store.create(&same_id).await, Err(StoreError::Duplicate));
    assert_eq!(by_order("order-2").await, None);

    let mut current = first;
    for (step, at) in [(1, 2_000), (2, 3_000), (3, 4_000)] {
        let next = current
            .advanced(calling(&format!("step-{step}")), at)
            .unwrap()
            .with_wake_at(1_000);
        // A swap from an older version loses and moves nothing.
        let mut stale = next.clone();
        stale.version -= 1;
        stale.wake_at_ms = Some(1);
        assert!(!store.swap(&stale).await.unwrap());
        assert!(store.swap(&next).await.unwrap());
        assert_eq!(store.load(&id(1)).await.unwrap().as_ref(), Some(&next));
        assert_eq!(by_order("order-1").await.as_ref(), Some(&next));
        // Only the latest wake-up time counts: due neither before it nor twice at it.
        assert_eq!(
            ids(store.due(at + 999, 10).await.unwrap()),
            Vec::<String>::new()
        );
        assert_eq!(ids(store.due(u64::MAX, 10).await.unwrap()), [id(1)]);
        current = next;
    }
    let over = current
        .advanced(declined(), 5_000)
        .unwrap()
        .with_wake_at(1_000);
    assert!(store.swap(&over).await.unwrap());
    assert_eq!(by_order("order-1").await, Some(over));
    assert_eq!(
        ids(store.due(u64::MAX, 10).await.unwrap()),
        Vec::<String>::new()
    );
}

/// A swap is the whole session: one that moves it to another order or expiry moves the
/// SQL stores' copies of them too (the unique order, the purge), even though most swaps
/// keep both and the SQLite store writes only what changed then. An order another session
/// holds is a duplicate and changes nothing.
async fn a_swap_may_move_the_order_and_expiry_and_the_lookups_follow<S>(store: Arc<S>)
where
    S: SessionStore + Purge,
{
    let unfinished = Retention::default().unfinished_ms;
    let by_order = |order: &'static str| paysafe_order(Arc::clone(&store), order);
    let first = session(&id(1), ProviderKind::Paysafe, "order-1", 1_000);
    let other = session(&id(2), ProviderKind::Paysafe, "order-2", 1_000_000);
    store.create(&first).await.unwrap();
    store.create(&other).await.unwrap();

    let step = first.advanced(calling("step-1"), 10).unwrap();
    let onto_taken = Session {
        order_id: OrderId::parse("order-2").unwrap(),
        ..step.clone()
    };
    assert_eq!(store.swap(&onto_taken).await, Err(StoreError::Duplicate));
    assert_eq!(store.load(&id(1)).await.unwrap().as_ref(), Some(&first));

    let moved = Session {
        order_id: OrderId::parse("order-3").unwrap(),
        expires_at_ms: 500_000,
        ..step
    };
    assert!(store.swap(&moved).await.unwrap());
    assert_eq!(by_order("order-1").await, None);
    assert_eq!(by_order("order-3").await.as_ref(), Some(&moved));
    // An ordinary step after it (same order, same expiry) keeps them.
    let next = moved.advanced(calling("step-2"), 20).unwrap();
    assert!(store.swap(&next).await.unwrap());
    assert_eq!(by_order("order-3").await.as_ref(), Some(&next));

    // Purged by its new expiry, not its first.
    assert_eq!(store.purge_expired(1_000 + unfinished).await.unwrap(), 0);
    assert_eq!(store.load(&id(1)).await.unwrap().as_ref(), Some(&next));
    assert_eq!(store.purge_expired(500_000 + unfinished).await.unwrap(), 1);
    assert_eq!(store.load(&id(1)).await.unwrap(), None);
    assert_eq!(by_order("order-2").await, Some(other));
}

// Purge: the SQL stores on their timer, the memory store on the same one (a long-running
// `serve` with `kind = "memory"` must not grow forever).

const RETENTION: Retention = Retention {
    final_ms: 1_000,
    unfinished_ms: 5_000,
};

mod purge_deletes_only_sessions_past_their_retention {
    use super::*;

    #[tokio::test]
    async fn memory() {
        let store = MemoryStore::with_retention(RETENTION);
        super::purge_deletes_only_sessions_past_their_retention(store).await
    }

    #[tokio::test]
    async fn sqlite() {
        let (_dir, store) = sqlite_store(RETENTION);
        super::purge_deletes_only_sessions_past_their_retention(store).await
    }

    #[tokio::test]
    async fn postgres() {
        let store = support::store::postgres_with(PostgresOptions {
            schema: support::store::fresh_schema(),
            retention: RETENTION,
            ..PostgresOptions::default()
        })
        .await;
        super::purge_deletes_only_sessions_past_their_retention(store).await
    }
}

/// Under [`RETENTION`].
async fn purge_deletes_only_sessions_past_their_retention<S: SessionStore + Purge>(store: S) {
    let finished = |s: Session| s.advanced(declined(), 0).unwrap();
    let old_final = finished(session(&id(1), ProviderKind::Payroc, "a", 100));
    let old_unfinished = session(&id(2), ProviderKind::Payroc, "b", 100).with_wake_at(0);
    let young_final = finished(session(&id(3), ProviderKind::Payroc, "c", 10_000));
    let young_unfinished = session(&id(4), ProviderKind::Payroc, "d", 3_000);
    for s in [&old_final, &old_unfinished, &young_final, &young_unfinished] {
        store.create(s).await.unwrap();
    }

    assert_eq!(store.purge_expired(0).await.unwrap(), 0);
    assert_eq!(store.purge_expired(1_099).await.unwrap(), 0);
    assert_eq!(store.purge_expired(1_100).await.unwrap(), 1);
    assert_eq!(store.load(&old_final.id).await.unwrap(), None);
    assert_eq!(
        store
            .load_by_order(ProviderKind::Payroc, "a")
            .await
            .unwrap(),
        None
    );
    assert!(store.load(&old_unfinished.id).await.unwrap().is_some());
    let due_ids = |due: Vec<Session>| due.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(due_ids(store.due(u64::MAX, 10).await.unwrap()), [id(2)]);

    assert_eq!(store.purge_expired(5_100).await.unwrap(), 1);
    assert_eq!(store.load(&old_unfinished.id).await.unwrap(), None);
    // Gone from every lookup: a purged session is never due.
    assert_eq!(
        store
            .load_by_order(ProviderKind::Payroc, "b")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        due_ids(store.due(u64::MAX, 10).await.unwrap()),
        Vec::<String>::new()
    );
    assert!(store.load(&young_final.id).await.unwrap().is_some());
    assert!(store.load(&young_unfinished.id).await.unwrap().is_some());

    assert_eq!(store.purge_expired(11_000).await.unwrap(), 2);
    assert_eq!(store.purge_expired(u64::MAX).await.unwrap(), 0);
    // The order id is free again once its session is gone.
    store
        .create(&session(&id(5), ProviderKind::Payroc, "a", 20_000))
        .await
        .unwrap();
}
