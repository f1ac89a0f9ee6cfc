//! `threeds-bridge serve` as an operator runs it: SIGTERM drains it (exit 0, a payment in
//! a challenge or in a provider call finishes, after a restart where needed, charged
//! once), `/metrics` counts real payments, `--log-format json` writes only JSON lines that
//! carry the request id and no card number. The probes are in operations_probes.rs.

use crate::support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::backend::{
    next_form, run_method, start_at, start_body, Cardholder, CHECKOUT, MERCHANT_KEY,
};
use support::cardholder::until_backend;
use support::serve::{free_port, sandbox_providers, serve_command, Serve};
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::Provider;

const BAMBORA_FRICTIONLESS: &str = "4012000033330026";
const BAMBORA_FAILED: &str = "4012001775445550";
const BAMBORA_CHALLENGE: &str = "4012007153923001";

pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "threeds-bridge-ops-{tag}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A serve config on `port` over the sandbox at `sandbox` (Bambora and Paysafe), `store`,
/// with quick calls and sweeps.
pub(crate) fn config(
    dir: &Path,
    port: u16,
    sandbox: &str,
    store: Value,
    timeout_ms: u64,
) -> PathBuf {
    let config = json!({
        "listen": format!("127.0.0.1:{port}"),
        "public_url": format!("http://127.0.0.1:{port}"),
        "checkout_origins": [CHECKOUT],
        "merchant_api_keys": [MERCHANT_KEY],
        "store": store,
        "calls": {"timeout_ms": timeout_ms, "attempts": 1, "backoff_ms": 50},
        "reconcile": {"first_lookup_ms": 200, "max_lookup_ms": 1000, "not_found_after_ms": 1000, "sweep_every_ms": 200},
        "confirm_rate_limit": {"per_minute": 0, "burst": 0},
        "providers": sandbox_providers(sandbox, &["paysafe", "bambora"]),
    });
    let path = dir.join("backend.json");
    std::fs::write(&path, config.to_string()).expect("write config");
    path
}

fn sqlite(dir: &Path) -> Value {
    json!({"kind": "sqlite", "path": dir.join("sessions.sqlite3")})
}

/// The page's view of payment `id`.
async fn view(url: &str, id: &str, secret: &str) -> Value {
    support::browser()
        .get(format!("{url}/v1/payments/{id}"))
        .header("X-Client-Secret", secret)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("view")
}

/// The merchant's view of payment `id`.
async fn merchant_view(url: &str, id: &str) -> Value {
    support::browser()
        .get(format!("{url}/v1/payments/{id}"))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("view")
}

/// A payment of `pan` through the backend at `url`, as the page and the cardholder do
/// it, to its final Payment view.
async fn pay_at(url: &str, provider: &str, pan: &str) -> Value {
    let (status, mut view_now, secret) = start_at(url, &start_body(provider, pan, "iframe")).await;
    assert_eq!(status, 200, "{view_now}");
    let secret = secret.expect("a client secret");
    let id = view_now["id"].as_str().expect("id").to_owned();
    for _ in 0..6 {
        match view_now["next"]["type"].as_str() {
            Some("none") if view_now["state"] == "final" => return view_now,
            Some("none") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                view_now = view(url, &id, &secret).await;
            }
            Some("method") => {
                let completion = run_method(url, &view_now).await;
                view_now = support::browser()
                    .post(format!("{url}/v1/payments/{id}/method"))
                    .header("Origin", CHECKOUT)
                    .json(&json!({"completion": completion, "clientSecret": secret}))
                    .send()
                    .await
                    .expect("method")
                    .json()
                    .await
                    .expect("view");
            }
            Some("challenge" | "redirect") => {
                let back =
                    until_backend(url, next_form(&view_now), Cardholder::Types("1234")).await;
                let landing = back.submit(&support::browser(), &back.action).await;
                assert!(landing.status().as_u16() < 400, "the return is accepted");
                view_now = view(url, &id, &secret).await;
            }
            other => panic!("unexpected next {other:?}: {view_now}"),
        }
    }
    panic!("the payment did not finish: {view_now}");
}

/// The merchant's view of `id` once it is final (the reconciler may be on it).
async fn final_view(url: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let view = merchant_view(url, id).await;
        if view["state"] == "final" {
            return view;
        }
        assert!(Instant::now() < deadline, "never settled: {view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn sigterm_mid_bambora_challenge_exits_0_and_the_challenge_completes_after_a_restart() {
    let sandbox = support::sandbox().await;
    let dir = temp_dir("challenge");
    let port = free_port();
    let config = config(&dir, port, &sandbox.url, sqlite(&dir), 5_000);

    let mut first = Serve::start(serve_command(&config, &[]));
    let url = first.url.clone();
    let body = start_body("bambora", BAMBORA_CHALLENGE, "iframe");
    let (status, view_now, secret) = start_at(&url, &body).await;
    assert_eq!(status, 200, "{view_now}");
    let secret = secret.expect("a client secret");
    assert_eq!(view_now["next"]["type"], "challenge", "{view_now}");
    let id = view_now["id"].as_str().expect("id").to_owned();
    // The cardholder is on the issuer's page when the operator stops the backend.
    let back = until_backend(&url, next_form(&view_now), Cardholder::Types("1234")).await;
    first.terminate();
    assert_eq!(first.exit_code(Duration::from_secs(30)), Some(0));
    let said = first.output().join("\n");
    assert!(
        said.contains("SIGTERM") && said.contains("stopped"),
        "{said}"
    );

    let second = Serve::start(serve_command(&config, &[]));
    assert_eq!(second.url, url);
    let landing = back.submit(&support::browser(), &url).await;
    assert!(landing.status().as_u16() < 400, "the return is accepted");
    let done = view(&url, &id, &secret).await;
    assert_eq!(done["result"]["status"], "authorized", "{done}");
    let charges = sandbox.sandbox.ledger.entries();
    assert_eq!(charges.len(), 1, "one charge");
    drop(second);
    let _ = std::fs::remove_dir_all(dir);
}

/// A Bambora payment whose charge is slow (1.5 s, within the 5 s call timeout): SIGTERM
/// while the charge is on its way does not cut it: the confirm gets its answer, the
/// process exits 0 after it, one charge.
#[tokio::test]
async fn sigterm_during_a_slow_charge_lets_it_finish_then_exits_0() {
    let sandbox = support::sandbox().await;
    let dir = temp_dir("slow");
    let config = config(&dir, free_port(), &sandbox.url, sqlite(&dir), 5_000);
    sandbox.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Bambora),
        endpoint: Some("/v1/payments".into()),
        latency_ms: 1_500,
        ..FaultRule::default()
    }]);
    let mut serve = Serve::start(serve_command(&config, &[]));
    let url = serve.url.clone();
    let paying = tokio::spawn(async move {
        start_at(&url, &start_body("bambora", BAMBORA_FRICTIONLESS, "iframe")).await
    });
    // The charge is on its way when the signal comes.
    serve.wait_for("payment confirmed").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!paying.is_finished(), "the confirm waits on the charge");
    serve.terminate();
    let (status, answer, _) = paying.await.expect("the confirm");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["status"], "authorized", "{answer}");
    assert_eq!(serve.exit_code(Duration::from_secs(30)), Some(0));
    assert_eq!(sandbox.sandbox.ledger.entries().len(), 1, "one charge");
    let _ = std::fs::remove_dir_all(dir);
}

/// SIGTERM while Bambora's charge hangs under `fault`: serve waits for the call's timeout
/// (the payment is then `unknown`), exits 0; after a restart the reconciler looks the
/// payment up. Returns its settled view and the sandbox's charges.
async fn sigterm_while_the_charge_hangs(tag: &str, fault: FaultRule) -> (Value, usize) {
    let sandbox = support::sandbox().await;
    let dir = temp_dir(tag);
    let config = config(&dir, free_port(), &sandbox.url, sqlite(&dir), 1_500);
    sandbox.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Bambora),
        endpoint: Some("/v1/payments".into()),
        ..fault
    }]);
    let mut serve = Serve::start(serve_command(&config, &[]));
    let url = serve.url.clone();
    let paying = {
        let url = url.clone();
        tokio::spawn(async move {
            start_at(&url, &start_body("bambora", BAMBORA_FRICTIONLESS, "iframe")).await
        })
    };
    serve.wait_for("payment confirmed").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!paying.is_finished(), "the confirm waits on the charge");
    serve.terminate();
    let (status, answer, _) = paying.await.expect("the confirm");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["status"], "unknown",
        "in doubt after the timeout: {answer}"
    );
    let id = answer["id"].as_str().expect("id").to_owned();
    assert_eq!(serve.exit_code(Duration::from_secs(30)), Some(0));
    sandbox.sandbox.faults.set(Vec::new());

    let again = Serve::start(serve_command(&config, &[]));
    assert_eq!(again.url, url);
    let settled = final_view(&url, &id).await;
    let charges = sandbox.sandbox.ledger.entries().len();
    drop(again);
    let _ = std::fs::remove_dir_all(dir);
    (settled, charges)
}

/// The charge hangs before the provider commits it: nothing was charged, and the
/// reconciler settles the payment `failed` (the provider has no such payment).
#[tokio::test]
async fn sigterm_while_a_charge_hangs_exits_0_after_the_timeout_and_the_payment_settles() {
    let hang = FaultRule {
        hang: true,
        ..FaultRule::default()
    };
    let (settled, charges) = sigterm_while_the_charge_hangs("hang", hang).await;
    assert_eq!(settled["result"]["status"], "failed", "{settled}");
    assert_eq!(settled["result"]["error"]["providerCode"], "not_found");
    assert_eq!(charges, 0, "no charge");
}

/// The provider charges, then stalls: the reconciler finds the charge, and the payment
/// ends authorized with exactly the one charge the provider made.
#[tokio::test]
async fn sigterm_while_a_committed_charge_hangs_exits_0_and_the_restart_finds_the_one_charge() {
    let hang = FaultRule {
        hang_after_commit: true,
        ..FaultRule::default()
    };
    let (settled, charges) = sigterm_while_the_charge_hangs("hang-committed", hang).await;
    assert_eq!(settled["result"]["status"], "authorized", "{settled}");
    assert_eq!(charges, 1, "exactly one charge");
}

/// The value of the sample `series` (name and labels exactly) in a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_real_payments() {
    let sandbox = support::sandbox().await;
    let dir = temp_dir("metrics");
    let config = config(&dir, free_port(), &sandbox.url, sqlite(&dir), 5_000);
    let serve = Serve::start(serve_command(&config, &[]));
    let url = serve.url.clone();

    let mut statuses = Vec::new();
    for pan in [BAMBORA_FRICTIONLESS, BAMBORA_FRICTIONLESS, BAMBORA_FAILED] {
        let done = pay_at(&url, "bambora", pan).await;
        statuses.push(
            done["result"]["status"]
                .as_str()
                .expect("status")
                .to_owned(),
        );
    }
    let done = pay_at(&url, "paysafe", "4000000000002008").await;
    assert_eq!(done["result"]["status"], "authorized", "{done}");

    let webhook_status = support::browser()
        .post(format!("{url}/v1/webhooks/dlocal"))
        .body("{}")
        .send()
        .await
        .expect("POST")
        .status()
        .as_u16();

    let scrape = reqwest::get(format!("{url}/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(scrape.status(), 200);
    let kind = scrape.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = scrape.text().await.expect("text");
    let count = |series: &str| sample(&text, series).unwrap_or(0.0);
    assert_eq!(
        count("threeds_bridge_payments_started_total{provider=\"bambora\"}"),
        3.0,
        "{text}"
    );
    assert_eq!(
        count("threeds_bridge_payments_started_total{provider=\"paysafe\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(statuses[0], "authorized");
    let authorized = statuses.iter().filter(|s| *s == "authorized").count() as f64;
    assert_eq!(
        count("threeds_bridge_payments_ended_total{provider=\"bambora\",status=\"authorized\"}"),
        authorized,
        "{text}"
    );
    let other = &statuses[2];
    if other != "authorized" {
        let series = format!(
            "threeds_bridge_payments_ended_total{{provider=\"bambora\",status=\"{other}\"}}"
        );
        assert_eq!(count(&series), 1.0, "{text}");
    }
    assert_eq!(
        count("threeds_bridge_payments_ended_total{provider=\"paysafe\",status=\"authorized\"}"),
        1.0,
        "{text}"
    );
    // Every Bambora charge is one call answered 2xx or 4xx (a decline); Paysafe made several.
    let bambora_calls: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with(
                "threeds_bridge_provider_call_duration_seconds_count{provider=\"bambora\"",
            )
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(bambora_calls >= 3.0, "{text}");
    assert!(
        text.contains("provider=\"paysafe\",call=\"paysafe."),
        "{text}"
    );
    assert_eq!(
        count("threeds_bridge_store_operation_duration_seconds_count{operation=\"create\",outcome=\"ok\"}"),
        4.0,
        "{text}"
    );
    assert!(text.contains("threeds_bridge_reconcile_backlog "), "{text}");
    // A store call's buckets reach past PostgreSQL's 10 s bound (0.1 ms × 2^17 ≈ 13.1 s).
    assert!(
        text.lines().any(|l| l
            .starts_with("threeds_bridge_store_operation_duration_seconds_bucket")
            && l.contains("le=\"13.10")),
        "{text}"
    );
    // Deliveries to the webhook are counted by the status they got.
    assert_eq!(webhook_status, 404, "dLocal is not configured here");
    assert_eq!(
        count("threeds_bridge_webhooks_total{provider=\"dlocal\",status=\"404\"}"),
        1.0,
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));
    drop(serve);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn json_logs_of_a_full_flow_are_all_json_with_request_ids_and_no_card_number() {
    let sandbox = support::sandbox().await;
    let dir = temp_dir("logs");
    let config = config(&dir, free_port(), &sandbox.url, sqlite(&dir), 5_000);
    let mut serve = Serve::start(serve_command(&config, &["--log-format", "json"]));
    let url = serve.url.clone();
    let pans = [BAMBORA_CHALLENGE, BAMBORA_FRICTIONLESS, "4000000000002008"];
    let challenge = pay_at(&url, "bambora", pans[0]).await;
    assert_eq!(challenge["result"]["status"], "authorized", "{challenge}");
    pay_at(&url, "bambora", pans[1]).await;
    pay_at(&url, "paysafe", pans[2]).await;
    let id = challenge["id"].as_str().unwrap();
    // A client's own request id is kept and echoed; a query string is never logged; a
    // refused origin is named.
    let read = support::browser()
        .get(format!("{url}/v1/payments/{id}?token=query-secret-42"))
        .bearer_auth(MERCHANT_KEY)
        .header("X-Request-Id", "ops-test-42")
        .header("Origin", "http://evil.test")
        .send()
        .await
        .expect("GET");
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["x-request-id"], "ops-test-42");
    // A card number where a payment id goes is not logged either.
    let stray = support::browser()
        .get(format!("{url}/v1/payments/{}", pans[1]))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .expect("GET");
    assert!(stray.status().is_client_error());
    // Nor one sent as an origin, and a huge origin is not written out on a line.
    for origin in [
        format!("http://{}.evil.test", pans[1]),
        format!("http://{}.test", "o".repeat(64 * 1024)),
    ] {
        let refused = support::browser()
            .get(format!("{url}/v1/payments/{id}"))
            .bearer_auth(MERCHANT_KEY)
            .header("Origin", origin)
            .send()
            .await
            .expect("GET");
        assert_eq!(refused.status(), 200);
    }
    let minted = reqwest::get(format!("{url}/healthz")).await.expect("GET");
    let minted = minted.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(minted.len(), 32, "a fresh id: {minted}");
    serve.terminate();
    assert_eq!(serve.exit_code(Duration::from_secs(30)), Some(0));

    let lines = serve.output();
    let mut access = Vec::new();
    let mut in_requests = 0;
    for line in &lines {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        for pan in pans {
            assert!(!line.contains(pan), "a card number in: {line}");
        }
        assert!(!line.contains("query-secret-42"), "the query in: {line}");
        assert!(line.len() < 8 * 1024, "a line of {} bytes", line.len());
        let request = value["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["name"] == "request"));
        if let Some(request) = request {
            in_requests += 1;
            assert!(
                request["request_id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty()),
                "{line}"
            );
        }
        if value["target"] == "threeds_bridge::access" {
            assert!(
                request.is_some(),
                "an access line outside its request: {line}"
            );
            access.push(value);
        }
    }
    assert!(in_requests > 10, "{lines:#?}");
    let ours = access
        .iter()
        .find(|a| a["spans"][0]["request_id"] == "ops-test-42")
        .unwrap_or_else(|| panic!("no access line for ops-test-42: {access:#?}"));
    assert_eq!(ours["fields"]["method"], "GET");
    assert_eq!(ours["fields"]["path"], format!("/v1/payments/{id}"));
    assert_eq!(ours["fields"]["status"], 200);
    assert!(ours["fields"]["duration_ms"].is_u64());
    let created = access.iter().any(|a| {
        a["fields"]["path"] == "/v1/payments"
            && a["fields"]["method"] == "POST"
            && a["fields"]["status"] == 201
            && a["spans"][0]["payment"] == id
    });
    assert!(
        created,
        "the create's access line names the payment it made"
    );
    assert!(access
        .iter()
        .any(|a| a["spans"][0]["request_id"] == minted.as_str()));
    let text = lines.join("\n");
    assert!(
        text.contains("visa 401200…3001"),
        "the card summary, displayed: {text}"
    );
    assert!(!text.contains("CardSummary"), "a Debug card summary");
    let refused = lines
        .iter()
        .find(|l| l.contains("refused by CORS"))
        .expect("the CORS refusal is logged");
    assert!(
        refused.contains("http://evil.test") && refused.contains("ops-test-42"),
        "{refused}"
    );
    let starred = lines
        .iter()
        .filter(|l| l.contains("refused by CORS") && l.contains("\"origin\":\"*\""))
        .count();
    assert_eq!(
        starred, 2,
        "the card number's and the huge origin's refusals"
    );
    // Lines within a drive name the payment and its provider; within a call, the step.
    assert!(lines.iter().any(|l| {
        l.contains("\"name\":\"call\"") && l.contains("\"step\":\"bambora.") && l.contains(id)
    }));
    let _ = std::fs::remove_dir_all(dir);
}
