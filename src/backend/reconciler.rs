//! The reconciler: what the backend does for a payment without being asked. A sweep
//! takes the sessions and the operations (captures, voids, refunds) that are due (a
//! lookup of a call in doubt, a call a stopped process left, an expiry) and brings each
//! up to date as a read would. Hosts run it on a timer (the native server's task, the
//! edge's Durable Object alarm), operators on demand (`threeds-bridge reconcile`).
//! Every change goes through the store's compare-and-set, as the driver's do: an
//! operation is claimed for a call lease before it is looked up, so of two instances
//! only one looks it up.

use super::driver::phase_name;
use super::host::{Env, Transport};
use super::Backend;
use crate::session::{Phase, Session};
use crate::store::operations::{OperationPhase, OperationRecord};
use crate::store::{SessionStore, StoreError};

/// What a sweep did: sessions and operations (captures, voids, refunds) together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Sessions due that the sweep looked at.
    pub looked_at: usize,
    /// Of those, how many are final now.
    pub settled: usize,
    /// Of those, how many are still in doubt (`unknown`): their next lookup is later.
    pub in_doubt: usize,
    /// Due ones the store failed on (logged, each with its id): not looked at, left for
    /// the next sweep. An operator's `threeds-bridge reconcile` exits 1 when there are any.
    pub failed: usize,
}

impl Swept {
    /// Adds another pass's counts (the operations' share of a sweep).
    pub(crate) fn add(&mut self, other: Swept) {
        self.looked_at += other.looked_at;
        self.settled += other.settled;
        self.in_doubt += other.in_doubt;
        self.failed += other.failed;
    }

    fn count(&mut self, session: &Session) {
        self.looked_at += 1;
        if session.phase.is_final() {
            self.settled += 1;
        } else if matches!(session.phase, Phase::Unknown { .. }) {
            self.in_doubt += 1;
        }
    }
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// One pass of the reconciler: every session that needs the backend without being
    /// asked (a lookup due, a call abandoned by a stopped process, an expiry), at most
    /// `limit` of them, soonest first, brought up to date as a read would. Hosts run it
    /// on a timer (the native server's task, the edge's Durable Object alarm) and
    /// operators on demand (`threeds-bridge reconcile`).
    pub async fn sweep(&self, limit: usize) -> Result<Swept, StoreError> {
        let due = self.store.due(self.env.now_ms(), limit).await?;
        let mut swept = Swept::default();
        for session in due {
            match self.sweep_one(session).await {
                Some(session) => swept.count(&session),
                None => swept.failed += 1,
            }
        }
        swept.add(self.sweep_operations(limit, &|| false).await?);
        self.count_in_doubt().await;
        Ok(swept)
    }

    /// Sweeps in batches of `batch` until nothing due is left that this pass has not
    /// looked at already (a session another process keeps moving is looked at once).
    pub async fn sweep_all(&self, batch: usize) -> Result<Swept, StoreError> {
        self.sweep_all_until(batch, || false).await
    }

    /// [`Backend::sweep_all`], ending early once `stopping` says so, between two sessions
    /// or two operations: a server shutting down waits for the one in progress (it may be
    /// in a provider call), not for every one that is due.
    pub async fn sweep_all_until(
        &self,
        batch: usize,
        stopping: impl Fn() -> bool,
    ) -> Result<Swept, StoreError> {
        let batch = batch.max(1);
        let mut seen = std::collections::HashMap::new();
        loop {
            let due = self.store.due(self.env.now_ms(), batch).await?;
            let full = due.len() == batch;
            let mut fresh = 0;
            for session in due {
                if stopping() {
                    break;
                }
                if seen.contains_key(&session.id) {
                    continue;
                }
                fresh += 1;
                let id = session.id.clone();
                // A session that failed stays seen: this sweep does not retry it.
                seen.insert(id, self.sweep_one(session).await);
            }
            if !full || fresh == 0 || stopping() {
                break;
            }
        }
        let mut swept = Swept::default();
        for session in seen.values() {
            match session {
                Some(session) => swept.count(session),
                None => swept.failed += 1,
            }
        }
        // Operations: each due one is claimed for a lease when looked at, so a batch
        // never sees the same one twice; batches until one comes back short.
        loop {
            let operations = self.sweep_operations(batch, &stopping).await?;
            let full = operations.looked_at == batch;
            swept.add(operations);
            if !full || stopping() {
                break;
            }
        }
        self.count_in_doubt().await;
        Ok(swept)
    }

    /// Tells the observer what is left in doubt after a sweep, in the whole store: a
    /// sweep sees a doubt only when its next lookup is due (minutes apart), so its own
    /// count would be 0 most of the time.
    async fn count_in_doubt(&self) {
        match self.store.in_doubt().await {
            Ok(Some(count)) => self.observer.in_doubt(count),
            Ok(None) => {}
            // The gauge keeps its last value: say why, where an operator looks.
            Err(error) => tracing::warn!(%error, "the payments in doubt could not be counted"),
        }
    }

    /// One due session brought up to date, or `None` (logged) when the store failed for
    /// it: one session the sweep cannot settle must not stop it from settling the others.
    async fn sweep_one(&self, session: Session) -> Option<Session> {
        let id = session.id.clone();
        self.settle_due(session)
            .await
            .map_err(|error| {
                tracing::warn!(session = %id, %error, "the sweep could not settle this session; the next sweep tries again")
            })
            .ok()
    }

    /// [`Backend::sweep_one`]'s work. A session the backend can do nothing for (its
    /// provider is no longer configured) is looked at again after `max_lookup_ms`, so it
    /// does not stay at the head of every sweep.
    async fn settle_due(&self, session: Session) -> Result<Session, StoreError> {
        let session = self.settle(session).await?;
        let now = self.env.now_ms();
        let still_due = session.wake_at_ms.is_some_and(|at| at <= now);
        if session.phase.is_final() || !still_due || self.providers.get(session.provider).is_some()
        {
            return Ok(session);
        }
        tracing::warn!(
            session = %session.id, provider = session.provider.as_str(), phase = phase_name(&session.phase),
            "this session's provider is not configured: it is left as it is and looked at again later"
        );
        let later = now.saturating_add(self.config.reconcile.max_lookup_ms);
        let mut postponed = Session {
            version: session.version + 1,
            wake_at_ms: Some(later),
            ..session.clone()
        };
        if let Phase::Unknown {
            next_lookup_at_ms, ..
        } = &mut postponed.phase
        {
            *next_lookup_at_ms = later;
        }
        Ok(if self.store.swap(&postponed).await? {
            postponed
        } else {
            session
        })
    }

    /// Looks up a payment in doubt now, whenever its next lookup was due (the merchant
    /// or an operator asked); any other session is only brought up to date.
    pub async fn reconcile_now(&self, session: Session) -> Result<Session, StoreError> {
        let Phase::Unknown { state, .. } = &session.phase else {
            return self.settle(session).await;
        };
        let Some(adapter) = self.providers.get(session.provider) else {
            return Ok(session);
        };
        let step = adapter.reconcile(state, &self.context(&session));
        self.drive_on(session, step).await
    }
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// Looks `record` up when it is due (`now`: whenever it is not settled, unless another
    /// actor's claim on it still runs): a doubt
    /// whose lookup time came, a pending result, a call a stopped process left.
    pub(crate) async fn settle_operation(
        &self,
        record: OperationRecord,
        now: bool,
    ) -> Result<OperationRecord, StoreError> {
        let time = self.env.now_ms();
        // `now` skips the wait between lookups, not another actor's claim: its lookup's
        // answer would be lost to this one's (compare-and-set), and a merchant asking
        // again and again would keep any answer from being written.
        let claimed = matches!(record.claimed_until_ms, Some(until) if time < until);
        let now = now && !claimed;
        let due = match &record.phase {
            OperationPhase::Calling => {
                time.saturating_sub(record.updated_at_ms) > self.config.calls.lease_ms()
            }
            OperationPhase::Unknown {
                next_lookup_at_ms, ..
            } => now || time >= *next_lookup_at_ms,
            OperationPhase::Final { .. } if record.phase.is_settled() => false,
            OperationPhase::Final { .. } => now || record.wake_at_ms.is_some_and(|w| w <= time),
        };
        if !due {
            return Ok(record);
        }
        let session = self.store.load(&record.payment_id).await?;
        let adapter = session
            .as_ref()
            .and_then(|session| self.providers.get(session.provider));
        let (Some(session), Some(adapter)) = (session, adapter) else {
            return self.postponed(record, time).await;
        };
        // Claim it, so of two actors only one looks it up.
        let claim = self.claimed(&record, time);
        if !self.store.swap_operation(&claim).await? {
            return self.reloaded(record).await;
        }
        tracing::info!(operation = %claim.id, "looking up an operation");
        let step = adapter.operation_lookup(&claim.operation, &self.context(&session));
        self.drive_operation(adapter, &session, claim, step).await
    }

    /// `record` claimed by this actor from `now_ms` for one call lease: one version on,
    /// woken again after the lease, a `Calling` record's lease counted from now. A doubt's
    /// next lookup moves with the claim, or the claim would leave it due to the next
    /// reader while this actor is still looking it up.
    pub(super) fn claimed(&self, record: &OperationRecord, now_ms: u64) -> OperationRecord {
        let until = now_ms.saturating_add(self.config.calls.lease_ms());
        OperationRecord {
            claimed_until_ms: Some(until),
            ..deferred(record, now_ms, until)
        }
    }

    /// A due operation this backend can do nothing for (its payment's provider is not
    /// configured here, or its payment is gone) is left as it is and looked at again after
    /// `max_lookup_ms`, as such a session is: left due, it came back at the head of every
    /// sweep's batch, and a sweep that met a batch's worth of them never ended.
    async fn postponed(
        &self,
        record: OperationRecord,
        now_ms: u64,
    ) -> Result<OperationRecord, StoreError> {
        tracing::warn!(
            operation = %record.id, payment = %record.payment_id,
            "this operation's provider is not configured (or its payment is gone): it is left as it is and looked at again later"
        );
        let later = now_ms.saturating_add(self.config.reconcile.max_lookup_ms);
        let postponed = deferred(&record, now_ms, later);
        if self.store.swap_operation(&postponed).await? {
            Ok(postponed)
        } else {
            self.reloaded(record).await
        }
    }

    /// The payment's operations, each looked up if due (`now`: if not settled).
    pub(crate) async fn settled_operations(
        &self,
        payment_id: &str,
        now: bool,
    ) -> Result<Vec<OperationRecord>, StoreError> {
        let mut records = self.store.operations_of(payment_id).await?;
        for record in &mut records {
            if !record.phase.is_settled() {
                *record = self.settle_operation(record.clone(), now).await?;
            }
        }
        Ok(records)
    }

    /// The sweep's share of operations: up to `limit` due ones looked up, until
    /// `stopping` says so.
    pub(crate) async fn sweep_operations(
        &self,
        limit: usize,
        stopping: &impl Fn() -> bool,
    ) -> Result<Swept, StoreError> {
        let due = self.store.due_operations(self.env.now_ms(), limit).await?;
        let mut swept = Swept::default();
        for record in due {
            if stopping() {
                break;
            }
            let id = record.id.clone();
            match self.settle_operation(record, false).await {
                Ok(record) => {
                    swept.looked_at += 1;
                    if record.phase.is_settled() {
                        swept.settled += 1;
                    } else if matches!(record.phase, OperationPhase::Unknown { .. }) {
                        swept.in_doubt += 1;
                    }
                }
                Err(error) => {
                    swept.failed += 1;
                    tracing::warn!(operation = %id, %error, "the sweep could not settle this operation")
                }
            }
        }
        Ok(swept)
    }
}

/// `record` one version on, not due again before `until` (a `Calling` record's lease
/// counted from `now_ms`, a doubt's next lookup moved to `until` with its wake-up).
fn deferred(record: &OperationRecord, now_ms: u64, until: u64) -> OperationRecord {
    let phase = match &record.phase {
        OperationPhase::Unknown { lookups, .. } => OperationPhase::Unknown {
            lookups: *lookups,
            next_lookup_at_ms: until,
        },
        phase => phase.clone(),
    };
    record.advanced(phase, now_ms, Some(until))
}
