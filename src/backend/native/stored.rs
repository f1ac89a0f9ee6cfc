//! What the native host's SQL stores ([`super::sqlite`], [`super::postgres`]) keep of a
//! session, and for how long: one row per session whose `body` is the session's serde JSON
//! (the truth), with copies of a few of its fields as columns for keys, constraints and
//! indexes; the body read back and checked against its row; and the purge both stores (and
//! the memory store) run on a timer, by the one [`Retention`] of `crate::store`. Keeping this in one place keeps the two stores' rows and
//! purges the same.

use std::future::Future;

use crate::session::Session;
use crate::store::memory::MemoryStore;
use crate::store::{StoreError, UNREADABLE_RETRY_MS};

pub use crate::store::Retention;

impl Retention {
    /// The `expires_at_ms` at or before which a (final, unfinished) session is purged at
    /// `now_ms`; -1 matches nothing (no retention has run out yet).
    pub(super) fn cutoffs(&self, now_ms: u64) -> (i64, i64) {
        let cutoff = |retention_ms: u64| {
            now_ms
                .checked_sub(retention_ms)
                .map_or(-1, |cutoff| i64::try_from(cutoff).unwrap_or(i64::MAX))
        };
        (cutoff(self.final_ms), cutoff(self.unfinished_ms))
    }
}

/// A store that deletes sessions past their [`Retention`]; `serve` calls it hourly.
pub trait Purge: Send + Sync {
    /// Deletes the sessions whose retention has run out and returns how many went:
    /// a final session once `now_ms >= expires_at_ms + retention.final_ms`, an unfinished
    /// one once `now_ms >= expires_at_ms + retention.unfinished_ms`.
    fn purge_expired(&self, now_ms: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The memory store purges too (synchronously, under its lock, reading only what expired
/// long enough ago), so a long-running `serve` with `kind = "memory"` stays bounded.
impl Purge for MemoryStore {
    fn purge_expired(&self, now_ms: u64) -> impl Future<Output = Result<u64, StoreError>> + Send {
        std::future::ready(Ok(MemoryStore::purge_expired(self, now_ms)))
    }
}

/// A session as one row's values.
pub(super) struct SessionRow {
    pub id: String,
    pub provider: &'static str,
    pub order_id: String,
    pub version: i64,
    pub expires_at_ms: i64,
    pub is_final: bool,
    pub body: String,
    pub wake_at_ms: Option<i64>,
}

impl SessionRow {
    pub fn of(session: &Session) -> Result<SessionRow, StoreError> {
        let body = serde_json::to_string(session).map_err(|failed| {
            StoreError::Unavailable(format!("cannot encode the session: {failed}"))
        })?;
        Ok(SessionRow {
            id: session.id.clone(),
            provider: session.provider.as_str(),
            order_id: session.order_id.to_string(),
            version: to_i64(session.version, "version")?,
            expires_at_ms: ms_column(session.expires_at_ms),
            is_final: session.phase.is_final(),
            body,
            wake_at_ms: session.wake_at_ms.map(ms_column),
        })
    }
}

/// What a lookup reads back: the body, and the columns it must agree with.
pub(super) struct StoredBody {
    pub id: String,
    pub version: i64,
    pub body: String,
}

/// The readable records of a sweep's batch, and the rows that are not. A row that no longer
/// reads (damage, or a record a newer build wrote during a rollout) is logged (its id and
/// the kind of damage, never its text) and left out: one damaged row must not stop the
/// reconciler from settling every other payment. It stays in the store for an operator;
/// the store moves its wake-up [`UNREADABLE_RETRY_MS`] on ([`Unreadable`]), so that it is
/// reported once an hour rather than on every sweep, and a few such rows cannot fill every
/// batch ahead of the payments that can be settled.
pub(super) fn readable<T>(
    batch: Vec<StoredBody>,
    what: &str,
    decode: impl Fn(StoredBody) -> Result<T, StoreError>,
) -> (Vec<T>, Vec<Unreadable>) {
    let mut records = Vec::with_capacity(batch.len());
    let mut unreadable = Vec::new();
    for stored in batch {
        let (id, version) = (stored.id.clone(), stored.version);
        match decode(stored) {
            Ok(record) => records.push(record),
            Err(error) => {
                tracing::error!(id = %id, %error, "a due {what} cannot be read; the sweep leaves it out for an hour");
                unreadable.push(Unreadable { id, version });
            }
        }
    }
    (records, unreadable)
}

/// A due row that did not read: its key and the version it was read at (the deferral
/// applies only if nothing wrote the row since).
pub(super) struct Unreadable {
    pub id: String,
    pub version: i64,
}

impl Unreadable {
    /// Its next wake-up, from `now_ms`.
    pub fn retry_at(now_ms: u64) -> i64 {
        ms_column(now_ms.saturating_add(UNREADABLE_RETRY_MS))
    }
}

impl StoredBody {
    /// The session in `body`, or `Corrupt`. The message names the kind and place of the
    /// damage, never the stored text itself.
    pub fn decode(self) -> Result<Session, StoreError> {
        let session: Session = serde_json::from_str(&self.body)
            .map_err(|failed| StoreError::unreadable("body is not a session", &failed))?;
        let version_agrees = i64::try_from(session.version).is_ok_and(|v| v == self.version);
        if session.id != self.id || !version_agrees {
            return Err(StoreError::Corrupt(
                "body disagrees with its row's id or version".into(),
            ));
        }
        Ok(session)
    }
}

pub(super) fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::Unavailable(format!("{what} {value} does not fit the store")))
}

/// A time in ms as the stores' `BIGINT`/`INTEGER` columns compare it: a far future stays
/// far future.
pub(super) fn ms_column(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}
