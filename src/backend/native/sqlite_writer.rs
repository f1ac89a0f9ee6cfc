//! The SQLite store's writer thread (group commit): it owns the write connection, takes
//! every write queued while it was busy (up to [`MAX_BATCH`]), runs them in one transaction,
//! each in its own savepoint so that a lost compare-and-set or a duplicate answers only its
//! own caller, commits once (one fsync for the batch) and only then answers them all. The
//! writes it applies are [`Write`]s; see sqlite.rs for the store around it.

use rusqlite::{params, Connection, TransactionBehavior};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;

use super::outbox;
use crate::backend::native::sqlite_ops::{self, OperationRow};
use crate::backend::native::stored::SessionRow;
use crate::store::operations::Begun;
use crate::store::StoreError;

/// The most writes one transaction takes: bounds a batch's latency and memory.
const MAX_BATCH: usize = 512;

/// One write the writer thread applies, and what it answers: the rows it changed.
pub(super) enum Write {
    Create(SessionRow),
    Swap {
        row: SessionRow,
        expected: i64,
    },
    Purge {
        final_cutoff: i64,
        unfinished_cutoff: i64,
    },
    BeginOperation(Box<OperationRow>),
    SwapOperation {
        row: Box<OperationRow>,
        expected: i64,
    },
    /// Statements of another part of the store (the webhook outbox's), run as one write.
    Run(Job),
}

/// What a write answers: the rows it changed, or how an operation's begin ended.
#[derive(Debug, Clone)]
pub(super) enum Written {
    Rows(u64),
    Begun(Begun),
}

impl Written {
    pub(super) fn rows(self) -> u64 {
        match self {
            Written::Rows(rows) => rows,
            Written::Begun(_) => 0,
        }
    }
}

/// Statements run as one [`Write`]; what they answer is the write's answer.
pub(super) type Job = Box<dyn Fn(&Connection) -> Result<u64, StoreError> + Send>;

/// A write and where its answer goes once its batch is committed.
pub(super) struct Queued {
    pub(super) write: Write,
    pub(super) reply: oneshot::Sender<Result<Written, StoreError>>,
}

/// The writer thread: waits for a write, takes every other one queued meanwhile (up to
/// [`MAX_BATCH`]), commits them together, answers them all; stops when the queue closes.
pub(super) fn write_batches(mut connection: Connection, mut queue: UnboundedReceiver<Queued>) {
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(queued) => batch.push(queued),
                Err(_) => break,
            }
        }
        let (writes, replies): (Vec<Write>, Vec<_>) =
            batch.into_iter().map(|q| (q.write, q.reply)).unzip();
        let answers = match commit_batch(&mut connection, &writes) {
            Ok(answers) => answers,
            Err(failed) => vec![Err(failed); writes.len()],
        };
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A caller that stopped waiting has nothing to be told.
            let _ = reply.send(answer);
        }
    }
}

/// Runs `writes` in one transaction, each in its own savepoint, and commits once. `Err`:
/// nothing of the batch is committed (every caller is told so).
fn commit_batch(
    connection: &mut Connection,
    writes: &[Write],
) -> Result<Vec<Result<Written, StoreError>>, StoreError> {
    let mut transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut answers = Vec::with_capacity(writes.len());
    for write in writes {
        let answer = {
            let savepoint = transaction.savepoint()?;
            let answer = apply(&savepoint, write);
            if answer.is_ok() {
                savepoint.commit()?;
            }
            answer
        }; // A failed write's savepoint is dropped here: that rolls back this write alone.
        if transaction.is_autocommit() {
            // SQLite rolled the whole transaction back (a full disk, an I/O error):
            // what ran before is gone too, so the batch fails as one.
            return Err(answer.err().unwrap_or_else(|| {
                StoreError::Unavailable("the store's transaction was rolled back".into())
            }));
        }
        answers.push(answer);
    }
    transaction.commit()?;
    Ok(answers)
}

/// One write's statement; the rows it changed.
pub(super) fn apply(connection: &Connection, write: &Write) -> Result<Written, StoreError> {
    let changed = match write {
        Write::BeginOperation(row) => {
            return sqlite_ops::begin(connection, row).map(Written::Begun)
        }
        Write::SwapOperation { row, expected } => {
            return sqlite_ops::swap(connection, row, *expected).map(Written::Rows)
        }
        Write::Run(job) => return job(connection).map(Written::Rows),
        Write::Create(row) => connection
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
            ])?,
        Write::Swap { row, expected } => swap(connection, row, *expected)?,
        Write::Purge {
            final_cutoff,
            unfinished_cutoff,
        } => connection
            .prepare_cached(
                // A payment with an operation not settled yet is kept (the PostgreSQL
                // store's rule): that record may be the only trace of money moved.
                "DELETE FROM sessions
                 WHERE ((is_final = 1 AND expires_at_ms <= ?1)
                        OR (is_final = 0 AND expires_at_ms <= ?2))
                   AND NOT EXISTS (SELECT 1 FROM operations o
                                   WHERE o.payment_id = sessions.id AND o.settled = 0)",
            )?
            .execute(params![final_cutoff, unfinished_cutoff])
            .and_then(|purged| {
                connection.execute(sqlite_ops::PURGE_ORPHANS, [])?;
                connection.execute(outbox::PURGE_DONE, params![final_cutoff])?;
                Ok(purged)
            })?,
    };
    Ok(Written::Rows(changed as u64))
}

/// The compare-and-set of a session's row: it changes only the row at version `expected`
/// that is not final. Most swaps (every step before the result) keep the session's order,
/// expiry and `is_final`, so the first statement sets only what changed and leaves the
/// indexes on those columns alone: SQLite rewrites an index entry whenever its column is
/// SET, even to the same value, and each such entry is one more page in the commit's WAL
/// write and fsync (4 pages a swap become 2). When it matches nothing (the swap is lost, or
/// it moves the session to its result, another order or expiry), the full statement
/// decides; both run in the writer's transaction, so nothing comes between them.
fn swap(connection: &Connection, row: &SessionRow, expected: i64) -> rusqlite::Result<usize> {
    if !row.is_final {
        let changed = connection
            .prepare_cached(
                "UPDATE sessions SET version = ?4, body = ?5, wake_at_ms = ?6
                 WHERE id = ?1 AND version = ?7 AND is_final = 0
                   AND provider = ?2 AND order_id = ?3 AND expires_at_ms = ?8",
            )?
            .execute(params![
                row.id,
                row.provider,
                row.order_id,
                row.version,
                row.body,
                row.wake_at_ms,
                expected,
                row.expires_at_ms
            ])?;
        if changed > 0 {
            return Ok(changed);
        }
    }
    connection
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
        ])
}
