//! The authentication's answers: its outcomes, the challenge forms it asks for, and the
//! answers refused.

use super::*;

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
