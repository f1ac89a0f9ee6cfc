//! What the core tells a host that keeps metrics: a payment started or ended, a provider
//! call answered or not and how long it took. The core only calls an [`Observer`]; the
//! native host's one counts into Prometheus families (`native/metrics.rs`), the edge keeps
//! none ([`Unobserved`]). No IO here: the durations come from the host's [`super::Env`]
//! clock, as every other time the core reads.

use crate::payment::{PaymentStatus, ProviderKind};
use crate::store::{MaybeSend, MaybeSync};

/// How one provider call ended, as a metric's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// The provider answered with this HTTP status.
    Answered(u16),
    /// No answer within the call timeout.
    Timeout,
    /// The connection failed or was lost before the answer.
    Connection,
}

impl CallOutcome {
    /// `2xx` … `5xx`, `timeout` or `connection`: few values, so a label.
    pub fn label(self) -> &'static str {
        match self {
            CallOutcome::Answered(status) => match status / 100 {
                2 => "2xx",
                3 => "3xx",
                4 => "4xx",
                5 => "5xx",
                _ => "other",
            },
            CallOutcome::Timeout => "timeout",
            CallOutcome::Connection => "connection",
        }
    }
}

/// One provider call (one attempt), as the driver saw it.
#[derive(Debug, Clone, Copy)]
pub struct ProviderCall {
    pub provider: ProviderKind,
    /// The adapter's name for it (`bambora.payments`, …): a fixed set per provider.
    pub call: &'static str,
    pub outcome: CallOutcome,
    pub elapsed_ms: u64,
}

/// Hooks the core calls; each does nothing unless the host says otherwise. They must not
/// block: they run inside a request.
pub trait Observer: MaybeSend + MaybeSync {
    /// A payment was created (`POST /v1/payments`, 201).
    fn payment_started(&self, _provider: ProviderKind) {}
    /// A payment reached its result (stored final, whoever moved it there).
    fn payment_ended(&self, _provider: ProviderKind, _status: PaymentStatus) {}
    /// One attempt of a provider call ended.
    fn provider_call(&self, _call: &ProviderCall) {}
    /// A provider's notification (`POST /v1/webhooks/{provider}`) was answered `status`.
    fn webhook(&self, _provider: ProviderKind, _status: u16) {}
    /// A sweep of the reconciler ended, and the store holds `count` payments and
    /// captures, voids or refunds in doubt (`unknown`), whichever sweep looked at them.
    fn in_doubt(&self, _count: u64) {}
    /// One outbound webhook attempt (to a merchant's endpoint) ended so.
    fn webhook_delivery(&self, _outcome: super::webhooks::DeliveryOutcome) {}
    /// Whether this observer takes [`Observer::webhook_backlog`]: counting the rows still
    /// to deliver reads the whole queue (in a Durable Object, every row into its memory,
    /// after every round), so it is counted only for an observer that uses it.
    fn counts_webhook_backlog(&self) -> bool {
        false
    }
    /// Outbound webhook rows still to deliver, after a delivery round.
    fn webhook_backlog(&self, _rows: u64) {}
    /// A capture, void or refund was stored with its result (`pending`, then again when
    /// a lookup finds it done).
    fn operation_ended(
        &self,
        _provider: ProviderKind,
        _kind: crate::provider::lifecycle::OperationKind,
        _result: &crate::provider::lifecycle::OperationResult,
    ) {
    }
}

/// The observer of a host that keeps no metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unobserved;

impl Observer for Unobserved {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_few_labels() {
        assert_eq!(CallOutcome::Answered(201).label(), "2xx");
        assert_eq!(CallOutcome::Answered(402).label(), "4xx");
        assert_eq!(CallOutcome::Answered(503).label(), "5xx");
        assert_eq!(CallOutcome::Answered(99).label(), "other");
        assert_eq!(CallOutcome::Timeout.label(), "timeout");
        assert_eq!(CallOutcome::Connection.label(), "connection");
    }
}
