//! Payroc's identity service and single-use tokens: bearer tokens issued, expired and
//! refused; a token carries the masked card only; bad card bodies answered with problems.

use super::*;

// ---------------------------------------------------------------------------------------
// Identity.

#[tokio::test]
async fn identity_issues_bearer_tokens_and_refuses_wrong_keys() {
    let running = sandbox().await;
    let response = browser()
        .post(format!("{}/payroc/identity/authorize", running.url))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "application/json");
    let token: AccessToken = response.json().await.unwrap();
    assert_eq!(
        (token.token_type.as_str(), token.expires_in),
        ("Bearer", 3600)
    );
    assert!(token.access_token.len() >= 32 && !token.scope.is_empty());

    for key in [Some("wrong-key"), None] {
        let mut request = browser().post(format!("{}/payroc/identity/authorize", running.url));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let response = request.send().await.unwrap();
        let kind = content_type(&response);
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_problem(
            status,
            &kind,
            &body,
            StatusCode::UNAUTHORIZED,
            "not-authorized",
        );
    }
}

#[tokio::test]
async fn expired_and_unknown_bearer_tokens_are_refused() {
    let running = sandbox().await;
    running
        .sandbox
        .payroc
        .set_token_lifetime(Duration::from_millis(2_000));
    let token = bearer(&running).await;
    let get = |token: String| {
        let url = format!("{}/payroc/api/v1/payments/NOSUCHPAY1", running.url);
        async move {
            let response = browser().get(url).bearer_auth(token).send().await.unwrap();
            let kind = content_type(&response);
            (
                response.status(),
                kind,
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    // Still valid: the request gets as far as the lookup.
    let (status, kind, body) = get(token.clone()).await;
    assert_problem(status, &kind, &body, StatusCode::NOT_FOUND, "not-found");
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, kind, body) = get(token).await;
    let problem = assert_problem(
        status,
        &kind,
        &body,
        StatusCode::UNAUTHORIZED,
        "not-authorized",
    );
    assert!(problem.detail.contains("expired"), "{}", problem.detail);
    let (status, kind, body) = get("made-up".to_owned()).await;
    assert_problem(
        status,
        &kind,
        &body,
        StatusCode::UNAUTHORIZED,
        "not-authorized",
    );

    // A token issued after the lifetime changes back lasts an hour again.
    running
        .sandbox
        .payroc
        .set_token_lifetime(Duration::from_secs(3600));
    let (status, ..) = get(bearer(&running).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------
// Single-use tokens.

#[tokio::test]
async fn single_use_tokens_carry_the_masked_card_only() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let path = format!("/processing-terminals/{SANDBOX_TERMINAL}/single-use-tokens");
    let (status, _, body) = post_json(
        &running,
        &path,
        &bearer,
        Some(&key()),
        &card_body("4539858876047062"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let text = body.to_string();
    assert!(
        !text.contains("4539858876047062") && !text.contains("\"123\""),
        "{text}"
    );
    let token: SingleUseToken = serde_json::from_value(body).unwrap();
    assert_eq!(token.token.len(), 128);
    assert!(token.token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(token.source.card_number, "453985******7062");
    assert_eq!(token.source.source_type, "card");
    assert_eq!(token.source.card_type.as_deref(), Some("Visa"));
    assert_eq!(token.source.expiry_date.as_deref(), Some("1230"));
    assert_eq!(
        token.processing_terminal_id.as_deref(),
        Some(SANDBOX_TERMINAL)
    );
    assert!(
        token.expires_at.ends_with('Z') && token.expires_at.len() == 20,
        "{}",
        token.expires_at
    );

    // Another terminal is not this API key's.
    let (status, kind, body) = post_json(
        &running,
        "/processing-terminals/9999001/single-use-tokens",
        &bearer,
        Some(&key()),
        &card_body("4000000000001000"),
    )
    .await;
    let problem = assert_problem(status, &kind, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(problem.resource.as_deref(), Some("processingTerminal"));
}

#[tokio::test]
async fn single_use_token_bad_input_gets_problems() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let url = format!(
        "{}/payroc/api/v1/processing-terminals/{SANDBOX_TERMINAL}/single-use-tokens",
        running.url
    );
    let path = format!("/processing-terminals/{SANDBOX_TERMINAL}/single-use-tokens");

    // Luhn-invalid card, expired card, bad CVV: one error each, with its path.
    let mut body = card_body("4000000000001001");
    body["source"]["cardDetails"]["keyedData"]["expiryDate"] = json!("0120");
    body["source"]["cardDetails"]["keyedData"]["cvv"] = json!("12a");
    let (status, kind, body) = post_json(&running, &path, &bearer, Some(&key()), &body).await;
    let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
    assert_eq!(
        parameters(&problem),
        [
            "source.cardDetails.keyedData.cardNumber",
            "source.cardDetails.keyedData.expiryDate",
            "source.cardDetails.keyedData.cvv"
        ]
    );

    // Missing and wrong-typed fields.
    let body = json!({"channel": 7, "source": {"type": "card", "cardDetails": {"entryMethod": "keyed", "keyedData": {"dataFormat": "plainText"}}}});
    let (status, kind, body) = post_json(&running, &path, &bearer, Some(&key()), &body).await;
    let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
    let params = parameters(&problem);
    assert!(params.contains(&"channel".to_owned()), "{params:?}");
    assert!(
        params.contains(&"source.cardDetails.keyedData.cardNumber".to_owned()),
        "{params:?}"
    );

    // A channel Payroc does not have, and a body that is not an object, on both requests
    // that take a channel.
    let mut atm = card_body("4000000000001000");
    atm["channel"] = json!("atm");
    let payment = json!({"channel": "atm", "processingTerminalId": SANDBOX_TERMINAL});
    for (endpoint, body) in [(path.as_str(), &atm), ("/payments", &payment)] {
        let (status, kind, body) = post_json(&running, endpoint, &bearer, Some(&key()), body).await;
        let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
        assert!(
            parameters(&problem).contains(&"channel".to_owned()),
            "{endpoint}"
        );
        let (status, kind, body) =
            post_json(&running, endpoint, &bearer, Some(&key()), &json!(["web"])).await;
        let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
        assert_eq!(parameters(&problem), ["body"], "{endpoint}");
    }

    // Entry methods the sandbox cannot read.
    let mut raw = card_body("4000000000001000");
    raw["source"]["cardDetails"] = json!({"entryMethod": "raw", "device": {"model": "bbposChp", "serialNumber": "1850010868"}, "rawData": "A1B2"});
    let (status, kind, body) = post_json(&running, &path, &bearer, Some(&key()), &raw).await;
    let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
    assert_eq!(parameters(&problem), ["source.cardDetails.entryMethod"]);

    // Malformed JSON, wrong media type, oversize body, no key, no credentials.
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let kind = content_type(&response);
        (
            response.status(),
            kind,
            response.json::<Value>().await.unwrap(),
        )
    };
    let client = browser();
    let (s, k, b) = send(
        client
            .post(&url)
            .bearer_auth(&bearer)
            .header("Idempotency-Key", key())
            .header("content-type", "application/json")
            .body("{\"channel\":"),
    )
    .await;
    let problem = assert_problem(s, &k, &b, StatusCode::BAD_REQUEST, "bad-request");
    assert_eq!(parameters(&problem), ["body"]);
    let (s, k, b) = send(
        client
            .post(&url)
            .bearer_auth(&bearer)
            .header("Idempotency-Key", key())
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_problem(
        s,
        &k,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    let huge = json!({"channel": "web", "operator": "x".repeat(70 * 1024)});
    let (s, k, b) = send(
        client
            .post(&url)
            .bearer_auth(&bearer)
            .header("Idempotency-Key", key())
            .json(&huge),
    )
    .await;
    assert_problem(
        s,
        &k,
        &b,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    );
    let (s, k, b) = send(
        client
            .post(&url)
            .bearer_auth(&bearer)
            .json(&card_body("4000000000001000")),
    )
    .await;
    assert_problem(
        s,
        &k,
        &b,
        StatusCode::BAD_REQUEST,
        "idempotency-key-missing",
    );
    let (s, k, b) = send(
        client
            .post(&url)
            .header("Idempotency-Key", key())
            .json(&card_body("4000000000001000")),
    )
    .await;
    assert_problem(s, &k, &b, StatusCode::UNAUTHORIZED, "not-authorized");
    let (s, k, b) = send(
        client
            .post(&url)
            .bearer_auth(&bearer)
            .header("Idempotency-Key", "not-a-uuid")
            .json(&card_body("4000000000001000")),
    )
    .await;
    let problem = assert_problem(s, &k, &b, StatusCode::BAD_REQUEST, "bad-request");
    assert_eq!(parameters(&problem), ["Idempotency-Key"]);
}
