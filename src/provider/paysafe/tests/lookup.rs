//! An authorization in doubt: the lookup by merchantRefNum, what it adopts, and when it
//! sends the same authorization again.

use super::*;

fn found(entries: serde_json::Value) -> Result<HttpResponse, TransportFailure> {
    answer(200, json!({ "auths": entries }))
}

fn entry(status: &str, amount: u64, currency: &str) -> serde_json::Value {
    json!({"id": "pay-1", "merchantRefNum": cx().idempotency_key("auth"), "status": status,
           "amount": amount, "currencyCode": currency})
}

#[test]
fn a_lookup_adopts_only_this_payments_authorization() {
    let result = done(adapter().on_response(
        lookup(),
        found(json!([entry("COMPLETED", 1099, "USD")])),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.provider_payment_id.as_deref(), Some("pay-1"));
    assert!(result.liability_shift);
    assert_eq!(result.eci, Eci::new(5));

    let declined = json!([{"id": "pay-2", "merchantRefNum": cx().idempotency_key("auth"),
        "status": "FAILED", "amount": 1099, "currencyCode": "USD",
        "error": {"code": "3009", "message": "declined by the bank"}}]);
    let result = done(adapter().on_response(lookup(), found(declined), &cx()));
    assert_eq!(result.status, PaymentStatus::Declined);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::Declined);
    assert_eq!(error.provider_code.as_deref(), Some("3009"));

    // Another amount or currency under our merchantRefNum is never adopted as the
    // order's authorization; a completed one is an error that keeps its id (money is
    // held: it can be found and voided).
    for other in [
        entry("COMPLETED", 5000, "USD"),
        entry("COMPLETED", 1099, "CAD"),
    ] {
        let result = done(adapter().on_response(lookup(), found(json!([other])), &cx()));
        assert_eq!(result.status, PaymentStatus::Error, "{result:?}");
        assert_eq!(result.provider_payment_id.as_deref(), Some("pay-1"));
        assert!(!result.liability_shift);
        let error = result.error.unwrap();
        assert_eq!(error.code, ResultCode::ProviderBadResponse);
        assert_eq!(error.provider_code.as_deref(), Some("COMPLETED"));
    }

    // Still in processing or held for review: in doubt, looked up again later.
    for status in ["RECEIVED", "HELD"] {
        let step =
            adapter().on_response(lookup(), found(json!([entry(status, 1099, "USD")])), &cx());
        assert_eq!(
            step,
            Step::Unknown {
                state: State::Authorizing { charge: charge() }
            }
        );
    }
}

#[test]
fn nothing_found_sends_the_same_authorization_again() {
    let Step::Call { state, request } = adapter().on_response(lookup(), found(json!([])), &cx())
    else {
        panic!("expected the resend");
    };
    assert_eq!(request.purpose, "paysafe.auth");
    assert!(request
        .url
        .ends_with("/cardpayments/v1/accounts/89987201/auths"));
    let body: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["merchantRefNum"], cx().idempotency_key("auth"));
    assert_eq!(body["amount"], 1099);
    assert_eq!(body["card"], json!({"paymentToken": "SCTOKEN"}));
    assert_eq!(body["authentication"]["cavv"], "AAAB");
    assert_eq!(state, State::Authorizing { charge: charge() });
    // Another payment's entry (another merchantRefNum) is not ours: nothing found.
    let other = json!([{"id": "x", "merchantRefNum": "another", "status": "COMPLETED",
                        "amount": 1099, "currencyCode": "USD"}]);
    let step = adapter().on_response(lookup(), found(other), &cx());
    assert!(matches!(step, Step::Call { ref request, .. } if request.purpose == "paysafe.auth"));
}

#[test]
fn a_duplicate_is_looked_up_and_never_sent_a_third_time() {
    let duplicate = answer(
        409,
        json!({"error": {"code": "5031", "message": "already processed"}}),
    );
    let Step::Call { state, request } =
        adapter().on_response(State::Authorizing { charge: charge() }, duplicate, &cx())
    else {
        panic!("expected the lookup");
    };
    assert_eq!(request.purpose, "paysafe.auth.lookup");
    // Paysafe knows the merchantRefNum but shows nothing yet: wait, do not resend.
    let step = adapter().on_response(state.clone(), found(json!([])), &cx());
    assert_eq!(
        step,
        Step::Unknown {
            state: State::Authorizing { charge: charge() }
        }
    );
    let result = done(adapter().on_response(
        state,
        found(json!([entry("COMPLETED", 1099, "USD")])),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Authorized);
}

#[test]
fn a_lookup_without_an_answer_stays_in_doubt() {
    let in_doubt = Step::Unknown {
        state: State::Authorizing { charge: charge() },
    };
    for lost in [
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        answer(503, json!({})),
        answer(
            401,
            json!({"error": {"code": "5279", "message": "bad credentials"}}),
        ),
        answer(200, json!("not a list")),
    ] {
        assert_eq!(adapter().on_response(lookup(), lost, &cx()), in_doubt);
    }
    // An authorization answered 200 that cannot be read is looked up at once.
    let step = adapter().on_response(
        State::Authorizing { charge: charge() },
        answer(200, json!({"unexpected": true})),
        &cx(),
    );
    assert!(
        matches!(step, Step::Call { ref request, .. } if request.purpose == "paysafe.auth.lookup")
    );
}

#[test]
fn the_authorization_in_doubt_keeps_no_card_data() {
    let stored = serde_json::to_string(&State::Authorizing { charge: charge() }).unwrap();
    let back: State = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, State::Authorizing { charge: charge() });
    for member in ["cardNum", "card_num", "cvv", "4000000000001000"] {
        assert!(!stored.contains(member), "{stored}");
    }
}

#[test]
fn a_held_authorization_is_in_doubt_not_declined() {
    let step = adapter().on_response(
        State::Authorizing { charge: charge() },
        answer(200, json!({"id": "pay-1", "status": "HELD"})),
        &cx(),
    );
    assert_eq!(
        step,
        Step::Unknown {
            state: State::Authorizing { charge: charge() }
        }
    );
    let result = done(adapter().on_response(
        State::Authorizing { charge: charge() },
        answer(200, json!({"id": "pay-1", "status": "CANCELLED"})),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Declined);
    assert_eq!(
        result.error.unwrap().provider_code.as_deref(),
        Some("CANCELLED")
    );
}

#[test]
fn only_a_call_in_doubt_is_reconciled() {
    for state in [
        authenticating(),
        State::Tokenizing {
            order: order(),
            summary: card().summary.unwrap(),
        },
    ] {
        let result = done(adapter().reconcile(state, &cx()));
        assert_eq!(result.status, PaymentStatus::Error);
    }
}

#[test]
fn a_lookup_reason_reads_back_by_its_name() {
    use charge::Lookup;
    crate::unit_variant::tests::reads_back::<Lookup>();
}

#[test]
fn an_authorization_answered_for_another_amount_or_currency_is_an_error_with_its_id() {
    let authorizing = || State::Authorizing { charge: charge() };
    let answered = |amount: u64, currency: &str| {
        answer(
            200,
            json!({"id": "pay-9", "status": "COMPLETED", "merchantRefNum": cx().idempotency_key("auth"),
                   "amount": amount, "currencyCode": currency}),
        )
    };
    // The account's currency is charged whatever the order's: Paysafe's answer says which.
    for (amount, currency) in [(1099, "CAD"), (1000, "USD")] {
        let result = done(adapter().on_response(authorizing(), answered(amount, currency), &cx()));
        assert_eq!(result.status, PaymentStatus::Error, "{result:?}");
        assert_eq!(result.provider_payment_id.as_deref(), Some("pay-9"));
        assert!(!result.liability_shift);
        assert_eq!(result.error.unwrap().code, ResultCode::ProviderBadResponse);
    }
    // The order's own, or an answer that does not say, is the authorization.
    for body in [
        json!({"id": "pay-9", "status": "COMPLETED", "amount": 1099, "currencyCode": "usd"}),
        json!({"id": "pay-9", "status": "COMPLETED"}),
    ] {
        let result = done(adapter().on_response(authorizing(), answer(200, body), &cx()));
        assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
        assert_eq!(result.provider_payment_id.as_deref(), Some("pay-9"));
    }
}
