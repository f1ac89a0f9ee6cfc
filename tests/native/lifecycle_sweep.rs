//! Captures whose answer was lost, settled by the reconciler's sweep: on SQLite and
//! PostgreSQL (a backend of its own on that store, beside the harness's, sharing its sandbox),
//! and Bambora's completion a stopped process left, looked up rather than sent again. The
//! helpers are lifecycle.rs's.

use crate::support;

use std::sync::Arc;

use crate::lifecycle::{authorized, balances, movements, operate, reconcile, PROVIDERS};
use serde_json::json;
use support::backend::{harness, serve_unlimited, start_at, start_body, Harness};
use support::browser;
use threeds_bridge::backend::native::sqlite::SqliteStore;
use threeds_bridge::backend::native::{ReqwestTransport, SystemEnv};
use threeds_bridge::backend::Backend;
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::store::SessionStore;

/// The lifecycle on a SQL store: a backend of its own on `store` (beside the harness's,
/// sharing its sandbox), whose lost capture answer the reconciler's sweep settles
/// (`sweep_all`, what `serve`'s timer and `threeds-bridge reconcile` run), then a refund.
async fn a_lost_capture_is_settled_by_the_sweep_on<S>(store: Arc<S>)
where
    S: SessionStore + Send + Sync + 'static,
{
    let h = harness().await;
    let p = &PROVIDERS[0];
    let (listener, mut config) = h.beside().await;
    let url = config.public_url.clone();
    // A lookup is due as soon as the answer is lost; the test sweeps by hand.
    config.reconcile.first_lookup_ms = 0;
    config.reconcile.sweep_every_ms = 3_600_000;
    // Room for the slow lookup below (3 s) and for two reads while it is under way.
    config.calls.timeout_ms = 10_000;
    let transport = ReqwestTransport::new(&config.calls).expect("transport");
    let backend = Arc::new(Backend::new(config, store.clone(), transport, SystemEnv));
    let running = serve_unlimited(listener, backend.clone());
    let on_sql = Harness {
        url: url.clone(),
        ..h
    };

    let mut body = start_body(p.name, p.frictionless, "iframe");
    body["captureMode"] = json!("manual");
    let (status, view, _) = start_at(&url, &body).await;
    assert_eq!(
        (status, &view["status"]),
        (200, &json!("authorized")),
        "{view}"
    );
    let id = view["id"].as_str().expect("id").to_owned();
    let (_, merchant) = on_sql.merchant_view(&id).await;
    let provider_id = merchant["result"]["providerPaymentId"]
        .as_str()
        .expect("provider id")
        .to_owned();

    on_sql.sandbox.sandbox.faults.set(vec![FaultRule {
        provider: Some(p.ledger),
        endpoint: Some((p.capture_endpoint)(&provider_id)),
        drop_after_commit: true,
        ..Default::default()
    }]);
    let (status, lost) = operate(&on_sql, &id, "capture", "lost", json!({"amount": 700})).await;
    on_sql.sandbox.sandbox.faults.set(Vec::new());
    assert_eq!(
        (status, &lost["status"]),
        (200, &json!("unknown")),
        "{lost}"
    );

    // The sweep claims the doubt and looks it up (the provider slow to answer); a read
    // meanwhile finds it claimed and leaves it to the sweep, instead of a second lookup.
    on_sql.sandbox.sandbox.faults.set(vec![FaultRule {
        provider: Some(p.ledger),
        // Within this backend's call timeout (10 s): slow, not lost, and long enough for
        // the two reads below on a busy machine.
        latency_ms: 3_000,
        ..Default::default()
    }]);
    let in_doubt = store.operations_of(&id).await.expect("operations")[0].version;
    let sweep = tokio::spawn({
        let backend = backend.clone();
        async move { backend.sweep_all(10).await }
    });
    loop {
        let records = store.operations_of(&id).await.expect("operations");
        if records[0].version > in_doubt {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (_, meanwhile) = on_sql.merchant_view(&id).await;
    assert_eq!(
        meanwhile["operations"][0]["status"], "unknown",
        "a read during the sweep's lookup looks nothing up: {meanwhile}"
    );
    // Nor does the merchant's "look it up now": the sweep has it. A second lookup would
    // win the compare-and-set and throw the sweep's answer away.
    let reconciled = reconcile(&on_sql, &id).await;
    assert_eq!(
        reconciled["operations"][0]["status"], "unknown",
        "a reconcile during the sweep's lookup leaves it to the sweep: {reconciled}"
    );
    let swept = sweep.await.expect("sweep task").expect("sweep");
    on_sql.sandbox.sandbox.faults.set(Vec::new());
    assert_eq!(swept.settled, 1, "{swept:?}");
    let (_, merchant) = on_sql.merchant_view(&id).await;
    assert_eq!(
        merchant["operations"][0]["status"], "succeeded",
        "{merchant}"
    );
    balances(&on_sql, p, &provider_id, &merchant, (700, 0, false)).await;
    assert_eq!(movements(&on_sql, &provider_id), 1, "one capture");

    let (status, refund) = operate(&on_sql, &id, "refunds", "r", json!({"amount": 200})).await;
    assert_eq!(
        (status, &refund["status"]),
        (200, &json!("succeeded")),
        "{refund}"
    );
    balances(&on_sql, p, &provider_id, &refund, (700, 200, false)).await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_a_lost_capture_is_settled_by_the_sweep() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("sessions.db")).expect("open");
    a_lost_capture_is_settled_by_the_sweep_on(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgres_a_lost_capture_is_settled_by_the_sweep() {
    a_lost_capture_is_settled_by_the_sweep_on(Arc::new(support::store::postgres().await)).await;
}

/// A process that stopped during a completion left its record `Calling`: once older than
/// the call lease, the next read looks it up (Bambora's search by the operation's order
/// number) instead of sending it again, and finds the completion Bambora made.
#[tokio::test]
async fn bambora_resumes_a_completion_a_stopped_process_left_by_looking_it_up() {
    use threeds_bridge::order::{Currency, OrderId};
    use threeds_bridge::payment::CaptureMode;
    use threeds_bridge::provider::lifecycle::{Operation, OperationKind};
    use threeds_bridge::store::operations::{
        Begun, OperationPhase, OperationRecord, OperationStore,
    };

    let h = harness().await;
    let p = &PROVIDERS[0];
    let (id, provider_id) = authorized(&h, p, "manual").await;
    let (_, view) = h.merchant_view(&id).await;
    let reference = "00112233445566778899aabbccddeeff".to_owned();
    // What the stopped process had sent: the completion, with the operation's order number.
    let sent = browser()
        .post(format!(
            "{}/bambora/v1/payments/{provider_id}/completions",
            h.sandbox.url
        ))
        .header(
            "Authorization",
            "Passcode MzAwMjAwNTc4OjRCYUQ4MkQ5MTk3YjRjYzRiNzBhMjIxOTExZUU5Zjcw",
        )
        .json(&json!({"amount": 5.00, "order_number": &reference[..30], "payment_method": "card"}))
        .send()
        .await
        .expect("completion");
    assert_eq!(sent.status().as_u16(), 200);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let left = OperationRecord {
        id: reference.clone(),
        payment_id: id.clone(),
        idempotency_key: "left".into(),
        fingerprint: "capture:500".into(),
        operation: Operation {
            kind: OperationKind::Capture,
            amount: 500,
            currency: Currency::parse("CAD").unwrap(),
            order_id: OrderId::parse(view["orderId"].as_str().unwrap()).unwrap(),
            authorized_amount: 1099,
            capture_mode: CaptureMode::Manual,
            provider_payment_id: provider_id.clone(),
            capture_id: None,
            reference,
        },
        phase: OperationPhase::Calling,
        version: 1,
        created_at_ms: now - 60_000,
        updated_at_ms: now - 60_000,
        wake_at_ms: Some(now - 50_000),
        claimed_until_ms: None,
    };
    assert_eq!(
        h.store.begin_operation(&left).await.unwrap(),
        Begun::Created
    );

    let (_, view) = h.merchant_view(&id).await;
    let operation = &view["operations"][0];
    assert_eq!(operation["status"], "succeeded", "{view}");
    assert_eq!(operation["amount"], 500);
    balances(&h, p, &provider_id, &view, (500, 0, false)).await;
    assert_eq!(movements(&h, &provider_id), 1, "looked up, not sent again");
}

/// A capture in doubt is looked up on the same backoff as a payment, but never later than
/// the moment a lookup's "never made" would be believed (`not_found_after_ms` after the
/// call lease of the record's creation): a capture that never reached the provider ends
/// then. Here the first lookup's wait (100 s) is longer than that (60 s).
#[tokio::test]
async fn a_capture_s_next_lookup_is_no_later_than_never_made_is_believed() {
    use threeds_bridge::store::memory::MemoryStore;
    use threeds_bridge::store::operations::{OperationPhase, OperationStore};

    let h = harness().await;
    let p = &PROVIDERS[0];
    let (listener, mut config) = h.beside().await;
    let url = config.public_url.clone();
    config.reconcile.first_lookup_ms = 100_000;
    config.reconcile.max_lookup_ms = 600_000;
    config.reconcile.not_found_after_ms = 60_000;
    config.reconcile.sweep_every_ms = 3_600_000;
    let lease_ms = config.calls.lease_ms();
    let store = Arc::new(MemoryStore::default());
    let transport = ReqwestTransport::new(&config.calls).expect("transport");
    let backend = Arc::new(Backend::new(config, store.clone(), transport, SystemEnv));
    let running = serve_unlimited(listener, backend);
    let beside = Harness {
        url: url.clone(),
        ..h
    };
    let (id, provider_id) = authorized(&beside, p, "manual").await;
    beside.sandbox.sandbox.faults.set(vec![FaultRule {
        provider: Some(p.ledger),
        endpoint: Some((p.capture_endpoint)(&provider_id)),
        drop_after_commit: true,
        ..Default::default()
    }]);
    let (status, lost) = operate(&beside, &id, "capture", "lost", json!({"amount": 700})).await;
    beside.sandbox.sandbox.faults.set(Vec::new());
    assert_eq!(
        (status, &lost["status"]),
        (200, &json!("unknown")),
        "{lost}"
    );
    let record = store.operations_of(&id).await.expect("operations")[0].clone();
    let OperationPhase::Unknown {
        next_lookup_at_ms, ..
    } = record.phase
    else {
        panic!("in doubt: {record:?}");
    };
    assert_eq!(
        next_lookup_at_ms,
        record.created_at_ms + lease_ms + 60_000,
        "{record:?}"
    );
    assert_eq!(record.wake_at_ms, Some(next_lookup_at_ms));
    running.shutdown().await;
}
