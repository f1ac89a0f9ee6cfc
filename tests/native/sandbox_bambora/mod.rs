//! The Bambora emulator over real HTTP: the documented requests in, the documented
//! responses out, every contract card Bambora can express, and the browser's part of
//! each challenge played through the sandbox ACS. Here the credentials, frictionless cards
//! and a continue resent after a dropped answer; the merchant's MPI, tokens and validation
//! in `inputs.rs`, the challenges in `challenge.rs`, what follows an authorization in
//! `lifecycle.rs`.

use crate::support;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use threeds_bridge::emv::{BrowserDetails, BrowserReadings, ServerReadings};
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::sandbox::RunningSandbox;

mod challenge;
mod inputs;
mod lifecycle;

/// The header of the seed's examples, verbatim.
const SEED_AUTH: &str = "Passcode MzAwMjAwNTc4OjRCYUQ4MkQ5MTk3YjRjYzRiNzBhMjIxOTExZUU5Zjcw";

const TERM_URL: &str = "https://merchant.example/redirect/3d-secure";

struct Bambora {
    running: RunningSandbox,
    client: reqwest::Client,
}

impl Bambora {
    async fn start() -> Bambora {
        Bambora {
            running: support::sandbox().await,
            client: support::browser(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/bambora{path}", self.running.url)
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .header("Authorization", SEED_AUTH)
            .json(body)
            .send()
            .await
            .expect("send");
        read(response).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .header("Authorization", SEED_AUTH)
            .send()
            .await
            .expect("send");
        read(response).await
    }

    /// Bambora's approved payments in the sandbox ledger.
    fn ledger(&self) -> Vec<String> {
        self.running
            .sandbox
            .ledger
            .entries()
            .into_iter()
            .filter(|e| e.provider == Provider::Bambora)
            .map(|e| e.provider_payment_id)
            .collect()
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

/// What `BrowserDetails::to_bambora()` produces for an ordinary desktop browser.
fn browser() -> Value {
    let page = BrowserReadings {
        screen_width: Some(1920),
        screen_height: Some(1080),
        color_depth: Some(24),
        timezone_offset: Some(300),
        language: Some("en-CA".into()),
        languages: vec!["en-CA".into(), "fr-CA".into()],
        java_enabled: Some(false),
        javascript_enabled: true,
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
    };
    let server = ServerReadings {
        accept_header: Some("text/html,application/xhtml+xml".into()),
        accept_language: Some("en-CA,en;q=0.9".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
        ip: Some("203.0.113.7".into()),
    };
    let details = BrowserDetails::build(&page, &server).expect("browser details");
    serde_json::to_value(details.to_bambora().expect("bambora browser")).expect("json")
}

fn payment(pan: &str, three_ds: Value) -> Value {
    json!({
        "order_number": format!("order-{}", uuid_like()),
        "amount": 15.99,
        "payment_method": "card",
        "customer_ip": "203.0.113.7",
        "term_url": TERM_URL,
        "card": {
            "name": "John Doe",
            "number": pan,
            "expiry_month": "09",
            "expiry_year": "35",
            "cvd": "123",
            "complete": true,
            "3d_secure": three_ds,
        }
    })
}

fn three_ds2() -> Value {
    json!({"enabled": true, "version": 2, "auth_required": false, "browser": browser()})
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

/// Bambora's error body: code, category, message, reference "".
fn assert_error(body: &Value, code: u64, category: u64) {
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["category"], category, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["reference"], "", "{body}");
}

fn detail_fields(body: &Value) -> Vec<String> {
    body["details"]
        .as_array()
        .map(|details| {
            details
                .iter()
                .map(|d| d["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The form inside a 302's `contents`: URL-decoded, and read with the test browser's
/// (lower-case) form reader after normalising the seed's upper-case tags.
fn contents_form(body: &Value) -> (String, support::PageForm) {
    let contents = body["contents"].as_str().expect("contents");
    assert!(
        !contents.contains(' ') && !contents.contains('<'),
        "not URL-encoded"
    );
    let html: String = form_urlencoded::parse(format!("c={contents}").as_bytes())
        .map(|(_, v)| v.into_owned())
        .collect();
    assert!(
        html.starts_with("<HTML><HEAD></HEAD><BODY><FORM "),
        "{html}"
    );
    assert!(html.contains("id=\"form1\" name=\"form1\""), "{html}");
    assert!(html.contains("document.form1.submit();"), "{html}");
    let readable = html
        .replace("<FORM", "<form")
        .replace("</FORM>", "</form>")
        .replace("<INPUT", "<input");
    let form = support::form(&readable, Some("form1"));
    (html, form)
}

/// Plays the cardholder at the ACS: posts the form, answers the challenge page, and
/// returns the auto-submit form the ACS sends towards the merchant's term_url.
async fn at_the_acs(
    bambora: &Bambora,
    form: &support::PageForm,
    answer: Answer,
) -> support::PageForm {
    let page = form.submit(&bambora.client, &bambora.running.url).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("page");
    let mut challenge = support::form(&page, Some("challenge"));
    match answer {
        Answer::Code(code) => {
            challenge.set("otp", code);
            challenge.set("action", "submit");
        }
        Answer::Cancel => challenge.set("action", "cancel"),
    }
    let done = challenge
        .submit(&bambora.client, &bambora.running.url)
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let done = done.text().await.expect("page");
    let back = support::form(&done, Some("autosubmit"));
    assert_eq!(
        back.action, TERM_URL,
        "the ACS posts to the merchant's term_url"
    );
    back
}

#[derive(Clone, Copy)]
enum Answer {
    Code(&'static str),
    Cancel,
}

/// A 3DS 2 challenge up to the cres the merchant's term_url would receive.
async fn challenge_v2(bambora: &Bambora, pan: &str, answer: Answer) -> (String, String) {
    let (status, body) = bambora
        .post("/v1/payments", &payment(pan, three_ds2()))
        .await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let session = body["3d_session_data"]
        .as_str()
        .expect("3d_session_data")
        .to_owned();
    assert!(body.get("merchant_data").is_none());
    assert_eq!(body["links"][0]["rel"], "continue");
    assert_eq!(
        body["links"][0]["href"],
        format!(
            "{}/bambora/v1/payments/{session}/continue",
            bambora.running.url
        )
    );
    assert_eq!(body["links"][0]["method"], "POST");
    let (_, form) = contents_form(&body);
    assert_eq!(
        form.action,
        format!("{}/acs/challenge", bambora.running.url)
    );
    assert_eq!(form.field("threeDSSessionData"), Some(session.as_str()));
    assert!(form.field("creq").is_some());
    let back = at_the_acs(bambora, &form, answer).await;
    assert_eq!(back.field("threeDSSessionData"), Some(session.as_str()));
    (session, back.field("cres").expect("cres").to_owned())
}

async fn continue_v2(bambora: &Bambora, session: &str, cres: &str) -> (StatusCode, Value) {
    bambora
        .post(
            &format!("/v1/payments/{session}/continue"),
            &json!({"payment_method": "credit_card", "card_response": {"cres": cres}}),
        )
        .await
}

fn assert_approved(body: &Value, status: &str, eci: u64, card_type: &str) {
    assert_eq!(body["approved"], "1", "{body}");
    assert_eq!(body["message_id"], "1");
    assert_eq!(body["message"], "Approved");
    assert_eq!(body["type"], "P");
    assert_eq!(body["payment_method"], "CC");
    assert_eq!(body["amount"], 15.99);
    assert!(body["id"]
        .as_str()
        .is_some_and(|id| id.parse::<u64>().is_ok()));
    assert!(body["auth_code"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(body["created"].as_str().is_some_and(|c| c.len() == 19));
    assert!(body["order_number"]
        .as_str()
        .is_some_and(|o| o.starts_with("order-")));
    assert_eq!(body["card"]["card_type"], card_type);
    assert_eq!(body["card"]["eci"], eci);
    assert_eq!(body["3d_secure"]["status"], status);
    let rels: Vec<&str> = body["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|l| l["rel"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(rels, ["void", "return"]);
}

#[tokio::test]
async fn the_seeds_passcode_is_the_contract_merchant() {
    let encoded = SEED_AUTH.strip_prefix("Passcode ").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "300200578:4BaD82D9197b4cc4b70a221911eE9f70"
    );
    let bambora = Bambora::start().await;
    let (status, body) = bambora
        .post("/v1/payments", &payment("4000000000001000", three_ds2()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn wrong_or_missing_passcode_is_401() {
    let bambora = Bambora::start().await;
    let body = payment("4000000000001000", three_ds2());
    let wrong = base64::engine::general_purpose::STANDARD.encode("300200578:wrong");
    for auth in [
        Some(format!("Passcode {wrong}")),
        Some("Basic MzAwMjAwNTc4OjRCYUQ4MkQ5MTk3YjRjYzRiNzBhMjIxOTExZUU5Zjcw".to_owned()),
        Some("Passcode not-base64!".to_owned()),
        None,
    ] {
        let mut request = bambora.client.post(bambora.url("/v1/payments")).json(&body);
        if let Some(auth) = &auth {
            request = request.header("Authorization", auth);
        }
        let (status, error) = read(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_error(&error, 21, 3);
    }
    let get = bambora
        .client
        .get(bambora.url("/v1/payments/10000001"))
        .send();
    assert_eq!(get.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert!(bambora.ledger().is_empty());
}

#[tokio::test]
async fn frictionless_cards() {
    let bambora = Bambora::start().await;
    // (PAN, 3d_secure.status, ECI, card_type)
    let approved = [
        ("4000000000001000", "Succeeded", 5, "VI"),
        ("4000000000001109", "Attempted", 6, "VI"),
        ("4000000000001307", "Unavailable", 7, "VI"),
        ("4000000000002206", "Succeeded", 5, "VI"),
        ("5200000000001005", "Succeeded", 2, "MC"),
        ("5200000000001104", "Attempted", 1, "MC"),
        ("4012000033330026", "Succeeded", 5, "VI"),
        ("4012004040524514", "Attempted", 6, "VI"),
        ("4111111111111111", "Succeeded", 5, "VI"),
    ];
    let mut ids = Vec::new();
    for (pan, status, eci, card_type) in approved {
        let (http, body) = bambora
            .post("/v1/payments", &payment(pan, three_ds2()))
            .await;
        assert_eq!(http, StatusCode::OK, "{pan}: {body}");
        assert_approved(&body, status, eci, card_type);
        assert_eq!(body["3d_secure"]["downgraded"], false);
        assert_eq!(body["card"]["last_four"], &pan[pan.len() - 4..]);
        assert_eq!(
            body["card"]["cavv_result"].is_string(),
            status != "Unavailable"
        );
        let id = body["id"].as_str().unwrap().to_owned();
        let (http, fetched) = bambora.get(&format!("/v1/payments/{id}")).await;
        assert_eq!((http, &fetched), (StatusCode::OK, &body));
        ids.push(id);
    }
    // (PAN, 3d_secure.status): authentication failed, nothing is authorized.
    let refused = [
        ("4000000000001208", "Failed"),
        ("4000000000001406", "Rejected"),
        ("4012001775445550", "Failed"),
    ];
    for (pan, status) in refused {
        let (http, body) = bambora
            .post("/v1/payments", &payment(pan, three_ds2()))
            .await;
        assert_eq!(http, StatusCode::PAYMENT_REQUIRED, "{pan}: {body}");
        assert_error(&body, 311, 1);
        assert_eq!(body["message"], "3D Secure Failed");
        assert_eq!(body["3d_secure"]["status"], status);
    }
    assert_eq!(
        bambora.ledger(),
        ids,
        "one ledger entry per approved payment"
    );
}

#[tokio::test]
async fn auth_required_refuses_unavailable_authentication() {
    let bambora = Bambora::start().await;
    let mut secure = three_ds2();
    secure["auth_required"] = json!(true);
    let (http, body) = bambora
        .post("/v1/payments", &payment("4000000000001307", secure))
        .await;
    assert_eq!(http, StatusCode::PAYMENT_REQUIRED);
    assert_error(&body, 311, 1);
    assert_eq!(body["3d_secure"]["status"], "Unavailable");
    assert!(bambora.ledger().is_empty());
}

#[tokio::test]
async fn pre_authorization_links_to_completion() {
    let bambora = Bambora::start().await;
    let mut request = payment("4000000000001000", three_ds2());
    request["card"]["complete"] = json!(false);
    let (http, body) = bambora.post("/v1/payments", &request).await;
    assert_eq!(http, StatusCode::OK);
    assert_eq!(body["type"], "PA");
    assert_eq!(body["links"][0]["rel"], "complete");
    assert_eq!(
        body["links"][0]["href"],
        format!(
            "{}/bambora/v1/payments/{}/completions",
            bambora.running.url,
            body["id"].as_str().unwrap()
        )
    );
}

#[tokio::test]
async fn issuer_decline_after_authentication() {
    let bambora = Bambora::start().await;
    let (http, body) = bambora
        .post("/v1/payments", &payment("4000000000004004", three_ds2()))
        .await;
    assert_eq!(http, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_error(&body, 7, 1);
    assert_eq!(body["message"], "DECLINE");
    assert_eq!(body["validation"]["approved"], "0");
    assert_eq!(body["validation"]["message_id"], "7");
    let id = body["validation"]["id"]
        .as_str()
        .expect("declined transaction id");
    let (http, declined) = bambora.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(http, StatusCode::OK);
    assert_eq!(declined["approved"], "0");
    assert_eq!(declined["3d_secure"]["status"], "Succeeded");
    assert!(bambora.ledger().is_empty());
}

#[tokio::test]
async fn continue_retried_after_a_dropped_answer_charges_once() {
    use threeds_bridge::sandbox::faults::FaultRule;
    let bambora = Bambora::start().await;
    let (session, cres) = challenge_v2(&bambora, "4000000000002008", Answer::Code("1234")).await;
    bambora.running.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Bambora),
        endpoint: Some("/v1/payments/".to_owned()),
        drop_after_commit: true,
        ..FaultRule::default()
    }]);
    let dropped = bambora
        .client
        .post(bambora.url(&format!("/v1/payments/{session}/continue")))
        .header("Authorization", SEED_AUTH)
        .json(&json!({"payment_method": "credit_card", "card_response": {"cres": cres}}))
        .send()
        .await;
    assert!(dropped.is_err(), "the answer was dropped");
    let charged = bambora.ledger();
    assert_eq!(charged.len(), 1, "the charge was committed");
    bambora.running.sandbox.faults.set(Vec::new());
    let (http, body) = continue_v2(&bambora, &session, &cres).await;
    assert_eq!(http, StatusCode::OK);
    assert_eq!(body["id"], charged[0].as_str());
    assert_eq!(bambora.ledger(), charged);
}
