//! The dLocal emulator over real HTTP: signatures are computed here with `hmac` directly,
//! independently of the sandbox's own signing code. Here the credentials, frictionless
//! cards, retrieval, idempotency and validation; the challenge and the merchant's MPI in
//! `challenge.rs`, notifications in `notifications.rs`, the order lookup and the cancel in
//! `orders.rs`, captures and refunds in `lifecycle.rs`.

use crate::support;

use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use support::{browser, form, sandbox, PageForm};
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::sandbox::RunningSandbox;

mod challenge;
mod lifecycle;
mod notifications;
mod orders;

const LOGIN: &str = "sak223k2wdksdl2";

const TRANS_KEY: &str = "fm12O7G9";

const SECRET: &str = "sandbox-dlocal-secret";

const CALLBACK: &str = "https://merchant.example/dlocal/callback";

fn hmac_hex(message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn x_date() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc().format(&format).unwrap()
}

/// A request signed as the dLocal docs say, with overridable credentials.
struct Signer {
    login: &'static str,
    trans_key: &'static str,
    version: &'static str,
    tamper: bool,
}

const GOOD: Signer = Signer {
    login: LOGIN,
    trans_key: TRANS_KEY,
    version: "2.1",
    tamper: false,
};

impl Signer {
    fn request(&self, method: reqwest::Method, url: &str, body: &str) -> reqwest::RequestBuilder {
        let date = x_date();
        let mut signature = hmac_hex(format!("{}{date}{body}", self.login).as_bytes());
        if self.tamper {
            signature = hmac_hex(format!("{}{date}{body} ", self.login).as_bytes());
        }
        reqwest::Client::new()
            .request(method, url)
            .header("X-Date", date)
            .header("X-Login", self.login)
            .header("X-Trans-Key", self.trans_key)
            .header("X-Version", self.version)
            .header("Content-Type", "application/json")
            .header("User-Agent", "MerchantTest / 1.0")
            .header(
                "Authorization",
                format!("V2-HMAC-SHA256, Signature: {signature}"),
            )
            .body(body.to_owned())
    }
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, value)
}

async fn create(sb: &RunningSandbox, body: &Value) -> (StatusCode, Value) {
    let url = format!("{}/dlocal/secure_payments", sb.url);
    send(GOOD.request(reqwest::Method::POST, &url, &body.to_string())).await
}

async fn get(sb: &RunningSandbox, path: &str) -> (StatusCode, Value) {
    let url = format!("{}/dlocal{path}", sb.url);
    send(GOOD.request(reqwest::Method::GET, &url, "")).await
}

fn order_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The documented example body, with this card.
fn payment(card: &str) -> Value {
    json!({
        "amount": 120.00,
        "currency": "BRL",
        "country": "BR",
        "payment_method_id": "CARD",
        "payment_method_flow": "DIRECT",
        "payer": {
            "name": "Thiago Gabriel", "email": "thiago@example.com", "document": "53033315550",
            "user_reference": "12345", "ip": "179.27.83.210", "device_id": "2fg3d4gf234"
        },
        "card": {
            "holder_name": "Thiago Gabriel", "number": card, "cvv": "123",
            "expiration_month": 10, "expiration_year": 2040
        },
        "order_id": order_id(),
        "callback_url": CALLBACK
    })
}

fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    body.pointer_mut(parent).unwrap()[key] = value;
    body
}

fn dlocal_ledger(sb: &RunningSandbox) -> Vec<String> {
    sb.sandbox
        .ledger
        .entries()
        .into_iter()
        .filter(|e| e.provider == Provider::Dlocal)
        .map(|e| e.provider_payment_id)
        .collect()
}

fn assert_callback_signature(callback: &PageForm) {
    let (id, status, date) = (
        callback.field("paymentId").unwrap(),
        callback.field("status").unwrap(),
        callback.field("date").unwrap(),
    );
    let expected = hmac_hex(format!("{LOGIN}{date}{{status:{status},paymentId:{id}}}").as_bytes());
    assert_eq!(callback.field("signature"), Some(expected.as_str()));
}

/// Acts as the browser from `redirect_url` to the ACS's auto-submit form that returns
/// to dLocal (`cres`, or `PaRes` and `MD`). `answer`: `Some(code)` types a code, `None` cancels.
async fn to_completion(sb: &RunningSandbox, redirect_url: &str, answer: Option<&str>) -> PageForm {
    let client = browser();
    let page = client.get(redirect_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let to_acs = form(&page.text().await.unwrap(), Some("autosubmit"));
    let html = to_acs.submit(&client, &sb.url).await.text().await.unwrap();
    let mut challenge = form(&html, Some("challenge"));
    match answer {
        Some(code) => {
            challenge.set("otp", code);
            challenge.set("action", "submit");
        }
        None => challenge.set("action", "cancel"),
    }
    let html = challenge
        .submit(&client, &sb.url)
        .await
        .text()
        .await
        .unwrap();
    form(&html, Some("autosubmit"))
}

/// The whole 3DS round trip: returns the form the browser posts to `callback_url`.
async fn through_three_ds(
    sb: &RunningSandbox,
    redirect_url: &str,
    answer: Option<&str>,
) -> PageForm {
    let back = to_completion(sb, redirect_url, answer).await;
    assert!(
        back.action
            .starts_with(&format!("{}/dlocal/three-ds/", sb.url)),
        "{back:?}"
    );
    let response = back.submit(&browser(), &sb.url).await;
    assert_eq!(response.status(), 200);
    let callback = form(&response.text().await.unwrap(), Some("autosubmit"));
    assert_eq!(callback.action, CALLBACK);
    callback
}

#[tokio::test]
async fn bad_credentials_are_refused_and_create_nothing() {
    let sb = sandbox().await;
    let url = format!("{}/dlocal/secure_payments", sb.url);
    let body = payment("4000000000001000").to_string();
    for signer in [
        Signer {
            tamper: true,
            ..GOOD
        },
        Signer {
            login: "someone-else",
            ..GOOD
        },
        Signer {
            trans_key: "wrong",
            ..GOOD
        },
    ] {
        let (status, error) = send(signer.request(reqwest::Method::POST, &url, &body)).await;
        assert_eq!(status, 403);
        assert_eq!(error["code"], 3001);
        assert!(error["message"].is_string());
    }
    // Uppercase hex is not dLocal's signature.
    let date = x_date();
    let upper = hmac_hex(format!("{LOGIN}{date}{body}").as_bytes()).to_uppercase();
    let request = reqwest::Client::new()
        .post(&url)
        .header("X-Date", &date)
        .header("X-Login", LOGIN)
        .header("X-Trans-Key", TRANS_KEY)
        .header("X-Version", "2.1")
        .header(
            "Authorization",
            format!("V2-HMAC-SHA256, Signature: {upper}"),
        )
        .body(body.clone());
    assert_eq!(send(request).await.1["code"], 3001);
    // Missing X-Date, wrong version.
    let (status, error) = send(
        reqwest::Client::new()
            .post(&url)
            .header("X-Login", LOGIN)
            .header("X-Trans-Key", TRANS_KEY)
            .header("X-Version", "2.1")
            .body(body.clone()),
    )
    .await;
    assert_eq!(
        (status.as_u16(), &error["code"], &error["param"]),
        (400, &json!(5001), &json!("X-Date"))
    );
    let (status, error) = send(
        Signer {
            version: "2.0",
            ..GOOD
        }
        .request(reqwest::Method::POST, &url, &body),
    )
    .await;
    assert_eq!((status.as_u16(), &error["code"]), (400, &json!(5017)));
    assert_eq!(sb.sandbox.dlocal.payment_count(), 0);
    assert!(dlocal_ledger(&sb).is_empty());
}

#[tokio::test]
async fn frictionless_cards_settle_at_once() {
    let sb = sandbox().await;
    // (card, capture, status, status_code, eci)
    type Case = (
        &'static str,
        Option<bool>,
        &'static str,
        &'static str,
        Option<&'static str>,
    );
    #[rustfmt::skip]
    let cases: [Case; 11] = [
        ("4000000000001000", None, "PAID", "200", Some("05")),
        ("4000000000001000", Some(false), "AUTHORIZED", "600", Some("05")),
        ("4000000000001109", Some(false), "AUTHORIZED", "600", Some("06")),
        ("5200000000001005", Some(true), "PAID", "200", Some("02")),
        ("5200000000001104", Some(true), "PAID", "200", Some("01")),
        ("4000000000001307", Some(false), "AUTHORIZED", "600", Some("07")),
        ("4000000000001208", None, "REJECTED", "320", None),
        ("4000000000001406", None, "REJECTED", "311", None),
        ("4000000000004004", None, "REJECTED", "301", Some("05")),
        ("4000000000003105", Some(false), "AUTHORIZED", "600", Some("07")),
        ("4000000000002206", None, "PAID", "200", Some("05")),
    ];
    let mut approved = Vec::new();
    for (card, capture, status, code, eci) in cases {
        let mut body = payment(card);
        if let Some(capture) = capture {
            body = with(body, "/card/capture", json!(capture));
        }
        let (http, object) = create(&sb, &body).await;
        assert_eq!(http, 200, "{card}: {object}");
        assert_eq!(object["status"], status, "{card}: {object}");
        assert_eq!(object["status_code"], code, "{card}");
        assert_eq!(object["three_dsecure"]["eci"].as_str(), eci, "{card}");
        assert!(object["status_detail"].is_string());
        assert_eq!(object["amount"], 120);
        assert_eq!(object["card"]["last4"], &card[card.len() - 4..]);
        assert!(
            !object.to_string().contains(card),
            "the full PAN must not be echoed"
        );
        if status != "REJECTED" {
            approved.push(object["id"].as_str().unwrap().to_owned());
            assert!(object["approved_date"].is_string());
        }
    }
    assert_eq!(dlocal_ledger(&sb), approved);
    let entry = &sb.sandbox.ledger.entries()[0];
    assert_eq!((entry.amount, entry.currency.as_str()), (12000, "BRL"));
    assert_eq!(entry.card, "400000******1000");
}

/// Each currency's ISO 4217 exponent, as the backend's adapter has them: three decimals for
/// KWD, none for ISK. The sandbox's own table had six zero-decimal currencies and no
/// three-decimal one: 1.234 KWD was booked as 123 and answered as 1.23, 5000 ISK as
/// 500000. An amount finer than the minor unit is refused, not rounded.
#[tokio::test]
async fn amounts_are_read_with_each_currency_s_exponent() {
    let sb = sandbox().await;
    for (amount, currency, country, minor) in [
        (json!(1.234), "KWD", "KW", 1234),
        (json!(5000), "ISK", "IS", 5000),
        (json!(150000000.55), "IDR", "ID", 15_000_000_055),
    ] {
        let body = with(payment("4000000000001000"), "/amount", amount.clone());
        let body = with(body, "/currency", json!(currency));
        let body = with(body, "/country", json!(country));
        let (http, object) = create(&sb, &body).await;
        assert_eq!(http, 200, "{currency}: {object}");
        assert_eq!(object["amount"], amount, "{currency}: answered as sent");
        let booked = sb.sandbox.ledger.entries();
        let entry = booked.last().expect("booked");
        assert_eq!((entry.amount, entry.currency.as_str()), (minor, currency));
    }
    let finer = with(payment("4000000000001000"), "/amount", json!(10.999));
    let (http, error) = create(&sb, &finer).await;
    assert_eq!(http, 400, "{error}");
}

#[tokio::test]
async fn retrieval_and_unknown_ids() {
    let sb = sandbox().await;
    let (_, created) = create(&sb, &payment("4000000000001000")).await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("D-4-"));
    let (status, object) = get(&sb, &format!("/payments/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(object, created);
    let (status, error) = get(&sb, "/payments/D-4-nope").await;
    assert_eq!((status.as_u16(), &error["code"]), (404, &json!(4000)));
    let (status, error) = get(&sb, "/payments/D-4-nope/status").await;
    assert_eq!((status.as_u16(), &error["code"]), (404, &json!(4000)));
    let url = format!("{}/dlocal/payments/{id}", sb.url);
    let (status, error) = send(
        Signer {
            tamper: true,
            ..GOOD
        }
        .request(reqwest::Method::GET, &url, ""),
    )
    .await;
    assert_eq!((status.as_u16(), &error["code"]), (403, &json!(3001)));
}

#[tokio::test]
async fn duplicated_order_id_and_idempotent_retry() {
    let sb = sandbox().await;
    let body = payment("4000000000001000");
    let (_, first) = create(&sb, &body).await;
    let (status, error) = create(&sb, &body).await;
    assert_eq!(
        (status.as_u16(), &error["code"], &error["param"]),
        (400, &json!(5009), &json!("order_id"))
    );
    // A retry with the same X-Idempotency-Key gets the same payment back, charged once.
    let url = format!("{}/dlocal/secure_payments", sb.url);
    let fresh = payment("4000000000001000");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let request = GOOD
            .request(reqwest::Method::POST, &url, &fresh.to_string())
            .header("X-Idempotency-Key", "retry-1");
        let (status, object) = send(request).await;
        assert_eq!(status, 200);
        ids.push(object["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(
        dlocal_ledger(&sb),
        vec![first["id"].as_str().unwrap().to_owned(), ids[0].clone()]
    );
    assert_eq!(
        sb.sandbox.ledger.entries()[1].idempotency_key.as_deref(),
        Some("retry-1")
    );
}

#[tokio::test]
async fn invalid_requests_get_dlocal_errors() {
    let sb = sandbox().await;
    let url = format!("{}/dlocal/secure_payments", sb.url);
    let (status, error) = send(GOOD.request(reqwest::Method::POST, &url, "{\"amount\":")).await;
    assert_eq!((status.as_u16(), &error["code"]), (400, &json!(5000)));
    let mut body = payment("4000000000001000");
    body["card"].as_object_mut().unwrap().remove("number");
    let (status, error) = create(&sb, &body).await;
    assert_eq!(
        (status.as_u16(), &error["code"], &error["param"]),
        (400, &json!(5001), &json!("card.number"))
    );
    let (status, error) = create(
        &sb,
        &with(payment("4000000000001000"), "/amount", json!("120")),
    )
    .await;
    assert_eq!(
        (status.as_u16(), &error["code"], &error["param"]),
        (400, &json!(5000), &json!("amount"))
    );
    let (status, error) = create(
        &sb,
        &with(
            payment("4000000000001000"),
            "/payment_method_flow",
            json!("REDIRECT"),
        ),
    )
    .await;
    assert_eq!(
        (status.as_u16(), &error["param"]),
        (400, &json!("payment_method_flow"))
    );
    // Not a card number: the payment is created and rejected 314, as dLocal does.
    let (status, object) = create(&sb, &payment("4000000000001001")).await;
    assert_eq!(
        (
            status.as_u16(),
            object["status"].as_str(),
            object["status_code"].as_str()
        ),
        (200, Some("REJECTED"), Some("314"))
    );
    assert_eq!(object["card"]["last4"], "1001");
    let (_, object) = create(
        &sb,
        &with(
            payment("4000000000001000"),
            "/card/expiration_year",
            json!(2020),
        ),
    )
    .await;
    assert_eq!(object["status_code"], "309");
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let (status, error) = send(GOOD.request(reqwest::Method::POST, &url, &big)).await;
    assert_eq!((status.as_u16(), &error["code"]), (413, &json!(5000)));
    // dLocal's sandbox trick: a status code in the description.
    let (_, object) = create(
        &sb,
        &with(payment("4000000000001000"), "/description", json!("302")),
    )
    .await;
    assert_eq!(
        (object["status"].as_str(), object["status_code"].as_str()),
        (Some("REJECTED"), Some("302"))
    );
    let (_, object) = create(
        &sb,
        &with(payment("4000000000002008"), "/description", json!("600")),
    )
    .await;
    assert_eq!(object["status"], "AUTHORIZED");
    assert_eq!(dlocal_ledger(&sb).len(), 1);
}
