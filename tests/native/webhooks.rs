//! Outbound webhooks, end to end: `threeds-bridge serve` POSTs each payment's event to a
//! real receiver (axum on a free port) that checks the signature the way docs/backend/
//! webhooks.md tells merchants to (its own HMAC, constant-time compare, a 5 minute window),
//! dedupes by event id and counts. Through a receiver's 500, a `kill -9` of the backend and
//! its restart on the same SQLite file, every event arrives and each is processed once; an
//! endpoint that holds another secret refuses every attempt; two instances sharing one
//! PostgreSQL database send each event once.

use crate::support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use support::backend::{operate_at, run_method, start_at, start_body, CHECKOUT, MERCHANT_KEY};
use support::serve::{free_port, sandbox_providers, serve_command, Serve};

const BAMBORA_FRICTIONLESS: &str = "4012000033330026";
const BAMBORA_FAILED: &str = "4012001775445550";
const SECRET: &str = "whsec_receiver_secret_0123456789";
const OTHER_SECRET: &str = "whsec_some_other_secret_987654321";

/// What a receiver saw.
#[derive(Default)]
struct Seen {
    /// Every attempt, in order: (event id, HTTP status answered).
    attempts: Vec<(String, u16)>,
    /// Events processed (signature valid, first time), by id: the event's JSON.
    processed: HashMap<String, Value>,
    /// Processed again: must stay 0 (the dedupe works) — counted to prove it ran.
    duplicates: usize,
    /// Attempts whose signature did not verify.
    bad_signatures: usize,
}

#[derive(Clone)]
struct Receiver {
    secret: &'static str,
    /// Answer 500 to the first attempt of each event id.
    fail_first: bool,
    seen: Arc<Mutex<Seen>>,
}

impl Receiver {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }
}

/// The merchant's check, written from the docs: HMAC-SHA256 of `{id}.{timestamp}.{body}`,
/// hex, after `v1=`, compared in constant time; the timestamp within 5 minutes.
fn verified(secret: &str, headers: &HeaderMap, body: &str) -> Option<String> {
    let header = |name: &str| headers.get(name)?.to_str().ok().map(str::to_owned);
    let id = header("webhook-id")?;
    let timestamp = header("webhook-timestamp")?;
    let signature = header("webhook-signature")?;
    let sent: u64 = timestamp.parse().ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    if now.abs_diff(sent) > 300 {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let valid = signature
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1="))
        .any(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())));
    valid.then_some(id)
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let mut seen = receiver.seen();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let first_attempt = !seen.attempts.iter().any(|(seen_id, _)| *seen_id == id);
    let status = match verified(receiver.secret, &headers, &body) {
        None => {
            seen.bad_signatures += 1;
            StatusCode::UNAUTHORIZED
        }
        Some(_) if receiver.fail_first && first_attempt => StatusCode::INTERNAL_SERVER_ERROR,
        Some(id) => {
            let event: Value = serde_json::from_str(&body).expect("an event is JSON");
            assert_eq!(event["id"], id.as_str(), "Webhook-Id is the event's id");
            match seen.processed.entry(id) {
                std::collections::hash_map::Entry::Occupied(_) => seen.duplicates += 1,
                std::collections::hash_map::Entry::Vacant(first) => {
                    first.insert(event);
                }
            }
            StatusCode::NO_CONTENT
        }
    };
    seen.attempts.push((id, status.as_u16()));
    status
}

/// A receiver on a free port; its URL.
async fn receiver(secret: &'static str, fail_first: bool) -> (Receiver, String) {
    let receiver = Receiver {
        secret,
        fail_first,
        seen: Arc::default(),
    };
    let app = Router::new()
        .route("/hooks", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, url)
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "threeds-bridge-webhooks-{tag}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A serve config on `port` with Bambora on the sandbox, `store`, and `endpoints`; a failed
/// delivery's first retry comes between half of `retry_ms` and `retry_ms` later (jitter).
fn config(
    dir: &Path,
    port: u16,
    sandbox: &str,
    store: Value,
    endpoints: Value,
    retry_ms: u64,
) -> PathBuf {
    let config = json!({
        "listen": format!("127.0.0.1:{port}"),
        "public_url": format!("http://127.0.0.1:{port}"),
        "checkout_origins": [CHECKOUT],
        "merchant_api_keys": [MERCHANT_KEY],
        "store": store,
        "calls": {"timeout_ms": 3000, "attempts": 1, "backoff_ms": 50},
        "confirm_rate_limit": {"per_minute": 0, "burst": 0},
        "webhooks": {
            "endpoints": endpoints,
            "first_retry_ms": retry_ms,
            "max_retry_ms": retry_ms + 1000,
            "poll_every_ms": 100,
        },
        "providers": sandbox_providers(sandbox, &["bambora"]),
    });
    let path = dir.join(format!("backend-{port}.json"));
    std::fs::write(&path, config.to_string()).expect("write config");
    path
}

/// A Bambora payment of `pan` through the backend at `url` to its result; its id and status.
async fn pay(url: &str, pan: &str) -> (String, String) {
    pay_with(url, &start_body("bambora", pan, "iframe")).await
}

/// [`pay`] with the whole create-and-confirm `body`.
async fn pay_with(url: &str, body: &Value) -> (String, String) {
    let (status, mut view, secret) = start_at(url, body).await;
    assert_eq!(status, 200, "{view}");
    let secret = secret.expect("a client secret");
    let id = view["id"].as_str().expect("id").to_owned();
    for _ in 0..4 {
        if view["state"] == "final" {
            return (id, view["status"].as_str().unwrap_or_default().to_owned());
        }
        assert_eq!(view["next"]["type"], "method", "{view}");
        let completion = run_method(url, &view).await;
        view = support::browser()
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
    panic!("the payment did not finish: {view}");
}

/// Waits until `done` holds (`secs` at most), and fails naming `what` if it never does.
async fn eventually(what: &str, secs: u64, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(done(), "never: {what}");
}

/// Waits until `done` holds of what `receiver` saw (20 s at most).
async fn until(receiver: &Receiver, what: &str, done: impl Fn(&Seen) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(&receiver.seen()) {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn operate(url: &str, id: &str, what: &str, key: &str, body: Value) -> (u16, Value) {
    operate_at(url, id, what, key, &body).await
}

/// The processed events of payment `id`, by type then amount.
fn events_of<'a>(seen: &'a Seen, id: &str) -> Vec<&'a Value> {
    let mut events: Vec<&Value> = seen
        .processed
        .values()
        .filter(|event| event["data"]["payment"]["id"] == id)
        .collect();
    events.sort_by_key(|event| {
        let amount = event["data"]["operation"]["amount"].as_u64();
        (
            event["type"].as_str().unwrap_or_default().to_owned(),
            amount,
        )
    });
    events
}

/// The processed event of payment `id`.
fn event_of<'a>(seen: &'a Seen, id: &str) -> &'a Value {
    let mut of_payment = seen
        .processed
        .values()
        .filter(|event| event["data"]["payment"]["id"] == id);
    let event = of_payment
        .next()
        .unwrap_or_else(|| panic!("no event of {id}"));
    assert!(of_payment.next().is_none(), "one event per payment result");
    event
}

#[tokio::test]
async fn every_event_arrives_once_through_a_500_and_a_kill_9() {
    let sandbox = support::sandbox().await;
    let (good, good_url) = receiver(SECRET, true).await;
    // This endpoint's owner holds another secret: it must refuse every attempt.
    let (wrong, wrong_url) = receiver(OTHER_SECRET, false).await;
    let dir = temp_dir("kill9");
    let port = free_port();
    let store = json!({"kind": "sqlite", "path": dir.join("sessions.sqlite3")});
    let endpoints = json!([
        {"url": good_url, "secret": SECRET},
        {"url": wrong_url, "secret": SECRET},
    ]);
    // The kill must come before either retry is due: a retry the first instance has
    // claimed when it dies waits out its lease (a minute here), past this test's patience.
    // So retries come 5 to 10 s after the 500, and both payments run at once, which
    // leaves seconds for a loaded machine between the two 500s and the kill.
    let config = config(&dir, port, &sandbox.url, store, endpoints, 10_000);

    let mut first = Serve::start(serve_command(&config, &[]));
    let ((authorized, status), (failed, failed_status)) = tokio::join!(
        pay(&first.url, BAMBORA_FRICTIONLESS),
        pay(&first.url, BAMBORA_FAILED)
    );
    assert_eq!(status, "authorized");
    assert_ne!(failed_status, "authorized");
    // Both events got their first attempt, answered 500: each is now due again, and
    // the backend dies before it comes back to them.
    until(&good, "a first attempt of each event", |seen| {
        seen.attempts.iter().filter(|(_, s)| *s == 500).count() == 2
    })
    .await;
    first.kill_9();
    assert!(
        good.seen().processed.is_empty(),
        "nothing processed before the kill"
    );
    let mut logged = first.output();

    let second = Serve::start(serve_command(&config, &[]));
    until(&good, "both events processed", |seen| {
        seen.processed.len() == 2
    })
    .await;
    // Each 2xx is recorded in the store: nothing of the good endpoint is left to send.
    // (A row claimed and never recorded as sent would come back only after its lease, a
    // minute here: past any wait this test could afford, so a sleep proved nothing.)
    let db = rusqlite::Connection::open(dir.join("sessions.sqlite3")).expect("the store");
    let mut recorded = 0;
    for _ in 0..100 {
        recorded = db
            .query_row(
                "SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at_ms IS NOT NULL",
                [],
                |row| row.get::<_, i64>(0),
            )
            .expect("count");
        if recorded == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(recorded, 2, "both 2xx recorded as delivered");

    let seen = good.seen();
    assert_eq!(seen.processed.len(), 2, "no event invented");
    assert_eq!(
        seen.duplicates, 0,
        "each event delivered once after its 2xx"
    );
    assert_eq!(seen.bad_signatures, 0);
    for id in seen.processed.keys() {
        assert!(id.starts_with("evt_") && id.len() == 36, "{id}");
        let tries = seen
            .attempts
            .iter()
            .filter(|(seen_id, _)| seen_id == id)
            .count();
        assert_eq!(tries, 2, "{id}: the 500, then the one after the restart");
    }
    let event = event_of(&seen, &authorized);
    assert_eq!(event["type"], "payment.authorized");
    let payment = &event["data"]["payment"];
    assert_eq!(payment["status"], "authorized");
    assert_eq!(payment["amount"], 1099);
    assert_eq!(payment["currency"], "CAD");
    assert!(payment["providerPaymentId"].is_string(), "{event}");
    assert_eq!(payment["card"]["lastFour"], "0026");
    let text = event.to_string();
    for leak in [BAMBORA_FRICTIONLESS, "_secret_", "\"bin\"", "\"cvv\""] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    let event = event_of(&seen, &failed);
    assert_eq!(event["type"], "payment.failed");
    assert!(
        event["data"]["payment"]["result"]["error"]["code"].is_string(),
        "{event}"
    );
    // The merchant's event carries the reason the page's view leaves out.
    assert_eq!(
        event["data"]["payment"]["result"]["transStatusReason"], "01",
        "{event}"
    );
    drop(seen);

    let refused = wrong.seen();
    assert!(
        refused.processed.is_empty(),
        "a wrong secret never verifies"
    );
    assert!(
        refused.bad_signatures >= 2,
        "both events reached it, signed with another key"
    );
    drop(refused);
    logged.extend(second.output());
    let retried = logged
        .iter()
        .filter(|l| l.contains("webhook attempt failed"))
        .count();
    assert!(retried >= 2, "the log tells of the failed attempts");
    for line in &logged {
        for secret in [SECRET, "lastFour", "\"data\""] {
            assert!(!line.contains(secret), "{secret} logged: {line}");
        }
    }
    drop(second);
}

#[tokio::test]
async fn two_instances_on_one_postgresql_send_each_event_once() {
    let sandbox = support::sandbox().await;
    let (receiver, url) = receiver(SECRET, false).await;
    let dir = temp_dir("pg");
    let store = json!({
        "kind": "postgres",
        "url": support::store::database_url(),
        "schema": support::store::fresh_schema(),
    });
    let endpoints = json!([{"url": url, "secret": SECRET}]);
    let instance = || {
        let config = config(
            &dir,
            free_port(),
            &sandbox.url,
            store.clone(),
            endpoints.clone(),
            3000,
        );
        Serve::start(serve_command(&config, &[]))
    };
    let (a, b) = (instance(), instance());
    let mut payments = Vec::new();
    for i in 0..6 {
        let at = if i % 2 == 0 { &a.url } else { &b.url };
        payments.push(pay(at, BAMBORA_FRICTIONLESS).await.0);
    }
    until(&receiver, "six events", |seen| seen.processed.len() == 6).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let seen = receiver.seen();
    assert_eq!(
        seen.attempts.len(),
        6,
        "each row claimed and sent by one instance, once"
    );
    assert_eq!(seen.duplicates, 0);
    for id in &payments {
        assert_eq!(event_of(&seen, id)["type"], "payment.authorized");
    }
}

#[tokio::test]
async fn captures_voids_and_refunds_each_send_one_event_and_are_counted() {
    let sandbox = support::sandbox().await;
    let (receiver, url) = receiver(SECRET, true).await;
    let dir = temp_dir("operations");
    let store = json!({"kind": "sqlite", "path": dir.join("sessions.sqlite3")});
    let endpoints = json!([{"url": url, "secret": SECRET}]);
    let config = config(&dir, free_port(), &sandbox.url, store, endpoints, 3000);
    let serve = Serve::start(serve_command(&config, &[]));
    let manual = || {
        let mut body = start_body("bambora", BAMBORA_FRICTIONLESS, "iframe");
        body["captureMode"] = json!("manual");
        body
    };

    let (kept, status) = pay_with(&serve.url, &manual()).await;
    assert_eq!(status, "authorized");
    let (status, capture) =
        operate(&serve.url, &kept, "capture", "c1", json!({"amount": 600})).await;
    assert_eq!(
        (status, &capture["status"]),
        (200, &json!("succeeded")),
        "{capture}"
    );
    // A replay of the same request is the same capture: no second event.
    let (status, replay) =
        operate(&serve.url, &kept, "capture", "c1", json!({"amount": 600})).await;
    assert_eq!((status, &replay["id"]), (200, &capture["id"]), "{replay}");
    let (status, _) = operate(&serve.url, &kept, "refunds", "r1", json!({"amount": 200})).await;
    assert_eq!(status, 200);
    // Refused before any call: nothing moved, nothing to tell.
    let (status, refused) =
        operate(&serve.url, &kept, "refunds", "r2", json!({"amount": 5000})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (409, &json!("amount_too_large")),
        "{refused}"
    );
    let (status, rest) = operate(&serve.url, &kept, "refunds", "r3", json!({})).await;
    assert_eq!((status, &rest["amount"]), (200, &json!(400)), "{rest}");

    let (voided, status) = pay_with(&serve.url, &manual()).await;
    assert_eq!(status, "authorized");
    let (status, void) = operate(&serve.url, &voided, "void", "v1", json!({})).await;
    assert_eq!(
        (status, &void["status"]),
        (200, &json!("succeeded")),
        "{void}"
    );

    // 2 authorizations, 1 capture, 2 refunds, 1 void; each answered 500 once first.
    until(&receiver, "six events", |seen| seen.processed.len() == 6).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let scrape = support::browser()
        .get(format!("{}/metrics", serve.url))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("text");
    for (kind, count) in [("capture", 1), ("refund", 2), ("void", 1)] {
        let series = format!(
            "threeds_bridge_operations_ended_total{{provider=\"bambora\",kind=\"{kind}\",status=\"succeeded\"}} {count}"
        );
        assert!(scrape.lines().any(|l| l == series), "{series} in {scrape}");
    }
    assert!(
        !scrape.contains("status=\"refused\""),
        "refused before any call: no operation"
    );
    let seen = receiver.seen();
    assert_eq!(
        seen.processed.len(),
        6,
        "no event invented: {:?}",
        seen.processed.keys()
    );
    assert_eq!((seen.duplicates, seen.bad_signatures), (0, 0));
    assert_eq!(seen.attempts.len(), 12, "each event: the 500, then one 2xx");

    let types = |events: &[&Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let of_kept = events_of(&seen, &kept);
    assert_eq!(
        types(&of_kept),
        [
            "payment.authorized",
            "payment.captured",
            "payment.refunded",
            "payment.refunded"
        ]
    );
    let captured = &of_kept[1]["data"]["operation"];
    assert_eq!(captured["id"], capture["id"], "the id the API answered");
    assert_eq!(captured["kind"], "capture");
    assert_eq!(captured["status"], "succeeded");
    assert_eq!(captured["amount"], 600);
    assert!(captured["providerOperationId"].is_string(), "{captured}");
    let refunded: Vec<&Value> = of_kept[2..]
        .iter()
        .map(|e| &e["data"]["operation"]["amount"])
        .collect();
    assert_eq!(refunded, [&json!(200), &json!(400)]);
    assert_eq!(of_kept[1]["data"]["payment"]["status"], "authorized");
    assert_eq!(of_kept[1]["data"]["payment"]["currency"], "CAD");

    let of_voided = events_of(&seen, &voided);
    assert_eq!(types(&of_voided), ["payment.authorized", "payment.voided"]);
    assert_eq!(of_voided[1]["data"]["operation"]["id"], void["id"]);
    assert_eq!(of_voided[1]["data"]["operation"]["amount"], 1099);
    for event in seen.processed.values() {
        let text = event.to_string();
        assert!(!text.contains(BAMBORA_FRICTIONLESS), "{text}");
        // One key per field: the operation's own amount, not the request's beside it.
        assert_eq!(
            text.matches("\"amount\"").count(),
            1 + usize::from(event["data"].get("operation").is_some()),
            "{text}"
        );
    }
}

/// An endpoint removed from the config with events still to send for it: an instance left
/// with no endpoint at all gives them up once they are `give_up_after_ms` old, as one with
/// other endpoints does (before, it ran no deliverer, and the rows waited for ever).
#[tokio::test]
async fn events_for_a_removed_endpoint_are_given_up_with_no_endpoint_left() {
    let sandbox = support::sandbox().await;
    let dir = temp_dir("removed");
    let store = json!({"kind": "sqlite", "path": dir.join("sessions.sqlite3")});
    // Nothing listens there: each attempt fails, and is retried 2 to 4 s later.
    let gone = format!("http://127.0.0.1:{}/hooks", free_port());
    let endpoints = json!([{"url": gone, "secret": SECRET}]);
    let with_endpoint = config(
        &dir,
        free_port(),
        &sandbox.url,
        store.clone(),
        endpoints,
        4_000,
    );
    let mut first = Serve::start(serve_command(&with_endpoint, &[]));
    let (_, status) = pay(&first.url, BAMBORA_FRICTIONLESS).await;
    assert_eq!(status, "authorized");
    let db = rusqlite::Connection::open(dir.join("sessions.sqlite3")).expect("the store");
    let row = |column: &str| {
        db.query_row(&format!("SELECT {column} FROM webhook_outbox"), [], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap_or(0)
    };
    // The claim counts the attempt and moves the next one to the lease's end; the failure
    // recorded moves it to 2 to 4 s on. Killed between the two, the lease outlasts the test.
    let soon = || (support::flow::now_ms() + 10_000) as i64;
    let recorded = || row("attempts") == 1 && row("next_attempt_at_ms") < soon();
    eventually("the first attempt failed and was recorded", 10, recorded).await;
    first.kill_9(); // before its retry is due: no claim of it outlives the instance

    let none = config(&dir, free_port(), &sandbox.url, store, json!([]), 4_000);
    let mut text: Value = serde_json::from_str(&std::fs::read_to_string(&none).unwrap()).unwrap();
    text["webhooks"]["give_up_after_ms"] = json!(1_000);
    std::fs::write(&none, text.to_string()).unwrap();
    let second = Serve::start(serve_command(&none, &[]));
    let gave_up = || row("gave_up") == 1;
    eventually("given up by the instance without endpoints", 15, gave_up).await;
    drop(second);
}
