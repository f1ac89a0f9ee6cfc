//! `POST /v1/payments/{id}/cancel` through the backend's HTTP API against the sandbox:
//! each phase's answer (created, waiting on the browser, waiting on dLocal's own page,
//! in doubt, final), who may ask (the merchant's key, the page's client secret from its
//! checkout origin), that a cancelled payment is never confirmed, and that of a cancel
//! racing a confirm exactly one wins (checked against the sandbox ledger).

use crate::support;

use serde_json::{json, Value};
use support::backend::{harness, next_form, pay, split_start, start_body, Cardholder, Harness};
use support::backend::{CHECKOUT, MERCHANT_KEY};
use support::browser;
use threeds_bridge::session::Phase;
use threeds_bridge::store::SessionStore;

/// The merchant's cancel (its API key): status and body.
async fn merchant_cancel(h: &Harness, id: &str) -> (u16, Value) {
    let response = browser()
        .post(format!("{}/v1/payments/{id}/cancel", h.url))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .expect("cancel");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The page's cancel: `secret` in the body, from `origin`.
async fn page_cancel(h: &Harness, id: &str, secret: &str, origin: &str) -> (u16, Value) {
    let response = browser()
        .post(format!("{}/v1/payments/{id}/cancel", h.url))
        .header("Origin", origin)
        .json(&json!({ "clientSecret": secret }))
        .send()
        .await
        .expect("cancel");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A payment the merchant's server created and the page has not confirmed: its id and
/// the confirm the page would send.
async fn created(h: &Harness, provider: &str, pan: &str) -> (String, Value) {
    let (create, confirm) = split_start(&start_body(provider, pan, "iframe"));
    let (status, view) = h.create(&create).await;
    assert_eq!(status, 201, "{view}");
    (view["id"].as_str().expect("id").to_owned(), confirm)
}

fn order_of(h: &Harness, provider: &str, order: &str) -> usize {
    h.ledger(provider)
        .iter()
        .filter(|e| e.order_id == order)
        .count()
}

#[tokio::test]
async fn a_created_payment_cancelled_by_the_merchant_ends_cancelled_and_is_never_confirmed() {
    let h = harness().await;
    let (id, confirm) = created(&h, "payroc", "4000000000001000").await;
    let (status, view) = merchant_cancel(&h, &id).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "cancelled", "{view}");
    assert_eq!(view["result"]["error"]["code"], "cancelled_by_merchant");
    // The merchant's view: its client secret is there.
    assert!(view["clientSecret"].is_string(), "{view}");
    // Again: the same answer, nothing changes.
    let (again, repeat) = merchant_cancel(&h, &id).await;
    assert_eq!(again, 200, "{repeat}");
    assert_eq!(repeat["result"], view["result"]);
    // The page confirms too late: it is told the payment is cancelled, nothing is sent.
    let (status, confirmed) = h.confirm(&id, &h.secret(&id), &confirm).await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["status"], "cancelled", "{confirmed}");
    let order = view["orderId"].as_str().expect("order");
    assert_eq!(order_of(&h, "payroc", order), 0, "no charge");
}

#[tokio::test]
async fn the_page_cancels_a_challenge_with_its_secret_from_its_own_origin_only() {
    let h = harness().await;
    let (status, view) = h
        .start(&start_body("paysafe", "4000000000002008", "iframe"))
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["next"]["type"], "challenge", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    let secret = h.secret(&id);
    // A wrong secret, another origin, no credential at all: refused, nothing changes.
    let (status, _) = page_cancel(
        &h,
        &id,
        &format!("{id}_secret_{}", "0".repeat(32)),
        CHECKOUT,
    )
    .await;
    assert_eq!(status, 401);
    let (status, refused) = page_cancel(&h, &id, &secret, "http://evil.test").await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(h.view(&id).await.1["status"], "requires_action");
    let (status, cancelled) = page_cancel(&h, &id, &secret, CHECKOUT).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["result"]["error"]["code"], "cancelled_by_shopper");
    // The page's view: no client secret in it.
    assert!(cancelled.get("clientSecret").is_none(), "{cancelled}");
    // The challenge finished anyway afterwards: the payment stays cancelled, uncharged.
    let before = h.ledger("paysafe").len();
    let _ = support::backend::follow(&h.url, next_form(&view), Cardholder::Types("1234")).await;
    let (_, after) = h.merchant_view(&id).await;
    assert_eq!(after["status"], "cancelled", "{after}");
    assert_eq!(h.ledger("paysafe").len(), before, "no charge");
}

#[tokio::test]
async fn a_payment_on_dlocals_page_is_cancelled_at_dlocal_before_it_is_called_cancelled() {
    let h = harness().await;
    let (status, view) = h
        .start(&start_body("dlocal", "4000000000002008", "redirect"))
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["next"]["type"], "redirect", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    let (status, cancelled) = merchant_cancel(&h, &id).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["result"]["status"], "cancelled");
    assert_eq!(
        cancelled["result"]["error"]["code"],
        "cancelled_by_merchant"
    );
    // dLocal's payment id, and dLocal's own words for the cancel.
    assert!(
        cancelled["result"]["providerPaymentId"].is_string(),
        "{cancelled}"
    );
    // dLocal closed its page: the payer can no longer pay there.
    let form = next_form(&view);
    let page = browser()
        .get(&form.action)
        .query(&form.fields)
        .send()
        .await
        .expect("dLocal's page");
    assert_eq!(page.status().as_u16(), 410);
    let order = cancelled["orderId"].as_str().expect("order");
    assert_eq!(order_of(&h, "dlocal", order), 0, "no charge");
}

#[tokio::test]
async fn an_ended_payment_answers_409_with_its_result_and_a_payment_in_doubt_409_in_progress() {
    let h = harness().await;
    let (view, _) = pay(
        &h,
        &start_body("paysafe", "4000000000001000", "iframe"),
        Cardholder::Types("1234"),
    )
    .await;
    assert_eq!(view["status"], "authorized", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    let (status, refused) = merchant_cancel(&h, &id).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "payment_final");
    assert_eq!(refused["payment"]["status"], "authorized", "{refused}");

    // A payment whose money call lost its answer (as the driver stores one).
    let (status, view) = h
        .start(&start_body("paysafe", "4000000000002008", "iframe"))
        .await;
    assert_eq!(status, 200, "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    let stored = h.store.load(&id).await.expect("load").expect("stored");
    let Phase::AwaitingBrowser { state, .. } = stored.phase.clone() else {
        panic!("awaiting the challenge: {stored:?}");
    };
    let doubt = threeds_bridge::session::Session {
        version: stored.version + 1,
        phase: Phase::Unknown {
            state,
            purpose: "paysafe.payment".into(),
            lookups: 0,
            next_lookup_at_ms: u64::MAX / 2,
            since_ms: stored.updated_at_ms,
        },
        ..stored
    };
    assert!(h.store.swap(&doubt).await.expect("swap"));
    let (status, refused) = page_cancel(&h, &id, &h.secret(&id), CHECKOUT).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "payment_in_progress");
    assert_eq!(refused["payment"]["status"], "unknown", "{refused}");
    let (status, refused) = merchant_cancel(&h, &id).await;
    assert_eq!(status, 409, "{refused}");
    let unchanged = h.store.load(&id).await.expect("load").expect("stored");
    assert_eq!(unchanged, doubt, "nothing changed");
}

#[tokio::test]
async fn of_a_cancel_racing_a_confirm_exactly_one_wins() {
    let h = harness().await;
    let mut won = [0; 2];
    for round in 0..8 {
        // Authorized within the confirm request: no browser step in between.
        let (id, confirm) = created(&h, "bambora", "4012000033330026").await;
        let secret = h.secret(&id);
        // Each goes out first in turn.
        let ((confirmed, confirm_view), (cancel, cancel_view)) = if round % 2 == 0 {
            tokio::join!(h.confirm(&id, &secret, &confirm), merchant_cancel(&h, &id))
        } else {
            let (cancelled, confirmed) =
                tokio::join!(merchant_cancel(&h, &id), h.confirm(&id, &secret, &confirm));
            (confirmed, cancelled)
        };
        assert_eq!(confirmed, 200, "{confirm_view}");
        let (_, view) = h.merchant_view(&id).await;
        let order = view["orderId"].as_str().expect("order");
        let charges = order_of(&h, "bambora", order);
        if cancel == 200 {
            won[0] += 1;
            // The cancel won: the confirm sent nothing and says so.
            assert_eq!(view["status"], "cancelled", "{view}");
            assert_eq!(confirm_view["status"], "cancelled", "{confirm_view}");
            assert_eq!(charges, 0, "cancelled: no charge");
        } else {
            won[1] += 1;
            // The confirm won: the cancel changed nothing.
            assert_eq!(cancel, 409, "{cancel_view}");
            let code = cancel_view["error"]["code"].as_str();
            assert!(
                matches!(code, Some("payment_in_progress" | "payment_final")),
                "{cancel_view}"
            );
            let (_, view) = h.view(&id).await;
            assert_ne!(view["status"], "cancelled", "{view}");
            assert_ne!(confirm_view["status"], "cancelled", "{confirm_view}");
        }
    }
    println!("cancel won {} times, confirm {}", won[0], won[1]);
}
