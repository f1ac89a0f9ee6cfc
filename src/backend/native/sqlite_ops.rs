//! The operations (captures, voids, refunds) of the SQLite store: table `operations`
//! (migration 3), one row per [`OperationRecord`] with its JSON in `body` as the truth
//! and indexed copies beside it. `begin` runs in the writer's transaction, so reading the
//! payment's operations, [`operations::decide`] and the insert are one step: no other
//! write comes between them. [`OperationRow`] is shared with the PostgreSQL store.

use rusqlite::{params, Connection};

use super::stored::{ms_column, readable, to_i64, StoredBody, Unreadable};
use crate::store::operations::{self, Begun, OperationRecord};
use crate::store::StoreError;

/// Migration 3 of the SQLite schema.
pub(super) const MIGRATION: &str = "CREATE TABLE operations (
        id              TEXT    NOT NULL PRIMARY KEY,
        payment_id      TEXT    NOT NULL,
        idempotency_key TEXT    NOT NULL,
        version         INTEGER NOT NULL,
        settled         INTEGER NOT NULL CHECK (settled IN (0, 1)),
        created_at_ms   INTEGER NOT NULL,
        wake_at_ms      INTEGER,
        body            TEXT    NOT NULL,
        UNIQUE (payment_id, idempotency_key)
    ) STRICT;
    CREATE INDEX operations_by_wake ON operations (wake_at_ms)
        WHERE wake_at_ms IS NOT NULL AND settled = 0;";

/// A purge takes the operations of the payments it deleted.
pub(super) const PURGE_ORPHANS: &str =
    "DELETE FROM operations WHERE payment_id NOT IN (SELECT id FROM sessions)";

/// An [`OperationRecord`] as a row.
#[derive(Debug, Clone)]
pub(crate) struct OperationRow {
    pub id: String,
    pub payment_id: String,
    pub idempotency_key: String,
    pub version: i64,
    pub settled: bool,
    pub created_at_ms: i64,
    pub wake_at_ms: Option<i64>,
    pub body: String,
    pub record: OperationRecord,
}

impl OperationRow {
    pub(crate) fn of(record: &OperationRecord) -> Result<OperationRow, StoreError> {
        Ok(OperationRow {
            id: record.id.clone(),
            payment_id: record.payment_id.clone(),
            idempotency_key: record.idempotency_key.clone(),
            version: to_i64(record.version, "version")?,
            settled: record.phase.is_settled(),
            created_at_ms: ms_column(record.created_at_ms),
            wake_at_ms: record.wake_at_ms.map(ms_column),
            body: serde_json::to_string(record)
                .map_err(|failed| StoreError::Corrupt(failed.to_string()))?,
            record: record.clone(),
        })
    }
}

/// A stored body read back.
pub(crate) fn decode(body: &str) -> Result<OperationRecord, StoreError> {
    serde_json::from_str(body)
        .map_err(|failed| StoreError::unreadable("body is not an operation", &failed))
}

pub(super) fn of_payment(
    connection: &Connection,
    payment_id: &str,
) -> Result<Vec<OperationRecord>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT body FROM operations WHERE payment_id = ?1 ORDER BY created_at_ms, id",
    )?;
    let bodies = statement
        .query_map(params![payment_id], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<String>, _>>()?;
    bodies.iter().map(|body| decode(body)).collect()
}

/// In the writer's transaction: the decision and, when it is `Created`, the insert.
pub(super) fn begin(connection: &Connection, row: &OperationRow) -> Result<Begun, StoreError> {
    // In the writer's transaction, as the purge is: the payment cannot go in between.
    let stored = connection
        .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1")?
        .exists(params![row.payment_id])?;
    if !stored {
        return Err(operations::payment_not_stored());
    }
    let records = of_payment(connection, &row.payment_id)?;
    let begun = operations::decide(&row.record, &records);
    if begun == Begun::Created {
        connection
            .prepare_cached(
                "INSERT INTO operations
                 (id, payment_id, idempotency_key, version, settled, created_at_ms, wake_at_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                row.id,
                row.payment_id,
                row.idempotency_key,
                row.version,
                row.settled,
                row.created_at_ms,
                row.wake_at_ms,
                row.body
            ])?;
    }
    Ok(begun)
}

/// Compare-and-set on the version; a settled operation never changes.
pub(super) fn swap(
    connection: &Connection,
    row: &OperationRow,
    expected: i64,
) -> Result<u64, StoreError> {
    let changed = connection
        .prepare_cached(
            "UPDATE operations SET version = ?2, settled = ?3, wake_at_ms = ?4, body = ?5
             WHERE id = ?1 AND version = ?6 AND settled = 0",
        )?
        .execute(params![
            row.id,
            row.version,
            row.settled,
            row.wake_at_ms,
            row.body,
            expected
        ])?;
    Ok(changed as u64)
}

/// The due operations, and those whose row did not read (see [`readable`]).
pub(super) fn due(
    connection: &Connection,
    now_ms: u64,
    limit: usize,
) -> Result<(Vec<OperationRecord>, Vec<Unreadable>), StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut statement = connection.prepare_cached(
        "SELECT id, version, body FROM operations
         WHERE wake_at_ms IS NOT NULL AND wake_at_ms <= ?1 AND settled = 0
         ORDER BY wake_at_ms LIMIT ?2",
    )?;
    let batch = statement
        .query_map(params![ms_column(now_ms), limit], |row| {
            Ok(StoredBody {
                id: row.get(0)?,
                version: row.get(1)?,
                body: row.get(2)?,
            })
        })?
        .collect::<Result<Vec<StoredBody>, _>>()?;
    Ok(readable(batch, "operation", |stored| decode(&stored.body)))
}

/// Moves an unreadable due operation's wake-up (`?1`) on, unless it was written since.
pub(super) const DEFER: &str =
    "UPDATE operations SET wake_at_ms = ?1 WHERE id = ?2 AND version = ?3 AND settled = 0";
