//! Where the card number goes, over real HTTP against the sandbox: never into a log line,
//! an answer or the store, and out only to the provider's token endpoint; and the browser
//! details the provider gets are the request's own (its Accept header and client IP), not
//! what the page claims.

use crate::support;

use serde_json::{json, Value};
use support::backend::{
    create_at, harness, logs, pay, split_start, start_body, Cardholder, CHECKOUT,
};
use support::browser;
use support::recording::Recording;
use threeds_bridge::store::SessionStore;

const RIGHT: Cardholder = Cardholder::Types("1234");

#[tokio::test]
async fn no_full_card_number_in_logs_or_answers() {
    let h = harness().await;
    let pans = ["4000000000001000", "4000000000002008", "5200000000001005"];
    let mut answers = String::new();
    for provider in ["paysafe", "dlocal", "payroc"] {
        for pan in pans {
            let (view, landings) = pay(&h, &start_body(provider, pan, "iframe"), RIGHT).await;
            answers.push_str(&view.to_string());
            for landing in landings {
                answers.push_str(&landing.body);
            }
        }
    }
    // A number sent as a JSON number is refused without echoing it.
    let mut body = start_body("paysafe", "4000000000001000", "iframe");
    body["paymentMethod"]["number"] = json!(4000000000001000u64);
    let (status, error) = h.start(&body).await;
    assert_eq!(status, 400);
    answers.push_str(&error.to_string());
    let logs = logs();
    assert!(logs.contains("payment final"), "the backend logs: {logs}");
    for pan in pans {
        assert!(!logs.contains(pan), "{pan} in the logs");
        assert!(!answers.contains(pan), "{pan} in a response");
    }
    assert!(!logs.contains("\"cvv\""));
}

#[tokio::test]
async fn the_accept_header_and_ip_are_the_requests_own_and_no_pan_is_stored() {
    use threeds_bridge::backend::native::{self, ReqwestTransport, SystemEnv};
    let h = harness().await;
    // The real transport, keeping what the adapters asked to send.
    let transport = Recording::new(ReqwestTransport::new(&h.policy).unwrap());
    let backend = threeds_bridge::backend::Backend::new(
        h.config(),
        h.store.clone(),
        transport.clone(),
        SystemEnv,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = native::spawn(listener, std::sync::Arc::new(backend)).unwrap();
    let body = start_body("paysafe", "4000000000001000", "iframe");
    assert_eq!(body["browser"]["acceptHeader"], "forged/by-the-page");
    let (create, mut confirm) = split_start(&body);
    let (status, created) = create_at(&running.url, &create).await;
    assert_eq!(status, 201, "{created}");
    confirm["clientSecret"] = created["clientSecret"].clone();
    let response = browser()
        .post(format!(
            "{}/v1/payments/{}/confirm",
            running.url,
            created["id"].as_str().unwrap()
        ))
        .header("Origin", CHECKOUT)
        .header("Accept", "text/html,application/xhtml+xml;q=0.9")
        .header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) backend-test")
        .json(&confirm)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["result"]["status"], "authorized", "{view}");
    let sent = transport.sent();
    let (_, authentication) = sent
        .iter()
        .find(|(purpose, _)| *purpose == "paysafe.authentication")
        .expect("an authentication was sent");
    let authentication: Value = serde_json::from_str(authentication).unwrap();
    let details = &authentication["browserDetails"];
    assert_eq!(
        details["acceptHeader"], "text/html,application/xhtml+xml;q=0.9",
        "{details}"
    );
    assert_eq!(details["customerIp"], "127.0.0.1", "{details}");
    // The card went to the token endpoint only, and the store never saw it.
    let with_pan: Vec<_> = sent
        .iter()
        .filter(|(_, b)| b.contains("4000000000001000"))
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(with_pan, vec!["paysafe.token"]);
    let stored = h
        .store
        .load(view["id"].as_str().unwrap())
        .await
        .unwrap()
        .expect("stored");
    let stored = serde_json::to_string(&stored).unwrap();
    assert!(
        !stored.contains("4000000000001000") && !stored.contains("\"123\""),
        "{stored}"
    );
    assert!(stored.contains("\"last_four\":\"1000\""), "{stored}");
    running.shutdown().await;
}
