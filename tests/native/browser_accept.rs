//! EMV's `browserAcceptHeader` is the Accept header the shopper's browser sends for a
//! page. The page's confirm is a `fetch`, whose Accept is `*/*`; the merchant's server
//! gives the real one at create (`browserAcceptHeader`, the header of the checkout page's
//! request), and that is what the provider gets. Before, every authentication carried the
//! fetch's `*/*`.

use crate::support;

use std::sync::Arc;

use serde_json::{json, Value};
use support::backend::{harness, split_start, start_body};
use support::recording::Recording;
use threeds_bridge::backend::native::{self, ReqwestTransport, SystemEnv};
use threeds_bridge::backend::Backend;
use threeds_bridge::store::memory::MemoryStore;

/// What Firefox sends for a page; the harness's confirm sends another.
const PAGE_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

#[tokio::test]
async fn the_provider_gets_the_accept_header_the_merchant_gave_not_the_fetch_s() {
    // The harness's backend is replaced, on its address, by one whose transport records
    // every request it sends.
    let mut h = harness().await;
    h.stop().await;
    let transport = Recording::new(ReqwestTransport::new(&h.policy).expect("transport"));
    let backend = Backend::new(
        h.config(),
        Arc::new(MemoryStore::default()),
        transport.clone(),
        SystemEnv,
    );
    let listener = tokio::net::TcpListener::bind(h.addr).await.expect("bind");
    let running = native::spawn(listener, Arc::new(backend)).expect("serve");

    let accept_sent = |given: Option<&str>| {
        let (mut create, confirm) =
            split_start(&start_body("paysafe", "4000000000001000", "iframe"));
        if let Some(given) = given {
            create["browserAcceptHeader"] = json!(given);
        }
        let h = &h;
        let transport = transport.clone();
        async move {
            let before = transport.sent().len();
            let (status, created) = h.create(&create).await;
            assert_eq!(status, 201, "{created}");
            let id = created["id"].as_str().expect("id");
            let secret = created["clientSecret"].as_str().expect("secret");
            let (status, paid) = h.confirm(id, secret, &confirm).await;
            assert_eq!(
                (status, &paid["status"]),
                (200, &json!("authorized")),
                "{paid}"
            );
            let sent = transport.sent();
            let (_, body) = sent[before..]
                .iter()
                .find(|(purpose, _)| *purpose == "paysafe.authentication")
                .expect("the authentication was sent");
            let body: Value = serde_json::from_str(body).expect("json");
            body["browserDetails"]["acceptHeader"]
                .as_str()
                .expect("acceptHeader")
                .to_owned()
        }
    };
    assert_eq!(accept_sent(Some(PAGE_ACCEPT)).await, PAGE_ACCEPT);
    // Without it (or blank), the confirm's own, as the harness's client sends it.
    let confirms = "text/html,application/xhtml+xml";
    assert_eq!(accept_sent(None).await, confirms);
    assert_eq!(accept_sent(Some("  ")).await, confirms);

    // The page may not set it, and a malformed one is refused at create.
    let (create, mut confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let (_, created) = h.create(&create).await;
    confirm["browserAcceptHeader"] = json!(PAGE_ACCEPT);
    let answer = h
        .confirm(
            created["id"].as_str().unwrap(),
            created["clientSecret"].as_str().unwrap(),
            &confirm,
        )
        .await;
    assert_eq!(support::backend::code(&answer), (400, "field_not_allowed"));
    let (mut create, _) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    create["browserAcceptHeader"] = json!("text/html\r\nX-Injected: 1");
    let answer = h.create(&create).await;
    assert_eq!(
        support::backend::code(&answer),
        (400, "invalid_browser_details")
    );
    running.shutdown().await;
}
