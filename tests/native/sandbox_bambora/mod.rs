//! The Bambora emulator over real HTTP: the documented requests in, the documented
//! responses out, every contract card Bambora can express, and the browser's part of
//! each challenge played through the sandbox ACS.

use crate::support;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use threeds_bridge::emv::{BrowserDetails, BrowserReadings, ServerReadings};
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::sandbox::RunningSandbox;

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
async fn challenge_with_the_right_code_authorizes_once() {
    let bambora = Bambora::start().await;
    let (session, cres) = challenge_v2(&bambora, "4000000000002008", Answer::Code("1234")).await;
    let (http, body) = continue_v2(&bambora, &session, &cres).await;
    assert_eq!(http, StatusCode::OK, "{body}");
    assert_approved(&body, "Succeeded", 5, "VI");
    assert_eq!(bambora.ledger(), [body["id"].as_str().unwrap()]);
    // A replay (the merchant retried, or the browser posted twice) returns the same
    // payment and charges nothing more.
    let (http, again) = continue_v2(&bambora, &session, &cres).await;
    assert_eq!((http, &again), (StatusCode::OK, &body));
    assert_eq!(bambora.ledger().len(), 1);
}

#[tokio::test]
async fn challenge_cards_of_every_brand() {
    let bambora = Bambora::start().await;
    for (pan, eci, card_type) in [
        ("4012007153923001", 5, "VI"),
        ("4000000000002107", 5, "VI"),
        ("5200000000002003", 2, "MC"),
        ("370000000000200", 5, "AM"),
    ] {
        let (session, cres) = challenge_v2(&bambora, pan, Answer::Code("1234")).await;
        let (http, body) = continue_v2(&bambora, &session, &cres).await;
        assert_eq!(http, StatusCode::OK, "{pan}: {body}");
        assert_approved(&body, "Succeeded", eci, card_type);
    }
    assert_eq!(bambora.ledger().len(), 4);
}

#[tokio::test]
async fn wrong_code_and_cancel_are_declined_311() {
    let bambora = Bambora::start().await;
    for answer in [Answer::Code("0000"), Answer::Cancel] {
        let (session, cres) = challenge_v2(&bambora, "4000000000002008", answer).await;
        let (http, body) = continue_v2(&bambora, &session, &cres).await;
        assert_eq!(http, StatusCode::PAYMENT_REQUIRED, "{body}");
        assert_error(&body, 311, 1);
        assert_eq!(body["3d_secure"]["status"], "Failed");
        let (http, again) = continue_v2(&bambora, &session, &cres).await;
        assert_eq!((http, again), (StatusCode::PAYMENT_REQUIRED, body));
    }
    assert!(bambora.ledger().is_empty());
}

#[tokio::test]
async fn tampered_foreign_or_early_cres_is_400() {
    let bambora = Bambora::start().await;
    let (session, cres) = challenge_v2(&bambora, "4000000000002008", Answer::Code("0000")).await;
    // The browser flips the issuer's N into a Y.
    let mut message: Value = serde_json::from_slice(&base64url_decode(&cres)).expect("cres JSON");
    assert_eq!(message["transStatus"], "N");
    message["transStatus"] = json!("Y");
    let forged = base64url_encode(&serde_json::to_vec(&message).unwrap());
    let (http, body) = continue_v2(&bambora, &session, &forged).await;
    assert_eq!(http, StatusCode::BAD_REQUEST, "{body}");
    assert_error(&body, 314, 3);
    assert_eq!(detail_fields(&body), ["card_response.cres"]);
    // Garbage.
    let (http, _) = continue_v2(&bambora, &session, "not-a-cres").await;
    assert_eq!(http, StatusCode::BAD_REQUEST);

    // A good cres of one session sent to another.
    let (other, good) = challenge_v2(&bambora, "4000000000002008", Answer::Code("1234")).await;
    let (third, _) = challenge_v2(&bambora, "4000000000002008", Answer::Code("1234")).await;
    let (http, _) = continue_v2(&bambora, &third, &good).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);

    // A cres made up from the creq before the cardholder answered.
    let (status, pending) = bambora
        .post("/v1/payments", &payment("4000000000002008", three_ds2()))
        .await;
    assert_eq!(status, StatusCode::FOUND);
    let (_, form) = contents_form(&pending);
    let creq: Value =
        serde_json::from_slice(&base64url_decode(form.field("creq").unwrap())).unwrap();
    let early = json!({"threeDSServerTransID": creq["threeDSServerTransID"],
        "acsTransID": creq["acsTransID"], "messageType": "CRes",
        "messageVersion": "2.2.0", "transStatus": "Y"});
    let early = base64url_encode(&serde_json::to_vec(&early).unwrap());
    let session_id = pending["3d_session_data"].as_str().unwrap();
    let (http, body) = continue_v2(&bambora, session_id, &early).await;
    assert_eq!(http, StatusCode::BAD_REQUEST, "{body}");

    // None of that charged anything; the genuine cres still works afterwards.
    assert!(bambora.ledger().is_empty());
    let (http, _) = continue_v2(&bambora, &other, &good).await;
    assert_eq!(http, StatusCode::OK);
    assert_eq!(bambora.ledger().len(), 1);
}

fn base64url_decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .expect("base64url")
}

fn base64url_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// 3DS 1.0.2: `merchant_data`, the seed's form1 with PaReq/MD/TermUrl, PaRes back.
async fn challenge_v1(
    bambora: &Bambora,
    version: Value,
    answer: Answer,
) -> (Value, support::PageForm) {
    let mut secure = three_ds2();
    secure["version"] = version;
    let (status, body) = bambora
        .post("/v1/payments", &payment("4000000000003006", secure))
        .await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let merchant_data = body["merchant_data"].as_str().expect("merchant_data");
    assert!(body.get("3d_session_data").is_none());
    assert_eq!(
        body["links"][0]["href"],
        format!(
            "{}/bambora/v1/payments/{merchant_data}/continue",
            bambora.running.url
        )
    );
    let (html, form) = contents_form(&body);
    assert!(html.contains("<INPUT type=\"hidden\" name=\"PaReq\""));
    assert_eq!(form.action, format!("{}/acs/pareq", bambora.running.url));
    assert_eq!(form.field("TermUrl"), Some(TERM_URL));
    assert_eq!(
        form.field("MD"),
        Some(merchant_data.to_uppercase().as_str())
    );
    assert_eq!(form.field("trnAmount"), Some("15.99"));
    assert_eq!(form.field("trnEncCardNumber"), Some("XXXX XXXX XXXX 3006"));
    let back = at_the_acs(bambora, &form, answer).await;
    assert_eq!(back.field("MD"), form.field("MD"));
    (body, back)
}

async fn continue_v1(bambora: &Bambora, id: &str, pa_res: &str) -> (StatusCode, Value) {
    bambora
        .post(
            &format!("/v1/payments/{id}/continue"),
            &json!({"payment_method": "credit_card", "card_response": {"pa_res": pa_res}}),
        )
        .await
}

#[tokio::test]
async fn three_ds1_card_challenges_with_pareq() {
    let bambora = Bambora::start().await;
    // Asked for 2, the 1.0.2-only range downgrades.
    let (redirect, back) = challenge_v1(&bambora, json!(2), Answer::Code("1234")).await;
    let merchant_data = redirect["merchant_data"].as_str().unwrap();
    let pa_res = back.field("PaRes").expect("PaRes");
    // The MD the ACS posted back (upper case, as in the seed) names the payment too.
    let md = back.field("MD").unwrap();
    let (http, body) = continue_v1(&bambora, md, pa_res).await;
    assert_eq!(http, StatusCode::OK, "{body}");
    assert_approved(&body, "Succeeded", 5, "VI");
    assert_eq!(body["3d_secure"]["downgraded"], true);
    let (http, again) = continue_v1(&bambora, merchant_data, pa_res).await;
    assert_eq!((http, &again), (StatusCode::OK, &body));
    assert_eq!(bambora.ledger().len(), 1);

    // Asked for 1: not a downgrade. A wrong code is 311.
    let (redirect, back) = challenge_v1(&bambora, json!(1), Answer::Code("9999")).await;
    let merchant_data = redirect["merchant_data"].as_str().unwrap();
    let (http, body) = continue_v1(&bambora, merchant_data, back.field("PaRes").unwrap()).await;
    assert_eq!(http, StatusCode::PAYMENT_REQUIRED);
    assert_error(&body, 311, 1);
    assert_eq!(body["3d_secure"]["downgraded"], false);
    assert_eq!(bambora.ledger().len(), 1);
}

#[tokio::test]
async fn foreign_or_broken_pares_is_400() {
    let bambora = Bambora::start().await;
    let (first, first_back) = challenge_v1(&bambora, json!(1), Answer::Code("1234")).await;
    let (second, _) = challenge_v1(&bambora, json!(1), Answer::Code("1234")).await;
    let second_id = second["merchant_data"].as_str().unwrap();
    let first_pares = first_back.field("PaRes").unwrap();
    let (http, body) = continue_v1(&bambora, second_id, first_pares).await;
    assert_eq!(http, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(detail_fields(&body), ["card_response.pa_res"]);
    let (http, _) = continue_v1(&bambora, second_id, "TEST_PaRes").await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    // A cres where a PaRes is due.
    let (http, _) = continue_v2(&bambora, second_id, "eyJ9").await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert!(bambora.ledger().is_empty());
    let first_id = first["merchant_data"].as_str().unwrap();
    assert_eq!(
        continue_v1(&bambora, first_id, first_pares).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn three_ds1_not_enrolled_is_unavailable() {
    let bambora = Bambora::start().await;
    let (http, body) = bambora
        .post("/v1/payments", &payment("4000000000003105", three_ds2()))
        .await;
    assert_eq!(http, StatusCode::OK, "{body}");
    assert_approved(&body, "Unavailable", 7, "VI");
    assert_eq!(body["3d_secure"]["downgraded"], true);
    assert!(body["card"].get("cavv_result").is_none());
    let mut strict = three_ds2();
    strict["auth_required"] = json!(true);
    let (http, body) = bambora
        .post("/v1/payments", &payment("4000000000003105", strict))
        .await;
    assert_eq!(http, StatusCode::PAYMENT_REQUIRED);
    assert_error(&body, 311, 1);
    assert_eq!(bambora.ledger().len(), 1);
}

#[tokio::test]
async fn merchant_mpi_passthrough() {
    let bambora = Bambora::start().await;
    let mut v2 = payment("4000000000001000", Value::Null);
    v2["card"].as_object_mut().unwrap().remove("3d_secure");
    v2["card"]["3d_secure_passthrough"] = json!({"version": 2, "eci": 5,
        "cavv": "AAABAXlHEQAAAAGXAEcRAAAAAAA=",
        "ds_transaction_id": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"});
    let (http, body) = bambora.post("/v1/payments", &v2).await;
    assert_eq!(http, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["card"]["eci"], &body["card"]["cavv_result"]),
        (&json!(5), &json!("2"))
    );
    assert!(
        body.get("3d_secure").is_none(),
        "Bambora did not authenticate"
    );

    let legacy = payment(
        "5200000000001005",
        json!({"enabled": true, "xid": "1368023", "cavv": "AAABAXlHEQAAAAGXAEcRAAAAAAA=", "eci": 2}),
    );
    let (http, body) = bambora.post("/v1/payments", &legacy).await;
    assert_eq!(http, StatusCode::OK, "{body}");
    assert_eq!(body["card"]["eci"], 2);

    // Bad values: an ECI Visa does not use, a proving ECI without CAVV, a bad DS id.
    let mut bad = v2.clone();
    bad["card"]["3d_secure_passthrough"]["eci"] = json!(2);
    let (http, body) = bambora.post("/v1/payments", &bad).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(detail_fields(&body), ["card.3d_secure_passthrough.eci"]);
    let mut bad = v2.clone();
    bad["card"]["3d_secure_passthrough"]
        .as_object_mut()
        .unwrap()
        .remove("cavv");
    let (http, body) = bambora.post("/v1/payments", &bad).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(detail_fields(&body), ["card.3d_secure_passthrough.cavv"]);
    let mut bad = v2.clone();
    bad["card"]["3d_secure_passthrough"]["ds_transaction_id"] = json!("nope");
    bad["card"]["3d_secure_passthrough"]["version"] = json!(1);
    let (http, body) = bambora.post("/v1/payments", &bad).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail_fields(&body),
        [
            "card.3d_secure_passthrough.version",
            "card.3d_secure_passthrough.ds_transaction_id"
        ]
    );
    // The issuer still decides the authorization.
    let mut declined = v2.clone();
    declined["card"]["number"] = json!("4000000000004004");
    assert_eq!(
        bambora.post("/v1/payments", &declined).await.0,
        StatusCode::PAYMENT_REQUIRED
    );
    assert_eq!(bambora.ledger().len(), 2);
}

#[tokio::test]
async fn single_use_token_payment() {
    let bambora = Bambora::start().await;
    let card = json!({"number": "4000000000002008", "expiry_month": "09", "expiry_year": "35", "cvd": "123"});
    let (http, token) = read(
        bambora
            .client
            .post(bambora.url("/scripts/tokenization/tokens"))
            .json(&card)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(http, StatusCode::OK);
    assert_eq!(token["code"], "1");
    let code = token["token"].as_str().unwrap();
    let request = json!({"payment_method": "token", "order_number": "order-token", "amount": 15.99,
        "term_url": TERM_URL,
        "token": {"code": code, "name": "John Doe", "complete": true, "3d_secure": three_ds2()}});
    let (http, body) = bambora.post("/v1/payments", &request).await;
    assert_eq!(http, StatusCode::FOUND, "{body}");
    let (http, body) = bambora.post("/v1/payments", &request).await;
    assert_eq!(http, StatusCode::BAD_REQUEST, "single use: {body}");
    assert_eq!(detail_fields(&body), ["token.code"]);
}

#[tokio::test]
async fn bad_input_gets_bambora_errors() {
    let bambora = Bambora::start().await;
    let send =
        |request: reqwest::RequestBuilder| async { read(request.send().await.unwrap()).await };
    let post = |path: &str| {
        bambora
            .client
            .post(bambora.url(path))
            .header("Authorization", SEED_AUTH)
    };
    // Malformed JSON, a JSON array, wrong types, an oversize body.
    for raw in ["{\"amount\": ", "[1,2]"] {
        let (http, body) = send(
            post("/v1/payments")
                .header("Content-Type", "application/json")
                .body(raw),
        )
        .await;
        assert_eq!(http, StatusCode::BAD_REQUEST);
        assert_error(&body, 314, 3);
        assert_eq!(detail_fields(&body), ["body"]);
    }
    let (http, body) =
        send(post("/v1/payments").json(&json!({"amount": "15.99", "payment_method": 3}))).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(detail_fields(&body), ["amount", "payment_method"]);
    let huge = json!({"amount": 1, "payment_method": "card", "comments": "x".repeat(70 * 1024)});
    let (http, body) = send(post("/v1/payments").json(&huge)).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_error(&body, 314, 3);
    // 3DS 2 without the browser object; an invalid card number; no term_url.
    let mut no_browser = payment("4000000000001000", json!({"enabled": true, "version": 2}));
    let (http, body) = send(post("/v1/payments").json(&no_browser)).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(detail_fields(&body), ["card.3d_secure.browser"]);
    no_browser["card"]["number"] = json!("4000000000001001");
    no_browser.as_object_mut().unwrap().remove("term_url");
    let (_, body) = send(post("/v1/payments").json(&no_browser)).await;
    assert_eq!(detail_fields(&body), ["card.number", "term_url"]);
    // Not JSON at all: 415.
    let (http, body) = send(
        post("/v1/payments")
            .header("Content-Type", "text/plain")
            .body("amount=1"),
    )
    .await;
    assert_eq!(http, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&body, 415, 3);
    // Wrong method and unknown path keep the shape.
    let (http, body) = send(
        bambora
            .client
            .delete(bambora.url("/v1/payments"))
            .header("Authorization", SEED_AUTH),
    )
    .await;
    assert_eq!(http, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&body, 405, 3);
    let (http, body) = send(post("/v1/nothing").json(&json!({}))).await;
    assert_eq!(http, StatusCode::NOT_FOUND);
    assert_error(&body, 404, 3);
    // Unknown ids.
    let (http, body) = bambora.get("/v1/payments/99999999").await;
    assert_eq!(http, StatusCode::NOT_FOUND);
    assert_error(&body, 314, 3);
    let (http, body) = continue_v2(&bambora, "unknown-session", "abc").await;
    assert_eq!(http, StatusCode::NOT_FOUND);
    assert_error(&body, 314, 3);
    // Continue bodies.
    let (http, body) =
        send(post("/v1/payments/x/continue").json(&json!({"payment_method": "credit_card"}))).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(detail_fields(&body), ["card_response"]);
    let (http, _) = send(
        post("/v1/payments/x/continue")
            .header("Content-Type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    // Tokenization: broken JSON is an error; bad card data still gets a (useless) token.
    let (http, body) = send(
        bambora
            .client
            .post(bambora.url("/scripts/tokenization/tokens"))
            .header("Content-Type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_error(&body, 314, 3);
    let (http, body) = send(
        bambora
            .client
            .post(bambora.url("/scripts/tokenization/tokens"))
            .json(&json!({"number": "123"})),
    )
    .await;
    assert_eq!(http, StatusCode::OK);
    assert_ne!(body["code"], "1");
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

/// A pre-auth of 15.99: its transaction id.
async fn pre_auth(bambora: &Bambora) -> String {
    let mut request = payment("4000000000001000", three_ds2());
    request["card"]["complete"] = json!(false);
    let (http, body) = bambora.post("/v1/payments", &request).await;
    assert_eq!(
        (http, &body["type"]),
        (StatusCode::OK, &json!("PA")),
        "{body}"
    );
    body["id"].as_str().unwrap().to_owned()
}

fn refused(answer: &(StatusCode, Value), code: u32) {
    let (http, body) = answer;
    assert_eq!(*http, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["category"], 2, "a business rule: {body}");
    assert!(body["message"].is_string(), "{body}");
}

#[tokio::test]
async fn completions_voids_and_returns_book_the_ledger_and_refuse_in_bambora_s_shape() {
    let bambora = Bambora::start().await;
    let id = pre_auth(&bambora).await;
    let ledger = &bambora.running.sandbox.ledger;
    let path = |what: &str| format!("/v1/payments/{id}/{what}");
    refused(
        &bambora
            .post(&path("returns"), &json!({"amount": 1.00}))
            .await,
        199,
    );
    refused(
        &bambora
            .post(&path("completions"), &json!({"amount": 16.00}))
            .await,
        197,
    );
    let (http, completion) = bambora
        .post(
            &path("completions"),
            &json!({"amount": 10.00, "order_number": "op-1"}),
        )
        .await;
    assert_eq!(http, StatusCode::OK, "{completion}");
    assert_eq!(
        (&completion["type"], &completion["order_number"]),
        (&json!("PAC"), &json!("op-1"))
    );
    refused(
        &bambora
            .post(&path("completions"), &json!({"amount": 1.00}))
            .await,
        194,
    );
    refused(
        &bambora.post(&path("void"), &json!({"amount": 15.99})).await,
        194,
    );
    let completed = completion["id"].as_str().unwrap();
    let give_back = |amount: f64| json!({ "amount": amount });
    let returns = format!("/v1/payments/{completed}/returns");
    let (http, first) = bambora.post(&returns, &give_back(4.00)).await;
    assert_eq!(
        (http, &first["type"]),
        (StatusCode::OK, &json!("R")),
        "{first}"
    );
    refused(&bambora.post(&returns, &give_back(6.01)).await, 197);
    assert_eq!(
        bambora.post(&returns, &give_back(6.00)).await.0,
        StatusCode::OK
    );
    let balance = ledger.balance(Provider::Bambora, &id).expect("balance");
    assert_eq!(
        (balance.captured, balance.refunded, balance.voided),
        (1000, 1000, false)
    );
    assert_eq!(ledger.movements().len(), 3, "refusals book nothing");

    // The search finds the completion by its own order number, as the backend's lookup does.
    let (_, found) = bambora
        .post(
            "/v1/reports",
            &json!({"name": "Search", "start_date": "2000-01-01T00:00:00",
                    "end_date": "2999-01-01T00:00:00", "start_row": 1, "end_row": 10,
                    "criteria": [{"field": 5, "operator": "%3D", "value": "op-1"}]}),
        )
        .await;
    assert_eq!(found["records"][0]["trn_type"], "PAC", "{found}");
}

#[tokio::test]
async fn a_voided_or_expired_pre_auth_is_never_completed() {
    let bambora = Bambora::start().await;
    let voided = pre_auth(&bambora).await;
    let (http, void) = bambora
        .post(
            &format!("/v1/payments/{voided}/void"),
            &json!({"amount": 15.99}),
        )
        .await;
    assert_eq!(
        (http, &void["type"]),
        (StatusCode::OK, &json!("VP")),
        "{void}"
    );
    let complete = |id: &str| format!("/v1/payments/{id}/completions");
    refused(
        &bambora
            .post(&complete(&voided), &json!({"amount": 1.00}))
            .await,
        195,
    );
    refused(
        &bambora
            .post(
                &format!("/v1/payments/{voided}/void"),
                &json!({"amount": 15.99}),
            )
            .await,
        195,
    );
    let partial_void = bambora
        .post(
            &format!("/v1/payments/{}/void", pre_auth(&bambora).await),
            &json!({"amount": 1.00}),
        )
        .await;
    assert_eq!(
        partial_void.0,
        StatusCode::BAD_REQUEST,
        "a void is of the whole amount"
    );

    let expired = pre_auth(&bambora).await;
    let control = support::browser()
        .post(bambora.url(&format!("/_sandbox/expire/{expired}")))
        .send()
        .await
        .expect("expire");
    assert_eq!(control.status(), StatusCode::OK);
    refused(
        &bambora
            .post(&complete(&expired), &json!({"amount": 1.00}))
            .await,
        196,
    );
    let unknown = support::browser()
        .post(bambora.url("/_sandbox/expire/99999999"))
        .send()
        .await
        .expect("expire");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        bambora.running.sandbox.ledger.movements().len(),
        1,
        "only the void"
    );
}
