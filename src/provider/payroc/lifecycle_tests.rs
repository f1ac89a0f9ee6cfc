//! Capture, reverse and refund on canned Payroc answers: request shapes, each answer's
//! step, lost answers, the resend that is the lookup, and the Bearer token.

use serde_json::{json, Value};

use super::*;
use crate::order::{Currency, OrderId};
use crate::payment::CaptureMode;
use crate::provider::{Adapter, HttpMethod, HttpResponse, TransportFailure};

const T0: u64 = 1_780_000_000_000;
const REFERENCE: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn adapter() -> PayrocAdapter {
    PayrocAdapter::new(Config::sandbox("http://sandbox.test"))
}

fn cx(now_ms: u64) -> Context {
    Context {
        now_ms,
        session_id: "0123456789abcdef0123456789abcdef".into(),
        public_url: "https://shop.example".into(),
    }
}

fn op(kind: OperationKind, amount: u64) -> Operation {
    Operation {
        kind,
        amount,
        currency: Currency::parse("EUR").unwrap(),
        order_id: OrderId::parse("order-25").unwrap(),
        authorized_amount: 4999,
        capture_mode: CaptureMode::Manual,
        provider_payment_id: "M2MJOG6O2Y".into(),
        capture_id: None,
        reference: REFERENCE.into(),
    }
}

fn answer(status: u16, body: Value) -> OperationAnswer {
    Ok(HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string(),
    })
}

fn token_answer() -> OperationAnswer {
    answer(
        200,
        json!({"access_token": "eyJhbGc.adQssw5c", "token_type": "Bearer",
               "expires_in": 3600, "scope": "payments"}),
    )
}

fn problem(status: u16, parameter: &str, message: &str) -> OperationAnswer {
    answer(
        status,
        json!({"type": "https://docs.payroc.com/api/errors#bad-request", "title": "Bad request",
               "status": status,
               "detail": "One or more validation errors occurred, see error section for more info",
               "errors": [{"parameter": parameter, "detail": "Invalid value", "message": message}]}),
    )
}

fn payment(kind: &str, status: &str, amount: i64, refunds: Value) -> OperationAnswer {
    answer(
        200,
        json!({"paymentId": "M2MJOG6O2Y", "processingTerminalId": "4479001",
               "order": {"orderId": "order-25", "dateTime": "2026-11-22T05:00:00Z", "amount": 4999, "currency": "EUR"},
               "refunds": refunds,
               "transactionResult": {"type": kind, "status": status, "authorizedAmount": amount,
                                     "currency": "EUR", "responseCode": "A", "responseMessage": "APPROVAL"}}),
    )
}

/// The adapter with a cached token: the operation goes straight out.
fn authorized_adapter() -> PayrocAdapter {
    let adapter = adapter();
    let step = adapter
        .operation(&op(OperationKind::Capture, 1), &cx(T0))
        .unwrap();
    let OperationStep::Call {
        call: OperationCall::Authorize,
        ..
    } = step
    else {
        panic!("a token first: {step:?}");
    };
    adapter.on_operation_response(
        &op(OperationKind::Capture, 1),
        OperationCall::Authorize,
        token_answer(),
        &cx(T0),
    );
    adapter
}

fn sent(step: OperationStep) -> HttpRequest {
    match step {
        OperationStep::Call {
            call: OperationCall::Send,
            request,
        } => request,
        other => panic!("expected the operation's call, got {other:?}"),
    }
}

fn body(request: &HttpRequest) -> Value {
    serde_json::from_str(request.body.as_deref().unwrap()).unwrap()
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn respond(adapter: &PayrocAdapter, op: &Operation, response: OperationAnswer) -> OperationStep {
    adapter.on_operation_response(op, OperationCall::Send, response, &cx(T0))
}

fn refused(step: OperationStep) -> OperationError {
    match step {
        OperationStep::Done(OperationResult::Refused(error)) => error,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn without_a_token_the_operation_fetches_one_then_sends() {
    let adapter = adapter();
    let capture = op(OperationKind::Capture, 3000);
    let step = adapter.operation(&capture, &cx(T0)).unwrap();
    let OperationStep::Call {
        call: OperationCall::Authorize,
        request,
    } = step
    else {
        panic!("expected the token call: {step:?}");
    };
    assert_eq!(request.url, "http://sandbox.test/payroc/identity/authorize");
    assert!(request.retry_safe);
    let request = sent(adapter.on_operation_response(
        &capture,
        OperationCall::Authorize,
        token_answer(),
        &cx(T0),
    ));
    assert_eq!(
        header(&request, "Authorization"),
        Some("Bearer eyJhbGc.adQssw5c")
    );
    // The token is cached: the next operation goes straight out.
    sent(adapter.operation(&capture, &cx(T0 + 1000)).unwrap());
}

#[test]
fn a_lost_token_call_leaves_the_operation_for_the_lookup() {
    let adapter = adapter();
    let capture = op(OperationKind::Capture, 3000);
    for response in [
        Err(TransportFailure::Timeout),
        problem(401, "x-api-key", "bad key"),
    ] {
        let step =
            adapter.on_operation_response(&capture, OperationCall::Authorize, response, &cx(T0));
        assert_eq!(step, OperationStep::Unknown);
    }
}

#[test]
fn capture_reverse_and_refund_requests_are_the_sdks_with_a_key_per_operation() {
    let adapter = authorized_adapter();
    let capture = op(OperationKind::Capture, 3000);
    let request = sent(adapter.operation(&capture, &cx(T0)).unwrap());
    assert_eq!(request.method, HttpMethod::Post);
    assert_eq!(
        request.url,
        "http://sandbox.test/payroc/api/v1/payments/M2MJOG6O2Y/capture"
    );
    assert_eq!(request.purpose, "payroc.capture");
    assert!(request.retry_safe, "Payroc deduplicates key + body");
    assert_eq!(
        body(&request),
        json!({"processingTerminalId": "4479001", "amount": 3000})
    );
    let key = header(&request, "Idempotency-Key").unwrap().to_owned();
    let parsed = uuid::Uuid::parse_str(&key).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
    assert_eq!(header(&request, "Content-Type"), Some("application/json"));

    let void = op(OperationKind::Void, 4999);
    let request = sent(adapter.operation(&void, &cx(T0)).unwrap());
    assert_eq!(
        request.url,
        "http://sandbox.test/payroc/api/v1/payments/M2MJOG6O2Y/reverse"
    );
    assert_eq!(body(&request), json!({}));
    assert_ne!(header(&request, "Idempotency-Key"), Some(key.as_str()));

    let refund = op(OperationKind::Refund, 1000);
    let request = sent(adapter.operation(&refund, &cx(T0)).unwrap());
    assert_eq!(
        request.url,
        "http://sandbox.test/payroc/api/v1/payments/M2MJOG6O2Y/refund"
    );
    assert_eq!(
        body(&request),
        json!({"amount": 1000, "description": "Refund for order order-25"})
    );
    let mut other = refund.clone();
    other.reference = "ffffffffffffffffffffffffffffffff".into();
    let again = sent(adapter.operation(&other, &cx(T0)).unwrap());
    assert_ne!(
        header(&again, "Idempotency-Key"),
        header(&request, "Idempotency-Key"),
        "two refunds of one amount are two refunds"
    );
}

#[test]
fn the_lookup_is_the_same_request_again() {
    let adapter = authorized_adapter();
    for kind in [
        OperationKind::Capture,
        OperationKind::Void,
        OperationKind::Refund,
    ] {
        let operation = op(kind, 4999);
        let first = sent(adapter.operation(&operation, &cx(T0)).unwrap());
        let lookup = sent(adapter.operation_lookup(&operation, &cx(T0 + 60_000)));
        assert_eq!(first, lookup, "{kind:?}: same URL, key and body");
    }
}

#[test]
fn a_partial_void_and_bad_ids_are_refused_before_any_call() {
    let adapter = authorized_adapter();
    let error = adapter
        .operation(&op(OperationKind::Void, 100), &cx(T0))
        .unwrap_err();
    assert_eq!(error.code, OperationErrorCode::Unsupported);
    assert!(error.provider_message.unwrap().contains("Payroc"));
    let mut forged = op(OperationKind::Refund, 100);
    forged.provider_payment_id = "../refunds".into();
    let error = adapter.operation(&forged, &cx(T0)).unwrap_err();
    assert_eq!(error.code, OperationErrorCode::ProviderRejected);
    let error = adapter
        .operation(&op(OperationKind::Capture, 0), &cx(T0))
        .unwrap_err();
    assert_eq!(error.code, OperationErrorCode::AmountTooLarge);
}

#[test]
fn answers_become_results() {
    let adapter = authorized_adapter();
    let capture = op(OperationKind::Capture, 3000);
    assert_eq!(
        respond(
            &adapter,
            &capture,
            payment("preAuthorizationCompletion", "ready", 3000, json!([]))
        ),
        OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id: "M2MJOG6O2Y".into(),
            amount: 3000
        })
    );
    let void = op(OperationKind::Void, 4999);
    assert_eq!(
        respond(
            &adapter,
            &void,
            payment("preAuthorization", "reversal", 4999, json!([]))
        ),
        OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id: "M2MJOG6O2Y".into(),
            amount: 4999
        })
    );
    // The refund is the newest of the payment's refunds; Payroc signs its amount either way.
    let refund = op(OperationKind::Refund, 1000);
    let refunds = json!([
        {"refundId": "CD3HN88U9F", "amount": 500, "status": "ready", "responseCode": "A"},
        {"refundId": "BI77XQFQ05", "amount": -1000, "status": "ready", "responseCode": "A",
         "responseMessage": "Transaction refunded"}
    ]);
    assert_eq!(
        respond(&adapter, &refund, payment("sale", "ready", 4999, refunds)),
        OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id: "BI77XQFQ05".into(),
            amount: 1000
        })
    );
    // A declined refund moved nothing.
    let declined = json!([{"refundId": "BI77XQFQ05", "amount": 1000, "responseCode": "D",
                           "responseMessage": "DECLINED"}]);
    let error = refused(respond(
        &adapter,
        &refund,
        payment("sale", "ready", 4999, declined),
    ));
    assert_eq!(error.code, OperationErrorCode::ProviderRejected);
    assert_eq!(error.provider_code.as_deref(), Some("D"));
}

#[test]
fn payroc_refusals_map_to_stable_codes_with_payrocs_words() {
    let adapter = authorized_adapter();
    let cases = [
        (
            OperationKind::Refund,
            problem(
                400,
                "amount",
                "The 'amount' field must not exceed the amount left to refund (1999)",
            ),
            OperationErrorCode::AmountTooLarge,
        ),
        (
            OperationKind::Capture,
            problem(
                400,
                "amount",
                "The 'amount' field must not exceed the authorized amount (4999)",
            ),
            OperationErrorCode::AmountTooLarge,
        ),
        (
            OperationKind::Void,
            problem(
                400,
                "paymentId",
                "The payment has already been captured: refund it instead",
            ),
            OperationErrorCode::AlreadyCaptured,
        ),
        (
            OperationKind::Capture,
            problem(400, "paymentId", "The pre-authorization has expired"),
            OperationErrorCode::AuthorizationExpired,
        ),
        (
            OperationKind::Capture,
            problem(400, "paymentId", "The payment has been reversed"),
            OperationErrorCode::AlreadyVoided,
        ),
        (
            OperationKind::Refund,
            problem(400, "paymentId", "The payment has not been captured"),
            OperationErrorCode::NotCaptured,
        ),
        (
            OperationKind::Refund,
            problem(400, "description", "Required field not populated"),
            OperationErrorCode::ProviderRejected,
        ),
        (
            OperationKind::Capture,
            problem(404, "paymentId", "The payment was not found"),
            OperationErrorCode::ProviderRejected,
        ),
    ];
    for (kind, response, code) in cases {
        let error = refused(respond(&adapter, &op(kind, 4999), response));
        assert_eq!(error.code, code, "{error:?}");
        assert_eq!(error.provider_code.as_deref(), Some("bad-request"));
        // Payroc's words: the detail and the parameter the refusal is about.
        assert!(error
            .provider_message
            .is_some_and(|m| m.contains("errors occurred") && m.contains(": ")));
    }
}

#[test]
fn a_lost_or_unreadable_answer_is_unknown_never_a_refusal() {
    let adapter = authorized_adapter();
    let capture = op(OperationKind::Capture, 3000);
    let lost: [OperationAnswer; 7] = [
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        answer(503, json!({})),
        // Not taken (rate limited; its key still being answered): the resend of a refund
        // whose first answer was lost may get either, and that first one may have refunded.
        answer(
            429,
            json!({"type": "https://docs.payroc.com/api/errors#too-many-requests", "title": "Too many requests", "status": 429}),
        ),
        answer(
            409,
            json!({"type": "https://docs.payroc.com/api/errors#conflict", "title": "Idempotency key in use", "status": 409}),
        ),
        answer(200, json!({"unexpected": true})),
        // A refund answer naming no refund: Payroc acted, but on what?
        payment("sale", "ready", 4999, json!([])),
    ];
    for (i, response) in lost.into_iter().enumerate() {
        let operation = if matches!(i, 3 | 4 | 6) {
            op(OperationKind::Refund, 1000)
        } else {
            capture.clone()
        };
        assert_eq!(
            respond(&adapter, &operation, response),
            OperationStep::Unknown,
            "answer {i}"
        );
    }
}

#[test]
fn a_revoked_token_is_replaced_once_and_a_fresh_one_refused_waits_for_the_lookup() {
    let adapter = authorized_adapter();
    let capture = op(OperationKind::Capture, 3000);
    let unauthorized = || problem(401, "Authorization", "The access token is not valid");
    // Issued at T0; ten minutes later Payroc refuses it: fetch a new one, then send again.
    let later = T0 + 10 * 60 * 1000;
    let step =
        adapter.on_operation_response(&capture, OperationCall::Send, unauthorized(), &cx(later));
    let OperationStep::Call {
        call: OperationCall::Authorize,
        ..
    } = step
    else {
        panic!("expected a new token: {step:?}");
    };
    sent(adapter.on_operation_response(
        &capture,
        OperationCall::Authorize,
        token_answer(),
        &cx(later),
    ));
    // The new token refused at once: no loop, the lookup settles it.
    let step = adapter.on_operation_response(
        &capture,
        OperationCall::Send,
        unauthorized(),
        &cx(later + 1000),
    );
    assert_eq!(step, OperationStep::Unknown);
}
