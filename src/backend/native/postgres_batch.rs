//! The PostgreSQL store's swaps and creates, several in one statement: the commit is what
//! a durable write costs PostgreSQL (a WAL flush that the committing connection waits for,
//! its server process woken for it, a round trip), so swaps that arrive while others are
//! being written are queued and then written together, as one `UPDATE … FROM unnest(…)` in
//! autocommit: one commit, one flush, one round trip for all of them (the group commit the
//! SQLite store does with its writer thread). Creates have a queue of their own, written as
//! one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING RETURNING id`: a session whose
//! id or order is taken (by a row committed before, or by an earlier create of the same
//! batch) is not inserted and its create answers `Duplicate`, as a lone `INSERT` would.
//! See docs/backend/store-performance.md.
//!
//! Each swap stays its own compare-and-set: a row changes only where its id, its version
//! and `NOT is_final` match, and the statement returns the slots that changed. Two swaps of
//! one session from one version in the same batch join the same row; PostgreSQL updates it
//! once (the second join row finds it already updated by this statement), so exactly one of
//! them wins, as with two statements. A batch the server refuses (a swap onto an order
//! another session holds, a deadlock with another instance's batch) changed nothing: each
//! of its swaps is then written alone, so each gets its own answer (`Duplicate`, `false`,
//! `true`) as if it had never been batched. A batch that fails otherwise (the connection
//! lost) fails every swap in it `store_unavailable`, as a lone swap would.

use std::sync::Arc;

use deadpool_postgres::{GenericClient, Pool};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_postgres::types::ToSql;

use super::within;
use crate::backend::native::stored::SessionRow;
use crate::store::StoreError;

/// At most this many swaps share one statement.
const MOST_PER_BATCH: usize = 64;

/// Batches written at once, each on a connection of its own: while one waits for its
/// flush, the next is being collected and sent. The rest of the pool serves reads,
/// creates and transactions.
pub(super) const BATCHES_IN_FLIGHT: usize = 2;

/// One compare-and-set: `row` replaces the session whose stored version is `expected`.
pub(super) struct Swap {
    pub row: SessionRow,
    pub expected: i64,
}

/// What a queue writes: each queue holds one kind.
pub(super) enum Write {
    /// `true` if it changed the row.
    Swap(Swap),
    /// `true` if it inserted the row, `false` if its id or order is taken.
    Create(SessionRow),
}

struct Queued {
    write: Write,
    answer: oneshot::Sender<Result<bool, StoreError>>,
}

impl Queued {
    /// Whether its caller still waits for the answer. One that gave up was answered
    /// `store_unavailable`; writing it afterwards would make that answer false.
    fn awaited(&self) -> bool {
        !self.answer.is_closed()
    }
}

/// The queue of writes waiting to be written, and the task that writes them.
pub(super) struct WriteQueue {
    queue: mpsc::UnboundedSender<Queued>,
}

/// The two statements of a queue: one write (the store's own), or many.
pub(super) struct BatchStatements {
    pub one: String,
    pub many: String,
}

impl BatchStatements {
    /// A create alone is the store's `INSERT` (`$1`…`$8`); many are one `INSERT … SELECT`.
    pub(super) fn creates(sessions: &str, one: String) -> BatchStatements {
        BatchStatements {
            one,
            many: format!(
                "INSERT INTO {sessions}
                 (id, provider, order_id, version, expires_at_ms, is_final, body, wake_at_ms)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[],
                                      $5::int8[], $6::bool[], $7::text[], $8::int8[])
                 ON CONFLICT DO NOTHING
                 RETURNING id"
            ),
        }
    }

    /// A swap alone is the store's `UPDATE` (`$1`…`$9`); many are one `UPDATE … FROM`.
    pub(super) fn swaps(sessions: &str, one: String) -> BatchStatements {
        BatchStatements {
            one,
            many: format!(
                "UPDATE {sessions} AS s
                 SET provider = n.provider, order_id = n.order_id, version = n.version,
                     expires_at_ms = n.expires_at_ms, is_final = n.is_final, body = n.body,
                     wake_at_ms = n.wake_at_ms
                 FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[], $5::int8[],
                             $6::int8[], $7::bool[], $8::text[], $9::int8[], $10::int8[])
                      AS n (slot, id, provider, order_id, version, expires_at_ms, is_final,
                            body, wake_at_ms, expected)
                 WHERE s.id = n.id AND s.version = n.expected AND NOT s.is_final
                 RETURNING n.slot"
            ),
        }
    }
}

impl WriteQueue {
    /// Starts the task that writes queued writes with `pool`'s connections, at most
    /// `in_flight` batches at once. It ends when the queue is dropped (with the store).
    pub(super) fn start(pool: Pool, statements: BatchStatements, in_flight: usize) -> WriteQueue {
        let (queue, waiting) = mpsc::unbounded_channel();
        let writer = Arc::new(Writer { pool, statements });
        tokio::spawn(collect(
            waiting,
            writer,
            Arc::new(Semaphore::new(in_flight.max(1))),
        ));
        WriteQueue { queue }
    }

    /// Queues `write` and waits for its batch (see [`Write`]).
    pub(super) async fn write(&self, write: Write) -> Result<bool, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Queued { write, answer })
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the store's batch writer has stopped".into())
}

/// Waits for a free slot, then takes every swap queued so far (at least one, at most
/// [`MOST_PER_BATCH`]) and writes them as one batch in a task of its own.
async fn collect(
    mut waiting: mpsc::UnboundedReceiver<Queued>,
    writer: Arc<Writer>,
    slots: Arc<Semaphore>,
) {
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = waiting.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MOST_PER_BATCH {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let writer = writer.clone();
        tokio::spawn(async move {
            writer.write(batch).await;
            drop(slot);
        });
    }
}

struct Writer {
    pool: Pool,
    statements: BatchStatements,
}

impl Writer {
    /// Writes `batch` and answers each of its swaps. A write whose caller has stopped
    /// waiting (its call bound ran out while it was queued, and it was answered
    /// `store_unavailable`) is not written: that answer stays true.
    async fn write(&self, batch: Vec<Queued>) {
        let batch: Vec<Queued> = batch.into_iter().filter(Queued::awaited).collect();
        if batch.len() <= 1 {
            return self.write_each_alone(batch).await;
        }
        match within(async { Ok(self.write_many(&batch).await) }).await {
            Ok(Ok(changed)) => {
                for (queued, changed) in batch.into_iter().zip(changed) {
                    let _ = queued.answer.send(Ok(changed));
                }
            }
            // The server refused the statement: it changed nothing; each alone.
            Ok(Err(Refused::ByServer)) => self.write_each_alone(batch).await,
            Ok(Err(Refused::Unavailable(failed))) | Err(failed) => {
                for queued in batch {
                    let _ = queued.answer.send(Err(failed.clone()));
                }
            }
        }
    }

    async fn write_each_alone(&self, batch: Vec<Queued>) {
        for queued in batch.into_iter().filter(Queued::awaited) {
            let result = within(self.write_one(&queued.write)).await;
            let _ = queued.answer.send(result);
        }
    }

    async fn write_one(&self, write: &Write) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        match write {
            Write::Swap(swap) => swap_on(&client, &self.statements.one, swap).await,
            Write::Create(row) => match create_on(&client, &self.statements.one, row).await {
                Ok(()) => Ok(true),
                Err(StoreError::Duplicate) => Ok(false),
                Err(failed) => Err(failed),
            },
        }
    }

    /// One statement for every write of `batch`: whether each changed its row, in order.
    async fn write_many(&self, batch: &[Queued]) -> Result<Vec<bool>, Refused> {
        let mut swaps = Vec::new();
        let mut creates = Vec::new();
        for queued in batch {
            match &queued.write {
                Write::Swap(swap) => swaps.push(swap),
                Write::Create(row) => creates.push(row),
            }
        }
        match (swaps.is_empty(), creates.is_empty()) {
            (false, true) => self.swap_many(&swaps).await,
            (true, false) => self.create_many(&creates).await,
            // A queue holds one kind: never mixed, never empty.
            _ => Err(Refused::ByServer),
        }
    }

    /// One `INSERT` for every create of `rows`: whether each was inserted, in order (of
    /// creates of one id, the first).
    async fn create_many(&self, rows: &[&SessionRow]) -> Result<Vec<bool>, Refused> {
        let columns = Columns::of(rows.iter().copied());
        let client = self.pool.get().await.map_err(StoreError::from)?;
        let statement = client.prepare_cached(&self.statements.many).await?;
        let returned = client.query(&statement, &columns.params()).await?;
        let ids = columns.ids;
        let mut inserted: Vec<String> = Vec::with_capacity(returned.len());
        for row in returned {
            inserted.push(row.try_get(0)?);
        }
        let mut answers = vec![false; rows.len()];
        for id in inserted {
            if let Some(first) = ids.iter().position(|candidate| *candidate == id) {
                answers[first] = true;
            }
        }
        Ok(answers)
    }

    /// One `UPDATE` for every swap of `rows`: whether each changed its row, in order.
    async fn swap_many(&self, rows: &[&Swap]) -> Result<Vec<bool>, Refused> {
        let slots: Vec<i32> = (0..).take(rows.len()).collect();
        let columns = Columns::of(rows.iter().map(|s| &s.row));
        let expected: Vec<i64> = rows.iter().map(|s| s.expected).collect();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&slots];
        params.extend(columns.params());
        params.push(&expected);
        let client = self.pool.get().await.map_err(StoreError::from)?;
        let statement = client.prepare_cached(&self.statements.many).await?;
        let returned = client.query(&statement, &params).await?;
        let mut changed = vec![false; rows.len()];
        for row in returned {
            let slot: i32 = row.try_get(0)?;
            if let Some(one) = usize::try_from(slot).ok().and_then(|s| changed.get_mut(s)) {
                *one = true;
            }
        }
        Ok(changed)
    }
}

/// The sessions' columns of a batch, one array each, in the order of both statements'
/// `unnest` (after the swap's `slot`, before its `expected`).
struct Columns<'a> {
    ids: Vec<&'a str>,
    providers: Vec<&'a str>,
    orders: Vec<&'a str>,
    versions: Vec<i64>,
    expiries: Vec<i64>,
    finals: Vec<bool>,
    bodies: Vec<&'a str>,
    wakes: Vec<Option<i64>>,
}

impl<'a> Columns<'a> {
    fn of(rows: impl Iterator<Item = &'a SessionRow> + Clone) -> Columns<'a> {
        Columns {
            ids: rows.clone().map(|r| r.id.as_str()).collect(),
            providers: rows.clone().map(|r| r.provider).collect(),
            orders: rows.clone().map(|r| r.order_id.as_str()).collect(),
            versions: rows.clone().map(|r| r.version).collect(),
            expiries: rows.clone().map(|r| r.expires_at_ms).collect(),
            finals: rows.clone().map(|r| r.is_final).collect(),
            bodies: rows.clone().map(|r| r.body.as_str()).collect(),
            wakes: rows.map(|r| r.wake_at_ms).collect(),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 8] {
        [
            &self.ids,
            &self.providers,
            &self.orders,
            &self.versions,
            &self.expiries,
            &self.finals,
            &self.bodies,
            &self.wakes,
        ]
    }
}

/// Why a batch was not written.
enum Refused {
    /// The server answered with an error: the statement changed nothing.
    ByServer,
    /// Anything else (no connection, the connection lost, no answer in time): whether it
    /// was written is unknown, as for a lone swap.
    Unavailable(StoreError),
}

impl From<tokio_postgres::Error> for Refused {
    fn from(failed: tokio_postgres::Error) -> Refused {
        if failed.as_db_error().is_some() {
            Refused::ByServer
        } else {
            Refused::Unavailable(StoreError::from(failed))
        }
    }
}

impl From<StoreError> for Refused {
    fn from(failed: StoreError) -> Refused {
        Refused::Unavailable(failed)
    }
}

/// One create on `client`: `Duplicate` if its id or order is taken.
async fn create_on(
    client: &impl GenericClient,
    sql: &str,
    row: &SessionRow,
) -> Result<(), StoreError> {
    let insert = client.prepare_cached(sql).await?;
    client
        .execute(
            &insert,
            &[
                &row.id,
                &row.provider,
                &row.order_id,
                &row.version,
                &row.expires_at_ms,
                &row.is_final,
                &row.body,
                &row.wake_at_ms,
            ],
        )
        .await?;
    Ok(())
}

/// One swap on `client` (the pool's or a transaction): `true` if it changed the row.
pub(super) async fn swap_on(
    client: &impl GenericClient,
    sql: &str,
    swap: &Swap,
) -> Result<bool, StoreError> {
    let row = &swap.row;
    let update = client.prepare_cached(sql).await?;
    let changed = client
        .execute(
            &update,
            &[
                &row.id,
                &row.provider,
                &row.order_id,
                &row.version,
                &row.expires_at_ms,
                &row.is_final,
                &row.body,
                &swap.expected,
                &row.wake_at_ms,
            ],
        )
        .await?;
    Ok(changed == 1)
}
