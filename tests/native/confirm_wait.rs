//! A second confirm of a payment whose first is still with the provider (a double click),
//! and a merchant's retry of a capture whose first request is still with the provider,
//! wait for the first's answer, reading the store, at most one call lease: with waits that
//! grow, a few dozen reads rather than one every 20 ms (at the edge each read is a Durable
//! Object call, which the platform counts against the request's subrequests). The clock is
//! virtual: each wait moves it on at once, so the test does not wait the lease out.

use crate::support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::json;
use support::backend::{
    confirm_at, create_at, harness, operate_at, pay, split_start, start_body, Cardholder,
};
use support::store::calling;
use threeds_bridge::backend::native::SystemEnv;
use threeds_bridge::backend::Env;
use threeds_bridge::order::{Currency, OrderId};
use threeds_bridge::payment::CaptureMode;
use threeds_bridge::provider::lifecycle::{Operation, OperationKind};
use threeds_bridge::store::operations::{Begun, OperationPhase, OperationRecord, OperationStore};
use threeds_bridge::store::SessionStore;

/// The system clock when made, moved on by each sleep (which returns at once); counts them.
#[derive(Clone)]
struct Virtual {
    now_ms: Arc<AtomicU64>,
    sleeps: Arc<AtomicU64>,
}

impl Virtual {
    fn now() -> Virtual {
        Virtual {
            now_ms: Arc::new(AtomicU64::new(SystemEnv.now_ms())),
            sleeps: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The wait since `started` lasted the whole lease, in 20 ms waits doubling to 500 ms:
    /// about lease / 500 ms reads, plus the first few.
    fn waited_out_the_lease(&self, started: u64, lease_ms: u64) {
        let waited = self.now_ms() - started;
        assert!(
            waited >= lease_ms,
            "waited {waited} ms of a {lease_ms} ms lease"
        );
        let reads = self.sleeps.load(Ordering::SeqCst);
        assert!(
            reads <= lease_ms / 500 + 10,
            "{reads} reads in a {lease_ms} ms wait"
        );
    }
}

impl Env for Virtual {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn random_u128(&self) -> u128 {
        SystemEnv.random_u128()
    }

    async fn sleep(&self, ms: u64) {
        self.sleeps.fetch_add(1, Ordering::SeqCst);
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_second_confirm_waits_out_the_first_with_a_few_dozen_reads() {
    let h = harness().await;
    let clock = Virtual::now();
    let (url, lease_ms, _running) = h.serve_beside(h.store.clone(), clock.clone()).await;

    let (create, confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let (status, created) = create_at(&url, &create).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let secret = created["clientSecret"].as_str().unwrap();
    // The first confirm's call is under way (as another request left it), and stays so.
    let stored = h.store.load(id).await.unwrap().unwrap();
    let under_way = stored
        .advanced(calling("paysafe.authenticate"), clock.now_ms())
        .unwrap();
    assert!(h.store.swap(&under_way).await.unwrap());

    let started = clock.now_ms();
    let (status, view) = confirm_at(&url, id, secret, &confirm).await;
    // Past the lease the first call counts as lost, and is resumed as such (this stored
    // state is none the adapter can read, so it ends): what is watched is the wait.
    assert_eq!(status, 200, "{view}");
    clock.waited_out_the_lease(started, lease_ms);
}

#[tokio::test]
async fn a_retried_capture_waits_out_the_first_with_a_few_dozen_reads() {
    let h = harness().await;
    let mut body = start_body("paysafe", "4000000000001000", "iframe");
    body["captureMode"] = json!("manual");
    let (view, _) = pay(&h, &body, Cardholder::Types("1234")).await;
    assert_eq!(view["status"], "authorized", "{view}");
    let id = view["id"].as_str().unwrap().to_owned();
    let (_, merchant) = h.merchant_view(&id).await;

    let clock = Virtual::now();
    let (url, lease_ms, _running) = h.serve_beside(h.store.clone(), clock.clone()).await;

    // The merchant's first capture with key "k" is with Paysafe (as its request left it),
    // and stays so; the merchant's client gave up on it and sends it again.
    let now = clock.now_ms();
    let reference = "00112233445566778899aabbccddeeff".to_owned();
    let first = OperationRecord {
        id: reference.clone(),
        payment_id: id.clone(),
        idempotency_key: "k".into(),
        fingerprint: "capture:500".into(),
        operation: Operation {
            kind: OperationKind::Capture,
            amount: 500,
            currency: Currency::parse(merchant["currency"].as_str().unwrap()).unwrap(),
            order_id: OrderId::parse(merchant["orderId"].as_str().unwrap()).unwrap(),
            authorized_amount: 1099,
            capture_mode: CaptureMode::Manual,
            provider_payment_id: merchant["result"]["providerPaymentId"]
                .as_str()
                .unwrap()
                .to_owned(),
            capture_id: None,
            reference,
        },
        phase: OperationPhase::Calling,
        version: 1,
        created_at_ms: now,
        updated_at_ms: now,
        wake_at_ms: Some(now + lease_ms),
        claimed_until_ms: None,
    };
    assert_eq!(
        h.store.begin_operation(&first).await.unwrap(),
        Begun::Created
    );

    let (status, answer) = operate_at(&url, &id, "capture", "k", &json!({"amount": 500})).await;
    // Past the lease the first call counts as lost and is looked up: what is watched is
    // the wait before that.
    assert!(status < 500, "{status}: {answer}");
    clock.waited_out_the_lease(now, lease_ms);
}
