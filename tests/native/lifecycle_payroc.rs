//! Payroc's capture, reverse and refund: the adapter against the sandbox over real HTTP,
//! the test as host. Each step checks the sandbox ledger's balance for the payment, and
//! every refusal checks that nothing was booked.

use crate::support;

use threeds_bridge::emv::{Eci, TransStatus};
use threeds_bridge::payment::{CaptureMode, ExternalAuthentication, PaymentStart, PaymentStatus};
use threeds_bridge::provider::lifecycle::{
    Operation, OperationErrorCode, OperationKind, OperationResult, OperationStep,
};
use threeds_bridge::provider::payroc::{Config, PayrocAdapter};
use threeds_bridge::provider::{Adapter, Context};
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::{Balance, Provider};
use threeds_bridge::sandbox::{RunningSandbox, SandboxConfig};

use support::flow::{self, Cardholder, BACKEND};

const TERMINAL: &str = "4479001";
const AUTHORIZED: u64 = 4999;

async fn payroc_sandbox() -> RunningSandbox {
    let mut config = SandboxConfig::new("");
    config
        .payroc_receipt_urls
        .insert(TERMINAL.to_owned(), format!("{BACKEND}/v1/returns/payroc"));
    support::sandbox_with(config).await
}

fn adapter(running: &RunningSandbox) -> PayrocAdapter {
    PayrocAdapter::new(Config::sandbox(&running.url))
}

fn session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn cx() -> Context {
    flow::context(&session_id())
}

/// A card payment the merchant authenticated itself (Payroc's thirdParty block): no MPI.
fn payment(capture_mode: CaptureMode) -> PaymentStart {
    let mut payment = flow::payment("4000000000001000");
    payment.amount = AUTHORIZED;
    payment.capture_mode = capture_mode;
    payment.external_authentication = Some(ExternalAuthentication {
        version: "2.2.0".into(),
        trans_status: TransStatus::Y,
        eci: Eci::new(5).expect("eci"),
        cavv: "AAABBEg0VhI0VniQEjRWAAAAAAA=".into(),
        xid: None,
        ds_transaction_id: Some(uuid::Uuid::new_v4().to_string()),
    });
    payment
}

/// Authorizes a payment; its Payroc paymentId and the operation template for it.
async fn authorize(
    running: &RunningSandbox,
    adapter: &PayrocAdapter,
    capture_mode: CaptureMode,
) -> Operation {
    let payment = payment(capture_mode);
    let (result, _) = flow::run(adapter, &payment, &session_id(), Cardholder::Cancels).await;
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    let payment_id = result.provider_payment_id.expect("a paymentId");
    let entry = running
        .sandbox
        .ledger
        .entries()
        .into_iter()
        .find(|e| e.provider_payment_id == payment_id)
        .expect("a ledger entry");
    assert_eq!(entry.sale, capture_mode == CaptureMode::Automatic);
    Operation {
        kind: OperationKind::Capture,
        amount: AUTHORIZED,
        currency: payment.currency,
        order_id: payment.order_id,
        authorized_amount: AUTHORIZED,
        capture_mode,
        provider_payment_id: payment_id,
        capture_id: None,
        reference: String::new(),
    }
}

/// `template` as a `kind` of `amount`, with a fresh reference.
fn op(template: &Operation, kind: OperationKind, amount: u64) -> Operation {
    Operation {
        kind,
        amount,
        reference: uuid::Uuid::new_v4().simple().to_string(),
        ..template.clone()
    }
}

/// Drives `step` to `Done` or `Unknown`, sending each call as the host would.
async fn drive(adapter: &PayrocAdapter, op: &Operation, mut step: OperationStep) -> OperationStep {
    for _ in 0..5 {
        step = match step {
            OperationStep::Call { call, request } => {
                adapter.on_operation_response(op, call, flow::send(&request).await, &cx())
            }
            other => return other,
        };
    }
    panic!("an operation that never ends: {step:?}");
}

async fn run(adapter: &PayrocAdapter, op: &Operation) -> OperationStep {
    let first = adapter.operation(op, &cx()).expect("a call");
    drive(adapter, op, first).await
}

fn succeeded(step: OperationStep) -> (String, u64) {
    match step {
        OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id,
            amount,
        }) => (provider_operation_id, amount),
        other => panic!("expected a success, got {other:?}"),
    }
}

fn refused(step: OperationStep) -> OperationErrorCode {
    match step {
        OperationStep::Done(OperationResult::Refused(error)) => {
            assert!(error.provider_code.is_some() && error.provider_message.is_some());
            error.code
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn balance(running: &RunningSandbox, op: &Operation) -> Balance {
    running
        .sandbox
        .ledger
        .balance(Provider::Payroc, &op.provider_payment_id)
        .expect("a balance")
}

fn movements(running: &RunningSandbox, op: &Operation) -> usize {
    running
        .sandbox
        .ledger
        .movements()
        .iter()
        .filter(|m| m.provider_payment_id == op.provider_payment_id)
        .count()
}

/// captured ≤ authorized, refunded ≤ captured, and the figures expected.
fn assert_balance(running: &RunningSandbox, op: &Operation, captured: i64, refunded: i64) {
    let b = balance(running, op);
    assert_eq!(b.authorized, AUTHORIZED as i64);
    assert!(
        b.captured <= b.authorized && b.refunded <= b.captured,
        "{b:?}"
    );
    assert_eq!((b.captured, b.refunded), (captured, refunded), "{b:?}");
}

#[tokio::test]
async fn authorize_only_then_partial_capture_partial_refund_and_the_rest() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let auth = authorize(&running, &adapter, CaptureMode::Manual).await;
    assert_balance(&running, &auth, 0, 0);
    let payment = running
        .sandbox
        .payroc
        .payment(&auth.provider_payment_id)
        .expect("the payment");
    assert_eq!(
        serde_json::to_value(payment.transaction_result.transaction_type).unwrap(),
        "preAuthorization"
    );

    let (id, amount) = succeeded(run(&adapter, &op(&auth, OperationKind::Capture, 3000)).await);
    assert_eq!(
        (id.as_str(), amount),
        (auth.provider_payment_id.as_str(), 3000)
    );
    assert_balance(&running, &auth, 3000, 0);

    let (first, amount) = succeeded(run(&adapter, &op(&auth, OperationKind::Refund, 1000)).await);
    assert_eq!(amount, 1000);
    assert_balance(&running, &auth, 3000, 1000);

    let (rest, amount) = succeeded(run(&adapter, &op(&auth, OperationKind::Refund, 2000)).await);
    assert_eq!(amount, 2000);
    assert_ne!(first, rest, "two refunds, two refundIds");
    assert_balance(&running, &auth, 3000, 3000);
    let refunds = running
        .sandbox
        .payroc
        .payment(&auth.provider_payment_id)
        .expect("the payment")
        .refunds;
    assert_eq!(
        refunds
            .iter()
            .map(|r| r.refund_id.clone())
            .collect::<Vec<_>>(),
        [first, rest]
    );

    // Nothing is left to refund: Payroc's refusal, mapped, and nothing booked.
    let code = refused(run(&adapter, &op(&auth, OperationKind::Refund, 1)).await);
    assert_eq!(code, OperationErrorCode::AmountTooLarge);
    assert_eq!(movements(&running, &auth), 3);
}

#[tokio::test]
async fn authorize_then_void_releases_it_and_nothing_follows() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let auth = authorize(&running, &adapter, CaptureMode::Manual).await;
    let (id, amount) = succeeded(run(&adapter, &op(&auth, OperationKind::Void, AUTHORIZED)).await);
    assert_eq!(
        (id.as_str(), amount),
        (auth.provider_payment_id.as_str(), AUTHORIZED)
    );
    let b = balance(&running, &auth);
    assert!(b.voided, "{b:?}");
    assert_eq!((b.captured, b.refunded), (0, 0));

    let code = refused(run(&adapter, &op(&auth, OperationKind::Capture, AUTHORIZED)).await);
    assert_eq!(code, OperationErrorCode::AlreadyVoided);
    assert_eq!(movements(&running, &auth), 1);
}

#[tokio::test]
async fn wrong_orders_and_bad_amounts_get_payrocs_refusal_and_book_nothing() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);

    // A sale is captured: no void, no capture.
    let sale = authorize(&running, &adapter, CaptureMode::Automatic).await;
    let code = refused(run(&adapter, &op(&sale, OperationKind::Void, AUTHORIZED)).await);
    assert_eq!(code, OperationErrorCode::AlreadyCaptured);
    let code = refused(run(&adapter, &op(&sale, OperationKind::Capture, 100)).await);
    assert_eq!(code, OperationErrorCode::AlreadyCaptured);
    assert_eq!(movements(&running, &sale), 0);
    assert_balance(&running, &sale, AUTHORIZED as i64, 0);
    // A sale is refunded without a capture of its own.
    succeeded(run(&adapter, &op(&sale, OperationKind::Refund, 1000)).await);
    assert_balance(&running, &sale, AUTHORIZED as i64, 1000);

    // Nothing captured yet: no refund; a capture above the authorization.
    let auth = authorize(&running, &adapter, CaptureMode::Manual).await;
    let code = refused(run(&adapter, &op(&auth, OperationKind::Refund, 100)).await);
    assert_eq!(code, OperationErrorCode::NotCaptured);
    let code = refused(run(&adapter, &op(&auth, OperationKind::Capture, AUTHORIZED + 1)).await);
    assert_eq!(code, OperationErrorCode::AmountTooLarge);
    assert_eq!(movements(&running, &auth), 0);

    // Captured in part: a void is too late, a refund above the captured amount too much.
    succeeded(run(&adapter, &op(&auth, OperationKind::Capture, 3000)).await);
    let code = refused(run(&adapter, &op(&auth, OperationKind::Void, AUTHORIZED)).await);
    assert_eq!(code, OperationErrorCode::AlreadyCaptured);
    let code = refused(run(&adapter, &op(&auth, OperationKind::Refund, 3001)).await);
    assert_eq!(code, OperationErrorCode::AmountTooLarge);
    assert_eq!(movements(&running, &auth), 1);
    assert_balance(&running, &auth, 3000, 0);
}

#[tokio::test]
async fn a_capture_after_the_authorization_expired_is_refused() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let auth = authorize(&running, &adapter, CaptureMode::Manual).await;
    let url = format!(
        "{}/_sandbox/payroc/payments/{}/expire",
        running.url, auth.provider_payment_id
    );
    let client = reqwest::Client::new();
    let expired = client.post(&url).send().await.expect("expire");
    assert_eq!(expired.status().as_u16(), 204);

    let code = refused(run(&adapter, &op(&auth, OperationKind::Capture, 1000)).await);
    assert_eq!(code, OperationErrorCode::AuthorizationExpired);
    assert_eq!(movements(&running, &auth), 0);
    assert_balance(&running, &auth, 0, 0);

    // Only an untouched pre-authorization can expire.
    let again = client.post(&url).send().await.expect("expire");
    assert_eq!(again.status().as_u16(), 409);
    let unknown = client
        .post(format!(
            "{}/_sandbox/payroc/payments/NOSUCHPAY1/expire",
            running.url
        ))
        .send()
        .await
        .expect("expire");
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn a_resend_with_the_same_reference_books_one_movement() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let auth = authorize(&running, &adapter, CaptureMode::Manual).await;
    let capture = op(&auth, OperationKind::Capture, 4000);
    let first = succeeded(run(&adapter, &capture).await);
    let again = succeeded(
        drive(
            &adapter,
            &capture,
            adapter.operation_lookup(&capture, &cx()),
        )
        .await,
    );
    assert_eq!(first, again);
    let refund = op(&auth, OperationKind::Refund, 500);
    let first = succeeded(run(&adapter, &refund).await);
    let again = succeeded(run(&adapter, &refund).await);
    assert_eq!(first, again, "the same refundId: one refund");
    assert_eq!(movements(&running, &auth), 2);
    assert_balance(&running, &auth, 4000, 500);
}

#[tokio::test]
async fn a_lost_answer_is_unknown_and_the_lookup_finds_what_payroc_did() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let auth = authorize(&running, &adapter, CaptureMode::Manual).await;
    succeeded(run(&adapter, &op(&auth, OperationKind::Capture, AUTHORIZED)).await);

    running.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Payroc),
        endpoint: Some(format!(
            "/api/v1/payments/{}/refund",
            auth.provider_payment_id
        )),
        drop_after_commit: true,
        ..Default::default()
    }]);
    let refund = op(&auth, OperationKind::Refund, 1500);
    assert_eq!(run(&adapter, &refund).await, OperationStep::Unknown);
    // Payroc did refund: the ledger has it, the backend does not know yet.
    assert_balance(&running, &auth, AUTHORIZED as i64, 1500);

    // Still unreachable: the lookup stays unknown and books nothing more.
    let step = drive(&adapter, &refund, adapter.operation_lookup(&refund, &cx())).await;
    assert_eq!(step, OperationStep::Unknown);
    assert_eq!(movements(&running, &auth), 2);

    running.sandbox.faults.set(Vec::new());
    let (refund_id, amount) =
        succeeded(drive(&adapter, &refund, adapter.operation_lookup(&refund, &cx())).await);
    assert_eq!(amount, 1500);
    let booked = running
        .sandbox
        .ledger
        .movements()
        .into_iter()
        .filter(|m| m.provider_payment_id == auth.provider_payment_id)
        .map(|m| m.operation_id)
        .collect::<Vec<_>>();
    assert_eq!(booked, [auth.provider_payment_id.clone(), refund_id]);
    assert_balance(&running, &auth, AUTHORIZED as i64, 1500);
}

/// A Bearer token from the sandbox's identity service.
async fn bearer(running: &RunningSandbox) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/payroc/identity/authorize", running.url))
        .header(
            "x-api-key",
            threeds_bridge::sandbox::payroc::SANDBOX_API_KEY,
        )
        .send()
        .await
        .expect("identity")
        .json()
        .await
        .expect("a token");
    answer["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// POSTs `body` to `/payments/{paymentId}/{verb}`: status, content type, body.
async fn post(
    running: &RunningSandbox,
    bearer: &str,
    path: &str,
    key: Option<&str>,
    body: serde_json::Value,
) -> (u16, String, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/payroc/api/v1/payments/{path}", running.url))
        .bearer_auth(bearer)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let answer = request.send().await.expect("answer");
    let status = answer.status().as_u16();
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = answer.json().await.expect("JSON");
    (status, content_type, body)
}

#[tokio::test]
async fn the_sandbox_answers_the_operations_in_payrocs_shapes() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let auth = authorize(&running, &adapter, CaptureMode::Manual).await;
    let bearer = bearer(&running).await;
    let id = auth.provider_payment_id.as_str();
    let key = || uuid::Uuid::new_v4().to_string();

    // The capture: the payment, now a completion of the amount captured.
    let capture_key = key();
    let body = serde_json::json!({"processingTerminalId": TERMINAL, "amount": 2000});
    let (status, content_type, captured) = post(
        &running,
        &bearer,
        &format!("{id}/capture"),
        Some(&capture_key),
        body.clone(),
    )
    .await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(captured["paymentId"], id);
    assert_eq!(
        captured["transactionResult"]["type"],
        "preAuthorizationCompletion"
    );
    assert_eq!(captured["transactionResult"]["authorizedAmount"], 2000);
    // The same key and body: the first answer; another body: 409.
    let replay = post(
        &running,
        &bearer,
        &format!("{id}/capture"),
        Some(&capture_key),
        body,
    )
    .await;
    assert_eq!(replay.2, captured);
    let (status, _, problem) = post(
        &running,
        &bearer,
        &format!("{id}/capture"),
        Some(&capture_key),
        serde_json::json!({"processingTerminalId": TERMINAL, "amount": 1000}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        problem["type"],
        "https://docs.payroc.com/api/errors#idempotency-key-in-use"
    );

    // Refunds: description required, key required, unknown payments 404.
    let (status, content_type, problem) = post(
        &running,
        &bearer,
        &format!("{id}/refund"),
        Some(&key()),
        serde_json::json!({"amount": 500}),
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/problem+json")
    );
    assert_eq!(problem["errors"][0]["parameter"], "description");
    let (status, _, problem) = post(
        &running,
        &bearer,
        &format!("{id}/refund"),
        None,
        serde_json::json!({"amount": 500, "description": "a return"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        problem["type"],
        "https://docs.payroc.com/api/errors#idempotency-key-missing"
    );
    let (status, _, problem) = post(
        &running,
        &bearer,
        "NOSUCHPAY1/refund",
        Some(&key()),
        serde_json::json!({"amount": 500, "description": "a return"}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(problem["resource"], "payment");
    assert_eq!(movements(&running, &auth), 1);

    let (status, _, refunded) = post(
        &running,
        &bearer,
        &format!("{id}/refund"),
        Some(&key()),
        serde_json::json!({"amount": 500, "description": "a return"}),
    )
    .await;
    assert_eq!(status, 200);
    let refund = &refunded["refunds"][0];
    assert_eq!(refund["amount"], 500);
    assert_eq!(refund["responseCode"], "A");
    assert_eq!(refund["status"], "ready");
    let refund_id = refund["refundId"].as_str().expect("a refundId");
    assert_eq!(refund_id.len(), 10);
    // GET /payments/{id} shows the same refunds.
    let shown: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/payroc/api/v1/payments/{id}", running.url))
        .bearer_auth(&bearer)
        .send()
        .await
        .expect("payment")
        .json()
        .await
        .expect("JSON");
    assert_eq!(shown["refunds"], refunded["refunds"]);
    assert_balance(&running, &auth, 2000, 500);
}
