//! The browser's return from the challenge, finalize, and what happens when its answer is
//! lost.

use super::*;
use crate::provider::MAX_REFUSED_RETURNS;

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
        shown: None,
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

/// The authentication as a read after finalize finds it: still `PENDING`.
fn still_pending() -> Result<HttpResponse, TransportFailure> {
    let creq = CReq::new(
        "tds-1".into(),
        "acs-1".into(),
        "2.2.0".into(),
        ChallengeWindowSize::W390xH400,
    )
    .to_base64url();
    answer(
        200,
        json!({"id": "auth-1", "status": "PENDING", "threeDResult": "C",
            "threeDSecureVersion": "2.2.0", "acsUrl": "https://acs.test/challenge",
            "sdkChallengePayload": sdk_payload("auth-1", &creq)}),
    )
}

/// A finalize Paysafe accepted and an authentication still `PENDING`: the challenge's
/// answer did not complete it, and the challenge is spent.
#[test]
fn after_an_accepted_finalize_the_challenge_is_never_shown_again() {
    let Step::Call { state: reading, .. } = adapter().on_response(
        finalizing(),
        answer(200, json!({"id": "auth-1", "status": "PENDING"})),
        &cx(),
    ) else {
        panic!("expected the read");
    };
    assert!(
        matches!(reading, State::ReadingChallengeResult { shown: None, .. }),
        "{reading:?}"
    );
    let result = done(adapter().on_response(reading.clone(), still_pending(), &cx()));
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

/// A return whose payload Paysafe's finalize refused (forged from the form's ids before
/// the cardholder answered, or altered), the authentication still `PENDING`: the payment
/// waits on the same challenge again and the return is refused, so the cardholder's
/// genuine answer still completes it. The fifth such refusal ends it.
#[test]
fn a_refused_payload_waits_on_the_same_challenge_again() {
    let session_data = ThreeDsSessionData::new("auth-1").unwrap().into_inner();
    let forged = ret(&[
        ("authenticationId", "auth-1"),
        ("payload", "not-the-acs-answer"),
        ("threeDSSessionData", &session_data),
    ]);
    // The forged return, finalize refusing its payload: the read after it.
    let refused_then_read = |state: State| {
        let Ok(Step::Call {
            state: finalizing, ..
        }) = adapter().on_browser_return(state, &forged, &cx())
        else {
            panic!("expected finalize");
        };
        let refused_payload = answer(
            400,
            json!({"error": {"code": "5068", "message": "the payload belongs to another transaction"}}),
        );
        let Step::Call { state: reading, .. } =
            adapter().on_response(finalizing, refused_payload, &cx())
        else {
            panic!("expected the read");
        };
        reading
    };
    let mut state = awaiting_challenge();
    for refusal in 1..MAX_REFUSED_RETURNS {
        let step = adapter().on_response(refused_then_read(state), still_pending(), &cx());
        let Step::Refused {
            state: waiting,
            action,
            refused,
        } = step
        else {
            panic!("expected the challenge again: {step:?}");
        };
        assert_eq!(refused.code, "return_refused");
        assert_eq!(
            action,
            BrowserAction::Challenge {
                form: shown().form,
                window_size: ChallengeWindowSize::W390xH400
            }
        );
        assert_eq!(
            waiting,
            State::AwaitingChallenge {
                authentication: authentication(),
                form: shown().form,
                window_size: ChallengeWindowSize::W390xH400,
                refused: refusal,
            }
        );
        state = waiting;
    }
    // The last refusal ends it: failed, nothing authorized.
    let reading = refused_then_read(state.clone());
    let result = done(adapter().on_response(reading, still_pending(), &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.error.unwrap().code, ResultCode::AuthenticationFailed);

    // A refused payload whose authentication Paysafe then holds completed goes on to
    // the authorization as any finished challenge does.
    let reading = refused_then_read(state);
    let completed = answer(
        200,
        json!({"id": "auth-1", "status": "COMPLETED", "threeDResult": "Y",
            "threeDSecureVersion": "2.2.0", "eci": 5, "cavv": "AAAB",
            "directoryServerTransactionId": "ds-1", "threeDEnrollment": "Y"}),
    );
    let Step::Call { request, .. } = adapter().on_response(reading, completed, &cx()) else {
        panic!("expected the authorization");
    };
    assert_eq!(request.purpose, "paysafe.auth");
}
