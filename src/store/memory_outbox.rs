//! The memory store's webhook outbox: rows in a map under the sessions' lock, so a swap
//! and its events change together ([`super::super::outbox`]).

use std::collections::BTreeMap;

use super::MemoryStore;
use crate::store::outbox::{Attempted, DueDelivery, Outbox, OutboxEvent};
use crate::store::StoreError;

/// One (event, endpoint) row.
#[derive(Debug, Clone)]
struct Row {
    body: String,
    created_ms: u64,
    attempts: u32,
    next_attempt_at_ms: u64,
    /// Delivered or given up: never sent again.
    done: bool,
}

/// The rows by (event id, endpoint).
#[derive(Debug, Default)]
pub(super) struct Rows(BTreeMap<(String, String), Row>);

impl Rows {
    /// Adds `events`; a row that exists already is left as it is.
    pub(super) fn enqueue(&mut self, events: &[OutboxEvent]) {
        for event in events {
            self.0
                .entry((event.event_id.clone(), event.endpoint.clone()))
                .or_insert_with(|| Row {
                    body: event.body.clone(),
                    created_ms: event.created_ms,
                    attempts: 0,
                    next_attempt_at_ms: event.created_ms,
                    done: false,
                });
        }
    }
}

impl Rows {
    /// Deletes the delivered and given-up rows for which `run_out(created_ms)`; rows still
    /// to deliver are kept whatever their age.
    pub(super) fn purge_done(&mut self, run_out: impl Fn(u64) -> bool) {
        self.0
            .retain(|_, row| !(row.done && run_out(row.created_ms)));
    }
}

impl Outbox for MemoryStore {
    async fn claim_due(
        &self,
        now_ms: u64,
        lease_until_ms: u64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let mut sessions = self.lock();
        let mut due: Vec<(&(String, String), &mut Row)> = sessions
            .outbox
            .0
            .iter_mut()
            .filter(|(_, row)| !row.done && row.next_attempt_at_ms <= now_ms)
            .collect();
        due.sort_by_key(|(_, row)| row.next_attempt_at_ms);
        Ok(due
            .into_iter()
            .take(limit)
            .map(|((event_id, endpoint), row)| {
                row.attempts += 1;
                row.next_attempt_at_ms = lease_until_ms;
                DueDelivery {
                    event_id: event_id.clone(),
                    endpoint: endpoint.clone(),
                    body: row.body.clone(),
                    created_ms: row.created_ms,
                    attempts: row.attempts,
                }
            })
            .collect())
    }

    async fn record(
        &self,
        claimed: &DueDelivery,
        attempted: Attempted,
        _now_ms: u64,
    ) -> Result<(), StoreError> {
        let mut sessions = self.lock();
        let key = (claimed.event_id.clone(), claimed.endpoint.clone());
        if let Some(row) = sessions.outbox.0.get_mut(&key) {
            let still_claimed = row.attempts == claimed.attempts;
            match attempted {
                Attempted::Delivered { .. } => row.done = true,
                Attempted::GaveUp { .. } if still_claimed => row.done = true,
                Attempted::Retry { at_ms, .. } if still_claimed => row.next_attempt_at_ms = at_ms,
                Attempted::GaveUp { .. } | Attempted::Retry { .. } => {}
            }
        }
        Ok(())
    }

    async fn backlog(&self) -> Result<u64, StoreError> {
        let sessions = self.lock();
        Ok(sessions.outbox.0.values().filter(|row| !row.done).count() as u64)
    }
}
