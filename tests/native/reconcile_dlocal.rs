//! dLocal payments in doubt, through the real backend over HTTP and the sandbox: a create
//! whose answer never arrives (every attempt dropped after dLocal committed, or hung), a
//! process stopped in the middle of the create (the `Calling` phase written to the store
//! as a stopped process leaves it), and a session that expires while the payer is on
//! dLocal's page. None of them may end the payment while dLocal may have charged: the
//! payment is `unknown` until a lookup (`GET /orders/{order_id}`, then
//! `GET /payments/{id}`) or dLocal's notification finds dLocal's word. Also the sandbox's
//! `GET /orders/{order_id}` itself.

use crate::support;

use std::time::Duration;

use serde_json::Value;
use support::backend::{
    follow, harness, harness_with, next_form, split_start, start_body, Cardholder, Harness,
};
use support::flow::{self, now_ms};
use threeds_bridge::backend::CallPolicy;
use threeds_bridge::order::{Currency, OrderId};
use threeds_bridge::payment::{Payer, PaymentStart};
use threeds_bridge::provider::dlocal::{Config, DlocalAdapter, State};
use threeds_bridge::provider::{Adapter, Context, HttpRequest, Step};
use threeds_bridge::sandbox::dlocal::AttemptOutcome;
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::session::{AdapterState, Phase};
use threeds_bridge::store::SessionStore;

const FRICTIONLESS: &str = "4000000000001000";
const CHALLENGE: &str = "4000000000002008";
const RIGHT: Cardholder = Cardholder::Types("1234");

/// Short calls, so that a hung dLocal costs the test a second or two.
fn quick() -> CallPolicy {
    CallPolicy {
        timeout_ms: 600,
        attempts: 2,
        backoff_ms: 20,
    }
}

fn on_secure_payments(rule: FaultRule) -> FaultRule {
    FaultRule {
        provider: Some(Provider::Dlocal),
        endpoint: Some("/secure_payments".into()),
        ..rule
    }
}

/// The merchant's view of `id` once it is final (the reconciler's first lookup is due
/// 2 s after the doubt began, the next 4 s later), or the last one seen.
async fn final_view(h: &Harness, id: &str) -> Value {
    let mut view = Value::Null;
    for _ in 0..60 {
        view = h.merchant_view(id).await.1;
        if view["state"] == "final" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    view
}

/// `view` is authorized with the one dLocal charge of its order.
fn assert_charged_once(h: &Harness, view: &Value, order_id: &str) {
    assert_eq!(view["status"], "authorized", "{view}");
    let charges: Vec<_> = h
        .ledger("dlocal")
        .into_iter()
        .filter(|c| c.order_id == order_id)
        .collect();
    assert_eq!(charges.len(), 1, "one charge: {charges:?}");
    assert_eq!(
        view["result"]["providerPaymentId"].as_str(),
        Some(charges[0].provider_payment_id.as_str()),
        "{view}"
    );
}

#[tokio::test]
async fn every_answer_of_the_create_lost_is_found_authorized_by_its_order() {
    let h = harness().await;
    // dLocal charges at the first attempt; that answer and every resend's (same
    // X-Idempotency-Key, the same payment) are dropped.
    h.sandbox
        .sandbox
        .faults
        .set(vec![on_secure_payments(FaultRule {
            drop_after_commit: true,
            ..Default::default()
        })]);
    let body = start_body("dlocal", FRICTIONLESS, "iframe");
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    assert_ne!(
        view["status"], "error",
        "never ended while dLocal may have charged: {view}"
    );
    let id = view["id"].as_str().expect("id");
    let done = final_view(&h, id).await;
    assert_charged_once(&h, &done, body["orderId"].as_str().expect("order"));
}

#[tokio::test]
async fn a_hung_create_is_looked_up_and_found_never_made() {
    let h = harness_with(quick()).await;
    h.sandbox
        .sandbox
        .faults
        .set(vec![on_secure_payments(FaultRule {
            hang: true,
            ..Default::default()
        })]);
    let (status, view) = h.start(&start_body("dlocal", FRICTIONLESS, "iframe")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "unknown", "{view}");
    let id = view["id"].as_str().expect("id");
    let done = final_view(&h, id).await;
    // dLocal holds no payment for the order: nothing was charged, the payment failed.
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(
        done["result"]["error"]["providerCode"], "not_found",
        "{done}"
    );
    assert!(done["result"]["providerPaymentId"].is_null(), "{done}");
    assert!(h.ledger("dlocal").is_empty());
    assert_eq!(h.sandbox.sandbox.dlocal.payment_count(), 0);
}

/// A payment the merchant created and the page confirmed, whose backend process stopped
/// during `POST /secure_payments`: the store keeps the `Calling` phase, older than the
/// call lease. `sent`: the create reached dLocal before the stop (the test sends it, as
/// the stopped process did), with its notifications to `notification_url` (`None`: the
/// backend's own webhook). Returns the session id and the order id.
async fn stopped_during_the_create(
    h: &Harness,
    sent: bool,
    notification_url: Option<String>,
) -> (String, String) {
    let (create, _) = split_start(&start_body("dlocal", FRICTIONLESS, "iframe"));
    let (status, created) = h.create(&create).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let order_id = created["orderId"].as_str().expect("order").to_owned();
    let payment = PaymentStart {
        order_id: OrderId::parse(&order_id).expect("an order id"),
        currency: Currency::parse("BRL").expect("a currency"),
        payer: Payer {
            name: Some("Jo Doe".into()),
            email: Some("jo@example.com".into()),
            document: Some("53033315550".into()),
            country: Some("BR".into()),
        },
        ..flow::payment(FRICTIONLESS)
    };
    let mut config = Config::sandbox(&h.sandbox.url);
    config.notification_url = notification_url;
    let cx = Context {
        now_ms: now_ms(),
        session_id: id.clone(),
        public_url: h.url.clone(),
    };
    let Step::Call { state, request } = DlocalAdapter::new(config).start(&payment, &cx) else {
        panic!("expected the create");
    };
    let stored = h.store.load(&id).await.expect("load").expect("session");
    let stopped = threeds_bridge::session::Session {
        version: stored.version + 1,
        updated_at_ms: now_ms() - h.policy.lease_ms() - 1_000,
        phase: Phase::Calling {
            state: AdapterState(serde_json::to_value(&state).expect("state")),
            purpose: request.purpose.to_owned(),
        },
        ..stored
    };
    assert!(h.store.swap(&stopped).await.expect("store"));
    if sent {
        send_create(&request).await;
    }
    (id, order_id)
}

async fn send_create(request: &HttpRequest) {
    let answer = flow::send(request).await.expect("dLocal answered");
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// Finding 2 of issue #13: the process stopped mid-create; dLocal's PAID notification
/// comes once the call's lease is over. The webhook first resumes the stale call (its
/// answer is lost): that must leave the payment in doubt, not end it, so that the
/// notification then settles it `authorized` instead of being answered 200 and ignored.
#[tokio::test]
async fn a_paid_notification_settles_a_create_a_stopped_process_left_in_doubt() {
    let h = harness().await;
    let (id, order_id) = stopped_during_the_create(&h, true, None).await;
    let mut view = Value::Null;
    for _ in 0..50 {
        view = h.merchant_view(&id).await.1;
        let delivered = h
            .sandbox
            .sandbox
            .dlocal
            .notification_attempts()
            .iter()
            .any(|a| matches!(a.outcome, AttemptOutcome::Delivered { .. }));
        if delivered && view["state"] == "final" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_charged_once(&h, &view, &order_id);
    // Settled by the notification, well before the reconciler's first lookup was due.
    let lookups = support::backend::logs()
        .lines()
        .filter(|l| l.contains(&format!("session={id}")) && l.contains("dlocal.lookup_order"))
        .count();
    assert_eq!(lookups, 0, "the notification, not a lookup, settled it");
    // Answered 200 once it had settled the payment, not before.
    let attempts = h.sandbox.sandbox.dlocal.notification_attempts();
    assert!(
        attempts
            .last()
            .is_some_and(|a| matches!(a.outcome, AttemptOutcome::Delivered { http_status: 200 })),
        "{attempts:?}"
    );
}

#[tokio::test]
async fn a_create_a_stopped_process_left_is_looked_up_by_its_order() {
    let h = harness().await;
    // dLocal's notifications go nowhere: only the lookup can find the charge.
    let nowhere = Some("http://127.0.0.1:9/v1/webhooks/dlocal".to_owned());
    let (id, order_id) = stopped_during_the_create(&h, true, nowhere).await;
    let (_, resumed) = h.merchant_view(&id).await;
    assert_eq!(resumed["status"], "unknown", "{resumed}");
    let done = final_view(&h, &id).await;
    assert_charged_once(&h, &done, &order_id);
}

#[tokio::test]
async fn a_create_that_never_left_a_stopped_process_is_found_never_made() {
    let h = harness().await;
    let (id, _) = stopped_during_the_create(&h, false, None).await;
    let (_, resumed) = h.merchant_view(&id).await;
    assert_eq!(resumed["status"], "unknown", "{resumed}");
    let done = final_view(&h, &id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(
        done["result"]["error"]["providerCode"], "not_found",
        "{done}"
    );
    assert!(h.ledger("dlocal").is_empty());
}

/// dLocal charges when the payer finishes its page, with no call from the backend: a
/// session that expires while the payer is there is looked up (still pending: it stays
/// `unknown`), never reported `session_expired`, and the payer who finishes afterwards is
/// charged once and the payment ends `authorized`.
#[tokio::test]
async fn a_session_expiring_on_dlocals_page_is_looked_up_not_expired() {
    let mut h = harness().await;
    h.ttl_seconds = 1;
    h.restart().await;
    let body = start_body("dlocal", CHALLENGE, "iframe");
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["next"]["type"], "redirect", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (_, expired) = h.merchant_view(&id).await;
    assert_eq!(expired["status"], "unknown", "{expired}");
    // The first lookup finds the payment still pending at dLocal's page.
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    let (_, pending) = h.merchant_view(&id).await;
    assert_eq!(pending["status"], "unknown", "{pending}");
    assert!(
        support::backend::logs()
            .lines()
            .any(|l| l.contains(&format!("session={id}")) && l.contains("dlocal.lookup_payment")),
        "it was looked up"
    );

    // The payer finishes dLocal's page after all: dLocal charges and notifies.
    let landing = follow(&h.url, next_form(&view), RIGHT).await;
    assert_eq!(landing.status, 200, "{landing:?}");
    let done = final_view(&h, &id).await;
    assert_charged_once(&h, &done, body["orderId"].as_str().expect("order"));
}

/// The sandbox's `GET /orders/{order_id}`, as the adapter's lookup sends it: signed,
/// dLocal's order object for a created payment, its error shape otherwise, and fault
/// rules as on every route.
#[tokio::test]
async fn the_sandbox_finds_a_payment_by_its_order() {
    let sb = support::sandbox().await;
    let adapter = DlocalAdapter::new(Config::sandbox(&sb.url));
    let payment = PaymentStart {
        order_id: OrderId::parse(&format!("order-{}", uuid::Uuid::new_v4().simple()))
            .expect("an order id"),
        currency: Currency::parse("BRL").expect("a currency"),
        payer: Payer {
            name: Some("Jo Doe".into()),
            email: Some("jo@example.com".into()),
            document: Some("53033315550".into()),
            country: Some("BR".into()),
        },
        ..flow::payment(FRICTIONLESS)
    };
    let cx = flow::context("0123456789abcdef0123456789abcdef");
    let Step::Call { state, request } = adapter.start(&payment, &cx) else {
        panic!("expected the create");
    };
    let lookup = |state: State| match adapter.reconcile(state, &cx) {
        Step::Call { request, .. } => request,
        other => panic!("expected a lookup, got {other:?}"),
    };
    let by_order = lookup(state.clone());
    assert!(by_order
        .url
        .ends_with(&format!("/dlocal/orders/{}", payment.order_id)));

    // Before the create: no payment for the order.
    let none = flow::send(&by_order).await.expect("answer");
    assert_eq!(none.status, 404);
    let error: Value = serde_json::from_str(&none.body).expect("json");
    assert_eq!(error["code"], 4000, "{error}");
    assert_eq!(error["message"], "Payment not found");

    send_create(&request).await;
    let found = flow::send(&by_order).await.expect("answer");
    assert_eq!(found.status, 200, "{}", found.body);
    let order: Value = serde_json::from_str(&found.body).expect("json");
    let charge = &sb.sandbox.ledger.entries()[0];
    assert_eq!(order["order_id"], payment.order_id.as_str());
    assert_eq!(order["payment_id"], charge.provider_payment_id.as_str());
    assert_eq!(order["amount"], serde_json::json!(10.99));
    assert_eq!(order["currency"], "BRL");
    assert_eq!(
        (order["status"].as_str(), order["status_code"].as_str()),
        (Some("PAID"), Some("200"))
    );
    assert!(order["approved_date"].is_string(), "{order}");
    assert!(
        order.get("card").is_none(),
        "an order object, not the payment: {order}"
    );

    // Signed like every request.
    let mut forged = by_order.clone();
    for (name, value) in forged.headers.iter_mut() {
        if name == "Authorization" {
            *value = format!("V2-HMAC-SHA256, Signature: {}", "0".repeat(64));
        }
    }
    let refused = flow::send(&forged).await.expect("answer");
    assert_eq!(refused.status, 403);
    assert_eq!(
        serde_json::from_str::<Value>(&refused.body).expect("json")["code"],
        3001
    );
    let mut undated = by_order.clone();
    undated.headers.retain(|(name, _)| name != "X-Date");
    let refused = flow::send(&undated).await.expect("answer");
    assert_eq!(refused.status, 400);
    let error: Value = serde_json::from_str(&refused.body).expect("json");
    assert_eq!(
        (error["code"].as_u64(), error["param"].as_str()),
        (Some(5001), Some("X-Date"))
    );

    // Faults apply to it as to every route.
    sb.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Dlocal),
        endpoint: Some("/orders/".into()),
        error_rate: 1.0,
        error_status: Some(503),
        ..Default::default()
    }]);
    let failed = flow::send(&by_order).await.expect("answer");
    assert_eq!(failed.status, 503);
}
