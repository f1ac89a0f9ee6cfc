//! The adapter's reading of canned Paysafe answers and browser returns, without a network.

use crate::order::Currency;
use base64::Engine;
use serde_json::json;

use super::*;
use crate::emv::challenge::ThreeDsSessionData;
use crate::emv::{CReq, CardBrand, Eci, FormMethod, TransStatus};

fn adapter() -> PaysafeAdapter {
    PaysafeAdapter::new(Config::sandbox("http://sandbox.test"))
}

fn cx() -> Context {
    Context {
        now_ms: 0,
        session_id: "0123456789abcdef0123456789abcdef".into(),
        public_url: "https://shop.test".into(),
    }
}

fn order() -> Order {
    Order {
        amount: 1099,
        currency: Currency::parse("USD").unwrap(),
        challenge: ChallengePreference::NoPreference,
        exemption: None,
        window_size: ChallengeWindowSize::W500xH600,
        browser: None,
        capture_mode: CaptureMode::Automatic,
    }
}

fn card() -> CardRef {
    CardRef {
        payment_token: "SCTOKEN".into(),
        summary: Some(CardSummary {
            brand: CardBrand::Visa,
            bin: "400000".into(),
            last_four: "1000".into(),
        }),
    }
}

fn authenticating() -> State {
    State::Authenticating {
        order: order(),
        card: card(),
        fingerprint_id: "fp-1".into(),
        merchant_ref_num: cx().idempotency_key("authentication"),
    }
}

fn answer(status: u16, body: serde_json::Value) -> Result<HttpResponse, TransportFailure> {
    Ok(HttpResponse {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    })
}

fn done(step: Step<State>) -> PaymentResult {
    match step {
        Step::Done(result) => result,
        other => panic!("expected Done, got {other:?}"),
    }
}

fn sdk_payload(id: &str, payload: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(
        json!({"id": id, "transactionId": "acs-1", "payload": payload, "accountId": "89987201"})
            .to_string(),
    )
}

#[test]
fn completed_y_goes_straight_to_the_authorization_with_the_block() {
    let step = adapter().on_response(
        authenticating(),
        answer(
            200,
            json!({"id": "auth-1", "status": "COMPLETED", "threeDResult": "Y",
                   "threeDSecureVersion": "2.2.0", "eci": 5, "cavv": "AAAB",
                   "directoryServerTransactionId": "ds-1", "threeDEnrollment": "Y"}),
        ),
        &cx(),
    );
    let Step::Call { state, request } = step else {
        panic!("expected the authorization");
    };
    assert_eq!(request.purpose, "paysafe.auth");
    assert!(request.retry_safe);
    assert!(request
        .url
        .ends_with("/cardpayments/v1/accounts/89987201/auths"));
    let body: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["merchantRefNum"], cx().idempotency_key("auth"));
    assert_eq!(body["card"], json!({"paymentToken": "SCTOKEN"}));
    assert_eq!(body["settleWithAuth"], true);
    assert_eq!(
        body["authentication"],
        json!({"eci": 5, "cavv": "AAAB", "threeDResult": "Y", "threeDSecureVersion": "2.2.0",
               "directoryServerTransactionId": "ds-1"})
    );
    // Everything a resend needs, and no card data.
    assert_eq!(state, State::Authorizing { charge: charge() });

    // The approval.
    let result = done(adapter().on_response(
        state.clone(),
        answer(200, json!({"id": "pay-1", "status": "COMPLETED"})),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.provider_payment_id.as_deref(), Some("pay-1"));
    assert!(result.liability_shift);
    assert_eq!(result.trans_status, Some(TransStatus::Y));

    // The issuer's decline, with Paysafe's code and message.
    let result = done(adapter().on_response(
        state.clone(),
        answer(
            402,
            json!({"id": "pay-2", "error": {"code": "3009", "message": "declined by the bank"}}),
        ),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Declined);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::Declined);
    assert_eq!(error.provider_code.as_deref(), Some("3009"));
    assert_eq!(
        error.provider_message.as_deref(),
        Some("declined by the bank")
    );

    // A timeout or an outage is neither a decline nor an error: Paysafe may have
    // authorized, so the payment is in doubt, keeping what the lookup and a resend need.
    for lost in [Err(TransportFailure::Timeout), answer(503, json!({}))] {
        let Step::Unknown { state: doubt } = adapter().on_response(state.clone(), lost, &cx())
        else {
            panic!("a lost authorization is in doubt");
        };
        assert_eq!(doubt, state);
    }
}

/// The authorization in doubt, as `completed_y_goes_straight_to_the_authorization_with_the_block`
/// leaves it.
fn charge() -> Charge {
    Charge {
        merchant_ref_num: cx().idempotency_key("auth"),
        amount: 1099,
        currency: Currency::parse("USD").unwrap(),
        payment_token: "SCTOKEN".into(),
        brand: CardBrand::Visa,
        authentication_id: "auth-1".into(),
        authentication: wire::Authenticated {
            version: "2.2.0".into(),
            trans_status: Some(TransStatus::Y),
            eci: Eci::new(5),
            cavv: Some("AAAB".into()),
            ds_transaction_id: Some("ds-1".into()),
            xid: None,
            enrollment: Some("Y".into()),
            signature_status: None,
            cancelled: false,
        },
        settle_with_auth: true,
    }
}

fn found(entries: serde_json::Value) -> Result<HttpResponse, TransportFailure> {
    answer(200, json!({ "auths": entries }))
}

fn entry(status: &str, amount: u64, currency: &str) -> serde_json::Value {
    json!({"id": "pay-1", "merchantRefNum": cx().idempotency_key("auth"), "status": status,
           "amount": amount, "currencyCode": currency})
}

/// Reconciles `charge()` in doubt: the lookup it sends, and the state it waits in.
fn lookup() -> State {
    let Step::Call { state, request } =
        adapter().reconcile(State::Authorizing { charge: charge() }, &cx())
    else {
        panic!("expected the lookup");
    };
    assert_eq!(request.purpose, "paysafe.auth.lookup");
    assert_eq!(request.method, crate::provider::HttpMethod::Get);
    assert!(request.retry_safe);
    assert_eq!(
        request.url,
        format!(
            "http://sandbox.test/paysafe/cardpayments/v1/accounts/89987201/auths?merchantRefNum={}",
            cx().idempotency_key("auth")
        )
    );
    state
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

    // Another amount or currency under our merchantRefNum is never adopted.
    for other in [
        entry("COMPLETED", 5000, "USD"),
        entry("COMPLETED", 1099, "CAD"),
    ] {
        let result = done(adapter().on_response(lookup(), found(json!([other])), &cx()));
        assert_eq!(result.status, PaymentStatus::Error, "{result:?}");
        assert!(result.provider_payment_id.is_none());
        assert_eq!(result.error.unwrap().code, ResultCode::ProviderBadResponse);
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
fn n_and_r_end_without_an_authorization() {
    for status in ["N", "R"] {
        let result = done(adapter().on_response(
            authenticating(),
            answer(
                200,
                json!({"id": "a", "status": "COMPLETED", "threeDResult": status,
                       "threeDSecureVersion": "2.2.0", "eci": 7}),
            ),
            &cx(),
        ));
        assert_eq!(result.status, PaymentStatus::Failed);
        assert_eq!(result.error.unwrap().code, ResultCode::AuthenticationFailed);
        assert_eq!(result.eci, Eci::new(7));
    }
}

#[test]
fn pending_c_decodes_the_sdk_challenge_payload_into_a_creq_form() {
    let creq = CReq::new(
        "tds-1".into(),
        "acs-1".into(),
        "2.2.0".into(),
        ChallengeWindowSize::W390xH400,
    )
    .to_base64url();
    let step = adapter().on_response(
        authenticating(),
        answer(
            200,
            json!({"id": "auth-1", "status": "PENDING", "threeDResult": "C",
                   "threeDSecureVersion": "2.2.0", "acsUrl": "https://acs.test/challenge",
                   "sdkChallengePayload": sdk_payload("auth-1", &creq)}),
        ),
        &cx(),
    );
    let Step::Browser {
        state,
        action: BrowserAction::Challenge { form, window_size },
    } = step
    else {
        panic!("expected a challenge");
    };
    assert_eq!(form.action, "https://acs.test/challenge");
    assert_eq!(form.method, FormMethod::Post);
    assert_eq!(form.field("creq"), Some(creq.as_str()));
    assert_eq!(
        ThreeDsSessionData::decode(form.field("threeDSSessionData").unwrap()).unwrap(),
        "auth-1"
    );
    assert_eq!(
        window_size,
        ChallengeWindowSize::W390xH400,
        "the CReq's own size"
    );
    assert!(
        matches!(state, State::AwaitingChallenge { ref authentication, .. } if authentication.id == "auth-1")
    );
}

#[test]
fn pending_three_ds_one_is_a_pareq_form() {
    let step = adapter().on_response(
        authenticating(),
        answer(
            200,
            json!({"id": "auth-9", "status": "PENDING", "threeDEnrollment": "Y",
                   "threeDSecureVersion": "1.0.2", "acsUrl": "https://acs.test/pareq",
                   "sdkChallengePayload": sdk_payload("auth-9", "eJzzSM3JyVcozy/KSQEAGgQEXQ==")}),
        ),
        &cx(),
    );
    let Step::Browser {
        action: BrowserAction::Challenge { form, .. },
        ..
    } = step
    else {
        panic!("expected a challenge");
    };
    assert_eq!(form.field("PaReq"), Some("eJzzSM3JyVcozy/KSQEAGgQEXQ=="));
    assert_eq!(form.field("MD"), Some("auth-9"));
    assert_eq!(
        form.field("TermUrl"),
        Some("http://sandbox.test/paysafe/threedsecure/v2/challenge-complete")
    );
}

#[test]
fn unreadable_or_foreign_challenge_payloads_are_bad_responses() {
    for payload in ["%%%not-base64", &sdk_payload("another-authentication", "x")] {
        let result = done(adapter().on_response(
            authenticating(),
            answer(
                200,
                json!({"id": "auth-1", "status": "PENDING", "threeDResult": "C",
                       "threeDSecureVersion": "2.2.0", "acsUrl": "https://acs.test/c",
                       "sdkChallengePayload": payload}),
            ),
            &cx(),
        ));
        assert_eq!(result.status, PaymentStatus::Error);
        assert_eq!(result.error.unwrap().code, ResultCode::ProviderBadResponse);
    }
}

#[test]
fn failed_status_and_error_objects_with_field_errors() {
    let result = done(adapter().on_response(
        authenticating(),
        answer(200, json!({"id": "a", "status": "FAILED"})),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.error.unwrap().code, ResultCode::AuthenticationFailed);

    let result = done(adapter().on_response(
        authenticating(),
        answer(
            400,
            json!({"error": {"code": "5068", "message": "Field error(s)",
                   "fieldErrors": [{"field": "card.paymentToken", "error": "has expired"}]}}),
        ),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.unwrap();
    // An expired single-use token has its own stable code (issue #18).
    assert_eq!(error.code, ResultCode::TokenExpired);
    assert_eq!(error.provider_code.as_deref(), Some("5068"));
    assert_eq!(
        error.provider_message.as_deref(),
        Some("Field error(s) (card.paymentToken: has expired)")
    );
}

#[test]
fn malformed_json_is_a_bad_response() {
    for body in ["{not json", "[]", r#"{"id": "a"}"#] {
        let result = done(adapter().on_response(
            authenticating(),
            Ok(HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: body.into(),
            }),
            &cx(),
        ));
        assert_eq!(result.status, PaymentStatus::Error, "{body}");
        assert_eq!(result.error.unwrap().code, ResultCode::ProviderBadResponse);
    }
}

#[test]
fn a_duplicate_merchant_ref_num_reads_the_existing_authentication() {
    let step = adapter().on_response(
        authenticating(),
        answer(
            409,
            json!({"existingTransactionId": "auth-7",
                   "error": {"code": "5031", "message": "already processed"}}),
        ),
        &cx(),
    );
    let Step::Call { request, state } = step else {
        panic!("expected a read");
    };
    assert_eq!(request.purpose, "paysafe.authentication.get");
    assert!(request.url.ends_with("/authentications/auth-7"));
    // The read must name the same authentication and our merchantRefNum.
    let result = done(adapter().on_response(
        state.clone(),
        answer(
            200,
            json!({"id": "auth-8", "status": "COMPLETED", "threeDResult": "Y",
                           "threeDSecureVersion": "2.2.0"}),
        ),
        &cx(),
    ));
    assert_eq!(result.error.unwrap().code, ResultCode::ProviderBadResponse);
    let result = done(adapter().on_response(
        state,
        answer(
            200,
            json!({"id": "auth-7", "merchantRefNum": "someone-else", "status": "COMPLETED",
                           "threeDResult": "Y", "threeDSecureVersion": "2.2.0"}),
        ),
        &cx(),
    ));
    assert_eq!(result.error.unwrap().code, ResultCode::ProviderBadResponse);
}

fn authentication() -> Authentication {
    Authentication {
        order: order(),
        card: card(),
        id: "auth-1".into(),
        merchant_ref_num: "ref".into(),
    }
}

fn awaiting_challenge() -> State {
    State::AwaitingChallenge {
        authentication: authentication(),
        form: FormPost::post("https://acs.test/c", [("creq", "x".to_owned())]),
        window_size: ChallengeWindowSize::W390xH400,
    }
}

fn ret(fields: &[(&str, &str)]) -> BrowserReturn {
    BrowserReturn {
        fields: fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn a_return_naming_another_authentication_changes_nothing() {
    let session_data = ThreeDsSessionData::new("auth-1").unwrap().into_inner();
    let forged = [
        ret(&[("authenticationId", "auth-2"), ("payload", "cres")]),
        ret(&[("payload", "cres")]),
        ret(&[
            ("authenticationId", "auth-1"),
            ("authenticationId", "auth-2"),
            ("payload", "cres"),
        ]),
        ret(&[
            ("authenticationId", "auth-1"),
            ("payload", "cres"),
            ("threeDSSessionData", "b3RoZXI"),
        ]),
        ret(&[
            ("authenticationId", "auth-1"),
            ("payload", "PaRes"),
            ("MD", "auth-2"),
        ]),
        ret(&[("authenticationId", "auth-1"), ("payload", "")]),
    ];
    for forged in forged {
        let step = adapter().on_browser_return(awaiting_challenge(), &forged, &cx());
        assert!(step.is_err(), "{forged:?} → {step:?}");
        let verified = adapter().verify_browser_return(&awaiting_challenge(), &forged, &cx());
        assert_eq!(step.map(drop), verified, "verify and act refuse alike");
    }
    let good = ret(&[
        ("authenticationId", "auth-1"),
        ("payload", "cres"),
        ("threeDSSessionData", &session_data),
    ]);
    let Ok(Step::Call { request, state }) =
        adapter().on_browser_return(awaiting_challenge(), &good, &cx())
    else {
        panic!("expected finalize");
    };
    assert_eq!(request.purpose, "paysafe.finalize");
    assert!(request.url.ends_with("/authentications/auth-1/finalize"));
    assert_eq!(request.body.as_deref(), Some(r#"{"payload":"cres"}"#));
    // Whatever finalize answers, the authentication is read again.
    let Step::Call { request, .. } = adapter().on_response(
        state,
        answer(
            400,
            json!({"error": {"code": "5068", "message": "bad payload"}}),
        ),
        &cx(),
    ) else {
        panic!("expected the read");
    };
    assert_eq!(request.purpose, "paysafe.authentication.get");
}

#[test]
fn a_cancelled_challenge_is_cancelled() {
    let reading = State::ReadingChallengeResult {
        authentication: authentication(),
    };
    let result = done(adapter().on_response(
        reading,
        answer(
            200,
            json!({"id": "auth-1", "status": "COMPLETED", "threeDResult": "N",
                           "threeDSecureVersion": "2.2.0", "eci": 7, "challengeCancel": "01"}),
        ),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Cancelled);
    assert_eq!(result.error.unwrap().code, ResultCode::ChallengeCancelled);
}

fn finalizing() -> State {
    State::Finalizing {
        authentication: authentication(),
        payload: "cres".into(),
    }
}

/// Finalize's answer lost on every attempt: the cardholder has answered the challenge,
/// which cannot be shown again. The payment waits in doubt with the payload, and its
/// reconciliation sends the same finalize again.
#[test]
fn a_lost_finalize_keeps_the_payload_to_finalize_later() {
    for lost in [
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("the backend stopped".into())),
        answer(500, json!({"error": "sandbox fault injected"})),
    ] {
        let step = adapter().on_response(finalizing(), lost, &cx());
        assert_eq!(
            step,
            Step::Unknown {
                state: finalizing()
            }
        );
    }
    let Step::Call { state, request } = adapter().reconcile(finalizing(), &cx()) else {
        panic!("expected finalize again");
    };
    assert_eq!(request.purpose, "paysafe.finalize");
    assert!(request.url.ends_with("/authentications/auth-1/finalize"));
    assert_eq!(request.body.as_deref(), Some(r#"{"payload":"cres"}"#));
    assert!(request.retry_safe);
    assert_eq!(state, finalizing());
}

#[test]
fn after_finalize_the_challenge_is_never_shown_again() {
    let reading = State::ReadingChallengeResult {
        authentication: authentication(),
    };
    let creq = CReq::new(
        "tds-1".into(),
        "acs-1".into(),
        "2.2.0".into(),
        ChallengeWindowSize::W390xH400,
    )
    .to_base64url();
    let still_pending = json!({"id": "auth-1", "status": "PENDING", "threeDResult": "C",
        "threeDSecureVersion": "2.2.0", "acsUrl": "https://acs.test/challenge",
        "sdkChallengePayload": sdk_payload("auth-1", &creq)});
    let result = done(adapter().on_response(reading.clone(), answer(200, still_pending), &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::AuthenticationFailed);
    assert_eq!(error.provider_code.as_deref(), Some("PENDING"));

    // The read's answer lost: in doubt, read again later.
    let step = adapter().on_response(reading.clone(), answer(503, json!({})), &cx());
    assert_eq!(
        step,
        Step::Unknown {
            state: reading.clone()
        }
    );
    let Step::Call { request, .. } = adapter().reconcile(reading, &cx()) else {
        panic!("expected the read");
    };
    assert_eq!(request.purpose, "paysafe.authentication.get");
    assert!(request.url.ends_with("/authentications/auth-1"));
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
fn the_start_sends_the_card_once_and_keeps_only_the_token() {
    let step = adapter().on_response(
        State::Tokenizing {
            order: order(),
            summary: card().summary.unwrap(),
        },
        answer(
            200,
            json!({"id": "t", "paymentToken": "SCNEW", "timeToLiveSeconds": 899}),
        ),
        &cx(),
    );
    let Step::Call { request, state } = step else {
        panic!("expected jwt");
    };
    assert_eq!(request.purpose, "paysafe.jwt");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(request.body.as_deref().unwrap()).unwrap(),
        json!({"accountId": "89987201", "card": {"cardBin": "400000", "paymentToken": "SCNEW"}})
    );
    let stored = serde_json::to_string(&state).unwrap();
    assert!(stored.contains("SCNEW"));
    let auth = request
        .headers
        .iter()
        .find(|(n, _)| n == "Authorization")
        .unwrap();
    assert!(!stored.contains(&auth.1[6..]), "no credential in the state");
}

/// A payment stored at its challenge by the version before `Authentication` existed
/// still reads, and its return is still accepted.
#[test]
fn a_challenge_stored_by_the_previous_version_still_reads() {
    let stored = json!({"step": "awaiting_challenge", "order": order(), "card": card(),
        "authentication_id": "auth-1", "merchant_ref_num": "ref",
        "form": FormPost::post("https://acs.test/c", [("creq", "x".to_owned())]),
        "window_size": ChallengeWindowSize::W390xH400});
    let state: State = serde_json::from_value(stored.clone()).expect("the old shape reads");
    assert_eq!(state, awaiting_challenge());
    assert_eq!(
        serde_json::to_value(&state).unwrap(),
        stored,
        "and is written the same"
    );
}

#[test]
fn config_debug_prints_no_password() {
    let config = Config::sandbox("http://sandbox.test");
    let printed = format!("{config:?}");
    assert!(!printed.contains(config.api_password.expose()), "{printed}");
    assert!(printed.contains("sandbox-paysafe-user"), "{printed}");
}

#[test]
fn a_manual_payment_authorizes_without_settling_and_an_old_order_reads_as_automatic() {
    let mut order = order();
    order.capture_mode = CaptureMode::Manual;
    let State::Authenticating {
        card,
        fingerprint_id,
        merchant_ref_num,
        ..
    } = authenticating()
    else {
        unreachable!()
    };
    let step = adapter().on_response(
        State::Authenticating {
            order,
            card,
            fingerprint_id,
            merchant_ref_num,
        },
        answer(
            200,
            json!({"id": "auth-1", "status": "COMPLETED", "threeDResult": "Y",
                   "threeDSecureVersion": "2.2.0", "eci": 5, "cavv": "AAAB",
                   "directoryServerTransactionId": "ds-1", "threeDEnrollment": "Y"}),
        ),
        &cx(),
    );
    let Step::Call { state, request } = step else {
        panic!("expected the authorization");
    };
    let body: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["settleWithAuth"], false);
    let State::Authorizing { charge } = state else {
        panic!("expected Authorizing");
    };
    assert!(!charge.settle_with_auth);

    // States stored before capture modes existed: settled with the authorization.
    let mut stored = serde_json::to_value(State::Authorizing {
        charge: charge.clone(),
    })
    .unwrap();
    stored["charge"]
        .as_object_mut()
        .unwrap()
        .remove("settle_with_auth");
    let State::Authorizing { charge: old } = serde_json::from_value(stored).unwrap() else {
        panic!("expected Authorizing");
    };
    assert!(old.settle_with_auth);
    let mut order = serde_json::to_value(self::order()).unwrap();
    order.as_object_mut().unwrap().remove("capture_mode");
    let order: Order = serde_json::from_value(order).unwrap();
    assert_eq!(order.capture_mode, CaptureMode::Automatic);
}

/// One state of every step, each member set (`stored.rs` reads them by hand).
fn every_state() -> Vec<State> {
    let summary = card().summary.unwrap();
    let mut with_browser = order();
    with_browser.exemption = Some(crate::payment::Exemption::NoChallengeRequested);
    with_browser.capture_mode = CaptureMode::Manual;
    vec![
        State::Tokenizing {
            order: order(),
            summary,
        },
        State::Fingerprinting {
            order: with_browser.clone(),
            card: card(),
        },
        State::AwaitingMethod {
            order: order(),
            card: CardRef {
                payment_token: "SCPAGE".into(),
                summary: None,
            },
            fingerprint_id: "fp-1".into(),
        },
        authenticating(),
        State::ReadingAuthentication {
            authentication: authentication(),
        },
        awaiting_challenge(),
        finalizing(),
        State::ReadingChallengeResult {
            authentication: authentication(),
        },
        State::Authorizing { charge: charge() },
        lookup(),
    ]
}

/// The stored shape is the derived `Serialize`'s (tag `step`, `Authentication` flattened),
/// read back by hand: every step, from a JSON value (as the adapter reads its state) and
/// from text.
#[test]
fn every_state_reads_back_as_it_was_written() {
    let states = every_state();
    assert_eq!(states.len(), 10, "one of each step");
    for state in states {
        let stored = serde_json::to_value(&state).expect("serializes");
        let read: State = State::deserialize(&stored).expect("reads");
        assert_eq!(read, state, "{stored}");
        let text = serde_json::to_string(&state).expect("serializes");
        assert_eq!(serde_json::from_str::<State>(&text).expect("reads"), state);
    }
}

/// As the derive did: a missing member (but a null one) or an unknown step is refused,
/// an unknown member ignored.
#[test]
fn a_state_missing_a_member_or_with_an_unknown_step_is_refused() {
    for state in every_state() {
        let serde_json::Value::Object(stored) = serde_json::to_value(&state).unwrap() else {
            panic!("an object");
        };
        for (name, value) in stored.iter().filter(|(name, _)| *name != "step") {
            let mut without = stored.clone();
            without.remove(name);
            let read = serde_json::from_value::<State>(without.into());
            assert_eq!(
                read.is_err(),
                !value.is_null(),
                "{name} missing: {stored:?}"
            );
        }
        let mut extra = stored.clone();
        extra.insert("later_member".into(), json!(1));
        assert_eq!(
            serde_json::from_value::<State>(extra.into()).unwrap(),
            state
        );
        let mut unknown = stored.clone();
        unknown.insert("step".into(), json!("levitating"));
        assert!(serde_json::from_value::<State>(unknown.into()).is_err());
    }
    assert!(serde_json::from_value::<State>(json!(["tokenizing"])).is_err());
}

/// The adapter's state is stored as text read back as a value
/// (`backend::providers::encode`): every step, the same JSON as `to_value` wrote.
#[test]
fn every_state_is_stored_as_to_value_stored_it() {
    crate::backend::providers::assert_encodes_as_to_value(&every_state());
}

#[test]
fn a_lookup_reason_reads_back_by_its_name() {
    use charge::Lookup;
    crate::unit_variant::tests::reads_back(&[Lookup::AnswerLost, Lookup::Duplicate], "Lookup");
}
