//! Payroc's reconciliation through the real backend over HTTP, with the sandbox's fault
//! rules: a sale whose answer is lost leaves the payment `unknown` (Payroc may have
//! charged), and a lookup of Payroc's payments by the order id settles it, authorized with
//! Payroc's payment id when Payroc made it, `failed` / `not_found` when it did not. The
//! lookups run in a second backend over the same store (a reconciler process with its own
//! adapters and no caches), by its sweep, as a host's timer would run it.

use crate::support;

use std::time::Duration;

use serde_json::Value;
use support::backend::{follow, harness_with, next_form, start_body, Cardholder, Harness};
use threeds_bridge::backend::native::{ReqwestTransport, SystemEnv};
use threeds_bridge::backend::{Backend, CallPolicy};
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::{LedgerEntry, Provider};
use threeds_bridge::store::memory::MemoryStore;
use threeds_bridge::store::SessionStore;

const FRICTIONLESS: &str = "4000000000001000";
const RIGHT: Cardholder = Cardholder::Types("1234");

/// The sale's endpoint, relative to Payroc's prefix (its lookup is a GET on the same path).
const PAYMENTS: &str = "/api/v1/payments";

fn policy(attempts: u32) -> CallPolicy {
    CallPolicy {
        timeout_ms: 800,
        attempts,
        backoff_ms: 20,
    }
}

fn on_payments(rule: FaultRule) -> FaultRule {
    FaultRule {
        provider: Some(Provider::Payroc),
        endpoint: Some(PAYMENTS.to_owned()),
        ..rule
    }
}

/// Every other request to the payments endpoint answers 503, starting with the second.
fn every_second_503() -> FaultRule {
    on_payments(FaultRule {
        error_rate: 0.5,
        error_status: Some(503),
        ..Default::default()
    })
}

fn dropped_after_commit() -> FaultRule {
    on_payments(FaultRule {
        drop_after_commit: true,
        ..Default::default()
    })
}

/// A second backend process over the harness's store: its own adapters, no token cache.
fn reconciler(h: &Harness) -> Backend<MemoryStore, ReqwestTransport, SystemEnv> {
    let config = h.config();
    let transport = ReqwestTransport::new(&config.calls).expect("transport");
    Backend::new(config, h.store.clone(), transport, SystemEnv)
}

/// Starts a frictionless Payroc payment and brings the browser back from the MPI with its
/// receipt, which makes the backend send the sale: the payment's id and the view after.
async fn pay_until_the_sale(h: &Harness) -> (String, String, Value) {
    let body = start_body("payroc", FRICTIONLESS, "iframe");
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["next"]["type"], "redirect", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    let landing = follow(&h.url, next_form(&view), RIGHT).await;
    assert!(
        landing.status == 200 || landing.status == 303,
        "the receipt is taken: {landing:?}"
    );
    let (_, view) = h.merchant_view(&id).await;
    let order_id = body["orderId"].as_str().expect("order").to_owned();
    (id, order_id, view)
}

/// Sweeps in `reconciler` until payment `id` is final (lookups are due 2 s after the doubt
/// by default), and answers its merchant view.
async fn settled_by_sweeps(
    h: &Harness,
    reconciler: &Backend<MemoryStore, ReqwestTransport, SystemEnv>,
    id: &str,
) -> Value {
    for _ in 0..100 {
        reconciler.sweep(10).await.expect("sweep");
        let (_, view) = h.merchant_view(id).await;
        if view["state"] == "final" {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("payment {id} never settled");
}

fn charges(h: &Harness, order_id: &str) -> Vec<LedgerEntry> {
    h.ledger("payroc")
        .into_iter()
        .filter(|e| e.order_id == order_id)
        .collect()
}

/// Issue #13, finding 6: the first attempt of the sale reaches Payroc, which charges, and
/// its answer is lost (the connection drops after the commit); the last attempt is
/// answered 503. The backend used to end the payment `error` while the charge existed.
/// Now the payment is `unknown` until a lookup finds the charge: authorized with the
/// sandbox's payment id, and exactly one charge.
#[tokio::test]
async fn a_commit_lost_then_a_503_on_the_last_attempt_is_found_by_the_lookup() {
    let h = harness_with(policy(2)).await;
    h.sandbox
        .sandbox
        .faults
        .set(vec![every_second_503(), dropped_after_commit()]);
    let (id, order_id, view) = pay_until_the_sale(&h).await;
    let charged = charges(&h, &order_id);
    assert_eq!(charged.len(), 1, "Payroc charged on the first attempt");
    assert_eq!(
        view["status"], "unknown",
        "a charge may exist: the payment is in doubt, not an error: {view}"
    );
    assert!(view["result"].is_null(), "{view}");

    h.sandbox.sandbox.faults.set(Vec::new());
    let view = settled_by_sweeps(&h, &reconciler(&h), &id).await;
    assert_eq!(view["status"], "authorized", "{view}");
    assert_eq!(
        view["result"]["providerPaymentId"].as_str(),
        Some(charged[0].provider_payment_id.as_str()),
        "{view}"
    );
    assert_eq!(charges(&h, &order_id).len(), 1, "exactly one charge");
}

/// The sale's answer is lost on every attempt (the connection drops after Payroc
/// committed, each time; the retries carry the same key, so Payroc charged once). The
/// payment is `unknown`, not an error; while Payroc stays unreachable the lookups are
/// lost too and it stays `unknown`; once Payroc answers, a lookup finds the charge.
#[tokio::test]
async fn a_sale_answer_lost_on_every_attempt_is_found_once_payroc_answers() {
    let h = harness_with(policy(3)).await;
    h.sandbox.sandbox.faults.set(vec![dropped_after_commit()]);
    let (id, order_id, view) = pay_until_the_sale(&h).await;
    assert_eq!(view["status"], "unknown", "{view}");
    assert_eq!(charges(&h, &order_id).len(), 1, "charged once, never twice");

    // The lookup's answer is lost as well: still in doubt, looked up again later.
    let reconciler = reconciler(&h);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let swept = reconciler.sweep(10).await.expect("sweep");
    assert_eq!((swept.looked_at, swept.settled), (1, 0));
    let (_, view) = h.merchant_view(&id).await;
    assert_eq!(view["status"], "unknown", "{view}");

    // Payroc answers again: the merchant (or an operator) asks for a lookup now.
    h.sandbox.sandbox.faults.set(Vec::new());
    let session = h.store.load(&id).await.expect("load").expect("session");
    let session = reconciler.reconcile_now(session).await.expect("reconcile");
    assert!(session.phase.is_final(), "{:?}", session.phase);
    let (_, view) = h.merchant_view(&id).await;
    let charged = charges(&h, &order_id);
    assert_eq!(view["status"], "authorized", "{view}");
    assert_eq!(
        view["result"]["providerPaymentId"].as_str(),
        Some(charged[0].provider_payment_id.as_str())
    );
    assert_eq!(charged.len(), 1);
    assert_eq!(view["result"]["transStatus"], "Y", "{view}");
}

/// The sale never gets an answer because Payroc never does the work (it hangs, or the
/// answer would come after the client gave up, and the sandbox drops such a request
/// before acting): `unknown` at first, then the lookup finds no payment for the order:
/// `failed` / `not_found`, and nothing is charged.
#[tokio::test]
async fn a_sale_payroc_never_made_is_not_found_by_the_lookup() {
    for fault in [
        FaultRule {
            hang: true,
            ..Default::default()
        },
        FaultRule {
            latency_ms: policy(2).timeout_ms + 200,
            ..Default::default()
        },
    ] {
        let h = harness_with(policy(2)).await;
        h.sandbox
            .sandbox
            .faults
            .set(vec![on_payments(fault.clone())]);
        let (id, order_id, view) = pay_until_the_sale(&h).await;
        assert_eq!(view["status"], "unknown", "{fault:?}: {view}");

        h.sandbox.sandbox.faults.set(Vec::new());
        let view = settled_by_sweeps(&h, &reconciler(&h), &id).await;
        assert_eq!(view["status"], "failed", "{fault:?}: {view}");
        assert_eq!(view["result"]["error"]["code"], "provider_unavailable");
        assert_eq!(
            view["result"]["error"]["providerCode"], "not_found",
            "{view}"
        );
        assert!(view["result"]["providerPaymentId"].is_null());
        assert!(
            charges(&h, &order_id).is_empty(),
            "{fault:?}: nothing charged"
        );
    }
}
