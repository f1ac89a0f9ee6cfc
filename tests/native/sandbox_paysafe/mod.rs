//! The Paysafe emulator over real HTTP: credentials, validation, every contract card
//! Paysafe's flow can express (driven through the sandbox ACS pages as a browser
//! would), finalization, and authorizations checked against the ledger.

use crate::support;

use base64::Engine;
use serde_json::{json, Value};
use support::{browser, form, sandbox};
use threeds_bridge::emv::{BrowserDetails, BrowserReadings, ServerReadings, ThreeDsMethodData};
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::sandbox::RunningSandbox;

mod authorization;
mod challenge;

const ACCOUNT: &str = "89987201";
const USER: &str = "sandbox-paysafe-user";
const PASSWORD: &str = "sandbox-paysafe-password";
const MERCHANT_RETURN: &str = "http://127.0.0.1:8080/returns/paysafe";

struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn new(sandbox: &RunningSandbox) -> Api {
        Api {
            base: format!("{}/paysafe", sandbox.url),
            client: browser(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, body)
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        self.send(
            self.client
                .post(url)
                .basic_auth(USER, Some(PASSWORD))
                .json(body),
        )
        .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        self.send(self.client.get(url).basic_auth(USER, Some(PASSWORD)))
            .await
    }

    async fn session(&self, pan: &str, with_card_num: bool) -> Value {
        let mut card = json!({"cardBin": &pan[..8]});
        if with_card_num {
            card["cardNum"] = json!(pan);
        }
        let (status, body) = self
            .post(
                "/threedsecure/v2/jwt",
                &json!({"card": card, "accountId": ACCOUNT}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A fingerprinting session and an authentication for `pan`.
    async fn authenticate(&self, pan: &str) -> (u16, Value) {
        let session = self.session(pan, false).await;
        let request = authentication_request(pan, &session["deviceFingerprintingId"]);
        self.post(&auth_path(), &request).await
    }

    async fn authorize(&self, body: &Value) -> (u16, Value) {
        self.post(&format!("/cardpayments/v1/accounts/{ACCOUNT}/auths"), body)
            .await
    }
}

fn auth_path() -> String {
    format!("/threedsecure/v2/accounts/{ACCOUNT}/authentications")
}

fn unique_ref(tag: &str) -> String {
    format!("{tag}-{}", uuid::Uuid::new_v4())
}

fn authentication_request(pan: &str, fingerprint_id: &Value) -> Value {
    json!({
        "deviceFingerprintingId": fingerprint_id,
        "merchantRefNum": unique_ref("order"),
        "amount": 1099,
        "currency": "USD",
        "card": {"cardNum": pan, "cardExpiry": {"month": 12, "year": 2040}, "holderName": "Jane Doe"},
        "merchantUrl": MERCHANT_RETURN,
        "authenticationPurpose": "PAYMENT_TRANSACTION",
        "deviceChannel": "BROWSER",
        "messageCategory": "PAYMENT",
        "requestorChallengePreference": "NO_PREFERENCE",
    })
}

fn field_names(body: &Value) -> Vec<String> {
    body["error"]["fieldErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    let link = &body["error"]["links"][0];
    assert_eq!(link["rel"], "errorinfo");
    assert!(link["href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("#ErrorCode{code}")));
}

fn paysafe_ledger(sandbox: &RunningSandbox) -> Vec<threeds_bridge::sandbox::ledger::LedgerEntry> {
    sandbox
        .sandbox
        .ledger
        .entries()
        .into_iter()
        .filter(|e| e.provider == Provider::Paysafe)
        .collect()
}

/// The `{id, transactionId, payload, accountId}` inside `sdkChallengePayload`.
fn challenge_payload(authentication: &Value) -> Value {
    let encoded = authentication["sdkChallengePayload"]
        .as_str()
        .expect("sdkChallengePayload");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// What reaches the merchant after the cardholder answers: the form the Paysafe
/// challenge-complete page auto-submits to merchantUrl.
async fn run_challenge(
    sandbox: &RunningSandbox,
    authentication: &Value,
    otp: &str,
    action: &str,
) -> support::PageForm {
    let client = browser();
    let inner = challenge_payload(authentication);
    let acs_url = authentication["acsUrl"].as_str().unwrap();
    let page = if authentication["threeDSecureVersion"] == "1.0.2" {
        let term_url = format!("{}/paysafe/threedsecure/v2/challenge-complete", sandbox.url);
        client
            .post(acs_url)
            .form(&[
                ("PaReq", inner["payload"].as_str().unwrap()),
                ("MD", inner["id"].as_str().unwrap()),
                ("TermUrl", term_url.as_str()),
            ])
            .send()
            .await
            .unwrap()
    } else {
        client
            .post(acs_url)
            .form(&[
                ("creq", inner["payload"].as_str().unwrap()),
                ("threeDSSessionData", "b3JkZXIx"),
            ])
            .send()
            .await
            .unwrap()
    };
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let mut challenge = form(&html, Some("challenge"));
    challenge.set("otp", otp);
    challenge.set("action", action);
    let to_paysafe = challenge.submit(&client, acs_url).await;
    assert_eq!(to_paysafe.status(), 200);
    let autosubmit = form(&to_paysafe.text().await.unwrap(), Some("autosubmit"));
    assert!(
        autosubmit
            .action
            .ends_with("/paysafe/threedsecure/v2/challenge-complete"),
        "{autosubmit:?}"
    );
    let to_merchant = autosubmit.submit(&client, &sandbox.url).await;
    assert_eq!(to_merchant.status(), 200);
    let merchant_form = form(&to_merchant.text().await.unwrap(), Some("autosubmit"));
    assert_eq!(merchant_form.action, MERCHANT_RETURN);
    assert_eq!(
        merchant_form.field("authenticationId"),
        authentication["id"].as_str()
    );
    merchant_form
}

async fn finalize(api: &Api, id: &Value, payload: &str) -> (u16, Value) {
    api.post(
        &format!("{}/{}/finalize", auth_path(), id.as_str().unwrap()),
        &json!({"payload": payload}),
    )
    .await
}

fn auth_request(pan: &str, reference: &str, authentication: Option<Value>) -> Value {
    let mut body = json!({
        "merchantRefNum": reference,
        "amount": 1099,
        "settleWithAuth": false,
        "card": {"cardNum": pan, "cardExpiry": {"month": 12, "year": 2040}, "cvv": "123"},
        "billingDetails": {"zip": "10001", "country": "US"},
    });
    if let Some(block) = authentication {
        body["authentication"] = block;
    }
    body
}

/// The authentication block a merchant copies from a completed authentication.
fn block_of(authentication: &Value) -> Value {
    let mut block = json!({
        "eci": authentication["eci"],
        "threeDSecureVersion": authentication["threeDSecureVersion"],
    });
    for name in [
        "cavv",
        "threeDResult",
        "directoryServerTransactionId",
        "xid",
        "threeDEnrollment",
        "signatureStatus",
    ] {
        if !authentication[name].is_null() {
            block[name] = authentication[name].clone();
        }
    }
    block
}

#[tokio::test]
async fn monitor_and_credentials() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (status, body) = api
        .send(api.client.get(format!("{}/threedsecure/monitor", api.base)))
        .await;
    assert_eq!((status, body), (200, json!({"status": "READY"})));

    let path = format!("{}{}", api.base, auth_path());
    let (status, body) = api.send(api.client.post(&path).json(&json!({}))).await;
    assert_error(status, &body, 401, "5279");
    let (status, body) = api
        .send(
            api.client
                .post(&path)
                .basic_auth(USER, Some("wrong"))
                .json(&json!({})),
        )
        .await;
    assert_error(status, &body, 401, "5279");
    let (status, body) = api
        .send(
            api.client
                .post(format!("{}/threedsecure/v2/jwt", api.base))
                .bearer_auth("x")
                .json(&json!({})),
        )
        .await;
    assert_error(status, &body, 401, "5279");
    // Good credentials, another merchant's account.
    let (status, body) = api
        .post(
            "/threedsecure/v2/accounts/11111111/authentications",
            &json!({}),
        )
        .await;
    assert_error(status, &body, 401, "5270");
    let (status, body) = api.authorize(&json!({})).await;
    assert_error(status, &body, 400, "5068");
    let (status, body) = api
        .post("/cardpayments/v1/accounts/11111111/auths", &json!({}))
        .await;
    assert_error(status, &body, 401, "5270");
    let (status, body) = api.get("/no/such/path").await;
    assert_error(status, &body, 404, "5269");
}

#[tokio::test]
async fn jwt_opens_a_fingerprinting_session() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (status, body) = api
        .post(
            "/threedsecure/v2/jwt",
            &json!({"card": {"cardBin": "40000000"}, "accountId": ACCOUNT, "sdk": {"type": "BROWSER", "version": "1.0.0"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for member in ["id", "deviceFingerprintingId", "jwt"] {
        assert!(
            body[member].as_str().is_some_and(|s| !s.is_empty()),
            "{member}: {body}"
        );
    }
    assert!(body["deviceFingerprintingId"].as_str().unwrap().len() <= 36);
    assert_eq!(body["accountId"], ACCOUNT);
    assert_eq!(body["card"], json!({"cardBin": "40000000"}));
    assert_eq!(body["sdk"], json!({"type": "BROWSER", "version": "1.0.0"}));
    assert_eq!(body["jwt"].as_str().unwrap().split('.').count(), 3);
    assert!(
        body.get("methodUrl").is_none(),
        "no Method without the sandbox cardNum"
    );

    let (status, body) = api
        .post(
            "/threedsecure/v2/jwt",
            &json!({"card": {"cardBin": "40"}, "accountId": ACCOUNT}),
        )
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), ["card.cardBin"]);
    let (status, body) = api
        .post(
            "/threedsecure/v2/jwt",
            &json!({"card": {"cardBin": "400000"}, "accountId": "123"}),
        )
        .await;
    assert_error(status, &body, 401, "5270");
}

#[tokio::test]
async fn malformed_bodies_get_the_error_envelope() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let url = format!("{}{}", api.base, auth_path());
    let raw = |body: Vec<u8>| {
        api.client
            .post(&url)
            .basic_auth(USER, Some(PASSWORD))
            .header("content-type", "application/json")
            .body(body)
    };
    let (status, body) = api.send(raw(b"{\"amount\": ".to_vec())).await;
    assert_error(status, &body, 400, "5023");
    let (status, body) = api.send(raw(b"[1, 2]".to_vec())).await;
    assert_error(status, &body, 400, "5023");
    let mut huge = b"{\"merchantRefNum\": \"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 200 * 1024));
    huge.extend(b"\"}");
    let (status, body) = api.send(raw(huge)).await;
    assert_error(status, &body, 400, "5023");

    // Wrong JSON types are field errors.
    let session = api.session("4000000000001000", false).await;
    let mut request =
        authentication_request("4000000000001000", &session["deviceFingerprintingId"]);
    request["amount"] = json!("1099");
    request["card"]["cardExpiry"]["month"] = json!(12.5);
    request["card"]["holderName"] = json!(42);
    let (status, body) = api.post(&auth_path(), &request).await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(
        field_names(&body),
        ["amount", "card.cardExpiry.month", "card.holderName"]
    );
}

#[tokio::test]
async fn authentication_fields_are_validated() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (status, body) = api.post(&auth_path(), &json!({})).await;
    assert_error(status, &body, 400, "5068");
    let mut missing = field_names(&body);
    missing.sort();
    assert_eq!(
        missing,
        [
            "amount",
            "authenticationPurpose",
            "card",
            "currency",
            "deviceChannel",
            "deviceFingerprintingId",
            "merchantRefNum",
            "merchantUrl",
            "messageCategory"
        ]
    );

    let session = api.session("4000000000001000", false).await;
    let mut request =
        authentication_request("4000000000001000", &session["deviceFingerprintingId"]);
    request["card"] = json!({"cardNum": "4000000000001000", "cardExpiry": {"month": 13}, "holderName": "x".repeat(46)});
    request["deviceChannel"] = json!("PHONE");
    request["messageCategory"] = json!("payment");
    request["authenticationPurpose"] = json!("INSTALMENT_TRANSACTION");
    request["requestorChallengePreference"] = json!("ALWAYS");
    request["amount"] = json!(100_000_000_000_i64);
    request["currency"] = json!("US");
    request["merchantUrl"] = json!("not a url");
    request["browserDetails"] = json!({
        "acceptHeader": "text/html",
        "colorDepthBits": "30",
        "customerIp": "300.1.1.1",
        "javascriptEnabled": true,
        "language": "en-GB-oxendict",
        "screenHeight": 1_000_000,
        "screenWidth": 1920,
        "timezoneOffset": 300,
        "userAgent": "u".repeat(257),
    });
    let (status, body) = api.post(&auth_path(), &request).await;
    assert_error(status, &body, 400, "5068");
    let mut fields = field_names(&body);
    fields.sort();
    assert_eq!(
        fields,
        [
            "amount",
            "authenticationPurpose",
            "browserDetails.colorDepthBits",
            "browserDetails.customerIp",
            "browserDetails.javaEnabled",
            "browserDetails.language",
            "browserDetails.screenHeight",
            "browserDetails.userAgent",
            "card.cardExpiry.month",
            "card.cardExpiry.year",
            "card.holderName",
            "currency",
            "deviceChannel",
            "maxAuthorizationsForInstalmentPayment",
            "merchantUrl",
            "messageCategory",
            "requestorChallengePreference",
        ]
        .into_iter()
        .filter(|f| *f != "authenticationPurpose")
        .collect::<Vec<_>>()
    );
    for error in body["error"]["fieldErrors"].as_array().unwrap() {
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{error}"
        );
    }

    // A card number that is not one, and an expired card.
    let mut request =
        authentication_request("4000000000001001", &session["deviceFingerprintingId"]);
    let (status, body) = api.post(&auth_path(), &request).await;
    assert_error(status, &body, 400, "3002");
    request["card"]["cardNum"] = json!("4000000000001000");
    request["card"]["cardExpiry"] = json!({"month": 1, "year": 2020});
    let (status, body) = api.post(&auth_path(), &request).await;
    assert_error(status, &body, 400, "3006");

    // The fingerprinting session must exist.
    let request = authentication_request("4000000000001000", &json!("no-such-session"));
    let (status, body) = api.post(&auth_path(), &request).await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), ["deviceFingerprintingId"]);
}

#[tokio::test]
async fn browser_details_from_the_emv_core_are_accepted() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let cases = [
        ("203.0.113.9", -330, 24, "en-GB-oxendict", 2560),
        ("2001:db8::1", 300, 30, "zh-Hant-TW", 1024),
    ];
    for (ip, timezone, depth, language, width) in cases {
        let page = BrowserReadings {
            screen_width: Some(width),
            screen_height: Some(1440),
            color_depth: Some(depth),
            timezone_offset: Some(timezone),
            language: Some(language.to_owned()),
            languages: vec![language.to_owned()],
            java_enabled: None,
            javascript_enabled: true,
            user_agent: None,
        };
        let server = ServerReadings {
            accept_header: Some(format!("text/html,{}", "a".repeat(2100))),
            accept_language: Some("en-GB,en;q=0.8".to_owned()),
            user_agent: Some(format!("Mozilla/5.0 {}", "x".repeat(400))),
            ip: Some(ip.to_owned()),
        };
        let details = BrowserDetails::build(&page, &server).expect("browser details");
        let wire = serde_json::to_value(details.to_paysafe().expect("paysafe shape")).unwrap();
        let session = api.session("4000000000001000", false).await;
        let mut request =
            authentication_request("4000000000001000", &session["deviceFingerprintingId"]);
        request["browserDetails"] = wire.clone();
        let (status, body) = api.post(&auth_path(), &request).await;
        assert_eq!(status, 200, "{wire} → {body}");
        assert_eq!(body["status"], "COMPLETED");
    }
}

#[tokio::test]
async fn frictionless_cards() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let cases = [
        ("4000000000001000", "Y", 5, true),
        ("4000000000001109", "A", 6, true),
        ("4000000000001208", "N", 7, false),
        ("4000000000001307", "U", 7, false),
        ("4000000000001406", "R", 7, false),
        ("5200000000001005", "Y", 2, true),
        ("5200000000001104", "A", 1, true),
        ("4111111111111111", "Y", 5, true),
    ];
    for (pan, result, eci, has_cavv) in cases {
        let (status, body) = api.authenticate(pan).await;
        assert_eq!(status, 200, "{pan}: {body}");
        assert_eq!(body["status"], "COMPLETED", "{pan}");
        assert_eq!(body["threeDResult"], result, "{pan}");
        assert_eq!(body["threeDEnrollment"], "Y", "{pan}");
        assert_eq!(body["eci"], json!(eci), "{pan}: eci is an integer");
        assert_eq!(
            body["cavv"].as_str().map(str::len),
            has_cavv.then_some(28),
            "{pan}"
        );
        assert_eq!(body["threeDSecureVersion"], "2.2.0");
        assert!(body["directoryServerTransactionId"].is_string());
        assert!(body["threeDSecureServerTransactionId"].is_string());
        assert_eq!(body["card"]["lastDigits"], &pan[pan.len() - 4..]);
        assert!(body.get("acsUrl").is_none());
        let (status, fetched) = api
            .get(&format!("{}/{}", auth_path(), body["id"].as_str().unwrap()))
            .await;
        assert_eq!((status, &fetched), (200, &body));
        assert!(
            !fetched.to_string().contains(pan),
            "the full PAN must not come back"
        );
    }
}

#[tokio::test]
async fn merchant_ref_num_and_sessions_are_single_use() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let session = api.session("4000000000001000", false).await;
    let request = authentication_request("4000000000001000", &session["deviceFingerprintingId"]);
    let (status, first) = api.post(&auth_path(), &request).await;
    assert_eq!(status, 200);
    let (status, body) = api.post(&auth_path(), &request).await;
    assert_error(status, &body, 409, "5031");
    assert_eq!(body["existingTransactionId"], first["id"]);
    let mut again = request.clone();
    again["merchantRefNum"] = json!(unique_ref("other"));
    let (status, body) = api.post(&auth_path(), &again).await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), ["deviceFingerprintingId"]);
    // A session opened for another BIN.
    let session = api.session("5200000000001005", false).await;
    let request = authentication_request("4000000000001000", &session["deviceFingerprintingId"]);
    let (status, body) = api.post(&auth_path(), &request).await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), ["card.cardNum"]);
}
