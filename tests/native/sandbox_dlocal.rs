//! The dLocal emulator over real HTTP: signatures are computed here with `hmac` directly,
//! independently of the sandbox's own signing code.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use support::{browser, form, sandbox, PageForm};
use threeds_bridge::sandbox::dlocal::AttemptOutcome;
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::sandbox::RunningSandbox;

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
    let cases: [Case; 11] = [
        ("4000000000001000", None, "PAID", "200", Some("05")),
        (
            "4000000000001000",
            Some(false),
            "AUTHORIZED",
            "600",
            Some("05"),
        ),
        (
            "4000000000001109",
            Some(false),
            "AUTHORIZED",
            "600",
            Some("06"),
        ),
        ("5200000000001005", Some(true), "PAID", "200", Some("02")),
        ("5200000000001104", Some(true), "PAID", "200", Some("01")),
        (
            "4000000000001307",
            Some(false),
            "AUTHORIZED",
            "600",
            Some("07"),
        ),
        ("4000000000001208", None, "REJECTED", "320", None),
        ("4000000000001406", None, "REJECTED", "311", None),
        ("4000000000004004", None, "REJECTED", "301", Some("05")),
        (
            "4000000000003105",
            Some(false),
            "AUTHORIZED",
            "600",
            Some("07"),
        ),
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

#[tokio::test]
async fn challenge_with_the_right_code_authorizes_once() {
    let sb = sandbox().await;
    let body = with(payment("4000000000002008"), "/card/capture", json!(false));
    let (_, pending) = create(&sb, &body).await;
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["status_code"], "101");
    assert_eq!(
        pending["status_detail"],
        "The payment is pending 3D Secure authentication."
    );
    let id = pending["id"].as_str().unwrap();
    let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
    assert_eq!(redirect, format!("{}/dlocal/three-ds/{id}", sb.url));

    // The redirect page posts a creq to the sandbox ACS.
    let first = browser()
        .get(redirect)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let to_acs = form(&first, Some("autosubmit"));
    assert_eq!(to_acs.action, format!("{}/acs/challenge", sb.url));
    assert!(to_acs.field("creq").is_some());
    assert!(
        dlocal_ledger(&sb).is_empty(),
        "nothing is charged before 3DS"
    );

    let callback = through_three_ds(&sb, redirect, Some("1234")).await;
    assert_eq!(callback.method, "post");
    assert_eq!(callback.field("paymentId"), Some(id));
    assert_eq!(callback.field("status"), Some("COMPLETED"));
    assert_callback_signature(&callback);

    let (_, object) = get(&sb, &format!("/payments/{id}")).await;
    assert_eq!(
        (object["status"].as_str(), object["status_code"].as_str()),
        (Some("AUTHORIZED"), Some("600"))
    );
    assert_eq!(object["three_dsecure"]["eci"], "05");
    assert_eq!(object["three_dsecure"].get("redirect_url"), None);
    assert_eq!(dlocal_ledger(&sb), vec![id.to_owned()]);

    // A second visit changes nothing and charges nothing.
    let again = browser()
        .get(redirect)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let again = form(&again, Some("autosubmit"));
    assert_eq!(
        (again.action.as_str(), again.field("status")),
        (CALLBACK, Some("COMPLETED"))
    );
    let complete = format!("{}/dlocal/three-ds/{id}/complete", sb.url);
    let replay = browser()
        .post(&complete)
        .form(&[("cres", "garbage")])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    assert_eq!(dlocal_ledger(&sb).len(), 1);
    let (_, status) = get(&sb, &format!("/payments/{id}/status")).await;
    assert_eq!(
        status,
        json!({"status": "AUTHORIZED", "status_code": "600", "status_detail": "The payment was authorized."})
    );
}

#[tokio::test]
async fn challenge_failures_reject() {
    let sb = sandbox().await;
    for answer in [Some("0000"), None] {
        let (_, pending) = create(&sb, &payment("4000000000002008")).await;
        let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
        let callback = through_three_ds(&sb, redirect, answer).await;
        assert_eq!(callback.field("status"), Some("REJECTED"), "{answer:?}");
        assert_callback_signature(&callback);
        let id = pending["id"].as_str().unwrap();
        let (_, object) = get(&sb, &format!("/payments/{id}")).await;
        assert_eq!(
            (object["status"].as_str(), object["status_code"].as_str()),
            (Some("REJECTED"), Some("320"))
        );
    }
    assert!(dlocal_ledger(&sb).is_empty());
}

#[tokio::test]
async fn other_challenge_cards_carry_their_brand_eci() {
    let sb = sandbox().await;
    // The Method card: dLocal runs the Method inside its own page; the merchant sees a challenge.
    for (card, eci, brand) in [
        ("5200000000002003", "02", "MC"),
        ("370000000000200", "05", "AM"),
        ("4000000000002107", "05", "VI"),
        ("4012007153923001", "05", "VI"),
    ] {
        let (_, pending) = create(&sb, &payment(card)).await;
        assert_eq!(pending["status"], "PENDING", "{card}");
        assert_eq!(pending["card"]["brand"], brand);
        let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
        let callback = through_three_ds(&sb, redirect, Some("1234")).await;
        assert_eq!(callback.field("status"), Some("APPROVED"), "{card}");
        let id = pending["id"].as_str().unwrap();
        let (_, object) = get(&sb, &format!("/payments/{id}")).await;
        assert_eq!(object["status"], "PAID");
        assert_eq!(object["three_dsecure"]["eci"], eci, "{card}");
    }
    assert_eq!(dlocal_ledger(&sb).len(), 4);
}

#[tokio::test]
async fn three_ds_1_card_goes_through_pareq() {
    let sb = sandbox().await;
    let (_, pending) = create(&sb, &payment("4000000000003006")).await;
    let id = pending["id"].as_str().unwrap();
    let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
    let page = browser()
        .get(redirect)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let to_acs = form(&page, Some("autosubmit"));
    assert_eq!(to_acs.action, format!("{}/acs/pareq", sb.url));
    assert_eq!(to_acs.field("MD"), Some(id));
    assert_eq!(
        to_acs.field("TermUrl").map(str::to_owned),
        Some(format!("{}/dlocal/three-ds/{id}/complete", sb.url))
    );
    assert!(to_acs.field("PaReq").is_some());
    let callback = through_three_ds(&sb, redirect, Some("1234")).await;
    assert_eq!(callback.field("status"), Some("APPROVED"));
    assert_callback_signature(&callback);
    let (_, object) = get(&sb, &format!("/payments/{id}")).await;
    assert_eq!(
        (
            object["status"].as_str(),
            object["three_dsecure"]["eci"].as_str()
        ),
        (Some("PAID"), Some("05"))
    );
    assert_eq!(dlocal_ledger(&sb), vec![id.to_owned()]);
}

#[tokio::test]
async fn a_pares_of_another_payment_is_refused() {
    let sb = sandbox().await;
    let (_, a) = create(&sb, &payment("4000000000003006")).await;
    let (_, b) = create(&sb, &payment("4000000000003006")).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let a_back = to_completion(
        &sb,
        a["three_dsecure"]["redirect_url"].as_str().unwrap(),
        Some("1234"),
    )
    .await;
    assert_eq!(a_back.field("MD"), Some(a_id));
    // b's challenge is started, then a's PaRes is replayed at b's completion route.
    let _ = browser()
        .get(b["three_dsecure"]["redirect_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let mut replay = a_back.clone();
    replay.action = format!("{}/dlocal/three-ds/{b_id}/complete", sb.url);
    replay.set("MD", b_id);
    assert_eq!(replay.submit(&browser(), &sb.url).await.status(), 400);
    let malformed = browser()
        .post(format!("{}/dlocal/three-ds/{b_id}/complete", sb.url))
        .form(&[("PaRes", "not a pares"), ("MD", b_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let (_, object) = get(&sb, &format!("/payments/{b_id}")).await;
    assert_eq!(object["status"], "PENDING");
    // a's own completion still works.
    let callback = form(
        &a_back
            .submit(&browser(), &sb.url)
            .await
            .text()
            .await
            .unwrap(),
        Some("autosubmit"),
    );
    assert_eq!(callback.field("status"), Some("APPROVED"));
    assert_eq!(dlocal_ledger(&sb), vec![a_id.to_owned()]);
}

#[tokio::test]
async fn forced_three_ds_on_frictionless_cards_completes_on_the_page() {
    let sb = sandbox().await;
    for (card, callback_status, status) in [
        ("4000000000001000", "APPROVED", "PAID"),
        ("4000000000001208", "REJECTED", "REJECTED"),
    ] {
        let body = with(payment(card), "/three_dsecure", json!({"force": true}));
        let (_, pending) = create(&sb, &body).await;
        assert_eq!(pending["status_code"], "101", "{card}");
        let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
        let page = browser()
            .get(redirect)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let callback = form(&page, Some("autosubmit"));
        assert_eq!(callback.action, CALLBACK);
        assert_eq!(callback.field("status"), Some(callback_status));
        assert_callback_signature(&callback);
        let id = pending["id"].as_str().unwrap();
        let (_, object) = get(&sb, &format!("/payments/{id}/status")).await;
        assert_eq!(object["status"], status);
    }
    assert_eq!(dlocal_ledger(&sb).len(), 1);
}

#[tokio::test]
async fn without_callback_url_the_page_shows_the_result() {
    let sb = sandbox().await;
    let mut body = with(
        payment("4000000000001109"),
        "/three_dsecure",
        json!({"force": true}),
    );
    body.as_object_mut().unwrap().remove("callback_url");
    let (_, pending) = create(&sb, &body).await;
    let id = pending["id"].as_str().unwrap();
    let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
    let page = browser()
        .get(redirect)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(
            "data-payment-id=\"{id}\" data-status=\"APPROVED\""
        )),
        "{page}"
    );
    let unknown = browser()
        .get(format!("{}/dlocal/three-ds/D-4-nope", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
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
async fn mpi_authentication_decides_without_redirect() {
    let sb = sandbox().await;
    let mpi = |response: &str, eci: &str| {
        json!({"mpi": true, "three_dsecure_version": "1.0", "cavv": "3q2+78r+ur7erb7vyv66vv////8=",
               "eci": eci, "xid": "ODUzNTYzOTcwODU5NzY3Qw==", "enrollment_response": "Y",
               "authentication_response": response})
    };
    // A challenge card: the merchant's MPI already authenticated, so no redirect.
    let body = with(
        with(
            payment("4000000000002008"),
            "/three_dsecure",
            mpi("Y", "05"),
        ),
        "/card/capture",
        json!(false),
    );
    let (_, object) = create(&sb, &body).await;
    assert_eq!(
        (object["status"].as_str(), object["status_code"].as_str()),
        (Some("AUTHORIZED"), Some("600"))
    );
    assert_eq!(object["three_dsecure"], json!({"eci": "05"}));
    let body = with(
        payment("4000000000001000"),
        "/three_dsecure",
        mpi("N", "07"),
    );
    let (_, object) = create(&sb, &body).await;
    assert_eq!(
        (object["status"].as_str(), object["status_code"].as_str()),
        (Some("REJECTED"), Some("320"))
    );
    let body = with(
        payment("4000000000004004"),
        "/three_dsecure",
        mpi("Y", "05"),
    );
    let (_, object) = create(&sb, &body).await;
    assert_eq!(object["status_code"], "301");
    // 2.x needs ds_transaction_id instead of xid; a Y needs its CAVV.
    let v2 = json!({"mpi": true, "three_dsecure_version": "2.2.0", "eci": "02", "cavv": "AAAB",
                    "ds_transaction_id": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b", "authentication_response": "Y"});
    let (_, object) = create(
        &sb,
        &with(payment("5200000000001005"), "/three_dsecure", v2.clone()),
    )
    .await;
    assert_eq!(
        (
            object["status"].as_str(),
            object["three_dsecure"]["eci"].as_str()
        ),
        (Some("PAID"), Some("02"))
    );
    let mut no_cavv = mpi("Y", "05");
    no_cavv.as_object_mut().unwrap().remove("cavv");
    let (status, error) = create(
        &sb,
        &with(payment("4000000000001000"), "/three_dsecure", no_cavv),
    )
    .await;
    assert_eq!(
        (status.as_u16(), &error["code"], &error["param"]),
        (400, &json!(5001), &json!("three_dsecure.cavv"))
    );
    assert_eq!(dlocal_ledger(&sb).len(), 2);
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

/// A merchant's notification endpoint that answers 500 to its first `failures` requests.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    failures: usize,
}

impl Receiver {
    async fn start(failures: usize) -> (Receiver, String) {
        let receiver = Receiver {
            failures,
            ..Default::default()
        };
        let state = receiver.clone();
        let app = axum::Router::new()
            .route(
                "/notify",
                axum::routing::post(
                    |axum::extract::State(r): axum::extract::State<Receiver>,
                     headers: HeaderMap,
                     body: String| async move {
                        let mut received = r.received.lock().unwrap();
                        received.push((headers, body));
                        if received.len() <= r.failures {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::OK
                        }
                    },
                ),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn bodies(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect()
    }

    async fn wait_for(&self, count: usize) {
        for _ in 0..100 {
            if self.received.lock().unwrap().len() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "only {} notifications arrived",
            self.received.lock().unwrap().len()
        );
    }
}

fn assert_signed(headers: &HeaderMap, body: &str) {
    let date = headers["X-Date"].to_str().unwrap();
    assert_eq!(headers["X-Login"], LOGIN);
    let expected = hmac_hex(format!("{LOGIN}{date}{body}").as_bytes());
    assert_eq!(
        headers["Authorization"],
        format!("V2-HMAC-SHA256, Signature: {expected}").as_str()
    );
}

#[tokio::test]
async fn notifications_are_signed_and_retried_until_accepted() {
    let sb = sandbox().await;
    let (receiver, url) = Receiver::start(1).await;
    let body = with(payment("4000000000001000"), "/notification_url", json!(url));
    let (_, object) = create(&sb, &body).await;
    receiver.wait_for(2).await;
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    for (headers, body) in &received {
        assert_signed(headers, body);
        assert_eq!(serde_json::from_str::<Value>(body).unwrap(), object);
    }
    let id = object["id"].as_str().unwrap();
    // The sandbox records an attempt once it has read the answer, a moment after the
    // receiver has seen the request.
    let mut attempts = sb.sandbox.dlocal.notification_attempts();
    for _ in 0..100 {
        if attempts.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        attempts = sb.sandbox.dlocal.notification_attempts();
    }
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        attempts[0].outcome,
        AttemptOutcome::Refused { http_status: 500 }
    );
    assert_eq!(
        attempts[1].outcome,
        AttemptOutcome::Delivered { http_status: 200 }
    );
    assert_eq!(
        (
            attempts[1].attempt,
            attempts[1].payment_id.as_str(),
            attempts[1].status.as_str()
        ),
        (2, id, "PAID")
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        receiver.received.lock().unwrap().len(),
        2,
        "no attempt after a 2xx"
    );
}

#[tokio::test]
async fn challenge_notifies_pending_then_final() {
    let sb = sandbox().await;
    let (receiver, url) = Receiver::start(0).await;
    let body = with(payment("4000000000002008"), "/notification_url", json!(url));
    let (_, pending) = create(&sb, &body).await;
    receiver.wait_for(1).await;
    through_three_ds(
        &sb,
        pending["three_dsecure"]["redirect_url"].as_str().unwrap(),
        Some("1234"),
    )
    .await;
    receiver.wait_for(2).await;
    let statuses: Vec<Value> = receiver
        .bodies()
        .iter()
        .map(|b| b["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("PENDING"), json!("PAID")]);
    let (_, now) = get(
        &sb,
        &format!("/payments/{}", pending["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(receiver.bodies()[1], now);
}

#[tokio::test]
async fn duplicate_policy_sends_each_notification_twice() {
    let sb = sandbox().await;
    sb.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Dlocal),
        duplicate_notifications: true,
        ..Default::default()
    }]);
    let (receiver, url) = Receiver::start(0).await;
    let (_, object) = create(
        &sb,
        &with(payment("4000000000001000"), "/notification_url", json!(url)),
    )
    .await;
    receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.bodies(), vec![object.clone(), object]);
    assert_eq!(
        dlocal_ledger(&sb).len(),
        1,
        "a duplicated notification charges nothing"
    );
}

#[tokio::test]
async fn reorder_policy_lets_the_final_notification_overtake() {
    let sb = sandbox().await;
    sb.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Dlocal),
        reorder_notifications: true,
        ..Default::default()
    }]);
    let (receiver, url) = Receiver::start(0).await;
    let body = with(payment("4000000000002008"), "/notification_url", json!(url));
    let (_, pending) = create(&sb, &body).await;
    through_three_ds(
        &sb,
        pending["three_dsecure"]["redirect_url"].as_str().unwrap(),
        Some("1234"),
    )
    .await;
    receiver.wait_for(2).await;
    let statuses: Vec<Value> = receiver
        .bodies()
        .iter()
        .map(|b| b["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("PAID"), json!("PENDING")]);
    for (headers, body) in receiver.received.lock().unwrap().iter() {
        assert_signed(headers, body);
    }
}
