//! The sandbox's dLocal capture, refund and order endpoints as docs/sandbox/dlocal.md
//! documents them, called directly (signed here, as any merchant would) rather than through
//! the adapter: the error shapes, the capture's order lookup, the refund reads and the refund
//! status trick.

use crate::support;

use threeds_bridge::payment::CaptureMode;
use threeds_bridge::sandbox::RunningSandbox;

use crate::lifecycle_dlocal::{adapter, authorize, balance, money, movements};
use support::flow;

/// A signed call to the sandbox's dLocal, as any merchant would make it.
async fn call(
    sb: &RunningSandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let date = threeds_bridge::provider::dlocal::x_date(flow::now_ms());
    let login = threeds_bridge::sandbox::dlocal::LOGIN;
    let signature = threeds_bridge::sandbox::dlocal::signature(login, &date, body.as_bytes());
    let answer = reqwest::Client::new()
        .request(method, format!("{}/dlocal{path}", sb.url))
        .header("X-Date", date)
        .header("X-Login", login)
        .header("X-Trans-Key", threeds_bridge::sandbox::dlocal::TRANS_KEY)
        .header("X-Version", "2.1")
        .header("Content-Type", "application/json")
        .header(
            "Authorization",
            format!("V2-HMAC-SHA256, Signature: {signature}"),
        )
        .body(body)
        .send()
        .await
        .expect("the sandbox answers");
    let status = answer.status().as_u16();
    (
        status,
        answer.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// The endpoints as docs/sandbox/dlocal.md documents them, without the adapter: the error
/// shapes, the capture's order lookup, the refund reads and the refund status trick.
#[tokio::test]
async fn the_sandbox_answers_captures_and_refunds_in_dlocals_shapes() {
    use reqwest::Method;
    use serde_json::json;
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    let (_, id) = authorize(&adapter, CaptureMode::Manual).await;
    let (status, payment) = call(&sb, Method::GET, &format!("/payments/{id}"), None).await;
    assert_eq!(
        (status, payment["status"].as_str()),
        (200, Some("AUTHORIZED"))
    );

    let refusals = [
        (
            json!({"authorization_id": null}),
            400,
            5001,
            "authorization_id",
        ),
        (
            json!({"authorization_id": id, "amount": 10}),
            400,
            5001,
            "currency",
        ),
        (
            json!({"authorization_id": id, "amount": 10, "currency": "USD"}),
            400,
            5000,
            "currency",
        ),
        (
            json!({"authorization_id": id, "amount": 0, "currency": "BRL"}),
            400,
            5000,
            "amount",
        ),
    ];
    for (body, http, code, param) in refusals {
        let (status, error) = call(&sb, Method::POST, "/payments", Some(body.clone())).await;
        assert_eq!(
            (status, &error["code"], &error["param"]),
            (http, &json!(code), &json!(param)),
            "{body}"
        );
    }
    let (status, error) = call(
        &sb,
        Method::POST,
        "/payments",
        Some(json!({"authorization_id": "D-4-none"})),
    )
    .await;
    assert_eq!((status, &error["code"]), (404, &json!(4000)));
    assert_eq!(movements(&sb, &id), 0, "nothing refused was booked");

    // A whole capture, found again by its order id.
    let capture = json!({"authorization_id": id, "order_id": "capture-ref-1"});
    let (status, captured) = call(&sb, Method::POST, "/payments", Some(capture)).await;
    assert_eq!(
        (status, &captured["status"], &captured["amount"]),
        (200, &json!("PAID"), &json!(120))
    );
    let capture_id = captured["id"]
        .as_str()
        .expect("the capture's id")
        .to_owned();
    let (_, order) = call(&sb, Method::GET, "/orders/capture-ref-1", None).await;
    assert_eq!(order["payment_id"], json!(capture_id));
    let (_, payment) = call(&sb, Method::GET, &format!("/payments/{id}"), None).await;
    assert_eq!(payment["status"], "PAID");

    // The refund status trick, and the refund reads.
    let pending =
        json!({"payment_id": capture_id, "amount": 20, "currency": "BRL", "description": "100"});
    let (status, refund) = call(&sb, Method::POST, "/refunds", Some(pending)).await;
    assert_eq!(
        (status, &refund["status"], &refund["status_code"]),
        (200, &json!("PENDING"), &json!("100"))
    );
    let refund_id = refund["id"].as_str().expect("the refund's id").to_owned();
    let rejected = json!({"payment_id": id, "amount": 20, "currency": "BRL", "description": "300"});
    let (_, refund) = call(&sb, Method::POST, "/refunds", Some(rejected)).await;
    assert_eq!(refund["status"], "REJECTED");
    assert_eq!(
        money(&balance(&sb, &id)),
        (12_000, 12_000, 2_000, false),
        "the pending refund only"
    );
    let (status, read) = call(&sb, Method::GET, &format!("/refunds/{refund_id}"), None).await;
    assert_eq!((status, &read["payment_id"]), (200, &json!(capture_id)));
    let (_, read) = call(
        &sb,
        Method::GET,
        &format!("/refunds/{refund_id}/status"),
        None,
    )
    .await;
    assert_eq!(
        read,
        json!({"id": refund_id, "status": "PENDING", "status_code": "100",
        "status_detail": "The refund is pending."})
    );
    let (status, error) = call(&sb, Method::GET, "/refunds/REF-none", None).await;
    assert_eq!((status, &error["code"]), (404, &json!(4000)));

    // Only an open authorization expires.
    let expired = reqwest::Client::new()
        .post(format!("{}/_sandbox/dlocal/payments/{id}/expire", sb.url))
        .send()
        .await
        .expect("expire");
    assert_eq!(expired.status(), 404);
}
