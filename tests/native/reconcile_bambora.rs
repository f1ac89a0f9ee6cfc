//! Bambora's lookup by order number: the sandbox's search (`POST /v1/reports`) over HTTP.

use crate::support;

use serde_json::Value;
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::Provider;

const FRICTIONLESS: &str = "4000000000001000";

fn rule(endpoint: &str) -> FaultRule {
    FaultRule {
        provider: Some(Provider::Bambora),
        endpoint: Some(endpoint.to_owned()),
        ..Default::default()
    }
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
