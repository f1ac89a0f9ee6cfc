//! The core's webhook path without a network: a payment's final write enqueues one row per
//! endpoint, a delivery round signs and sends them, a 500 is retried at the backoff's time,
//! a 2xx ends the row, an old event is given up, and a lost swap enqueues nothing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::sign;
use crate::backend::host::{Env, Transport};
use crate::backend::{Backend, BackendConfig};
use crate::payment::{PaymentResult, PaymentStatus, ResultCode};
use crate::provider::{HttpRequest, HttpResponse, TransportFailure};
use crate::session::{AdapterState, Phase, Session};
use crate::store::memory::MemoryStore;
use crate::store::outbox::Outbox;
use crate::store::SessionStore;

const SECRET: &str = "whsec_unit_test_secret_0123456789";

#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<u16>>,
    sent: Mutex<Vec<HttpRequest>>,
}

impl Transport for Arc<Scripted> {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportFailure> {
        self.sent.lock().unwrap().push(request.clone());
        let status = self.answers.lock().unwrap().pop_front().unwrap_or(204);
        Ok(HttpResponse {
            status,
            headers: Vec::new(),
            body: String::new(),
        })
    }
}

struct Clock(Arc<AtomicU64>);

impl Env for Clock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    fn random_u128(&self) -> u128 {
        0x1234
    }
    async fn sleep(&self, _: u64) {}
}

type TestBackend = Backend<MemoryStore, Arc<Scripted>, Clock>;

fn backend(endpoints: serde_json::Value) -> (TestBackend, Arc<Scripted>, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(1_700_000_000_000));
    let (backend, transport) = backend_on(endpoints, Arc::default(), now.clone());
    (backend, transport, now)
}

/// A backend with `endpoints` on `store`, its clock `now`: one of several instances.
fn backend_on(
    endpoints: serde_json::Value,
    store: Arc<MemoryStore>,
    now: Arc<AtomicU64>,
) -> (TestBackend, Arc<Scripted>) {
    let config: BackendConfig = serde_json::from_value(json!({
        "public_url": "https://pay.test",
        "checkout_origins": ["https://shop.test"],
        "merchant_api_keys": ["merchant-key-0123456789"],
        "providers": {},
        "webhooks": {"endpoints": endpoints, "first_retry_ms": 1000, "max_retry_ms": 60000},
    }))
    .expect("config");
    config.validate().expect("valid");
    let transport = Arc::new(Scripted::default());
    let backend = Backend::new(config, store, transport.clone(), Clock(now));
    (backend, transport)
}

fn calling() -> Session {
    serde_json::from_value(json!({
        "id": "0123456789abcdef0123456789abcdef",
        "nonce": "n",
        "provider": "bambora",
        "order_id": "o-1",
        "amount": 1250,
        "currency": "CAD",
        "checkout_origin": "https://shop.test",
        "display": "iframe",
        "card": null,
        "created_at_ms": 0,
        "expires_at_ms": u64::MAX / 4,
        "version": 1,
        "phase": Phase::Calling {
            state: AdapterState(json!({})),
            purpose: "bambora.payment".into(),
        },
    }))
    .expect("session")
}

fn declined(session: &Session) -> Session {
    let result = PaymentResult::failed(PaymentStatus::Declined, ResultCode::Declined);
    session
        .advanced(Phase::Final { result }, 10)
        .expect("final")
}

fn two_endpoints() -> serde_json::Value {
    json!([
        {"url": "https://a.test/hooks", "secret": SECRET},
        {"url": "https://b.test/hooks", "secret": SECRET},
    ])
}

#[tokio::test]
async fn a_final_write_enqueues_one_signed_event_per_endpoint_and_a_lost_one_none() {
    let (backend, transport, now) = backend(two_endpoints());
    let session = calling();
    backend.store().create(&session).await.unwrap();
    let final_one = declined(&session);
    assert!(backend.swap_announced(&final_one).await.unwrap());
    assert!(
        !backend.swap_announced(&final_one).await.unwrap(),
        "the race's loser"
    );
    assert_eq!(backend.store().backlog().await.unwrap(), 2);

    let round = backend.deliver_webhooks().await.unwrap();
    assert_eq!((round.delivered, round.retried, round.gave_up), (2, 0, 0));
    let sent = transport.sent.lock().unwrap().clone();
    let urls: Vec<&str> = sent.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(urls, ["https://a.test/hooks", "https://b.test/hooks"]);
    let header = |request: &HttpRequest, name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let request = &sent[0];
    let body = request.body.clone().unwrap();
    let id = header(request, "Webhook-Id");
    assert_eq!(id, format!("evt_{:032x}", 0x1234));
    let timestamp: u64 = header(request, "Webhook-Timestamp").parse().unwrap();
    assert_eq!(timestamp, now.load(Ordering::SeqCst) / 1000);
    let signature = header(request, "Webhook-Signature");
    assert!(sign::verify(
        SECRET, &id, timestamp, &body, &signature, timestamp
    ));
    let event: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["type"], "payment.failed");
    assert_eq!(
        event["data"]["payment"]["result"]["error"]["code"],
        "declined"
    );
    assert_eq!(backend.store().backlog().await.unwrap(), 0);
    assert_eq!(backend.deliver_webhooks().await.unwrap().attempted(), 0);
}

/// The rows still to deliver, as each round's observer hears them.
#[derive(Default)]
struct Backlogs {
    counts: bool,
    heard: Mutex<Vec<u64>>,
}

impl crate::backend::Observer for Backlogs {
    fn counts_webhook_backlog(&self) -> bool {
        self.counts
    }
    fn webhook_backlog(&self, rows: u64) {
        self.heard.lock().unwrap().push(rows);
    }
}

/// A round tells an observer that counts the backlog (the native host's metrics) what is
/// left; for one that does not (the edge's, which exports no metrics) the store is not
/// asked, since counting reads the whole queue.
#[tokio::test]
async fn the_backlog_is_counted_only_for_an_observer_that_takes_it() {
    for counts in [true, false] {
        let (backend, transport, _) = backend(two_endpoints());
        let observer = Arc::new(Backlogs {
            counts,
            ..Backlogs::default()
        });
        let backend = backend.observed_by(observer.clone());
        let session = calling();
        backend.store().create(&session).await.unwrap();
        assert!(backend.swap_announced(&declined(&session)).await.unwrap());
        transport.answers.lock().unwrap().push_back(500);
        let round = backend.deliver_webhooks().await.unwrap();
        assert_eq!((round.delivered, round.retried), (1, 1));
        let heard = observer.heard.lock().unwrap().clone();
        assert_eq!(heard, if counts { vec![1] } else { vec![] });
    }
}

/// Told to stop after its first POST, a round sends no other: the second row stays
/// claimed (its lease) and is sent by a later round.
#[tokio::test]
async fn a_round_told_to_stop_sends_no_other_row() {
    let (backend, transport, now) = backend(two_endpoints());
    let session = calling();
    backend.store().create(&session).await.unwrap();
    assert!(backend.swap_announced(&declined(&session)).await.unwrap());
    let sent = || transport.sent.lock().unwrap().len();
    let round = backend.deliver_webhooks_until(|| sent() > 0).await.unwrap();
    assert_eq!((round.delivered, sent()), (1, 1));
    assert_eq!(backend.store().backlog().await.unwrap(), 1);
    now.fetch_add(10 * 60_000, Ordering::SeqCst);
    assert_eq!(backend.deliver_webhooks().await.unwrap().delivered, 1);
    assert_eq!(sent(), 2);
}

#[tokio::test]
async fn a_failed_attempt_is_retried_at_its_time_and_an_old_event_given_up() {
    let (backend, transport, now) =
        backend(json!([{"url": "https://a.test/hooks", "secret": SECRET}]));
    let session = calling();
    backend.store().create(&session).await.unwrap();
    assert!(backend.swap_announced(&declined(&session)).await.unwrap());
    transport.answers.lock().unwrap().extend([500, 503]);

    assert_eq!(backend.deliver_webhooks().await.unwrap().retried, 1);
    // The first retry waits 500 to 1000 ms (jitter in the upper half of 1 s).
    now.fetch_add(499, Ordering::SeqCst);
    assert_eq!(
        backend.deliver_webhooks().await.unwrap().attempted(),
        0,
        "not yet"
    );
    now.fetch_add(501, Ordering::SeqCst);
    assert_eq!(backend.deliver_webhooks().await.unwrap().retried, 1);
    // A day later the next failure gives up.
    now.fetch_add(24 * 60 * 60_000, Ordering::SeqCst);
    transport.answers.lock().unwrap().push_back(500);
    let round = backend.deliver_webhooks().await.unwrap();
    assert_eq!(round.gave_up, 1);
    assert_eq!(backend.store().backlog().await.unwrap(), 0);
    assert_eq!(transport.sent.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn an_endpoint_this_instance_does_not_know_is_left_to_one_that_does() {
    // Two instances on one store during a deploy that adds b.test: the new one (both
    // endpoints) writes the events, the old one (a.test only) claims both rows first.
    let now = Arc::new(AtomicU64::new(1_700_000_000_000));
    let store = Arc::new(MemoryStore::default());
    let (new, new_sent) = backend_on(two_endpoints(), store.clone(), now.clone());
    let a_only = json!([{"url": "https://a.test/hooks", "secret": SECRET}]);
    let (old, old_sent) = backend_on(a_only, store.clone(), now.clone());
    let session = calling();
    store.create(&session).await.unwrap();
    assert!(new.swap_announced(&declined(&session)).await.unwrap());

    let round = old.deliver_webhooks().await.unwrap();
    assert_eq!((round.delivered, round.retried, round.gave_up), (1, 1, 0));
    let sent = old_sent.sent.lock().unwrap().clone();
    let urls: Vec<&str> = sent.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        ["https://a.test/hooks"],
        "b.test's event is not given up"
    );
    assert_eq!(store.backlog().await.unwrap(), 1);

    // At its next attempt the instance that knows b.test sends it.
    now.fetch_add(1_000, Ordering::SeqCst);
    assert_eq!(new.deliver_webhooks().await.unwrap().delivered, 1);
    let sent = new_sent.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, "https://b.test/hooks");
    assert_eq!(store.backlog().await.unwrap(), 0);
}

#[tokio::test]
async fn an_endpoint_removed_everywhere_is_given_up_once_its_event_is_too_old() {
    let now = Arc::new(AtomicU64::new(1_700_000_000_000));
    let store = Arc::new(MemoryStore::default());
    let (before, _) = backend_on(two_endpoints(), store.clone(), now.clone());
    let session = calling();
    store.create(&session).await.unwrap();
    assert!(before.swap_announced(&declined(&session)).await.unwrap());
    let a_only = json!([{"url": "https://a.test/hooks", "secret": SECRET}]);
    let (after, sent) = backend_on(a_only, store.clone(), now.clone());

    assert_eq!(after.deliver_webhooks().await.unwrap().retried, 1);
    now.fetch_add(24 * 60 * 60_000, Ordering::SeqCst);
    let round = after.deliver_webhooks().await.unwrap();
    assert_eq!((round.delivered, round.retried, round.gave_up), (0, 0, 1));
    assert_eq!(store.backlog().await.unwrap(), 0);
    let urls: Vec<String> = sent
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.url.clone())
        .collect();
    assert_eq!(urls, ["https://a.test/hooks"], "never sent to b.test");
}

#[tokio::test]
async fn without_endpoints_nothing_is_written() {
    let (backend, _, _) = backend(json!([]));
    let session = calling();
    backend.store().create(&session).await.unwrap();
    assert!(backend.final_events(&declined(&session)).is_empty());
    assert!(backend.swap_announced(&declined(&session)).await.unwrap());
    assert_eq!(backend.store().backlog().await.unwrap(), 0);
}

#[test]
fn a_log_line_names_an_endpoint_without_its_query() {
    let logged = |url: &str| super::Logged(url).to_string();
    assert_eq!(
        logged("https://a.test/hooks?token=s3cr3t-0123"),
        "https://a.test/hooks?…"
    );
    assert_eq!(logged("https://a.test/hooks"), "https://a.test/hooks");
}
