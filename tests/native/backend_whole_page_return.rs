//! A return the browser loads as the whole page (Fetch Metadata `Sec-Fetch-Dest: document`)
//! goes back to the checkout page with a 303 even in iframe display: the module left the
//! page for a provider's page or an ACS that refuses framing, and a completion page there
//! would have no parent to tell. Found by the demo's end-to-end suite (Payroc and dLocal in
//! iframe mode in Chromium). A client that sends no Fetch Metadata keeps the completion page
//! after an ACS's challenge, but not after a provider's own page, always the whole page
//! (Payroc's and dLocal's returns are answered 303 whatever the browser says).
//! Hence a provider whose step is a page of its own needs a returnUrl in every display.

use crate::support;

use serde_json::json;
use support::backend::{code, harness, next_form, split_start, start_body, Cardholder, CHECKOUT};
use support::browser;
use support::cardholder::until_backend;

#[tokio::test]
async fn a_whole_page_return_in_iframe_display_goes_back_to_the_checkout() {
    let h = harness().await;
    let body = start_body("payroc", "4000000000001000", "iframe");
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    let receipt = until_backend(&h.url, next_form(&view), Cardholder::Types("1234")).await;
    let client = browser();

    let whole_page = client
        .get(&receipt.action)
        .query(&receipt.fields)
        .header("Sec-Fetch-Dest", "document")
        .send()
        .await
        .expect("receipt");
    assert_back_to_the_checkout(&whole_page, &body);
    let id = view["id"].as_str().expect("id");
    let (_, after) = h.view(id).await;
    assert_eq!(after["result"]["status"], "authorized", "{after}");

    // The same return again, whatever the browser says of it (Payroc's page is never in
    // a frame): the same answer, and nothing changes.
    for dest in [Some("iframe"), None] {
        let mut request = client.get(&receipt.action).query(&receipt.fields);
        if let Some(dest) = dest {
            request = request.header("Sec-Fetch-Dest", dest);
        }
        let again = request.send().await.expect("receipt again");
        assert_back_to_the_checkout(&again, &body);
    }
    assert_eq!(
        h.view(id).await.1,
        after,
        "a repeated return changes nothing"
    );
    assert_eq!(h.ledger("payroc").len(), 1, "one charge");
}

fn assert_back_to_the_checkout(answer: &reqwest::Response, body: &serde_json::Value) {
    assert_eq!(answer.status(), 303);
    assert_eq!(
        answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok()),
        body["returnUrl"].as_str(),
        "back to the checkout page, where resume() finishes"
    );
}

/// A provider's own page (Payroc's MPI, dLocal's 3-D Secure page) is a whole-page step in
/// any display, so its return is one too: a browser that sends no Fetch Metadata (Safari
/// before 16.4) still goes back to the checkout page, not to a completion page with no
/// parent, where the shopper was stranded.
#[tokio::test]
async fn a_return_from_a_provider_s_page_without_fetch_metadata_goes_back_too() {
    let h = harness().await;
    for provider in ["payroc", "dlocal"] {
        let body = start_body(provider, "4000000000002008", "iframe");
        let (status, view) = h.start(&body).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["next"]["type"], "redirect", "{provider}: {view}");
        let back = until_backend(&h.url, next_form(&view), Cardholder::Types("1234")).await;
        let answer = back.submit(&browser(), &back.action).await;
        assert_back_to_the_checkout(&answer, &body);
        let id = view["id"].as_str().expect("id");
        assert_eq!(h.final_view(id).await["result"]["status"], "authorized");
    }
}

/// An ACS's challenge in iframe display is in the frame: its return without Fetch Metadata
/// gets the completion page, which tells the checkout page; as the whole page (an ACS that
/// refused framing), a 303 back.
#[tokio::test]
async fn an_acs_return_without_fetch_metadata_keeps_the_completion_page() {
    let h = harness().await;
    let body = start_body("paysafe", "4000000000002008", "iframe");
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["next"]["type"], "challenge", "{view}");
    let back = until_backend(&h.url, next_form(&view), Cardholder::Types("1234")).await;
    let framed = back.submit(&browser(), &back.action).await;
    assert_eq!(framed.status(), 200);
    let id = view["id"].as_str().expect("id");
    let page = framed.text().await.expect("page");
    assert!(
        page.contains(&format!("data-session-id=\"{id}\"")),
        "{page}"
    );
    let again = match back.method.as_str() {
        "get" => browser().get(&back.action).query(&back.fields),
        _ => browser().post(&back.action).form(&back.fields),
    };
    let whole_page = again
        .header("Sec-Fetch-Dest", "document")
        .send()
        .await
        .expect("the return again");
    assert_back_to_the_checkout(&whole_page, &body);
}

/// Payroc's MPI and dLocal's 3-D Secure page are pages of their own whatever the display:
/// confirmed in iframe display with no returnUrl (a direct API client; the module always
/// sends one), the browser would come back to a completion page with no checkout page to
/// tell, stranded while the payment may be authorized. Refused before anything is sent.
#[tokio::test]
async fn a_provider_with_a_page_of_its_own_needs_a_return_url_in_iframe_display() {
    let h = harness().await;
    for (provider, needs) in [("payroc", true), ("dlocal", true), ("paysafe", false)] {
        let mut body = start_body(provider, "4000000000001000", "iframe");
        body.as_object_mut().unwrap().remove("returnUrl");
        let (create, mut confirm) = split_start(&body);
        let (status, created) = h.create(&create).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap();
        let secret = created["clientSecret"].as_str().unwrap();
        let answer = h.confirm(id, secret, &confirm).await;
        if !needs {
            assert_eq!(answer.0, 200, "{provider}: {}", answer.1);
            continue;
        }
        assert_eq!(code(&answer), (400, "invalid_return_url"), "{provider}");
        let (_, view) = h.view(id).await;
        assert_eq!(
            view["status"], "requires_confirmation",
            "{provider}: {view}"
        );
        assert!(h.ledger(provider).is_empty(), "{provider}: nothing sent");
        confirm["returnUrl"] = json!(format!("{CHECKOUT}/checkout"));
        let (status, view) = h.confirm(id, secret, &confirm).await;
        assert_eq!(status, 200, "{provider}: {view}");
    }
    // A merchant that authenticated the cardholder itself skips Payroc's MPI: no page of
    // Payroc's, no returnUrl needed.
    let mut body = start_body("payroc", "4000000000001000", "iframe");
    body.as_object_mut().unwrap().remove("returnUrl");
    body["externalAuthentication"] = json!({"version": "2.2.0", "transStatus": "Y",
        "eci": "05", "cavv": "AAABBBCCCDDDEEEFFF",
        "dsTransactionId": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"});
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["result"]["status"], "authorized", "{view}");
}
