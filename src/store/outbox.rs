//! The webhook outbox: the events the merchant's endpoints must receive, one row per
//! (event, endpoint), written by the store in the SAME write as the session change that
//! caused them ([`super::SessionStore::swap_with_events`]), so a process that dies between
//! the two cannot lose an event, and a change that did not happen (a lost compare-and-set)
//! cannot invent one. Delivery claims due rows with a lease ([`Outbox::claim_due`]) so that
//! several instances sharing one database do not send the same row at once, then records
//! how the attempt went ([`Outbox::record`]). docs/backend/webhooks.md.
//!
//! Must not: name a host's IO (see the module above).

use std::future::Future;

use super::{MaybeSend, SessionStore, StoreError};

/// The refusal of a store that keeps no outbox, asked to enqueue events: refused rather
/// than dropped, so a merchant's own store never loses one silently.
pub fn no_outbox() -> StoreError {
    StoreError::Unavailable("this session store keeps no webhook outbox".into())
}

/// One row to enqueue: an event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// `evt_` + 32 hex: the receiver dedupes on it (the same on every attempt).
    pub event_id: String,
    /// The endpoint's URL, as configured (`webhooks.endpoints[].url`); never its secret.
    pub endpoint: String,
    /// The event's JSON, exactly the bytes that are signed and sent.
    pub body: String,
    /// When the event happened (unix ms); also its first attempt's time.
    pub created_ms: u64,
}

/// A row claimed for one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub event_id: String,
    pub endpoint: String,
    pub body: String,
    pub created_ms: u64,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// How one attempt ended, as the row records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempted {
    /// The endpoint answered 2xx: never sent again.
    Delivered { status: u16 },
    /// No 2xx (`status`, or `None`: no answer): try again at `at_ms`.
    Retry { status: Option<u16>, at_ms: u64 },
    /// No 2xx and the event is too old to try again (or its endpoint is no longer
    /// configured): kept, never sent again.
    GaveUp { status: Option<u16> },
}

/// The outbox side of a store that keeps one.
pub trait Outbox: SessionStore {
    /// Up to `limit` rows neither delivered nor given up whose next attempt is due at
    /// `now_ms`, soonest first; each one's next attempt moves to `lease_until_ms` and its
    /// attempts count one more, in the same write, so no other claimer (another instance)
    /// gets it before the lease runs out.
    fn claim_due(
        &self,
        now_ms: u64,
        lease_until_ms: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DueDelivery>, StoreError>> + MaybeSend;

    /// Records how the attempt `claimed` ended, at `now_ms`. A delivery always lands; a
    /// retry or a give-up only while the row is still that claim's (its attempts the
    /// claim's): an attempt that outlived its lease and was claimed again since must not
    /// move the new claim's lease back, which would let a third sender in.
    fn record(
        &self,
        claimed: &DueDelivery,
        attempted: Attempted,
        now_ms: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend;

    /// Rows still to deliver (neither delivered nor given up): the backlog gauge.
    fn backlog(&self) -> impl Future<Output = Result<u64, StoreError>> + MaybeSend;
}
