//! What Payroc refuses or leaves unanswered: problem documents, 401s and the token, malformed
//! answers, lost answers (a sale without one is in doubt), foreign receipts and a declined
//! check.

use super::*;

#[test]
fn a_problem_document_is_a_rejection_with_its_detail() {
    let adapter = adapter();
    let (state, _) = at_sale(&adapter);
    let result = done(adapter.on_response(
        state,
        problem(
            400,
            "bad-request",
            "One or more validation errors occurred, see error section for more info",
            json!([{"parameter": "paymentMethod.token", "detail": "Invalid value",
                    "message": "The single-use token has been used"}]),
        ),
        &cx(T0),
    ));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.provider_payment_id, None);
    let error = result.error.unwrap();
    // A spent single-use token has its own stable code (issue #18).
    assert_eq!(error.code, ResultCode::TokenUsed);
    assert_eq!(error.provider_code.as_deref(), Some("bad-request"));
    let message = error.provider_message.unwrap();
    assert!(
        message.starts_with("One or more validation errors occurred"),
        "{message}"
    );
    assert!(message.contains("paymentMethod.token: The single-use token has been used"));

    // (A 409, the key refused and not the sale, is no answer: the in-doubt test below.)

    // A 4xx without a problem document is still a rejection, named by its status.
    let (state, _) = at_sale(&adapter);
    let result = done(adapter.on_response(state, answer(403, "<html>no</html>"), &cx(T0)));
    assert_eq!(
        result.error.unwrap().provider_code.as_deref(),
        Some("http_403")
    );
}

#[test]
fn a_401_clears_the_token_fetches_a_new_one_and_retries_once() {
    let adapter = adapter();
    let (state, first_sale) = at_sale(&adapter);
    let unauthorized = || {
        problem(
            401,
            "not-authorized",
            "The access token has expired",
            json!([]),
        )
    };

    let (state, request) = call(adapter.on_response(state, unauthorized(), &cx(T0)));
    assert_eq!(request.purpose, "payroc.authorize");
    assert!(matches!(
        state,
        State::Authorizing {
            auth_retried: true,
            ..
        }
    ));
    assert_eq!(adapter.bearer(T0), None, "the refused token is forgotten");

    let fresh = answer(
        200,
        &json!({"access_token": "second-token", "token_type": "Bearer", "expires_in": 3600})
            .to_string(),
    );
    let (state, again) = call(adapter.on_response(state, fresh, &cx(T0)));
    assert_eq!(header(&again, "Authorization"), Some("Bearer second-token"));
    assert_eq!(again.body, first_sale.body, "the same sale");
    assert_eq!(
        header(&again, "Idempotency-Key"),
        header(&first_sale, "Idempotency-Key")
    );

    // A second 401 asks for no third token (no loop), and does not end the payment: the
    // host may have sent the sale before the first 401 (a resend after a lost answer),
    // and a 401 says nothing of that sending. It is looked up.
    let doubt = unknown(adapter.on_response(state, unauthorized(), &cx(T0)));
    assert!(matches!(doubt, State::SaleInDoubt { .. }), "{doubt:?}");
}

#[test]
fn a_sale_refused_401_whose_new_token_fails_is_in_doubt() {
    // The host resent the sale after a lost answer, and the resend was refused 401: the
    // first sending may have been made. Without a new token to send it again, the payment
    // is looked up, never ended.
    let adapter = adapter();
    let (state, _) = at_sale(&adapter);
    let unauthorized = problem(
        401,
        "not-authorized",
        "The access token has expired",
        json!([]),
    );
    let (state, request) = call(adapter.on_response(state, unauthorized, &cx(T0)));
    assert_eq!(request.purpose, "payroc.authorize");
    for failed in [
        Err(TransportFailure::Timeout),
        answer(503, "unavailable"),
        answer(400, "{\"error\":\"invalid_client\"}"),
    ] {
        let doubt = unknown(adapter.on_response(state.clone(), failed, &cx(T0)));
        assert!(matches!(doubt, State::SaleInDoubt { .. }), "{doubt:?}");
    }
}

#[test]
fn a_401_at_tokenization_ends_the_payment_and_forgets_the_token() {
    // The card is not kept past the start request, so the tokenization cannot be made
    // again with a new token: the payment ends (nothing was charged), and the next one
    // fetches a token first.
    let adapter = adapter();
    let (state, _) = call(begin(&adapter, &payment(), T0));
    let result = done(adapter.on_response(
        state,
        problem(
            401,
            "not-authorized",
            "The access token is not valid",
            json!([]),
        ),
        &cx(T0),
    ));
    assert_eq!(result.status, PaymentStatus::Error);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderUnavailable);
    assert_eq!(error.provider_code.as_deref(), Some("not-authorized"));
    assert_eq!(adapter.bearer(T0), None);
    assert!(adapter.prepare_start(&cx(T0)).is_some());
}

#[test]
fn a_rejected_api_key_ends_the_payment_before_the_card_goes_anywhere() {
    let adapter = adapter();
    assert!(adapter.prepare_start(&cx(T0)).is_some());
    let result = adapter
        .on_prepared(
            problem(
                401,
                "not-authorized",
                "The API key is missing or not valid",
                json!([]),
            ),
            &cx(T0),
        )
        .expect("the payment ends");
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert_eq!(error.provider_code.as_deref(), Some("not-authorized"));
}

#[test]
fn malformed_json_is_a_bad_response_that_says_what() {
    let adapter = adapter();
    let result = adapter
        .on_prepared(answer(200, "{\"access_token\":"), &cx(T0))
        .expect("no token");
    assert_eq!(result.status, PaymentStatus::Error);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderBadResponse);
    assert_eq!(error.provider_code.as_deref(), Some("bad_response"));
    assert!(error.provider_message.unwrap().contains("Bearer token"));

    let (state, _) = call(begin(&adapter, &payment(), T0));
    let result = done(adapter.on_response(state, answer(201, "{\"token\": 5}"), &cx(T0)));
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderBadResponse);
    assert!(error.provider_message.unwrap().contains("single-use token"));
}

#[test]
fn calls_that_move_no_money_end_on_a_lost_answer_with_payrocs_words() {
    let adapter = adapter();
    let result = adapter.on_prepared(answer(503, ""), &cx(T0)).unwrap();
    assert_eq!(result.status, PaymentStatus::Error);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderUnavailable);
    assert_eq!(error.provider_code.as_deref(), Some("http_503"));
    let result = adapter
        .on_prepared(
            problem(500, "internal-server-error", "Try again later", json!([])),
            &cx(T0),
        )
        .unwrap();
    let error = result.error.unwrap();
    assert_eq!(
        error.provider_code.as_deref(),
        Some("internal-server-error")
    );
    assert_eq!(error.provider_message.as_deref(), Some("Try again later"));

    let (state, _) = call(begin(&adapter, &payment(), T0));
    let result = done(adapter.on_response(state, Err(TransportFailure::Timeout), &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Error);
    assert_eq!(result.error.unwrap().code, ResultCode::ProviderTimeout);
}

#[test]
fn a_sale_without_an_answer_to_trust_is_in_doubt_and_looked_up_by_its_order() {
    let adapter = adapter();
    let lost_answers = [
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        answer(500, ""),
        problem(
            503,
            "service-unavailable",
            "Down for maintenance",
            json!([]),
        ),
        // Not taken this time: rate limited, or its key still being answered. A resend
        // of a sale whose first answer was lost may get either, after that one charged.
        problem(429, "too-many-requests", "Too many requests", json!([])),
        problem(
            409,
            "idempotency-key-in-use",
            "Idempotency key in use",
            json!([]),
        ),
        // Payroc took the sale and answered something unreadable.
        answer(201, "not json"),
        answer(
            201,
            &json!({"paymentId": "X", "transactionResult": {"status": "ready"}}).to_string(),
        ),
    ];
    for lost in lost_answers {
        let (state, _) = at_sale(&adapter);
        let State::Calling {
            call: ApiCall::Sale(sale),
            ..
        } = state.clone()
        else {
            panic!("at the sale: {state:?}");
        };
        let doubt = unknown(adapter.on_response(state, lost, &cx(T0)));
        assert_eq!(doubt, State::SaleInDoubt { sale });
        // Nothing moves it but a lookup.
        assert_eq!(
            unknown(adapter.on_response(doubt.clone(), answer(200, "{}"), &cx(T0))),
            doubt
        );
    }

    let (state, _) = at_sale(&adapter);
    let doubt = stored(unknown(adapter.on_response(
        state,
        Err(TransportFailure::Timeout),
        &cx(T0),
    )));
    let (state, lookup) = call(adapter.reconcile(doubt, &cx(T0)));
    assert!(matches!(
        state,
        State::Calling {
            call: ApiCall::Lookup(Lookup { pages: 0, .. }),
            ..
        }
    ));
    assert_eq!(lookup.method, HttpMethod::Get);
    assert_eq!(
        lookup.url,
        "http://sandbox.test/payroc/api/v1/payments?processingTerminalId=4479001&orderId=order-25"
    );
    assert_eq!(
        header(&lookup, "Authorization"),
        Some("Bearer eyJhbGc.adQssw5c")
    );
    assert_eq!(header(&lookup, "Idempotency-Key"), None);
    assert_eq!(lookup.body, None);
    assert!(lookup.retry_safe, "a read");
    assert_eq!(lookup.purpose, "payroc.lookup");
}

#[test]
fn a_foreign_or_malformed_receipt_changes_nothing() {
    let adapter = adapter();
    let state = at_mpi(&adapter);
    let (_, expected_action) =
        browser(adapter.on_response(state.clone(), Err(TransportFailure::Timeout), &cx(T0)));
    let cases: [(&str, BrowserReturn, ReceiptError); 7] = [
        (
            "another order",
            receipt(&[
                ("result", "A"),
                ("status", "Y"),
                ("eci", "05"),
                ("mpiReference", MPI_REF),
                ("orderId", "order-26"),
            ]),
            ReceiptError::OtherOrder,
        ),
        (
            "garbage eci",
            receipt(&[
                ("result", "A"),
                ("status", "Y"),
                ("eci", "5x"),
                ("mpiReference", MPI_REF),
                ("orderId", "order-25"),
            ]),
            ReceiptError::Invalid("eci"),
        ),
        (
            "unknown eci",
            receipt(&[
                ("result", "A"),
                ("status", "Y"),
                ("eci", "42"),
                ("mpiReference", MPI_REF),
                ("orderId", "order-25"),
            ]),
            ReceiptError::Invalid("eci"),
        ),
        (
            "status C",
            receipt(&[
                ("result", "A"),
                ("status", "C"),
                ("eci", "05"),
                ("mpiReference", MPI_REF),
                ("orderId", "order-25"),
            ]),
            ReceiptError::Invalid("status"),
        ),
        (
            "result X",
            receipt(&[
                ("result", "X"),
                ("status", "Y"),
                ("eci", "05"),
                ("mpiReference", MPI_REF),
                ("orderId", "order-25"),
            ]),
            ReceiptError::Invalid("result"),
        ),
        (
            "duplicated status",
            receipt(&[
                ("result", "A"),
                ("status", "N"),
                ("status", "Y"),
                ("eci", "05"),
                ("mpiReference", MPI_REF),
                ("orderId", "order-25"),
            ]),
            ReceiptError::Missing("status"),
        ),
        (
            "reference with a query inside",
            receipt(&[
                ("result", "A"),
                ("status", "Y"),
                ("eci", "05"),
                ("mpiReference", "d016&x=1"),
                ("orderId", "order-25"),
            ]),
            ReceiptError::Invalid("mpiReference"),
        ),
    ];
    for (name, ret, error) in cases {
        assert_eq!(
            adapter.verify_browser_return(&state, &ret, &cx(T0)),
            Err(error.refused()),
            "{name}"
        );
        assert_eq!(
            Receipt::parse(&ret, "order-25"),
            Err(error.clone()),
            "{name}"
        );
        let acted = adapter.on_browser_return(state.clone(), &ret, &cx(T0));
        assert_eq!(
            acted.unwrap_err().code,
            error.code(),
            "{name}: refused, nothing to store"
        );
        let _ = &expected_action;
    }
    assert_eq!(ReceiptError::OtherOrder.code(), "receipt_other_order");
    assert_eq!(
        adapter.verify_browser_return(&state, &good_receipt(), &cx(T0)),
        Ok(())
    );
    let (calling, _) = at_sale(&adapter);
    let refused = adapter.verify_browser_return(&calling, &good_receipt(), &cx(T0));
    assert_eq!(refused.map_err(|r| r.code), Err("no_return_expected"));
}

#[test]
fn a_declined_check_ends_without_a_sale() {
    let adapter = adapter();
    for (result, status, eci) in [
        ("D", "N", "07"),
        ("D", "U", "07"),
        ("A", "N", "07"),
        ("A", "R", "07"),
    ] {
        let state = at_mpi(&adapter);
        let ret = receipt(&[
            ("result", result),
            ("status", status),
            ("eci", eci),
            ("mpiReference", MPI_REF),
            ("orderId", "order-25"),
        ]);
        let outcome = done(accepted(adapter.on_browser_return(state, &ret, &cx(T0))));
        assert_eq!(outcome.status, PaymentStatus::Failed, "{result}/{status}");
        assert_eq!(
            outcome.error.unwrap().code,
            ResultCode::AuthenticationFailed
        );
        assert_eq!(outcome.provider_payment_id, None);
        assert!(!outcome.liability_shift);
    }
}
