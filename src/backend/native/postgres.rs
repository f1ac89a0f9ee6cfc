//! Sessions in PostgreSQL: the native host's store when several instances of `serve`
//! share every payment (a browser's return, a webhook and the reconciler's sweep may each
//! reach any instance). See docs/backend/store.md.
//!
//! Owns a pool of connections (tokio-postgres under deadpool, no TLS), one PostgreSQL
//! schema (namespace) of the operator's choosing with its tables, the ordered migrations
//! that reach them (`postgres_schema.rs`), and the mapping between a
//! [`Session`] and a row: the same row as SQLite's ([`super::stored`]): the session's
//! serde JSON in `body` is the truth, the other columns are copies for keys, constraints
//! and indexes.
//!
//! The rules are SQLite's, kept by PostgreSQL itself so that they hold across processes:
//! `create` is one `INSERT` under the primary key and `UNIQUE (provider, order_id)`;
//! `swap` is one `UPDATE … WHERE id AND version AND NOT is_final` (under READ COMMITTED a
//! concurrent update of the same row waits, then re-checks the `WHERE` against the
//! committed row, so of many swaps from one version exactly one changes it); `due` reads a
//! partial index on `wake_at_ms`. Creates and swaps that arrive together are written
//! several to a statement, one commit for all (`postgres_batch.rs`), each keeping its own
//! answer. Every call is bounded by [`CALL_TIMEOUT`]: a database that
//! stops answering makes calls fail `store_unavailable`, never hang. It never sees a PAN: a
//! `Session` holds only a `CardSummary`.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use super::postgres_ops::OperationStatements;
use super::stored::{
    ms_column, readable, to_i64, Purge, Retention, SessionRow, StoredBody, Unreadable,
};
use crate::payment::ProviderKind;
use crate::session::Session;
use crate::store::{SessionStore, StoreError};

/// The webhook outbox's table and statements (`postgres_outbox.rs`).
#[path = "postgres_outbox.rs"]
mod outbox;

/// The schema's migrations, and the check of its name (`postgres_schema.rs`).
#[path = "postgres_schema.rs"]
mod schema;

pub(crate) use schema::check_schema_name;
pub use schema::SCHEMA_VERSION;

/// Swaps written several to a statement (`postgres_batch.rs`).
#[path = "postgres_batch.rs"]
mod batch;

use batch::{BatchStatements, Swap, Write, WriteQueue};

/// The schema `serve` uses unless its config names another.
pub const DEFAULT_SCHEMA: &str = "threeds_bridge";

/// Connections per instance unless the config says otherwise: every store call is one
/// short statement, so a few connections serve many requests.
pub const DEFAULT_POOL_SIZE: usize = 8;

/// The longest one store call (waiting for a connection included) may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long opening a connection may take, unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how the store keeps its sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The PostgreSQL schema that holds the tables; created on first start when missing.
    /// Lowercase letters, digits and `_`, starting with a letter or `_`, at most 63.
    pub schema: String,
    /// At most this many connections per store (per instance).
    pub pool_size: usize,
    pub retention: Retention,
    /// Whether a missing schema is created (`serve`, the tests) or refused (`reconcile`,
    /// where a misspelt `store.schema` would otherwise sweep an empty new schema, report
    /// nothing in doubt, and leave that schema behind).
    pub create_missing: bool,
}

impl Default for PostgresOptions {
    fn default() -> PostgresOptions {
        PostgresOptions {
            schema: DEFAULT_SCHEMA.to_owned(),
            pool_size: DEFAULT_POOL_SIZE,
            retention: Retention::default(),
            create_missing: true,
        }
    }
}

/// The session store of several native instances: one PostgreSQL schema, a connection pool.
pub struct PostgresStore {
    pool: Pool,
    retention: Retention,
    schema: String,
    sql: Statements,
    operations: OperationStatements,
    swaps: WriteQueue,
    creates: WriteQueue,
}

impl std::fmt::Debug for PostgresStore {
    /// The schema only: the pool's configuration holds the database password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgresql://user:password@host:port/db`, or
    /// the key=value form), creates the schema and its tables or migrates older ones, and
    /// refuses a schema a newer build wrote (`SchemaTooNew`) before changing anything in it.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        check_schema_name(&options.schema)?;
        let mut config = tokio_postgres::Config::from_str(url).map_err(|failed| {
            // The driver's message names the part it could not read, never the URL.
            StoreError::Unavailable(format!("the database URL is not valid: {failed}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("threeds-bridge");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CALL_TIMEOUT))
            .create_timeout(Some(CALL_TIMEOUT))
            .recycle_timeout(Some(CALL_TIMEOUT))
            .build()
            .map_err(|failed| {
                StoreError::Unavailable(format!("cannot build the pool: {failed}"))
            })?;
        let sql = Statements::in_schema(&options.schema);
        let sessions = sessions_table(&options.schema);
        let swaps = WriteQueue::start(
            pool.clone(),
            BatchStatements::swaps(&sessions, sql.swap.clone()),
            batch::BATCHES_IN_FLIGHT,
        );
        let creates = WriteQueue::start(
            pool.clone(),
            BatchStatements::creates(&sessions, sql.insert.clone()),
            batch::BATCHES_IN_FLIGHT,
        );
        let store = PostgresStore {
            pool,
            swaps,
            creates,
            retention: options.retention,
            sql,
            operations: OperationStatements::in_schema(&options.schema),
            schema: options.schema,
        };
        within(store.migrate(options.create_missing)).await?;
        Ok(store)
    }

    /// The PostgreSQL schema that holds this store's tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub(super) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(super) fn operation_statements(&self) -> &OperationStatements {
        &self.operations
    }

    /// Deletes the sessions whose retention has run out and returns how many went (the
    /// rules of [`Purge::purge_expired`]).
    ///
    /// Two statements in one transaction: the sessions whose retention ran out are locked
    /// first, skipping any a `begin_operation` holds, and only then deleted where no
    /// operation is unsettled. The delete's snapshot is taken once the locks are held, so
    /// it sees every operation begun before; one DELETE would check with the snapshot it
    /// began with, and an operation committed while it waited for the row would go with
    /// its payment (`ON DELETE CASCADE`).
    pub async fn purge_expired(&self, now_ms: u64) -> Result<u64, StoreError> {
        let (final_cutoff, unfinished_cutoff) = self.retention.cutoffs(now_ms);
        within(async {
            let mut client = self.pool.get().await?;
            let step = client.transaction().await?;
            let lock = step.prepare_cached(&self.sql.lock_expired).await?;
            let ids: Vec<String> = step
                .query(&lock, &[&final_cutoff, &unfinished_cutoff])
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect();
            let purge = step.prepare_cached(&self.sql.purge).await?;
            let purged = step.execute(&purge, &[&ids]).await?;
            // Webhook rows sent (or given up) are kept as long as a final session.
            let done = step.prepare_cached(&self.sql.purge_outbox).await?;
            step.execute(&done, &[&final_cutoff]).await?;
            step.commit().await?;
            Ok(purged)
        })
        .await
    }

    /// The sessions of one `SELECT id, version, body` statement with `params`.
    async fn select(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Session>, StoreError> {
        within(async {
            let client = self.pool.get().await?;
            let statement = client.prepare_cached(sql).await?;
            let rows = client.query(&statement, params).await?;
            rows.iter().map(read_body).collect()
        })
        .await
    }
}

impl Purge for PostgresStore {
    fn purge_expired(&self, now_ms: u64) -> impl Future<Output = Result<u64, StoreError>> + Send {
        PostgresStore::purge_expired(self, now_ms)
    }
}

impl SessionStore for PostgresStore {
    /// One `INSERT` under the primary key and the unique order; creates arriving together
    /// share one statement and one commit (`postgres_batch.rs`), each its own `Duplicate`.
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let row = SessionRow::of(session)?;
        if within(self.creates.write(Write::Create(row))).await? {
            Ok(())
        } else {
            Err(StoreError::Duplicate)
        }
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        Ok(self.select(&self.sql.load, &[&id]).await?.pop())
    }

    async fn load_by_order(
        &self,
        provider: ProviderKind,
        order_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        let provider = provider.as_str();
        Ok(self
            .select(&self.sql.load_by_order, &[&provider, &order_id])
            .await?
            .pop())
    }

    /// One `UPDATE … WHERE id = $1 AND version = $8 AND NOT is_final`: of many concurrent
    /// swaps from the same version, in this process or another, exactly one changes the
    /// row. A final session is never replaced, whatever `next` says. Swaps arriving
    /// together share one statement and one commit (`postgres_batch.rs`), each still its
    /// own compare-and-set.
    async fn swap(&self, next: &Session) -> Result<bool, StoreError> {
        let Some(expected) = next.version.checked_sub(1) else {
            return Ok(false);
        };
        let expected = to_i64(expected, "version")?;
        let row = SessionRow::of(next)?;
        within(self.swaps.write(Write::Swap(Swap { row, expected }))).await
    }

    /// The swap and its outbox rows in one transaction (`postgres_outbox.rs`).
    async fn swap_with_events(
        &self,
        next: &Session,
        events: &[crate::store::outbox::OutboxEvent],
    ) -> Result<bool, StoreError> {
        if events.is_empty() {
            return self.swap(next).await;
        }
        self.swap_and_enqueue(next, events).await
    }

    /// The unfinished sessions and unsettled operations whose stored phase is `unknown`.
    async fn in_doubt(&self) -> Result<Option<u64>, StoreError> {
        let sql = &self.sql.in_doubt;
        let count: i64 = within(async {
            let client = self.pool.get().await?;
            let statement = client.prepare_cached(sql).await?;
            Ok(client.query_one(&statement, &[]).await?.get(0))
        })
        .await?;
        Ok(Some(u64::try_from(count).unwrap_or_default()))
    }

    async fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<Session>, StoreError> {
        let now = ms_column(now_ms);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = &self.sql.due;
        let batch = within(async {
            let client = self.pool.get().await?;
            let statement = client.prepare_cached(sql).await?;
            let rows = client.query(&statement, &[&now, &limit]).await?;
            rows.iter().map(stored_body).collect::<Result<Vec<_>, _>>()
        })
        .await?;
        let (due, unreadable) = readable(batch, "session", StoredBody::decode);
        self.defer(&self.sql.defer, unreadable, now_ms).await;
        Ok(due)
    }
}

/// The store's statements, their table named with its schema.
struct Statements {
    insert: String,
    load: String,
    load_by_order: String,
    swap: String,
    due: String,
    defer: String,
    in_doubt: String,
    lock_expired: String,
    purge: String,
    purge_outbox: String,
}

impl Statements {
    fn in_schema(schema: &str) -> Statements {
        let sessions = sessions_table(schema);
        // Only a body that names `unknown` somewhere is parsed: the function's exception
        // block costs a subtransaction per row.
        let phase = format!("strpos(body, '\"unknown\"') > 0 AND \"{schema}\".stored_phase(body)");
        Statements {
            insert: format!(
                "INSERT INTO {sessions}
                 (id, provider, order_id, version, expires_at_ms, is_final, body, wake_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            load: format!("SELECT id, version, body FROM {sessions} WHERE id = $1"),
            load_by_order: format!(
                "SELECT id, version, body FROM {sessions} WHERE provider = $1 AND order_id = $2"
            ),
            swap: format!(
                "UPDATE {sessions}
                 SET provider = $2, order_id = $3, version = $4, expires_at_ms = $5,
                     is_final = $6, body = $7, wake_at_ms = $9
                 WHERE id = $1 AND version = $8 AND NOT is_final"
            ),
            due: format!(
                "SELECT id, version, body FROM {sessions}
                 WHERE wake_at_ms IS NOT NULL AND wake_at_ms <= $1 AND NOT is_final
                 ORDER BY wake_at_ms LIMIT $2"
            ),
            defer: format!(
                "UPDATE {sessions} SET wake_at_ms = $1
                 WHERE id = $2 AND version = $3 AND NOT is_final"
            ),
            in_doubt: format!(
                "SELECT
                   (SELECT count(*) FROM {sessions}
                    WHERE NOT is_final AND {phase} = 'unknown')
                 + (SELECT count(*) FROM \"{schema}\".operations
                    WHERE NOT settled AND {phase} = 'unknown')"
            ),
            lock_expired: format!(
                "SELECT id FROM {sessions}
                 WHERE (is_final AND expires_at_ms <= $1) OR (NOT is_final AND expires_at_ms <= $2)
                 FOR UPDATE SKIP LOCKED"
            ),
            // A payment with an operation not settled yet (its capture, void or refund
            // under way, in doubt or pending) is kept: that record may be the only trace
            // of money moved, and the sweep still has to settle it.
            purge: format!(
                "DELETE FROM {sessions} s
                 WHERE s.id = ANY($1)
                   AND NOT EXISTS (SELECT 1 FROM \"{schema}\".operations o
                                   WHERE o.payment_id = s.id AND NOT o.settled)"
            ),
            purge_outbox: outbox::purge_done(schema),
        }
    }
}

/// The sessions table, named with its schema.
fn sessions_table(schema: &str) -> String {
    format!("\"{schema}\".sessions")
}

fn read_body(row: &Row) -> Result<Session, StoreError> {
    stored_body(row)?.decode()
}

/// The body and the columns it must agree with, undecoded.
pub(super) fn stored_body(row: &Row) -> Result<StoredBody, StoreError> {
    Ok(StoredBody {
        id: row.try_get(0)?,
        version: row.try_get(1)?,
        body: row.try_get(2)?,
    })
}

impl PostgresStore {
    /// Moves the wake-up of each of `rows` (due, and unreadable: see [`readable`]) on, by
    /// `sql` (`$1` the wake-up, `$2` the id, `$3` the version read). A failure is logged;
    /// the rows then come back on the next sweep.
    pub(super) async fn defer(&self, sql: &str, rows: Vec<Unreadable>, now_ms: u64) {
        if rows.is_empty() {
            return;
        }
        let until = Unreadable::retry_at(now_ms);
        let moved = within(async {
            let client = self.pool.get().await?;
            let statement = client.prepare_cached(sql).await?;
            for row in &rows {
                client
                    .execute(&statement, &[&until, &row.id, &row.version])
                    .await?;
            }
            Ok(())
        })
        .await;
        if let Err(error) = moved {
            tracing::warn!(%error, "the wake-up of an unreadable due row was not moved on");
        }
    }
}

/// `call`, or `Unavailable` once [`CALL_TIMEOUT`] has passed.
pub(super) async fn within<T>(
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "the database did not answer within {} s",
                CALL_TIMEOUT.as_secs()
            )))
        })
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(failed: tokio_postgres::Error) -> StoreError {
        match failed.as_db_error() {
            Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION => StoreError::Duplicate,
            // The code and message only: the detail may quote a row's values.
            Some(db) => StoreError::Unavailable(format!(
                "database error {}: {}",
                db.code().code(),
                db.message()
            )),
            None => StoreError::Unavailable(format!("database connection: {failed}")),
        }
    }
}

impl From<PoolError> for StoreError {
    fn from(failed: PoolError) -> StoreError {
        match failed {
            PoolError::Backend(failed) => StoreError::from(failed),
            other => StoreError::Unavailable(format!("database pool: {other}")),
        }
    }
}
