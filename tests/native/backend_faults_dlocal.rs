//! dLocal's own faults through the backend over real HTTP: notifications duplicated and
//! reordered beside the browser's callback, and confirmation reads that get no answer (503, or
//! hung), which leave the payment to dLocal's notification. The same checks as
//! backend_faults.rs: charged once, every charge known.

use crate::support;

use std::time::Duration;

use crate::backend_faults::{
    assert_all, assert_money_safe, guarded, pay_all, policy, rule, Paid, CARDS, CHALLENGE, RIGHT,
};
use serde_json::Value;
use support::backend::{follow, harness_with, next_form, start_body, Harness};
use threeds_bridge::sandbox::dlocal::AttemptOutcome;
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::Provider;

/// The page's view of payment `id`, read (each read under the guard) until it is final,
/// for at most 100 reads 50 ms apart: the last read.
async fn until_final(h: &Harness, id: &str) -> Value {
    let mut view = Value::Null;
    for _ in 0..100 {
        view = guarded(h, "read", h.view(id)).await.1;
        if view["state"] == "final" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    view
}

/// dLocal sends every notification twice and holds each back so that a later one
/// overtakes it, beside the browser's callback; one payment finishes by its notifications
/// alone (the browser never comes back). Every delivery ends answered 200, and each
/// payment is authorized and charged once.
#[tokio::test]
async fn dlocal_duplicated_and_reordered_notifications() {
    let h = harness_with(policy()).await;
    let sandbox = h.sandbox.sandbox.clone();
    sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Dlocal),
        duplicate_notifications: true,
        reorder_notifications: true,
        ..Default::default()
    }]);
    let mut paid = pay_all(&h, "dlocal", &CARDS).await;

    // The browser stops before the callback: the notifications alone finish it.
    let body = start_body("dlocal", CHALLENGE, "iframe");
    let (status, view) = guarded(&h, "start", h.start(&body)).await;
    assert_eq!(status, 200, "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    support::cardholder::until_backend(&h.url, next_form(&view), RIGHT).await;
    let done = until_final(&h, &id).await;
    assert_eq!(done["result"]["status"], "authorized", "{done}");
    paid.push(Paid {
        pan: CHALLENGE,
        order_id: body["orderId"].as_str().expect("order").to_owned(),
        session_id: id,
        view: done,
    });

    // Let every held-back and duplicated delivery land before judging.
    let mut attempts = Vec::new();
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        attempts = sandbox.dlocal.notification_attempts();
        let deliveries: std::collections::HashSet<_> =
            attempts.iter().map(|a| a.delivery).collect();
        let delivered = attempts
            .iter()
            .filter(|a| matches!(a.outcome, AttemptOutcome::Delivered { .. }))
            .count();
        if !deliveries.is_empty() && delivered == deliveries.len() {
            break;
        }
    }
    assert!(
        attempts.len() >= 2 * 2,
        "two challenged payments, each notified twice: {attempts:?}"
    );
    // A copy that arrives while the other is still confirming the payment is asked
    // to come again (503); every delivery ends answered 200.
    let deliveries: std::collections::HashSet<_> = attempts.iter().map(|a| a.delivery).collect();
    for delivery in deliveries {
        let last = attempts.iter().rfind(|a| a.delivery == delivery);
        assert!(
            last.is_some_and(|a| matches!(
                a.outcome,
                AttemptOutcome::Delivered { http_status: 200 }
            )),
            "delivery {delivery} ends answered 200: {attempts:?}"
        );
    }
    assert!(
        attempts.iter().all(|a| matches!(
            a.outcome,
            AttemptOutcome::Delivered { http_status: 200 }
                | AttemptOutcome::Refused { http_status: 503 }
        )),
        "{attempts:?}"
    );
    assert_all(&paid, "dlocal", "authorized", &[]);
    assert_money_safe(&h, "dlocal", &paid).await;
}

/// dLocal charged at the end of the challenge, but every read that would confirm it gets
/// no answer for a while (`GET /payments/{id}` answers 503, or hangs), for the browser's
/// callback and the notification alike. A read without an answer is not a failed payment:
/// the session stays open, the webhook answers 503 so that dLocal sends the notification
/// again, and once dLocal answers, that repeat finishes the payment, authorized with the
/// one charge.
async fn dlocal_a_confirmation_read_without_answer(unanswered: FaultRule, reads_ms: u64) {
    let h = harness_with(policy()).await;
    let body = start_body("dlocal", CHALLENGE, "iframe");
    let (status, view) = guarded(&h, "start", h.start(&body)).await;
    assert_eq!(status, 200, "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    h.sandbox.sandbox.faults.set(vec![unanswered]);
    let landing = guarded(&h, "return", follow(&h.url, next_form(&view), RIGHT)).await;
    // Back from dLocal's page (the whole page): to the checkout, whatever the read found.
    assert_eq!(landing.status, 303, "{landing:?}");
    assert_eq!(h.ledger("dlocal").len(), 1, "dLocal charged");
    // Long enough for every attempt of the reads the callback and the notification make.
    tokio::time::sleep(Duration::from_millis(reads_ms)).await;
    let (_, open) = guarded(&h, "read", h.view(&id)).await;
    assert_ne!(open["state"], "final", "a failed read ends nothing: {open}");

    h.sandbox.sandbox.faults.set(Vec::new());
    let done = until_final(&h, &id).await;
    assert_eq!(done["result"]["status"], "authorized", "{done}");
    let refused = h
        .sandbox
        .sandbox
        .dlocal
        .notification_attempts()
        .into_iter()
        .filter(|a| matches!(a.outcome, AttemptOutcome::Refused { http_status: 503 }))
        .count();
    assert!(refused >= 1, "the webhook asked dLocal to send it again");
    let paid = Paid {
        pan: CHALLENGE,
        order_id: body["orderId"].as_str().expect("order").to_owned(),
        session_id: id,
        view: done,
    };
    assert_money_safe(&h, "dlocal", &[paid]).await;
}

#[tokio::test]
async fn dlocal_a_confirmation_read_answered_503_leaves_the_payment_to_the_notification() {
    let unanswered = FaultRule {
        error_rate: 1.0,
        error_status: Some(503),
        ..rule("dlocal", "/payments/")
    };
    dlocal_a_confirmation_read_without_answer(unanswered, 400).await;
}

#[tokio::test]
async fn dlocal_a_hung_confirmation_read_leaves_the_payment_to_the_notification() {
    let unanswered = FaultRule {
        hang: true,
        ..rule("dlocal", "/payments/")
    };
    // Three attempts of 800 ms each, and the backoff between them.
    dlocal_a_confirmation_read_without_answer(unanswered, 3 * 800 + 400).await;
}
