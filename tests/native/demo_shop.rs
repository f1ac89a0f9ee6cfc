//! The demo's merchant half (`src/demo/shop.rs`) and its "what happened" panel
//! (`src/demo/exchanges.rs`), over HTTP against `demo::start` on free ports: the shop
//! creates the payment with the demo's merchant key and hands the page only the id and
//! the client secret; the panel shows a payment's calls only to that payment's secret.
#![cfg(feature = "native")]

use serde_json::{json, Value};
use threeds_bridge::demo::{self, DemoOptions, RunningDemo, DEMO_MERCHANT_KEY};

async fn start() -> (RunningDemo, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let mut options = DemoOptions::new(env!("CARGO_MANIFEST_DIR").into());
    options.port = 0;
    options.sandbox_port = 0;
    options.database = folder.path().join("sessions.sqlite3");
    let running = demo::start(options).await.expect("the demo starts");
    (running, folder)
}

async fn post(url: String, body: &Value) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .expect("an answer");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// `POST /shop/checkout` with a cart, as the demo page sends it.
async fn checkout(demo: &RunningDemo, amount: u64) -> (u16, Value) {
    let cart = json!({ "provider": "paysafe", "amount": amount, "currency": "USD" });
    post(format!("{}/shop/checkout", demo.page_url), &cart).await
}

/// `GET /demo/exchanges`, with `X-Client-Secret` when given.
async fn exchanges(demo: &RunningDemo, secret: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{}/demo/exchanges", demo.page_url));
    if let Some(secret) = secret {
        request = request.header("X-Client-Secret", secret);
    }
    let answer = request.send().await.expect("an answer");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// The page's confirm of a frictionless card, from the demo page's origin.
async fn confirm(demo: &RunningDemo, id: &str, secret: &str) -> Value {
    let body = json!({
        "clientSecret": secret,
        "paymentMethod": { "type": "card", "number": "4000000000001000", "expiryMonth": 12,
            "expiryYear": 2030, "cvv": "123", "holderName": "Jo Doe" },
        "browser": { "javaEnabled": false, "javascriptEnabled": true, "language": "en-US",
            "colorDepth": 24, "screenHeight": 900, "screenWidth": 1400, "timeZone": 0,
            "userAgent": "demo-shop-test" },
        "display": "iframe",
        "checkoutOrigin": demo.page_url,
    });
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/payments/{id}/confirm", demo.page_url))
        .header("Origin", &demo.page_url)
        .json(&body)
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status().as_u16(), 200, "the confirm is taken");
    answer.json().await.expect("a page view")
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

#[tokio::test]
async fn the_shop_creates_the_payment_and_hands_the_page_only_its_client_secret() {
    let (demo, _folder) = start().await;
    let (status, answer) = checkout(&demo, 1234).await;
    assert_eq!(status, 200, "{answer}");
    let members: Vec<&String> = answer.as_object().expect("an object").keys().collect();
    assert_eq!(
        members,
        ["clientSecret", "id"],
        "nothing else reaches the page"
    );
    let (id, secret) = (text(&answer, "id"), text(&answer, "clientSecret"));
    assert!(secret.starts_with(&format!("{id}_secret_")), "{secret}");
    assert!(!answer.to_string().contains(DEMO_MERCHANT_KEY));

    // What the shop created, as the merchant's server reads it with its key.
    let created: Value = reqwest::Client::new()
        .get(format!("{}/v1/payments/{id}", demo.page_url))
        .bearer_auth(DEMO_MERCHANT_KEY)
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("the merchant view");
    assert_eq!(created["amount"], 1234);
    assert_eq!(created["currency"], "USD");
    assert_eq!(created["provider"], "paysafe");
    assert_eq!(created["status"], "requires_confirmation");
    assert!(text(&created, "orderId").starts_with("demo-"), "{created}");

    // The page cannot pick the order, and the backend's refusals come back as it said them.
    let chosen =
        json!({ "provider": "paysafe", "amount": 1, "currency": "USD", "orderId": "mine" });
    let (status, refused) = post(format!("{}/shop/checkout", demo.page_url), &chosen).await;
    assert_eq!(
        (status, text(&refused["error"], "code")),
        (400, "invalid_cart")
    );
    let (status, refused) = checkout(&demo, 0).await;
    assert_eq!(
        (status, text(&refused["error"], "code")),
        (400, "invalid_amount")
    );
    demo.shutdown().await;
}

#[tokio::test]
async fn the_panel_shows_a_payments_calls_only_to_that_payments_client_secret() {
    let (demo, _folder) = start().await;
    let (_, first) = checkout(&demo, 1000).await;
    let (_, second) = checkout(&demo, 1000).await;
    let (id, secret) = (text(&first, "id"), text(&first, "clientSecret"));
    let other = text(&second, "clientSecret");
    let view = confirm(&demo, id, secret).await;
    assert_eq!(view["state"], "final", "{view}");

    let (status, own) = exchanges(&demo, Some(secret)).await;
    assert_eq!(status, 200);
    let calls = own["exchanges"].as_array().expect("a list");
    assert!(
        !calls.is_empty(),
        "the confirm's calls to the sandbox are listed"
    );
    assert!(
        calls
            .iter()
            .all(|c| text(c, "purpose").starts_with("paysafe")),
        "{own}"
    );
    assert!(
        !own.to_string().contains("4000000000001000"),
        "card numbers masked"
    );

    let (status, untouched) = exchanges(&demo, Some(other)).await;
    assert_eq!(status, 200);
    assert_eq!(
        untouched["exchanges"],
        json!([]),
        "another payment's secret: its own (no) calls"
    );

    let (_, other_random) = other.split_once("_secret_").expect("a secret");
    let mixed = format!("{id}_secret_{other_random}");
    for (presented, code) in [
        (None, "missing_client_secret"),
        (Some(id), "invalid_client_secret"),
        (Some(mixed.as_str()), "invalid_client_secret"),
        (
            Some("ffffffffffffffffffffffffffffffff_secret_00000000000000000000000000000000"),
            "invalid_client_secret",
        ),
    ] {
        let (status, refused) = exchanges(&demo, presented).await;
        assert_eq!(status, 401, "{presented:?}");
        assert_eq!(text(&refused["error"], "code"), code, "{presented:?}");
        assert!(refused.get("exchanges").is_none());
    }
    demo.shutdown().await;
}

/// The demo's backend POSTs the payment's event to the demo shop's receiver, which
/// verifies it; the page lists it with that payment's client secret, and only with it.
#[tokio::test]
async fn the_shop_receives_the_payments_signed_webhook() {
    let (demo, _folder) = start().await;
    let (status, created) = checkout(&demo, 1000).await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().expect("id");
    let secret = created["clientSecret"].as_str().expect("secret");
    let view = confirm(&demo, id, secret).await;
    assert_eq!(view["state"], "final", "{view}");

    let list = |secret: Option<&str>| {
        let mut request = reqwest::Client::new().get(format!("{}/demo/webhooks", demo.page_url));
        if let Some(secret) = secret {
            request = request.header("X-Client-Secret", secret);
        }
        request.send()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let deliveries = loop {
        let answer: Value = list(Some(secret)).await.unwrap().json().await.unwrap();
        let deliveries = answer["deliveries"].as_array().cloned().unwrap_or_default();
        if !deliveries.is_empty() {
            break deliveries;
        }
        assert!(std::time::Instant::now() < deadline, "no webhook arrived");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let delivery = &deliveries[0];
    assert_eq!(delivery["type"], "payment.authorized");
    assert_eq!(delivery["paymentId"], id);
    assert_eq!(delivery["verified"], true);
    assert_eq!(delivery["duplicate"], false);
    assert!(delivery["eventId"].as_str().unwrap().starts_with("evt_"));

    assert_eq!(list(None).await.unwrap().status().as_u16(), 401);
    let forged = format!("{id}_secret_{}", "0".repeat(32));
    assert_eq!(list(Some(&forged)).await.unwrap().status().as_u16(), 401);

    // A delivery signed with another secret is refused and shown as such.
    let refused = reqwest::Client::new()
        .post(format!("{}/demo/webhooks", demo.page_url))
        .header("Webhook-Id", "evt_forged")
        .header("Webhook-Timestamp", "1")
        .header("Webhook-Signature", "v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
}
