//! What must never happen, over real HTTP against the sandbox: a second charge (replayed
//! return, duplicated notifications, a connection dropped after the provider committed; a
//! double start is create_terms.rs's), a forged return or webhook changing anything, a hung
//! provider hanging the browser, a restart losing a payment mid-challenge, an expired
//! session charging. The API's edges (body limit, CORS, no-store, JSON errors) are
//! backend_malformed.rs's; where the card number may go, backend_card_data.rs's.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::backend::{follow, harness, logs, next_form, pay, start_body, Cardholder, Harness};
use support::browser;
use support::cardholder::until_backend;
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::store::SessionStore;

const RIGHT: Cardholder = Cardholder::Types("1234");

fn rule(provider: Provider, endpoint: &str) -> FaultRule {
    FaultRule {
        provider: Some(provider),
        endpoint: Some(endpoint.to_owned()),
        ..Default::default()
    }
}

/// Starts a payment that stops at its challenge; answers the id and the view.
async fn at_challenge(h: &Harness, provider: &str, display: &str) -> (String, Value, Value) {
    let body = start_body(provider, "4000000000002008", display);
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    let kind = view["next"]["type"].as_str().unwrap_or_default();
    assert!(kind == "challenge" || kind == "redirect", "{view}");
    (view["id"].as_str().unwrap().to_owned(), view, body)
}

fn is_html(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("content-type")
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"))
}

#[tokio::test]
async fn a_replayed_return_changes_nothing_and_charges_nothing() {
    let h = harness().await;
    for (provider, display) in [
        ("paysafe", "iframe"),
        ("dlocal", "redirect"),
        ("payroc", "redirect"),
    ] {
        let (id, view, _) = at_challenge(&h, provider, display).await;
        let landing = follow(&h.url, next_form(&view), RIGHT).await;
        let done = h.final_view(&id).await;
        assert_eq!(done["result"]["status"], "authorized", "{provider}: {done}");
        let charges = h.ledger(provider).len();
        assert_eq!(charges, 1, "{provider}");
        let replay = landing.sent.submit(&browser(), &landing.sent.action).await;
        assert_eq!(
            replay.status().as_u16(),
            landing.status,
            "{provider}: the same answer"
        );
        let location = replay
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap());
        assert_eq!(location, landing.location.as_deref(), "{provider}");
        assert_eq!(h.view(&id).await.1, done, "{provider}: nothing changed");
        assert_eq!(
            h.ledger(provider).len(),
            charges,
            "{provider}: no second charge"
        );
    }
}

#[tokio::test]
async fn forged_returns_get_an_error_page_and_change_nothing() {
    let h = harness().await;
    let client = browser();
    for provider in ["paysafe", "dlocal"] {
        let (id, view, _) = at_challenge(&h, provider, "iframe").await;
        let forged = client
            .post(format!("{}/v1/returns/{id}", h.url))
            .form(&[
                ("authenticationId", "a-forged-id"),
                ("payload", "eyJ0cmFuc1N0YXR1cyI6IlkifQ"),
                ("paymentId", "D-4-forged"),
                ("status", "PAID"),
                ("date", "2026-01-01T00:00:00Z"),
                ("signature", "00"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 400, "{provider}");
        assert!(is_html(&forged), "{provider}: an HTML page");
        assert_eq!(h.view(&id).await.1, view, "{provider}: nothing changed");
        // The real cardholder still finishes.
        follow(&h.url, next_form(&view), RIGHT).await;
        assert_eq!(h.final_view(&id).await["result"]["status"], "authorized");
    }

    let unknown = client
        .get(format!("{}/v1/returns/payroc", h.url))
        .query(&[
            ("orderId", "order-nobody"),
            ("result", "A"),
            ("mpiReference", "ref1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let unknown = client
        .get(format!("{}/v1/returns/{}", h.url, "0".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(is_html(&unknown));
    assert!(h.ledger("paysafe").len() == 1 && h.ledger("dlocal").len() == 1);
}

/// A return naming the payment's real authentication (its id is in the challenge form the
/// page holds) with a payload that is not the issuer's: Paysafe's finalize refuses it and
/// still holds the authentication `PENDING`. The return gets an error page, the payment
/// waits on the same challenge, and the cardholder's genuine answer still authorizes it,
/// once. (Before, the refused payload ended the payment failed and the genuine answer
/// found it over.)
#[tokio::test]
async fn a_forged_paysafe_payload_leaves_the_challenge_to_the_cardholder() {
    use base64::Engine;
    let h = harness().await;
    let (id, view, _) = at_challenge(&h, "paysafe", "iframe").await;
    let form = next_form(&view);
    let session_data = form
        .fields
        .iter()
        .find(|(name, _)| name == "threeDSSessionData")
        .map(|(_, value)| value.clone())
        .expect("the form's threeDSSessionData");
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(session_data.trim_end_matches('='))
        .expect("base64url");
    let authentication_id = String::from_utf8(decoded).expect("an id");
    for _ in 0..2 {
        let forged = browser()
            .post(format!("{}/v1/returns/{id}", h.url))
            .form(&[
                ("authenticationId", authentication_id.as_str()),
                ("payload", "eyJ0cmFuc1N0YXR1cyI6IlkifQ"),
                ("threeDSSessionData", session_data.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 400);
        assert!(is_html(&forged), "an HTML page");
        assert!(forged
            .text()
            .await
            .unwrap()
            .contains("data-code=\"return_refused\""));
        let (_, again) = h.view(&id).await;
        assert_eq!(
            (&again["status"], &again["next"]),
            (&view["status"], &view["next"]),
            "the same challenge: {again}"
        );
    }
    follow(&h.url, form, RIGHT).await;
    let done = h.final_view(&id).await;
    assert_eq!(done["result"]["status"], "authorized", "{done}");
    assert_eq!(h.ledger("paysafe").len(), 1);
}

#[tokio::test]
async fn a_forged_payroc_receipt_changes_nothing_the_real_one_needs() {
    let h = harness().await;
    let client = browser();
    let (id, view, body) = at_challenge(&h, "payroc", "redirect").await;
    let order = body["orderId"].as_str().unwrap();
    let receipt = |reference: &'static str| {
        client
            .get(format!("{}/v1/returns/payroc", h.url))
            .query(&[
                ("orderId", order),
                ("result", "A"),
                ("status", "Y"),
                ("eci", "05"),
                ("mpiReference", reference),
            ])
            .send()
    };
    let refused = |code: &'static str| format!("data-code=\"{code}\"");
    let sales = || {
        logs()
            .lines()
            .filter(|l| {
                l.contains(&id) && l.contains("payroc.sale") && l.contains("provider answered")
            })
            .count()
    };

    // Payroc's receipt is unsigned: a malformed one is refused outright.
    let forged = receipt("not/a-reference").await.unwrap();
    assert_eq!(forged.status(), 400);
    assert!(is_html(&forged));
    assert!(forged
        .text()
        .await
        .unwrap()
        .contains(&refused("receipt_field_invalid")));
    assert_eq!(h.view(&id).await.1, view, "nothing changed");

    // A well-formed one for this order only the sale can judge: Payroc refuses its
    // mpiReference, and the payment waits on for the real receipt, with the same step.
    let forged = receipt("forgedReference123").await.unwrap();
    assert_eq!(forged.status(), 400, "an error page, not the checkout page");
    assert!(is_html(&forged));
    assert!(forged
        .text()
        .await
        .unwrap()
        .contains(&refused("receipt_refused")));
    let after = h.view(&id).await.1;
    assert_eq!(after, view, "still pending, the same MPI step: {after}");
    assert_eq!(after["state"], "pending");
    assert_eq!(sales(), 1, "the sale that Payroc refused");
    // Sent again, it is refused on arrival, without another sale.
    let again = receipt("forgedReference123").await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains(&refused("receipt_refused")));
    assert_eq!(h.view(&id).await.1, view);
    assert_eq!(sales(), 1);
    assert!(h.ledger("payroc").is_empty(), "nothing charged");

    // The cardholder, still at the challenge, finishes it: authorized, one charge.
    follow(&h.url, next_form(&view), RIGHT).await;
    let done = h.final_view(&id).await;
    assert_eq!(done["result"]["status"], "authorized", "{done}");
    let charges = h.ledger("payroc");
    assert_eq!(charges.len(), 1, "one charge");
    assert_eq!(
        done["result"]["providerPaymentId"].as_str(),
        Some(charges[0].provider_payment_id.as_str())
    );
    assert_eq!(sales(), 2, "one sale for the real receipt");
    // A forged receipt after the end changes nothing either, and learns nothing of the
    // payment: the same page as an unknown order, no returnUrl, no session id.
    let late = receipt("forgedReference456").await.unwrap();
    assert_eq!(late.status(), 404);
    assert!(late.headers().get("location").is_none());
    assert!(!late.text().await.unwrap().contains(&id));
    assert_eq!(h.view(&id).await.1, done);
    assert_eq!(h.ledger("payroc").len(), 1);
}

#[tokio::test]
async fn dlocal_webhook_refuses_forgeries_and_a_notification_may_come_first() {
    let h = harness().await;
    let client = browser();
    let forged = client
        .post(format!("{}/v1/webhooks/dlocal", h.url))
        .header(
            "X-Date",
            threeds_bridge::provider::dlocal::x_date(support::flow::now_ms()),
        )
        .header("X-Login", "sak223k2wdksdl2")
        .header("Authorization", "V2-HMAC-SHA256, Signature: 00")
        .body(r#"{"id":"D-4-x","status":"PAID","order_id":"o"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let error: Value = forged.json().await.unwrap();
    assert_eq!(error["error"]["code"], "bad_signature");

    // The browser stops before the callback: dLocal's notification finishes the payment
    // alone; the callback that comes later answers the same page and charges nothing.
    let (id, view, _) = at_challenge(&h, "dlocal", "iframe").await;
    let callback = until_backend(&h.url, next_form(&view), RIGHT).await;
    let mut done = Value::Null;
    for _ in 0..50 {
        done = h.view(&id).await.1;
        if done["state"] == "final" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        done["result"]["status"], "authorized",
        "the notification finished it: {done}"
    );
    // Back from dLocal's page (the whole page): to the checkout, the payment as it was.
    let page = callback.submit(&browser(), &callback.action).await;
    assert_eq!(page.status(), 303);
    assert_eq!(h.view(&id).await.1, done);
    assert_eq!(h.ledger("dlocal").len(), 1);

    // Duplicated and reordered notifications beside the callback: still one result.
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Dlocal),
        duplicate_notifications: true,
        reorder_notifications: true,
        ..Default::default()
    }]);
    for _ in 0..3 {
        let (view, _) = pay(
            &h,
            &start_body("dlocal", "4000000000002008", "iframe"),
            RIGHT,
        )
        .await;
        assert_eq!(view["result"]["status"], "authorized", "{view}");
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(h.ledger("dlocal").len(), 4, "one charge per payment");
}

#[tokio::test]
async fn provider_5xx_are_retried_when_safe_and_reported_when_they_persist() {
    let h = harness().await;
    // Every API endpoint fails every other request (the browser-facing pages do not).
    let api = [
        "/customervault",
        "/threedsecure/v2/jwt",
        "/threedsecure/v2/accounts",
        "/cardpayments",
    ];
    h.sandbox.sandbox.faults.set(
        api.iter()
            .map(|endpoint| FaultRule {
                error_rate: 0.5,
                error_status: Some(503),
                ..rule(Provider::Paysafe, endpoint)
            })
            .collect(),
    );
    let (view, _) = pay(
        &h,
        &start_body("paysafe", "4000000000002008", "iframe"),
        RIGHT,
    )
    .await;
    assert_eq!(view["result"]["status"], "authorized", "{view}");
    assert_eq!(h.ledger("paysafe").len(), 1);

    // A call that moves no money (a lost authorization is looked up instead:
    // tests/native/reconcile_paysafe.rs).
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        error_rate: 1.0,
        error_status: Some(500),
        ..rule(Provider::Paysafe, "/threedsecure/v2/jwt")
    }]);
    let (view, _) = pay(
        &h,
        &start_body("paysafe", "4000000000001000", "iframe"),
        RIGHT,
    )
    .await;
    assert_eq!(view["result"]["status"], "error", "{view}");
    assert_eq!(view["result"]["error"]["code"], "provider_unavailable");
    assert_eq!(h.ledger("paysafe").len(), 1, "nothing more charged");
}

#[tokio::test]
async fn a_hung_provider_ends_in_provider_timeout_not_a_hung_request() {
    let h = harness().await;
    // A call that moves no money (a hung authorization leaves the payment `unknown`:
    // tests/native/reconcile_paysafe.rs).
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        hang: true,
        ..rule(Provider::Paysafe, "/threedsecure/v2/jwt")
    }]);
    let started = Instant::now();
    let (status, view) = h
        .start(&start_body("paysafe", "4000000000001000", "iframe"))
        .await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(view["result"]["status"], "error", "{view}");
    assert_eq!(view["result"]["error"]["code"], "provider_timeout");
    let budget = Duration::from_millis(h.policy.lease_ms());
    assert!(took < budget, "answered in {took:?}");
    assert!(h.ledger("paysafe").is_empty());
}

#[tokio::test]
async fn a_connection_dropped_after_the_charge_is_retried_without_charging_twice() {
    let h = harness().await;
    // The connection drops once, after the charge (then the rule is cleared, as a
    // network blip would end): the retry with the same idempotency key must return the
    // first charge, not make a second.
    let drops = [
        (Provider::Paysafe, "/cardpayments", "paysafe"),
        (Provider::Payroc, "/api/v1/payments", "payroc"),
        (Provider::Dlocal, "/secure_payments", "dlocal"),
    ];
    for (fault_provider, endpoint, provider) in drops {
        let sandbox = h.sandbox.sandbox.clone();
        sandbox.faults.set(vec![FaultRule {
            drop_after_commit: true,
            ..rule(fault_provider, endpoint)
        }]);
        let before = sandbox.ledger.entries().len();
        let clearer = tokio::spawn(async move {
            while sandbox.ledger.entries().len() == before {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            sandbox.faults.set(Vec::new());
        });
        let body = start_body(provider, "4000000000001000", "redirect");
        let (status, view) = h.start(&body).await;
        assert_eq!(status, 200);
        let view = if view["next"]["type"] == "redirect" {
            follow(&h.url, next_form(&view), RIGHT).await;
            h.view(view["id"].as_str().unwrap()).await.1
        } else {
            view
        };
        clearer.abort();
        let charges = h.ledger(provider);
        assert_eq!(
            charges.len(),
            1,
            "{provider}: the charge was made once: {charges:?}"
        );
        assert_eq!(
            view["result"]["status"], "authorized",
            "{provider}: the backend knows it: {view}"
        );
        assert_eq!(
            view["result"]["providerPaymentId"].as_str(),
            Some(charges[0].provider_payment_id.as_str())
        );
    }
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_challenge_keeps_the_payment() {
    let mut h = harness().await;
    let mut waiting = Vec::new();
    for (provider, display) in [
        ("paysafe", "iframe"),
        ("dlocal", "redirect"),
        ("payroc", "redirect"),
    ] {
        waiting.push((provider, at_challenge(&h, provider, display).await));
    }
    h.restart().await;
    for (provider, (id, view, _)) in waiting {
        let landing = follow(&h.url, next_form(&view), RIGHT).await;
        assert!(
            landing.status == 200 || landing.status == 303,
            "{provider}: {landing:?}"
        );
        let done = h.final_view(&id).await;
        assert_eq!(done["result"]["status"], "authorized", "{provider}: {done}");
        assert_eq!(h.ledger(provider).len(), 1, "{provider}");
    }
}

#[tokio::test]
async fn an_expired_session_ends_as_session_expired_and_its_return_charges_nothing() {
    let mut h = harness().await;
    h.ttl_seconds = 1;
    h.restart().await;
    let (id, view, _) = at_challenge(&h, "paysafe", "iframe").await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let expired = h.view(&id).await.1;
    assert_eq!(expired["state"], "final");
    assert_eq!(
        expired["result"]["error"]["code"], "session_expired",
        "{expired}"
    );
    let landing = follow(&h.url, next_form(&view), RIGHT).await;
    assert_eq!(landing.status, 200);
    assert_eq!(h.view(&id).await.1, expired);
    assert!(h.ledger("paysafe").is_empty());
}

#[tokio::test]
async fn a_process_that_dies_during_the_sale_is_resumed_into_a_lookup_and_never_charges_twice() {
    use threeds_bridge::backend::native::{self, ReqwestTransport, SystemEnv};
    use threeds_bridge::session::Phase;
    // The hung sale must still be under way when the process dies: a timeout with room
    // for a busy machine between the sale's start and the kill.
    let mut h = support::backend::harness_with(threeds_bridge::backend::CallPolicy {
        timeout_ms: 3_000,
        attempts: 1,
        backoff_ms: 50,
    })
    .await;
    h.stop().await;
    // The backend that will die runs on its own runtime: shutting that down drops every
    // task of it mid-await, as a killed process would.
    let doomed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = std::net::TcpListener::bind(h.addr).unwrap();
    listener.set_nonblocking(true).unwrap();
    let backend = std::sync::Arc::new(threeds_bridge::backend::Backend::new(
        h.config(),
        h.store.clone(),
        ReqwestTransport::new(&h.policy).unwrap(),
        SystemEnv,
    ));
    doomed.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let _running = native::spawn(listener, backend).unwrap();
        std::future::pending::<()>().await;
    });

    let (status, view) = h
        .start(&start_body("payroc", "4000000000001000", "redirect"))
        .await;
    assert_eq!(status, 200, "{view}");
    let id = view["id"].as_str().unwrap().to_owned();
    let receipt = until_backend(&h.url, next_form(&view), RIGHT).await;
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        hang: true,
        ..rule(Provider::Payroc, "/api/v1/payments")
    }]);
    let browser_task =
        tokio::spawn(async move { receipt.submit(&browser(), &receipt.action).await });
    let mut calling = false;
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < until {
        let session = h.store.load(&id).await.unwrap().unwrap();
        if matches!(&session.phase, Phase::Calling { purpose, .. } if purpose == "payroc.sale") {
            calling = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(calling, "the sale was under way");
    doomed.shutdown_background();
    let _ = browser_task.await;
    assert!(h.ledger("payroc").is_empty(), "the hung sale never ran");

    // A new process, the same store; the provider is well again. Once the call's lease
    // is over, the next read resumes the sale: its answer is lost, so Payroc may have
    // made it and the payment is in doubt; the lookup (due 2 s later) finds that Payroc
    // never did: failed, nothing charged (never twice).
    h.sandbox.sandbox.faults.set(Vec::new());
    h.restart().await;
    let (_, early) = h.view(&id).await;
    assert_eq!(
        early["state"], "pending",
        "within the lease nobody touches the call: {early}"
    );
    tokio::time::sleep(Duration::from_millis(h.policy.lease_ms() + 100)).await;
    let (_, doubt) = h.view(&id).await;
    assert_eq!(doubt["status"], "unknown", "{doubt}");
    // Looked up 2 s later, and believed once the harness's 3 s of `not_found_after_ms`
    // have passed since the call's lease ended (its last attempt went out by then).
    let mut done = doubt;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        done = h.view(&id).await.1;
        if done["state"] == "final" {
            break;
        }
    }
    assert_eq!(done["result"]["status"], "failed", "{done}");
    assert_eq!(
        done["result"]["error"]["providerCode"], "not_found",
        "{done}"
    );
    assert!(h.ledger("payroc").is_empty());
}
