//! The browser's return from the challenge, finalize, and what happens when its answer is
//! lost.

use super::*;

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
