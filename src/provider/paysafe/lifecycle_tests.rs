//! The lifecycle calls' shapes and the reading of canned Paysafe answers, without a
//! network.

use serde_json::json;

use super::super::{Config, PaysafeAdapter};
use crate::order::{Currency, OrderId};
use crate::payment::CaptureMode;
use crate::provider::lifecycle::{
    Operation, OperationCall, OperationErrorCode as Code, OperationKind, OperationResult,
    OperationStep,
};
use crate::provider::{HttpMethod, HttpResponse, TransportFailure};

const REFERENCE: &str = "0123456789abcdef0123456789abcdef";
const ACCOUNT_URL: &str = "http://sandbox.test/paysafe/cardpayments/v1/accounts/89987201";

fn adapter() -> PaysafeAdapter {
    PaysafeAdapter::new(Config::sandbox("http://sandbox.test"))
}

fn op(kind: OperationKind, amount: u64) -> Operation {
    Operation {
        kind,
        amount,
        currency: Currency::parse("USD").unwrap(),
        order_id: OrderId::parse("order-1").unwrap(),
        authorized_amount: 1000,
        capture_mode: CaptureMode::Manual,
        provider_payment_id: "auth-1".into(),
        capture_id: None,
        reference: REFERENCE.into(),
    }
}

fn refund(amount: u64) -> Operation {
    Operation {
        capture_id: Some("settle-1".into()),
        ..op(OperationKind::Refund, amount)
    }
}

fn answer(status: u16, body: serde_json::Value) -> Result<HttpResponse, TransportFailure> {
    Ok(HttpResponse {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    })
}

fn paysafe_error(status: u16, code: &str, message: &str) -> Result<HttpResponse, TransportFailure> {
    answer(
        status,
        json!({"error": {"code": code, "message": message,
                         "links": [{"rel": "errorinfo", "href": "https://x.test"}]}}),
    )
}

fn first_call(op: &Operation) -> crate::provider::HttpRequest {
    match adapter().operation_call(op) {
        Ok(OperationStep::Call {
            call: OperationCall::Send,
            request,
        }) => request,
        other => panic!("expected the send, got {other:?}"),
    }
}

fn send_answer(op: &Operation, response: Result<HttpResponse, TransportFailure>) -> OperationStep {
    adapter().on_operation_answer(op, OperationCall::Send, response)
}

fn refused(step: OperationStep) -> (Code, Option<String>) {
    match step {
        OperationStep::Done(OperationResult::Refused(error)) => (error.code, error.provider_code),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn body(request: &crate::provider::HttpRequest) -> serde_json::Value {
    serde_json::from_str(request.body.as_deref().unwrap()).unwrap()
}

#[test]
fn each_call_goes_to_its_resource_with_the_reference_as_merchant_ref_num() {
    let capture = first_call(&op(OperationKind::Capture, 600));
    let void = first_call(&op(OperationKind::Void, 1000));
    let refund = first_call(&refund(250));
    for (request, url, purpose, amount) in [
        (
            &capture,
            format!("{ACCOUNT_URL}/auths/auth-1/settlements"),
            "paysafe.settlement",
            600,
        ),
        (
            &void,
            format!("{ACCOUNT_URL}/auths/auth-1/voidauths"),
            "paysafe.voidauth",
            1000,
        ),
        (
            &refund,
            format!("{ACCOUNT_URL}/settlements/settle-1/refunds"),
            "paysafe.refund",
            250,
        ),
    ] {
        assert_eq!(request.method, HttpMethod::Post);
        assert_eq!(request.url, url);
        assert_eq!(request.purpose, purpose);
        assert!(request.retry_safe, "{purpose}: Paysafe refuses a repeat");
        assert_eq!(
            body(request),
            json!({"merchantRefNum": REFERENCE, "amount": amount})
        );
        let auth = request
            .headers
            .iter()
            .find(|(name, _)| name == "Authorization")
            .map(|(_, value)| value.as_str());
        assert_eq!(
            auth,
            Some("Basic c2FuZGJveC1wYXlzYWZlLXVzZXI6c2FuZGJveC1wYXlzYWZlLXBhc3N3b3Jk")
        );
    }
}

#[test]
fn a_payment_settled_with_its_authorization_is_refunded_under_the_authorization_id() {
    let automatic = Operation {
        capture_mode: CaptureMode::Automatic,
        ..op(OperationKind::Refund, 1000)
    };
    let request = first_call(&automatic);
    assert_eq!(
        request.url,
        format!("{ACCOUNT_URL}/settlements/auth-1/refunds")
    );
    // … and can be neither settled nor reversed again.
    for kind in [OperationKind::Capture, OperationKind::Void] {
        let error = adapter()
            .operation_call(&Operation {
                capture_mode: CaptureMode::Automatic,
                ..op(kind, 1000)
            })
            .unwrap_err();
        assert_eq!(error.code, Code::AlreadyCaptured);
    }
}

#[test]
fn what_paysafe_cannot_do_is_refused_before_any_call() {
    let partial_void = adapter()
        .operation_call(&op(OperationKind::Void, 400))
        .unwrap_err();
    assert_eq!(partial_void.code, Code::Unsupported);
    assert!(partial_void.provider_message.unwrap().contains("paysafe"));

    let uncaptured = adapter()
        .operation_call(&op(OperationKind::Refund, 100))
        .unwrap_err();
    assert_eq!(uncaptured.code, Code::NotCaptured);

    let mut hostile = op(OperationKind::Capture, 100);
    hostile.provider_payment_id = "../../settlements/x".into();
    assert_eq!(
        adapter().operation_call(&hostile).unwrap_err().code,
        Code::ProviderBadResponse
    );
    let mut odd = op(OperationKind::Capture, 100);
    odd.reference = "not hex&x=1".into();
    assert_eq!(
        adapter().operation_call(&odd).unwrap_err().code,
        Code::ProviderRejected
    );
}

#[test]
fn accepted_answers_succeed_with_paysafe_ids_and_amounts() {
    let capture = op(OperationKind::Capture, 600);
    let step = send_answer(
        &capture,
        answer(
            200,
            json!({"id": "settle-1", "merchantRefNum": REFERENCE, "status": "PENDING",
                   "amount": 600, "availableToRefund": 600}),
        ),
    );
    assert_eq!(
        step,
        OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id: "settle-1".into(),
            amount: 600
        })
    );
    let step = send_answer(
        &op(OperationKind::Void, 1000),
        answer(
            200,
            json!({"id": "void-1", "status": "COMPLETED", "amount": 1000}),
        ),
    );
    assert!(matches!(
        step,
        OperationStep::Done(OperationResult::Succeeded { ref provider_operation_id, amount: 1000 })
            if provider_operation_id == "void-1"
    ));
    let step = send_answer(
        &refund(250),
        answer(
            200,
            json!({"id": "refund-1", "status": "RECEIVED", "amount": 250}),
        ),
    );
    assert_eq!(
        step,
        OperationStep::Done(OperationResult::Pending {
            provider_operation_id: "refund-1".into()
        })
    );
    let (code, provider) = refused(send_answer(
        &refund(250),
        answer(
            200,
            json!({"id": "refund-2", "status": "FAILED", "amount": 250,
                   "error": {"code": "3402", "message": "exceeds"}}),
        ),
    ));
    assert_eq!(
        (code, provider.as_deref()),
        (Code::AmountTooLarge, Some("3402"))
    );
}

#[test]
fn paysafe_refusals_map_to_stable_codes_with_paysafe_words() {
    let capture = op(OperationKind::Capture, 600);
    let void = op(OperationKind::Void, 1000);
    let cases = [
        (&capture, 402, "3203", Code::AlreadyCaptured),
        (&capture, 402, "3202", Code::AlreadyCaptured),
        (&capture, 402, "3204", Code::AmountTooLarge),
        (&capture, 402, "3205", Code::AuthorizationExpired),
        (&capture, 402, "3416", Code::Unsupported),
        (&capture, 404, "5269", Code::ProviderRejected),
        (&capture, 400, "5068", Code::ProviderRejected),
        (&capture, 401, "5279", Code::ProviderRejected),
        (&void, 402, "3502", Code::AlreadyCaptured),
        (&void, 402, "3501", Code::AlreadyVoided),
        (&void, 402, "3504", Code::Unsupported),
    ];
    for (operation, status, code, expected) in cases {
        let step = send_answer(operation, paysafe_error(status, code, "Paysafe says no"));
        let OperationStep::Done(OperationResult::Refused(error)) = step else {
            panic!("{code}: expected a refusal");
        };
        assert_eq!(error.code, expected, "{code}");
        assert_eq!(error.provider_code.as_deref(), Some(code));
        assert_eq!(error.provider_message.as_deref(), Some("Paysafe says no"));
    }
    for (code, expected) in [
        ("3402", Code::AmountTooLarge),
        ("3404", Code::AmountTooLarge),
        ("3406", Code::NotCaptured),
        ("3418", Code::Unsupported),
        ("3407", Code::ProviderRejected),
    ] {
        let (stable, _) = refused(send_answer(&refund(250), paysafe_error(402, code, "no")));
        assert_eq!(stable, expected, "{code}");
    }
}

#[test]
fn a_lost_answer_is_unknown_never_a_refusal() {
    let capture = op(OperationKind::Capture, 600);
    for lost in [
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        paysafe_error(500, "1000", "internal error"),
        answer(200, json!("not a transaction")),
        answer(200, json!({"id": "s", "status": "SOMETHING_NEW"})),
    ] {
        assert_eq!(send_answer(&capture, lost), OperationStep::Unknown);
    }
}

#[test]
fn a_duplicate_merchant_ref_num_is_looked_up_at_once() {
    for (operation, path, list) in [
        (
            op(OperationKind::Capture, 600),
            "settlements",
            "settlements",
        ),
        (op(OperationKind::Void, 1000), "voidauths", "voidAuths"),
        (refund(250), "refunds", "refunds"),
    ] {
        let step = send_answer(
            &operation,
            paysafe_error(
                409,
                "5031",
                "The transaction you have submitted has already been processed.",
            ),
        );
        let OperationStep::Call {
            call: OperationCall::Lookup,
            request,
        } = step
        else {
            panic!("expected the lookup, got {step:?}");
        };
        assert_eq!(request.method, HttpMethod::Get);
        assert_eq!(
            request.url,
            format!("{ACCOUNT_URL}/{path}?merchantRefNum={REFERENCE}")
        );
        assert!(request.headers.iter().any(|(n, _)| n == "Authorization"));

        // The lookup finds it: the operation succeeded once.
        let found = adapter().on_operation_answer(
            &operation,
            OperationCall::Lookup,
            answer(
                200,
                json!({ list: [
                    {"id": "other", "merchantRefNum": "ffffffffffffffffffffffffffffffff", "status": "COMPLETED", "amount": 1},
                    {"id": "mine", "merchantRefNum": REFERENCE, "status": "PENDING", "amount": operation.amount},
                ]}),
            ),
        );
        assert_eq!(
            found,
            OperationStep::Done(OperationResult::Succeeded {
                provider_operation_id: "mine".into(),
                amount: operation.amount
            }),
            "{path}"
        );
    }
}

#[test]
fn a_lookup_decides_resends_when_nothing_is_found_and_stays_unknown_without_an_answer() {
    let capture = op(OperationKind::Capture, 600);
    let OperationStep::Call {
        call: OperationCall::Lookup,
        request,
    } = adapter().find_operation(&capture)
    else {
        panic!("expected the lookup");
    };
    assert_eq!(request.purpose, "paysafe.settlement.lookup");
    assert!(request
        .url
        .ends_with(&format!("/settlements?merchantRefNum={REFERENCE}")));

    let lookup =
        |response| adapter().on_operation_answer(&capture, OperationCall::Lookup, response);
    // None: Paysafe never got it; the same call again, same merchantRefNum.
    let again = lookup(answer(200, json!({"settlements": []})));
    let OperationStep::Call {
        call: OperationCall::Send,
        request,
    } = again
    else {
        panic!("expected the resend, got {again:?}");
    };
    assert_eq!(body(&request)["merchantRefNum"], REFERENCE);
    // A FAILED one: refused with its error.
    let (code, provider) = refused(lookup(answer(
        200,
        json!({"settlements": [{"id": "s", "merchantRefNum": REFERENCE, "status": "FAILED",
                                "error": {"code": "3205", "message": "expired"}}]}),
    )));
    assert_eq!(
        (code, provider.as_deref()),
        (Code::AuthorizationExpired, Some("3205"))
    );
    // No answer, a refusal, or an unreadable list: still unknown.
    for response in [
        Err(TransportFailure::Timeout),
        paysafe_error(503, "5000", "down"),
        paysafe_error(401, "5279", "creds"),
        answer(200, json!(["no"])),
    ] {
        assert_eq!(lookup(response), OperationStep::Unknown);
    }
}

#[test]
fn the_adapter_trait_delegates_to_the_lifecycle() {
    use crate::provider::Adapter;
    let cx = crate::provider::Context {
        now_ms: 0,
        session_id: REFERENCE.into(),
        public_url: "https://shop.test".into(),
    };
    let capture = op(OperationKind::Capture, 600);
    assert!(matches!(
        Adapter::operation(&adapter(), &capture, &cx),
        Ok(OperationStep::Call {
            call: OperationCall::Send,
            ..
        })
    ));
    assert!(matches!(
        Adapter::operation_lookup(&adapter(), &capture, &cx),
        OperationStep::Call {
            call: OperationCall::Lookup,
            ..
        }
    ));
    assert_eq!(
        Adapter::on_operation_response(
            &adapter(),
            &capture,
            OperationCall::Send,
            Err(TransportFailure::Timeout),
            &cx
        ),
        OperationStep::Unknown
    );
}

#[test]
fn statuses_of_paysafe_payments_api_read_the_same() {
    let capture = op(OperationKind::Capture, 600);
    let step = send_answer(
        &capture,
        answer(
            200,
            json!({"id": "s-1", "status": "INITIATED", "amount": 600}),
        ),
    );
    assert_eq!(
        step,
        OperationStep::Done(OperationResult::Pending {
            provider_operation_id: "s-1".into()
        })
    );
    let (code, provider) = refused(send_answer(
        &capture,
        answer(
            200,
            json!({"id": "s-2", "status": "EXPIRED", "amount": 600}),
        ),
    ));
    assert_eq!(
        (code, provider.as_deref()),
        (Code::ProviderRejected, Some("EXPIRED"))
    );
}
