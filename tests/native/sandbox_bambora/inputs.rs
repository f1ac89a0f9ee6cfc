//! What the merchant brings to a Bambora payment: its own MPI's values as passthrough, a
//! single-use token in place of the card, and input Bambora refuses, in its error shape.

use super::*;

#[tokio::test]
async fn merchant_mpi_passthrough() {
    let bambora = Bambora::start().await;
    let mut v2 = payment("4000000000001000", Value::Null);
    v2["card"].as_object_mut().unwrap().remove("3d_secure");
    v2["card"]["3d_secure_passthrough"] = json!({"version": 2, "eci": 5,
        "cavv": "AAABAXlHEQAAAAGXAEcRAAAAAAA=",
        "ds_transaction_id": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"});
    let (http, body) = bambora.post("/v1/payments", &v2).await;
    assert_eq!(http, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["card"]["eci"], &body["card"]["cavv_result"]),
        (&json!(5), &json!("2"))
    );
    assert!(
        body.get("3d_secure").is_none(),
        "Bambora did not authenticate"
    );

    let legacy = payment(
        "5200000000001005",
        json!({"enabled": true, "xid": "1368023", "cavv": "AAABAXlHEQAAAAGXAEcRAAAAAAA=", "eci": 2}),
    );
    let (http, body) = bambora.post("/v1/payments", &legacy).await;
    assert_eq!(http, StatusCode::OK, "{body}");
    assert_eq!(body["card"]["eci"], 2);

    // Bad values: an ECI Visa does not use, a proving ECI without CAVV, a bad DS id.
    let mut bad = v2.clone();
    bad["card"]["3d_secure_passthrough"]["eci"] = json!(2);
    let (http, body) = bambora.post("/v1/payments", &bad).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(detail_fields(&body), ["card.3d_secure_passthrough.eci"]);
    let mut bad = v2.clone();
    bad["card"]["3d_secure_passthrough"]
        .as_object_mut()
        .unwrap()
        .remove("cavv");
    let (http, body) = bambora.post("/v1/payments", &bad).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(detail_fields(&body), ["card.3d_secure_passthrough.cavv"]);
    let mut bad = v2.clone();
    bad["card"]["3d_secure_passthrough"]["ds_transaction_id"] = json!("nope");
    bad["card"]["3d_secure_passthrough"]["version"] = json!(1);
    let (http, body) = bambora.post("/v1/payments", &bad).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail_fields(&body),
        [
            "card.3d_secure_passthrough.version",
            "card.3d_secure_passthrough.ds_transaction_id"
        ]
    );
    // The issuer still decides the authorization.
    let mut declined = v2.clone();
    declined["card"]["number"] = json!("4000000000004004");
    assert_eq!(
        bambora.post("/v1/payments", &declined).await.0,
        StatusCode::PAYMENT_REQUIRED
    );
    assert_eq!(bambora.ledger().len(), 2);
}

#[tokio::test]
async fn single_use_token_payment() {
    let bambora = Bambora::start().await;
    let card = json!({"number": "4000000000002008", "expiry_month": "09", "expiry_year": "35", "cvd": "123"});
    let (http, token) = read(
        bambora
            .client
            .post(bambora.url("/scripts/tokenization/tokens"))
            .json(&card)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(http, StatusCode::OK);
    assert_eq!(token["code"], "1");
    let code = token["token"].as_str().unwrap();
    let mut request = json!({"payment_method": "token", "order_number": "order-token", "amount": 15.99,
        "term_url": TERM_URL,
        "token": {"code": code, "name": "Li", "complete": true, "3d_secure": three_ds2()}});
    // TokenPurchase.name is 4 to 64 characters; the refusal spends no token.
    let (http, body) = bambora.post("/v1/payments", &request).await;
    assert_eq!(http, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(detail_fields(&body), ["token.name"]);
    request["token"]["name"] = json!("John Doe");
    let (http, body) = bambora.post("/v1/payments", &request).await;
    assert_eq!(http, StatusCode::FOUND, "{body}");
    let (http, body) = bambora.post("/v1/payments", &request).await;
    assert_eq!(http, StatusCode::BAD_REQUEST, "single use: {body}");
    assert_eq!(detail_fields(&body), ["token.code"]);
}

#[tokio::test]
async fn bad_input_gets_bambora_errors() {
    let bambora = Bambora::start().await;
    let send =
        |request: reqwest::RequestBuilder| async { read(request.send().await.unwrap()).await };
    let post = |path: &str| {
        bambora
            .client
            .post(bambora.url(path))
            .header("Authorization", SEED_AUTH)
    };
    // Malformed JSON, a JSON array, wrong types, an oversize body.
    for raw in ["{\"amount\": ", "[1,2]"] {
        let (http, body) = send(
            post("/v1/payments")
                .header("Content-Type", "application/json")
                .body(raw),
        )
        .await;
        assert_eq!(http, StatusCode::BAD_REQUEST);
        assert_error(&body, 314, 3);
        assert_eq!(detail_fields(&body), ["body"]);
    }
    let (http, body) =
        send(post("/v1/payments").json(&json!({"amount": "15.99", "payment_method": 3}))).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(detail_fields(&body), ["amount", "payment_method"]);
    let huge = json!({"amount": 1, "payment_method": "card", "comments": "x".repeat(70 * 1024)});
    let (http, body) = send(post("/v1/payments").json(&huge)).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_error(&body, 314, 3);
    // 3DS 2 without the browser object; an invalid card number; no term_url.
    let mut no_browser = payment("4000000000001000", json!({"enabled": true, "version": 2}));
    let (http, body) = send(post("/v1/payments").json(&no_browser)).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(detail_fields(&body), ["card.3d_secure.browser"]);
    no_browser["card"]["number"] = json!("4000000000001001");
    no_browser.as_object_mut().unwrap().remove("term_url");
    let (_, body) = send(post("/v1/payments").json(&no_browser)).await;
    assert_eq!(detail_fields(&body), ["card.number", "term_url"]);
    // Not JSON at all: 415.
    let (http, body) = send(
        post("/v1/payments")
            .header("Content-Type", "text/plain")
            .body("amount=1"),
    )
    .await;
    assert_eq!(http, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&body, 415, 3);
    // Wrong method and unknown path keep the shape.
    let (http, body) = send(
        bambora
            .client
            .delete(bambora.url("/v1/payments"))
            .header("Authorization", SEED_AUTH),
    )
    .await;
    assert_eq!(http, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&body, 405, 3);
    let (http, body) = send(post("/v1/nothing").json(&json!({}))).await;
    assert_eq!(http, StatusCode::NOT_FOUND);
    assert_error(&body, 404, 3);
    // Unknown ids.
    let (http, body) = bambora.get("/v1/payments/99999999").await;
    assert_eq!(http, StatusCode::NOT_FOUND);
    assert_error(&body, 314, 3);
    let (http, body) = continue_v2(&bambora, "unknown-session", "abc").await;
    assert_eq!(http, StatusCode::NOT_FOUND);
    assert_error(&body, 314, 3);
    // Continue bodies.
    let (http, body) =
        send(post("/v1/payments/x/continue").json(&json!({"payment_method": "credit_card"}))).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_eq!(detail_fields(&body), ["card_response"]);
    let (http, _) = send(
        post("/v1/payments/x/continue")
            .header("Content-Type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    // Tokenization: broken JSON is an error; bad card data still gets a (useless) token.
    let (http, body) = send(
        bambora
            .client
            .post(bambora.url("/scripts/tokenization/tokens"))
            .header("Content-Type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert_error(&body, 314, 3);
    let (http, body) = send(
        bambora
            .client
            .post(bambora.url("/scripts/tokenization/tokens"))
            .json(&json!({"number": "123"})),
    )
    .await;
    assert_eq!(http, StatusCode::OK);
    assert_ne!(body["code"], "1");
    assert!(bambora.ledger().is_empty());
}
