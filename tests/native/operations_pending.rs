//! A refund the provider accepts `pending` (dLocal's refunds may be) is counted once in
//! `threeds_bridge_operations_ended_total{status="pending"}`, however many lookups find it
//! still pending, and once more with the status it ends in. Each lookup used to count it
//! again: a refund pending for three days, looked up every five minutes, counted some 850
//! pending operations.

use crate::support;

use std::sync::{Arc, Mutex};

use serde_json::json;
use support::backend::{operate_at, start_at, start_body, CHECKOUT, MERCHANT_KEY};
use threeds_bridge::backend::auth::ApiKey;
use threeds_bridge::backend::config::{
    BackendConfig, CallPolicy, ProvidersConfig, ReconcilePolicy,
};
use threeds_bridge::backend::native::{self, ReqwestTransport, SystemEnv};
use threeds_bridge::backend::{Backend, Observer, Providers, Registered};
use threeds_bridge::emv::ThreeDsCompInd;
use threeds_bridge::payment::{PaymentResult, PaymentStart, PaymentStatus, ProviderKind};
use threeds_bridge::provider::lifecycle::{
    Operation, OperationAnswer, OperationCall, OperationError, OperationKind, OperationResult,
    OperationStep,
};
use threeds_bridge::provider::{
    Adapter, BrowserReturn, Context, HttpResponse, ReturnRefused, Step, TransportFailure,
};
use threeds_bridge::store::memory::MemoryStore;

/// Authorizes at once; a refund is accepted `pending` and stays so until `done` is set.
struct PendingRefunds {
    done: Arc<Mutex<bool>>,
}

impl Adapter for PendingRefunds {
    type State = ();

    fn start(&self, _: &PaymentStart, _: &Context) -> Step<()> {
        Step::Done(PaymentResult {
            status: PaymentStatus::Authorized,
            provider_payment_id: Some("pay-1".into()),
            three_ds_version: None,
            trans_status: None,
            eci: None,
            liability_shift: false,
            trans_status_reason: None,
            error: None,
        })
    }

    fn on_response(
        &self,
        _: (),
        _: Result<HttpResponse, TransportFailure>,
        _: &Context,
    ) -> Step<()> {
        Step::Unknown { state: () }
    }

    fn reconcile(&self, _: (), _: &Context) -> Step<()> {
        Step::Unknown { state: () }
    }

    fn on_browser_return(
        &self,
        _: (),
        _: &BrowserReturn,
        _: &Context,
    ) -> Result<Step<()>, ReturnRefused> {
        Err(no_browser_step())
    }

    fn verify_browser_return(
        &self,
        _: &(),
        _: &BrowserReturn,
        _: &Context,
    ) -> Result<(), ReturnRefused> {
        Err(no_browser_step())
    }

    fn on_method_completed(&self, _: (), _: ThreeDsCompInd, _: &Context) -> Step<()> {
        Step::Unknown { state: () }
    }

    fn operation(&self, op: &Operation, _: &Context) -> Result<OperationStep, OperationError> {
        Ok(self.answer(op))
    }

    fn on_operation_response(
        &self,
        op: &Operation,
        _: OperationCall,
        _: OperationAnswer,
        _: &Context,
    ) -> OperationStep {
        self.answer(op)
    }

    fn operation_lookup(&self, op: &Operation, _: &Context) -> OperationStep {
        self.answer(op)
    }
}

impl PendingRefunds {
    fn answer(&self, op: &Operation) -> OperationStep {
        OperationStep::Done(if *self.done.lock().unwrap() {
            OperationResult::Succeeded {
                provider_operation_id: "refund-1".into(),
                amount: op.amount,
            }
        } else {
            OperationResult::Pending {
                provider_operation_id: "refund-1".into(),
            }
        })
    }
}

fn no_browser_step() -> ReturnRefused {
    ReturnRefused {
        code: "unexpected_return",
        message: "no browser step",
    }
}

/// Every `operation_ended` the backend reports: its kind and status.
#[derive(Default)]
struct Ended(Mutex<Vec<(OperationKind, &'static str)>>);

impl Observer for Ended {
    fn operation_ended(&self, _: ProviderKind, kind: OperationKind, result: &OperationResult) {
        self.0.lock().unwrap().push((kind, result.status()));
    }
}

#[tokio::test]
async fn a_refund_still_pending_at_each_lookup_is_counted_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let done = Arc::new(Mutex::new(false));
    let providers = Providers::default().with(Registered::new(
        ProviderKind::Dlocal,
        PendingRefunds { done: done.clone() },
    ));
    let config = BackendConfig {
        public_url: url.clone(),
        checkout_origins: vec![CHECKOUT.to_owned()],
        merchant_api_keys: vec![ApiKey::new(MERCHANT_KEY)],
        max_confirm_attempts: 3,
        session_ttl_seconds: 600,
        calls: CallPolicy::default(),
        // Every pending lookup due at once: the test sweeps by hand.
        reconcile: ReconcilePolicy {
            first_lookup_ms: 1,
            max_lookup_ms: 1,
            sweep_every_ms: 60_000,
            ..Default::default()
        },
        providers: ProvidersConfig::default(),
        webhooks: Default::default(),
    };
    let ended = Arc::new(Ended::default());
    let transport = ReqwestTransport::new(&config.calls).expect("transport");
    let backend = Arc::new(
        Backend::with_providers(
            config,
            providers,
            Arc::new(MemoryStore::default()),
            transport,
            SystemEnv,
        )
        .observed_by(ended.clone()),
    );
    let running = native::spawn(listener, backend.clone()).expect("serve");

    let (status, view, _) = start_at(
        &running.url,
        &start_body("dlocal", "4000000000001000", "iframe"),
    )
    .await;
    assert_eq!(
        (status, &view["status"]),
        (200, &json!("authorized")),
        "{view}"
    );
    let id = view["id"].as_str().expect("id");
    let (status, refund) = operate_at(&running.url, id, "refunds", "refund-1", &json!({})).await;
    assert_eq!(
        (status, &refund["status"]),
        (200, &json!("pending")),
        "{refund}"
    );
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let swept = backend.sweep_all(10).await.expect("sweep");
        assert_eq!(swept.looked_at, 1, "the pending refund is looked up");
    }
    *done.lock().unwrap() = true;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    backend.sweep_all(10).await.expect("sweep");
    assert_eq!(
        *ended.0.lock().unwrap(),
        [
            (OperationKind::Refund, "pending"),
            (OperationKind::Refund, "succeeded")
        ]
    );
}
