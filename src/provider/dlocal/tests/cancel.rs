//! A payer who left dLocal's page: the session's expiry or a cancel cancels the payment there,
//! and only dLocal's word ends it.

use super::*;
use crate::payment::{PaymentStatus, ResultCode};

#[test]
fn a_session_expiring_on_dlocals_page_is_put_in_doubt_to_be_cancelled_there() {
    let adapter = adapter();
    assert_eq!(
        adapter.on_expiry(authenticating(), &cx()),
        Step::Unknown {
            state: State::Cancelling(abandoned())
        }
    );
    // Any other state keeps today's doubt (hosts only expire a session awaiting the
    // browser, whose state is `Authenticating`).
    assert_eq!(
        adapter.on_expiry(in_doubt_state(Some("D-4-abc"), Some(PAGE)), &cx()),
        in_doubt(Some("D-4-abc"), Some(PAGE))
    );

    // The host's lookup of it is the cancel: POST, signed over an empty body, safe to
    // send again.
    let Step::Call { state, request } = adapter.reconcile(State::Cancelling(abandoned()), &cx())
    else {
        panic!("expected the cancel");
    };
    assert_eq!(state, State::Cancelling(abandoned()));
    assert_eq!(request.method, HttpMethod::Post);
    assert_eq!(
        request.url,
        "http://127.0.0.1:8081/dlocal/payments/D-4-abc/cancel"
    );
    assert_eq!(request.purpose, "dlocal.cancel");
    assert!(request.retry_safe);
    assert_eq!(request.body, None);
    assert_eq!(
        header(&request, "Authorization"),
        format!(
            "V2-HMAC-SHA256, Signature: {}",
            independent_hmac(&format!("{LOGIN}2018-07-12T13:46:28.629Z"))
        )
    );
    assert_eq!(header(&request, "X-Trans-Key"), "fm12O7G9");
}

#[test]
fn a_cancelled_payment_ends_session_expired_with_dlocals_id() {
    let adapter = adapter();
    let cancelling = State::Cancelling(abandoned());
    let cancelled = payment("CANCELLED", "400", "");
    let expired = done(adapter.on_response(cancelling.clone(), answer(200, &cancelled), &cx()));
    assert_eq!(expired.status, PaymentStatus::Error);
    let error = expired.error.as_ref().expect("error");
    assert_eq!(error.code, ResultCode::SessionExpired);
    assert_eq!(error.provider_code.as_deref(), Some("400"));
    assert_eq!(expired.provider_payment_id.as_deref(), Some("D-4-abc"));
    assert!(!expired.liability_shift);
    // dLocal's own expiry of the payment is the same end.
    let by_dlocal = done(adapter.on_response(
        cancelling.clone(),
        answer(200, &payment("EXPIRED", "", "")),
        &cx(),
    ));
    assert_eq!(
        by_dlocal.error.map(|e| e.code),
        Some(ResultCode::SessionExpired)
    );
}

#[test]
fn a_cancel_on_dlocals_page_cancels_there_and_ends_cancelled_by_whoever_asked() {
    use crate::payment::Canceller;
    let adapter = adapter();
    let asked = Abandoned {
        cancelled_by: Some(Canceller::Shopper),
        ..abandoned()
    };
    // Not `cancelled` yet: the cancel goes to dLocal first, at once.
    let Step::Call { state, request } =
        adapter.on_cancel(authenticating(), Canceller::Shopper, &cx())
    else {
        panic!("expected the cancel at dLocal");
    };
    assert_eq!(state, State::Cancelling(asked.clone()));
    assert_eq!(request.purpose, "dlocal.cancel");
    let cancelled = done(adapter.on_response(
        state.clone(),
        answer(200, &payment("CANCELLED", "400", "")),
        &cx(),
    ));
    assert_eq!(cancelled.status, PaymentStatus::Cancelled);
    let error = cancelled.error.as_ref().expect("error");
    assert_eq!(error.code, ResultCode::CancelledByShopper);
    assert_eq!(error.provider_code.as_deref(), Some("400"));
    assert_eq!(cancelled.provider_payment_id.as_deref(), Some("D-4-abc"));
    // Its answer lost: in doubt, the cancel (and who asked) kept for the reconciler.
    assert_eq!(
        adapter.on_response(
            state,
            Err(TransportFailure::Connection("reset".into())),
            &cx()
        ),
        Step::Unknown {
            state: State::Cancelling(asked)
        }
    );
    // A state not on dLocal's page: what an expiry does, never `cancelled`.
    assert_eq!(
        adapter.on_cancel(
            in_doubt_state(Some("D-4-abc"), Some(PAGE)),
            Canceller::Merchant,
            &cx()
        ),
        in_doubt(Some("D-4-abc"), Some(PAGE))
    );
}

#[test]
fn a_refused_cancel_reads_the_payment_and_ends_with_dlocals_word() {
    let adapter = adapter();
    let cancelling = State::Cancelling(abandoned());
    let not_pending = r#"{"code":5002,"message":"Invalid status: the payment is PAID"}"#;
    let Step::Call { state, request } =
        adapter.on_response(cancelling.clone(), answer(400, not_pending), &cx())
    else {
        panic!("expected the payment to be read");
    };
    let reading = State::ReadingAfterCancel(abandoned());
    assert_eq!(state, reading);
    assert_eq!(request.method, HttpMethod::Get);
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
    assert!(request.retry_safe);

    // The payer finished first: paid, rejected, or cancelled by an earlier cancel whose
    // answer was lost.
    let paid = done(adapter.on_response(
        reading.clone(),
        answer(
            200,
            &payment("PAID", "200", r#","three_dsecure":{"eci":"05"}"#),
        ),
        &cx(),
    ));
    assert_eq!(paid.status, PaymentStatus::Authorized);
    assert_eq!(paid.provider_payment_id.as_deref(), Some("D-4-abc"));
    assert_eq!(paid.eci, Eci::parse("05").ok());
    let rejected = done(adapter.on_response(
        reading.clone(),
        answer(200, &payment("REJECTED", "320", "")),
        &cx(),
    ));
    assert_eq!(rejected.status, PaymentStatus::Failed);
    assert_eq!(
        rejected.error.map(|e| e.code),
        Some(ResultCode::AuthenticationFailed)
    );
    let cancelled = done(adapter.on_response(
        reading.clone(),
        answer(200, &payment("CANCELLED", "400", "")),
        &cx(),
    ));
    assert_eq!(
        cancelled.error.map(|e| e.code),
        Some(ResultCode::SessionExpired)
    );

    // Still pending, authorized only (the cancel voids it: one may be under way beside
    // this read), no answer, a refusal, another payment's: cancelled again later.
    for response in [
        answer(200, &payment("AUTHORIZED", "600", "")),
        answer(
            200,
            &payment(
                "PENDING",
                "101",
                &format!(r#","three_dsecure":{{"redirect_url":"{PAGE}"}}"#),
            ),
        ),
        Err(TransportFailure::Timeout),
        answer(503, r#"{"code":7000}"#),
        answer(404, r#"{"code":4000,"message":"Payment not found"}"#),
        answer(
            200,
            &payment("PAID", "200", "").replace("order-1", "order-2"),
        ),
        answer(
            200,
            &payment("PAID", "200", "").replace(r#""amount":120"#, r#""amount":1"#),
        ),
    ] {
        assert_eq!(
            adapter.on_response(reading.clone(), response.clone(), &cx()),
            Step::Unknown {
                state: cancelling.clone()
            },
            "{response:?}"
        );
    }
}

#[test]
fn a_cancel_without_an_answer_dlocal_can_be_believed_on_is_sent_again_later() {
    let adapter = adapter();
    let cancelling = State::Cancelling(abandoned());
    for response in [
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        answer(500, r#"{"code":7000}"#),
        answer(200, "<html>"),
        answer(
            200,
            &payment("CANCELLED", "400", "").replace("D-4-abc", "D-4-zzz"),
        ),
        answer(200, &payment("CANCELLED", "400", "").replace("BRL", "USD")),
        // Accepted but not yet cancelled: dLocal has not decided.
        answer(200, &payment("PENDING", "101", "")),
    ] {
        assert_eq!(
            adapter.on_response(cancelling.clone(), response.clone(), &cx()),
            Step::Unknown {
                state: cancelling.clone()
            },
            "{response:?}"
        );
    }
    // A paid answer to the cancel itself is dLocal's word too.
    let paid =
        done(adapter.on_response(cancelling, answer(200, &payment("PAID", "200", "")), &cx()));
    assert_eq!(paid.status, PaymentStatus::Authorized);
}
