//! The SQLite store's group commit (src/backend/native/sqlite.rs): many writers at once are
//! committed together by one writer thread, yet each write keeps its own answer. A write
//! that fails (a duplicate, a lost compare-and-set) must not fail the writes batched with
//! it, a caller must read its own acknowledged write at once, and every acknowledged write
//! must be on disk for the next process.

use crate::support;

use std::sync::Arc;

use support::store::{calling, id, session};
use threeds_bridge::backend::native::sqlite::SqliteStore;
use threeds_bridge::payment::ProviderKind;
use threeds_bridge::store::{SessionStore, StoreError};

/// Writers at once: enough that the writer thread finds many queued together.
const WRITERS: u32 = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_write_fails_only_its_caller_and_every_caller_reads_its_own_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sessions.db");
    let store = Arc::new(SqliteStore::open(&path).expect("open"));
    let taken = session(&id(0), ProviderKind::Paysafe, "order-taken", 60_000);
    store.create(&taken).await.expect("the first of the order");

    // Each writer: a new session (must land), a duplicate of the taken order (must be
    // refused alone), a swap from a stale version (must lose alone), a swap of its own
    // session (must win), then a read of its own session (must see the swap).
    let writers: Vec<_> = (1..=WRITERS)
        .map(|n| {
            let store = Arc::clone(&store);
            let taken = taken.clone();
            tokio::spawn(async move {
                let own = session(&id(n), ProviderKind::Paysafe, &format!("order-{n}"), 60_000);
                let duplicate =
                    session(&id(1000 + n), ProviderKind::Paysafe, "order-taken", 60_000);
                let (created, refused) = tokio::join!(store.create(&own), store.create(&duplicate));
                created.expect("a new session is created beside a refused duplicate");
                assert_eq!(refused, Err(StoreError::Duplicate));

                let stale = taken.advanced(calling("stale"), 10).unwrap();
                let stale = stale.advanced(calling("staler"), 20).unwrap();
                let moved = own.advanced(calling(&format!("writer-{n}")), 10).unwrap();
                let (lost, won) = tokio::join!(store.swap(&stale), store.swap(&moved));
                assert_eq!(lost, Ok(false), "a swap from a version never stored loses");
                assert_eq!(won, Ok(true), "a swap batched with a loser still wins");
                let read = store.load(&own.id).await.expect("load");
                assert_eq!(
                    read,
                    Some(moved.clone()),
                    "a caller reads its acknowledged write"
                );
                moved
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.push(writer.await.expect("writer"));
    }
    drop(store);

    let reopened = SqliteStore::open(&path).expect("reopen");
    for moved in acknowledged {
        assert_eq!(reopened.load(&moved.id).await.unwrap(), Some(moved));
    }
    assert_eq!(reopened.load(&taken.id).await.unwrap(), Some(taken.clone()));
    for n in 1..=WRITERS {
        assert_eq!(
            reopened.load(&id(1000 + n)).await.unwrap(),
            None,
            "no duplicate landed"
        );
    }
}
