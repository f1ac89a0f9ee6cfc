//! Full payments through the backend's HTTP API against the sandbox, the test acting as
//! the checkout page and the cardholder's browser: Payroc (hosted MPI, receipt at
//! /v1/returns/payroc), dLocal (redirect page, signed callback, notifications) and
//! Paysafe (3DS Method, iframe challenge, 3DS 1.0.2), Bambora (302 with the ACS form
//! parsed on the server, continue). Each payment is checked against
//! the sandbox ledger: one charge exactly when authorized, none otherwise.

use crate::support;

use serde_json::Value;
use support::backend::{harness, pay, start_body, Cardholder, Harness, CHECKOUT};

const RIGHT: Cardholder = Cardholder::Types("1234");
const WRONG: Cardholder = Cardholder::Types("9999");
const CANCELS: Cardholder = Cardholder::Cancels;

/// Pays and checks the ledger, the result's status and (when given) its error code.
async fn check(
    h: &Harness,
    provider: &str,
    pan: &str,
    display: &str,
    who: Cardholder,
    status: &str,
    code: Option<&str>,
) -> Value {
    let body = start_body(provider, pan, display);
    let before = h.ledger(provider).len();
    let (view, landings) = pay(h, &body, who).await;
    let result = &view["result"];
    assert_eq!(result["status"], status, "{provider} {pan} {who:?}: {view}");
    assert_eq!(
        result["error"]["code"].as_str(),
        code,
        "{provider} {pan}: {view}"
    );
    // Each test has its own sandbox and pays one after another: the new entries are
    // this payment's (Paysafe's ledger names its merchantRefNum, not our order id).
    let charges: Vec<_> = h.ledger(provider).into_iter().skip(before).collect();
    if status == "authorized" {
        assert_eq!(charges.len(), 1, "{provider} {pan}: one charge");
        assert_eq!(
            Some(charges[0].provider_payment_id.as_str()),
            result["providerPaymentId"].as_str()
        );
    } else {
        assert!(charges.is_empty(), "{provider} {pan}: nothing charged");
    }
    // Payroc's MPI and dLocal's page are the whole page in any display: their returns go
    // back to the checkout; an ACS's challenge in iframe display gets the completion page.
    let framed = display == "iframe" && !matches!(provider, "payroc" | "dlocal");
    for landing in &landings {
        match framed {
            true => {
                assert_eq!(landing.status, 200, "{landing:?}");
                let id = view["id"].as_str().unwrap_or_default();
                let nonce = view["nonce"].as_str().unwrap_or_default();
                assert!(landing.body.contains(&format!("data-session-id=\"{id}\"")));
                assert!(landing.body.contains(&format!("data-nonce=\"{nonce}\"")));
                assert!(landing
                    .body
                    .contains(&format!("data-target-origin=\"{CHECKOUT}\"")));
                assert!(landing.body.contains(&format!(
                    "<script src=\"{}/v1/complete.js\"></script>",
                    h.url
                )));
                assert!(!landing.body.contains("<script>"), "no inline script");
            }
            false => {
                assert_eq!(landing.status, 303, "{landing:?}");
                assert_eq!(
                    landing.location.as_deref(),
                    body["returnUrl"].as_str(),
                    "back to the checkout page"
                );
            }
        }
    }
    view
}

#[tokio::test]
async fn payroc_through_the_hosted_mpi() {
    let h = harness().await;
    let view = check(
        &h,
        "payroc",
        "4000000000001000",
        "redirect",
        RIGHT,
        "authorized",
        None,
    )
    .await;
    assert_eq!(view["result"]["transStatus"], "Y");
    assert_eq!(view["result"]["eci"], "05");
    assert_eq!(view["result"]["liabilityShift"], true);
    #[rustfmt::skip]
    let payments = [
        ("4000000000002008", "redirect", RIGHT, "authorized", None),
        ("4000000000002008", "iframe", RIGHT, "authorized", None),
        ("4000000000002008", "redirect", WRONG, "failed", Some("authentication_failed")),
        ("4000000000002008", "redirect", CANCELS, "failed", Some("authentication_failed")),
        ("4000000000001208", "redirect", RIGHT, "failed", Some("authentication_failed")),
        ("5200000000002003", "redirect", RIGHT, "authorized", None),
    ];
    for (pan, display, who, status, code) in payments {
        check(&h, "payroc", pan, display, who, status, code).await;
    }
}

#[tokio::test]
async fn dlocal_through_its_redirect_page() {
    let h = harness().await;
    let view = check(
        &h,
        "dlocal",
        "4000000000001000",
        "iframe",
        RIGHT,
        "authorized",
        None,
    )
    .await;
    assert_eq!(view["result"]["eci"], "05");
    #[rustfmt::skip]
    let payments = [
        ("4000000000002008", "redirect", RIGHT, "authorized", None),
        ("4000000000002008", "iframe", RIGHT, "authorized", None),
        ("4000000000003006", "redirect", RIGHT, "authorized", None),
        ("4000000000002008", "redirect", WRONG, "failed", Some("authentication_failed")),
        ("4000000000002008", "redirect", CANCELS, "failed", Some("authentication_failed")),
        ("4000000000001406", "iframe", RIGHT, "failed", Some("authentication_failed")),
    ];
    for (pan, display, who, status, code) in payments {
        check(&h, "dlocal", pan, display, who, status, code).await;
    }
}

#[tokio::test]
async fn paysafe_with_method_challenge_and_3ds1() {
    let h = harness().await;
    let view = check(
        &h,
        "paysafe",
        "4000000000001000",
        "iframe",
        RIGHT,
        "authorized",
        None,
    )
    .await;
    assert_eq!(view["result"]["threeDsVersion"], "2.2.0");
    let view = check(
        &h,
        "paysafe",
        "4000000000002008",
        "iframe",
        RIGHT,
        "authorized",
        None,
    )
    .await;
    assert_eq!(view["result"]["transStatus"], "Y");
    #[rustfmt::skip]
    let payments = [
        ("4000000000002008", "redirect", RIGHT, "authorized", None),
        ("4000000000002107", "iframe", RIGHT, "authorized", None),
        ("4000000000002008", "iframe", WRONG, "failed", Some("authentication_failed")),
        ("4000000000002008", "iframe", CANCELS, "cancelled", Some("challenge_cancelled")),
    ];
    for (pan, display, who, status, code) in payments {
        check(&h, "paysafe", pan, display, who, status, code).await;
    }
    let view = check(
        &h,
        "paysafe",
        "4000000000003006",
        "iframe",
        RIGHT,
        "authorized",
        None,
    )
    .await;
    assert_eq!(view["result"]["threeDsVersion"], "1.0.2");
    #[rustfmt::skip]
    let payments = [
        ("4000000000004004", "declined", Some("declined")),
        ("4000000000001208", "failed", Some("authentication_failed")),
    ];
    for (pan, status, code) in payments {
        check(&h, "paysafe", pan, "iframe", RIGHT, status, code).await;
    }
}

#[tokio::test]
async fn bambora_through_its_302_and_continue() {
    let h = harness().await;
    #[rustfmt::skip]
    let payments = [
        ("4012000033330026", "iframe", RIGHT, "authorized", None),
        ("4000000000001000", "iframe", RIGHT, "authorized", None),
        ("4012007153923001", "iframe", RIGHT, "authorized", None),
        ("4000000000002008", "redirect", RIGHT, "authorized", None),
        ("5200000000002003", "iframe", RIGHT, "authorized", None),
        ("4000000000003006", "iframe", RIGHT, "authorized", None),
        ("4000000000002008", "iframe", WRONG, "failed", Some("authentication_failed")),
        ("4000000000002008", "iframe", CANCELS, "failed", Some("authentication_failed")),
        ("4000000000004004", "iframe", RIGHT, "declined", Some("declined")),
    ];
    for (pan, display, who, status, code) in payments {
        check(&h, "bambora", pan, display, who, status, code).await;
    }
}

#[tokio::test]
async fn a_challenge_view_names_the_form_and_window_and_the_method_step_waits_for_the_page() {
    let h = harness().await;
    let (status, view) = h
        .start(&start_body("paysafe", "4000000000002008", "iframe"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["state"], "pending");
    assert_eq!(view["next"]["type"], "challenge", "{view}");
    // The ACS's size when it names one, else the page's.
    let size = view["next"]["windowSize"].as_str().unwrap_or_default();
    assert!(["01", "02", "03", "04", "05"].contains(&size), "{view}");
    assert_eq!(view["next"]["form"]["method"], "POST");
    assert!(view["result"].is_null());
    let id = view["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    // /method is only for the Method step.
    let (status, error) = h.method(id, "Y").await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["error"]["code"], "wrong_state");

    let (status, view) = h
        .start(&start_body("paysafe", "4000000000002107", "iframe"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["next"]["type"], "method", "{view}");
    assert_eq!(view["next"]["timeoutMs"], 10000);
    // The ACS's notification posted to the return route answers the completion page
    // and does not advance the payment.
    let id = view["id"].as_str().unwrap();
    let page = support::browser()
        .post(format!("{}/v1/returns/{id}", h.url))
        .form(&[("threeDSMethodData", "eyJ4IjoxfQ")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("data-session-id"));
    assert_eq!(h.view(id).await.1["next"]["type"], "method");
    let (status, view) = h.method(id, "N").await;
    assert_eq!(status, 200);
    assert_eq!(view["next"]["type"], "challenge", "{view}");
}

#[tokio::test]
async fn the_merchants_own_authentication_skips_the_browser() {
    let h = harness().await;
    for provider in ["payroc", "dlocal"] {
        let mut body = start_body(provider, "4000000000001000", "iframe");
        body["externalAuthentication"] = serde_json::json!({
            "version": "2.2.0", "transStatus": "Y", "eci": "05",
            "cavv": "AAABBEg0VhI0VniQEjRWAAAAAAA=",
            "dsTransactionId": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"
        });
        let (status, view) = h.start(&body).await;
        assert_eq!(status, 200);
        assert_eq!(
            view["state"], "final",
            "{provider}: no browser step: {view}"
        );
        assert_eq!(view["result"]["status"], "authorized", "{provider}: {view}");
        assert_eq!(view["result"]["threeDsVersion"], "2.2.0");
        assert_eq!(h.ledger(provider).len(), 1, "{provider}");
    }
    // An external N never reaches the provider.
    let mut body = start_body("payroc", "4000000000001000", "iframe");
    body["externalAuthentication"] = serde_json::json!({
        "version": "2.2.0", "transStatus": "N", "eci": "07", "cavv": "AAABBEg0VhI0VniQEjRWAAAAAAA="
    });
    let (_, view) = h.start(&body).await;
    assert_eq!(view["result"]["status"], "failed", "{view}");
    assert_eq!(view["result"]["error"]["code"], "authentication_failed");
    assert_eq!(h.ledger("payroc").len(), 1);
}
