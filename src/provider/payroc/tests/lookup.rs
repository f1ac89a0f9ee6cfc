//! Reconciliation: a sale in doubt looked up in Payroc's payments list, by its order and page
//! by page.

use serde_json::{json, Value};

use super::*;

/// A sale in doubt (its answer lost), and the lookup's first call.
fn at_lookup(adapter: &PayrocAdapter) -> (State, State) {
    let (state, _) = at_sale(adapter);
    let doubt = unknown(adapter.on_response(state, Err(TransportFailure::Timeout), &cx(T0)));
    let (lookup, _) = call(adapter.reconcile(doubt.clone(), &cx(T0)));
    (doubt, lookup)
}

const NEXT: &str = "http://sandbox.test/payroc/api/v1/payments?processingTerminalId=4479001&orderId=order-25&after=E29U8OU8Q4";

#[test]
fn the_lookup_finds_the_sales_payment_and_never_another_orders() {
    let adapter = adapter();
    let (_, lookup) = at_lookup(&adapter);
    let page = list_page(
        json!([
            listed("OTHER00001", "order-24", 4999, "EUR", "ready", "A"),
            listed("AMOUNT0001", "order-25", 5000, "EUR", "ready", "A"),
            listed("CURRENCY01", "order-25", 4999, "USD", "ready", "A"),
            listed("M2MJOG6O2Y", "order-25", 4999, "EUR", "ready", "A"),
        ]),
        None,
    );
    let result = done(adapter.on_response(lookup, page, &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.provider_payment_id.as_deref(), Some("M2MJOG6O2Y"));
    // What the receipt said, as for a sale answered at once.
    assert_eq!(result.trans_status, Some(TransStatus::Y));
    assert_eq!(result.eci, Eci::new(5));
    assert!(result.liability_shift);

    // Only other orders', amounts', currencies' or terminals' payments: the sale never
    // reached Payroc, nothing was charged.
    let mut elsewhere = listed("TERMINAL01", "order-25", 4999, "EUR", "ready", "A");
    elsewhere["processingTerminalId"] = json!("9999001");
    for data in [
        json!([]),
        json!([
            listed("AMOUNT0001", "order-25", 5000, "EUR", "ready", "A"),
            listed("CURRENCY01", "order-25", 4999, "USD", "ready", "A"),
            listed("OTHER00001", "order-24", 4999, "EUR", "ready", "A"),
            elsewhere,
        ]),
    ] {
        let (_, lookup) = at_lookup(&adapter);
        let result = done(adapter.on_response(lookup, list_page(data, None), &cx(T0)));
        assert_eq!(result, answer::not_found());
        assert_eq!(result.status, PaymentStatus::Failed);
        assert_eq!(result.provider_payment_id, None);
    }

    // A decline is the truth too.
    let (_, lookup) = at_lookup(&adapter);
    let page = list_page(
        json!([listed(
            "DECLINED01",
            "order-25",
            4999,
            "EUR",
            "declined",
            "D"
        )]),
        None,
    );
    let result = done(adapter.on_response(lookup, page, &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Declined);
    assert_eq!(result.provider_payment_id.as_deref(), Some("DECLINED01"));
}

#[test]
fn the_lookup_follows_payrocs_next_link_and_no_other() {
    let adapter = adapter();
    let (_, lookup) = at_lookup(&adapter);
    let first = list_page(
        json!([listed("OTHER00001", "order-24", 4999, "EUR", "ready", "A")]),
        Some(NEXT),
    );
    let (state, request) = call(adapter.on_response(lookup, first, &cx(T0)));
    assert_eq!(request.url, NEXT);
    assert_eq!(request.purpose, "payroc.lookup");
    assert!(matches!(
        state,
        State::Calling {
            call: ApiCall::Lookup(Lookup { pages: 1, .. }),
            ..
        }
    ));
    // A 401 on the second page: a new token, and the same page again.
    let (state, _) = call(adapter.on_response(
        state,
        problem(401, "not-authorized", "expired", json!([])),
        &cx(T0),
    ));
    let (state, request) = call(adapter.on_response(state, token_answer(3600), &cx(T0)));
    assert_eq!(request.url, NEXT);
    let second = list_page(
        json!([listed("M2MJOG6O2Y", "order-25", 4999, "EUR", "ready", "A")]),
        None,
    );
    let result = done(adapter.on_response(stored(state), second, &cx(T0)));
    assert_eq!(result.provider_payment_id.as_deref(), Some("M2MJOG6O2Y"));

    // More pages than it may follow, or a next page it must not send the Bearer to, or
    // none named: it cannot tell, the payment stays in doubt.
    for next in [
        Some("https://elsewhere.example/v1/payments?after=X"),
        Some("http://sandbox.test/payroc/api/v1/payments/../../identity/authorize?x"),
        Some("http://sandbox.test/payroc/api/v1/payments?after=X Y"),
        None,
    ] {
        let (doubt, lookup) = at_lookup(&adapter);
        let mut page: Value =
            serde_json::from_str(&list_page(json!([]), next).unwrap().body).unwrap();
        page["hasMore"] = json!(true);
        let step = adapter.on_response(lookup, answer(200, &page.to_string()), &cx(T0));
        assert_eq!(unknown(step), doubt, "{next:?}");
    }
    let (doubt, _) = at_lookup(&adapter);
    let State::SaleInDoubt { sale } = doubt.clone() else {
        panic!("{doubt:?}")
    };
    let last = State::Calling {
        call: ApiCall::Lookup(Lookup {
            sale,
            next: Some(NEXT.into()),
            pages: MAX_LOOKUP_PAGES - 1,
        }),
        auth_retried: false,
    };
    let step = adapter.on_response(last, list_page(json!([]), Some(NEXT)), &cx(T0));
    assert_eq!(unknown(step), doubt);
}

#[test]
fn a_lookup_without_an_answer_to_trust_leaves_the_payment_in_doubt() {
    let adapter = adapter();
    let mut unreadable_ours = listed("M2MJOG6O2Y", "order-25", 4999, "EUR", "ready", "A");
    unreadable_ours["transactionResult"] = json!("ready");
    for lost in [
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        answer(503, ""),
        problem(400, "bad-request", "validation", json!([])),
        problem(403, "forbidden", "no access", json!([])),
        answer(404, ""),
        answer(200, "<html>"),
        answer(200, "{\"data\": 5}"),
        list_page(json!([unreadable_ours]), None),
    ] {
        let (doubt, lookup) = at_lookup(&adapter);
        assert_eq!(unknown(adapter.on_response(lookup, lost, &cx(T0))), doubt);
    }
    // Another order's payment it cannot read hides nothing.
    let mut unreadable_other = listed("OTHER00001", "order-24", 4999, "EUR", "ready", "A");
    unreadable_other["transactionResult"] = json!(null);
    let (_, lookup) = at_lookup(&adapter);
    let page = list_page(
        json!([
            unreadable_other,
            listed("M2MJOG6O2Y", "order-25", 4999, "EUR", "ready", "A")
        ]),
        None,
    );
    let result = done(adapter.on_response(lookup, page, &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Authorized);
}

#[test]
fn a_401_at_the_lookup_refreshes_the_token_once() {
    let adapter = adapter();
    let (doubt, lookup) = at_lookup(&adapter);
    let unauthorized = || problem(401, "not-authorized", "expired", json!([]));
    let (state, request) = call(adapter.on_response(lookup, unauthorized(), &cx(T0)));
    assert_eq!(request.purpose, "payroc.authorize");
    assert!(matches!(
        state,
        State::Authorizing {
            auth_retried: true,
            ..
        }
    ));
    let (state, again) = call(adapter.on_response(state, token_answer(3600), &cx(T0)));
    assert_eq!(again.purpose, "payroc.lookup");
    assert_eq!(
        unknown(adapter.on_response(state, unauthorized(), &cx(T0))),
        doubt
    );

    // No token to be had: still in doubt, never an end.
    let fresh = self::adapter();
    let (state, request) = call(fresh.reconcile(doubt.clone(), &cx(T0)));
    assert_eq!(request.purpose, "payroc.authorize");
    for failed in [answer(503, ""), unauthorized(), answer(200, "{}")] {
        assert_eq!(
            unknown(fresh.on_response(state.clone(), failed, &cx(T0))),
            doubt
        );
    }
}

#[test]
fn reconcile_looks_up_any_state_with_a_sale_and_finds_nothing_before_one() {
    let adapter = adapter();
    let (calling, _) = at_sale(&adapter);
    let (_, request) = call(adapter.reconcile(calling, &cx(T0)));
    assert_eq!(request.purpose, "payroc.lookup");
    let waiting = at_mpi(&adapter);
    assert_eq!(
        done(adapter.reconcile(waiting, &cx(T0))),
        answer::not_found()
    );
}
