//! Capture, void and refund fed with canned dLocal answers: request shapes (URL, method,
//! headers, body, signature), each answer → step, a lost answer → `Unknown`, lookups.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::*;
use crate::order::{Currency, OrderId};
use crate::provider::{Adapter, Context, TransportFailure};

const LOGIN: &str = "sak223k2wdksdl2";
const SECRET: &str = "sandbox-dlocal-secret";
/// 2018-07-12T13:46:28.629Z
const NOW_MS: u64 = 1_531_403_188_629;
const REFERENCE: &str = "0123456789abcdef0123456789abcdef";
const BASE: &str = "http://127.0.0.1:8081/dlocal";

fn adapter() -> DlocalAdapter {
    DlocalAdapter::new(super::super::Config::sandbox("http://127.0.0.1:8081"))
}

fn cx() -> Context {
    Context {
        now_ms: NOW_MS,
        session_id: "fedcba9876543210fedcba9876543210".into(),
        public_url: "https://shop.example".into(),
    }
}

fn op(kind: OperationKind, amount: u64) -> Operation {
    Operation {
        kind,
        amount,
        currency: Currency::parse("BRL").unwrap(),
        order_id: OrderId::parse("order-1").unwrap(),
        authorized_amount: 12_000,
        capture_mode: CaptureMode::Manual,
        provider_payment_id: "D-4-auth".into(),
        capture_id: None,
        reference: REFERENCE.into(),
    }
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> &'a str {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name}"))
}

fn signature_of(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{LOGIN}2018-07-12T13:46:28.629Z{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("V2-HMAC-SHA256, Signature: {hex}")
}

fn first_call(op: &Operation) -> (OperationCall, HttpRequest) {
    match adapter().operation(op, &cx()) {
        Ok(OperationStep::Call { call, request }) => (call, request),
        other => panic!("expected a call, got {other:?}"),
    }
}

fn answer(status: u16, body: &str) -> OperationAnswer {
    Ok(HttpResponse {
        status,
        headers: vec![],
        body: body.into(),
    })
}

fn send(op: &Operation, response: OperationAnswer) -> OperationStep {
    adapter().on_operation_response(op, OperationCall::Send, response, &cx())
}

fn lookup(op: &Operation, response: OperationAnswer) -> OperationStep {
    adapter().on_operation_response(op, OperationCall::Lookup, response, &cx())
}

fn refused_with(code: OperationErrorCode, provider_code: &str) -> OperationStep {
    OperationStep::Done(OperationResult::Refused(OperationError {
        code,
        provider_code: Some(provider_code.into()),
        provider_message: None,
    }))
}

/// The step with the provider message dropped, to compare codes.
fn codes(step: OperationStep) -> OperationStep {
    match step {
        OperationStep::Done(OperationResult::Refused(mut error)) => {
            error.provider_message = None;
            OperationStep::Done(OperationResult::Refused(error))
        }
        step => step,
    }
}

fn dlocal_error(code: u16, message: &str) -> String {
    format!(r#"{{"code":{code},"message":"{message}"}}"#)
}

fn assert_signed_and_keyed(request: &HttpRequest, body: &str) {
    assert_eq!(header(request, "Authorization"), signature_of(body));
    assert_eq!(header(request, "X-Date"), "2018-07-12T13:46:28.629Z");
    assert_eq!(header(request, "X-Login"), LOGIN);
    assert_eq!(header(request, "X-Version"), "2.1");
    assert_eq!(header(request, "X-Idempotency-Key"), REFERENCE);
    assert!(
        request.retry_safe,
        "the idempotency key makes a resend harmless"
    );
}

#[test]
fn a_capture_posts_the_authorization_amount_and_reference() {
    let (call, request) = first_call(&op(OperationKind::Capture, 7_050));
    assert_eq!(call, OperationCall::Send);
    assert_eq!(request.method, HttpMethod::Post);
    assert_eq!(request.url, format!("{BASE}/payments"));
    let body = request.body.clone().unwrap();
    assert_signed_and_keyed(&request, &body);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"authorization_id": "D-4-auth", "amount": 70.5,
            "currency": "BRL", "order_id": REFERENCE})
    );
}

#[test]
fn a_void_cancels_the_authorization_with_an_empty_signed_body() {
    let (_, request) = first_call(&op(OperationKind::Void, 12_000));
    assert_eq!(request.method, HttpMethod::Post);
    assert_eq!(request.url, format!("{BASE}/payments/D-4-auth/cancel"));
    assert_eq!(request.body, None);
    assert_signed_and_keyed(&request, "");
}

#[test]
fn a_refund_names_the_capture_or_the_payment_and_the_reference() {
    let (_, request) = first_call(&op(OperationKind::Refund, 2_500));
    assert_eq!(request.url, format!("{BASE}/refunds"));
    let body = request.body.clone().unwrap();
    assert_signed_and_keyed(&request, &body);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"payment_id": "D-4-auth", "amount": 25, "currency": "BRL",
            "notification_url": "https://shop.example/v1/webhooks/dlocal",
            "order_refund_id": REFERENCE})
    );
    let of_capture = Operation {
        capture_id: Some("T-4-cap".into()),
        ..op(OperationKind::Refund, 2_500)
    };
    let (_, request) = first_call(&of_capture);
    let json: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(json["payment_id"], "T-4-cap");
}

#[test]
fn what_dlocal_cannot_do_is_refused_before_any_call() {
    let automatic = Operation {
        capture_mode: CaptureMode::Automatic,
        ..op(OperationKind::Capture, 12_000)
    };
    let error = adapter().operation(&automatic, &cx()).unwrap_err();
    assert_eq!(error.code, OperationErrorCode::AlreadyCaptured);
    let void_of_sale = Operation {
        kind: OperationKind::Void,
        ..automatic
    };
    let error = adapter().operation(&void_of_sale, &cx()).unwrap_err();
    assert_eq!(error.code, OperationErrorCode::AlreadyCaptured);
    let partial_void = op(OperationKind::Void, 5_000);
    let error = adapter().operation(&partial_void, &cx()).unwrap_err();
    assert_eq!(error.code, OperationErrorCode::Unsupported);
    // A refund of an automatic capture goes ahead.
    let refund = Operation {
        capture_mode: CaptureMode::Automatic,
        ..op(OperationKind::Refund, 100)
    };
    assert!(adapter().operation(&refund, &cx()).is_ok());
}

#[test]
fn capture_answers() {
    let capture = op(OperationKind::Capture, 7_050);
    let paid = r#"{"id":"T-4-cap","authorization_id":"D-4-auth","amount":70.5,"currency":"BRL",
        "status":"PAID","status_code":"200","order_id":"0123456789abcdef0123456789abcdef"}"#;
    assert_eq!(
        send(&capture, answer(200, paid)),
        OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id: "T-4-cap".into(),
            amount: 7_050
        })
    );
    // A capture of another authorization is no answer to this one.
    let foreign = paid.replace("D-4-auth", "D-4-other");
    assert_eq!(
        send(&capture, answer(200, &foreign)),
        OperationStep::Unknown
    );
    assert_eq!(
        send(&capture, answer(200, "<html>")),
        OperationStep::Unknown
    );
    let rejected = r#"{"id":"T-4-cap","authorization_id":"D-4-auth","status":"REJECTED",
        "status_code":"301","status_detail":"The payment was rejected by the bank."}"#;
    assert_eq!(
        codes(send(&capture, answer(200, rejected))),
        refused_with(OperationErrorCode::ProviderRejected, "301")
    );
}

#[test]
fn refusals_map_to_stable_codes_with_dlocals_words() {
    let cases = [
        (
            OperationKind::Capture,
            5007,
            "Amount exceeded",
            OperationErrorCode::AmountTooLarge,
        ),
        (
            OperationKind::Refund,
            5007,
            "Amount exceeded",
            OperationErrorCode::AmountTooLarge,
        ),
        (
            OperationKind::Capture,
            5002,
            "Invalid status: the payment is EXPIRED",
            OperationErrorCode::AuthorizationExpired,
        ),
        (
            OperationKind::Capture,
            5002,
            "Invalid status: the payment is PAID",
            OperationErrorCode::AlreadyCaptured,
        ),
        (
            OperationKind::Void,
            5002,
            "Invalid status: the payment is PAID",
            OperationErrorCode::AlreadyCaptured,
        ),
        (
            OperationKind::Capture,
            5002,
            "Invalid status: the payment is CANCELLED",
            OperationErrorCode::AlreadyVoided,
        ),
        (
            OperationKind::Refund,
            5002,
            "Invalid status: the payment is AUTHORIZED",
            OperationErrorCode::NotCaptured,
        ),
        (
            OperationKind::Refund,
            5002,
            "Invalid transaction status",
            OperationErrorCode::ProviderRejected,
        ),
        (
            OperationKind::Refund,
            4000,
            "Payment not found",
            OperationErrorCode::ProviderRejected,
        ),
        (
            OperationKind::Void,
            3001,
            "Invalid credentials",
            OperationErrorCode::ProviderRejected,
        ),
    ];
    for (kind, code, message, expected) in cases {
        let amount = if kind == OperationKind::Void {
            12_000
        } else {
            100
        };
        let step = send(&op(kind, amount), answer(400, &dlocal_error(code, message)));
        assert_eq!(
            step,
            OperationStep::Done(OperationResult::Refused(OperationError {
                code: expected,
                provider_code: Some(code.to_string()),
                provider_message: Some(message.into()),
            })),
            "{kind:?} {code} {message}"
        );
    }
}

#[test]
fn a_lost_answer_is_unknown_never_a_refusal() {
    for kind in [
        OperationKind::Capture,
        OperationKind::Void,
        OperationKind::Refund,
    ] {
        let op = op(kind, 12_000);
        assert_eq!(
            send(&op, Err(TransportFailure::Timeout)),
            OperationStep::Unknown
        );
        assert_eq!(
            send(&op, Err(TransportFailure::Connection("reset".into()))),
            OperationStep::Unknown
        );
        assert_eq!(
            send(&op, answer(500, &dlocal_error(7000, "Internal error"))),
            OperationStep::Unknown
        );
        // Rate limited (dLocal's 429, code 6000): not taken this time. A refund's lookup
        // is the same POST again, so this may answer a resend after a refund was made.
        assert_eq!(
            send(&op, answer(429, &dlocal_error(6000, "Too many requests"))),
            OperationStep::Unknown
        );
        assert_eq!(
            lookup(&op, Err(TransportFailure::Timeout)),
            OperationStep::Unknown
        );
    }
}

#[test]
fn void_answers() {
    let void = op(OperationKind::Void, 12_000);
    let cancelled = r#"{"id":"D-4-auth","amount":120,"currency":"BRL","status":"CANCELLED",
        "status_code":"400","order_id":"order-1"}"#;
    let succeeded = OperationStep::Done(OperationResult::Succeeded {
        provider_operation_id: "D-4-auth".into(),
        amount: 12_000,
    });
    assert_eq!(send(&void, answer(200, cancelled)), succeeded);
    let still_open = cancelled.replace("CANCELLED", "AUTHORIZED");
    assert_eq!(
        send(&void, answer(200, &still_open)),
        OperationStep::Unknown
    );
}

#[test]
fn refund_answers() {
    let refund = op(OperationKind::Refund, 2_500);
    let body = |status: &str, code: u16| {
        format!(
            r#"{{"id":"REF-1","payment_id":"D-4-auth","amount":25,"currency":"BRL",
            "status":"{status}","status_code":{code},"status_detail":"detail"}}"#
        )
    };
    assert_eq!(
        send(&refund, answer(200, &body("SUCCESS", 200))),
        OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id: "REF-1".into(),
            amount: 2_500
        })
    );
    assert_eq!(
        send(&refund, answer(200, &body("PENDING", 100))),
        OperationStep::Done(OperationResult::Pending {
            provider_operation_id: "REF-1".into()
        })
    );
    assert_eq!(
        codes(send(&refund, answer(200, &body("REJECTED", 300)))),
        refused_with(OperationErrorCode::ProviderRejected, "300")
    );
    let foreign = body("SUCCESS", 200).replace("D-4-auth", "D-4-other");
    assert_eq!(send(&refund, answer(200, &foreign)), OperationStep::Unknown);
}

#[test]
fn lookups_read_what_became_of_the_operation() {
    // Capture: by the reference, its order id.
    let capture = op(OperationKind::Capture, 7_050);
    let OperationStep::Call { call, request } = adapter().operation_lookup(&capture, &cx()) else {
        panic!("a lookup call");
    };
    assert_eq!(call, OperationCall::Lookup);
    assert_eq!(request.method, HttpMethod::Get);
    assert_eq!(request.url, format!("{BASE}/orders/{REFERENCE}"));
    assert_eq!(header(&request, "Authorization"), signature_of(""));
    let order = format!(
        r#"{{"order_id":"{REFERENCE}","payment_id":"T-4-cap","currency":"BRL","amount":70.5,
        "status":"PAID","status_code":"200"}}"#
    );
    assert_eq!(
        lookup(&capture, answer(200, &order)),
        OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id: "T-4-cap".into(),
            amount: 7_050
        })
    );
    assert_eq!(
        codes(lookup(
            &capture,
            answer(404, &dlocal_error(4000, "Payment not found"))
        )),
        refused_with(OperationErrorCode::ProviderTimeout, "4000")
    );
    let other_order = order.replace(REFERENCE, "another-order");
    assert_eq!(
        lookup(&capture, answer(200, &other_order)),
        OperationStep::Unknown
    );

    // Void: the authorization's status.
    let void = op(OperationKind::Void, 12_000);
    let OperationStep::Call { request, .. } = adapter().operation_lookup(&void, &cx()) else {
        panic!("a lookup call");
    };
    assert_eq!(request.url, format!("{BASE}/payments/D-4-auth"));
    let payment = |status: &str| format!(r#"{{"id":"D-4-auth","status":"{status}"}}"#);
    assert!(matches!(
        lookup(&void, answer(200, &payment("CANCELLED"))),
        OperationStep::Done(OperationResult::Succeeded { .. })
    ));
    assert_eq!(
        codes(lookup(&void, answer(200, &payment("AUTHORIZED")))),
        refused_with(OperationErrorCode::ProviderTimeout, "AUTHORIZED")
    );
    assert_eq!(
        codes(lookup(&void, answer(200, &payment("PAID")))),
        refused_with(OperationErrorCode::AlreadyCaptured, "PAID")
    );
    assert_eq!(
        lookup(&void, answer(200, &payment("PENDING"))),
        OperationStep::Unknown
    );

    // Refund: the same POST under the same key; dLocal answers the refund it made.
    let refund = op(OperationKind::Refund, 2_500);
    let OperationStep::Call { call, request } = adapter().operation_lookup(&refund, &cx()) else {
        panic!("a resend");
    };
    assert_eq!(call, OperationCall::Send);
    assert_eq!(request.url, format!("{BASE}/refunds"));
    assert_eq!(header(&request, "X-Idempotency-Key"), REFERENCE);
}
