//! The operations (captures, voids, refunds) of the PostgreSQL store: table `operations`
//! (migration 2), rows as in SQLite ([`OperationRow`]), each tied to its payment's
//! session (`ON DELETE CASCADE`: a purged payment takes its operations). `begin` locks the
//! payment's session row (`FOR UPDATE`) in one transaction, so of several instances
//! beginning operations of one payment at once, each reads the others' committed records
//! before [`operations::decide`].

use deadpool_postgres::GenericClient;

use super::postgres::{stored_body, within, PostgresStore};
use super::sqlite_ops::{decode, OperationRow};
use super::stored::{ms_column, readable, to_i64};
use crate::store::operations::{self, Begun, OperationRecord, OperationStore};
use crate::store::outbox::OutboxEvent;
use crate::store::StoreError;

/// Migration 2 of the PostgreSQL schema.
pub(super) const MIGRATION: &str = "CREATE TABLE operations (
        id              TEXT    NOT NULL PRIMARY KEY,
        payment_id      TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        idempotency_key TEXT    NOT NULL,
        version         BIGINT  NOT NULL,
        settled         BOOLEAN NOT NULL,
        created_at_ms   BIGINT  NOT NULL,
        wake_at_ms      BIGINT,
        body            TEXT    NOT NULL,
        UNIQUE (payment_id, idempotency_key)
    );
    CREATE INDEX operations_by_wake ON operations (wake_at_ms)
        WHERE wake_at_ms IS NOT NULL AND NOT settled;";

/// The statements, their tables named with the store's schema.
pub(super) struct OperationStatements {
    lock_payment: String,
    of_payment: String,
    insert: String,
    swap: String,
    due: String,
    defer: String,
}

impl OperationStatements {
    pub(super) fn in_schema(schema: &str) -> OperationStatements {
        let operations = format!("\"{schema}\".operations");
        OperationStatements {
            lock_payment: format!("SELECT 1 FROM \"{schema}\".sessions WHERE id = $1 FOR UPDATE"),
            of_payment: format!(
                "SELECT body FROM {operations} WHERE payment_id = $1 ORDER BY created_at_ms, id"
            ),
            insert: format!(
                "INSERT INTO {operations}
                 (id, payment_id, idempotency_key, version, settled, created_at_ms, wake_at_ms, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            swap: format!(
                "UPDATE {operations} SET version = $2, settled = $3, wake_at_ms = $4, body = $5
                 WHERE id = $1 AND version = $6 AND NOT settled"
            ),
            due: format!(
                "SELECT id, version, body FROM {operations}
                 WHERE wake_at_ms IS NOT NULL AND wake_at_ms <= $1 AND NOT settled
                 ORDER BY wake_at_ms LIMIT $2"
            ),
            defer: format!(
                "UPDATE {operations} SET wake_at_ms = $1
                 WHERE id = $2 AND version = $3 AND NOT settled"
            ),
        }
    }
}

fn bodies(rows: &[tokio_postgres::Row]) -> Result<Vec<OperationRecord>, StoreError> {
    rows.iter()
        .map(|row| decode(&row.try_get::<_, String>(0)?))
        .collect()
}

impl OperationStore for PostgresStore {
    async fn begin_operation(&self, record: &OperationRecord) -> Result<Begun, StoreError> {
        let row = OperationRow::of(record)?;
        let sql = self.operation_statements();
        within(async {
            let mut client = self.pool().get().await?;
            let transaction = client.transaction().await?;
            let locked = transaction
                .query(&sql.lock_payment, &[&row.payment_id])
                .await?;
            if locked.is_empty() {
                return Err(operations::payment_not_stored());
            }
            let records = bodies(
                &transaction
                    .query(&sql.of_payment, &[&row.payment_id])
                    .await?,
            )?;
            let begun = operations::decide(&row.record, &records);
            if begun == Begun::Created {
                transaction
                    .execute(
                        &sql.insert,
                        &[
                            &row.id,
                            &row.payment_id,
                            &row.idempotency_key,
                            &row.version,
                            &row.settled,
                            &row.created_at_ms,
                            &row.wake_at_ms,
                            &row.body,
                        ],
                    )
                    .await?;
            }
            transaction.commit().await?;
            Ok(begun)
        })
        .await
    }

    async fn operations_of(&self, payment_id: &str) -> Result<Vec<OperationRecord>, StoreError> {
        let sql = &self.operation_statements().of_payment;
        within(async {
            let client = self.pool().get().await?;
            let statement = client.prepare_cached(sql).await?;
            bodies(&client.query(&statement, &[&payment_id]).await?)
        })
        .await
    }

    async fn swap_operation(&self, next: &OperationRecord) -> Result<bool, StoreError> {
        let Some(expected) = next.version.checked_sub(1) else {
            return Ok(false);
        };
        let expected = to_i64(expected, "version")?;
        let row = OperationRow::of(next)?;
        within(async {
            let client = self.pool().get().await?;
            swap_on(&client, &self.operation_statements().swap, &row, expected).await
        })
        .await
    }

    /// The swap and its outbox rows in one transaction.
    async fn swap_operation_with_events(
        &self,
        next: &OperationRecord,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError> {
        if events.is_empty() {
            return self.swap_operation(next).await;
        }
        let Some(expected) = next.version.checked_sub(1) else {
            return Ok(false);
        };
        let expected = to_i64(expected, "version")?;
        let row = OperationRow::of(next)?;
        within(async {
            let mut client = self.pool().get().await?;
            let step = client.transaction().await?;
            if !swap_on(&step, &self.operation_statements().swap, &row, expected).await? {
                return Ok(false);
            }
            self.enqueue_in(&step, events).await?;
            step.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn due_operations(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<OperationRecord>, StoreError> {
        let now = ms_column(now_ms);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = self.operation_statements();
        let batch = within(async {
            let client = self.pool().get().await?;
            let statement = client.prepare_cached(&sql.due).await?;
            let rows = client.query(&statement, &[&now, &limit]).await?;
            rows.iter().map(stored_body).collect::<Result<Vec<_>, _>>()
        })
        .await?;
        let (due, unreadable) = readable(batch, "operation", |stored| decode(&stored.body));
        self.defer(&sql.defer, unreadable, now_ms).await;
        Ok(due)
    }
}

/// The compare-and-set of one operation row on `client` (the pool's or a transaction).
async fn swap_on(
    client: &impl GenericClient,
    sql: &str,
    row: &OperationRow,
    expected: i64,
) -> Result<bool, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    let changed = client
        .execute(
            &statement,
            &[
                &row.id,
                &row.version,
                &row.settled,
                &row.wake_at_ms,
                &row.body,
                &expected,
            ],
        )
        .await?;
    Ok(changed == 1)
}
