//! Two `threeds-bridge serve` processes on one PostgreSQL schema (the test server of
//! scripts/pg-test.sh) share every payment: a dLocal payment started on A finishes
//! whichever instance the browser's return and dLocal's notification reach, either
//! order, and reads the same on both, charged once. Both have A's public URL (return URLs
//! are made from it, as behind a load balancer); the test sends the browser's return to B
//! by B's own address instead. dLocal's own notifications go nowhere here
//! (`notification_url` is a closed port), so only the test's ones reach the backend.

use crate::support;

use std::process::Child;

use serde_json::{json, Value};
use support::backend::{
    dlocal_notification, next_form, start_at, start_body, Cardholder, CHECKOUT, MERCHANT_KEY,
};
use support::cardholder::until_backend;
use support::serve::{free_port, sandbox_providers, spawn_serve};
use support::PageForm;
use threeds_bridge::provider::dlocal;

const CHALLENGE: &str = "4000000000002008";

/// What both instances share: A's public URL, the database schema, the sandbox.
struct Shared {
    dir: tempfile::TempDir,
    public_url: String,
    schema: String,
    sandbox: String,
}

impl Shared {
    /// `serve` as instance `name`, listening on `port` (0: any); its process and address.
    fn start(&self, name: &str, port: u16) -> (Child, String) {
        let mut providers = sandbox_providers(&self.sandbox, &["dlocal"]);
        providers["dlocal"]["notification_url"] = json!("http://127.0.0.1:9/v1/webhooks/dlocal");
        let text = json!({
            "listen": format!("127.0.0.1:{port}"),
            "public_url": self.public_url,
            "checkout_origins": [CHECKOUT],
            "merchant_api_keys": [MERCHANT_KEY],
            "store": {
                "kind": "postgres",
                "url": {"env": "TB_TEST_DATABASE_URL"},
                "schema": self.schema,
                "pool_size": 4
            },
            "providers": providers,
        });
        let path = self.dir.path().join(format!("{name}.json"));
        std::fs::write(&path, text.to_string()).expect("write config");
        spawn_serve(&path)
    }
}

/// The payment as the checkout page reads it from `url`.
async fn view_at(url: &str, id: &str, secret: &str) -> Value {
    support::browser()
        .get(format!("{url}/v1/payments/{id}"))
        .header("X-Client-Secret", secret)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("a view")
}

/// dLocal's notification of the payment `payment_id` for `order_id`, sent to `url`.
async fn notify(url: &str, payment_id: &str, order_id: &str) -> u16 {
    let body = json!({"id": payment_id, "status": "PAID", "order_id": order_id}).to_string();
    let secret = dlocal::Config::sandbox("").secret_key;
    dlocal_notification(url, &body, support::flow::now_ms(), &secret)
        .send()
        .await
        .expect("notification")
        .status()
        .as_u16()
}

/// A started challenge payment on `a`, the cardholder through the challenge: the
/// payment's id, client secret and order id, and the browser's return, not yet sent.
async fn challenged_on(a: &str) -> (String, String, String, PageForm) {
    let body = start_body("dlocal", CHALLENGE, "iframe");
    let order_id = body["orderId"].as_str().expect("orderId").to_owned();
    let (status, view, secret) = start_at(a, &body).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["state"], "pending", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    let back = until_backend(a, next_form(&view), Cardholder::Types("1234")).await;
    assert!(
        back.action.starts_with(&format!("{a}/v1/returns/")),
        "{back:?}"
    );
    (id, secret.expect("a client secret"), order_id, back)
}

/// The browser's return, sent to `b` instead of the instance its URL names.
async fn return_through(b: &str, a: &str, back: &PageForm) -> u16 {
    let to_b = PageForm {
        action: back.action.replacen(a, b, 1),
        ..back.clone()
    };
    to_b.submit(&support::browser(), b).await.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_share_every_payment() {
    let sandbox = support::sandbox().await;
    let port = free_port();
    let shared = Shared {
        dir: tempfile::tempdir().expect("temp dir"),
        public_url: format!("http://127.0.0.1:{port}"),
        schema: support::store::fresh_schema(),
        sandbox: sandbox.url.clone(),
    };
    let (mut first, a) = shared.start("a", port);
    let (mut second, b) = shared.start("b", 0);
    assert_eq!(a, shared.public_url);
    assert_ne!(a, b);
    let charges_of = |order_id: &str| {
        sandbox
            .sandbox
            .ledger
            .entries()
            .into_iter()
            .filter(|entry| entry.order_id == order_id)
            .collect::<Vec<_>>()
    };

    // 1. Started on A, the browser comes back through B, then dLocal notifies A.
    let (id, secret, order_id, back) = challenged_on(&a).await;
    assert_eq!(
        return_through(&b, &a, &back).await,
        303,
        "B sends the browser back to the checkout (dLocal's page is the whole page)"
    );
    let charges = charges_of(&order_id);
    assert_eq!(charges.len(), 1, "one charge");
    assert_eq!(
        notify(&a, &charges[0].provider_payment_id, &order_id).await,
        200
    );
    let on_b = view_at(&b, &id, &secret).await;
    assert_eq!(on_b["state"], "final", "{on_b}");
    assert_eq!(on_b["result"]["status"], "authorized", "{on_b}");
    assert_eq!(
        on_b["result"]["providerPaymentId"].as_str(),
        Some(charges[0].provider_payment_id.as_str())
    );
    assert_eq!(
        view_at(&a, &id, &secret).await,
        on_b,
        "A reads what B wrote"
    );
    assert_eq!(charges_of(&order_id).len(), 1, "still one charge");

    // 2. Started on A, dLocal's notification reaches A first, then the browser comes
    // back through B, which finds the payment already final.
    let (id, secret, order_id, back) = challenged_on(&a).await;
    let charges = charges_of(&order_id);
    assert_eq!(charges.len(), 1, "the challenge charged once");
    assert_eq!(
        notify(&a, &charges[0].provider_payment_id, &order_id).await,
        200
    );
    let on_a = view_at(&a, &id, &secret).await;
    assert_eq!(
        on_a["result"]["status"], "authorized",
        "A settled it: {on_a}"
    );
    assert_eq!(return_through(&b, &a, &back).await, 303);
    let on_b = view_at(&b, &id, &secret).await;
    assert_eq!(on_b, view_at(&a, &id, &secret).await);
    assert_eq!(on_b["result"]["status"], "authorized", "{on_b}");
    assert_eq!(charges_of(&order_id).len(), 1, "still one charge");

    assert_eq!(
        sandbox.sandbox.ledger.entries().len(),
        2,
        "two payments, two charges"
    );
    for child in [&mut first, &mut second] {
        let _ = child.kill();
        let _ = child.wait();
    }
}
