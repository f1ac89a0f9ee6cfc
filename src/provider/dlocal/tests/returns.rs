//! The browser's return from dLocal's page (a signed callback, always answered by a read of the
//! payment), forged callbacks, and a payment in doubt looked up by its order.

use super::*;
use crate::payment::PaymentStatus;

fn callback(status: &str, payment_id: &str, signed_status: &str) -> BrowserReturn {
    let date = "2024-05-01T10:00:00.000Z";
    let signature = independent_hmac(&format!(
        "{LOGIN}{date}{{status:{signed_status},paymentId:{payment_id}}}"
    ));
    BrowserReturn {
        fields: vec![
            ("paymentId".into(), payment_id.into()),
            ("status".into(), status.into()),
            ("date".into(), date.into()),
            ("signature".into(), signature),
        ],
    }
}

#[test]
fn a_signed_callback_rereads_the_payment_and_ignores_its_status() {
    let back = callback("APPROVED", "D-4-abc", "APPROVED");
    assert_eq!(
        adapter().verify_browser_return(&authenticating(), &back, &cx()),
        Ok(())
    );
    let Ok(Step::Call { state, request }) =
        adapter().on_browser_return(authenticating(), &back, &cx())
    else {
        panic!("expected the payment to be re-read");
    };
    assert_eq!(request.method, HttpMethod::Get);
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
    assert!(request.retry_safe);
    assert_eq!(request.body, None);
    assert_eq!(
        header(&request, "Authorization"),
        format!(
            "V2-HMAC-SHA256, Signature: {}",
            independent_hmac(&format!("{LOGIN}2018-07-12T13:46:28.629Z"))
        )
    );
    // The callback said APPROVED; dLocal says REJECTED: dLocal wins.
    let result = done(adapter().on_response(
        state.clone(),
        answer(200, &payment("REJECTED", "320", "")),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Failed);
    // Still pending: back to dLocal's page.
    let step = adapter().on_response(state, answer(200, &payment("PENDING", "101", "")), &cx());
    assert_eq!(
        step,
        Step::Browser {
            state: authenticating(),
            action: redirect("http://127.0.0.1:8081/dlocal/three-ds/D-4-abc"),
        }
    );
}

#[test]
fn a_read_naming_a_foreign_page_never_ends_a_payment_whose_payer_was_sent() {
    let back = callback("PAID", "D-4-abc", "PAID");
    let Ok(Step::Call { state, .. }) = adapter().on_browser_return(authenticating(), &back, &cx())
    else {
        panic!("expected the payment to be re-read");
    };
    let elsewhere = payment(
        "PENDING",
        "101",
        r#","three_dsecure":{"redirect_url":"http://evil.example/three-ds"}"#,
    );
    // Not sent there, but the payer may still be on dLocal's own page.
    assert_eq!(
        adapter().on_response(state, answer(200, &elsewhere), &cx()),
        in_doubt(Some("D-4-abc"), Some(PAGE))
    );
}

#[test]
fn a_confirming_read_without_an_answer_leaves_the_payment_in_doubt() {
    let back = callback("PAID", "D-4-abc", "PAID");
    let Ok(Step::Call { state, .. }) = adapter().on_browser_return(authenticating(), &back, &cx())
    else {
        panic!("expected the payment to be re-read");
    };
    // dLocal may have charged: a read that gets no answer dLocal can be believed on ends
    // nothing, and no session expiry can end it either: the payment is looked up (and
    // the notification dLocal repeats finds it too).
    for unanswered in [
        answer(503, r#"{"error":"sandbox fault injected"}"#),
        answer(500, r#"{"code":7000}"#),
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        // A refusal of the read is no word on the payment.
        answer(404, r#"{"code":4000,"message":"Payment not found"}"#),
        answer(403, r#"{"code":3001,"message":"Invalid credentials"}"#),
        answer(
            200,
            &payment("PAID", "200", "").replace("D-4-abc", "D-4-zzz"),
        ),
    ] {
        assert_eq!(
            adapter().on_response(state.clone(), unanswered.clone(), &cx()),
            in_doubt(Some("D-4-abc"), Some(PAGE)),
            "{unanswered:?}"
        );
    }
}

#[test]
fn reconcile_looks_a_lost_create_up_by_its_order() {
    let adapter = adapter();
    let Step::Call { state, request } = adapter.reconcile(creating(), &cx()) else {
        panic!("expected a lookup");
    };
    assert_eq!(state, State::InDoubt(doubt_by_order()));
    assert_eq!(request.method, HttpMethod::Get);
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/orders/order-1");
    assert!(request.retry_safe);
    assert_eq!(request.body, None);
    assert_eq!(
        header(&request, "Authorization"),
        format!(
            "V2-HMAC-SHA256, Signature: {}",
            independent_hmac(&format!("{LOGIN}2018-07-12T13:46:28.629Z"))
        )
    );

    // dLocal has no payment for the order: the create never reached it.
    let not_found = done(adapter.on_response(
        state.clone(),
        answer(404, r#"{"code":4000,"message":"Payment not found"}"#),
        &cx(),
    ));
    assert_eq!(not_found, answer::not_found());

    // It has one: read it whole, by its id.
    let order_object = r#"{"order_id":"order-1","payment_id":"D-4-abc","currency":"BRL",
        "amount":120.00,"status":"PAID","status_code":"200","status_detail":"Paid"}"#;
    let Step::Call {
        state: next,
        request,
    } = adapter.on_response(state.clone(), answer(200, order_object), &cx())
    else {
        panic!("expected the payment to be read");
    };
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
    assert_eq!(next, in_doubt_state(Some("D-4-abc"), None));

    // No answer, a 404 not in dLocal's shape, a refusal, another order's object: still
    // in doubt, looked up again later.
    for response in [
        Err(TransportFailure::Timeout),
        answer(503, r#"{"error":"sandbox fault injected"}"#),
        answer(404, "<html>not found</html>"),
        answer(403, r#"{"code":3001,"message":"Invalid signature"}"#),
        answer(200, &order_object.replace("order-1", "order-2")),
        answer(200, "[]"),
    ] {
        assert_eq!(
            adapter.on_response(state.clone(), response.clone(), &cx()),
            in_doubt(None, None),
            "{response:?}"
        );
    }
}

#[test]
fn a_looked_up_payment_ends_the_doubt_only_with_dlocals_final_word() {
    let adapter = adapter();
    let sent = in_doubt_state(Some("D-4-abc"), Some(PAGE));
    let never_sent = in_doubt_state(Some("D-4-abc"), None);
    let Step::Call { request, .. } = adapter.reconcile(sent.clone(), &cx()) else {
        panic!("expected a lookup");
    };
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");

    let paid = done(adapter.on_response(
        sent.clone(),
        answer(
            200,
            &payment("PAID", "200", r#","three_dsecure":{"eci":"05"}"#),
        ),
        &cx(),
    ));
    assert_eq!(paid.status, PaymentStatus::Authorized);
    assert_eq!(paid.provider_payment_id.as_deref(), Some("D-4-abc"));
    assert_eq!(paid.eci, Eci::parse("05").ok());
    let declined = done(adapter.on_response(
        never_sent.clone(),
        answer(200, &payment("REJECTED", "301", "")),
        &cx(),
    ));
    assert_eq!(declined.status, PaymentStatus::Declined);

    // Never adopted: another payment, order, amount or currency.
    for foreign in [
        payment("PAID", "200", "").replace("D-4-abc", "D-4-zzz"),
        payment("PAID", "200", "").replace("order-1", "order-2"),
        payment("PAID", "200", "").replace(r#""amount":120"#, r#""amount":120.01"#),
        payment("PAID", "200", "").replace("BRL", "USD"),
        payment("PAID", "200", "").replace(r#""amount":120,"#, ""),
    ] {
        assert_eq!(
            adapter.on_response(sent.clone(), answer(200, &foreign), &cx()),
            Step::Unknown {
                state: sent.clone()
            },
            "{foreign}"
        );
    }

    // Pending at dLocal's page: a payer who was sent there may still finish it, so the
    // payment stays in doubt; one who never was goes there now.
    let pending = payment(
        "PENDING",
        "101",
        &format!(r#","three_dsecure":{{"redirect_url":"{PAGE}"}}"#),
    );
    assert_eq!(
        adapter.on_response(sent.clone(), answer(200, &pending), &cx()),
        Step::Unknown {
            state: sent.clone()
        }
    );
    assert_eq!(
        adapter.on_response(never_sent.clone(), answer(200, &pending), &cx()),
        Step::Browser {
            state: authenticating(),
            action: redirect(PAGE),
        }
    );
    let elsewhere = pending.replace(PAGE, "http://evil.example/three-ds");
    assert_eq!(
        adapter.on_response(never_sent.clone(), answer(200, &elsewhere), &cx()),
        Step::Unknown { state: never_sent }
    );

    // A lookup that gets no answer, or a refusal: looked up again later.
    for response in [
        Err(TransportFailure::Connection("reset".into())),
        answer(500, r#"{"code":7000}"#),
        answer(404, r#"{"code":4000,"message":"Payment not found"}"#),
    ] {
        assert_eq!(
            adapter.on_response(sent.clone(), response, &cx()),
            Step::Unknown {
                state: sent.clone()
            }
        );
    }
}

#[test]
fn forged_callbacks_change_nothing() {
    let mut bad_signature = callback("APPROVED", "D-4-abc", "APPROVED");
    bad_signature.fields[3].1 = "0".repeat(64);
    let mut duplicated = callback("APPROVED", "D-4-abc", "APPROVED");
    duplicated
        .fields
        .push(("paymentId".into(), "D-4-abc".into()));
    let cases = [
        (bad_signature, "bad_signature"),
        // Signed for REJECTED, sent as APPROVED.
        (callback("APPROVED", "D-4-abc", "REJECTED"), "bad_signature"),
        // Validly signed by dLocal, but for another payment (replayed from elsewhere).
        (
            callback("APPROVED", "D-4-other", "APPROVED"),
            "foreign_payment",
        ),
        (duplicated, "malformed_callback"),
        (BrowserReturn::default(), "malformed_callback"),
    ];
    for (back, code) in cases {
        assert_eq!(
            adapter()
                .verify_browser_return(&authenticating(), &back, &cx())
                .map_err(|e| e.code),
            Err(code)
        );
        assert_eq!(
            adapter()
                .on_browser_return(authenticating(), &back, &cx())
                .map_err(|e| e.code),
            Err(code)
        );
    }
    // A session still creating its payment awaits no browser.
    let back = callback("APPROVED", "D-4-abc", "APPROVED");
    assert_eq!(
        adapter()
            .verify_browser_return(&creating(), &back, &cx())
            .map_err(|e| e.code),
        Err("not_awaiting_browser")
    );
}
