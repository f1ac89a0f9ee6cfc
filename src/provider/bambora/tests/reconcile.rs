//! Reconciliation: a payment in doubt looked up by its order number in Bambora's reports.

use serde_json::{json, Value};

use super::*;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// 2026-12-02T16:00:36Z.
const NOW_MS: u64 = 1_796_227_236_000;

fn cx_at(now_ms: u64) -> Context {
    Context { now_ms, ..cx() }
}

/// A create started at `NOW_MS` whose answer was lost.
fn doubt() -> State {
    let (state, _) = call(adapter().start(&payment(), &cx_at(NOW_MS)));
    match adapter().on_response(state, Err(TransportFailure::Timeout), &cx_at(NOW_MS)) {
        Step::Unknown { state } => state,
        other => panic!("{other:?}"),
    }
}

fn record(id: u64, response: u8) -> Value {
    json!({"row_id": 1, "trn_id": id, "trn_date_time": "2026-12-02T16:00:37.000+00:00",
           "trn_type": "P", "trn_order_number": "order-25", "trn_payment_method": "CC",
           "trn_masked_card": "400000XXXXXX1000", "trn_amount": 15.99, "trn_response": response,
           "trn_card_type": "VI", "message_id": 1, "message_text": "Approved",
           "currency_abbr": "CAD", "merchant_id": 300200578})
}

fn searched(records: Value) -> Step<State> {
    let (state, _) = call(adapter().reconcile(doubt(), &cx_at(NOW_MS + 2_000)));
    adapter().on_response(state, answer(200, records), &cx())
}

#[test]
fn reconcile_searches_the_order_number_with_the_reporting_passcode() {
    let (state, request) = call(adapter().reconcile(doubt(), &cx_at(NOW_MS + 5_000)));
    assert!(matches!(state, State::Searching { .. }));
    assert_eq!(request.url, "http://sandbox.test/bambora/v1/reports");
    assert_eq!(request.purpose, "bambora.search");
    assert!(request.retry_safe, "a search moves no money");
    assert!(request
        .headers
        .contains(&("Authorization".into(), SEED_AUTH.into())));
    assert_eq!(
        body(&request),
        json!({"name": "Search",
               "start_date": wire::report_date(NOW_MS - DAY_MS),
               "end_date": wire::report_date(NOW_MS + 5_000 + DAY_MS),
               "start_row": 1, "end_row": 500,
               "criteria": [{"field": 5, "operator": "%3D", "value": "order-25"}]})
    );
    assert_eq!(wire::report_date(NOW_MS), "2026-12-02T16:00:36");

    let mut config = Config::sandbox("http://sandbox.test");
    config.reporting_passcode = Some("reporting-passcode".into());
    let (_, request) = call(BamboraAdapter::new(config).reconcile(doubt(), &cx()));
    let expected = format!(
        "Passcode {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "300200578:reporting-passcode"
        )
    );
    assert!(request
        .headers
        .contains(&("Authorization".into(), expected)));
}

#[test]
fn no_transaction_for_the_order_is_nothing_charged() {
    for empty in [json!({"records": []}), json!([])] {
        let result = done(searched(empty));
        assert_eq!(result.status, PaymentStatus::Failed);
        assert_eq!(
            result.error.unwrap().provider_code.as_deref(),
            Some("not_found")
        );
    }
    // Records that are not this order's payment are never adopted.
    let mut other_order = record(10000040, 1);
    other_order["trn_order_number"] = json!("order-250");
    let mut other_amount = record(10000041, 1);
    other_amount["trn_amount"] = json!("15.90");
    let mut other_currency = record(10000042, 1);
    other_currency["currency_abbr"] = json!("USD");
    let mut other_card = record(10000043, 1);
    other_card["trn_masked_card"] = json!("400000XXXXXX2008");
    let mut a_return = record(10000044, 1);
    a_return["trn_type"] = json!("R");
    let others =
        json!({"records": [other_order, other_amount, other_currency, other_card, a_return]});
    assert_eq!(
        done(searched(others))
            .error
            .unwrap()
            .provider_code
            .as_deref(),
        Some("not_found")
    );
}

#[test]
fn the_order_s_transaction_is_read_and_its_answer_is_the_result() {
    let mut as_text = record(10000050, 1);
    as_text["trn_amount"] = json!("15.99");
    as_text["trn_id"] = json!("10000050");
    let declined_before = record(10000049, 0);
    let (state, request) = call(searched(json!({"records": [declined_before, as_text]})));
    assert_eq!(
        request.url, "http://sandbox.test/bambora/v1/payments/10000050",
        "the approved one"
    );
    assert_eq!(request.purpose, "bambora.read");
    assert!(request.retry_safe);
    let mut payment = approved(5, "Succeeded", false);
    payment["id"] = json!("10000050");
    payment["order_number"] = json!("order-25");
    let result = done(adapter().on_response(state.clone(), answer(200, payment.clone()), &cx()));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.provider_payment_id.as_deref(), Some("10000050"));
    assert_eq!((result.eci, result.liability_shift), (Eci::new(5), true));

    // Another order's, another amount's or another id's answer is not adopted.
    for (member, value) in [
        ("order_number", json!("order-26")),
        ("amount", json!(1.0)),
        ("id", json!("10000051")),
    ] {
        let mut other = payment.clone();
        other[member] = value;
        let (_, order) = in_doubt(adapter().on_response(state.clone(), answer(200, other), &cx()));
        assert_eq!(order.order_number, "order-25", "{member}");
    }
    // The read's answer lost or refused: still in doubt.
    in_doubt(adapter().on_response(state.clone(), Err(TransportFailure::Timeout), &cx()));
    in_doubt(adapter().on_response(state, answer(404, json!({"code": 314})), &cx()));

    // Only declined transactions: the last one is read (and is the decline).
    let (_, request) = call(searched(json!([record(10000060, 0), record(10000061, 0)])));
    assert!(request.url.ends_with("/v1/payments/10000061"));
}

#[test]
fn a_search_that_cannot_tell_keeps_the_payment_in_doubt() {
    let two_approved = json!({"records": [record(10000070, 1), record(10000071, 1)]});
    in_doubt(searched(two_approved));
    in_doubt(searched(json!({"records": "none"})));
    let (state, _) = call(adapter().reconcile(doubt(), &cx()));
    for lost in [
        answer(503, json!("busy")),
        answer(
            401,
            json!({"code": 21, "category": 3, "message": "Authentication failed"}),
        ),
        Err(TransportFailure::Connection("reset".into())),
    ] {
        in_doubt(adapter().on_response(state.clone(), lost, &cx()));
    }
}

#[test]
fn a_continue_in_doubt_reports_the_challenge_that_ran() {
    let state = awaiting(redirect_2x());
    let back = returned(&[
        ("cres", &cres(&creq().acs_trans_id, "Y")),
        ("threeDSSessionData", SESSION_DATA),
    ]);
    let Step::Unknown { state } = continued(state, &back, Err(TransportFailure::Timeout)) else {
        panic!()
    };
    let (state, _) = call(adapter().reconcile(state, &cx()));
    let (state, _) =
        call(adapter().on_response(state, answer(200, json!([record(10000080, 1)])), &cx()));
    let mut payment = approved(5, "Succeeded", false);
    payment["id"] = json!(10000080);
    let result = done(adapter().on_response(state, answer(200, payment), &cx()));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.three_ds_version.as_deref(), Some("2.2.0"));
}

#[test]
fn amounts_and_dates_as_bambora_writes_them() {
    for (text, cents) in [
        ("15.99", Some(1599)),
        ("100", Some(10_000)),
        ("100.0", Some(10_000)),
        ("100.00", Some(10_000)),
        ("0.5", Some(50)),
        ("15.999", None),
        ("-1.00", None),
        ("", None),
        (".5", None),
        ("1e3", None),
    ] {
        assert_eq!(wire::cents_of(text), cents, "{text}");
    }
    assert_eq!(wire::report_date(0), "1970-01-01T00:00:00");
    assert_eq!(wire::report_date(951_782_400_000), "2000-02-29T00:00:00");
}
