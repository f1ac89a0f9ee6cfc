//! The Payroc emulator over real HTTP: identity, single-use tokens, the gateway MPI driven
//! by the test acting as the cardholder's browser (through the sandbox ACS pages), sales
//! with idempotency and the ledger, the problem JSON of every refusal, and the SDK's
//! recorded response bodies read into the sandbox's own response types.

use crate::support;

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{browser, form, sandbox, sandbox_with};
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::sandbox::payroc::problem::Problem;
use threeds_bridge::sandbox::payroc::wire::{
    AccessToken, Payment, ResponseCode, SingleUseToken, TransactionStatus, TransactionType,
};
use threeds_bridge::sandbox::payroc::SANDBOX_TERMINAL;
use threeds_bridge::sandbox::RunningSandbox;
use threeds_bridge::sandbox::SandboxConfig;

mod payments;
mod payments_list;
mod recorded;

const RECEIPT: &str = "http://127.0.0.1:8080/v1/returns/payroc";
const API_KEY: &str = "sandbox-payroc-api-key";

// ---------------------------------------------------------------------------------------
// The merchant's server and the cardholder's browser.

async fn bearer(running: &RunningSandbox) -> String {
    let response = browser()
        .post(format!("{}/payroc/identity/authorize", running.url))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status(), StatusCode::OK);
    let token: AccessToken = response.json().await.expect("token json");
    token.access_token
}

async fn post_json(
    running: &RunningSandbox,
    path: &str,
    bearer: &str,
    key: Option<&str>,
    body: &Value,
) -> (StatusCode, String, Value) {
    let mut request = browser()
        .post(format!("{}/payroc/api/v1{path}", running.url))
        .bearer_auth(bearer)
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("post");
    let status = response.status();
    let content_type = content_type(&response);
    let value = response.json().await.unwrap_or(Value::Null);
    (status, content_type, value)
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn card_body(pan: &str) -> Value {
    json!({
        "channel": "web",
        "operator": "Jane",
        "source": {
            "type": "card",
            "cardDetails": {
                "entryMethod": "keyed",
                "cardholderName": "Sarah Hazel Hopper",
                "keyedData": {"dataFormat": "plainText", "cardNumber": pan, "expiryDate": "1230", "cvv": "123"}
            }
        }
    })
}

async fn tokenize(running: &RunningSandbox, bearer: &str, pan: &str) -> SingleUseToken {
    let path = format!("/processing-terminals/{SANDBOX_TERMINAL}/single-use-tokens");
    let (status, kind, body) =
        post_json(running, &path, bearer, Some(&key()), &card_body(pan)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(kind.starts_with("application/json"), "{kind}");
    serde_json::from_value(body).expect("single-use token")
}

fn mpi_url(
    running: &RunningSandbox,
    token: &str,
    order: &str,
    amount: i64,
    challenge: Option<&str>,
) -> String {
    let mut url = format!(
        "{}/payroc/payments/merchant/mpi?processingTerminalId={SANDBOX_TERMINAL}&singleUseToken={token}&email=joe%40adomain.com&amount={amount}&currency=EUR&orderId={order}",
        running.url
    );
    if let Some(challenge) = challenge {
        url.push_str(&format!("&cardholderChallenge={challenge}"));
    }
    url
}

/// The receipt URL's query, after checking the browser is sent to the registered URL.
fn receipt(location: &str) -> HashMap<String, String> {
    let (base, query) = location.split_once('?').expect("query");
    assert_eq!(base, RECEIPT);
    url_query(query)
}

fn url_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%40", "@")))
        .collect()
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned()
}

/// How the cardholder ends a challenge.
#[derive(Clone, Copy)]
enum Answer {
    Code(&'static str),
    Cancel,
}

/// From the MPI's auto-submit page through the ACS page back to the MPI; returns the
/// receipt Location the MPI sends the browser to.
async fn challenge(
    running: &RunningSandbox,
    mpi_page: &str,
    answer: Answer,
    challenge_form: &str,
) -> String {
    let client = browser();
    let to_acs = form(mpi_page, Some("autosubmit"));
    assert!(to_acs.action.starts_with(&running.url), "{}", to_acs.action);
    assert!(to_acs.action.ends_with(challenge_form), "{}", to_acs.action);
    let page = to_acs.submit(&client, &running.url).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("challenge page");
    let mut answer_form = form(&page, Some("challenge"));
    match answer {
        Answer::Code(code) => {
            answer_form.set("otp", code);
            answer_form.set("action", "submit");
        }
        Answer::Cancel => answer_form.set("action", "cancel"),
    }
    let back = answer_form.submit(&client, &running.url).await;
    assert_eq!(back.status(), StatusCode::OK);
    let back = back.text().await.expect("return page");
    let to_mpi = form(&back, Some("autosubmit"));
    assert_eq!(
        to_mpi.action,
        format!("{}/payroc/payments/merchant/mpi/complete", running.url)
    );
    let done = to_mpi.submit(&client, &running.url).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    location(&done)
}

/// A token and a finished MPI for `pan`; returns (token, receipt query).
async fn authenticated(
    running: &RunningSandbox,
    bearer: &str,
    pan: &str,
    order: &str,
    amount: i64,
) -> (String, HashMap<String, String>) {
    let token = tokenize(running, bearer, pan).await.token;
    let response = browser()
        .get(mpi_url(running, &token, order, amount, None))
        .send()
        .await
        .expect("mpi");
    let location = if response.status() == StatusCode::FOUND {
        location(&response)
    } else {
        let page = response.text().await.expect("page");
        challenge(running, &page, Answer::Code("1234"), "/acs/challenge").await
    };
    (token, receipt(&location))
}

fn sale_body(token: &str, order: &str, amount: i64, mpi_reference: &str) -> Value {
    json!({
        "channel": "web",
        "processingTerminalId": SANDBOX_TERMINAL,
        "order": {"orderId": order, "amount": amount, "currency": "EUR", "description": "Large Pepperoni Pizza"},
        "paymentMethod": {"type": "singleUseToken", "token": token},
        "threeDSecure": {"serviceProvider": "gateway", "mpiReference": mpi_reference},
        "autoCapture": true
    })
}

fn payroc_ledger(running: &RunningSandbox) -> Vec<threeds_bridge::sandbox::ledger::LedgerEntry> {
    running
        .sandbox
        .ledger
        .entries()
        .into_iter()
        .filter(|e| e.provider == Provider::Payroc)
        .collect()
}

/// A problem document with this status and type fragment; returns it.
fn assert_problem(
    status: StatusCode,
    kind: &str,
    body: &Value,
    expected: StatusCode,
    fragment: &str,
) -> Problem {
    assert_eq!(status, expected, "{body}");
    assert_eq!(kind, "application/problem+json", "{body}");
    let problem: Problem = serde_json::from_value(body.clone()).expect("problem shape");
    assert_eq!(
        problem.problem_type,
        format!("https://docs.payroc.com/api/errors#{fragment}")
    );
    assert_eq!(problem.status, expected.as_u16());
    assert!(!problem.title.is_empty() && !problem.detail.is_empty());
    problem
}

fn parameters(problem: &Problem) -> Vec<String> {
    problem
        .errors
        .iter()
        .flatten()
        .map(|e| {
            assert!(!e.detail.is_empty() && !e.message.is_empty());
            e.parameter.clone()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Identity.

#[tokio::test]
async fn identity_issues_bearer_tokens_and_refuses_wrong_keys() {
    let running = sandbox().await;
    let response = browser()
        .post(format!("{}/payroc/identity/authorize", running.url))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "application/json");
    let token: AccessToken = response.json().await.unwrap();
    assert_eq!(
        (token.token_type.as_str(), token.expires_in),
        ("Bearer", 3600)
    );
    assert!(token.access_token.len() >= 32 && !token.scope.is_empty());

    for key in [Some("wrong-key"), None] {
        let mut request = browser().post(format!("{}/payroc/identity/authorize", running.url));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let response = request.send().await.unwrap();
        let kind = content_type(&response);
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_problem(
            status,
            &kind,
            &body,
            StatusCode::UNAUTHORIZED,
            "not-authorized",
        );
    }
}

#[tokio::test]
async fn expired_and_unknown_bearer_tokens_are_refused() {
    let running = sandbox().await;
    running
        .sandbox
        .payroc
        .set_token_lifetime(Duration::from_millis(400));
    let token = bearer(&running).await;
    let get = |token: String| {
        let url = format!("{}/payroc/api/v1/payments/NOSUCHPAY1", running.url);
        async move {
            let response = browser().get(url).bearer_auth(token).send().await.unwrap();
            let kind = content_type(&response);
            (
                response.status(),
                kind,
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    // Still valid: the request gets as far as the lookup.
    let (status, kind, body) = get(token.clone()).await;
    assert_problem(status, &kind, &body, StatusCode::NOT_FOUND, "not-found");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, kind, body) = get(token).await;
    let problem = assert_problem(
        status,
        &kind,
        &body,
        StatusCode::UNAUTHORIZED,
        "not-authorized",
    );
    assert!(problem.detail.contains("expired"), "{}", problem.detail);
    let (status, kind, body) = get("made-up".to_owned()).await;
    assert_problem(
        status,
        &kind,
        &body,
        StatusCode::UNAUTHORIZED,
        "not-authorized",
    );

    // A token issued after the lifetime changes back lasts an hour again.
    running
        .sandbox
        .payroc
        .set_token_lifetime(Duration::from_secs(3600));
    let (status, ..) = get(bearer(&running).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------
// Single-use tokens.

#[tokio::test]
async fn single_use_tokens_carry_the_masked_card_only() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let path = format!("/processing-terminals/{SANDBOX_TERMINAL}/single-use-tokens");
    let (status, _, body) = post_json(
        &running,
        &path,
        &bearer,
        Some(&key()),
        &card_body("4539858876047062"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let text = body.to_string();
    assert!(
        !text.contains("4539858876047062") && !text.contains("\"123\""),
        "{text}"
    );
    let token: SingleUseToken = serde_json::from_value(body).unwrap();
    assert_eq!(token.token.len(), 128);
    assert!(token.token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(token.source.card_number, "453985******7062");
    assert_eq!(token.source.source_type, "card");
    assert_eq!(token.source.card_type.as_deref(), Some("Visa"));
    assert_eq!(token.source.expiry_date.as_deref(), Some("1230"));
    assert_eq!(
        token.processing_terminal_id.as_deref(),
        Some(SANDBOX_TERMINAL)
    );
    assert!(
        token.expires_at.ends_with('Z') && token.expires_at.len() == 20,
        "{}",
        token.expires_at
    );

    // Another terminal is not this API key's.
    let (status, kind, body) = post_json(
        &running,
        "/processing-terminals/9999001/single-use-tokens",
        &bearer,
        Some(&key()),
        &card_body("4000000000001000"),
    )
    .await;
    let problem = assert_problem(status, &kind, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(problem.resource.as_deref(), Some("processingTerminal"));
}

#[tokio::test]
async fn single_use_token_bad_input_gets_problems() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let url = format!(
        "{}/payroc/api/v1/processing-terminals/{SANDBOX_TERMINAL}/single-use-tokens",
        running.url
    );
    let path = format!("/processing-terminals/{SANDBOX_TERMINAL}/single-use-tokens");

    // Luhn-invalid card, expired card, bad CVV: one error each, with its path.
    let mut body = card_body("4000000000001001");
    body["source"]["cardDetails"]["keyedData"]["expiryDate"] = json!("0120");
    body["source"]["cardDetails"]["keyedData"]["cvv"] = json!("12a");
    let (status, kind, body) = post_json(&running, &path, &bearer, Some(&key()), &body).await;
    let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
    assert_eq!(
        parameters(&problem),
        [
            "source.cardDetails.keyedData.cardNumber",
            "source.cardDetails.keyedData.expiryDate",
            "source.cardDetails.keyedData.cvv"
        ]
    );

    // Missing and wrong-typed fields.
    let body = json!({"channel": 7, "source": {"type": "card", "cardDetails": {"entryMethod": "keyed", "keyedData": {"dataFormat": "plainText"}}}});
    let (status, kind, body) = post_json(&running, &path, &bearer, Some(&key()), &body).await;
    let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
    let params = parameters(&problem);
    assert!(params.contains(&"channel".to_owned()), "{params:?}");
    assert!(
        params.contains(&"source.cardDetails.keyedData.cardNumber".to_owned()),
        "{params:?}"
    );

    // A channel Payroc does not have, and a body that is not an object, on both requests
    // that take a channel.
    let mut atm = card_body("4000000000001000");
    atm["channel"] = json!("atm");
    let payment = json!({"channel": "atm", "processingTerminalId": SANDBOX_TERMINAL});
    for (endpoint, body) in [(path.as_str(), &atm), ("/payments", &payment)] {
        let (status, kind, body) = post_json(&running, endpoint, &bearer, Some(&key()), body).await;
        let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
        assert!(
            parameters(&problem).contains(&"channel".to_owned()),
            "{endpoint}"
        );
        let (status, kind, body) =
            post_json(&running, endpoint, &bearer, Some(&key()), &json!(["web"])).await;
        let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
        assert_eq!(parameters(&problem), ["body"], "{endpoint}");
    }

    // Entry methods the sandbox cannot read.
    let mut raw = card_body("4000000000001000");
    raw["source"]["cardDetails"] = json!({"entryMethod": "raw", "device": {"model": "bbposChp", "serialNumber": "1850010868"}, "rawData": "A1B2"});
    let (status, kind, body) = post_json(&running, &path, &bearer, Some(&key()), &raw).await;
    let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
    assert_eq!(parameters(&problem), ["source.cardDetails.entryMethod"]);

    // Malformed JSON, wrong media type, oversize body, no key, no credentials.
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let kind = content_type(&response);
        (
            response.status(),
            kind,
            response.json::<Value>().await.unwrap(),
        )
    };
    let client = browser();
    let (s, k, b) = send(
        client
            .post(&url)
            .bearer_auth(&bearer)
            .header("Idempotency-Key", key())
            .header("content-type", "application/json")
            .body("{\"channel\":"),
    )
    .await;
    let problem = assert_problem(s, &k, &b, StatusCode::BAD_REQUEST, "bad-request");
    assert_eq!(parameters(&problem), ["body"]);
    let (s, k, b) = send(
        client
            .post(&url)
            .bearer_auth(&bearer)
            .header("Idempotency-Key", key())
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_problem(
        s,
        &k,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    let huge = json!({"channel": "web", "operator": "x".repeat(70 * 1024)});
    let (s, k, b) = send(
        client
            .post(&url)
            .bearer_auth(&bearer)
            .header("Idempotency-Key", key())
            .json(&huge),
    )
    .await;
    assert_problem(
        s,
        &k,
        &b,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    );
    let (s, k, b) = send(
        client
            .post(&url)
            .bearer_auth(&bearer)
            .json(&card_body("4000000000001000")),
    )
    .await;
    assert_problem(
        s,
        &k,
        &b,
        StatusCode::BAD_REQUEST,
        "idempotency-key-missing",
    );
    let (s, k, b) = send(
        client
            .post(&url)
            .header("Idempotency-Key", key())
            .json(&card_body("4000000000001000")),
    )
    .await;
    assert_problem(s, &k, &b, StatusCode::UNAUTHORIZED, "not-authorized");
    let (s, k, b) = send(
        client
            .post(&url)
            .bearer_auth(&bearer)
            .header("Idempotency-Key", "not-a-uuid")
            .json(&card_body("4000000000001000")),
    )
    .await;
    let problem = assert_problem(s, &k, &b, StatusCode::BAD_REQUEST, "bad-request");
    assert_eq!(parameters(&problem), ["Idempotency-Key"]);
}

// ---------------------------------------------------------------------------------------
// The MPI.

#[tokio::test]
async fn frictionless_cards_go_straight_to_the_receipt_url() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    // (card, result, status, eci): the contract's frictionless cards, the Method cards
    // whose challenge-free outcome the gateway's own page hides, and 3DS 1.0.2 not enrolled.
    let cases = [
        ("4000000000001000", "A", "Y", "05"),
        ("4000000000001109", "A", "A", "06"),
        ("4000000000001208", "D", "N", "07"),
        ("4000000000001307", "D", "U", "07"),
        ("4000000000001406", "D", "N", "07"),
        ("4000000000002206", "A", "Y", "05"),
        ("4000000000003105", "D", "N", "07"),
        ("4000000000004004", "A", "Y", "05"),
        ("5200000000001005", "A", "Y", "02"),
        ("5200000000001104", "A", "A", "01"),
        ("4012000033330026", "A", "Y", "05"),
        ("4012004040524514", "A", "A", "06"),
        ("4012001775445550", "D", "N", "07"),
        ("4111111111111111", "A", "Y", "05"),
    ];
    for (i, (pan, result, status, eci)) in cases.into_iter().enumerate() {
        let token = tokenize(&running, &bearer, pan).await.token;
        let order = format!("ORD-{i}");
        let response = browser()
            .get(mpi_url(&running, &token, &order, 1999, None))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{pan}");
        let query = receipt(&location(&response));
        assert_eq!(query["result"], result, "{pan}");
        assert_eq!(query["status"], status, "{pan}");
        assert_eq!(query["eci"], eci, "{pan}");
        assert_eq!(query["orderId"], order, "{pan}");
        let reference = &query["mpiReference"];
        assert_eq!(reference.len(), 20, "{pan}");
        assert!(reference
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}

#[tokio::test]
async fn challenge_cards_go_through_the_acs_and_the_code_decides() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let cases = [
        ("4000000000002008", Answer::Code("1234"), "A", "Y", "05"),
        ("4000000000002008", Answer::Code("0000"), "D", "N", "07"),
        ("4000000000002008", Answer::Cancel, "D", "N", "07"),
        ("4000000000002107", Answer::Code("1234"), "A", "Y", "05"),
        ("5200000000002003", Answer::Code("1234"), "A", "Y", "02"),
        ("5200000000002003", Answer::Code("9999"), "D", "N", "00"),
        ("370000000000200", Answer::Code("1234"), "A", "Y", "05"),
        ("4012007153923001", Answer::Code("1234"), "A", "Y", "05"),
    ];
    for (i, (pan, answer, result, status, eci)) in cases.into_iter().enumerate() {
        let token = tokenize(&running, &bearer, pan).await.token;
        let order = format!("CH-{i}");
        let response = browser()
            .get(mpi_url(&running, &token, &order, 2500, None))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{pan}");
        let page = response.text().await.unwrap();
        assert!(!page.contains("<script>"), "no inline script");
        let to_acs = form(&page, Some("autosubmit"));
        assert!(to_acs.field("creq").is_some() && to_acs.field("threeDSSessionData").is_some());
        let query = receipt(&challenge(&running, &page, answer, "/acs/challenge").await);
        assert_eq!(
            (
                query["result"].as_str(),
                query["status"].as_str(),
                query["eci"].as_str()
            ),
            (result, status, eci),
            "{pan}"
        );
        assert_eq!(query["orderId"], order);
    }
}

#[tokio::test]
async fn three_ds_one_cards_use_pareq_and_pares() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    for (answer, result, status) in [
        (Answer::Code("1234"), "A", "Y"),
        (Answer::Code("1111"), "D", "N"),
        (Answer::Cancel, "D", "N"),
    ] {
        let token = tokenize(&running, &bearer, "4000000000003006").await.token;
        let response = browser()
            .get(mpi_url(&running, &token, "3DS1", 1000, None))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let page = response.text().await.unwrap();
        let to_acs = form(&page, Some("autosubmit"));
        assert!(to_acs.field("PaReq").is_some());
        assert_eq!(
            to_acs.field("TermUrl"),
            Some(format!("{}/payroc/payments/merchant/mpi/complete", running.url).as_str())
        );
        let query = receipt(&challenge(&running, &page, answer, "/acs/pareq").await);
        assert_eq!(
            (query["result"].as_str(), query["status"].as_str()),
            (result, status)
        );
        assert_eq!(query["eci"], if status == "Y" { "05" } else { "07" });
    }
}

#[tokio::test]
async fn cardholder_challenge_required_makes_a_willing_issuer_challenge() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let token = tokenize(&running, &bearer, "4000000000001000").await.token;
    let optional = browser()
        .get(mpi_url(&running, &token, "O1", 100, Some("OPTIONAL")))
        .send()
        .await
        .unwrap();
    assert_eq!(optional.status(), StatusCode::FOUND);
    let required = browser()
        .get(mpi_url(&running, &token, "R1", 100, Some("REQUIRED")))
        .send()
        .await
        .unwrap();
    assert_eq!(required.status(), StatusCode::OK);
    let page = required.text().await.unwrap();
    let query = receipt(&challenge(&running, &page, Answer::Code("1234"), "/acs/challenge").await);
    assert_eq!(
        (query["result"].as_str(), query["status"].as_str()),
        ("A", "Y")
    );
    // An issuer that will not authenticate does not offer a challenge.
    let token = tokenize(&running, &bearer, "4000000000001208").await.token;
    let refused = browser()
        .get(mpi_url(&running, &token, "R2", 100, Some("REQUIRED")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FOUND);
    assert_eq!(receipt(&location(&refused))["status"], "N");
}

#[tokio::test]
async fn mpi_refuses_bad_queries_with_an_error_page() {
    let mut config = SandboxConfig::new("");
    config
        .payroc_receipt_urls
        .insert("5550001".into(), "https://shop.example/mpi?site=2".into());
    let running = sandbox_with(config).await;
    let bearer = bearer(&running).await;
    let token = tokenize(&running, &bearer, "4000000000001000").await.token;
    let base = format!("{}/payroc/payments/merchant/mpi", running.url);
    let good = format!("processingTerminalId={SANDBOX_TERMINAL}&singleUseToken={token}&email=a%40b.com&amount=100&currency=EUR&orderId=9");
    let bad_queries = [
        String::new(),
        good.replace("email=a%40b.com", "email=nobody"),
        good.replace("amount=100", "amount=1.5"),
        good.replace("amount=100", "amount=-3"),
        good.replace("currency=EUR", "currency=euro"),
        good.replace("&orderId=9", ""),
        format!("{good}&cardholderChallenge=ALWAYS"),
        good.replace(&token, "ffff"),
        good.replace(SANDBOX_TERMINAL, "1234001"),
    ];
    for query in bad_queries {
        let response = browser()
            .get(format!("{base}?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(content_type(&response).starts_with("text/html"));
        let page = response.text().await.unwrap();
        assert!(page.contains("id=\"errors\""), "{page}");
    }
    // A bad Bearer token from a server is refused; a browser without one is served.
    let response = browser()
        .get(format!("{base}?{good}"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = browser()
        .get(format!("{base}?{good}"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);

    // Another terminal's receipt URL, which already has a query of its own.
    let response = browser()
        .get(format!(
            "{base}?{}",
            good.replace(SANDBOX_TERMINAL, "5550001")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).starts_with("https://shop.example/mpi?site=2&result=A&status=Y"));
}

#[tokio::test]
async fn mpi_completion_trusts_the_acs_not_the_browser() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let token = tokenize(&running, &bearer, "4000000000002008").await.token;
    let page = browser()
        .get(mpi_url(&running, &token, "F1", 100, None))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let to_acs = form(&page, Some("autosubmit"));
    let session = to_acs.field("threeDSSessionData").unwrap().to_owned();
    let complete = format!("{}/payroc/payments/merchant/mpi/complete", running.url);
    // A forged CRes claiming Y for a made-up ACS transaction.
    let forged = threeds_bridge::emv::base64url::encode(
        json!({"messageType": "CRes", "messageVersion": "2.2.0", "threeDSServerTransID": "x", "acsTransID": "forged", "transStatus": "Y"}).to_string(),
    );
    let response = browser()
        .post(&complete)
        .form(&[
            ("cres", forged.as_str()),
            ("threeDSSessionData", session.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Garbage, and nothing at all.
    let response = browser()
        .post(&complete)
        .form(&[("cres", "!!"), ("threeDSSessionData", session.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = browser()
        .post(&complete)
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The real challenge still completes.
    let query = receipt(&challenge(&running, &page, Answer::Code("1234"), "/acs/challenge").await);
    assert_eq!(query["status"], "Y");
}
