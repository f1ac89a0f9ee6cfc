//! PostgreSQL's purge against a capture, void or refund begun at the same moment.
//! `begin_operation` locks the payment's session row, decides, inserts the operation and
//! commits; a purge that reaches that row meanwhile must not delete the payment, which
//! would take the new operation with it (`ON DELETE CASCADE`) while its money call is
//! being sent. A single `DELETE … WHERE NOT EXISTS (unsettled operation)` waits for the
//! row and then checks with the snapshot it began with, in which the operation does not
//! exist yet: this test holds the row as a begin does and commits an operation under it
//! while the purge runs.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use crate::store_operations::{payment, record};
use threeds_bridge::backend::native::postgres::PostgresOptions;
use threeds_bridge::backend::native::Retention;
use threeds_bridge::provider::lifecycle::OperationKind;
use threeds_bridge::store::operations::{Begun, OperationStore};
use threeds_bridge::store::SessionStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purge_keeps_a_payment_whose_operation_is_being_begun() {
    let schema = support::store::fresh_schema();
    let store = Arc::new(
        support::store::postgres_with(PostgresOptions {
            schema: schema.clone(),
            retention: Retention {
                final_ms: 1_000,
                unfinished_ms: 1_000,
            },
            ..Default::default()
        })
        .await,
    );
    // Two payments past their retention; the second lends the first a well-formed
    // operation row.
    let held = payment(&*store, 1).await;
    let other = payment(&*store, 2).await;
    let lent = record(&other, "k", OperationKind::Capture, 100);
    assert_eq!(
        store.begin_operation(&lent).await.expect("begin"),
        Begun::Created
    );

    // A begin on `held` as begin_operation makes it: the session row locked, the
    // operation inserted, committed only after the purge has started.
    let mut raw = support::store::raw_postgres().await;
    let begin = raw.transaction().await.expect("transaction");
    let locked = begin
        .query(
            &format!("SELECT id FROM \"{schema}\".sessions WHERE id = $1 FOR UPDATE"),
            &[&held],
        )
        .await
        .expect("lock the payment");
    assert_eq!(locked.len(), 1);
    let purge = tokio::spawn({
        let store = store.clone();
        async move { store.purge_expired(10_000_000).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let inserted = begin
        .execute(
            &format!(
                "INSERT INTO \"{schema}\".operations
                 (id, payment_id, idempotency_key, version, settled, created_at_ms, wake_at_ms, body)
                 SELECT 'op-held', $1, 'k-held', version, settled, created_at_ms, wake_at_ms, body
                 FROM \"{schema}\".operations WHERE id = $2"
            ),
            &[&held, &lent.id],
        )
        .await
        .expect("the operation");
    assert_eq!(inserted, 1);
    begin.commit().await.expect("commit");
    let purged = purge.await.expect("purge task").expect("purge");

    assert_eq!(purged, 0, "each payment has an operation under way");
    assert!(
        store.load(&held).await.expect("load").is_some(),
        "the payment whose operation was being begun is kept"
    );
    let operations: i64 = raw
        .query_one(
            &format!("SELECT count(*) FROM \"{schema}\".operations WHERE payment_id = $1"),
            &[&held],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(operations, 1, "and its operation with it");
}
