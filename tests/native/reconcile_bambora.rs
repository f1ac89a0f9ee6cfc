//! Bambora's lost answers through the real backend over HTTP: Bambora takes no
//! idempotency key, so a create or continue whose answer is lost is never sent again; the
//! payment waits `unknown` and the backend's lookup (the Reporting API's search by order
//! number, then the transaction) finds Bambora's truth. Each test checks the sandbox
//! ledger: one charge, known to the backend by its id, or none.

use crate::support;

use std::time::Duration;

use serde_json::Value;
use support::backend::{
    follow, harness, harness_configured, late_commit_reconcile, logs, next_form, quick_policy,
    start_body, Cardholder, Harness,
};
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::{LedgerEntry, Provider};

const RIGHT: Cardholder = Cardholder::Types("1234");
const FRICTIONLESS: &str = "4000000000001000";
const CHALLENGE: &str = "4000000000002008";

fn rule(endpoint: &str) -> FaultRule {
    FaultRule {
        provider: Some(Provider::Bambora),
        endpoint: Some(endpoint.to_owned()),
        ..Default::default()
    }
}

/// The connection of the next request to `endpoint` drops after Bambora did its work;
/// the rule is cleared as soon as Bambora charged, so the lookup's own reads get answers.
fn drop_the_charge_answer(h: &Harness, endpoint: &str) -> tokio::task::JoinHandle<()> {
    let sandbox = h.sandbox.sandbox.clone();
    sandbox.faults.set(vec![FaultRule {
        drop_after_commit: true,
        ..rule(endpoint)
    }]);
    tokio::spawn(async move {
        while sandbox.ledger.entries().is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        sandbox.faults.set(Vec::new());
    })
}

/// Reads the payment until it is final: the backend looks a payment in doubt up when a
/// read finds its lookup due (2 s after the lost answer, then doubling).
async fn until_final(h: &Harness, id: &str) -> Value {
    for _ in 0..300 {
        let (status, view) = h.view(id).await;
        assert_eq!(status, 200, "{view}");
        if view["state"] == "final" {
            return view;
        }
        assert_eq!(
            view["status"], "unknown",
            "in doubt until looked up: {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the payment in doubt was never looked up");
}

fn bambora_ledger(h: &Harness) -> Vec<LedgerEntry> {
    h.ledger("bambora")
}

/// Log lines of the backend for this payment that say `what`.
fn logged(id: &str, what: &str) -> usize {
    logs()
        .lines()
        .filter(|line| line.contains(&format!("session={id}")) && line.contains(what))
        .count()
}

#[tokio::test]
async fn a_lost_create_answer_is_looked_up_and_authorized_with_the_one_charge() {
    let h = harness().await;
    let clearer = drop_the_charge_answer(&h, "/v1/payments");
    let body = start_body("bambora", FRICTIONLESS, "iframe");
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    assert_eq!(view["status"], "unknown", "not an error: {view}");
    assert!(view["result"].is_null(), "no result yet: {view}");

    let done = until_final(&h, &id).await;
    clearer.abort();
    let charges = bambora_ledger(&h);
    assert_eq!(charges.len(), 1, "exactly one charge: {charges:?}");
    assert_eq!(charges[0].order_id, body["orderId"].as_str().unwrap());
    assert_eq!(done["result"]["status"], "authorized", "{done}");
    assert_eq!(
        done["result"]["providerPaymentId"].as_str(),
        Some(charges[0].provider_payment_id.as_str()),
        "the backend knows the charge by Bambora's id"
    );
    assert_eq!(done["result"]["eci"], "05", "{done}");
    assert_eq!(
        logged(&id, "purpose=\"bambora.payment\""),
        1,
        "the create was sent once"
    );
    assert!(logged(&id, "purpose=\"bambora.search\"") >= 1, "looked up");
    assert_eq!(h.view(&id).await.1, done, "a final result never moves");
}

#[tokio::test]
async fn a_lost_continue_answer_is_looked_up_with_the_challenge_s_values() {
    let h = harness().await;
    let (status, view) = h.start(&start_body("bambora", CHALLENGE, "iframe")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["next"]["type"], "challenge", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();

    let clearer = drop_the_charge_answer(&h, "/v1/payments/");
    follow(&h.url, next_form(&view), RIGHT).await;
    let done = until_final(&h, &id).await;
    clearer.abort();
    let charges = bambora_ledger(&h);
    assert_eq!(charges.len(), 1, "exactly one charge: {charges:?}");
    let result = &done["result"];
    assert_eq!(result["status"], "authorized", "{done}");
    assert_eq!(
        result["providerPaymentId"].as_str(),
        Some(charges[0].provider_payment_id.as_str())
    );
    assert_eq!(result["threeDsVersion"], "2.2.0", "{done}");
    assert_eq!(result["transStatus"], "Y", "{done}");
    assert_eq!(result["liabilityShift"], true, "{done}");
    assert_eq!(logged(&id, "purpose=\"bambora.continue\""), 1, "sent once");
}

/// The create's lost answer was a 302: nothing was charged, and the cardholder never
/// saw the challenge, so no continue can follow. The search finds nothing: the payment
/// ends failed, `not_found`, and the ledger stays empty.
#[tokio::test]
async fn a_lost_challenge_redirect_is_nothing_charged() {
    let h = harness().await;
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        drop_after_commit: true,
        ..rule("/v1/payments")
    }]);
    let (status, view) = h.start(&start_body("bambora", CHALLENGE, "iframe")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "unknown", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();

    let done = until_final(&h, &id).await;
    let result = &done["result"];
    assert_eq!(result["status"], "failed", "{done}");
    assert_eq!(result["error"]["providerCode"], "not_found", "{done}");
    assert!(result["providerPaymentId"].is_null(), "{done}");
    assert!(bambora_ledger(&h).is_empty());
}

/// Bambora takes the create, its client gives up, the first lookups find nothing, and
/// only then does Bambora charge: a provider still processing a call its client gave up
/// on. The lookups that find nothing before `reconcile.not_found_after_ms` are not
/// believed, so the payment stays `unknown` until a lookup finds the charge. Before, the
/// first lookup ended it `failed` / `not_found` with the charge made 2 s later.
#[tokio::test]
async fn a_create_bambora_charges_after_the_first_lookups_is_found_not_reported_failed() {
    let h = harness_configured(quick_policy(), late_commit_reconcile()).await;
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        commit_after_ms: 4_000,
        ..rule("/v1/payments")
    }]);
    let body = start_body("bambora", FRICTIONLESS, "iframe");
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "unknown", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    // The create is taken; the lookup's own reads of `/v1/payments/{id}` must get answers.
    h.sandbox.sandbox.faults.set(Vec::new());
    assert!(bambora_ledger(&h).is_empty(), "not charged yet");

    let done = until_final(&h, &id).await;
    let charges = bambora_ledger(&h);
    assert_eq!(charges.len(), 1, "exactly one charge: {charges:?}");
    assert_eq!(done["result"]["status"], "authorized", "{done}");
    assert_eq!(
        done["result"]["providerPaymentId"].as_str(),
        Some(charges[0].provider_payment_id.as_str()),
        "the backend knows the charge by Bambora's id"
    );
    assert!(
        logged(&id, "too soon after the lost call") >= 1,
        "a lookup found nothing before Bambora charged: {}",
        logs()
    );
    assert_eq!(logged(&id, "purpose=\"bambora.payment\""), 1, "sent once");
}

// --- the sandbox's search (`POST /v1/reports`) over HTTP -----------------------------

/// The seed's header for the sandbox merchant, verbatim.
const SEED_AUTH: &str = "Passcode MzAwMjAwNTc4OjRCYUQ4MkQ5MTk3YjRjYzRiNzBhMjIxOTExZUU5Zjcw";

async fn post(
    sandbox: &threeds_bridge::sandbox::RunningSandbox,
    path: &str,
    auth: &str,
    body: &Value,
) -> (u16, Value) {
    let response = support::browser()
        .post(format!("{}/bambora{path}", sandbox.url))
        .header("Authorization", auth)
        .json(body)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")),
    )
}

/// A frictionless payment of `pan` for `order`, without 3-D Secure.
async fn paid(sandbox: &threeds_bridge::sandbox::RunningSandbox, pan: &str, order: &str) -> Value {
    let body = serde_json::json!({"order_number": order, "amount": 15.99, "payment_method": "card",
        "card": {"name": "Jo Doe", "number": pan, "expiry_month": "12", "expiry_year": "40",
                 "cvd": "123"}});
    post(sandbox, "/v1/payments", SEED_AUTH, &body).await.1
}

fn search(order: &str, start: &str, end: &str) -> Value {
    serde_json::json!({"name": "Search", "start_date": start, "end_date": end,
        "start_row": "1", "end_row": "500",
        "criteria": [{"field": "5", "operator": "%3D", "value": order}]})
}

const ALWAYS: (&str, &str) = ("2000-01-01T00:00:00", "2999-12-31T23:59:59");

#[tokio::test]
async fn the_sandbox_search_finds_an_order_s_transactions_as_bambora_reports_them() {
    let sandbox = support::sandbox().await;
    let approved = paid(&sandbox, FRICTIONLESS, "order-A").await;
    let declined = paid(&sandbox, "4000000000004004", "order-B").await;
    paid(&sandbox, "5200000000001005", "order-C").await;

    let (status, found) = post(
        &sandbox,
        "/v1/reports",
        SEED_AUTH,
        &search("order-A", ALWAYS.0, ALWAYS.1),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    let records = found["records"].as_array().expect("records");
    assert_eq!(records.len(), 1, "{found}");
    let record = &records[0];
    assert_eq!(
        record["trn_id"].as_u64().map(|id| id.to_string()),
        approved["id"].as_str().map(str::to_owned)
    );
    assert_eq!(record["row_id"], 1);
    assert_eq!(record["trn_order_number"], "order-A");
    assert_eq!(record["trn_amount"], 15.99);
    assert_eq!(record["trn_type"], "P");
    assert_eq!(record["trn_response"], 1);
    assert_eq!(record["trn_masked_card"], "400000XXXXXX1000");
    assert_eq!(record["currency_abbr"], "CAD");
    assert_eq!(record["message_text"], "Approved");

    // The declined one (kept by Bambora), found by its order and by field 10 = 0.
    let (_, found) = post(
        &sandbox,
        "/v1/reports",
        SEED_AUTH,
        &search("order-B", ALWAYS.0, ALWAYS.1),
    )
    .await;
    assert_eq!(found["records"][0]["trn_response"], 0, "{found}");
    assert_eq!(
        found["records"][0]["trn_id"]
            .as_u64()
            .map(|id| id.to_string()),
        declined["validation"]["id"].as_str().map(str::to_owned)
    );
    let mut declines = search("x", ALWAYS.0, ALWAYS.1);
    declines["criteria"] = serde_json::json!([{"field": 10, "operator": "%3D", "value": "0"}]);
    let (_, found) = post(&sandbox, "/v1/reports", SEED_AUTH, &declines).await;
    assert_eq!(
        found["records"].as_array().map(Vec::len),
        Some(1),
        "{found}"
    );

    // Minimal records, pages, and the date range.
    let mut minimal = search("order-A", ALWAYS.0, ALWAYS.1);
    minimal["name"] = serde_json::json!("TransHistoryMinimal");
    let (_, found) = post(&sandbox, "/v1/reports", SEED_AUTH, &minimal).await;
    assert!(
        found["records"][0].get("currency_abbr").is_none(),
        "{found}"
    );
    let mut everything = search("x", ALWAYS.0, ALWAYS.1);
    everything["criteria"] = serde_json::json!([]);
    everything["start_row"] = serde_json::json!(2);
    let (_, found) = post(&sandbox, "/v1/reports", SEED_AUTH, &everything).await;
    let rows: Vec<&Value> = found["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["row_id"])
        .collect();
    assert_eq!(rows, [2, 3], "{found}");
    let (status, found) = post(
        &sandbox,
        "/v1/reports",
        SEED_AUTH,
        &search("order-A", "2000-01-01T00:00:00", "2000-12-31T23:59:59"),
    )
    .await;
    assert_eq!((status, found), (200, serde_json::json!({"records": []})));
    let (status, found) = post(
        &sandbox,
        "/v1/reports",
        SEED_AUTH,
        &search("no-such-order", ALWAYS.0, ALWAYS.1),
    )
    .await;
    assert_eq!(
        (status, found),
        (200, serde_json::json!({"records": []})),
        "an empty array, not a 404"
    );
}

#[tokio::test]
async fn the_sandbox_search_refuses_in_bambora_s_error_shape_and_takes_faults() {
    let sandbox = support::sandbox().await;
    let (status, error) = post(
        &sandbox,
        "/v1/reports",
        "Passcode bm9ib2R5Om5vdGhpbmc=",
        &search("order-A", ALWAYS.0, ALWAYS.1),
    )
    .await;
    assert_eq!(
        (status, &error["code"]),
        (401, &serde_json::json!(21)),
        "{error}"
    );

    let (status, error) = post(
        &sandbox,
        "/v1/reports",
        SEED_AUTH,
        &serde_json::json!({"name": "Search", "start_date": "today", "end_row": 1}),
    )
    .await;
    assert_eq!(
        (status, &error["code"]),
        (400, &serde_json::json!(314)),
        "{error}"
    );
    let fields: Vec<&str> = error["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(fields, ["start_date", "end_date", "start_row"], "{error}");

    let response = support::browser()
        .post(format!("{}/bambora/v1/reports", sandbox.url))
        .header("Authorization", SEED_AUTH)
        .body("name=Search")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);

    sandbox.sandbox.faults.set(vec![FaultRule {
        error_rate: 1.0,
        error_status: Some(503),
        ..rule("/v1/reports")
    }]);
    let response = support::browser()
        .post(format!("{}/bambora/v1/reports", sandbox.url))
        .header("Authorization", SEED_AUTH)
        .json(&search("order-A", ALWAYS.0, ALWAYS.1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
}
