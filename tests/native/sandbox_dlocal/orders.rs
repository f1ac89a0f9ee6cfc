//! The sandbox's own `GET /orders/{order_id}` and `POST /payments/{id}/cancel`, as the
//! adapter's lookup and cancel send them: signed, dLocal's objects or its error shape, fault
//! rules as on every route (the calls are built by the adapter, as in reconcile_dlocal.rs).

use crate::support;

use std::time::Duration;

use crate::reconcile_dlocal::{in_brazil, send_create, CHALLENGE, FRICTIONLESS};
use serde_json::Value;
use support::browser;
use support::flow;
use threeds_bridge::payment::BrowserAction;
use threeds_bridge::provider::dlocal::{Abandoned, Config, DlocalAdapter, State};
use threeds_bridge::provider::{Adapter, HttpRequest, Step};
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::Provider;

/// The sandbox's `GET /orders/{order_id}`, as the adapter's lookup sends it: signed,
/// dLocal's order object for a created payment, its error shape otherwise, and fault
/// rules as on every route.
#[tokio::test]
async fn the_sandbox_finds_a_payment_by_its_order() {
    let sb = support::sandbox().await;
    let adapter = DlocalAdapter::new(Config::sandbox(&sb.url));
    let payment = in_brazil(
        &format!("order-{}", uuid::Uuid::new_v4().simple()),
        FRICTIONLESS,
    );
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

/// A signed dLocal request with `header` set to `value` (a forgery of the adapter's own).
fn with_header(request: &HttpRequest, header: &str, value: &str) -> HttpRequest {
    let mut forged = request.clone();
    for (name, v) in forged.headers.iter_mut() {
        if name == header {
            *v = value.to_owned();
        }
    }
    forged
}

/// The sandbox's `POST /payments/{id}/cancel`, as the adapter sends it: a pending payment
/// becomes `CANCELLED` for good (its page refuses to go on, nothing is charged, the
/// merchant is notified); any other payment, or an unknown id, gets dLocal's error; signed
/// and faulted like every route.
#[tokio::test]
async fn the_sandbox_cancels_a_pending_payment_and_nothing_else() {
    let sb = support::sandbox().await;
    let adapter = DlocalAdapter::new(Config::sandbox(&sb.url));
    let cx = flow::context("0123456789abcdef0123456789abcdef");
    let payment_for =
        |pan: &str| in_brazil(&format!("order-{}", uuid::Uuid::new_v4().simple()), pan);
    // The adapter's cancel of a created payment, as after its session expired.
    let cancel_of = |created: Step<State>| {
        let Step::Browser { state, .. } = created else {
            panic!("expected dLocal's page, got {created:?}");
        };
        let Step::Unknown { state } = adapter.on_expiry(state, &cx) else {
            panic!("expected a doubt");
        };
        match adapter.reconcile(state.clone(), &cx) {
            Step::Call { request, .. } => (state, request),
            other => panic!("expected the cancel, got {other:?}"),
        }
    };
    // Each payment its own session (a session's create carries its idempotency key).
    let create = |pan: &str| {
        let payment = payment_for(pan);
        let cx = flow::context(&uuid::Uuid::new_v4().simple().to_string());
        let Step::Call { state, request } = adapter.start(&payment, &cx) else {
            panic!("expected the create");
        };
        (state, request)
    };

    let (state, request) = create(CHALLENGE);
    let created = adapter.on_response(state, flow::send(&request).await, &cx);
    let page = match &created {
        Step::Browser {
            action: BrowserAction::Redirect { form },
            ..
        } => form.action.clone(),
        other => panic!("expected dLocal's page, got {other:?}"),
    };
    let (cancelling, cancel) = cancel_of(created);
    let State::Cancelling(Abandoned { payment_id, .. }) = &cancelling else {
        panic!("expected an abandoned payment, got {cancelling:?}");
    };
    let payment_id = payment_id.clone();
    assert!(cancel
        .url
        .ends_with(&format!("/dlocal/payments/{payment_id}/cancel")));

    // Faults apply to it as to every route; a failed cancel cancels nothing.
    sb.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Dlocal),
        endpoint: Some("/payments/".into()),
        error_rate: 1.0,
        error_status: Some(503),
        ..Default::default()
    }]);
    assert_eq!(flow::send(&cancel).await.expect("answer").status, 503);
    sb.sandbox.faults.set(Vec::new());
    // Signed like every request.
    let forged = with_header(
        &cancel,
        "Authorization",
        &format!("V2-HMAC-SHA256, Signature: {}", "0".repeat(64)),
    );
    let refused = flow::send(&forged).await.expect("answer");
    assert_eq!(refused.status, 403);
    assert_eq!(
        serde_json::from_str::<Value>(&refused.body).expect("json")["code"],
        3001
    );

    // The cancel: the payment object, CANCELLED 400.
    let answer = flow::send(&cancel).await.expect("answer");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let object: Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(object["id"], payment_id.as_str());
    assert_eq!(
        (
            object["status"].as_str(),
            object["status_code"].as_str(),
            object["status_detail"].as_str()
        ),
        (
            Some("CANCELLED"),
            Some("400"),
            Some("The payment was cancelled.")
        )
    );
    assert!(object["approved_date"].is_null(), "{object}");
    let Step::Done(result) = adapter.on_response(cancelling.clone(), Ok(answer), &cx) else {
        panic!("expected the end");
    };
    assert_eq!(
        result.error.map(|e| e.code),
        Some(threeds_bridge::payment::ResultCode::SessionExpired)
    );

    // Cancelled for good: a second cancel is refused, dLocal's page is closed, nothing
    // was charged, and the merchant was told.
    let again = flow::send(&cancel).await.expect("answer");
    assert_eq!(again.status, 400);
    let error: Value = serde_json::from_str(&again.body).expect("json");
    assert_eq!(error["code"], 5002, "{error}");
    let closed = browser().get(&page).send().await.expect("dLocal's page");
    assert_eq!(closed.status(), 410);
    assert!(closed.text().await.expect("page").contains("cancelled"));
    assert!(sb.sandbox.ledger.entries().is_empty());
    let mut told = false;
    for _ in 0..50 {
        told = sb
            .sandbox
            .dlocal
            .notification_attempts()
            .iter()
            .any(|a| a.payment_id == payment_id && a.status == "CANCELLED");
        if told {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(told, "a CANCELLED notification was sent");

    // An unknown payment: dLocal's 404.
    let unknown = HttpRequest {
        url: cancel.url.replace(&payment_id, "D-4-nobody"),
        ..cancel.clone()
    };
    let missing = flow::send(&unknown).await.expect("answer");
    assert_eq!(missing.status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&missing.body).expect("json")["code"],
        4000
    );

    // A paid payment is not cancelled: 5002, and it stays paid.
    let (_, request) = create(FRICTIONLESS);
    let paid = flow::send(&request).await.expect("answer");
    let paid_id = serde_json::from_str::<Value>(&paid.body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let paid_cancel = HttpRequest {
        url: cancel.url.replace(&payment_id, &paid_id),
        ..cancel.clone()
    };
    let refused = flow::send(&paid_cancel).await.expect("answer");
    assert_eq!(refused.status, 400);
    let error: Value = serde_json::from_str(&refused.body).expect("json");
    assert_eq!(error["code"], 5002, "{error}");
    assert_eq!(sb.sandbox.ledger.entries().len(), 1, "the paid one only");
}
