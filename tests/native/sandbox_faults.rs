//! The fault middleware over real HTTP: latency, a share of 5xx, hung requests and
//! connections dropped after commit. It is mounted on a tiny provider of the test's own
//! (one charge route that writes the ledger), exactly as `router()` mounts it on each
//! provider: nested under a prefix, rules matched on the path relative to it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use reqwest::StatusCode;
use threeds_bridge::sandbox::fault_layer::{with_faults, INJECTED_ERROR};
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::{now_rfc3339, LedgerEntry, Provider};
use threeds_bridge::sandbox::{Sandbox, SandboxConfig};

static ORDERS: AtomicU64 = AtomicU64::new(1);

/// The test provider's one committing endpoint: records a charge, answers its id.
async fn charge(State(sandbox): State<Sandbox>) -> Json<serde_json::Value> {
    let id = format!("ch_{}", ORDERS.fetch_add(1, Ordering::SeqCst));
    sandbox.ledger.record(LedgerEntry {
        provider: Provider::Dlocal,
        provider_payment_id: id.clone(),
        order_id: id.clone(),
        amount: 1000,
        currency: "USD".into(),
        idempotency_key: None,
        card: "400000******1000".into(),
        time: now_rfc3339(),
        sale: true,
    });
    Json(serde_json::json!({ "id": id, "status": "PAID" }))
}

/// Serves the test provider under `/testpay` with dLocal's fault rules.
async fn serve() -> (String, Sandbox) {
    let sandbox = Sandbox::new(SandboxConfig::new(""));
    let routes = Router::new()
        .route("/v1/charges", post(charge))
        .route("/v1/health", get(|| async { "ok" }));
    let app = Router::new()
        .nest("/testpay", with_faults(routes, &sandbox, Provider::Dlocal))
        .with_state(sandbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/testpay", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, sandbox)
}

fn rule(endpoint: Option<&str>) -> FaultRule {
    FaultRule {
        provider: Some(Provider::Dlocal),
        endpoint: endpoint.map(str::to_owned),
        ..Default::default()
    }
}

#[tokio::test]
async fn latency_applies_to_the_matching_endpoint_only() {
    let (url, sandbox) = serve().await;
    sandbox.faults.set(vec![
        FaultRule {
            latency_ms: 400,
            ..rule(Some("/v1/health"))
        },
        // Another provider's rule must not touch this one.
        FaultRule {
            provider: Some(Provider::Payroc),
            hang: true,
            ..Default::default()
        },
    ]);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let response = client.get(format!("{url}/v1/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let response = client
        .post(format!("{url}/v1/charges"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_error_share_fails_exactly_that_share_without_committing() {
    let (url, sandbox) = serve().await;
    sandbox.faults.set(vec![FaultRule {
        error_rate: 0.5,
        error_status: Some(500),
        ..rule(Some("/v1/charges"))
    }]);
    let client = reqwest::Client::new();
    let mut failed = 0;
    for _ in 0..10 {
        let response = client
            .post(format!("{url}/v1/charges"))
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::OK => {}
            StatusCode::INTERNAL_SERVER_ERROR => {
                failed += 1;
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body, serde_json::json!({ "error": INJECTED_ERROR }));
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(failed, 5);
    assert_eq!(
        sandbox.ledger.entries().len(),
        5,
        "a failed request commits nothing"
    );

    // Unset status: 503.
    sandbox.faults.set(vec![FaultRule {
        error_rate: 1.0,
        ..rule(None)
    }]);
    let response = client.get(format!("{url}/v1/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_hung_request_never_answers_until_the_client_gives_up() {
    let (url, sandbox) = serve().await;
    sandbox.faults.set(vec![FaultRule {
        hang: true,
        ..rule(Some("/v1/charges"))
    }]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(600))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client
        .post(format!("{url}/v1/charges"))
        .send()
        .await
        .expect_err("a hung request must not answer");
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert!(
        sandbox.ledger.entries().is_empty(),
        "the provider never ran"
    );
    // The server itself is fine: other endpoints still answer at once.
    let response = client.get(format!("{url}/v1/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn drop_after_commit_charges_but_the_client_sees_a_broken_connection() {
    let (url, sandbox) = serve().await;
    sandbox.faults.set(vec![FaultRule {
        drop_after_commit: true,
        ..rule(Some("/v1/charges"))
    }]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let error = client
        .post(format!("{url}/v1/charges"))
        .send()
        .await
        .expect_err("the answer must not arrive");
    assert!(
        !error.is_timeout(),
        "a dropped connection, not a timeout: {error:?}"
    );
    assert!(
        error.status().is_none(),
        "not even a status line arrives: {error:?}"
    );
    let entries = sandbox.ledger.entries();
    assert_eq!(entries.len(), 1, "the charge was committed");

    // Cleared, the same request answers normally and commits once more.
    sandbox.faults.set(Vec::new());
    let response = client
        .post(format!("{url}/v1/charges"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "PAID");
    assert_eq!(sandbox.ledger.entries().len(), 2);
}

#[tokio::test]
async fn latency_and_an_error_combine() {
    let (url, sandbox) = serve().await;
    sandbox.faults.set(vec![
        FaultRule {
            latency_ms: 200,
            ..rule(None)
        },
        FaultRule {
            error_rate: 1.0,
            error_status: Some(503),
            ..rule(Some("/v1/charges"))
        },
    ]);
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/charges"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(sandbox.ledger.entries().is_empty());
}
