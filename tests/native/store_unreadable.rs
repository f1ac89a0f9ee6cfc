//! A due row that no longer reads (damage, or a record a newer build wrote during a
//! rollout), in SQLite and PostgreSQL, for sessions and operations alike: the sweep's batch
//! leaves it out and gets the others, and the store moves its wake-up an hour on
//! (`UNREADABLE_RETRY_MS`), so that a few such rows cannot fill every batch ahead of the
//! payments that can be settled, and each is reported once an hour, not on every sweep.
//! The memory store cannot hold a damaged row.

use crate::support;

use crate::store_operations::{payment, record};
use support::store::{fresh_schema, id, in_schema, postgres_with, raw_postgres, session};
use threeds_bridge::backend::native::sqlite::SqliteStore;
use threeds_bridge::payment::ProviderKind;
use threeds_bridge::provider::lifecycle::OperationKind;
use threeds_bridge::store::operations::OperationRecord;
use threeds_bridge::store::{SessionStore, StoreError, UNREADABLE_RETRY_MS};

/// The sweep's clock.
const NOW: u64 = 1_000;

/// Three unfinished sessions, ids 1 to 3, due at 10, 20 and 30; and three operations in
/// flight (of payments 11 to 13), due at 10, 20 and 30.
async fn seed<S: SessionStore>(store: &S) -> Vec<OperationRecord> {
    let mut operations = Vec::new();
    for n in 1..=3 {
        let mut due = session(&id(n), ProviderKind::Bambora, &format!("order-{n}"), 60_000);
        due.wake_at_ms = Some(u64::from(n) * 10);
        store.create(&due).await.unwrap();
        let paid = payment(store, 10 + n).await;
        let mut capture = record(&paid, "k", OperationKind::Capture, 100);
        capture.wake_at_ms = Some(u64::from(n) * 10);
        store.begin_operation(&capture).await.unwrap();
        operations.push(capture);
    }
    operations
}

async fn due_sessions<S: SessionStore>(store: &S, now_ms: u64, limit: usize) -> Vec<String> {
    let due = store.due(now_ms, limit).await.unwrap();
    due.into_iter().map(|s| s.id).collect()
}

async fn due_operations<S: SessionStore>(store: &S, now_ms: u64, limit: usize) -> Vec<String> {
    let due = store.due_operations(now_ms, limit).await.unwrap();
    due.into_iter().map(|r| r.id).collect()
}

/// With session 2 and operation 2 damaged: a batch of two gets the first only (the
/// damaged row took the other place), the next batch of two reaches the third, and an hour
/// later the damaged row is read (and left out) again.
async fn sweeps_pass_the_damaged_rows<S: SessionStore>(store: &S, operations: &[OperationRecord]) {
    assert_eq!(due_sessions(store, NOW, 2).await, [id(1)]);
    assert_eq!(due_sessions(store, NOW, 2).await, [id(1), id(3)]);
    assert!(matches!(
        store.load(&id(2)).await,
        Err(StoreError::Corrupt(_))
    ));
    let first_and_third = [operations[0].id.clone(), operations[2].id.clone()];
    assert_eq!(
        due_operations(store, NOW, 2).await,
        [operations[0].id.clone()]
    );
    assert_eq!(due_operations(store, NOW, 2).await, first_and_third);

    let later = NOW + UNREADABLE_RETRY_MS;
    assert_eq!(due_sessions(store, later, 10).await, [id(1), id(3)]);
    assert_eq!(due_operations(store, later, 10).await, first_and_third);
}

/// Where each damaged row wakes next: it moved an hour on at each sweep that read it.
const WAKE_AFTER_TWO_SWEEPS: i64 = (NOW + 2 * UNREADABLE_RETRY_MS) as i64;

#[tokio::test]
async fn sqlite_due_rows_that_do_not_read_wait_an_hour() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    let operations = seed(&store).await;
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE sessions SET body = '{\"phase\":{\"phase\":\"unknown\"' WHERE id = ?1",
        [id(2)],
    )
    .unwrap();
    raw.execute(
        "UPDATE operations SET body = '{\"phase\":{\"phase\":\"from_a_newer_build\"}}' WHERE id = ?1",
        [&operations[1].id],
    )
    .unwrap();
    sweeps_pass_the_damaged_rows(&store, &operations).await;
    // A body that is not JSON, cut short in a phase in doubt, does not fail the count of
    // payments in doubt, nor is it counted (none here can be read).
    assert_eq!(store.in_doubt().await.unwrap(), Some(0));
    let wake = |sql: &str, id: &str| -> i64 { raw.query_row(sql, [id], |row| row.get(0)).unwrap() };
    assert_eq!(
        wake("SELECT wake_at_ms FROM sessions WHERE id = ?1", &id(2)),
        WAKE_AFTER_TWO_SWEEPS
    );
    assert_eq!(
        wake(
            "SELECT wake_at_ms FROM operations WHERE id = ?1",
            &operations[1].id
        ),
        WAKE_AFTER_TWO_SWEEPS
    );
}

#[tokio::test]
async fn postgres_due_rows_that_do_not_read_wait_an_hour() {
    let schema = fresh_schema();
    let store = postgres_with(in_schema(&schema)).await;
    let operations = seed(&store).await;
    let raw = raw_postgres().await;
    raw.execute(
        &format!(
            "UPDATE {schema}.sessions SET body = '{{\"phase\":{{\"phase\":\"unknown\"' WHERE id = $1"
        ),
        &[&id(2)],
    )
    .await
    .unwrap();
    raw.execute(
        &format!(
            "UPDATE {schema}.operations
             SET body = '{{\"phase\":{{\"phase\":\"from_a_newer_build\"}}}}' WHERE id = $1"
        ),
        &[&operations[1].id],
    )
    .await
    .unwrap();
    sweeps_pass_the_damaged_rows(&store, &operations).await;
    // A body that is not JSON, cut short in a phase in doubt, does not fail the count of
    // payments in doubt, nor is it counted (none here can be read).
    assert_eq!(store.in_doubt().await.unwrap(), Some(0));
    for (table, id) in [
        ("sessions", id(2)),
        ("operations", operations[1].id.clone()),
    ] {
        let wake: i64 = raw
            .query_one(
                &format!("SELECT wake_at_ms FROM {schema}.{table} WHERE id = $1"),
                &[&id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(wake, WAKE_AFTER_TWO_SWEEPS, "{table}");
    }
}
