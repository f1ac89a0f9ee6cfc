//! The SQLite store's webhook outbox ([`crate::store::outbox`]): one table beside
//! `sessions`, written by the same writer thread, so a swap and its events are one write
//! in one transaction (one savepoint of the batch: both or neither).
//!
//! Its table is the store's migration to `user_version` 4 (`MIGRATIONS` in sqlite.rs).

use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection};

use super::writer::apply;
use super::{SqliteStore, Write};
use crate::backend::native::stored::{ms_column, to_i64, SessionRow};
use crate::session::Session;
use crate::store::outbox::{Attempted, DueDelivery, Outbox, OutboxEvent};
use crate::store::{SessionStore, StoreError};

/// The outbox table: one row per (event, endpoint).
pub(super) const MIGRATION: &str = "CREATE TABLE webhook_outbox (
        event_id           TEXT    NOT NULL,
        endpoint           TEXT    NOT NULL,
        body               TEXT    NOT NULL,
        created_ms         INTEGER NOT NULL,
        attempts           INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL,
        delivered_at_ms    INTEGER,
        gave_up            INTEGER NOT NULL DEFAULT 0 CHECK (gave_up IN (0, 1)),
        last_status        INTEGER,
        PRIMARY KEY (event_id, endpoint)
    ) STRICT;
    CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at_ms)
        WHERE delivered_at_ms IS NULL AND gave_up = 0;";

/// Run by the purge with its final cutoff (`?1`): the rows sent or given up are kept as long
/// as a final session, as the record of what was sent; rows still to deliver are kept.
pub(super) const PURGE_DONE: &str = "DELETE FROM webhook_outbox
     WHERE created_ms <= ?1 AND (delivered_at_ms IS NOT NULL OR gave_up = 1)";

fn insert(connection: &Connection, events: &[OutboxEvent]) -> Result<(), StoreError> {
    let mut statement = connection.prepare_cached(
        "INSERT OR IGNORE INTO webhook_outbox
         (event_id, endpoint, body, created_ms, next_attempt_at_ms) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?;
    for event in events {
        statement.execute(params![
            event.event_id,
            event.endpoint,
            event.body,
            ms_column(event.created_ms)
        ])?;
    }
    Ok(())
}

impl SqliteStore {
    /// `change` (a session's or an operation's compare-and-set) and, if it changed its
    /// row, `events`, as one write.
    pub(super) async fn change_and_enqueue(
        &self,
        change: Write,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError> {
        let events = events.to_vec();
        let changed = self
            .write(Write::Run(Box::new(move |connection| {
                let changed = apply(connection, &change)?.rows();
                if changed == 1 {
                    insert(connection, &events)?;
                }
                Ok(changed)
            })))
            .await?;
        Ok(changed.rows() == 1)
    }
}

/// The outbox side; `swap_with_events` is in `SessionStore for SqliteStore` (sqlite.rs).
impl Outbox for SqliteStore {
    async fn claim_due(
        &self,
        now_ms: u64,
        lease_until_ms: u64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let claimed = Arc::new(Mutex::new(Vec::new()));
        let into = claimed.clone();
        let (now, lease) = (ms_column(now_ms), ms_column(lease_until_ms));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write(Write::Run(Box::new(move |connection| {
            let mut statement = connection.prepare_cached(
                "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at_ms = ?2
                 WHERE rowid IN (SELECT rowid FROM webhook_outbox
                                 WHERE delivered_at_ms IS NULL AND gave_up = 0
                                   AND next_attempt_at_ms <= ?1
                                 ORDER BY next_attempt_at_ms LIMIT ?3)
                 RETURNING event_id, endpoint, body, created_ms, attempts",
            )?;
            let rows = statement.query_map(params![now, lease, limit], |row| {
                Ok(DueDelivery {
                    event_id: row.get(0)?,
                    endpoint: row.get(1)?,
                    body: row.get(2)?,
                    created_ms: u64::try_from(row.get::<_, i64>(3)?).unwrap_or_default(),
                    attempts: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(u32::MAX),
                })
            })?;
            let due = rows.collect::<Result<Vec<_>, _>>()?;
            let count = due.len() as u64;
            *lock_rows(&into) = due;
            Ok(count)
        })))
        .await?;
        let mut due = std::mem::take(&mut *lock_rows(&claimed));
        due.sort_by_key(|d| d.created_ms);
        Ok(due)
    }

    async fn record(
        &self,
        claimed: &DueDelivery,
        attempted: Attempted,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let (event_id, endpoint) = (claimed.event_id.clone(), claimed.endpoint.clone());
        let attempts = i64::from(claimed.attempts);
        let now = ms_column(now_ms);
        self.write(Write::Run(Box::new(move |connection| {
            let changed = match attempted {
                Attempted::Delivered { status } => connection
                    .prepare_cached(
                        "UPDATE webhook_outbox SET delivered_at_ms = ?3, last_status = ?4
                         WHERE event_id = ?1 AND endpoint = ?2",
                    )?
                    .execute(params![event_id, endpoint, now, status])?,
                Attempted::Retry { status, at_ms } => connection
                    .prepare_cached(
                        "UPDATE webhook_outbox SET next_attempt_at_ms = ?3, last_status = ?4
                         WHERE event_id = ?1 AND endpoint = ?2 AND delivered_at_ms IS NULL
                           AND attempts = ?5",
                    )?
                    .execute(params![
                        event_id,
                        endpoint,
                        ms_column(at_ms),
                        status,
                        attempts
                    ])?,
                Attempted::GaveUp { status } => connection
                    .prepare_cached(
                        "UPDATE webhook_outbox SET gave_up = 1, last_status = ?3
                         WHERE event_id = ?1 AND endpoint = ?2 AND delivered_at_ms IS NULL
                           AND attempts = ?4",
                    )?
                    .execute(params![event_id, endpoint, status, attempts])?,
            };
            Ok(changed as u64)
        })))
        .await
        .map(drop)
    }

    async fn backlog(&self) -> Result<u64, StoreError> {
        self.read(|connection| {
            let rows: i64 = connection
                .prepare_cached(
                    "SELECT count(*) FROM webhook_outbox
                     WHERE delivered_at_ms IS NULL AND gave_up = 0",
                )?
                .query_row([], |row| row.get(0))?;
            Ok(u64::try_from(rows).unwrap_or_default())
        })
    }
}

/// A poisoned lock only means a writer panicked mid-claim; the rows are then empty.
fn lock_rows(rows: &Mutex<Vec<DueDelivery>>) -> std::sync::MutexGuard<'_, Vec<DueDelivery>> {
    rows.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// For `SessionStore::swap_with_events` in sqlite.rs.
pub(super) async fn swap_with_events(
    store: &SqliteStore,
    next: &Session,
    events: &[OutboxEvent],
) -> Result<bool, StoreError> {
    if events.is_empty() {
        return store.swap(next).await;
    }
    let Some(expected) = next.version.checked_sub(1) else {
        return Ok(false);
    };
    let swap = Write::Swap {
        row: SessionRow::of(next)?,
        expected: to_i64(expected, "version")?,
    };
    store.change_and_enqueue(swap, events).await
}
