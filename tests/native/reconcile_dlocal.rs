//! dLocal payments in doubt, through the real backend over HTTP and the sandbox: a create
//! whose answer never arrives (every attempt dropped after dLocal committed, or hung), a
//! process stopped in the middle of the create (the `Calling` phase written to the store
//! as a stopped process leaves it), and a session that expires while the payer is on
//! dLocal's page. None of them may end the payment while dLocal may have charged: the
//! payment is `unknown` until a lookup (`GET /orders/{order_id}`, then
//! `GET /payments/{id}`) or dLocal's notification finds dLocal's word, and a payment
//! abandoned on dLocal's page until the backend's cancel (`POST /payments/{id}/cancel`)
//! ends it there, or dLocal's refusal to cancel tells that the payer finished first. The
//! sandbox's `GET /orders/{order_id}` and `POST /payments/{id}/cancel` themselves are
//! tested in sandbox_dlocal/orders.rs.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use support::backend::{
    harness, harness_with, next_form, serve_unlimited, split_start, start_body, Cardholder, Harness,
};
use support::flow::{self, now_ms};
use support::{browser, PageForm};
use threeds_bridge::backend::native::{ReqwestTransport, SystemEnv};
use threeds_bridge::backend::Backend;
use threeds_bridge::backend::CallPolicy;
use threeds_bridge::order::{Currency, OrderId};
use threeds_bridge::payment::{Payer, PaymentStart};
use threeds_bridge::provider::dlocal::{Config, DlocalAdapter};
use threeds_bridge::provider::{Adapter, Context, HttpRequest, Step};
use threeds_bridge::sandbox::dlocal::AttemptOutcome;
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::session::{AdapterState, Phase};
use threeds_bridge::store::SessionStore;

pub(crate) const FRICTIONLESS: &str = "4000000000001000";
pub(crate) const CHALLENGE: &str = "4000000000002008";
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
pub(crate) async fn final_view(h: &Harness, id: &str) -> Value {
    h.final_merchant_view(id, Duration::from_secs(12)).await
}

/// `view` is authorized with the one dLocal charge of its order.
pub(crate) fn assert_charged_once(h: &Harness, view: &Value, order_id: &str) {
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
    let payment = in_brazil(&order_id, FRICTIONLESS);
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

/// A payment dLocal takes in Brazil (a payer with a CPF and a country), of order `order_id`.
pub(crate) fn in_brazil(order_id: &str, pan: &str) -> PaymentStart {
    PaymentStart {
        order_id: OrderId::parse(order_id).expect("an order id"),
        currency: Currency::parse("BRL").expect("a currency"),
        payer: Payer {
            name: Some("Jo Doe".into()),
            email: Some("jo@example.com".into()),
            document: Some("53033315550".into()),
            country: Some("BR".into()),
        },
        ..flow::payment(pan)
    }
}

pub(crate) async fn send_create(request: &HttpRequest) {
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

/// The payer on dLocal's page, as far as the issuer's challenge form (unanswered): the
/// page registered the challenge with the ACS, as a payer who opened it did.
pub(crate) async fn open_challenge(view: &Value) -> PageForm {
    let client = browser();
    let page = next_form(view);
    let html = page
        .submit(&client, &page.action)
        .await
        .text()
        .await
        .expect("page");
    let mut creq = support::form(&html, Some("autosubmit"));
    creq.action = support::resolve(&page.action, &creq.action);
    let html = creq
        .submit(&client, &creq.action)
        .await
        .text()
        .await
        .expect("ACS");
    let mut challenge = support::form(&html, Some("challenge"));
    challenge.action = support::resolve(&creq.action, &challenge.action);
    challenge.set("otp", "1234");
    challenge.set("action", "submit");
    challenge
}

/// The payment as dLocal holds it: the signed `GET /payments/{id}`.
async fn at_dlocal(h: &Harness, payment_id: &str) -> Value {
    let config = Config::sandbox(&h.sandbox.url);
    let date = threeds_bridge::provider::dlocal::x_date(now_ms());
    let signature = threeds_bridge::provider::dlocal::signature(
        &config.secret_key,
        &config.x_login,
        &date,
        b"",
    );
    let response = browser()
        .get(format!("{}/payments/{payment_id}", config.base_url))
        .header("X-Date", date)
        .header("X-Login", config.x_login.clone())
        .header("X-Trans-Key", config.x_trans_key.expose())
        .header("X-Version", "2.1")
        .header(
            "Authorization",
            format!("V2-HMAC-SHA256, Signature: {signature}"),
        )
        .send()
        .await
        .expect("dLocal answers");
    assert_eq!(response.status(), 200);
    response.json().await.expect("a payment object")
}

/// Whether the backend's log shows `purpose` sent for session `id` and answered `status`.
fn answered(id: &str, purpose: &str, status: u16) -> bool {
    support::backend::logs().lines().any(|l| {
        l.contains(&format!("session={id}"))
            && l.contains(purpose)
            && l.contains(&format!("status={status}"))
    })
}

/// A payer who leaves dLocal's page without finishing it: dLocal would still charge if
/// they came back, so the expired session is not ended at once but put in doubt, and the
/// backend cancels the payment at dLocal (`POST /payments/{id}/cancel`). Then it ends
/// `session_expired`, dLocal holds it `CANCELLED`, nothing is charged, and the payer who
/// answers the challenge afterwards is refused by dLocal's page.
#[tokio::test]
async fn a_payer_who_never_comes_back_from_dlocals_page_is_cancelled_there_and_expired() {
    let mut h = harness().await;
    h.ttl_seconds = 1;
    h.restart().await;
    let body = start_body("dlocal", CHALLENGE, "iframe");
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["next"]["type"], "redirect", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    let challenge = open_challenge(&view).await;

    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (_, expired) = h.merchant_view(&id).await;
    assert_eq!(
        expired["status"], "unknown",
        "not ended while dLocal may still charge: {expired}"
    );
    // The reconciler's first try (2 s later) cancels it at dLocal.
    let done = final_view(&h, &id).await;
    assert_eq!(done["status"], "error", "{done}");
    assert_eq!(done["result"]["error"]["code"], "session_expired", "{done}");
    let payment_id = done["result"]["providerPaymentId"]
        .as_str()
        .expect("dLocal's payment id")
        .to_owned();
    assert!(answered(&id, "dlocal.cancel", 200), "cancelled at dLocal");
    let held = at_dlocal(&h, &payment_id).await;
    assert_eq!(
        (held["status"].as_str(), held["status_code"].as_str()),
        (Some("CANCELLED"), Some("400")),
        "{held}"
    );
    assert!(h.ledger("dlocal").is_empty());

    // The payer answers the challenge after all: dLocal's page refuses to go on.
    let refused = support::cardholder::try_until_backend(&h.url, challenge, RIGHT).await;
    let stuck = refused.expect_err("dLocal's page does not send the payer back");
    assert!(stuck.contains("cancelled"), "{stuck}");
    assert!(h.ledger("dlocal").is_empty(), "never charged");
    assert_eq!(at_dlocal(&h, &payment_id).await["status"], "CANCELLED");
    assert_eq!(h.merchant_view(&id).await.1, done);
}

/// Restarts `h`'s backend with dLocal's notifications sent nowhere (a notification dLocal
/// has not sent yet): only the backend's own calls learn what dLocal did.
async fn restart_without_notifications(h: &mut Harness) {
    h.stop().await;
    let mut config = h.config();
    if let Some(dlocal) = config.providers.dlocal.as_mut() {
        dlocal.notification_url = Some("http://127.0.0.1:9/v1/webhooks/dlocal".into());
    }
    let listener = tokio::net::TcpListener::bind(h.addr).await.expect("rebind");
    let transport = ReqwestTransport::new(&config.calls).expect("transport");
    let backend = Backend::new(config, h.store.clone(), transport, SystemEnv);
    h.backend = Some(serve_unlimited(listener, Arc::new(backend)));
}

/// The payer finishes dLocal's page after the session expired, just before the backend's
/// cancel: dLocal refuses to cancel a paid payment, so the backend reads it and reports
/// the one charge `authorized`.
#[tokio::test]
async fn a_payer_who_finishes_on_dlocals_page_just_before_the_cancel_is_authorized() {
    let mut h = harness().await;
    h.ttl_seconds = 1;
    restart_without_notifications(&mut h).await;
    let body = start_body("dlocal", CHALLENGE, "iframe");
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    let challenge = open_challenge(&view).await;

    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (_, expired) = h.merchant_view(&id).await;
    assert_eq!(expired["status"], "unknown", "{expired}");
    // The payer answers the challenge: dLocal charges. Its callback reaches a session
    // that no longer awaits the browser, and changes nothing.
    let back = support::cardholder::until_backend(&h.url, challenge, RIGHT).await;
    assert_eq!(h.ledger("dlocal").len(), 1, "dLocal charged");
    let landing = back.submit(&browser(), &back.action).await;
    assert!(landing.status().as_u16() < 500, "{landing:?}");

    let done = final_view(&h, &id).await;
    assert_charged_once(&h, &done, body["orderId"].as_str().expect("order"));
    assert!(
        answered(&id, "dlocal.cancel", 400),
        "the cancel was sent, and dLocal refused it"
    );
}
