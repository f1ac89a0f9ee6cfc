//! Outbound webhooks: signed events to the merchant's endpoints when a payment reaches
//! its result (authorized, failed, cancelled) or an operation moves its money (captured,
//! voided, refunded). docs/backend/webhooks.md.
//!
//! Durable by construction: the events of a change are written by the store in the same
//! write as the change ([`crate::store::SessionStore::swap_with_events`], the outbox of
//! [`crate::store::outbox`]); a host's task then delivers due rows
//! ([`Backend::deliver_webhooks`]) at least once, with backoff, for up to a day. The
//! receiver dedupes on the event id.

pub mod backoff;
pub mod config;
pub mod event;
pub mod sign;
#[cfg(all(test, feature = "native"))]
mod tests;

pub use config::{WebhookEndpoint, WebhooksConfig};
pub use event::EventType;

use event::{Event, EventData, PaymentData};

use super::host::{random_hex, Env, Transport};
use super::operations::OperationView;
use super::Backend;
use crate::provider::{HttpMethod, HttpRequest, TransportFailure};
use crate::session::Session;
use crate::store::operations::{OperationPhase, OperationRecord};
use crate::store::outbox::{Attempted, DueDelivery, Outbox, OutboxEvent};
use crate::store::{SessionStore, StoreError};

/// Rows one delivery round claims; they are sent one after another within one lease.
pub const DELIVERY_BATCH: usize = 10;

/// How one delivery attempt ended, as a metric's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; tried again later.
    Retried,
    /// Failed for good: too old to try again (its endpoint failing, or configured on no
    /// instance any more).
    GaveUp,
}

impl DeliveryOutcome {
    pub fn label(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retried => "retried",
            DeliveryOutcome::GaveUp => "gave_up",
        }
    }
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deliveries {
    pub delivered: usize,
    pub retried: usize,
    pub gave_up: usize,
}

impl Deliveries {
    pub fn attempted(&self) -> usize {
        self.delivered + self.retried + self.gave_up
    }
}

/// `evt_` and 32 hex digits of fresh randomness.
fn event_id(env: &impl Env) -> String {
    format!("evt_{}", random_hex(env))
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// The outbox rows of `event` for each configured endpoint (none without endpoints).
    fn enqueued(&self, event: &Event<'_>, created_ms: u64) -> Vec<OutboxEvent> {
        let endpoints = &self.config.webhooks.endpoints;
        if endpoints.is_empty() {
            return Vec::new();
        }
        let body = event.body();
        endpoints
            .iter()
            .map(|endpoint| OutboxEvent {
                event_id: event.id.to_owned(),
                endpoint: endpoint.url.clone(),
                body: body.clone(),
                created_ms,
            })
            .collect()
    }

    /// The events of `next` becoming final (`payment.authorized`, `payment.failed`,
    /// `payment.cancelled`); none for any other change.
    pub(crate) fn final_events(&self, next: &Session) -> Vec<OutboxEvent> {
        let Some(result) = next.result() else {
            return Vec::new();
        };
        if self.config.webhooks.endpoints.is_empty() {
            return Vec::new();
        }
        let now = self.env.now_ms();
        let id = event_id(&self.env);
        let event = Event {
            id: &id,
            kind: EventType::of_status(result.status),
            created: now / 1000,
            data: EventData {
                payment: PaymentData::of(next),
                operation: None,
            },
        };
        self.enqueued(&event, now)
    }

    /// The events of `record`, a capture, void or refund of `payment` about to be written
    /// (`payment.captured`, `payment.voided`, `payment.refunded` once it succeeded; none
    /// otherwise). The store enqueues them in the same write that records the operation
    /// ([`crate::store::operations::OperationStore::swap_operation_with_events`]), as
    /// [`Backend::swap_announced`] does for a payment's result.
    pub fn operation_events(
        &self,
        payment: &Session,
        record: &OperationRecord,
    ) -> Vec<OutboxEvent> {
        let OperationPhase::Final { result } = &record.phase else {
            return Vec::new();
        };
        let Some(kind) = EventType::of_operation(record.operation.kind, result) else {
            return Vec::new();
        };
        if self.config.webhooks.endpoints.is_empty() {
            return Vec::new();
        }
        let now = self.env.now_ms();
        let id = event_id(&self.env);
        let event = Event {
            id: &id,
            kind,
            created: now / 1000,
            data: EventData {
                payment: PaymentData::of(payment),
                operation: Some(OperationView::of(record)),
            },
        };
        self.enqueued(&event, now)
    }

    /// The one write of a session change that the merchant may need to hear of: the swap
    /// and, when it makes the payment final, its event in the outbox, together. Every
    /// path that ends a payment (the driver, a cancel) writes through here.
    pub(crate) async fn swap_announced(&self, next: &Session) -> Result<bool, StoreError> {
        let events = self.final_events(next);
        if events.is_empty() {
            return self.store.swap(next).await;
        }
        self.store.swap_with_events(next, &events).await
    }
}

impl<S: Outbox, T: Transport, E: Env> Backend<S, T, E> {
    /// One delivery round: claims up to [`DELIVERY_BATCH`] due rows, sends each once,
    /// records each outcome, and tells the observer (and the backlog gauge).
    pub async fn deliver_webhooks(&self) -> Result<Deliveries, StoreError> {
        self.deliver_webhooks_until(|| false).await
    }

    /// [`Backend::deliver_webhooks`], sending no more once `stopping` says so: a server
    /// shutting down waits for the POST in progress, not for the round's others (their
    /// rows stay claimed until the lease ends, and are then sent by whoever claims them).
    pub async fn deliver_webhooks_until(
        &self,
        stopping: impl Fn() -> bool,
    ) -> Result<Deliveries, StoreError> {
        let now = self.env.now_ms();
        // Long enough for every claimed row's attempt, with a margin.
        let lease = self
            .config
            .calls
            .timeout_ms
            .saturating_mul(DELIVERY_BATCH as u64)
            + 30_000;
        let due = self
            .store
            .claim_due(now, now.saturating_add(lease), DELIVERY_BATCH)
            .await?;
        let mut round = Deliveries::default();
        for delivery in due {
            if stopping() {
                break;
            }
            let outcome = self.deliver_one(&delivery).await?;
            self.observer.webhook_delivery(outcome);
            match outcome {
                DeliveryOutcome::Delivered => round.delivered += 1,
                DeliveryOutcome::Retried => round.retried += 1,
                DeliveryOutcome::GaveUp => round.gave_up += 1,
            }
        }
        if self.observer.counts_webhook_backlog() {
            self.observer.webhook_backlog(self.store.backlog().await?);
        }
        Ok(round)
    }

    async fn deliver_one(&self, delivery: &DueDelivery) -> Result<DeliveryOutcome, StoreError> {
        let Some(endpoint) = self.config.webhooks.endpoint(&delivery.endpoint) else {
            // Another instance may know it (a deploy adding the endpoint is rolling out):
            // the row waits as after a failed attempt, for whoever claims it next, and is
            // given up only once its event is too old, as a failing endpoint's is.
            let (attempted, outcome) = self.after_failure(delivery, None);
            tracing::warn!(
                event = %delivery.event_id, endpoint = %Logged(&delivery.endpoint), outcome = outcome.label(),
                "webhook endpoint not configured on this instance: the event is not sent from here"
            );
            self.record(delivery, attempted).await?;
            return Ok(outcome);
        };
        let timestamp = self.env.now_ms() / 1000;
        let signature = sign::signature(
            endpoint.secret.expose(),
            &delivery.event_id,
            timestamp,
            &delivery.body,
        );
        let request = HttpRequest {
            method: HttpMethod::Post,
            url: endpoint.url.clone(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Webhook-Id".into(), delivery.event_id.clone()),
                ("Webhook-Timestamp".into(), timestamp.to_string()),
                ("Webhook-Signature".into(), signature),
            ],
            body: Some(delivery.body.clone()),
            retry_safe: true,
            purpose: "webhook.delivery",
        };
        let status = match self.transport.send(&request).await {
            Ok(answer) => Some(answer.status),
            Err(failure) => {
                let why = match failure {
                    TransportFailure::Timeout => "timeout",
                    TransportFailure::Connection(_) => "connection",
                };
                tracing::info!(event = %delivery.event_id, endpoint = %Logged(&endpoint.url), why, "webhook attempt got no answer");
                None
            }
        };
        let (attempted, outcome) = match status {
            Some(200..=299) => (
                Attempted::Delivered {
                    status: status.unwrap_or(200),
                },
                DeliveryOutcome::Delivered,
            ),
            _ => self.after_failure(delivery, status),
        };
        match outcome {
            DeliveryOutcome::GaveUp => tracing::error!(
                event = %delivery.event_id, endpoint = %Logged(&endpoint.url), attempts = delivery.attempts,
                status = ?status, "webhook given up: no 2xx within the retry window"
            ),
            DeliveryOutcome::Retried => tracing::info!(
                event = %delivery.event_id, endpoint = %Logged(&endpoint.url), attempts = delivery.attempts,
                status = ?status, "webhook attempt failed; retried later"
            ),
            DeliveryOutcome::Delivered => tracing::info!(
                event = %delivery.event_id, endpoint = %Logged(&endpoint.url), attempts = delivery.attempts,
                "webhook delivered"
            ),
        }
        self.record(delivery, attempted).await?;
        Ok(outcome)
    }

    /// What an attempt that got no 2xx (`status`; `None`: no answer, or not sent) leads
    /// to: a retry after the backoff, or, once the event is too old, giving it up.
    fn after_failure(
        &self,
        delivery: &DueDelivery,
        status: Option<u16>,
    ) -> (Attempted, DeliveryOutcome) {
        match backoff::next_attempt_at(
            &self.config.webhooks,
            delivery.created_ms,
            delivery.attempts,
            self.env.now_ms(),
            self.env.random_u128() as u64,
        ) {
            Some(at_ms) => (Attempted::Retry { status, at_ms }, DeliveryOutcome::Retried),
            None => (Attempted::GaveUp { status }, DeliveryOutcome::GaveUp),
        }
    }

    async fn record(&self, delivery: &DueDelivery, attempted: Attempted) -> Result<(), StoreError> {
        self.store
            .record(delivery, attempted, self.env.now_ms())
            .await
    }
}

/// An endpoint's URL as log lines name it: without its query, where a receiver's token
/// often sits (`?token=…`); the rows and the requests keep it whole.
struct Logged<'a>(&'a str);

impl std::fmt::Display for Logged<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.split_once('?') {
            Some((before, _)) => write!(f, "{before}?…"),
            None => f.write_str(self.0),
        }
    }
}
