//! `GET /metrics` of `threeds-bridge serve`, in the Prometheus text format
//! (prometheus-client). The core tells an [`Observer`] of payments, provider calls and
//! sweeps; [`TimedStore`] times every store operation here, where the clock is. Every
//! name is documented in docs/operations.md, "Metrics".

use std::sync::Arc;
use std::time::Instant;

use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::backend::webhooks::DeliveryOutcome;
use crate::backend::{Observer, ProviderCall};
use crate::payment::{PaymentStatus, ProviderKind};
use crate::provider::lifecycle::{OperationKind, OperationResult};
use crate::session::Session;
use crate::store::operations::{Begun, OperationRecord, OperationStore};
use crate::store::outbox::{Attempted, DueDelivery, Outbox, OutboxEvent};
use crate::store::{SessionStore, StoreError};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndedLabels {
    provider: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    provider: &'static str,
    kind: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    provider: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    provider: &'static str,
    call: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    operation: &'static str,
    outcome: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Provider calls: 5 ms to about 40 s.
fn call_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// Store operations: 0.1 ms to about 13 s, so that SQLite's 5 s busy wait and
/// PostgreSQL's 10 s bound on a call land in buckets of their own, not in `+Inf`.
fn store_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

/// The metrics of one `serve` process.
pub struct Metrics {
    registry: Registry,
    started: Family<ProviderLabels, Counter>,
    ended: Family<EndedLabels, Counter>,
    webhooks: Family<WebhookLabels, Counter>,
    calls: Histograms<CallLabels>,
    store: Histograms<StoreLabels>,
    backlog: Gauge,
    deliveries: Family<DeliveryLabels, Counter>,
    outbox: Gauge,
    operations: Family<OperationLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("threeds_bridge");
        let started = Family::<ProviderLabels, Counter>::default();
        let ended = Family::<EndedLabels, Counter>::default();
        let webhooks = Family::<WebhookLabels, Counter>::default();
        let calls: Histograms<CallLabels> = Family::new_with_constructor(call_buckets);
        let store: Histograms<StoreLabels> = Family::new_with_constructor(store_buckets);
        let backlog = Gauge::default();
        registry.register(
            "payments_started",
            "Payments created (POST /v1/payments answered 201), by provider",
            started.clone(),
        );
        registry.register(
            "payments_ended",
            "Payments that reached their result, by provider and status",
            ended.clone(),
        );
        registry.register(
            "webhooks",
            "Provider notifications (POST /v1/webhooks/{provider}), by provider and answer status",
            webhooks.clone(),
        );
        registry.register_with_unit(
            "provider_call_duration",
            "Provider calls (each attempt), by provider, call and outcome",
            Unit::Seconds,
            calls.clone(),
        );
        registry.register_with_unit(
            "store_operation_duration",
            "Session store operations, by operation and outcome",
            Unit::Seconds,
            store.clone(),
        );
        registry.register(
            "reconcile_backlog",
            "Payments, captures, voids and refunds in doubt (unknown) in the store, counted after each reconciler sweep",
            backlog.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        let outbox = Gauge::default();
        registry.register(
            "webhook_deliveries",
            "Outbound webhook attempts to the merchant's endpoints, by outcome (delivered, retried, gave_up)",
            deliveries.clone(),
        );
        registry.register(
            "webhook_outbox_backlog",
            "Outbound webhook rows (event, endpoint) still to deliver after the last delivery round",
            outbox.clone(),
        );
        let operations = Family::<OperationLabels, Counter>::default();
        registry.register(
            "operations_ended",
            "Captures, voids and refunds stored with their result, by provider, kind and status",
            operations.clone(),
        );
        Metrics {
            registry,
            operations,
            deliveries,
            outbox,
            started,
            ended,
            webhooks,
            calls,
            store,
            backlog,
        }
    }

    /// Everything, in the Prometheus text format (0.0.4, with `# EOF`).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn store_operation(&self, operation: &'static str, ok: bool, began: Instant) {
        let labels = StoreLabels {
            operation,
            outcome: if ok { "ok" } else { "error" },
        };
        self.store
            .get_or_create(&labels)
            .observe(began.elapsed().as_secs_f64());
    }
}

impl Observer for Metrics {
    fn payment_started(&self, provider: ProviderKind) {
        let labels = ProviderLabels {
            provider: provider.as_str(),
        };
        self.started.get_or_create(&labels).inc();
    }

    fn payment_ended(&self, provider: ProviderKind, status: PaymentStatus) {
        let labels = EndedLabels {
            provider: provider.as_str(),
            status: status.as_str(),
        };
        self.ended.get_or_create(&labels).inc();
    }

    fn provider_call(&self, call: &ProviderCall) {
        let labels = CallLabels {
            provider: call.provider.as_str(),
            call: call.call,
            outcome: call.outcome.label(),
        };
        self.calls
            .get_or_create(&labels)
            .observe(call.elapsed_ms as f64 / 1000.0);
    }

    fn webhook(&self, provider: ProviderKind, status: u16) {
        let labels = WebhookLabels {
            provider: provider.as_str(),
            status,
        };
        self.webhooks.get_or_create(&labels).inc();
    }

    fn in_doubt(&self, count: u64) {
        self.backlog.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    fn webhook_delivery(&self, outcome: DeliveryOutcome) {
        let labels = DeliveryLabels {
            outcome: outcome.label(),
        };
        self.deliveries.get_or_create(&labels).inc();
    }

    fn counts_webhook_backlog(&self) -> bool {
        true
    }

    fn webhook_backlog(&self, rows: u64) {
        self.outbox.set(i64::try_from(rows).unwrap_or(i64::MAX));
    }

    fn operation_ended(
        &self,
        provider: ProviderKind,
        kind: OperationKind,
        result: &OperationResult,
    ) {
        let labels = OperationLabels {
            provider: provider.as_str(),
            kind: kind.as_str(),
            status: result.status(),
        };
        self.operations.get_or_create(&labels).inc();
    }
}

/// `GET /metrics`, to merge into the served router.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [
                        (
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        ),
                        (axum::http::header::CACHE_CONTROL, "no-store"),
                    ],
                    metrics.encode(),
                )
            }
        }),
    )
}

/// A store whose every operation is timed into [`Metrics`].
pub struct TimedStore<S> {
    inner: Arc<S>,
    metrics: Arc<Metrics>,
}

impl<S> TimedStore<S> {
    pub fn new(inner: Arc<S>, metrics: Arc<Metrics>) -> TimedStore<S> {
        TimedStore { inner, metrics }
    }
}

impl<S: SessionStore> TimedStore<S> {
    async fn timed<T>(
        &self,
        operation: &'static str,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let began = Instant::now();
        let result = work.await;
        // A duplicate is an answer, not a failure of the store.
        let ok = matches!(result, Ok(_) | Err(StoreError::Duplicate));
        self.metrics.store_operation(operation, ok, began);
        result
    }
}

impl<S: SessionStore> SessionStore for TimedStore<S> {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        self.timed("create", self.inner.create(session)).await
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.timed("load", self.inner.load(id)).await
    }

    async fn load_by_order(
        &self,
        provider: ProviderKind,
        order_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        self.timed(
            "load_by_order",
            self.inner.load_by_order(provider, order_id),
        )
        .await
    }

    async fn swap(&self, next: &Session) -> Result<bool, StoreError> {
        self.timed("swap", self.inner.swap(next)).await
    }

    async fn swap_with_events(
        &self,
        next: &Session,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError> {
        self.timed("swap", self.inner.swap_with_events(next, events))
            .await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.timed("ready", self.inner.ready()).await
    }

    async fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<Session>, StoreError> {
        self.timed("due", self.inner.due(now_ms, limit)).await
    }

    async fn in_doubt(&self) -> Result<Option<u64>, StoreError> {
        self.timed("in_doubt", self.inner.in_doubt()).await
    }
}

impl<S: SessionStore> OperationStore for TimedStore<S> {
    async fn begin_operation(&self, record: &OperationRecord) -> Result<Begun, StoreError> {
        self.timed("begin_operation", self.inner.begin_operation(record))
            .await
    }

    async fn operations_of(&self, payment_id: &str) -> Result<Vec<OperationRecord>, StoreError> {
        self.timed("operations_of", self.inner.operations_of(payment_id))
            .await
    }

    async fn swap_operation(&self, next: &OperationRecord) -> Result<bool, StoreError> {
        self.timed("swap_operation", self.inner.swap_operation(next))
            .await
    }

    async fn swap_operation_with_events(
        &self,
        next: &OperationRecord,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError> {
        self.timed(
            "swap_operation",
            self.inner.swap_operation_with_events(next, events),
        )
        .await
    }

    async fn due_operations(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<OperationRecord>, StoreError> {
        self.timed("due_operations", self.inner.due_operations(now_ms, limit))
            .await
    }
}

impl<S: Outbox> Outbox for TimedStore<S> {
    async fn claim_due(
        &self,
        now_ms: u64,
        lease_until_ms: u64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.timed(
            "outbox_claim",
            self.inner.claim_due(now_ms, lease_until_ms, limit),
        )
        .await
    }

    async fn record(
        &self,
        claimed: &DueDelivery,
        attempted: Attempted,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.timed(
            "outbox_record",
            self.inner.record(claimed, attempted, now_ms),
        )
        .await
    }

    async fn backlog(&self) -> Result<u64, StoreError> {
        self.timed("outbox_backlog", self.inner.backlog()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CallOutcome;

    #[test]
    fn counters_and_histograms_are_encoded_with_their_labels() {
        let metrics = Metrics::new();
        metrics.payment_started(ProviderKind::Bambora);
        metrics.payment_started(ProviderKind::Bambora);
        metrics.payment_ended(ProviderKind::Bambora, PaymentStatus::Authorized);
        metrics.provider_call(&ProviderCall {
            provider: ProviderKind::Paysafe,
            call: "paysafe.authentications",
            outcome: CallOutcome::Timeout,
            elapsed_ms: 1500,
        });
        metrics.webhook(ProviderKind::Dlocal, 401);
        metrics.webhook_delivery(DeliveryOutcome::Retried);
        metrics.webhook_backlog(4);
        metrics.in_doubt(2);
        let text = metrics.encode();
        for line in [
            "threeds_bridge_payments_started_total{provider=\"bambora\"} 2",
            "threeds_bridge_payments_ended_total{provider=\"bambora\",status=\"authorized\"} 1",
            "threeds_bridge_provider_call_duration_seconds_count{provider=\"paysafe\",call=\"paysafe.authentications\",outcome=\"timeout\"} 1",
            "threeds_bridge_reconcile_backlog 2",
            "threeds_bridge_webhooks_total{provider=\"dlocal\",status=\"401\"} 1",
            "threeds_bridge_webhook_deliveries_total{outcome=\"retried\"} 1",
            "threeds_bridge_webhook_outbox_backlog 4",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
