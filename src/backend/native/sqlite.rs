//! Sessions in one SQLite file: the native host's store (one process, one instance).
//!
//! Owns the file (created on first open, parent directories too), its durability settings
//! (WAL, `synchronous=FULL`, a busy timeout), its schema and the ordered migrations that
//! reach it (`PRAGMA user_version`), and the mapping between a [`Session`] and a row.
//!
//! A row keeps the session's serde JSON in `body`: that is the source of truth, so a new
//! field on `Session` needs no migration. The other columns are copies that exist only for
//! lookups and constraints: `id` (primary key), `provider` + `order_id` (unique together),
//! `version` (compare-and-set), `expires_at_ms` and `is_final` (purge), `wake_at_ms` (due).
//! The row and the retention are [`super::stored`]'s, shared with the PostgreSQL store.
//!
//! Writes go to ONE writer thread (`sqlite_writer.rs`) that owns the write connection (group commit): a
//! caller queues its write with a reply channel; the thread takes everything queued, runs
//! it in one transaction (each write in its own savepoint, so a lost compare-and-set or a
//! duplicate answers only its own caller), commits once (one fsync for the whole batch)
//! and only then answers every caller. `synchronous=FULL` in WAL mode: each commit fsyncs
//! the WAL, so an acknowledged write survives a power cut (NORMAL would fsync only at
//! checkpoints and could lose the last acknowledged writes). Reads (`load`,
//! `load_by_order`, `due`, `in_doubt`) run on the caller's thread on a small pool of read-only
//! connections: WAL lets them run beside the writer, and a read started after a write was
//! acknowledged sees it (the commit came first). A read is a lookup by key in a small
//! table, so it runs inline instead of paying a blocking-pool handoff. The store needs no
//! tokio runtime. It never sees a PAN: a `Session` holds only a `CardSummary`.
//! See docs/backend/store.md.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::sync::oneshot;

use rusqlite::{ffi, params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use super::sqlite_ops::{self, OperationRow};
pub use super::stored::Retention;
use super::stored::{ms_column, readable, to_i64, Purge, SessionRow, StoredBody, Unreadable};
use crate::payment::ProviderKind;
use crate::session::Session;
use crate::store::operations::{Begun, OperationRecord, OperationStore};
use crate::store::{SessionStore, StoreError, NO_SUCH_SESSION};

/// The webhook outbox's table and writes (`sqlite_outbox.rs`).
#[path = "sqlite_outbox.rs"]
mod outbox;

/// The writer thread and the writes it applies (`sqlite_writer.rs`).
#[path = "sqlite_writer.rs"]
mod writer;
use writer::{write_batches, Job, Queued, Write, Written};

/// How long a writer waits for another connection's lock before giving up `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections kept open between reads; more open while many read at once.
const MAX_IDLE_READERS: usize = 8;

/// The schema, as ordered steps: step `i` takes a file from `user_version` `i` to `i + 1`.
/// Append only; never edit a step that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: one table; `body` is the session, the rest are indexed copies of it.
    "CREATE TABLE sessions (
        id            TEXT    NOT NULL PRIMARY KEY,
        provider      TEXT    NOT NULL,
        order_id      TEXT    NOT NULL,
        version       INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        is_final      INTEGER NOT NULL CHECK (is_final IN (0, 1)),
        body          TEXT    NOT NULL,
        UNIQUE (provider, order_id)
    ) STRICT;
    CREATE INDEX sessions_by_expiry ON sessions (is_final, expires_at_ms);",
    // 2: when the reconciler's sweep must look at a session (`Session::wake_at_ms`).
    // Sessions written before it wake at their expiry, as the sweep then finds them.
    "ALTER TABLE sessions ADD COLUMN wake_at_ms INTEGER;
    UPDATE sessions SET wake_at_ms = expires_at_ms WHERE is_final = 0;
    CREATE INDEX sessions_by_wake ON sessions (wake_at_ms) WHERE wake_at_ms IS NOT NULL;",
    // 3: captures, voids and refunds, records of their own (`sqlite_ops`).
    super::sqlite_ops::MIGRATION,
    // 4: the webhook outbox (`sqlite_outbox.rs`).
    outbox::MIGRATION,
];

/// How many payments and operations are in doubt ([`SessionStore::in_doubt`]). A body
/// that is not JSON (a damaged row) is not counted: `json_extract` would fail the count.
const IN_DOUBT: &str = "SELECT
    (SELECT count(*) FROM sessions WHERE is_final = 0
     AND CASE WHEN json_valid(body) THEN json_extract(body, '$.phase.phase') END = 'unknown')
  + (SELECT count(*) FROM operations WHERE settled = 0
     AND CASE WHEN json_valid(body) THEN json_extract(body, '$.phase.phase') END = 'unknown')";

/// Moves an unreadable due session's wake-up (`?1`) on, unless it was written since.
const DEFER_SESSION: &str =
    "UPDATE sessions SET wake_at_ms = ?1 WHERE id = ?2 AND version = ?3 AND is_final = 0";

/// The `user_version` this build writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The session store of the native host: one SQLite file, one writer thread, a few
/// read connections.
#[derive(Debug)]
pub struct SqliteStore {
    /// `None` only while dropping: closing the queue stops the writer.
    writes: Option<UnboundedSender<Queued>>,
    writer: Option<JoinHandle<()>>,
    readers: Mutex<Vec<Connection>>,
    retention: Retention,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (or creates) the store at `path` with the default [`Retention`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, Retention::default())
    }

    /// Opens (or creates) the store at `path`, migrating an older schema and refusing a
    /// newer one (`SchemaTooNew`) before changing anything in the file, then starts the
    /// writer thread. Blocks: call it at startup.
    pub fn open_with(
        path: impl AsRef<Path>,
        retention: Retention,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref();
        create_private_file(path)?;
        let mut connection = Connection::open(path)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        check_schema_version(&connection)?;
        let journal: String =
            connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!(
                "the database refused WAL (journal_mode is {journal})"
            )));
        }
        connection.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut connection)?;
        let reader = open_reader(path)?;
        let (writes, queue) = unbounded_channel();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_batches(connection, queue))
            .map_err(|failed| {
                StoreError::Unavailable(format!("cannot start the store's writer: {failed}"))
            })?;
        Ok(SqliteStore {
            writes: Some(writes),
            writer: Some(writer),
            readers: Mutex::new(vec![reader]),
            retention,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deletes the sessions whose retention has run out and returns how many went:
    /// a final session once `now_ms >= expires_at_ms + retention.final_ms`, an unfinished
    /// one once `now_ms >= expires_at_ms + retention.unfinished_ms`.
    pub async fn purge_expired(&self, now_ms: u64) -> Result<u64, StoreError> {
        let (final_cutoff, unfinished_cutoff) = self.retention.cutoffs(now_ms);
        self.write(Write::Purge {
            final_cutoff,
            unfinished_cutoff,
        })
        .await
        .map(Written::rows)
    }

    /// Queues `write` for the writer and waits until its batch is committed (or failed).
    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        let stopped = || StoreError::Unavailable("the store's writer has stopped".into());
        let (reply, answer) = oneshot::channel();
        let writes = self.writes.as_ref().ok_or_else(stopped)?;
        // Unbounded, yet bounded by the callers: each one waits for its answer.
        writes
            .send(Queued { write, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Moves the wake-up of each of `rows` (due, and unreadable: see [`readable`]) on, by
    /// `statement` (`?1` the wake-up, `?2` the id, `?3` the version read). A failure is
    /// logged; the rows then come back on the next sweep.
    async fn defer(&self, statement: &'static str, rows: Vec<Unreadable>, now_ms: u64) {
        if rows.is_empty() {
            return;
        }
        let until = Unreadable::retry_at(now_ms);
        let job: Job = Box::new(move |connection| {
            let mut moved = 0;
            for row in &rows {
                moved += connection.prepare_cached(statement)?.execute(params![
                    until,
                    row.id,
                    row.version
                ])? as u64;
            }
            Ok(moved)
        });
        if let Err(error) = self.write(Write::Run(job)).await {
            tracing::warn!(%error, "the wake-up of an unreadable due row was not moved on");
        }
    }

    /// Runs `job` on an idle read connection (opening one if all are busy).
    fn read<T>(
        &self,
        job: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = lock(&self.readers).pop();
        let connection = match idle {
            Some(connection) => connection,
            None => open_reader(&self.path)?,
        };
        let result = job(&connection);
        let mut readers = lock(&self.readers);
        if readers.len() < MAX_IDLE_READERS {
            readers.push(connection);
        }
        result
    }
}

/// Closing the queue lets the writer commit what is queued and stop; waiting for it means
/// the file is released when the store is gone (a reopen never meets its lock).
impl Drop for SqliteStore {
    fn drop(&mut self) {
        drop(self.writes.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Purge for SqliteStore {
    fn purge_expired(
        &self,
        now_ms: u64,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send {
        SqliteStore::purge_expired(self, now_ms)
    }
}

/// Captures, voids and refunds: `begin_operation` and `swap_operation` go through the
/// writer (the check and the insert in its one transaction), reads run on a reader.
impl OperationStore for SqliteStore {
    async fn begin_operation(&self, record: &OperationRecord) -> Result<Begun, StoreError> {
        let row = OperationRow::of(record)?;
        match self.write(Write::BeginOperation(Box::new(row))).await? {
            Written::Begun(begun) => Ok(begun),
            Written::Rows(_) => Err(StoreError::Unavailable("the writer answered rows".into())),
        }
    }

    async fn operations_of(&self, payment_id: &str) -> Result<Vec<OperationRecord>, StoreError> {
        self.read(|connection| sqlite_ops::of_payment(connection, payment_id))
    }

    async fn swap_operation(&self, next: &OperationRecord) -> Result<bool, StoreError> {
        let Some(expected) = next.version.checked_sub(1) else {
            return Ok(false);
        };
        let expected = to_i64(expected, "version")?;
        let row = Box::new(OperationRow::of(next)?);
        let changed = self.write(Write::SwapOperation { row, expected }).await?;
        Ok(changed.rows() == 1)
    }

    /// The swap and its outbox rows in one write (`sqlite_outbox.rs`).
    async fn swap_operation_with_events(
        &self,
        next: &OperationRecord,
        events: &[crate::store::outbox::OutboxEvent],
    ) -> Result<bool, StoreError> {
        if events.is_empty() {
            return self.swap_operation(next).await;
        }
        let Some(expected) = next.version.checked_sub(1) else {
            return Ok(false);
        };
        let swap = Write::SwapOperation {
            row: Box::new(OperationRow::of(next)?),
            expected: to_i64(expected, "version")?,
        };
        self.change_and_enqueue(swap, events).await
    }

    async fn due_operations(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<OperationRecord>, StoreError> {
        let (due, unreadable) =
            self.read(|connection| sqlite_ops::due(connection, now_ms, limit))?;
        self.defer(sqlite_ops::DEFER, unreadable, now_ms).await;
        Ok(due)
    }
}

impl SessionStore for SqliteStore {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let row = SessionRow::of(session)?;
        self.write(Write::Create(row)).await.map(drop)
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.read(|connection| {
            let found = connection
                .prepare_cached("SELECT id, version, body FROM sessions WHERE id = ?1")?
                .query_row(params![id], read_body)
                .optional()?;
            found.map(StoredBody::decode).transpose()
        })
    }

    /// A read, and the writer thread alive: a writer gone (a panic in it) fails every
    /// write while reads still answer, so a read alone would keep this instance in the
    /// load balancer's pool while every payment fails.
    async fn ready(&self) -> Result<(), StoreError> {
        if self
            .writer
            .as_ref()
            .is_none_or(|writer| writer.is_finished())
        {
            return Err(StoreError::Unavailable(
                "the store's writer has stopped".into(),
            ));
        }
        self.load(NO_SUCH_SESSION).await.map(drop)
    }

    async fn load_by_order(
        &self,
        provider: ProviderKind,
        order_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        self.read(|connection| {
            let found = connection
                .prepare_cached(
                    "SELECT id, version, body FROM sessions
                     WHERE provider = ?1 AND order_id = ?2",
                )?
                .query_row(params![provider.as_str(), order_id], read_body)
                .optional()?;
            found.map(StoredBody::decode).transpose()
        })
    }

    /// The unfinished sessions and unsettled operations whose stored phase is `unknown`
    /// (few: the rest of the tables is final and is not read).
    async fn in_doubt(&self) -> Result<Option<u64>, StoreError> {
        self.read(|connection| {
            let count: i64 = connection
                .prepare_cached(IN_DOUBT)?
                .query_row([], |row| row.get(0))?;
            Ok(Some(u64::try_from(count).unwrap_or_default()))
        })
    }

    /// One `UPDATE … WHERE id = ? AND version = ? AND is_final = 0` in the writer's
    /// transaction: writes are applied one after another, so of many concurrent swaps
    /// from the same version exactly one changes a row. A final session is never
    /// replaced, whatever `next` says.
    async fn swap(&self, next: &Session) -> Result<bool, StoreError> {
        let Some(expected) = next.version.checked_sub(1) else {
            return Ok(false);
        };
        let expected = to_i64(expected, "version")?;
        let row = SessionRow::of(next)?;
        let changed = self.write(Write::Swap { row, expected }).await?;
        Ok(changed.rows() == 1)
    }

    /// The swap and its outbox rows in one write (`sqlite_outbox.rs`).
    async fn swap_with_events(
        &self,
        next: &Session,
        events: &[crate::store::outbox::OutboxEvent],
    ) -> Result<bool, StoreError> {
        outbox::swap_with_events(self, next, events).await
    }

    async fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<Session>, StoreError> {
        let now = ms_column(now_ms);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (due, unreadable) = self.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, version, body FROM sessions
                 WHERE wake_at_ms IS NOT NULL AND wake_at_ms <= ?1 AND is_final = 0
                 ORDER BY wake_at_ms LIMIT ?2",
            )?;
            let rows = statement.query_map(params![now, limit], read_body)?;
            let batch = rows.collect::<Result<Vec<StoredBody>, _>>()?;
            Ok(readable(batch, "session", StoredBody::decode))
        })?;
        self.defer(DEFER_SESSION, unreadable, now_ms).await;
        Ok(due)
    }
}

/// A read connection: never writes (`query_only`), waits out a checkpoint's lock.
fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "query_only", true)?;
    Ok(connection)
}

/// The body and the columns it must agree with, from a `SELECT id, version, body`.
fn read_body(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredBody> {
    Ok(StoredBody {
        id: row.get(0)?,
        version: row.get(1)?,
        body: row.get(2)?,
    })
}

impl From<rusqlite::Error> for StoreError {
    fn from(failed: rusqlite::Error) -> StoreError {
        if let rusqlite::Error::SqliteFailure(code, _) = &failed {
            match code.extended_code {
                ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE => {
                    return StoreError::Duplicate;
                }
                _ => {}
            }
            if matches!(
                code.code,
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase
            ) {
                return StoreError::Corrupt(failed.to_string());
            }
        }
        StoreError::Unavailable(failed.to_string())
    }
}

/// A poisoned lock only means a reader panicked; the idle connections are intact.
fn lock(readers: &Mutex<Vec<Connection>>) -> MutexGuard<'_, Vec<Connection>> {
    readers
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Creates the parent directories and, on first open, the file itself readable by its
/// owner only (SQLite gives `-wal` and `-shm` the same permissions).
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let unavailable = |failed: std::io::Error| {
        StoreError::Unavailable(format!("cannot create {}: {failed}", path.display()))
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(unavailable)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(unavailable)
}

fn user_version(connection: &Connection) -> Result<u32, StoreError> {
    let found: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    u32::try_from(found)
        .map_err(|_| StoreError::Corrupt(format!("schema version {found} is not one of ours")))
}

fn check_schema_version(connection: &Connection) -> Result<u32, StoreError> {
    let found = user_version(connection)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

/// Applies the missing steps, each in its own write transaction together with its
/// `user_version`, so a crash leaves the file at one version or the next, never between.
fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    loop {
        let step = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read again under the write lock: another process may have migrated meanwhile.
        let found = check_schema_version(&step)?;
        let Some(migration) = MIGRATIONS.get(found as usize) else {
            return Ok(());
        };
        step.execute_batch(migration)?;
        step.pragma_update(None, "user_version", found + 1)?;
        step.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer thread that died (a panic inside a write) is not ready, though reads
    /// still answer: `/readyz` must take such an instance out of the pool.
    #[tokio::test]
    async fn a_dead_writer_is_not_ready_though_reads_still_answer() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("sessions.db")).unwrap();
        store.ready().await.expect("a fresh store is ready");

        let panicking: Job = Box::new(|_| panic!("a bug in a write"));
        let failed = store.write(Write::Run(panicking)).await;
        assert_eq!(
            failed.err().map(|e| e.code()),
            Some("store_unavailable"),
            "the write whose job panicked is told the writer stopped"
        );
        // The thread is gone once its unwinding ends; wait for it, never for long.
        for _ in 0..200 {
            if store.writer.as_ref().is_some_and(|w| w.is_finished()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }

        assert_eq!(
            store.load(NO_SUCH_SESSION).await.unwrap(),
            None,
            "reads answer"
        );
        let unready = store.ready().await.expect_err("a dead writer is not ready");
        assert_eq!(unready.code(), "store_unavailable");
        assert!(
            unready.to_string().contains("writer has stopped"),
            "{unready}"
        );
    }
}
