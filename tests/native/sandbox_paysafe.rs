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

#[tokio::test]
async fn challenge_with_the_right_code_then_authorization_once() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (status, pending) = api.authenticate("4000000000002008").await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["threeDResult"], "C");
    assert_eq!(
        pending["acsUrl"],
        format!("{}/acs/challenge", sandbox.url),
        "absolute ACS URL"
    );
    let inner = challenge_payload(&pending);
    assert_eq!(inner["id"], pending["id"]);
    assert_eq!(inner["accountId"], ACCOUNT);
    let creq = threeds_bridge::emv::CReq::from_base64url(inner["payload"].as_str().unwrap())
        .expect("a CReq");
    assert_eq!(creq.acs_trans_id, inner["transactionId"].as_str().unwrap());
    assert_eq!(
        creq.three_ds_server_trans_id,
        pending["threeDSecureServerTransactionId"].as_str().unwrap()
    );

    // Finalizing before the cardholder answered is refused.
    let fake_cres = threeds_bridge::emv::base64url::encode(
        json!({"threeDSServerTransID": creq.three_ds_server_trans_id, "acsTransID": creq.acs_trans_id,
               "messageType": "CRes", "messageVersion": "2.2.0", "transStatus": "Y"})
        .to_string(),
    );
    let (status, body) = finalize(&api, &pending["id"], &fake_cres).await;
    assert_error(status, &body, 400, "5068");

    let returned = run_challenge(&sandbox, &pending, "1234", "submit").await;
    assert_eq!(returned.field("threeDSSessionData"), Some("b3JkZXIx"));
    let payload = returned.field("payload").unwrap();
    let (status, done) = finalize(&api, &pending["id"], payload).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["threeDResult"], "Y");
    assert_eq!(done["eci"], 5);
    assert_eq!(done["cavv"].as_str().map(str::len), Some(28));
    assert_eq!(
        done["directoryServerTransactionId"],
        pending["directoryServerTransactionId"]
    );
    assert!(done.get("acsUrl").is_none());
    let (_, twice) = finalize(&api, &pending["id"], payload).await;
    assert_eq!(twice, done, "finalize is idempotent");
    let (_, fetched) = api
        .get(&format!("{}/{}", auth_path(), done["id"].as_str().unwrap()))
        .await;
    assert_eq!(fetched, done);

    // The authorization with the genuine block: approved once, whatever the retries.
    let reference = unique_ref("order");
    let request = auth_request("4000000000002008", &reference, Some(block_of(&done)));
    let (status, auth) = api.authorize(&request).await;
    assert_eq!(status, 200, "{auth}");
    assert_eq!(auth["status"], "COMPLETED");
    assert_eq!(auth["amount"], 1099);
    assert_eq!(auth["availableToSettle"], 1099);
    assert_eq!(auth["authCode"].as_str().map(str::len), Some(6));
    assert_eq!(
        auth["card"],
        json!({"type": "VI", "lastDigits": "2008", "cardExpiry": {"month": 12, "year": 2040}})
    );
    assert_eq!(auth["currencyCode"], "USD");
    assert_eq!(auth["merchantRefNum"], reference.as_str());
    let ledger = paysafe_ledger(&sandbox);
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].provider_payment_id, auth["id"].as_str().unwrap());
    assert_eq!(ledger[0].order_id, reference);
    assert_eq!(
        (ledger[0].amount, ledger[0].currency.as_str()),
        (1099, "USD")
    );
    assert_eq!(ledger[0].card, "400000******2008");

    // Paysafe's duplicate check: the same merchantRefNum again, the same request or not.
    let (status, retry) = api.authorize(&request).await;
    assert_error(status, &retry, 409, "5031");
    assert_eq!(retry["existingTransactionId"], auth["id"]);
    let mut changed = request.clone();
    changed["amount"] = json!(2000);
    let (status, body) = api.authorize(&changed).await;
    assert_error(status, &body, 409, "5031");
    assert_eq!(body["existingTransactionId"], auth["id"]);
    assert_eq!(paysafe_ledger(&sandbox).len(), 1, "never a second charge");

    let (status, fetched) = api
        .get(&format!(
            "/cardpayments/v1/accounts/{ACCOUNT}/auths/{}",
            auth["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!((status, &fetched), (200, &auth));
    let (status, found) = api
        .get(&format!(
            "/cardpayments/v1/accounts/{ACCOUNT}/auths?merchantRefNum={reference}"
        ))
        .await;
    assert_eq!((status, found), (200, json!({"auths": [auth]})));
}

#[tokio::test]
async fn challenge_wrong_code_and_cancel_end_in_n() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    for (pan, otp, action) in [
        ("4000000000002008", "9999", "submit"),
        ("5200000000002003", "", "cancel"),
        ("370000000000200", "0000", "submit"),
    ] {
        let (_, pending) = api.authenticate(pan).await;
        assert_eq!(pending["status"], "PENDING", "{pan}");
        let returned = run_challenge(&sandbox, &pending, otp, action).await;
        let (status, done) =
            finalize(&api, &pending["id"], returned.field("payload").unwrap()).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(
            (done["status"].as_str(), done["threeDResult"].as_str()),
            (Some("COMPLETED"), Some("N")),
            "{pan}"
        );
        assert!(done.get("cavv").is_none());
        let cancelled = (action == "cancel").then_some("01");
        assert_eq!(done["challengeCancel"].as_str(), cancelled, "{pan}: {done}");
        // No authorization may follow an N.
        let (status, body) = api
            .authorize(&auth_request(pan, &unique_ref("n"), Some(block_of(&done))))
            .await;
        assert_error(status, &body, 400, "5068");
        assert!(
            field_names(&body).contains(&"authentication.threeDResult".to_owned()),
            "{body}"
        );
    }
    assert!(paysafe_ledger(&sandbox).is_empty());
}

#[tokio::test]
async fn amex_challenge_success_and_finalize_guards() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (_, first) = api.authenticate("370000000000200").await;
    let (_, second) = api.authenticate("5200000000002003").await;
    let first_return = run_challenge(&sandbox, &first, "1234", "submit").await;
    let first_payload = first_return.field("payload").unwrap();
    // The payload of one authentication cannot finalize another.
    let (status, body) = finalize(&api, &second["id"], first_payload).await;
    assert_error(status, &body, 400, "5068");
    let (status, body) = finalize(&api, &second["id"], "garbage!").await;
    assert_error(status, &body, 400, "5068");
    let (status, body) = api
        .post(
            &format!(
                "{}/{}/finalize",
                auth_path(),
                second["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    assert_error(status, &body, 400, "5068");
    let (_, still) = api
        .get(&format!(
            "{}/{}",
            auth_path(),
            second["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(still["status"], "PENDING");

    let (status, done) = finalize(&api, &first["id"], first_payload).await;
    assert_eq!(status, 200);
    assert_eq!(
        (done["threeDResult"].as_str(), done["eci"].as_i64()),
        (Some("Y"), Some(5))
    );
    assert_eq!(done["card"]["type"], "AM");

    // A frictionless authentication has nothing to finalize.
    let (_, frictionless) = api.authenticate("4000000000001000").await;
    let (status, body) = finalize(&api, &frictionless["id"], first_payload).await;
    assert_error(status, &body, 400, "5068");
}

#[tokio::test]
async fn three_ds_one_cards() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    // 3006: enrolled on 1.0.2, PaReq/PaRes challenge.
    let (status, pending) = api.authenticate("4000000000003006").await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["threeDEnrollment"], "Y");
    assert_eq!(pending["threeDSecureVersion"], "1.0.2");
    assert!(
        pending.get("threeDResult").is_none(),
        "threeDEnrollment replaces threeDResult"
    );
    assert_eq!(pending["acsUrl"], format!("{}/acs/pareq", sandbox.url));
    let inner = challenge_payload(&pending);
    assert_eq!(
        threeds_bridge::sandbox::acs::decode_pareq_xid(inner["payload"].as_str().unwrap())
            .as_deref(),
        inner["transactionId"].as_str()
    );
    let returned = run_challenge(&sandbox, &pending, "1234", "submit").await;
    assert_eq!(returned.field("MD"), pending["id"].as_str());
    let (status, done) = finalize(&api, &pending["id"], returned.field("payload").unwrap()).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["threeDResult"], "Y");
    assert_eq!(done["eci"], 5);
    assert_eq!(done["xid"], inner["transactionId"]);
    assert_eq!(done["signatureStatus"], "Y");
    assert_eq!(done["cavv"].as_str().map(str::len), Some(28));
    let (status, auth) = api
        .authorize(&auth_request(
            "4000000000003006",
            &unique_ref("3ds1"),
            Some(block_of(&done)),
        ))
        .await;
    assert_eq!(
        (status, auth["status"].as_str()),
        (200, Some("COMPLETED")),
        "{auth}"
    );

    // 3105: 1.0.2 range, not enrolled.
    let (status, not_enrolled) = api.authenticate("4000000000003105").await;
    assert_eq!(status, 200);
    assert_eq!(not_enrolled["status"], "COMPLETED");
    assert_eq!(not_enrolled["threeDEnrollment"], "N");
    assert_eq!(not_enrolled["threeDSecureVersion"], "1.0.2");
    assert!(not_enrolled.get("threeDResult").is_none());
    assert!(not_enrolled.get("cavv").is_none());
    assert_eq!(not_enrolled["eci"], 7);
    let block = json!({"eci": 7, "threeDEnrollment": "N", "threeDSecureVersion": "1.0.2"});
    let (status, auth) = api
        .authorize(&auth_request(
            "4000000000003105",
            &unique_ref("3ds1n"),
            Some(block),
        ))
        .await;
    assert_eq!(
        (status, auth["status"].as_str()),
        (200, Some("COMPLETED")),
        "{auth}"
    );
    assert_eq!(paysafe_ledger(&sandbox).len(), 2);
}

#[tokio::test]
async fn method_cards() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let client = browser();
    // 2107: the Method answers, then the issuer challenges.
    let session = api.session("4000000000002107", true).await;
    let method_url = session["methodUrl"]
        .as_str()
        .expect("methodUrl for a Method card");
    assert_eq!(method_url, format!("{}/acs/method", sandbox.url));
    let data = session["threeDSMethodData"].as_str().unwrap();
    let decoded = ThreeDsMethodData::from_base64url(data).unwrap();
    let trans_id = decoded.three_ds_server_trans_id.clone();
    let page = client
        .post(method_url)
        .form(&[("threeDSMethodData", data)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let notify = form(&page.text().await.unwrap(), Some("autosubmit"));
    assert!(notify
        .action
        .ends_with("/paysafe/threedsecure/v2/method-complete"));
    let done = notify.submit(&client, &sandbox.url).await;
    assert_eq!(done.status(), 200);
    assert!(sandbox.sandbox.acs.method_completed(&trans_id));
    let request = authentication_request("4000000000002107", &session["deviceFingerprintingId"]);
    let (status, pending) = api.post(&auth_path(), &request).await;
    assert_eq!(status, 200);
    assert_eq!(
        pending["threeDSecureServerTransactionId"],
        trans_id.as_str(),
        "the Method's transaction"
    );
    assert_eq!(
        (pending["status"].as_str(), pending["threeDResult"].as_str()),
        (Some("PENDING"), Some("C"))
    );
    let returned = run_challenge(&sandbox, &pending, "1234", "submit").await;
    let (_, done) = finalize(&api, &pending["id"], returned.field("payload").unwrap()).await;
    assert_eq!(done["threeDResult"], "Y");

    // 2206: the Method page never posts back; after the wait, frictionless Y.
    let session = api.session("4000000000002206", true).await;
    let data = session["threeDSMethodData"].as_str().expect("Method data");
    let trans_id = ThreeDsMethodData::from_base64url(data)
        .unwrap()
        .three_ds_server_trans_id;
    let page = client
        .post(session["methodUrl"].as_str().unwrap())
        .form(&[("threeDSMethodData", data)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        !page.text().await.unwrap().contains("autosubmit"),
        "never answers"
    );
    assert!(!sandbox.sandbox.acs.method_completed(&trans_id));
    let request = authentication_request("4000000000002206", &session["deviceFingerprintingId"]);
    let (_, body) = api.post(&auth_path(), &request).await;
    assert_eq!(
        (body["status"].as_str(), body["threeDResult"].as_str()),
        (Some("COMPLETED"), Some("Y"))
    );

    // A card without a Method gets no Method URL even with the number.
    let session = api.session("4000000000001000", true).await;
    assert!(session.get("methodUrl").is_none());
}

#[tokio::test]
async fn issuer_decline_is_not_charged() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (_, authentication) = api.authenticate("4000000000004004").await;
    assert_eq!(authentication["threeDResult"], "Y");
    let reference = unique_ref("decline");
    let request = auth_request(
        "4000000000004004",
        &reference,
        Some(block_of(&authentication)),
    );
    let (status, body) = api.authorize(&request).await;
    assert_error(status, &body, 402, "3009");
    assert!(body["id"].is_string());
    assert_eq!(body["merchantRefNum"], reference.as_str());
    assert!(body["riskReasonCode"].is_array());
    // A declined authorization used its merchantRefNum too: a retry is a duplicate, and
    // the lookup shows the decline.
    let (status, again) = api.authorize(&request).await;
    assert_error(status, &again, 409, "5031");
    assert_eq!(again["existingTransactionId"], body["id"]);
    let (status, found) = api
        .get(&format!(
            "/cardpayments/v1/accounts/{ACCOUNT}/auths?merchantRefNum={reference}"
        ))
        .await;
    assert_eq!(status, 200);
    let found = &found["auths"][0];
    assert_eq!(found["id"], body["id"]);
    assert_eq!(found["status"], "FAILED");
    assert_eq!(found["error"]["code"], "3009");
    assert_eq!(
        (found["amount"].as_i64(), found["currencyCode"].as_str()),
        (Some(1099), Some("USD"))
    );
    assert!(paysafe_ledger(&sandbox).is_empty());

    // The lookup asks for its merchantRefNum, with Paysafe's credentials.
    let (status, body) = api
        .get(&format!("/cardpayments/v1/accounts/{ACCOUNT}/auths"))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), vec!["merchantRefNum"], "{body}");
    let (status, body) = api
        .send(
            api.client
                .get(format!(
                    "{}/cardpayments/v1/accounts/{ACCOUNT}/auths?merchantRefNum={reference}",
                    api.base
                ))
                .basic_auth(USER, Some("wrong")),
        )
        .await;
    assert_error(status, &body, 401, "5279");
    let (status, body) = api
        .get(&format!(
            "/cardpayments/v1/accounts/1234/auths?merchantRefNum={reference}"
        ))
        .await;
    assert_error(status, &body, 401, "5270");
}

#[tokio::test]
async fn forged_authentication_blocks_are_rejected() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (_, genuine) = api.authenticate("4000000000001000").await;
    let block = block_of(&genuine);

    let mut forged = block.clone();
    forged["cavv"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let (status, body) = api
        .authorize(&auth_request(
            "4000000000001000",
            &unique_ref("f1"),
            Some(forged),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), ["authentication.cavv"]);

    let mut forged = block.clone();
    forged["eci"] = json!(6);
    forged["threeDResult"] = json!("A");
    let (status, body) = api
        .authorize(&auth_request(
            "4000000000001000",
            &unique_ref("f2"),
            Some(forged),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(
        field_names(&body),
        ["authentication.eci", "authentication.threeDResult"]
    );

    // The genuine block on another card.
    let (status, body) = api
        .authorize(&auth_request(
            "4111111111111111",
            &unique_ref("f3"),
            Some(block.clone()),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), ["card.cardNum"]);

    let mut forged = block.clone();
    forged["directoryServerTransactionId"] = json!(uuid::Uuid::new_v4().to_string());
    let (status, body) = api
        .authorize(&auth_request(
            "4000000000001000",
            &unique_ref("f4"),
            Some(forged),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(
        field_names(&body),
        ["authentication.directoryServerTransactionId"]
    );

    // Claiming ECI 05 and a CAVV without naming any authentication.
    let forged = json!({"eci": 5, "cavv": genuine["cavv"], "threeDResult": "Y", "threeDSecureVersion": "2.2.0"});
    let (status, body) = api
        .authorize(&auth_request(
            "4000000000001000",
            &unique_ref("f5"),
            Some(forged),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(
        field_names(&body),
        [
            "authentication.directoryServerTransactionId",
            "authentication.eci"
        ]
    );

    // A pending challenge cannot be used either.
    let (_, pending) = api.authenticate("4000000000002008").await;
    let block = json!({"eci": 5, "cavv": "x", "directoryServerTransactionId": pending["directoryServerTransactionId"]});
    let (status, body) = api
        .authorize(&auth_request(
            "4000000000002008",
            &unique_ref("f6"),
            Some(block),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert!(paysafe_ledger(&sandbox).is_empty());

    // The genuine one goes through.
    let (status, _) = api
        .authorize(&auth_request(
            "4000000000001000",
            &unique_ref("ok"),
            Some(block_of(&genuine)),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(paysafe_ledger(&sandbox).len(), 1);
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (status, body) = api.get(&format!("{}/nope", auth_path())).await;
    assert_error(status, &body, 404, "5269");
    let (status, body) = api
        .post(
            &format!("{}/nope/finalize", auth_path()),
            &json!({"payload": "x"}),
        )
        .await;
    assert_error(status, &body, 404, "5269");
    let (status, body) = api
        .get(&format!("/cardpayments/v1/accounts/{ACCOUNT}/auths/nope"))
        .await;
    assert_error(status, &body, 404, "5269");
    // An authentication is not visible through another account.
    let (_, authentication) = api.authenticate("4000000000001000").await;
    let (status, body) = api
        .get(&format!(
            "/threedsecure/v2/accounts/11111111/authentications/{}",
            authentication["id"].as_str().unwrap()
        ))
        .await;
    assert_error(status, &body, 401, "5270");
    // The challenge-complete page refuses what it cannot place.
    let page = browser()
        .post(format!("{}/threedsecure/v2/challenge-complete", api.base))
        .form(&[("cres", "garbage")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
}

#[tokio::test]
async fn a_lost_answer_is_recovered_by_merchant_ref_num_without_a_second_charge() {
    use threeds_bridge::sandbox::faults::FaultRule;
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (_, authentication) = api.authenticate("4000000000001000").await;
    let reference = unique_ref("lost");
    let request = auth_request(
        "4000000000001000",
        &reference,
        Some(block_of(&authentication)),
    );
    sandbox.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Paysafe),
        endpoint: Some(format!("/cardpayments/v1/accounts/{ACCOUNT}/auths")),
        drop_after_commit: true,
        ..FaultRule::default()
    }]);
    let lost = api
        .client
        .post(format!(
            "{}/cardpayments/v1/accounts/{ACCOUNT}/auths",
            api.base
        ))
        .basic_auth(USER, Some(PASSWORD))
        .json(&request)
        .send()
        .await;
    assert!(lost.is_err(), "the answer is dropped after the charge");
    assert_eq!(paysafe_ledger(&sandbox).len(), 1);
    sandbox.sandbox.faults.set(Vec::new());

    let (status, found) = api
        .get(&format!(
            "/cardpayments/v1/accounts/{ACCOUNT}/auths?merchantRefNum={reference}"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(found["auths"][0]["status"], "COMPLETED");
    assert_eq!(found["auths"].as_array().map(Vec::len), Some(1));
    assert_eq!(found["auths"][0]["merchantRefNum"], reference.as_str());
    assert_eq!(found["auths"][0]["amount"], 1099);
    assert_eq!(found["auths"][0]["currencyCode"], "USD");
    // A resend is refused as a duplicate naming the charge that was made.
    let (status, retry) = api.authorize(&request).await;
    assert_error(status, &retry, 409, "5031");
    assert_eq!(retry["existingTransactionId"], found["auths"][0]["id"]);
    assert_eq!(paysafe_ledger(&sandbox).len(), 1, "never a second charge");

    // A merchantRefNum Paysafe never saw: an empty list, not an error.
    let (status, none) = api
        .get(&format!(
            "/cardpayments/v1/accounts/{ACCOUNT}/auths?merchantRefNum={}",
            unique_ref("never-sent")
        ))
        .await;
    assert_eq!((status, none), (200, json!({"auths": []})));
}

async fn tokenize(api: &Api, pan: &str) -> (u16, Value) {
    api.post(
        "/customervault/v1/singleusetokens",
        &json!({"card": {
            "cardNum": pan,
            "cardExpiry": {"month": 12, "year": 2040},
            "cvv": "123",
            "holderName": "Jane Doe",
        }}),
    )
    .await
}

#[tokio::test]
async fn single_use_tokens_stand_for_the_card_and_are_consumed_by_the_authorization() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);

    // Credentials, field errors and card checks, in Paysafe's error shape.
    let (status, body) = api
        .send(
            api.client
                .post(format!("{}/customervault/v1/singleusetokens", api.base))
                .basic_auth(USER, Some("wrong"))
                .json(&json!({})),
        )
        .await;
    assert_error(status, &body, 401, "5279");
    let (status, body) = api
        .post(
            "/customervault/v1/singleusetokens",
            &json!({"card": {"cardNum": "4000000000001000"}}),
        )
        .await;
    assert_error(status, &body, 400, "5068");
    assert!(
        field_names(&body).contains(&"card.cardExpiry".to_owned()),
        "{body}"
    );
    let (status, body) = tokenize(&api, "4000000000001001").await;
    assert_error(status, &body, 400, "3002");

    // The token and the tokenized card, never the number.
    let pan = "4000000000002107";
    let (status, token) = tokenize(&api, pan).await;
    assert_eq!(status, 200, "{token}");
    assert!(!token.to_string().contains(pan), "{token}");
    assert_eq!(token["card"]["lastDigits"], "2107");
    assert_eq!(token["card"]["cardBin"], "400000");
    assert_eq!(token["card"]["cardType"], "VI");
    assert_eq!(token["timeToLiveSeconds"], 899);
    let payment_token = token["paymentToken"].as_str().unwrap().to_owned();

    // /jwt with the token (sandbox extension) offers the card's 3DS Method.
    let (status, session) = api
        .post(
            "/threedsecure/v2/jwt",
            &json!({"card": {"paymentToken": payment_token}, "accountId": ACCOUNT}),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["card"]["cardBin"], "400000");
    assert!(session["methodUrl"].is_string(), "{session}");

    // An authentication with card {paymentToken} behaves as the card does (2107: challenge).
    let mut request = authentication_request(pan, &session["deviceFingerprintingId"]);
    request["card"] = json!({"paymentToken": payment_token});
    let (status, pending) = api.post(&auth_path(), &request).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["card"]["lastDigits"], "2107");
    let returned = run_challenge(&sandbox, &pending, "1234", "submit").await;
    let (_, done) = finalize(&api, &pending["id"], returned.field("payload").unwrap()).await;
    assert_eq!(done["threeDResult"], "Y", "{done}");

    // The authorization with the token: approved once, replayed unchanged, then spent.
    let reference = unique_ref("token");
    let mut auth = auth_request(pan, &reference, Some(block_of(&done)));
    auth["card"] = json!({"paymentToken": payment_token});
    let (status, approved) = api.authorize(&auth).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "COMPLETED");
    assert_eq!(approved["card"]["lastDigits"], "2107");
    assert_eq!(
        approved["cvvVerification"], "MATCH",
        "the tokenized CVV counts"
    );
    let (status, replay) = api.authorize(&auth).await;
    assert_error(status, &replay, 409, "5031");
    assert_eq!(
        replay["existingTransactionId"], approved["id"],
        "a duplicate"
    );
    let ledger = paysafe_ledger(&sandbox);
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].card, "400000******2107");

    let (status, body) = api
        .authorize(&{
            let mut again = auth.clone();
            again["merchantRefNum"] = json!(unique_ref("again"));
            again
        })
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), vec!["card.paymentToken"], "{body}");
    let session = api.session(pan, false).await;
    let mut request = authentication_request(pan, &session["deviceFingerprintingId"]);
    request["card"] = json!({"paymentToken": payment_token});
    let (status, body) = api.post(&auth_path(), &request).await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(
        paysafe_ledger(&sandbox).len(),
        1,
        "a spent token charges nothing"
    );

    // Unknown and expired tokens.
    let (status, body) = api
        .authorize(&json!({"merchantRefNum": unique_ref("x"), "amount": 100,
            "card": {"paymentToken": "SCNOSUCHTOKEN00"}}))
        .await;
    assert_error(status, &body, 400, "5068");
    sandbox
        .sandbox
        .paysafe
        .set_token_ttl(std::time::Duration::ZERO);
    let (_, expired) = tokenize(&api, "4000000000001000").await;
    let (status, body) = api
        .authorize(&json!({"merchantRefNum": unique_ref("x"), "amount": 100,
            "card": {"paymentToken": expired["paymentToken"]}}))
        .await;
    assert_error(status, &body, 400, "5068");
    assert!(body.to_string().contains("expired"), "{body}");
    assert_eq!(paysafe_ledger(&sandbox).len(), 1);
}
