//! The PostgreSQL session store under load and faults, against the test server of
//! scripts/pg-test.sh, each test in a schema of its own: writes that arrive together share
//! one statement and one commit (postgres_batch.rs) and each keeps its own answer, and a
//! connection the database ends is replaced without a restart.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::store::{calling, fresh_schema, id, in_schema, postgres_with, raw_postgres, session};
use threeds_bridge::backend::native::postgres::PostgresStore;
use threeds_bridge::payment::ProviderKind;
use threeds_bridge::session::Session;
use threeds_bridge::store::{SessionStore, StoreError};

/// The transactions that last wrote the sessions of `schema` (each row's `xmin`).
async fn writing_transactions(schema: &str) -> i64 {
    raw_postgres()
        .await
        .query_one(
            &format!("SELECT count(DISTINCT xmin::text) FROM {schema}.sessions"),
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Swaps that arrive together share one statement and one commit (postgres_batch.rs), and
/// each keeps its own answer: of two contenders per session from one version exactly one
/// wins, every session moves once, and a swap onto an order another session holds fails
/// `Duplicate` alone while the swaps written beside it land.
#[tokio::test]
async fn swaps_arriving_together_share_a_commit_and_keep_their_own_answers() {
    let schema = fresh_schema();
    let store = Arc::new(postgres_with(in_schema(&schema)).await);
    let sessions: Vec<Session> = (0..40)
        .map(|n| {
            session(
                &id(500 + n),
                ProviderKind::Bambora,
                &format!("order-{n}"),
                60_000,
            )
        })
        .collect();
    for each in &sessions {
        store.create(each).await.unwrap();
    }
    assert_eq!(writing_transactions(&schema).await, 40);

    // Spawned together: the store's queue holds them all before its writer runs.
    let contenders: Vec<_> = sessions
        .iter()
        .flat_map(|each| ["a", "b"].map(|step| each.advanced(calling(step), 10).unwrap()))
        .map(|next| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { (store.swap(&next).await.unwrap(), next) })
        })
        .collect();
    let winners = support::store::winners(contenders).await;
    assert_eq!(
        winners.len(),
        sessions.len(),
        "exactly one winner per session"
    );
    for winner in &winners {
        assert_eq!(store.load(&winner.id).await.unwrap().as_ref(), Some(winner));
    }
    // 80 swaps, 40 rows changed, in a few statements (64 swaps at most in each).
    assert!(writing_transactions(&schema).await <= 4);

    // One swap onto an order another session holds, among swaps that may land.
    let mut nexts: Vec<Session> = winners
        .iter()
        .map(|winner| winner.advanced(calling("c"), 20).unwrap())
        .collect();
    nexts[0].order_id = winners[1].order_id.clone();
    let answers: Vec<_> = nexts
        .iter()
        .cloned()
        .map(|next| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.swap(&next).await })
        })
        .collect();
    let mut answered = Vec::new();
    for answer in answers {
        answered.push(answer.await.unwrap());
    }
    assert_eq!(answered[0], Err(StoreError::Duplicate));
    assert!(answered[1..].iter().all(|answer| *answer == Ok(true)));
    assert_eq!(
        store.load(&winners[0].id).await.unwrap().as_ref(),
        Some(&winners[0])
    );
    for next in &nexts[1..] {
        assert_eq!(store.load(&next.id).await.unwrap().as_ref(), Some(next));
    }
}

/// Creates that arrive together share one `INSERT` and one commit (postgres_batch.rs), and
/// each keeps its own answer: a session whose order an earlier create of the same batch
/// took, or a committed row holds, is `Duplicate` and not stored; the others are.
#[tokio::test]
async fn creates_arriving_together_share_a_commit_and_keep_their_own_answers() {
    let schema = fresh_schema();
    let store = Arc::new(postgres_with(in_schema(&schema)).await);
    let taken = session(&id(700), ProviderKind::Paysafe, "taken", 60_000);
    store.create(&taken).await.unwrap();

    let mut wanted: Vec<Session> = (1..=30)
        .map(|n| {
            session(
                &id(700 + n),
                ProviderKind::Paysafe,
                &format!("order-{n}"),
                60_000,
            )
        })
        .collect();
    // The second of two creates of one order, and one of an order already stored.
    wanted[11].order_id = wanted[10].order_id.clone();
    wanted[20].order_id = taken.order_id.clone();
    // Spawned together: the store's queue holds them all before its writer runs.
    let answers: Vec<_> = wanted
        .iter()
        .cloned()
        .map(|each| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.create(&each).await })
        })
        .collect();
    let mut answered = Vec::new();
    for answer in answers {
        answered.push(answer.await.unwrap());
    }
    for (n, (each, answer)) in wanted.iter().zip(&answered).enumerate() {
        if n == 11 || n == 20 {
            assert_eq!(*answer, Err(StoreError::Duplicate), "create {n}");
            assert_eq!(store.load(&each.id).await.unwrap(), None, "create {n}");
        } else {
            assert_eq!(*answer, Ok(()), "create {n}");
            assert_eq!(store.load(&each.id).await.unwrap().as_ref(), Some(each));
        }
    }
    // 28 sessions stored in a few statements (64 creates at most in each), and `taken`.
    assert!(writing_transactions(&schema).await <= 4);
}

/// The stored version of session `id` in `schema`, read past the store.
async fn stored_version(schema: &str, id: &str) -> i64 {
    raw_postgres()
        .await
        .query_one(
            &format!("SELECT version FROM {schema}.sessions WHERE id = $1"),
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
}

/// How many of the store's statements on `schema` wait for a lock.
async fn waiting_for_a_lock(schema: &str) -> i64 {
    raw_postgres()
        .await
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND strpos(query, $1) > 0",
            &[&format!("\"{schema}\".sessions")],
        )
        .await
        .unwrap()
        .get(0)
}

/// A swap whose caller stopped waiting while it was queued (its call bound ran out, and it
/// was answered `store_unavailable`) is never written afterwards, which would make that
/// answer false: both batch slots are held by swaps waiting for a row another transaction
/// has locked, a third swap (of another session) gives up in the queue, and once the lock
/// goes the first two are answered and the third is not written; the next swap of its
/// session, from the same version, wins.
#[tokio::test]
async fn a_swap_whose_caller_gave_up_in_the_queue_is_not_written_later() {
    let schema = fresh_schema();
    let store = Arc::new(postgres_with(in_schema(&schema)).await);
    let held = session(&id(700), ProviderKind::Bambora, "order-held", 60_000);
    let other = session(&id(701), ProviderKind::Bambora, "order-other", 60_000);
    store.create(&held).await.unwrap();
    store.create(&other).await.unwrap();

    let mut raw = raw_postgres().await;
    let lock = raw.transaction().await.unwrap();
    lock.execute(
        &format!("SELECT 1 FROM {schema}.sessions WHERE id = $1 FOR UPDATE"),
        &[&held.id],
    )
    .await
    .unwrap();
    // One swap of the locked row per batch slot, each taken alone: the next is sent once
    // the one before waits for the lock.
    let mut blocked = Vec::new();
    for (n, step) in ["a", "b"].into_iter().enumerate() {
        let next = held.advanced(calling(step), 10).unwrap();
        let store = Arc::clone(&store);
        blocked.push(tokio::spawn(async move { store.swap(&next).await }));
        let deadline = Instant::now() + Duration::from_secs(5);
        while waiting_for_a_lock(&schema).await < n as i64 + 1 {
            assert!(
                Instant::now() < deadline,
                "swap {step} never waited for the lock"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let given_up = other.advanced(calling("given-up"), 10).unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(300), store.swap(&given_up)).await;
    assert!(waited.is_err(), "no slot was free: {waited:?}");

    lock.rollback().await.unwrap();
    let mut answers = Vec::new();
    for swap in blocked {
        answers.push(swap.await.unwrap().unwrap());
    }
    answers.sort();
    assert_eq!(
        answers,
        [false, true],
        "one of two swaps from one version wins"
    );
    // The slot is free again and the given-up swap was next in the queue: it stays unwritten.
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        assert_eq!(
            stored_version(&schema, &other.id).await,
            1,
            "written after its caller gave up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let next = other.advanced(calling("next"), 10).unwrap();
    assert!(
        store.swap(&next).await.unwrap(),
        "the version it was read at is still stored"
    );
    assert_eq!(stored_version(&schema, &other.id).await, 2);
}

/// `call` again until the store serves it, and its answer: meanwhile each call must answer
/// within 5 s, and only with `store_unavailable`.
async fn until_served<T, F: std::future::Future<Output = Result<T, StoreError>>>(
    mut call: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = tokio::time::timeout(Duration::from_secs(5), call())
            .await
            .expect("a store call on an ended connection hangs");
        match answer {
            Ok(served) => return served,
            Err(error) => {
                assert_eq!(error.code(), "store_unavailable", "{error}");
                assert!(Instant::now() < deadline, "still refused: {error}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// The database ends every connection of the store (a restart, a failover, an operator's
/// `pg_terminate_backend`): a call is at worst refused `store_unavailable`, nothing hangs or
/// panics, and the same store serves reads and both kinds of writes again on new
/// connections, with no restart of the instance.
#[tokio::test]
async fn connections_the_database_ends_are_replaced_without_a_restart() {
    let schema = fresh_schema();
    let url = support::store::database_url();
    let separator = if url.contains('?') { '&' } else { '?' };
    // Named after the schema, so that only this store's connections are ended: other tests
    // share the server.
    let url = format!("{url}{separator}application_name={schema}");
    let store = PostgresStore::connect(&url, in_schema(&schema))
        .await
        .unwrap();
    let first = session(&id(1), ProviderKind::Payroc, "order-1", 60_000);
    store.create(&first).await.unwrap();
    // Reads at once, so that the pool holds several connections.
    let reads = tokio::join!(
        store.load(&first.id),
        store.load(&first.id),
        store.load(&first.id),
        store.load(&first.id)
    );
    for read in [reads.0, reads.1, reads.2, reads.3] {
        assert_eq!(read.unwrap().as_ref(), Some(&first));
    }

    let count_backends = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{schema}' \
         AND pid <> pg_backend_pid()"
    );
    let raw = raw_postgres().await;
    let ended: i64 = raw
        .query_one(
            "SELECT count(*) FROM \
             (SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
              WHERE application_name = $1) AS ended",
            &[&schema],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ended >= 1, "the store had no connection to end");
    // Each waited for (up to 5 s): none of them is left.
    let left: i64 = raw.query_one(&count_backends, &[]).await.unwrap().get(0);
    assert_eq!(left, 0, "every connection of the store was ended");

    let read = until_served(|| store.load(&first.id)).await;
    assert_eq!(read.as_ref(), Some(&first));
    // A swap refused on an ended connection was never sent: the row is still at its version.
    let moved = first.advanced(calling("mpi"), 10).unwrap();
    let swapped = until_served(|| store.swap(&moved)).await;
    assert!(swapped, "the swap applies once");
    let second = session(&id(2), ProviderKind::Payroc, "order-2", 60_000);
    until_served(|| store.create(&second)).await;
    assert_eq!(store.load(&first.id).await.unwrap(), Some(moved));
    assert_eq!(store.load(&second.id).await.unwrap(), Some(second));
    let serving: i64 = raw.query_one(&count_backends, &[]).await.unwrap().get(0);
    assert!(serving >= 1, "the store serves on new connections");
}
