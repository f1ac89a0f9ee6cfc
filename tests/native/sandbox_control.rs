//! `/_sandbox/ledger` and `/_sandbox/faults` over real HTTP.

use crate::support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::sandbox;
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::{LedgerEntry, Provider};

#[tokio::test]
async fn the_ledger_lists_every_recorded_charge_in_order() {
    let running = sandbox().await;
    let client = reqwest::Client::new();
    let body: Value = client
        .get(format!("{}/_sandbox/ledger", running.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({ "entries": [], "movements": [], "balances": [] })
    );

    for (provider, id, key) in [
        (Provider::Payroc, "pay-1", Some("idem-1")),
        (Provider::Bambora, "10000001", None),
    ] {
        running.sandbox.ledger.record(LedgerEntry {
            provider,
            provider_payment_id: id.into(),
            order_id: format!("order-{id}"),
            amount: 1999,
            currency: "CAD".into(),
            idempotency_key: key.map(str::to_owned),
            card: "400000******1000".into(),
            time: "2026-01-02T03:04:05.678Z".into(),
            sale: true,
        });
    }
    let response = client
        .get(format!("{}/_sandbox/ledger", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["entries"][0],
        json!({
            "provider": "payroc",
            "provider_payment_id": "pay-1",
            "order_id": "order-pay-1",
            "amount": 1999,
            "currency": "CAD",
            "idempotency_key": "idem-1",
            "card": "400000******1000",
            "time": "2026-01-02T03:04:05.678Z",
            "sale": true,
        })
    );
    assert_eq!(
        body["balances"][0],
        json!({
            "provider": "payroc",
            "provider_payment_id": "pay-1",
            "order_id": "order-pay-1",
            "currency": "CAD",
            "authorized": 1999,
            "captured": 1999,
            "refunded": 0,
            "voided": false,
        })
    );
    assert_eq!(body["entries"][1]["provider"], "bambora");
    assert_eq!(body["entries"][1]["idempotency_key"], Value::Null);
    assert_eq!(body["entries"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn fault_rules_are_read_replaced_and_cleared() {
    let running = sandbox().await;
    let client = reqwest::Client::new();
    let url = format!("{}/_sandbox/faults", running.url);
    let body: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({ "rules": [] }));

    let rules = json!({ "rules": [
        { "provider": "dlocal", "endpoint": "/secure_payments", "error_rate": 0.25, "error_status": 500 },
        { "provider": "payroc", "drop_after_commit": true },
        { "latency_ms": 150 },
    ]});
    let response = client.post(&url).json(&rules).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answered: Value = response.json().await.unwrap();
    assert_eq!(answered["rules"].as_array().map(Vec::len), Some(3));
    assert_eq!(answered["rules"][0]["endpoint"], "/secure_payments");
    assert_eq!(answered["rules"][2]["provider"], Value::Null);

    let in_force = running.sandbox.faults.rules();
    assert_eq!(in_force.len(), 3);
    assert_eq!(
        in_force[1],
        FaultRule {
            provider: Some(Provider::Payroc),
            drop_after_commit: true,
            ..Default::default()
        }
    );
    assert_eq!(in_force[2].latency_ms, 150);
    let read: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(read, answered);

    // Replacing means replacing, not adding.
    let one = json!({ "rules": [ { "provider": "paysafe", "hang": true } ] });
    client.post(&url).json(&one).send().await.unwrap();
    assert_eq!(running.sandbox.faults.rules().len(), 1);
    assert!(running.sandbox.faults.rules()[0].hang);

    let response = client.delete(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "rules": [] })
    );
    assert!(running.sandbox.faults.rules().is_empty());
}

#[tokio::test]
async fn bad_fault_rules_get_400_and_change_nothing() {
    let running = sandbox().await;
    let client = reqwest::Client::new();
    let url = format!("{}/_sandbox/faults", running.url);
    let keep = json!({ "rules": [ { "provider": "bambora", "latency_ms": 10 } ] });
    client.post(&url).json(&keep).send().await.unwrap();

    let bad_bodies = [
        "not json".to_owned(),
        r#"{"rules":[{"latency":5}]}"#.to_owned(),
        r#"{"rules":[{"provider":"stripe"}]}"#.to_owned(),
        r#"{"rules":[{"error_rate":"half"}]}"#.to_owned(),
        r#"{"rules":[{"error_rate":2}]}"#.to_owned(),
        r#"{"rules":[{"error_status":418,"error_rate":1}]}"#.to_owned(),
        r#"{"rules":[{"endpoint":"no-slash"}]}"#.to_owned(),
        r#"{"rules":{}}"#.to_owned(),
        r#"{}"#.to_owned(),
        String::new(),
    ];
    for body in bad_bodies {
        let response = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_fault_rules", "{body}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}: {error}"
        );
    }
    let huge = format!(r#"{{"rules":[{{"endpoint":"/{}"}}]}}"#, "a".repeat(100_000));
    let response = client.post(&url).body(huge).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "body_too_large");

    let rules = running.sandbox.faults.rules();
    assert_eq!(rules.len(), 1, "a refused body changes nothing");
    assert_eq!(rules[0].provider, Some(Provider::Bambora));
}
