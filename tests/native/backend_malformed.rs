//! Requests refused for their shape, over real HTTP against the sandbox: a JSON array
//! where an object is documented, a signed dLocal notification that names no payment, a
//! malformed confirm (the first and every later one), a card expiry outside the calendar.
//! Each gets a 400 with a stable code and changes nothing. And the API's edges: the body
//! limit, CORS, no-store, JSON errors.

use crate::support;

use serde_json::{json, Value};
use support::backend::{code, harness, split_start, start_body, CHECKOUT};
use support::browser;

/// Found by schemathesis (make test-api): serde's structs also read a JSON array, member
/// by position, so `["paysafe", "order", 1099, "USD"]` created a payment and
/// `"payer": [null, null]` passed as a payer. Every documented object is an object only.
#[tokio::test]
async fn an_array_is_no_object() {
    let h = harness().await;
    let as_array = json!(["paysafe", "order-array", 1099, "USD"]);
    let answer = h.create(&as_array).await;
    assert_eq!(code(&answer), (400, "invalid_request"), "{}", answer.1);
    assert_eq!(
        answer.1["error"]["message"],
        "the body: wrong type, expected an object"
    );
    let (create, confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    for (field, value) in [
        ("payer", json!([null, null])),
        (
            "externalAuthentication",
            json!(["2.2.0", "Y", "05", "AAAB"]),
        ),
    ] {
        let mut body = create.clone();
        body[field] = value;
        let answer = h.create(&body).await;
        assert_eq!(code(&answer), (400, "invalid_request"), "{field}");
        assert_eq!(
            answer.1["error"]["message"],
            format!("{field}: wrong type, expected an object")
        );
    }
    // Nothing was created: the order's first real create is a 201.
    let mut real = create.clone();
    real["orderId"] = json!("order-array");
    let (status, created) = h.create(&real).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let secret = created["clientSecret"].as_str().unwrap();
    for (field, value) in [
        ("browser", json!([null, true, true])),
        (
            "paymentMethod",
            json!(["card", "4000000000001000", 12, 2030, "123", "A"]),
        ),
    ] {
        let mut body = confirm.clone();
        body[field] = value;
        let answer = h.confirm(id, secret, &body).await;
        assert_eq!(code(&answer), (400, "invalid_request"), "{field}");
        assert!(
            answer.1["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{field}: wrong type")),
            "{}",
            answer.1
        );
    }
    let method = browser()
        .post(format!("{}/v1/payments/{id}/method", h.url))
        .header("Origin", CHECKOUT)
        .json(&json!([secret, "Y"]))
        .send()
        .await
        .unwrap();
    assert_eq!(method.status(), 400);
    assert!(h.ledger("paysafe").is_empty());
}

/// Found while signing schemathesis's notifications (make test-api): a notification
/// dLocal signed whose body is no payment object was refused as `bad_signature`, a code
/// that sends whoever reads the logs after the secret. It is a 400 `invalid_request`; a
/// forged one stays 401 `bad_signature`.
#[tokio::test]
async fn a_signed_notification_that_is_no_payment_is_a_400() {
    use threeds_bridge::provider::dlocal;
    let h = harness().await;
    let config = dlocal::Config::sandbox(&h.sandbox.url);
    let send = |body: &str, secret: &threeds_bridge::provider::Secret| {
        support::backend::dlocal_notification(&h.url, body, support::flow::now_ms(), secret).send()
    };
    for body in [
        "{}",
        "[1]",
        r#"["D-1","PAID"]"#,
        r#"{"id":"D-1"}"#,
        r#"{"id":"D-1","status":"PAID","order_id":7}"#,
    ] {
        let answer = send(body, &config.secret_key).await.unwrap();
        assert_eq!(answer.status(), 400, "{body}");
        let error: Value = answer.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_request", "{body}");
    }
    // What the webhook does not read is not judged: dLocal's object has many more members.
    let unknown =
        r#"{"id":"D-1","status":"PAID","order_id":"order-nobody","three_dsecure":[1],"card":7}"#;
    assert_eq!(
        send(unknown, &config.secret_key).await.unwrap().status(),
        200
    );
    // Nor parsed: a number no f64 holds, in a member the webhook passes over (found by
    // schemathesis once the webhook read its body as a JSON value first).
    let huge = format!(
        r#"{{"id":"D-1","status":"PAID","amount":1{}}}"#,
        "0".repeat(400)
    );
    assert_eq!(send(&huge, &config.secret_key).await.unwrap().status(), 200);
    let forged = send(
        "{}",
        &threeds_bridge::provider::Secret::from("not-the-secret"),
    )
    .await
    .unwrap();
    assert_eq!(forged.status(), 401);
    let error: Value = forged.json().await.unwrap();
    assert_eq!(error["error"]["code"], "bad_signature");
}

/// Found by schemathesis (make test-api): once a payment was confirmed, a confirm with a
/// body the spec refuses (only its clientSecret, say) answered 200 and the view, as a
/// double click does. A confirm is checked whatever the payment's state: a malformed one
/// is a 400 that changes nothing; a real double click still answers the current view.
#[tokio::test]
async fn a_malformed_confirm_is_refused_after_the_first_too() {
    let h = harness().await;
    let (create, confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let (_, created) = h.create(&create).await;
    let id = created["id"].as_str().unwrap();
    let secret = created["clientSecret"].as_str().unwrap();
    let (status, first) = h.confirm(id, secret, &confirm).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "authorized", "{first}");
    let mut bad_window = confirm.clone();
    bad_window["windowSize"] = json!("99");
    for (body, expected) in [
        (json!({}), "invalid_request"),
        (
            json!({"paymentMethod": confirm["paymentMethod"].clone()}),
            "invalid_request",
        ),
        (bad_window, "invalid_window_size"),
    ] {
        let answer = h.confirm(id, secret, &body).await;
        assert_eq!(code(&answer), (400, expected), "{body}");
    }
    let (status, again) = h.confirm(id, secret, &confirm).await;
    assert_eq!(status, 200, "a double click");
    assert_eq!(again, first);
    let (_, view) = h.merchant_view(id).await;
    assert_eq!(view["confirmAttempts"], 0, "nothing counted once confirmed");
    assert_eq!(h.ledger("paysafe").len(), 1, "charged once");
}

/// Found by schemathesis (make test-api, a confirm after a real create): an expiry month of
/// 13 or 0 and a two-digit year went to the provider, where the spec documents 1 to 12 and
/// four digits. They are a 400 before any provider call.
#[tokio::test]
async fn a_card_expiry_outside_the_calendar_is_refused() {
    let h = harness().await;
    for (member, value) in [
        ("expiryMonth", 13),
        ("expiryMonth", 0),
        ("expiryYear", 30),
        ("expiryYear", 10000),
    ] {
        let (create, mut confirm) =
            split_start(&start_body("paysafe", "4000000000001000", "iframe"));
        confirm["paymentMethod"][member] = json!(value);
        let (_, created) = h.create(&create).await;
        let id = created["id"].as_str().unwrap();
        let answer = h
            .confirm(id, created["clientSecret"].as_str().unwrap(), &confirm)
            .await;
        assert_eq!(code(&answer), (400, "invalid_request"), "{member} {value}");
        let message = answer.1["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("paymentMethod: invalid value"),
            "{message}"
        );
    }
    assert!(h.ledger("paysafe").is_empty(), "no provider call");
}

/// A token's own checks: 1 to 512 characters, and a `bin` (when given) of 6 to 8 digits.
/// Each is a 400 `invalid_token` before any provider call (counted as a refused confirm),
/// and the payment can still be paid.
#[tokio::test]
async fn a_malformed_token_or_bin_is_refused_before_any_call() {
    let h = harness().await;
    for (paid_before, method) in [
        json!({"type": "token", "token": ""}),
        json!({"type": "token", "token": "t".repeat(513)}),
        json!({"type": "token", "token": "SCTOKEN", "bin": "40000"}),
        json!({"type": "token", "token": "SCTOKEN", "bin": "400000000"}),
        json!({"type": "token", "token": "SCTOKEN", "bin": "4000a0"}),
    ]
    .into_iter()
    .enumerate()
    {
        let (create, confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
        let (_, created) = h.create(&create).await;
        let id = created["id"].as_str().unwrap();
        let secret = created["clientSecret"].as_str().unwrap();
        let mut body = confirm.clone();
        body["paymentMethod"] = method.clone();
        let answer = h.confirm(id, secret, &body).await;
        assert_eq!(code(&answer), (400, "invalid_token"), "{method}");
        assert_eq!(
            h.ledger("paysafe").len(),
            paid_before,
            "no charge: {method}"
        );
        let (status, paid) = h.confirm(id, secret, &confirm).await;
        assert_eq!(
            (status, &paid["status"]),
            (200, &json!("authorized")),
            "{paid}"
        );
    }
}

/// An order id longer than the provider takes (Bambora's order_number: 30 characters) is
/// refused at create, 400 `invalid_order_id`, with nothing stored: it used to be taken and
/// then refused at the confirm, after the shopper had typed the card, for good (a payment
/// that ended needs a new order id).
#[tokio::test]
async fn an_order_id_longer_than_the_provider_takes_is_refused_at_create() {
    let h = harness().await;
    let (mut create, confirm) = split_start(&start_body("bambora", "4012000033330026", "iframe"));
    create["orderId"] = json!(uuid::Uuid::new_v4().to_string());
    let (status, refused) = h.create(&create).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (400, &json!("invalid_order_id")),
        "{refused}"
    );
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("bambora's 30 characters"), "{message}");
    // Thirty characters are taken, and paid.
    create["orderId"] = json!(&create["orderId"].as_str().unwrap()[..30]);
    let (status, created) = h.create(&create).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, paid) = h
        .confirm(id, created["clientSecret"].as_str().unwrap(), &confirm)
        .await;
    assert_eq!(
        (status, &paid["status"]),
        (200, &json!("authorized")),
        "{paid}"
    );
}

#[tokio::test]
async fn the_api_edges_body_limit_cors_no_store_and_json_errors() {
    let h = harness().await;
    let client = browser();
    let big = "x".repeat(70 * 1024);
    let response = client
        .post(format!("{}/v1/payments", h.url))
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "body_too_large");

    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, format!("{}/v1/payments", h.url))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
    };
    let allowed = preflight(CHECKOUT).await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], CHECKOUT);
    let other = preflight("http://evil.test").await.unwrap();
    assert_eq!(other.status(), 403);
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let (_, view) = h
        .start(&start_body("paysafe", "4000000000001000", "iframe"))
        .await;
    let url = format!("{}/v1/payments/{}", h.url, view["id"].as_str().unwrap());
    let read = client
        .get(&url)
        .header("Origin", CHECKOUT)
        .send()
        .await
        .unwrap();
    assert_eq!(read.headers()["access-control-allow-origin"], CHECKOUT);
    assert_eq!(read.headers()["cache-control"], "no-store");
    let read = client
        .get(&url)
        .header("Origin", "http://evil.test")
        .send()
        .await
        .unwrap();
    assert!(read.headers().get("access-control-allow-origin").is_none());
    let js = client
        .get(format!("{}/v1/complete.js", h.url))
        .send()
        .await
        .unwrap();
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(js.text().await.unwrap().contains("threeds-bridge:complete"));

    let mut foreign = start_body("paysafe", "4000000000001000", "iframe");
    foreign["checkoutOrigin"] = json!("http://evil.test");
    let (status, error) = h.start(&foreign).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (403, Some("origin_not_allowed"))
    );
    let (status, error) = h.view(&"f".repeat(32)).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let mut redirect_without_return = start_body("paysafe", "4000000000001000", "redirect");
    redirect_without_return
        .as_object_mut()
        .unwrap()
        .remove("returnUrl");
    let (status, error) = h.start(&redirect_without_return).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("invalid_return_url"))
    );
}
