//! A return the browser loads as the whole page (Fetch Metadata `Sec-Fetch-Dest: document`)
//! goes back to the checkout page with a 303 even in iframe display: the module left the
//! page for a provider's page or an ACS that refuses framing, and a completion page there
//! would have no parent to tell. Found by the demo's end-to-end suite (Payroc and dLocal in
//! iframe mode in Chromium); a client that sends no Fetch Metadata keeps the completion page.

use crate::support;

use support::backend::{harness, next_form, start_body, Cardholder};
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
    assert_eq!(whole_page.status(), 303);
    assert_eq!(
        whole_page
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok()),
        body["returnUrl"].as_str(),
        "back to the checkout page, where resume() finishes"
    );
    let id = view["id"].as_str().expect("id");
    let (_, after) = h.view(id).await;
    assert_eq!(after["result"]["status"], "authorized", "{after}");

    // The same return in a frame (or from a client without Fetch Metadata): the
    // completion page, and nothing changes.
    for dest in [Some("iframe"), None] {
        let mut request = client.get(&receipt.action).query(&receipt.fields);
        if let Some(dest) = dest {
            request = request.header("Sec-Fetch-Dest", dest);
        }
        let framed = request.send().await.expect("receipt again");
        assert_eq!(framed.status(), 200, "{dest:?}");
        let page = framed.text().await.expect("page");
        assert!(
            page.contains(&format!("data-session-id=\"{id}\"")),
            "{page}"
        );
    }
    assert_eq!(
        h.view(id).await.1,
        after,
        "a repeated return changes nothing"
    );
    assert_eq!(h.ledger("payroc").len(), 1, "one charge");
}
