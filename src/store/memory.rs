//! Sessions in a `HashMap`: for tests, and for hosts that may forget on restart.
//!
//! Every call is O(1) or O(log n) plus what it returns, so a long-running process with
//! many sessions pays no scan per payment: beside the sessions by id, [`Sessions`] keeps
//! an index by (provider, order id), the unfinished sessions by wake-up time (what `due`
//! reads) and every session by expiry (what [`MemoryStore::purge_expired`] reads), each
//! changed in the same step as the map, under the one lock. The purge keeps the same
//! [`Retention`] as the SQL stores, so such a process does not grow forever.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use super::operations::{self, Begun, OperationPhase, OperationRecord, OperationStore};
use super::{Retention, SessionStore, StoreError};

/// The webhook outbox rows, kept under the sessions' lock (`memory_outbox.rs`).
#[path = "memory_outbox.rs"]
mod outbox;
use crate::payment::ProviderKind;
use crate::session::{Phase, Session};

#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: Mutex<Sessions>,
    /// Each payment's operations, oldest first; a purged payment's go with it.
    operations: Mutex<HashMap<String, Vec<OperationRecord>>>,
    retention: Retention,
}

/// The sessions and their indexes; only [`Sessions::insert`] and [`Sessions::remove`]
/// change them, so the indexes never drift from the map.
#[derive(Debug, Default)]
struct Sessions {
    by_id: HashMap<String, Session>,
    by_order: HashMap<(ProviderKind, String), String>,
    /// (wake_at_ms, id) of each unfinished session with a wake-up time.
    waking: BTreeSet<(u64, String)>,
    /// (expires_at_ms, id) of every session.
    expiring: BTreeSet<(u64, String)>,
    /// Webhook outbox rows, changed under the same lock as the sessions.
    outbox: outbox::Rows,
}

impl Sessions {
    fn order_key(session: &Session) -> (ProviderKind, String) {
        (session.provider, session.order_id.as_str().to_owned())
    }

    fn wake_key(session: &Session) -> Option<(u64, String)> {
        match session.wake_at_ms {
            Some(at) if !session.phase.is_final() => Some((at, session.id.clone())),
            _ => None,
        }
    }

    /// Whether (provider, order id) belongs to a session other than `id`.
    fn order_taken_by_other(&self, session: &Session) -> bool {
        self.by_order
            .get(&Sessions::order_key(session))
            .is_some_and(|owner| *owner != session.id)
    }

    /// Stores `session`, replacing the one with its id (and its index entries) if any.
    fn insert(&mut self, session: Session) {
        self.remove(&session.id);
        self.by_order
            .insert(Sessions::order_key(&session), session.id.clone());
        if let Some(key) = Sessions::wake_key(&session) {
            self.waking.insert(key);
        }
        self.expiring
            .insert((session.expires_at_ms, session.id.clone()));
        self.by_id.insert(session.id.clone(), session);
    }

    /// [`SessionStore::swap`] under the lock.
    fn swap(&mut self, next: &Session) -> Result<bool, StoreError> {
        let sessions = self;
        let current = match sessions.by_id.get(&next.id) {
            Some(stored) if stored.version + 1 == next.version && !stored.phase.is_final() => {
                stored
            }
            _ => return Ok(false),
        };
        // Like the SQL stores' unique (provider, order_id): a swap may not take another
        // session's order.
        if Sessions::order_key(current) != Sessions::order_key(next)
            && sessions.order_taken_by_other(next)
        {
            return Err(StoreError::Duplicate);
        }
        sessions.insert(next.clone());
        Ok(true)
    }

    fn remove(&mut self, id: &str) -> Option<Session> {
        let session = self.by_id.remove(id)?;
        self.by_order.remove(&Sessions::order_key(&session));
        if let Some(key) = Sessions::wake_key(&session) {
            self.waking.remove(&key);
        }
        self.expiring
            .remove(&(session.expires_at_ms, session.id.clone()));
        Some(session)
    }
}

impl MemoryStore {
    /// An empty store that purges by `retention`.
    pub fn with_retention(retention: Retention) -> MemoryStore {
        MemoryStore {
            sessions: Mutex::default(),
            operations: Mutex::default(),
            retention,
        }
    }

    /// How many sessions the store holds.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Deletes the sessions whose [`Retention`] has run out at `now_ms` and returns how
    /// many went: a final session once `now_ms >= expires_at_ms + retention.final_ms`, an
    /// unfinished one once `now_ms >= expires_at_ms + retention.unfinished_ms` (the SQL
    /// stores' rule). Reads only the sessions that expired long enough ago. Delivered and
    /// given-up webhook rows go once `now_ms >= created_ms + retention.final_ms`.
    pub fn purge_expired(&self, now_ms: u64) -> u64 {
        let Some(latest) = self.retention.latest_expiry_purged(now_ms) else {
            return 0;
        };
        let mut sessions = self.lock();
        let mut operations = self.lock_operations();
        // A payment with an operation not settled yet is kept (the SQL stores' rule): that
        // record may be the only trace of money moved.
        let settling = |id: &String| {
            operations
                .get(id)
                .is_some_and(|records| records.iter().any(|r| !r.phase.is_settled()))
        };
        let gone: Vec<String> = sessions
            .expiring
            .iter()
            .take_while(|(expires_at_ms, _)| *expires_at_ms <= latest)
            .filter(|(expires_at_ms, id)| {
                !settling(id)
                    && sessions.by_id.get(id).is_some_and(|session| {
                        let is_final = session.phase.is_final();
                        self.retention.has_run_out(*expires_at_ms, is_final, now_ms)
                    })
            })
            .map(|(_, id)| id.clone())
            .collect();
        for id in &gone {
            sessions.remove(id);
            operations.remove(id);
        }
        // Webhook rows sent (or given up) are kept as long as a final session.
        let retention = self.retention;
        sessions
            .outbox
            .purge_done(|created_ms| retention.has_run_out(created_ms, true, now_ms));
        gone.len() as u64
    }

    fn lock_operations(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<OperationRecord>>> {
        self.operations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for MemoryStore {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let mut sessions = self.lock();
        let taken = sessions.by_id.contains_key(&session.id)
            || sessions
                .by_order
                .contains_key(&Sessions::order_key(session));
        if taken {
            return Err(StoreError::Duplicate);
        }
        sessions.insert(session.clone());
        Ok(())
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        Ok(self.lock().by_id.get(id).cloned())
    }

    async fn load_by_order(
        &self,
        provider: ProviderKind,
        order_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        let sessions = self.lock();
        Ok(sessions
            .by_order
            .get(&(provider, order_id.to_owned()))
            .and_then(|id| sessions.by_id.get(id))
            .cloned())
    }

    async fn swap(&self, next: &Session) -> Result<bool, StoreError> {
        self.lock().swap(next)
    }

    async fn swap_with_events(
        &self,
        next: &Session,
        events: &[super::outbox::OutboxEvent],
    ) -> Result<bool, StoreError> {
        let mut sessions = self.lock();
        let swapped = sessions.swap(next)?;
        if swapped {
            sessions.outbox.enqueue(events);
        }
        Ok(swapped)
    }

    /// Every session and operation looked at: a memory store holds few.
    async fn in_doubt(&self) -> Result<Option<u64>, StoreError> {
        let payments = (self.lock().by_id.values())
            .filter(|session| matches!(session.phase, Phase::Unknown { .. }))
            .count();
        let operations = (self.lock_operations().values().flatten())
            .filter(|record| matches!(record.phase, OperationPhase::Unknown { .. }))
            .count();
        Ok(Some((payments + operations) as u64))
    }

    async fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<Session>, StoreError> {
        let sessions = self.lock();
        Ok(sessions
            .waking
            .iter()
            .take_while(|(wake_at_ms, _)| *wake_at_ms <= now_ms)
            .take(limit)
            .filter_map(|(_, id)| sessions.by_id.get(id).cloned())
            .collect())
    }
}

/// Under the operations lock (a begin also holds the sessions' lock): the check and the
/// insert are one step. `due_operations`
/// reads every unsettled operation (few: they settle within a lookup or two).
impl OperationStore for MemoryStore {
    /// The sessions' lock first (the purge's order), held while the operation is stored:
    /// a purge cannot take the payment in between.
    async fn begin_operation(&self, record: &OperationRecord) -> Result<Begun, StoreError> {
        let sessions = self.lock();
        if !sessions.by_id.contains_key(&record.payment_id) {
            return Err(operations::payment_not_stored());
        }
        let mut operations = self.lock_operations();
        let of_payment = operations.entry(record.payment_id.clone()).or_default();
        let begun = operations::decide(record, of_payment);
        if begun == Begun::Created {
            of_payment.push(record.clone());
        }
        Ok(begun)
    }

    async fn operations_of(&self, payment_id: &str) -> Result<Vec<OperationRecord>, StoreError> {
        Ok(self
            .lock_operations()
            .get(payment_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn swap_operation(&self, next: &OperationRecord) -> Result<bool, StoreError> {
        Ok(swap_in(&mut self.lock_operations(), next))
    }

    /// The sessions' lock (which holds the outbox) is taken before the operations' lock,
    /// in the order the purge takes them.
    async fn swap_operation_with_events(
        &self,
        next: &OperationRecord,
        events: &[super::outbox::OutboxEvent],
    ) -> Result<bool, StoreError> {
        let mut sessions = self.lock();
        let swapped = swap_in(&mut self.lock_operations(), next);
        if swapped {
            sessions.outbox.enqueue(events);
        }
        Ok(swapped)
    }

    async fn due_operations(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<OperationRecord>, StoreError> {
        let operations = self.lock_operations();
        let mut due: Vec<OperationRecord> = operations
            .values()
            .flatten()
            .filter(|r| !r.phase.is_settled() && r.wake_at_ms.is_some_and(|at| at <= now_ms))
            .cloned()
            .collect();
        due.sort_by_key(|r| r.wake_at_ms);
        due.truncate(limit);
        Ok(due)
    }
}

/// The compare-and-set of [`OperationStore::swap_operation`] on the locked map.
fn swap_in(operations: &mut HashMap<String, Vec<OperationRecord>>, next: &OperationRecord) -> bool {
    let stored = operations
        .get_mut(&next.payment_id)
        .and_then(|records| records.iter_mut().find(|r| r.id == next.id));
    match stored {
        Some(stored) if stored.version + 1 == next.version && !stored.phase.is_settled() => {
            *stored = next.clone();
            true
        }
        _ => false,
    }
}
