//! dLocal's notifications to the merchant: signed, retried until accepted, and the
//! sandbox's duplicate and reorder policies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use threeds_bridge::sandbox::dlocal::AttemptOutcome;
use threeds_bridge::sandbox::faults::FaultRule;

use super::*;

/// A merchant's notification endpoint that answers 500 to its first `failures` requests.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    failures: usize,
}

impl Receiver {
    async fn start(failures: usize) -> (Receiver, String) {
        let receiver = Receiver {
            failures,
            ..Default::default()
        };
        let state = receiver.clone();
        let app = axum::Router::new()
            .route(
                "/notify",
                axum::routing::post(
                    |axum::extract::State(r): axum::extract::State<Receiver>,
                     headers: HeaderMap,
                     body: String| async move {
                        let mut received = r.received.lock().unwrap();
                        received.push((headers, body));
                        if received.len() <= r.failures {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::OK
                        }
                    },
                ),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn bodies(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect()
    }

    async fn wait_for(&self, count: usize) {
        for _ in 0..100 {
            if self.received.lock().unwrap().len() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "only {} notifications arrived",
            self.received.lock().unwrap().len()
        );
    }
}

fn assert_signed(headers: &HeaderMap, body: &str) {
    let date = headers["X-Date"].to_str().unwrap();
    assert_eq!(headers["X-Login"], LOGIN);
    let expected = hmac_hex(format!("{LOGIN}{date}{body}").as_bytes());
    assert_eq!(
        headers["Authorization"],
        format!("V2-HMAC-SHA256, Signature: {expected}").as_str()
    );
}

#[tokio::test]
async fn notifications_are_signed_and_retried_until_accepted() {
    let sb = sandbox().await;
    let (receiver, url) = Receiver::start(1).await;
    let body = with(payment("4000000000001000"), "/notification_url", json!(url));
    let (_, object) = create(&sb, &body).await;
    receiver.wait_for(2).await;
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    for (headers, body) in &received {
        assert_signed(headers, body);
        assert_eq!(serde_json::from_str::<Value>(body).unwrap(), object);
    }
    let id = object["id"].as_str().unwrap();
    // The sandbox records an attempt once it has read the answer, a moment after the
    // receiver has seen the request.
    let mut attempts = sb.sandbox.dlocal.notification_attempts();
    for _ in 0..100 {
        if attempts.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        attempts = sb.sandbox.dlocal.notification_attempts();
    }
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        attempts[0].outcome,
        AttemptOutcome::Refused { http_status: 500 }
    );
    assert_eq!(
        attempts[1].outcome,
        AttemptOutcome::Delivered { http_status: 200 }
    );
    assert_eq!(
        (
            attempts[1].attempt,
            attempts[1].payment_id.as_str(),
            attempts[1].status.as_str()
        ),
        (2, id, "PAID")
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        receiver.received.lock().unwrap().len(),
        2,
        "no attempt after a 2xx"
    );
}

#[tokio::test]
async fn challenge_notifies_pending_then_final() {
    let sb = sandbox().await;
    let (receiver, url) = Receiver::start(0).await;
    let body = with(payment("4000000000002008"), "/notification_url", json!(url));
    let (_, pending) = create(&sb, &body).await;
    receiver.wait_for(1).await;
    through_three_ds(
        &sb,
        pending["three_dsecure"]["redirect_url"].as_str().unwrap(),
        Some("1234"),
    )
    .await;
    receiver.wait_for(2).await;
    let statuses: Vec<Value> = receiver
        .bodies()
        .iter()
        .map(|b| b["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("PENDING"), json!("PAID")]);
    let (_, now) = get(
        &sb,
        &format!("/payments/{}", pending["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(receiver.bodies()[1], now);
}

#[tokio::test]
async fn duplicate_policy_sends_each_notification_twice() {
    let sb = sandbox().await;
    sb.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Dlocal),
        duplicate_notifications: true,
        ..Default::default()
    }]);
    let (receiver, url) = Receiver::start(0).await;
    let (_, object) = create(
        &sb,
        &with(payment("4000000000001000"), "/notification_url", json!(url)),
    )
    .await;
    receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.bodies(), vec![object.clone(), object]);
    assert_eq!(
        dlocal_ledger(&sb).len(),
        1,
        "a duplicated notification charges nothing"
    );
}

#[tokio::test]
async fn reorder_policy_lets_the_final_notification_overtake() {
    let sb = sandbox().await;
    sb.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Dlocal),
        reorder_notifications: true,
        ..Default::default()
    }]);
    let (receiver, url) = Receiver::start(0).await;
    let body = with(payment("4000000000002008"), "/notification_url", json!(url));
    let (_, pending) = create(&sb, &body).await;
    through_three_ds(
        &sb,
        pending["three_dsecure"]["redirect_url"].as_str().unwrap(),
        Some("1234"),
    )
    .await;
    receiver.wait_for(2).await;
    let statuses: Vec<Value> = receiver
        .bodies()
        .iter()
        .map(|b| b["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("PAID"), json!("PENDING")]);
    for (headers, body) in receiver.received.lock().unwrap().iter() {
        assert_signed(headers, body);
    }
}
