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

mod identity;
mod mpi;
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
