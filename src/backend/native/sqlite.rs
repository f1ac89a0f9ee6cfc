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
//! Every SQLite call blocks, so each one runs on tokio's blocking pool; the store must be
//! used inside a tokio runtime. It never sees a PAN: a `Session` holds only a `CardSummary`.
//! See docs/backend/store.md.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{ffi, params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

pub use super::stored::Retention;
use super::stored::{ms_column, readable, to_i64, Purge, SessionRow, StoredBody};
use crate::payment::ProviderKind;
use crate::session::Session;
use crate::store::{SessionStore, StoreError};

/// How long a writer waits for another connection's lock before giving up `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
];

/// The `user_version` this build writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The session store of the native host: one SQLite file, one connection.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    retention: Retention,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (or creates) the store at `path` with the default [`Retention`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, Retention::default())
    }

    /// Opens (or creates) the store at `path`, migrating an older schema and refusing a
    /// newer one (`SchemaTooNew`) before changing anything in the file. Blocks: call it at
    /// startup.
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
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
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
        self.run(move |connection| {
            let deleted = connection
                .prepare_cached(
                    "DELETE FROM sessions
                     WHERE (is_final = 1 AND expires_at_ms <= ?1)
                        OR (is_final = 0 AND expires_at_ms <= ?2)",
                )?
                .execute(params![final_cutoff, unfinished_cutoff])?;
            Ok(deleted as u64)
        })
        .await
    }

    /// Runs `job` on the blocking pool with the connection.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || job(&mut lock(&connection)))
            .await
            .map_err(|failed| StoreError::Unavailable(format!("store task failed: {failed}")))?
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

impl SessionStore for SqliteStore {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let row = SessionRow::of(session)?;
        self.run(move |connection| {
            connection
                .prepare_cached(
                    "INSERT INTO sessions
                     (id, provider, order_id, version, expires_at_ms, is_final, body, wake_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    row.id,
                    row.provider,
                    row.order_id,
                    row.version,
                    row.expires_at_ms,
                    row.is_final,
                    row.body,
                    row.wake_at_ms
                ])?;
            Ok(())
        })
        .await
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let id = id.to_owned();
        self.run(move |connection| {
            let found = connection
                .prepare_cached("SELECT id, version, body FROM sessions WHERE id = ?1")?
                .query_row(params![id], read_body)
                .optional()?;
            found.map(StoredBody::decode).transpose()
        })
        .await
    }

    async fn load_by_order(
        &self,
        provider: ProviderKind,
        order_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        let order_id = order_id.to_owned();
        self.run(move |connection| {
            let found = connection
                .prepare_cached(
                    "SELECT id, version, body FROM sessions
                     WHERE provider = ?1 AND order_id = ?2",
                )?
                .query_row(params![provider.as_str(), order_id], read_body)
                .optional()?;
            found.map(StoredBody::decode).transpose()
        })
        .await
    }

    /// One `UPDATE … WHERE id = ? AND version = ? AND is_final = 0`: SQLite runs it under
    /// its write lock, so of many concurrent swaps from the same version exactly one
    /// changes a row. A final session is never replaced, whatever `next` says.
    async fn swap(&self, next: &Session) -> Result<bool, StoreError> {
        let Some(expected) = next.version.checked_sub(1) else {
            return Ok(false);
        };
        let expected = to_i64(expected, "version")?;
        let row = SessionRow::of(next)?;
        self.run(move |connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE sessions
                     SET provider = ?2, order_id = ?3, version = ?4, expires_at_ms = ?5,
                         is_final = ?6, body = ?7, wake_at_ms = ?9
                     WHERE id = ?1 AND version = ?8 AND is_final = 0",
                )?
                .execute(params![
                    row.id,
                    row.provider,
                    row.order_id,
                    row.version,
                    row.expires_at_ms,
                    row.is_final,
                    row.body,
                    expected,
                    row.wake_at_ms
                ])?;
            Ok(changed == 1)
        })
        .await
    }

    async fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<Session>, StoreError> {
        let now = ms_column(now_ms);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, version, body FROM sessions
                 WHERE wake_at_ms IS NOT NULL AND wake_at_ms <= ?1 AND is_final = 0
                 ORDER BY wake_at_ms LIMIT ?2",
            )?;
            let rows = statement.query_map(params![now, limit], read_body)?;
            let batch = rows.collect::<Result<Vec<StoredBody>, _>>()?;
            Ok(readable(batch))
        })
        .await
    }
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

/// A poisoned lock only means a job panicked; SQLite rolled its transaction back.
fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    connection
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
