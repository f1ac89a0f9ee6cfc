//! The request bodies' parsing and the API's error answers (`api.rs`).

use super::*;
use crate::session::{Phase, Session};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
struct Probe {
    payment_method: ProbeCard,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ProbeCard {
    cvv: String,
    number: String,
}

#[test]
fn parse_errors_name_the_field_never_the_value() {
    let cases = [
        (
            r#"{"paymentMethod":{"cvv":737,"number":"4000000000001000"}}"#,
            "paymentMethod.cvv: wrong type",
        ),
        (
            r#"{"paymentMethod":{"cvv":"737","number":4000000000001000}}"#,
            "paymentMethod.number: wrong type",
        ),
        (
            r#"{"paymentMethod":{"cvv":"737","number":"4","4000 0000 0000 1000":1}}"#,
            "paymentMethod.[field]: unknown field",
        ),
        (
            r#"{"paymentMethod":{"cvv":"737","number":"4","colour":1}}"#,
            "paymentMethod.colour: unknown field",
        ),
        (r#"{"paymentMethod":{"cvv":"737"}}"#, "missing field number"),
        (
            r#"{"paymentMethod":["737","4000000000001000"]}"#,
            "paymentMethod: wrong type, expected an object",
        ),
        (r#"{"paymentMethod":"#, "not valid JSON"),
    ];
    for (body, expected) in cases {
        let error = parse_body::<Probe>(body.as_bytes()).unwrap_err();
        assert_eq!((error.status, error.code), (400, "invalid_request"));
        assert!(
            error.message.contains(expected),
            "{body}: {}",
            error.message
        );
        for value in ["737", "4000", "1000"] {
            assert!(!error.message.contains(value), "{body}: {}", error.message);
        }
    }
}

/// A value that is not one of an enum's names is not echoed, even one written to look
/// like the end of serde's own message.
#[test]
fn an_unknown_name_is_not_echoed_back() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Named {
        display: DisplayMode,
        #[serde(default)]
        payment_method: Option<PaymentMethod>,
    }
    for body in [
        r#"{"display":"x, expected 4000000000001000"}"#,
        r#"{"display":"iframe","payment_method":{"type":"x, expected 4000000000001000"}}"#,
    ] {
        let error = parse_body::<Named>(body.as_bytes()).unwrap_err();
        assert_eq!((error.status, error.code), (400, "invalid_request"));
        assert!(
            error.message.contains(": invalid value, expected "),
            "{}",
            error.message
        );
        assert!(!error.message.contains("4000"), "{body}: {}", error.message);
    }
}

/// A refusal names the JSON kind the API documents, never serde's Rust type (`u64`).
#[test]
fn a_wrong_type_is_named_as_json_names_it() {
    let refused = |amount: &str| {
        let body = format!(
            r#"{{"provider":"paysafe","orderId":"o-1","amount":{amount},"currency":"USD"}}"#
        );
        parse_body::<CreateRequest>(body.as_bytes())
            .unwrap_err()
            .message
    };
    assert_eq!(
        refused(r#""1099""#),
        "amount: wrong type, expected a non-negative integer"
    );
    assert_eq!(
        refused("-5"),
        "amount: invalid value, expected a non-negative integer"
    );
    assert_eq!(
        refused("[1099]"),
        "amount: wrong type, expected a non-negative integer"
    );
    let provider = parse_body::<CreateRequest>(
        br#"{"provider":5,"orderId":"o-1","amount":1099,"currency":"USD"}"#,
    )
    .unwrap_err()
    .message;
    assert_eq!(provider, "provider: wrong type, expected a string");
}

/// A body is one JSON text: bytes that are not UTF-8 anywhere in it, or anything but
/// whitespace after its value, and it is refused whole, as not JSON; a member given
/// twice at any depth is refused by its path, never read as the last one.
#[test]
fn a_body_is_one_json_text_each_member_once() {
    let not_json: [&[u8]; 8] = [
        b"{\"paymentMethod\":{\"cvv\":\"7\xff37\",\"number\":\"4\"}}",
        b"{\"paymentMethod\":{\"cvv\":737,\"number\":\"\xff\"}}",
        b"{\"paymentMethod\":{\"cvv\":\"737\",\"number\":\"4\"}} \xff",
        b"{\"paymentMethod\":{\"cvv\":\"737\",\"number\":\"4\"}\xff}",
        b"{\"paymentMethod\":{\"cvv\":\"737\",\"num\xc3",
        b"\xfe{}",
        b"{\"paymentMethod\":{\"cvv\":\"737\",\"number\":\"4\"}} {}",
        b"{\"paymentMethod\":{\"cvv\":737,\"number\":\"4\"}",
    ];
    for body in not_json {
        let refused = parse_body::<Probe>(body).unwrap_err();
        assert_eq!(
            (refused.code, refused.message.as_str()),
            ("invalid_request", "the body is not valid JSON"),
            "{body:?}"
        );
    }
    let fine = br#"{"paymentMethod":{"cvv":"737","number":"4"}}  "#;
    assert!(parse_body::<Probe>(fine).is_ok());
    let twice = [
        (
            r#"{"paymentMethod":{"cvv":"737","number":"4","cvv":"738"}}"#,
            "duplicate field paymentMethod.cvv",
        ),
        (
            r#"{"paymentMethod":{"cvv":"737","number":"4"},"paymentMethod":{}}"#,
            "duplicate field paymentMethod",
        ),
        (
            r#"{"paymentMethod":{"cvv":"737","number":"4","4000 0000":1,"4000 0000":2}}"#,
            "duplicate field paymentMethod.[field]",
        ),
    ];
    for (body, expected) in twice {
        let refused = parse_body::<Probe>(body.as_bytes()).unwrap_err();
        assert_eq!(refused.code, "invalid_request");
        assert_eq!(refused.message, expected);
    }
}

#[test]
fn the_api_bodies_read_as_the_text_reader_read_them() {
    use crate::json_path::tests::{before_text, same_for_every_change};
    use serde_json::json;
    let create = json!({
        "provider": "paysafe", "orderId": "o-1", "amount": 1099, "currency": "USD",
        "description": "Tea", "payer": {"name": "Jo", "email": "jo@example.com",
        "document": "1", "country": "US"}, "challengePreference": "no_preference",
        "returnUrl": "https://shop.example/back", "captureMode": "automatic",
        "exemption": "low_value",
        "externalAuthentication": {"version": "2.2.0", "transStatus": "Y", "eci": "05",
        "cavv": "AAAB", "xid": "x", "dsTransactionId": "d"}
    });
    let confirm = json!({
        "clientSecret": "pi_secret", "display": "iframe", "windowSize": "05",
        "checkoutOrigin": "https://shop.example", "returnUrl": "https://shop.example/r",
        "paymentMethod": {"type": "card", "number": "4000000000001000", "expiryMonth": 12,
        "expiryYear": 2040, "cvv": "123", "holderName": "Jo Doe"},
        "browser": {"acceptHeader": "text/html", "javaEnabled": false,
        "javascriptEnabled": true, "language": "en", "languages": ["en", "fr"],
        "colorDepth": 24, "screenHeight": 900, "screenWidth": 1440, "timeZone": -60,
        "userAgent": "Mozilla/5.0"}
    });
    let method = json!({"clientSecret": "pi_secret", "completion": "Y"});
    let refused = [
        same_for_every_change::<CreateRequest>(&create, |v| {
            before_text::<CreateRequest>(&v.to_string())
        }),
        same_for_every_change::<ConfirmRequest>(&confirm, |v| {
            before_text::<ConfirmRequest>(&v.to_string())
        }),
        same_for_every_change::<MethodCompletion>(&method, |v| {
            before_text::<MethodCompletion>(&v.to_string())
        }),
    ];
    // Most changes are refusals: the comparison is mostly of errors and their paths.
    assert!(refused.iter().all(|n| *n > 30), "{refused:?}");
}

#[test]
fn long_digit_runs_are_masked() {
    assert_eq!(
        safe_message(
            "invalid type: integer `4000000000001000`, expected a string at line 1 column 80"
        ),
        "invalid type: integer `[digits]`, expected a string at line 1 column 80"
    );
}

/// The page's and the merchant's views, as the cancel's conflict and the merchant's
/// payment carry them (`http::to_value`, through text), are the values `to_value`
/// built: a session of every phase, each optional member set.
#[test]
fn views_as_values_are_serde_json_to_value() {
    use crate::payment::{
        BrowserAction, CardSummary, PaymentResult, PaymentStatus, ProviderKind, ResultCode,
    };
    use crate::session::AdapterState;
    let state = || AdapterState(serde_json::json!({"step": "x"}));
    let mut result = PaymentResult::failed(PaymentStatus::Declined, ResultCode::Declined)
        .with_provider_error("05", "Do not honour");
    result.provider_payment_id = Some("pay-1".into());
    result.eci = crate::emv::Eci::new(7);
    let phases = [
        Phase::Created,
        Phase::Starting,
        Phase::Calling {
            state: state(),
            purpose: "paysafe.authorize".into(),
        },
        Phase::Unknown {
            state: state(),
            purpose: "paysafe.authorize".into(),
            lookups: 2,
            next_lookup_at_ms: 9_000,
            since_ms: 4_000,
        },
        Phase::AwaitingBrowser {
            state: state(),
            action: BrowserAction::Redirect {
                form: crate::emv::FormPost::post("https://acs.example/", []),
            },
        },
        Phase::Final { result },
    ];
    for phase in phases {
        let session = Session {
            id: "0123456789abcdef0123456789abcdef".into(),
            nonce: "n".into(),
            client_secret: "0123_secret_4567".into(),
            provider: ProviderKind::Paysafe,
            order_id: crate::order::OrderId::parse("o-1").unwrap(),
            amount: 1000,
            currency: crate::order::Currency::parse("USD").unwrap(),
            merchant: Default::default(),
            checkout_origin: "http://127.0.0.1:8080".into(),
            display: crate::payment::DisplayMode::Iframe,
            return_url: Some("https://shop.example/back".into()),
            confirm_attempts: 1,
            return_reference: None,
            card: Some(CardSummary {
                brand: crate::emv::CardBrand::Visa,
                bin: "400000".into(),
                last_four: "1000".into(),
            }),
            created_at_ms: 0,
            expires_at_ms: 1_000,
            updated_at_ms: 500,
            wake_at_ms: Some(1_000),
            version: 7,
            phase,
        };
        let merchant = MerchantView::of(&session);
        let page = PaymentView::of(&session);
        assert_eq!(
            crate::backend::http::to_value(&merchant).unwrap(),
            serde_json::to_value(&merchant).unwrap()
        );
        assert_eq!(
            crate::backend::http::to_value(&page).unwrap(),
            serde_json::to_value(&page).unwrap()
        );
    }
}
