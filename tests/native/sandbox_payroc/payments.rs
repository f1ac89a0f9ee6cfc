//! Sales with an MPI reference: approved once, idempotent (also after a dropped answer),
//! refused in Payroc's problem shape.

use super::*;

#[tokio::test]
async fn sale_with_an_mpi_reference_is_approved_once() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let (token, query) =
        authenticated(&running, &bearer, "4000000000002008", "OrderRef6543", 4999).await;
    assert_eq!(query["result"], "A");
    let idempotency_key = key();
    let body = sale_body(&token, "OrderRef6543", 4999, &query["mpiReference"]);
    let (status, kind, first) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&idempotency_key),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(kind, "application/json");
    let payment: Payment = serde_json::from_value(first.clone()).unwrap();
    assert_eq!(payment.payment_id.len(), 10);
    assert_eq!(payment.processing_terminal_id, SANDBOX_TERMINAL);
    assert_eq!(
        (
            payment.order.order_id.as_str(),
            payment.order.amount,
            payment.order.currency.as_str()
        ),
        ("OrderRef6543", 4999, "EUR")
    );
    assert_eq!(payment.card.card_number, "400000******2008");
    assert_eq!(
        (
            payment.card.card_type.as_str(),
            payment.card.expiry_date.as_str()
        ),
        ("Visa", "1230")
    );
    let result = &payment.transaction_result;
    assert_eq!(
        (result.transaction_type, result.status, result.response_code),
        (
            TransactionType::Sale,
            TransactionStatus::Ready,
            ResponseCode::A
        )
    );
    assert_eq!(result.authorized_amount, Some(4999));
    assert!(result.approval_code.is_some());

    // The same request again: the same answer, status included, and no second charge.
    let (status, _, replay) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&idempotency_key),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(replay, first);
    let ledger = payroc_ledger(&running);
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].provider_payment_id, payment.payment_id);
    assert_eq!(
        (
            ledger[0].order_id.as_str(),
            ledger[0].amount,
            ledger[0].currency.as_str()
        ),
        ("OrderRef6543", 4999, "EUR")
    );
    assert_eq!(
        ledger[0].idempotency_key.as_deref(),
        Some(idempotency_key.as_str())
    );
    assert_eq!(ledger[0].card, "400000******2008");

    // The same key with another body is a conflict.
    let mut changed = body.clone();
    changed["order"]["amount"] = json!(5000);
    let (status, kind, conflict) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&idempotency_key),
        &changed,
    )
    .await;
    assert_problem(
        status,
        &kind,
        &conflict,
        StatusCode::CONFLICT,
        "idempotency-key-in-use",
    );

    // The token was spent: a new key cannot charge it again.
    let (status, kind, again) =
        post_json(&running, "/payments", &bearer, Some(&key()), &body).await;
    let problem = assert_problem(
        status,
        &kind,
        &again,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );
    assert_eq!(parameters(&problem), ["paymentMethod.token"]);
    assert_eq!(payroc_ledger(&running).len(), 1);

    // Retrieve.
    let response = browser()
        .get(format!(
            "{}/payroc/api/v1/payments/{}",
            running.url, payment.payment_id
        ))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let fetched: Value = response.json().await.unwrap();
    assert_eq!(fetched, first);
}

#[tokio::test]
async fn missing_idempotency_key_is_refused_before_anything_happens() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let (token, query) = authenticated(&running, &bearer, "4000000000001000", "K1", 100).await;
    let body = sale_body(&token, "K1", 100, &query["mpiReference"]);
    let (status, kind, problem) = post_json(&running, "/payments", &bearer, None, &body).await;
    assert_problem(
        status,
        &kind,
        &problem,
        StatusCode::BAD_REQUEST,
        "idempotency-key-missing",
    );
    assert!(payroc_ledger(&running).is_empty());
    // The token is still good.
    let (status, ..) = post_json(&running, "/payments", &bearer, Some(&key()), &body).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn mpi_reference_must_match_token_and_order_and_be_approved() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let (token_a, query_a) = authenticated(&running, &bearer, "4000000000001000", "A-1", 700).await;
    let (token_b, _) = authenticated(&running, &bearer, "4000000000001000", "B-1", 700).await;
    let reference = &query_a["mpiReference"];
    let mismatches = [
        sale_body(&token_a, "OTHER", 700, reference),
        sale_body(&token_a, "A-1", 701, reference),
        sale_body(&token_b, "A-1", 700, reference),
        sale_body(&token_a, "A-1", 700, "00000000000000000000"),
    ];
    for body in mismatches {
        let (status, kind, problem) =
            post_json(&running, "/payments", &bearer, Some(&key()), &body).await;
        let problem = assert_problem(
            status,
            &kind,
            &problem,
            StatusCode::BAD_REQUEST,
            "bad-request",
        );
        assert_eq!(parameters(&problem), ["threeDSecure.mpiReference"]);
    }
    // A declined MPI result (N, U, R) refuses the sale and charges nothing.
    for (i, pan) in ["4000000000001208", "4000000000001307", "4000000000001406"]
        .into_iter()
        .enumerate()
    {
        let order = format!("D-{i}");
        let (token, query) = authenticated(&running, &bearer, pan, &order, 700).await;
        assert_eq!(query["result"], "D");
        let (status, kind, problem) = post_json(
            &running,
            "/payments",
            &bearer,
            Some(&key()),
            &sale_body(&token, &order, 700, &query["mpiReference"]),
        )
        .await;
        let problem = assert_problem(
            status,
            &kind,
            &problem,
            StatusCode::BAD_REQUEST,
            "bad-request",
        );
        assert!(problem.errors.unwrap()[0].message.contains("declined"));
    }
    // An unfinished challenge is not a result.
    let token = tokenize(&running, &bearer, "4000000000002008").await.token;
    let page = browser()
        .get(mpi_url(&running, &token, "P-1", 700, None))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let session = form(&page, Some("autosubmit"))
        .field("threeDSSessionData")
        .unwrap()
        .to_owned();
    let pending = threeds_bridge::emv::base64url::decode_utf8(&session).unwrap();
    let (status, kind, problem) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&key()),
        &sale_body(&token, "P-1", 700, &pending),
    )
    .await;
    let problem = assert_problem(
        status,
        &kind,
        &problem,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );
    assert!(problem.errors.unwrap()[0].message.contains("not finished"));
    assert!(payroc_ledger(&running).is_empty());
    // The original pair still works.
    let (status, ..) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&key()),
        &sale_body(&token_a, "A-1", 700, reference),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(payroc_ledger(&running).len(), 1);
}

#[tokio::test]
async fn third_party_three_d_secure_and_pre_authorization() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let token = tokenize(&running, &bearer, "5200000000001005").await.token;
    let mut body = sale_body(&token, "TP-1", 1234, "");
    body["threeDSecure"] = json!({"serviceProvider": "thirdParty", "eci": "fullyAuthenticated", "cavv": "AAABBBCCCDDDEEEFFFGGGHHHIII=", "dsTransactionId": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"});
    body["autoCapture"] = json!(false);
    let mut wrong = body.clone();
    wrong["threeDSecure"]["eci"] = json!("05");
    let (status, kind, problem) =
        post_json(&running, "/payments", &bearer, Some(&key()), &wrong).await;
    let problem = assert_problem(
        status,
        &kind,
        &problem,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );
    assert_eq!(parameters(&problem), ["threeDSecure.eci"]);
    let (status, _, payment) = post_json(&running, "/payments", &bearer, Some(&key()), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let payment: Payment = serde_json::from_value(payment).unwrap();
    assert_eq!(payment.card.card_type, "MasterCard");
    assert_eq!(
        payment.transaction_result.transaction_type,
        TransactionType::PreAuthorization
    );
    assert_eq!(payment.transaction_result.status, TransactionStatus::Ready);
    assert_eq!(payroc_ledger(&running).len(), 1);
}

#[tokio::test]
async fn issuer_decline_is_a_declined_payment_and_not_in_the_ledger() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let (token, query) = authenticated(&running, &bearer, "4000000000004004", "DEC-1", 4999).await;
    assert_eq!(
        (query["result"].as_str(), query["status"].as_str()),
        ("A", "Y")
    );
    let idempotency_key = key();
    let body = sale_body(&token, "DEC-1", 4999, &query["mpiReference"]);
    let (status, _, first) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&idempotency_key),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let payment: Payment = serde_json::from_value(first.clone()).unwrap();
    assert_eq!(
        payment.transaction_result.status,
        TransactionStatus::Declined
    );
    assert_eq!(payment.transaction_result.response_code, ResponseCode::D);
    assert_eq!(payment.transaction_result.approval_code, None);
    assert!(payroc_ledger(&running).is_empty());
    let (status, _, replay) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&idempotency_key),
        &body,
    )
    .await;
    assert_eq!((status, &replay), (StatusCode::CREATED, &first));
    let fetched = browser()
        .get(format!(
            "{}/payroc/api/v1/payments/{}",
            running.url, payment.payment_id
        ))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.json::<Value>().await.unwrap(), first);
    assert!(payroc_ledger(&running).is_empty());
}

#[tokio::test]
async fn payment_bad_input_gets_problems() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let (token, query) = authenticated(&running, &bearer, "4000000000001000", "BAD-1", 100).await;
    let good = sale_body(&token, "BAD-1", 100, &query["mpiReference"]);
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!([1, 2]), vec!["body"]),
        (
            {
                let mut b = good.clone();
                b.as_object_mut().unwrap().remove("order");
                b
            },
            vec!["order"],
        ),
        (
            {
                let mut b = good.clone();
                b["order"]["amount"] = json!("100");
                b
            },
            vec!["order.amount"],
        ),
        (
            {
                let mut b = good.clone();
                b["order"]["amount"] = json!(1.5);
                b
            },
            vec!["order.amount"],
        ),
        (
            {
                let mut b = good.clone();
                b["order"]["amount"] = json!(0);
                b["order"]["currency"] = json!("usd");
                b
            },
            vec!["order.amount", "order.currency"],
        ),
        (
            {
                let mut b = good.clone();
                b["channel"] = json!("phone");
                b["autoCapture"] = json!("yes");
                b
            },
            vec!["channel", "autoCapture"],
        ),
        (
            {
                let mut b = good.clone();
                b["paymentMethod"] = json!({"type": "card"});
                b
            },
            vec!["paymentMethod.type"],
        ),
        (
            {
                let mut b = good.clone();
                b["paymentMethod"]["token"] = json!(null);
                b
            },
            vec!["paymentMethod.token"],
        ),
        (
            {
                let mut b = good.clone();
                b["paymentMethod"]["token"] = json!("abc");
                b
            },
            vec!["paymentMethod.token"],
        ),
        (
            {
                let mut b = good.clone();
                b["threeDSecure"] = json!({"serviceProvider": "merchant"});
                b
            },
            vec!["threeDSecure.serviceProvider"],
        ),
        (
            {
                let mut b = good.clone();
                b["threeDSecure"] = json!({"serviceProvider": "gateway"});
                b
            },
            vec!["threeDSecure.mpiReference"],
        ),
        (
            {
                let mut b = good.clone();
                b["processingTerminalId"] = json!(4479001);
                b
            },
            vec!["processingTerminalId"],
        ),
    ];
    for (body, expected) in cases {
        let (status, kind, problem) =
            post_json(&running, "/payments", &bearer, Some(&key()), &body).await;
        let problem = assert_problem(
            status,
            &kind,
            &problem,
            StatusCode::BAD_REQUEST,
            "bad-request",
        );
        assert_eq!(parameters(&problem), expected, "{body}");
    }
    let mut other_terminal = good.clone();
    other_terminal["processingTerminalId"] = json!("1234001");
    let (status, kind, problem) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&key()),
        &other_terminal,
    )
    .await;
    assert_problem(status, &kind, &problem, StatusCode::FORBIDDEN, "forbidden");

    let url = format!("{}/payroc/api/v1/payments", running.url);
    let client = browser();
    let malformed = client
        .post(&url)
        .bearer_auth(&bearer)
        .header("Idempotency-Key", key())
        .header("content-type", "application/json")
        .body("{\"order\": {")
        .send()
        .await
        .unwrap();
    let kind = content_type(&malformed);
    assert_problem(
        malformed.status(),
        &kind,
        &malformed.json().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "bad-request",
    );
    let form_body = client
        .post(&url)
        .bearer_auth(&bearer)
        .header("Idempotency-Key", key())
        .form(&[("a", "b")])
        .send()
        .await
        .unwrap();
    let kind = content_type(&form_body);
    assert_problem(
        form_body.status(),
        &kind,
        &form_body.json().await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    let oversize = client
        .post(&url)
        .bearer_auth(&bearer)
        .header("Idempotency-Key", key())
        .header("content-type", "application/json")
        .body(vec![b' '; 65 * 1024])
        .send()
        .await
        .unwrap();
    let kind = content_type(&oversize);
    assert_problem(
        oversize.status(),
        &kind,
        &oversize.json().await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    );
    let no_auth = client
        .post(&url)
        .header("Idempotency-Key", key())
        .json(&good)
        .send()
        .await
        .unwrap();
    let kind = content_type(&no_auth);
    assert_problem(
        no_auth.status(),
        &kind,
        &no_auth.json().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "not-authorized",
    );
    let unknown = client
        .get(format!("{url}/NOSUCHPAY1"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    let kind = content_type(&unknown);
    let problem = assert_problem(
        unknown.status(),
        &kind,
        &unknown.json().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not-found",
    );
    assert_eq!(problem.resource.as_deref(), Some("payment"));
    let unknown_route = client
        .get(format!("{}/payroc/api/v1/refunds", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_route.status(), StatusCode::NOT_FOUND);
    assert!(payroc_ledger(&running).is_empty());
    // Nothing above spent the token.
    let (status, ..) = post_json(&running, "/payments", &bearer, Some(&key()), &good).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_retry_after_a_dropped_answer_returns_the_committed_payment() {
    use threeds_bridge::sandbox::faults::FaultRule;
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let (token, query) = authenticated(&running, &bearer, "4000000000001000", "DROP-1", 2500).await;
    let body = sale_body(&token, "DROP-1", 2500, &query["mpiReference"]);
    running.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Payroc),
        endpoint: Some("/api/v1/payments".into()),
        drop_after_commit: true,
        ..Default::default()
    }]);
    let idempotency_key = key();
    let dropped = browser()
        .post(format!("{}/payroc/api/v1/payments", running.url))
        .bearer_auth(&bearer)
        .header("Idempotency-Key", &idempotency_key)
        .json(&body)
        .send()
        .await;
    assert!(dropped.is_err(), "the connection should drop: {dropped:?}");
    assert_eq!(payroc_ledger(&running).len(), 1, "the charge was committed");
    running.sandbox.faults.set(Vec::new());
    let (status, _, payment) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&idempotency_key),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let ledger = payroc_ledger(&running);
    assert_eq!(ledger.len(), 1);
    assert_eq!(payment["paymentId"], json!(ledger[0].provider_payment_id));
}
