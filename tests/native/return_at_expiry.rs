//! A return that reaches the backend just before its session expires, and whose step is
//! written just after: the route found the session awaiting the browser and alive, the
//! adapter answered the return with a call, and by the time that step is written the
//! session has expired. It must end as its expiry would have ended it (for dLocal: in
//! doubt, cancelled at dLocal or found paid), never `session_expired` with a payment the
//! payer finished at the provider.
//!
//! The same for a read of the payment that straddles the expiry: a dLocal notification
//! makes the backend read the payment while the payer is on dLocal's page, and the answer
//! (still pending, the page still open) comes back after the session expired: the payment must be cancelled at dLocal,
//! or found paid, not ended `session_expired` while dLocal may still charge.
//!
//! The backend's clock ([`support::clock::Ahead`]) jumps past the session's lifetime
//! inside the adapter, as it reads the return (or the provider's answer): between the
//! route's check and its write.

use crate::support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use support::backend::{serve_unlimited, start_at, start_body, Cardholder, Harness};
use support::clock::Ahead;
use support::recording::Recording;
use threeds_bridge::backend::native::{ReqwestTransport, RunningBackend};
use threeds_bridge::backend::providers::{Providers, Registered};
use threeds_bridge::backend::Backend;
use threeds_bridge::payment::ProviderKind;
use threeds_bridge::provider::dlocal::{self, DlocalAdapter};

use crate::reconcile_dlocal::{assert_charged_once, final_view, open_challenge};

/// What each test starts from: a backend beside the harness's sandbox, on an [`Ahead`]
/// clock, whose dLocal adapter is the sandbox's as `wrap` records it (given the clock and
/// the sessions' lifetime): the harness that calls that backend, the running server and
/// the recording.
async fn on_clock(
    wrap: impl FnOnce(Recording<DlocalAdapter>, &Ahead, u64) -> Recording<DlocalAdapter>,
) -> (Harness, RunningBackend, Recording<DlocalAdapter>) {
    let h = support::backend::harness().await;
    let (listener, config) = h.beside().await;
    let url = config.public_url.clone();
    let clock = Ahead::default();
    let lifetime_ms = config.session_ttl_seconds * 1_000;
    let dlocal = config.providers.dlocal.clone().expect("dLocal's sandbox");
    let adapter = wrap(
        Recording::new(DlocalAdapter::new(dlocal)),
        &clock,
        lifetime_ms,
    );
    let providers = Providers::from_config(&config.providers)
        .with(Registered::new(ProviderKind::Dlocal, adapter.clone()));
    let transport = ReqwestTransport::new(&config.calls).expect("transport");
    let backend = Backend::with_providers(config, providers, h.store.clone(), transport, clock);
    let running = serve_unlimited(listener, backend.into());
    (Harness { url, ..h }, running, adapter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dlocal_payer_back_as_the_session_expires_is_found_paid_not_expired() {
    let (on_clock, running, _) = on_clock(|adapter, clock, lifetime_ms| {
        let clock = clock.clone();
        adapter.before_return(move || clock.jump(lifetime_ms + 1_000))
    })
    .await;

    let body = start_body("dlocal", "4000000000002008", "iframe");
    let (status, view, _) = start_at(&on_clock.url, &body).await;
    assert_eq!(
        (status, &view["next"]["type"]),
        (200, &json!("redirect")),
        "{view}"
    );
    let id = view["id"].as_str().expect("id").to_owned();
    let challenge = open_challenge(&view).await;
    // The payer answers dLocal's challenge, and dLocal charges; their browser comes back.
    let back =
        support::cardholder::until_backend(&on_clock.url, challenge, Cardholder::Types("1234"))
            .await;
    assert_eq!(on_clock.ledger("dlocal").len(), 1, "dLocal charged");
    let landing = back.submit(&support::browser(), &back.action).await;
    assert!(landing.status().as_u16() < 500, "{landing:?}");

    let (_, after) = on_clock.merchant_view(&id).await;
    assert_ne!(
        after["status"], "error",
        "not ended while dLocal holds a payment: {after}"
    );
    // Its lookup, the cancel, is refused by dLocal (the payment is paid), then read.
    let done = final_view(&on_clock, &id).await;
    assert_charged_once(&on_clock, &done, body["orderId"].as_str().expect("order"));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dlocal_read_answered_after_the_expiry_cancels_at_dlocal_or_finds_paid() {
    let armed = Arc::new(AtomicBool::new(false));
    let (on_clock, running, adapter) = on_clock(|adapter, clock, lifetime_ms| {
        let (clock, armed) = (clock.clone(), armed.clone());
        adapter.before_response(move || {
            if armed.swap(false, Ordering::SeqCst) {
                clock.jump(lifetime_ms + 1_000);
            }
        })
    })
    .await;
    let dlocal = dlocal::Config::sandbox(&on_clock.sandbox.url);

    let body = start_body("dlocal", "4000000000002008", "iframe");
    let order_id = body["orderId"].as_str().expect("order").to_owned();
    let (status, view, _) = start_at(&on_clock.url, &body).await;
    assert_eq!((status, &view["next"]["type"]), (200, &json!("redirect")));
    let id = view["id"].as_str().expect("id").to_owned();
    // The payer is on dLocal's page, the issuer's challenge open, not yet answered.
    let challenge = open_challenge(&view).await;
    let payment_id = adapter
        .stored()
        .iter()
        .filter_map(|state| serde_json::from_str::<Value>(state).ok())
        .find_map(|state| state["payment_id"].as_str().map(str::to_owned))
        .expect("dLocal's payment id in a stored state");
    // A notification makes the backend read the payment (what it says is only a hint:
    // the read is what counts); the answer, still pending with the page open, comes back
    // once the session has expired.
    armed.store(true, Ordering::SeqCst);
    let notification = json!({"id": payment_id, "status": "PAID", "order_id": order_id});
    let sent = support::backend::dlocal_notification(
        &on_clock.url,
        &notification.to_string(),
        support::flow::now_ms(),
        &dlocal.secret_key,
    )
    .send()
    .await
    .expect("notification");
    // 503 when the payment is left in doubt (to be cancelled at dLocal): dLocal is asked
    // to send the notification again.
    let status = sent.status().as_u16();
    assert!(
        status == 200 || status == 503,
        "{status}: {}",
        sent.text().await.unwrap_or_default()
    );
    assert!(!armed.load(Ordering::SeqCst), "the read was answered");
    let (_, after) = on_clock.merchant_view(&id).await;
    assert_ne!(
        after["status"], "error",
        "not ended while dLocal holds a payment the payer can finish: {after}"
    );
    // The payer answers the challenge anyway. Whatever comes first, dLocal's cancel or
    // the charge, the payment ends as dLocal has it.
    let back =
        support::cardholder::until_backend(&on_clock.url, challenge, Cardholder::Types("1234"))
            .await;
    let _ = back.submit(&support::browser(), &back.action).await;
    let done = final_view(&on_clock, &id).await;
    assert_eq!(done["state"], "final", "{done}");
    let charges = on_clock
        .ledger("dlocal")
        .into_iter()
        .filter(|charge| charge.order_id == order_id)
        .count();
    match charges {
        0 => assert_ne!(done["status"], "authorized", "{done}"),
        _ => assert_charged_once(&on_clock, &done, &order_id),
    }
    running.shutdown().await;
}
