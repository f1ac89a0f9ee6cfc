//! The receipt to the gateway sale: its idempotency key, an approval carrying the
//! receipt's outcome, a decline with Payroc's code, and approvals Payroc's answer does not
//! bear out (a status it cannot confirm, another amount or currency).

use super::*;

#[test]
fn the_receipt_leads_to_the_gateway_sale_with_its_idempotency_key() {
    let adapter = adapter();
    let (state, request) = at_sale(&adapter);
    assert!(matches!(
        state,
        State::Calling {
            call: ApiCall::Sale(_),
            ..
        }
    ));
    assert_eq!(request.url, "http://sandbox.test/payroc/api/v1/payments");
    assert_eq!(
        header(&request, "Idempotency-Key").map(str::to_owned),
        Some(cx(T0).idempotency_key("sale"))
    );
    assert_eq!(request.purpose, "payroc.sale");
    assert!(request.retry_safe, "Payroc deduplicates key + body");
    assert_eq!(
        body(&request),
        json!({"channel": "web", "processingTerminalId": "4479001",
               "order": {"orderId": "order-25", "amount": 4999, "currency": "EUR", "description": "Two tickets"},
               "paymentMethod": {"type": "singleUseToken", "token": TOKEN},
               "threeDSecure": {"serviceProvider": "gateway", "mpiReference": MPI_REF},
               "autoCapture": true})
    );
}

#[test]
fn an_approved_sale_is_authorized_with_the_receipts_outcome() {
    let adapter = adapter();
    let (state, _) = at_sale(&adapter);
    let result = done(adapter.on_response(
        state,
        payment_answer("ready", "A", "APPROVAL K3J9QZ"),
        &cx(T0),
    ));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.provider_payment_id.as_deref(), Some("M2MJOG6O2Y"));
    assert_eq!(result.trans_status, Some(TransStatus::Y));
    assert_eq!(result.eci, Eci::new(5));
    assert!(result.liability_shift);
    assert_eq!(result.error, None);

    let (state, _) = at_sale(&adapter);
    let result =
        done(adapter.on_response(state, payment_answer("complete", "A", "APPROVAL"), &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Authorized);
}

#[test]
fn a_declined_sale_carries_payrocs_code_and_message() {
    let adapter = adapter();
    let (state, _) = at_sale(&adapter);
    let result =
        done(adapter.on_response(state, payment_answer("declined", "D", "DECLINED"), &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Declined);
    assert!(!result.liability_shift);
    assert_eq!(result.provider_payment_id.as_deref(), Some("M2MJOG6O2Y"));
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::Declined);
    assert_eq!(error.provider_code.as_deref(), Some("D"));
    assert_eq!(error.provider_message.as_deref(), Some("DECLINED"));
}

#[test]
fn an_unconfirmable_transaction_status_is_an_error_not_an_approval() {
    let adapter = adapter();
    let (state, _) = at_sale(&adapter);
    let result =
        done(adapter.on_response(state, payment_answer("pending", "A", "PENDING"), &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Error);
    assert_eq!(result.error.unwrap().code, ResultCode::ProviderBadResponse);
}

/// The sale's answer, approved, with `transactionResult` changed by `edit`.
fn approved_with(edit: impl FnOnce(&mut Value)) -> Result<HttpResponse, TransportFailure> {
    let mut payment: Value =
        serde_json::from_str(&payment_answer("ready", "A", "APPROVAL").unwrap().body).unwrap();
    edit(&mut payment["transactionResult"]);
    answer(201, &payment.to_string())
}

#[test]
fn an_approval_of_another_amount_or_currency_is_an_error_not_an_approval() {
    let adapter = adapter();
    let partial = |result: &mut Value| result["authorizedAmount"] = json!(1000);
    let other_currency = |result: &mut Value| result["currency"] = json!("USD");
    let negative = |result: &mut Value| result["authorizedAmount"] = json!(-4999);
    let edits: [&dyn Fn(&mut Value); 3] = [&partial, &other_currency, &negative];
    for edit in edits {
        let (state, _) = at_sale(&adapter);
        let result = done(adapter.on_response(state, approved_with(edit), &cx(T0)));
        assert_eq!(result.status, PaymentStatus::Error);
        // The payment id stays: the merchant can look the charge up and reverse it.
        assert_eq!(result.provider_payment_id.as_deref(), Some("M2MJOG6O2Y"));
        let error = result.error.unwrap();
        assert_eq!(error.code, ResultCode::ProviderBadResponse);
        assert_eq!(error.provider_code.as_deref(), Some("ready/A"));
    }
    // An answer naming another order, amount, currency or terminal: an error too, whatever
    // its result, with Payroc's payment id.
    let edits: [(&str, Value); 4] = [
        ("/order/orderId", json!("another-order")),
        ("/order/amount", json!(1)),
        ("/order/currency", json!("USD")),
        ("/processingTerminalId", json!("9999001")),
    ];
    for (pointer, value) in edits {
        let (state, _) = at_sale(&adapter);
        let mut payment: Value =
            serde_json::from_str(&payment_answer("ready", "A", "APPROVAL").unwrap().body).unwrap();
        *payment.pointer_mut(pointer).expect(pointer) = value;
        let result = done(adapter.on_response(state, answer(201, &payment.to_string()), &cx(T0)));
        assert_eq!(result.status, PaymentStatus::Error, "{pointer}");
        assert_eq!(result.provider_payment_id.as_deref(), Some("M2MJOG6O2Y"));
        let error = result.error.unwrap();
        assert_eq!(error.code, ResultCode::ProviderBadResponse);
        assert_eq!(error.provider_code.as_deref(), Some("another_order"));
    }
    // What the result leaves out is read by its order; a currency's case does not count.
    let silent = |result: &mut Value| {
        let result = result.as_object_mut().unwrap();
        result.remove("authorizedAmount");
        result.remove("currency");
    };
    let lower = |result: &mut Value| result["currency"] = json!("eur");
    let edits: [&dyn Fn(&mut Value); 2] = [&silent, &lower];
    for edit in edits {
        let (state, _) = at_sale(&adapter);
        let result = done(adapter.on_response(state, approved_with(edit), &cx(T0)));
        assert_eq!(result.status, PaymentStatus::Authorized);
    }
}
