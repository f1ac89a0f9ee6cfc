//! The sandbox's reading of a Bambora payment, continue and token request: amounts in
//! dollars, each bad field named in Bambora's error shape, 3-D Secure's and passthrough's
//! members checked, and bodies that are not JSON objects refused.

use super::*;
use serde_json::json;

const TODAY: Today = Today {
    year: 2026,
    month: 11,
};

fn parse(body: Value) -> Result<PaymentRequest, ApiError> {
    match body {
        Value::Object(map) => payment_request(&map, TODAY),
        _ => unreachable!(),
    }
}

fn fields(error: ApiError) -> Vec<String> {
    error.body.details.into_iter().map(|d| d.field).collect()
}

fn card(extra: Value) -> Value {
    let mut card = json!({"name": "A B", "number": "4000000000001000",
        "expiry_month": "12", "expiry_year": "30", "cvd": "123"});
    if let (Value::Object(card), Value::Object(extra)) = (&mut card, extra) {
        card.extend(extra);
    }
    card
}

#[test]
fn amount_in_dollars_becomes_cents() {
    let request =
        parse(json!({"amount": 15.99, "payment_method": "card", "card": card(json!({}))})).unwrap();
    assert_eq!(request.amount, 1599);
    assert!(request.complete);
    assert_eq!(request.three_ds, ThreeDsRequest::Off);
}

#[test]
fn each_bad_field_is_named() {
    let error = parse(json!({"amount": "10", "payment_method": "card",
        "card": {"name": 5, "number": "4000000000001001", "expiry_month": "13", "expiry_year": "20"}}))
        .unwrap_err();
    assert_eq!(error.status, 400);
    assert_eq!(error.body.code, 314);
    assert_eq!(
        fields(error),
        ["amount", "card.name", "card.number", "card.expiry_month"]
    );
    let expired = parse(json!({"amount": 1, "payment_method": "card",
        "card": card(json!({"expiry_month": "10", "expiry_year": "26"}))}))
    .unwrap_err();
    assert_eq!(fields(expired), ["card.expiry_year"]);
    let three_decimals =
        parse(json!({"amount": 1.005, "payment_method": "card", "card": card(json!({}))}));
    assert_eq!(fields(three_decimals.unwrap_err()), ["amount"]);
}

#[test]
fn three_ds_needs_term_url_and_a_well_typed_browser() {
    let secure = json!({"3d_secure": {"enabled": true, "version": 2,
        "browser": {"accept_header": "*/*", "java_enabled": "no", "language": "en-US",
            "screen_height": 800, "time_zone": -60, "user_agent": "UA",
            "javascript_enabled": true}}});
    let error =
        parse(json!({"amount": 1, "payment_method": "card", "card": card(secure)})).unwrap_err();
    assert_eq!(
        fields(error),
        [
            "card.3d_secure.browser.java_enabled",
            "card.3d_secure.browser.screen_width",
            "term_url"
        ]
    );
}

#[test]
fn passthrough_values_are_checked() {
    let good = json!({"3d_secure_passthrough": {"version": 2, "eci": 5,
        "cavv": "AAABAXlHEQAAAAGXAEcRAAAAAAA=",
        "ds_transaction_id": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"}});
    let request =
        parse(json!({"amount": 1, "payment_method": "card", "card": card(good)})).unwrap();
    assert!(matches!(
        request.three_ds,
        ThreeDsRequest::Passthrough(Passthrough {
            generation: Generation::Emv,
            cavv_present: true,
            ..
        })
    ));
    let bad = json!({"3d_secure": {"enabled": true, "xid": "1368023", "cavv": "short", "eci": 9}});
    let error = parse(
        json!({"amount": 1, "payment_method": "card", "card": card(bad),
        "term_url": "https://m.example/t"}),
    )
    .unwrap_err();
    assert_eq!(fields(error), ["card.3d_secure.eci", "card.3d_secure.cavv"]);
}

#[test]
fn continue_takes_exactly_one_of_pa_res_and_cres() {
    let parse = |body: Value| match body {
        Value::Object(map) => continue_request(&map),
        _ => unreachable!(),
    };
    assert_eq!(
        parse(json!({"payment_method": "credit_card", "card_response": {"cres": "abc"}})),
        Ok(CardResponse::CRes("abc".into()))
    );
    assert!(parse(json!({"payment_method": "credit_card", "card_response": {}})).is_err());
    assert!(parse(json!({"payment_method": "cash", "card_response": {"pa_res": "x"}})).is_err());
    assert!(parse(json!({"payment_method": "card", "card_response": "x"})).is_err());
}

#[test]
fn non_objects_and_broken_json_are_400() {
    assert_eq!(json_object(b"[1]").unwrap_err().status, 400);
    assert_eq!(json_object(b"{\"a\":").unwrap_err().body.code, 314);
}
