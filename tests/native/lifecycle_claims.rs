//! An operation is claimed for one call lease, and one of several calls keeps its claim
//! from call to call: a Payroc refund on a backend with no Bearer token cached asks the
//! identity service for one, then sends the refund. If the first call outlives a lease, a
//! merchant read in between must find the operation still claimed, not abandoned: it
//! leaves it alone instead of sending the refund a second time.
//!
//! The backend's clock runs ahead instead of the test waiting a lease (about 10 s with the
//! harness's call policy): its `Env` adds an offset the transport moves on as soon as the
//! token call has been answered, and the read is made over real HTTP, from inside the
//! transport, just before the refund is sent.

use crate::support;

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use support::backend::{
    harness, operate_at, pay, serve_unlimited, start_body, Cardholder, MERCHANT_KEY,
};
use support::clock::Ahead;
use threeds_bridge::backend::native::ReqwestTransport;
use threeds_bridge::backend::{Backend, Transport};
use threeds_bridge::provider::{HttpRequest, HttpResponse, TransportFailure};

/// The real transport, which moves the backend's clock on by `jump_ms` once Payroc's token call is
/// answered, and before the first refund it sends reads the payment as the merchant
/// (`read_url`), keeping what the read answered.
struct SlowToken {
    inner: ReqwestTransport,
    clock: Ahead,
    jump_ms: u64,
    read_url: String,
    seen: Arc<Seen>,
}

/// What the test reads once the backend owns the transport.
#[derive(Default)]
struct Seen {
    /// Each request's purpose, in order.
    sent: Mutex<Vec<&'static str>>,
    /// The merchant's read of the payment, made just before the first refund was sent.
    read_meanwhile: Mutex<Option<Value>>,
}

impl Transport for SlowToken {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let first_refund = {
            let mut sent = self.seen.sent.lock().expect("sent");
            sent.push(request.purpose);
            request.purpose == "payroc.refund"
                && sent.iter().filter(|p| **p == "payroc.refund").count() == 1
        };
        if first_refund {
            let read: Value = support::browser()
                .get(&self.read_url)
                .bearer_auth(MERCHANT_KEY)
                .send()
                .await
                .expect("merchant read")
                .json()
                .await
                .expect("merchant read's json");
            *self.seen.read_meanwhile.lock().expect("read") = Some(read);
        }
        let answer = self.inner.send(request).await;
        if request.purpose == "payroc.authorize" {
            self.clock.jump(self.jump_ms);
        }
        answer
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_after_a_token_call_longer_than_a_lease_is_sent_once() {
    let h = harness().await;
    let body = start_body("payroc", "4000000000001000", "iframe");
    let (view, _) = pay(&h, &body, Cardholder::Types("1234")).await;
    assert_eq!(view["status"], "authorized", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();

    // A second backend on the same store, as a second instance would be: its Payroc
    // adapter has no token yet, so the refund's first call is the token call.
    let (listener, config) = h.beside().await;
    let url = config.public_url.clone();
    let clock = Ahead::default();
    let seen = Arc::new(Seen::default());
    let transport = SlowToken {
        inner: ReqwestTransport::new(&config.calls).expect("transport"),
        clock: clock.clone(),
        jump_ms: config.calls.lease_ms() + 1_000,
        read_url: format!("{url}/v1/payments/{id}"),
        seen: seen.clone(),
    };
    let backend = Backend::new(config, h.store.clone(), transport, clock);
    let running = serve_unlimited(listener, Arc::new(backend));

    let (status, refund) = operate_at(&url, &id, "refunds", "r-1", &json!({"amount": 300})).await;
    assert_eq!(
        (status, &refund["status"], &refund["amount"]),
        (200, &json!("succeeded"), &json!(300)),
        "{refund}"
    );

    let meanwhile = seen.read_meanwhile.lock().expect("read").take();
    let meanwhile = meanwhile.expect("the refund was sent, and the read made before it");
    assert_eq!(
        meanwhile["operations"][0]["status"], "unknown",
        "a read between the token and the refund finds the refund still claimed: {meanwhile}"
    );
    assert_eq!(
        *seen.sent.lock().expect("sent"),
        ["payroc.authorize", "payroc.refund"],
        "the token, then the refund, once: nobody took the operation for abandoned"
    );
    let (_, merchant) = h.merchant_view(&id).await;
    assert_eq!(merchant["money"]["refunded"], 300, "{merchant}");
    running.shutdown().await;
}
