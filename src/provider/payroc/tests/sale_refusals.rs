//! Receipts Payroc refuses at the sale (a `mpiReference` not this payment's): the payment goes back
//! to its MPI step, a bounded number of times, and each send of one sale attempt repeats its key.

use crate::payment::BrowserAction;
use serde_json::json;

use super::*;

fn receipt_with_reference(reference: &str) -> BrowserReturn {
    receipt(&[
        ("result", "A"),
        ("status", "Y"),
        ("eci", "05"),
        ("mpiReference", reference),
        ("orderId", "order-25"),
    ])
}

/// The sandbox's answer to a sale whose mpiReference is not this payment's.
fn reference_refused(message: &str) -> Result<HttpResponse, TransportFailure> {
    problem(
        400,
        "bad-request",
        "One or more validation errors occurred, see error section for more info",
        json!([{"parameter": "threeDSecure.mpiReference", "detail": "Invalid value",
                "message": message}]),
    )
}

fn mpi_action_of(adapter: &PayrocAdapter, state: &State) -> BrowserAction {
    browser(adapter.on_response(state.clone(), Err(TransportFailure::Timeout), &cx(T0))).1
}

#[test]
fn a_refused_reference_goes_back_to_the_same_mpi_step_and_the_real_receipt_still_pays() {
    let adapter = adapter();
    let waiting = at_mpi(&adapter);
    let mpi_step = mpi_action_of(&adapter, &waiting);

    let forged = receipt_with_reference("forgedReference123");
    let (state, forged_sale) = call(accepted(adapter.on_browser_return(
        waiting,
        &forged,
        &cx(T0),
    )));
    assert_eq!(
        body(&forged_sale)["threeDSecure"]["mpiReference"],
        "forgedReference123"
    );
    let (state, action) = refused(adapter.on_response(
        state,
        reference_refused("The mpiReference belongs to another order, amount or payment method"),
        &cx(T0),
    ));
    assert_eq!(
        action, mpi_step,
        "the same MPI step, for the cardholder still there"
    );
    let State::AwaitingReceipt { refused, .. } = &state else {
        panic!("waiting for the receipt again: {state:?}");
    };
    assert_eq!(refused, &["forgedReference123".to_owned()]);

    // The refused receipt again: refused before any call, nothing moves.
    assert_eq!(
        adapter.verify_browser_return(&state, &forged, &cx(T0)),
        Err(ReceiptError::Refused.refused())
    );
    assert_eq!(ReceiptError::Refused.code(), "receipt_refused");
    assert_eq!(
        adapter.on_browser_return(state.clone(), &forged, &cx(T0)),
        Err(ReceiptError::Refused.refused())
    );

    // The real receipt: the sale, under the second attempt's key, and the approval.
    assert_eq!(
        adapter.verify_browser_return(&state, &good_receipt(), &cx(T0)),
        Ok(())
    );
    let (state, sale) = call(accepted(adapter.on_browser_return(
        state,
        &good_receipt(),
        &cx(T0),
    )));
    assert_eq!(body(&sale)["threeDSecure"]["mpiReference"], MPI_REF);
    assert_eq!(body(&sale)["paymentMethod"]["token"], TOKEN);
    assert_eq!(
        header(&sale, "Idempotency-Key").map(str::to_owned),
        Some(cx(T0).idempotency_key("sale-2"))
    );
    assert_ne!(
        header(&sale, "Idempotency-Key"),
        header(&forged_sale, "Idempotency-Key"),
        "Payroc would refuse a key reused with another body"
    );
    let result =
        done(adapter.on_response(state, payment_answer("ready", "A", "APPROVAL"), &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.trans_status, Some(TransStatus::Y));
}

#[test]
fn each_send_of_one_sale_attempt_repeats_its_key_and_body() {
    let adapter = adapter();
    let waiting = at_mpi(&adapter);
    let (state, _) = call(accepted(adapter.on_browser_return(
        waiting,
        &receipt_with_reference("forgedReference123"),
        &cx(T0),
    )));
    let (waiting, _) = refused(adapter.on_response(state, reference_refused("unknown"), &cx(T0)));
    let (state, sale) = call(accepted(adapter.on_browser_return(
        waiting.clone(),
        &good_receipt(),
        &cx(T0),
    )));
    // Another process building the same attempt from the stored state builds the same
    // request (the host's retries repeat it as it is).
    let other = self::adapter();
    let (authorizing, _) = call(accepted(other.on_browser_return(
        stored(waiting),
        &good_receipt(),
        &cx(T0),
    )));
    let (_, again) = call(other.on_response(authorizing, token_answer(3600), &cx(T0)));
    assert_eq!(again.body, sale.body);
    assert_eq!(
        header(&again, "Idempotency-Key"),
        header(&sale, "Idempotency-Key")
    );
    // Its answer is lost: the payment is in doubt, and the lookup finds Payroc's payment.
    let doubt =
        unknown(adapter.on_response(stored(state), Err(TransportFailure::Timeout), &cx(T0)));
    let (state, _) = call(adapter.reconcile(doubt, &cx(T0)));
    let page = list_page(
        json!([listed("M2MJOG6O2Y", "order-25", 4999, "EUR", "ready", "A")]),
        None,
    );
    let result = done(adapter.on_response(state, page, &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Authorized);
}

#[test]
fn refused_references_are_bounded_and_the_last_ends_the_payment() {
    let adapter = adapter();
    let mut state = at_mpi(&adapter);
    let mut keys = Vec::new();
    for n in 1..=MAX_REFUSED_RECEIPTS {
        let forged = receipt_with_reference(&format!("forged{n}"));
        let (calling, sale) = call(accepted(adapter.on_browser_return(state, &forged, &cx(T0))));
        keys.push(header(&sale, "Idempotency-Key").unwrap().to_owned());
        let step = adapter.on_response(calling, reference_refused("unknown"), &cx(T0));
        if n < MAX_REFUSED_RECEIPTS {
            state = refused(step).0;
            continue;
        }
        let result = done(step);
        assert_eq!(result.status, PaymentStatus::Failed);
        let error = result.error.unwrap();
        assert_eq!(error.code, ResultCode::ProviderRejected);
        assert!(error
            .provider_message
            .unwrap_or_default()
            .contains("threeDSecure.mpiReference"));
        break;
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), MAX_REFUSED_RECEIPTS, "one key per attempt");
}

#[test]
fn only_a_refusal_of_the_reference_sends_the_payment_back_to_waiting() {
    let adapter = adapter();
    // Another parameter, another status, another kind of problem: the payment ends.
    for answer in [
        problem(
            400,
            "bad-request",
            "validation",
            json!([{"parameter": "paymentMethod.token", "message": "The single-use token is not known"}]),
        ),
        problem(
            403,
            "forbidden",
            "not allowed",
            json!([{"parameter": "threeDSecure.mpiReference", "message": "odd"}]),
        ),
        answer(400, "threeDSecure.mpiReference"),
    ] {
        let (state, _) = at_sale(&adapter);
        let result = done(adapter.on_response(state, answer, &cx(T0)));
        assert_eq!(result.status, PaymentStatus::Failed);
    }
    // A thirdParty sale has no receipt to wait for again.
    let mut start = payment();
    start.method = PaymentMethod::Token {
        token: TOKEN.into(),
        bin: None,
    };
    start.external_authentication = Some(external(TransStatus::Y, 5));
    let (state, _) = call(adapter.start(&start, &cx(T0)));
    let result = done(adapter.on_response(state, reference_refused("odd"), &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Failed);
}

#[test]
fn states_stored_before_refusals_were_remembered_still_read() {
    let adapter = adapter();
    let waiting = at_mpi(&adapter);
    let mut stored = serde_json::to_value(&waiting).unwrap();
    assert!(
        stored.get("refused").is_none(),
        "nothing refused, nothing stored"
    );
    stored.as_object_mut().unwrap().remove("refused");
    let read: State = serde_json::from_value(stored).unwrap();
    assert_eq!(read, waiting);

    // A sale stored without the way back ends on a refused reference, as it used to.
    let (state, sale) = at_sale(&adapter);
    assert_eq!(
        header(&sale, "Idempotency-Key").map(str::to_owned),
        Some(cx(T0).idempotency_key("sale"))
    );
    let mut stored = serde_json::to_value(&state).unwrap();
    stored["call"]["evidence"]
        .as_object_mut()
        .unwrap()
        .remove("wait");
    let old: State = serde_json::from_value(stored).unwrap();
    let result = done(adapter.on_response(old, reference_refused("unknown"), &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Failed);

    // A call stored with the `resent` flag of earlier versions reads as the same call.
    let (state, _) = at_sale(&adapter);
    let mut stored = serde_json::to_value(&state).unwrap();
    stored["resent"] = json!(true);
    assert_eq!(serde_json::from_value::<State>(stored).unwrap(), state);
}
