//! dLocal's capture, void and refund: the adapter against the sandbox over real HTTP (no
//! backend routes: the adapter's steps are driven here as a host would). Each test reads
//! the sandbox ledger after every step: what was booked, and that the order balances. The
//! sandbox's endpoints called directly are tested in sandbox_dlocal/lifecycle.rs.

use crate::support;

use threeds_bridge::payment::{CaptureMode, PaymentStart, PaymentStatus};
use threeds_bridge::provider::dlocal::{Config, DlocalAdapter};
use threeds_bridge::provider::lifecycle::{
    Operation, OperationErrorCode, OperationKind, OperationResult, OperationStep,
};
use threeds_bridge::provider::{Adapter, TransportFailure};
use threeds_bridge::sandbox::ledger::{Balance, Provider};
use threeds_bridge::sandbox::RunningSandbox;

use support::flow::{self, Cardholder};

pub(crate) fn adapter(sb: &RunningSandbox) -> DlocalAdapter {
    DlocalAdapter::new(Config::sandbox(&sb.url))
}

fn session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A payment of BRL 120.00 with `pan`, authorized as `mode` says.
fn payment_start(pan: &str, mode: CaptureMode) -> PaymentStart {
    let mut start = flow::payment(pan);
    start.order_id =
        threeds_bridge::order::OrderId::parse(&format!("order-{}", uuid::Uuid::new_v4().simple()))
            .expect("an order id");
    start.amount = 12_000;
    start.currency = threeds_bridge::order::Currency::parse("BRL").expect("a currency");
    start.payer.country = Some("BR".into());
    start.payer.name = Some("Thiago Gabriel".into());
    start.payer.document = Some("53033315550".into());
    start.payer.email = Some("thiago@example.com".into());
    start.capture_mode = mode;
    start
}

/// A frictionless card's payment, authorized: its start and dLocal's payment id.
pub(crate) async fn authorize(
    adapter: &DlocalAdapter,
    mode: CaptureMode,
) -> (PaymentStart, String) {
    let start = payment_start("4000000000001000", mode);
    let (result, _) = flow::run(adapter, &start, &session_id(), Cardholder::Types("1234")).await;
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    let id = result.provider_payment_id.expect("dLocal's payment id");
    (start, id)
}

fn operation(
    kind: OperationKind,
    amount: u64,
    start: &PaymentStart,
    payment_id: &str,
    capture_id: Option<&str>,
) -> Operation {
    Operation {
        kind,
        amount,
        currency: start.currency,
        order_id: start.order_id.clone(),
        authorized_amount: start.amount,
        capture_mode: start.capture_mode,
        provider_payment_id: payment_id.to_owned(),
        capture_id: capture_id.map(str::to_owned),
        reference: uuid::Uuid::new_v4().simple().to_string(),
    }
}

/// Follows `step` as a host would, until the operation is done (or unknown).
async fn follow(adapter: &DlocalAdapter, op: &Operation, mut step: OperationStep) -> OperationStep {
    let cx = flow::context(&session_id());
    for _ in 0..4 {
        let OperationStep::Call { call, request } = step else {
            return step;
        };
        let answer = flow::send(&request).await;
        step = adapter.on_operation_response(op, call, answer, &cx);
    }
    panic!("an operation takes at most a few calls")
}

/// Runs `op` from its first call to its result.
async fn run(adapter: &DlocalAdapter, op: &Operation) -> OperationResult {
    let cx = flow::context(&session_id());
    let first = adapter.operation(op, &cx).expect("dLocal can do this");
    match follow(adapter, op, first).await {
        OperationStep::Done(result) => result,
        step => panic!("expected a result, got {step:?}"),
    }
}

fn succeeded(result: &OperationResult) -> (String, u64) {
    match result {
        OperationResult::Succeeded {
            provider_operation_id,
            amount,
        } => (provider_operation_id.clone(), *amount),
        other => panic!("expected success, got {other:?}"),
    }
}

fn refusal(result: &OperationResult) -> (OperationErrorCode, String) {
    match result {
        OperationResult::Refused(error) => {
            (error.code, error.provider_code.clone().unwrap_or_default())
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The payment's ledger balance, checked to balance: nothing captured above the
/// authorization, nothing refunded above the capture.
pub(crate) fn balance(sb: &RunningSandbox, payment_id: &str) -> Balance {
    let balance = sb
        .sandbox
        .ledger
        .balance(Provider::Dlocal, payment_id)
        .expect("the authorization is in the ledger");
    assert!(balance.captured <= balance.authorized, "{balance:?}");
    assert!(balance.refunded <= balance.captured, "{balance:?}");
    balance
}

pub(crate) fn movements(sb: &RunningSandbox, payment_id: &str) -> usize {
    sb.sandbox
        .ledger
        .movements()
        .iter()
        .filter(|m| m.provider_payment_id == payment_id)
        .count()
}

pub(crate) fn money(b: &Balance) -> (i64, i64, i64, bool) {
    (b.authorized, b.captured, b.refunded, b.voided)
}

async fn set_faults(sb: &RunningSandbox, rules: serde_json::Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/_sandbox/faults", sb.url))
        .json(&serde_json::json!({ "rules": rules }))
        .send()
        .await
        .expect("faults");
    assert!(answer.status().is_success());
}

#[tokio::test]
async fn authorize_only_then_partial_capture_partial_refund_and_the_rest() {
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    let (start, id) = authorize(&adapter, CaptureMode::Manual).await;
    let entry = sb
        .sandbox
        .ledger
        .entries()
        .into_iter()
        .find(|e| e.provider_payment_id == id)
        .expect("an entry");
    assert!(!entry.sale, "card.capture:false authorizes only");
    assert_eq!(money(&balance(&sb, &id)), (12_000, 0, 0, false));

    let captured = run(
        &adapter,
        &operation(OperationKind::Capture, 7_050, &start, &id, None),
    )
    .await;
    let (capture_id, amount) = succeeded(&captured);
    assert!(capture_id.starts_with("T-"), "{capture_id}");
    assert_eq!(amount, 7_050);
    assert_eq!(money(&balance(&sb, &id)), (12_000, 7_050, 0, false));

    let refund = operation(OperationKind::Refund, 2_500, &start, &id, Some(&capture_id));
    let (refund_id, amount) = succeeded(&run(&adapter, &refund).await);
    assert!(refund_id.starts_with("REF-"), "{refund_id}");
    assert_eq!(amount, 2_500);
    assert_eq!(money(&balance(&sb, &id)), (12_000, 7_050, 2_500, false));

    let rest = operation(OperationKind::Refund, 4_550, &start, &id, Some(&capture_id));
    let (other_id, _) = succeeded(&run(&adapter, &rest).await);
    assert_ne!(other_id, refund_id);
    assert_eq!(money(&balance(&sb, &id)), (12_000, 7_050, 7_050, false));

    // Nothing is left to refund: dLocal's 5007, and nothing booked.
    let more = operation(OperationKind::Refund, 1, &start, &id, Some(&capture_id));
    let (code, provider_code) = refusal(&run(&adapter, &more).await);
    assert_eq!(
        (code, provider_code.as_str()),
        (OperationErrorCode::AmountTooLarge, "5007")
    );
    assert_eq!(movements(&sb, &id), 3);
}

#[tokio::test]
async fn authorize_then_void_releases_it_and_nothing_more_can_move() {
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    let (start, id) = authorize(&adapter, CaptureMode::Manual).await;
    let void = operation(OperationKind::Void, 12_000, &start, &id, None);
    let (voided_id, amount) = succeeded(&run(&adapter, &void).await);
    assert_eq!((voided_id.as_str(), amount), (id.as_str(), 12_000));
    assert_eq!(money(&balance(&sb, &id)), (12_000, 0, 0, true));

    let capture = operation(OperationKind::Capture, 12_000, &start, &id, None);
    let (code, provider_code) = refusal(&run(&adapter, &capture).await);
    assert_eq!(
        (code, provider_code.as_str()),
        (OperationErrorCode::AlreadyVoided, "5002")
    );
    let refund = operation(OperationKind::Refund, 100, &start, &id, None);
    assert_eq!(
        refusal(&run(&adapter, &refund).await).0,
        OperationErrorCode::AlreadyVoided
    );
    assert_eq!(movements(&sb, &id), 1, "only the void");
}

#[tokio::test]
async fn wrong_orders_and_bad_amounts_get_mapped_codes_and_book_nothing() {
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);

    // A refund of an authorization nothing was captured of.
    let (start, id) = authorize(&adapter, CaptureMode::Manual).await;
    let refund = operation(OperationKind::Refund, 100, &start, &id, None);
    assert_eq!(
        refusal(&run(&adapter, &refund).await),
        (OperationErrorCode::NotCaptured, "5002".into())
    );
    // A capture above the authorization.
    let above = operation(OperationKind::Capture, 12_001, &start, &id, None);
    assert_eq!(
        refusal(&run(&adapter, &above).await),
        (OperationErrorCode::AmountTooLarge, "5007".into())
    );
    assert_eq!(movements(&sb, &id), 0);

    // A void after the capture; a refund above what was captured.
    let capture = operation(OperationKind::Capture, 5_000, &start, &id, None);
    let (capture_id, _) = succeeded(&run(&adapter, &capture).await);
    let void = operation(OperationKind::Void, 12_000, &start, &id, None);
    assert_eq!(
        refusal(&run(&adapter, &void).await),
        (OperationErrorCode::AlreadyCaptured, "5002".into())
    );
    let second = operation(OperationKind::Capture, 1_000, &start, &id, None);
    assert_eq!(
        refusal(&run(&adapter, &second).await).0,
        OperationErrorCode::AlreadyCaptured
    );
    let refund = operation(OperationKind::Refund, 5_001, &start, &id, Some(&capture_id));
    assert_eq!(
        refusal(&run(&adapter, &refund).await),
        (OperationErrorCode::AmountTooLarge, "5007".into())
    );
    assert_eq!(movements(&sb, &id), 1, "only the capture");
    assert_eq!(money(&balance(&sb, &id)), (12_000, 5_000, 0, false));

    // A capture after the authorization expired (the sandbox's control).
    let (start, id) = authorize(&adapter, CaptureMode::Manual).await;
    let expired = reqwest::Client::new()
        .post(format!("{}/_sandbox/dlocal/payments/{id}/expire", sb.url))
        .send()
        .await
        .expect("expire");
    assert_eq!(expired.status(), 204);
    let capture = operation(OperationKind::Capture, 12_000, &start, &id, None);
    assert_eq!(
        refusal(&run(&adapter, &capture).await),
        (OperationErrorCode::AuthorizationExpired, "5002".into())
    );
    assert_eq!(movements(&sb, &id), 0);
    assert_eq!(money(&balance(&sb, &id)), (12_000, 0, 0, false));

    // A sale has nothing to capture or void: refused before any call.
    let (start, id) = authorize(&adapter, CaptureMode::Automatic).await;
    assert_eq!(money(&balance(&sb, &id)), (12_000, 12_000, 0, false));
    let void = operation(OperationKind::Void, 12_000, &start, &id, None);
    let error = adapter
        .operation(&void, &flow::context(&session_id()))
        .expect_err("no call");
    assert_eq!(error.code, OperationErrorCode::AlreadyCaptured);
    // …and its refund goes against the payment itself.
    let refund = operation(OperationKind::Refund, 12_000, &start, &id, None);
    succeeded(&run(&adapter, &refund).await);
    assert_eq!(money(&balance(&sb, &id)), (12_000, 12_000, 12_000, false));
}

#[tokio::test]
async fn a_resend_with_the_same_reference_books_one_movement() {
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    let (start, id) = authorize(&adapter, CaptureMode::Manual).await;
    let cx = flow::context(&session_id());
    let capture = operation(OperationKind::Capture, 6_000, &start, &id, None);
    let Ok(OperationStep::Call { call, request }) = adapter.operation(&capture, &cx) else {
        panic!("a call");
    };
    assert!(request.retry_safe);
    let first = adapter.on_operation_response(&capture, call, flow::send(&request).await, &cx);
    let again = adapter.on_operation_response(&capture, call, flow::send(&request).await, &cx);
    assert_eq!(first, again, "the same capture answered twice");
    let OperationStep::Done(result) = first else {
        panic!("done")
    };
    let (capture_id, _) = succeeded(&result);

    let refund = operation(OperationKind::Refund, 1_000, &start, &id, Some(&capture_id));
    let Ok(OperationStep::Call { call, request }) = adapter.operation(&refund, &cx) else {
        panic!("a call");
    };
    let first = adapter.on_operation_response(&refund, call, flow::send(&request).await, &cx);
    let again = adapter.on_operation_response(&refund, call, flow::send(&request).await, &cx);
    assert_eq!(first, again, "the same refund answered twice");
    assert_eq!(movements(&sb, &id), 2, "one capture, one refund");
    assert_eq!(money(&balance(&sb, &id)), (12_000, 6_000, 1_000, false));
}

/// dLocal books the operation and the answer is lost: `Unknown`, and the lookup finds what
/// was booked. A capture that never reached dLocal is looked up and found not made.
#[tokio::test]
async fn a_lost_answer_is_unknown_and_the_lookup_finds_the_truth() {
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    let cx = flow::context(&session_id());

    // Never sent: nothing to find.
    let (start, id) = authorize(&adapter, CaptureMode::Manual).await;
    let capture = operation(OperationKind::Capture, 8_000, &start, &id, None);
    let stopped = Err(TransportFailure::Connection("the host stopped".into()));
    assert_eq!(
        adapter.on_operation_response(
            &capture,
            threeds_bridge::provider::lifecycle::OperationCall::Send,
            stopped,
            &cx
        ),
        OperationStep::Unknown
    );
    let found = follow(&adapter, &capture, adapter.operation_lookup(&capture, &cx)).await;
    let OperationStep::Done(result) = found else {
        panic!("the lookup decides: {found:?}")
    };
    assert_eq!(refusal(&result).0, OperationErrorCode::ProviderTimeout);
    assert_eq!(movements(&sb, &id), 0);

    // Capture: booked, answer dropped.
    set_faults(
        &sb,
        serde_json::json!([{"provider": "dlocal", "endpoint": "/payments", "drop_after_commit": true}]),
    )
    .await;
    let first = adapter.operation(&capture, &cx).expect("a call");
    assert_eq!(
        follow(&adapter, &capture, first).await,
        OperationStep::Unknown
    );
    assert_eq!(movements(&sb, &id), 1, "dLocal captured");
    set_faults(&sb, serde_json::json!([])).await;
    let found = follow(&adapter, &capture, adapter.operation_lookup(&capture, &cx)).await;
    let OperationStep::Done(result) = found else {
        panic!("the lookup decides: {found:?}")
    };
    let (capture_id, amount) = succeeded(&result);
    assert_eq!(amount, 8_000);
    let booked = sb.sandbox.ledger.movements();
    assert!(
        booked.iter().any(|m| m.operation_id == capture_id),
        "{booked:?}"
    );

    // Refund: booked, answer dropped; the lookup (the same POST, same key) finds it.
    set_faults(
        &sb,
        serde_json::json!([{"provider": "dlocal", "endpoint": "/refunds", "drop_after_commit": true}]),
    )
    .await;
    let refund = operation(OperationKind::Refund, 3_000, &start, &id, Some(&capture_id));
    let first = adapter.operation(&refund, &cx).expect("a call");
    assert_eq!(
        follow(&adapter, &refund, first).await,
        OperationStep::Unknown
    );
    set_faults(&sb, serde_json::json!([])).await;
    let found = follow(&adapter, &refund, adapter.operation_lookup(&refund, &cx)).await;
    let OperationStep::Done(result) = found else {
        panic!("the lookup decides: {found:?}")
    };
    assert_eq!(succeeded(&result).1, 3_000);
    assert_eq!(movements(&sb, &id), 2, "one capture, one refund");
    assert_eq!(money(&balance(&sb, &id)), (12_000, 8_000, 3_000, false));

    // Void: booked, answer dropped; the lookup reads the authorization CANCELLED.
    let (start, id) = authorize(&adapter, CaptureMode::Manual).await;
    set_faults(
        &sb,
        serde_json::json!([{"provider": "dlocal", "endpoint": format!("/payments/{id}/cancel"),
            "drop_after_commit": true}]),
    )
    .await;
    let void = operation(OperationKind::Void, 12_000, &start, &id, None);
    let first = adapter.operation(&void, &cx).expect("a call");
    assert_eq!(follow(&adapter, &void, first).await, OperationStep::Unknown);
    set_faults(&sb, serde_json::json!([])).await;
    let found = follow(&adapter, &void, adapter.operation_lookup(&void, &cx)).await;
    let OperationStep::Done(result) = found else {
        panic!("the lookup decides: {found:?}")
    };
    succeeded(&result);
    assert_eq!(money(&balance(&sb, &id)), (12_000, 0, 0, true));
    assert_eq!(movements(&sb, &id), 1);
}

/// With `manual`, a payer who passed the challenge after the session expired left an
/// authorization only; the backend's cancel of the abandoned payment voids it (dLocal's
/// "cancel an authorization"): the session ends expired and the ledger shows it released.
#[tokio::test]
async fn an_abandoned_authorization_is_voided_by_the_expiry_cancel() {
    use threeds_bridge::payment::{BrowserAction, ResultCode};
    use threeds_bridge::provider::Step;
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    let sid = session_id();
    let cx = flow::context(&sid);
    let start = payment_start("4000000000002008", CaptureMode::Manual);
    let Step::Call { state, request } = adapter.start(&start, &cx) else {
        panic!("the create");
    };
    let Step::Browser {
        state,
        action: BrowserAction::Redirect { form },
    } = adapter.on_response(state, flow::send(&request).await, &cx)
    else {
        panic!("dLocal's 3-D Secure page");
    };
    // The payer passes the challenge on dLocal's page; the session has expired meanwhile.
    let _late = flow::follow((&form).into(), Cardholder::Types("1234")).await;
    let id = sb
        .sandbox
        .ledger
        .entries()
        .into_iter()
        .find(|e| e.order_id == start.order_id.as_str())
        .map(|e| e.provider_payment_id)
        .expect("dLocal authorized it");
    assert_eq!(money(&balance(&sb, &id)), (12_000, 0, 0, false));

    let Step::Unknown { state } = adapter.on_expiry(state, &cx) else {
        panic!("abandoned on dLocal's page: in doubt until cancelled");
    };
    let Step::Call { state, request } = adapter.reconcile(state, &cx) else {
        panic!("the cancel");
    };
    let Step::Done(result) = adapter.on_response(state, flow::send(&request).await, &cx) else {
        panic!("the cancel's answer ends it");
    };
    assert_eq!(result.status, PaymentStatus::Error);
    assert_eq!(
        result.error.map(|e| e.code),
        Some(ResultCode::SessionExpired)
    );
    assert_eq!(money(&balance(&sb, &id)), (12_000, 0, 0, true));
}
