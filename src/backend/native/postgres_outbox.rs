//! The PostgreSQL store's webhook outbox ([`crate::store::outbox`]): one table in the
//! store's schema. A swap and its events are one transaction; instances sharing the
//! database claim due rows with `FOR UPDATE SKIP LOCKED` and move each claimed row's next
//! attempt to the end of a lease in the same statement, so no two instances send the same
//! row at once (a row whose sender died is claimed again once its lease has run out).
//!
//! Its table is the store's migration to schema version 3 (`MIGRATIONS` in postgres_schema.rs).

use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use super::batch::Swap;
use super::{within, PostgresStore};
use crate::backend::native::stored::{ms_column, to_i64, SessionRow};
use crate::session::Session;
use crate::store::outbox::{Attempted, DueDelivery, Outbox, OutboxEvent};
use crate::store::StoreError;

/// The outbox table: one row per (event, endpoint). Run with the store's schema first
/// on the `search_path`.
pub(super) const MIGRATION: &str = "CREATE TABLE webhook_outbox (
        event_id           TEXT    NOT NULL,
        endpoint           TEXT    NOT NULL,
        body               TEXT    NOT NULL,
        created_ms         BIGINT  NOT NULL,
        attempts           INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms BIGINT  NOT NULL,
        delivered_at_ms    BIGINT,
        gave_up            BOOLEAN NOT NULL DEFAULT FALSE,
        last_status        INTEGER,
        PRIMARY KEY (event_id, endpoint)
    );
    CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at_ms)
        WHERE delivered_at_ms IS NULL AND NOT gave_up;";

fn table(schema: &str) -> String {
    format!("\"{schema}\".webhook_outbox")
}

/// Run by the purge with its final cutoff (`$1`): the rows sent or given up are kept as long
/// as a final session, as the record of what was sent; rows still to deliver are kept.
pub(super) fn purge_done(schema: &str) -> String {
    format!(
        "DELETE FROM {} WHERE created_ms <= $1 AND (delivered_at_ms IS NOT NULL OR gave_up)",
        table(schema)
    )
}

impl PostgresStore {
    /// The swap of `next` and, if it changed the row, `events`: one transaction.
    pub(super) async fn swap_and_enqueue(
        &self,
        next: &Session,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError> {
        let Some(expected) = next.version.checked_sub(1) else {
            return Ok(false);
        };
        let expected = to_i64(expected, "version")?;
        let row = SessionRow::of(next)?;
        within(async {
            let mut client = self.pool.get().await?;
            let step = client.transaction().await?;
            let swap = Swap { row, expected };
            let changed = super::batch::swap_on(&step, &self.sql.swap, &swap).await?;
            if !changed {
                return Ok(false);
            }
            self.enqueue_in(&step, events).await?;
            step.commit().await?;
            Ok(true)
        })
        .await
    }

    /// Inserts `events` in the transaction `step` (a row that exists already is kept).
    pub(in crate::backend::native) async fn enqueue_in(
        &self,
        step: &Transaction<'_>,
        events: &[OutboxEvent],
    ) -> Result<(), StoreError> {
        let insert = format!(
            "INSERT INTO {} (event_id, endpoint, body, created_ms, next_attempt_at_ms)
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
            table(&self.schema)
        );
        let insert = step.prepare_cached(&insert).await?;
        for event in events {
            let created = ms_column(event.created_ms);
            step.execute(
                &insert,
                &[&event.event_id, &event.endpoint, &event.body, &created],
            )
            .await?;
        }
        Ok(())
    }
}

fn due_delivery(row: &Row) -> Result<DueDelivery, StoreError> {
    Ok(DueDelivery {
        event_id: row.try_get(0)?,
        endpoint: row.try_get(1)?,
        body: row.try_get(2)?,
        created_ms: u64::try_from(row.try_get::<_, i64>(3)?).unwrap_or_default(),
        attempts: u32::try_from(row.try_get::<_, i32>(4)?).unwrap_or(u32::MAX),
    })
}

impl Outbox for PostgresStore {
    async fn claim_due(
        &self,
        now_ms: u64,
        lease_until_ms: u64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let outbox = table(&self.schema);
        let sql = format!(
            "UPDATE {outbox} AS o SET attempts = o.attempts + 1, next_attempt_at_ms = $2
             FROM (SELECT event_id, endpoint FROM {outbox}
                   WHERE delivered_at_ms IS NULL AND NOT gave_up AND next_attempt_at_ms <= $1
                   ORDER BY next_attempt_at_ms LIMIT $3
                   FOR UPDATE SKIP LOCKED) AS due
             WHERE o.event_id = due.event_id AND o.endpoint = due.endpoint
             RETURNING o.event_id, o.endpoint, o.body, o.created_ms, o.attempts"
        );
        let (now, lease) = (ms_column(now_ms), ms_column(lease_until_ms));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut due = within(async {
            let client = self.pool.get().await?;
            let statement = client.prepare_cached(&sql).await?;
            let rows = client.query(&statement, &[&now, &lease, &limit]).await?;
            rows.iter().map(due_delivery).collect::<Result<Vec<_>, _>>()
        })
        .await?;
        due.sort_by_key(|d| d.created_ms);
        Ok(due)
    }

    async fn record(
        &self,
        claimed: &DueDelivery,
        attempted: Attempted,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let outbox = table(&self.schema);
        let key = "WHERE event_id = $1 AND endpoint = $2";
        // $5: the claim's attempts, which a retry or a give-up needs the row still at.
        let claim = "AND attempts = $5";
        let (sql, value, status) = match attempted {
            Attempted::Delivered { status } => (
                format!("UPDATE {outbox} SET delivered_at_ms = $3, last_status = $4 {key}"),
                ms_column(now_ms),
                Some(status),
            ),
            Attempted::Retry { status, at_ms } => (
                format!(
                    "UPDATE {outbox} SET next_attempt_at_ms = $3, last_status = $4 {key}
                     AND delivered_at_ms IS NULL {claim}"
                ),
                ms_column(at_ms),
                status,
            ),
            Attempted::GaveUp { status } => (
                format!(
                    "UPDATE {outbox} SET gave_up = TRUE, next_attempt_at_ms = $3, last_status = $4
                     {key} AND delivered_at_ms IS NULL {claim}"
                ),
                ms_column(now_ms),
                status,
            ),
        };
        let status = status.map(i32::from);
        let attempts = i32::try_from(claimed.attempts).unwrap_or(i32::MAX);
        let (event_id, endpoint) = (&claimed.event_id, &claimed.endpoint);
        within(async {
            let client = self.pool.get().await?;
            let statement = client.prepare_cached(&sql).await?;
            let delivered = matches!(attempted, Attempted::Delivered { .. });
            let params: &[&(dyn tokio_postgres::types::ToSql + Sync)] = if delivered {
                &[event_id, endpoint, &value, &status]
            } else {
                &[event_id, endpoint, &value, &status, &attempts]
            };
            client.execute(&statement, params).await?;
            Ok(())
        })
        .await
    }

    async fn backlog(&self) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE delivered_at_ms IS NULL AND NOT gave_up",
            table(&self.schema)
        );
        within(async {
            let client = self.pool.get().await?;
            let rows: i64 = client.query_one(&sql, &[]).await?.get(0);
            Ok(u64::try_from(rows).unwrap_or_default())
        })
        .await
    }
}
