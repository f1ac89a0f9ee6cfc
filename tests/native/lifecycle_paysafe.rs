//! Paysafe's capture, void and refund end to end: the adapter's lifecycle calls against
//! the sandbox over real HTTP, the sandbox ledger balanced after each step, Paysafe's
//! refusals mapped to stable codes with nothing booked, a resend of the same
//! merchantRefNum booking one movement, and lost answers found by lookup.

use crate::support;

use support::flow::{self, payment, Cardholder};
use threeds_bridge::order::{Currency, OrderId};
use threeds_bridge::payment::{CaptureMode, PaymentStatus};
use threeds_bridge::provider::lifecycle::{
    Operation, OperationCall, OperationError, OperationErrorCode as Code, OperationKind,
    OperationResult, OperationStep,
};
use threeds_bridge::provider::paysafe::{Config, PaysafeAdapter};
use threeds_bridge::provider::{Adapter, Context};
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::{Balance, Movement, Provider};
use threeds_bridge::sandbox::RunningSandbox;

const PAN: &str = "4000000000001000";
const AMOUNT: u64 = 1099;
const ACCOUNT_PATH: &str = "/cardpayments/v1/accounts/89987201";

struct Paysafe {
    sandbox: RunningSandbox,
    adapter: PaysafeAdapter,
    cx: Context,
    next_reference: std::cell::Cell<u64>,
}

impl Paysafe {
    async fn new() -> Paysafe {
        let sandbox = support::sandbox().await;
        let adapter = PaysafeAdapter::new(Config::sandbox(&sandbox.url));
        Paysafe {
            sandbox,
            adapter,
            cx: flow::context("0123456789abcdef0123456789abcdef"),
            next_reference: std::cell::Cell::new(1),
        }
    }

    /// A frictionless payment authorized in `mode`: the authorization's id.
    async fn authorize(&self, mode: CaptureMode, tag: &str) -> String {
        let mut start = payment(PAN);
        start.capture_mode = mode;
        let session = format!("{tag:0<32}");
        let (result, _) =
            flow::run(&self.adapter, &start, &session, Cardholder::Types("1234")).await;
        assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
        let id = result.provider_payment_id.expect("an authorization id");
        let entry = self
            .sandbox
            .sandbox
            .ledger
            .entries()
            .into_iter()
            .find(|e| e.provider == Provider::Paysafe && e.provider_payment_id == id)
            .expect("the ledger has the authorization");
        assert_eq!(entry.sale, mode == CaptureMode::Automatic, "{mode:?}");
        id
    }

    /// An operation on authorization `auth` with a fresh reference.
    fn operation(&self, kind: OperationKind, amount: u64, auth: &str) -> Operation {
        let n = self.next_reference.get();
        self.next_reference.set(n + 1);
        Operation {
            kind,
            amount,
            currency: Currency::parse("USD").unwrap(),
            order_id: OrderId::parse(&format!("order-{PAN}")).unwrap(),
            authorized_amount: AMOUNT,
            capture_mode: CaptureMode::Manual,
            provider_payment_id: auth.to_owned(),
            capture_id: None,
            reference: format!("{n:032x}"),
        }
    }

    fn refund(&self, amount: u64, auth: &str, settlement: &str) -> Operation {
        Operation {
            capture_id: Some(settlement.to_owned()),
            ..self.operation(OperationKind::Refund, amount, auth)
        }
    }

    /// Sends `step`'s calls until the operation ends or is in doubt.
    async fn follow(&self, op: &Operation, mut step: OperationStep) -> OperationStep {
        for _ in 0..6 {
            let OperationStep::Call { call, request } = step else {
                return step;
            };
            let answer = flow::send(&request).await;
            step = self
                .adapter
                .on_operation_response(op, call, answer, &self.cx);
        }
        panic!("the operation did not end");
    }

    async fn run(&self, op: &Operation) -> OperationStep {
        let first = self
            .adapter
            .operation(op, &self.cx)
            .expect("Paysafe can do it");
        self.follow(op, first).await
    }

    async fn succeeds(&self, op: &Operation) -> String {
        match self.run(op).await {
            OperationStep::Done(OperationResult::Succeeded {
                provider_operation_id,
                amount,
            }) => {
                assert_eq!(amount, op.amount);
                provider_operation_id
            }
            other => panic!("{:?} {}: {other:?}", op.kind, op.amount),
        }
    }

    /// The operation is refused with `code` and Paysafe's `provider_code`, and nothing
    /// of the authorization moves.
    async fn refused(&self, op: &Operation, code: Code, provider_code: &str) -> OperationError {
        let before = self.movements(&op.provider_payment_id).len();
        let step = self.run(op).await;
        let OperationStep::Done(OperationResult::Refused(error)) = step else {
            panic!(
                "{:?} {}: expected a refusal, got {step:?}",
                op.kind, op.amount
            );
        };
        assert_eq!(error.code, code, "{error:?}");
        assert_eq!(error.provider_code.as_deref(), Some(provider_code));
        assert!(error.provider_message.is_some());
        assert_eq!(self.movements(&op.provider_payment_id).len(), before);
        error
    }

    fn balance(&self, auth: &str) -> Balance {
        self.sandbox
            .sandbox
            .ledger
            .balance(Provider::Paysafe, auth)
            .expect("a balance")
    }

    fn movements(&self, auth: &str) -> Vec<Movement> {
        self.sandbox
            .sandbox
            .ledger
            .movements()
            .into_iter()
            .filter(|m| m.provider == Provider::Paysafe && m.provider_payment_id == auth)
            .collect()
    }

    /// Captured never above authorized, refunded never above captured, and the sums as
    /// expected.
    fn assert_balance(&self, auth: &str, captured: i64, refunded: i64, voided: bool) {
        let b = self.balance(auth);
        assert_eq!(
            (b.authorized, b.captured, b.refunded, b.voided),
            (AMOUNT as i64, captured, refunded, voided)
        );
        assert!(b.captured <= b.authorized && b.refunded <= b.captured);
    }
}

#[tokio::test]
async fn manual_authorization_partial_capture_partial_refund_then_the_rest() {
    let paysafe = Paysafe::new().await;
    let auth = paysafe.authorize(CaptureMode::Manual, "manual").await;
    paysafe.assert_balance(&auth, 0, 0, false);

    let capture = paysafe.operation(OperationKind::Capture, 600, &auth);
    let settlement = paysafe.succeeds(&capture).await;
    assert_ne!(settlement, auth, "a settlement of its own");
    paysafe.assert_balance(&auth, 600, 0, false);

    paysafe
        .succeeds(&paysafe.refund(250, &auth, &settlement))
        .await;
    paysafe.assert_balance(&auth, 600, 250, false);

    paysafe
        .succeeds(&paysafe.refund(350, &auth, &settlement))
        .await;
    paysafe.assert_balance(&auth, 600, 600, false);

    // Nothing is left: Paysafe's "fully refunded".
    let more = paysafe.refund(1, &auth, &settlement);
    paysafe.refused(&more, Code::AmountTooLarge, "3404").await;
    assert_eq!(paysafe.movements(&auth).len(), 3);
}

#[tokio::test]
async fn manual_authorization_then_void() {
    let paysafe = Paysafe::new().await;
    let auth = paysafe.authorize(CaptureMode::Manual, "void").await;
    let void = paysafe.operation(OperationKind::Void, AMOUNT, &auth);
    paysafe.succeeds(&void).await;
    paysafe.assert_balance(&auth, 0, 0, true);

    // Paysafe's "either fully settled or cancelled" for a settlement now (read as
    // already captured: the code does not say which; docs/backend/paysafe.md).
    let capture = paysafe.operation(OperationKind::Capture, 600, &auth);
    paysafe
        .refused(&capture, Code::AlreadyCaptured, "3203")
        .await;
    // A second reversal: nothing is left of the authorization.
    let again = paysafe.operation(OperationKind::Void, AMOUNT, &auth);
    paysafe.refused(&again, Code::AlreadyVoided, "3501").await;
    paysafe.assert_balance(&auth, 0, 0, true);
}

#[tokio::test]
async fn wrong_orders_and_amounts_get_paysafe_codes_and_book_nothing() {
    let paysafe = Paysafe::new().await;
    let auth = paysafe.authorize(CaptureMode::Manual, "wrong").await;

    let too_much = paysafe.operation(OperationKind::Capture, AMOUNT + 1, &auth);
    paysafe
        .refused(&too_much, Code::AmountTooLarge, "3204")
        .await;
    let partial_void = paysafe.operation(OperationKind::Void, 100, &auth);
    let error = paysafe
        .adapter
        .operation(&partial_void, &paysafe.cx)
        .expect_err("refused before any call");
    assert_eq!(error.code, Code::Unsupported);

    let capture = paysafe.operation(OperationKind::Capture, AMOUNT, &auth);
    let settlement = paysafe.succeeds(&capture).await;
    let void = paysafe.operation(OperationKind::Void, AMOUNT, &auth);
    paysafe.refused(&void, Code::AlreadyCaptured, "3502").await;
    let second = paysafe.operation(OperationKind::Capture, 1, &auth);
    paysafe
        .refused(&second, Code::AlreadyCaptured, "3203")
        .await;
    let above = paysafe.refund(AMOUNT + 1, &auth, &settlement);
    paysafe.refused(&above, Code::AmountTooLarge, "3402").await;
    paysafe.assert_balance(&auth, AMOUNT as i64, 0, false);
    assert_eq!(paysafe.movements(&auth).len(), 1);

    // A refund of an authorization nothing was settled of: no call can be made.
    let other = paysafe.authorize(CaptureMode::Manual, "nothing").await;
    let error = paysafe
        .adapter
        .operation(
            &paysafe.operation(OperationKind::Refund, 100, &other),
            &paysafe.cx,
        )
        .expect_err("refused before any call");
    assert_eq!(error.code, Code::NotCaptured);
}

#[tokio::test]
async fn capture_after_expiry_is_refused() {
    let paysafe = Paysafe::new().await;
    let auth = paysafe.authorize(CaptureMode::Manual, "expiry").await;
    let client = reqwest::Client::new();
    let expire = |id: String| {
        client
            .post(format!(
                "{}/_sandbox/paysafe/auths/{id}/expire",
                paysafe.sandbox.url
            ))
            .send()
    };
    let response = expire(auth.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    let unknown = expire("no-such-auth".into()).await.unwrap();
    assert_eq!(unknown.status(), 404);

    let capture = paysafe.operation(OperationKind::Capture, 600, &auth);
    paysafe
        .refused(&capture, Code::AuthorizationExpired, "3205")
        .await;
    paysafe.assert_balance(&auth, 0, 0, false);
}

#[tokio::test]
async fn an_automatic_payment_is_refunded_under_its_authorization_id() {
    let paysafe = Paysafe::new().await;
    let auth = paysafe.authorize(CaptureMode::Automatic, "auto").await;
    paysafe.assert_balance(&auth, AMOUNT as i64, 0, false);
    let refund = Operation {
        capture_mode: CaptureMode::Automatic,
        ..paysafe.operation(OperationKind::Refund, 500, &auth)
    };
    paysafe.succeeds(&refund).await;
    paysafe.assert_balance(&auth, AMOUNT as i64, 500, false);
    let capture = Operation {
        capture_mode: CaptureMode::Automatic,
        ..paysafe.operation(OperationKind::Capture, 500, &auth)
    };
    let error = paysafe
        .adapter
        .operation(&capture, &paysafe.cx)
        .unwrap_err();
    assert_eq!(error.code, Code::AlreadyCaptured);
}

#[tokio::test]
async fn a_resend_with_the_same_reference_books_one_movement() {
    let paysafe = Paysafe::new().await;
    let auth = paysafe.authorize(CaptureMode::Manual, "resend").await;
    let capture = paysafe.operation(OperationKind::Capture, 600, &auth);
    let Ok(OperationStep::Call { request, .. }) = paysafe.adapter.operation(&capture, &paysafe.cx)
    else {
        panic!("expected the settlement");
    };
    assert!(request.retry_safe);
    let first = flow::send(&request).await.expect("an answer");
    assert_eq!(first.status, 200);
    let settlement: serde_json::Value = serde_json::from_str(&first.body).unwrap();

    // The host's resend: Paysafe refuses the merchantRefNum, the adapter looks it up.
    let again = flow::send(&request).await;
    assert_eq!(again.as_ref().map(|r| r.status).ok(), Some(409));
    let step =
        paysafe
            .adapter
            .on_operation_response(&capture, OperationCall::Send, again, &paysafe.cx);
    assert!(matches!(
        step,
        OperationStep::Call {
            call: OperationCall::Lookup,
            ..
        }
    ));
    let end = paysafe.follow(&capture, step).await;
    assert_eq!(
        end,
        OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id: settlement["id"].as_str().unwrap().to_owned(),
            amount: 600
        })
    );
    assert_eq!(paysafe.movements(&auth).len(), 1);
    paysafe.assert_balance(&auth, 600, 0, false);
}

#[tokio::test]
async fn lost_answers_are_unknown_and_the_lookup_finds_the_truth() {
    let paysafe = Paysafe::new().await;
    let auth = paysafe.authorize(CaptureMode::Manual, "lost").await;
    let faults = &paysafe.sandbox.sandbox.faults;

    // The settlement is made, its answer dropped.
    faults.set(vec![FaultRule {
        provider: Some(Provider::Paysafe),
        endpoint: Some(format!("{ACCOUNT_PATH}/auths/{auth}/settlements")),
        drop_after_commit: true,
        ..FaultRule::default()
    }]);
    let capture = paysafe.operation(OperationKind::Capture, 600, &auth);
    assert_eq!(paysafe.run(&capture).await, OperationStep::Unknown);
    faults.set(Vec::new());
    paysafe.assert_balance(&auth, 600, 0, false);
    let lookup = paysafe.adapter.operation_lookup(&capture, &paysafe.cx);
    let OperationStep::Done(OperationResult::Succeeded {
        provider_operation_id: settlement,
        amount: 600,
    }) = paysafe.follow(&capture, lookup).await
    else {
        panic!("the lookup finds the settlement");
    };
    assert_eq!(paysafe.movements(&auth).len(), 1);

    // The refund fails before Paysafe books it (503): the lookup finds nothing and the
    // same merchantRefNum is sent again, once.
    faults.set(vec![FaultRule {
        provider: Some(Provider::Paysafe),
        endpoint: Some(format!("{ACCOUNT_PATH}/settlements/{settlement}/refunds")),
        error_rate: 1.0,
        error_status: Some(503),
        ..FaultRule::default()
    }]);
    let refund = paysafe.refund(600, &auth, &settlement);
    assert_eq!(paysafe.run(&refund).await, OperationStep::Unknown);
    faults.set(Vec::new());
    paysafe.assert_balance(&auth, 600, 0, false);
    let lookup = paysafe.adapter.operation_lookup(&refund, &paysafe.cx);
    assert!(matches!(
        paysafe.follow(&refund, lookup).await,
        OperationStep::Done(OperationResult::Succeeded { amount: 600, .. })
    ));
    assert_eq!(paysafe.movements(&auth).len(), 2);
    paysafe.assert_balance(&auth, 600, 600, false);
}

/// The sandbox's own answers, as a merchant without this adapter sees them: Paysafe's
/// error envelope, credentials and account checks, field errors, `dupCheck`, and the
/// lookups by id and merchantRefNum.
#[tokio::test]
async fn the_sandbox_answers_lifecycle_calls_in_paysafe_shapes() {
    use serde_json::{json, Value};
    let paysafe = Paysafe::new().await;
    let auth = paysafe.authorize(CaptureMode::Manual, "shapes").await;
    let client = reqwest::Client::new();
    let base = format!("{}/paysafe{ACCOUNT_PATH}", paysafe.sandbox.url);
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.expect("an answer");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("JSON");
        (status, body)
    };
    let post = |path: String, body: Value| {
        client
            .post(format!("{base}{path}"))
            .basic_auth("sandbox-paysafe-user", Some("sandbox-paysafe-password"))
            .json(&body)
    };
    let get = |path: String| {
        client
            .get(format!("{base}{path}"))
            .basic_auth("sandbox-paysafe-user", Some("sandbox-paysafe-password"))
    };
    let code = |body: &Value| {
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let settlements = format!("/auths/{auth}/settlements");

    // Credentials, account, fields and ids, before anything is booked.
    let (status, body) = send(
        client
            .post(format!("{base}{settlements}"))
            .json(&json!({"merchantRefNum": "a"})),
    )
    .await;
    assert_eq!((status, code(&body)), (401, "5279".into()));
    let (status, body) = send(
        client
            .post(format!(
                "{}/paysafe/cardpayments/v1/accounts/11111111/auths/{auth}/settlements",
                paysafe.sandbox.url
            ))
            .basic_auth("sandbox-paysafe-user", Some("sandbox-paysafe-password"))
            .json(&json!({"merchantRefNum": "a"})),
    )
    .await;
    assert_eq!((status, code(&body)), (401, "5270".into()));
    let (status, body) = send(post(settlements.clone(), json!({"amount": 0}))).await;
    assert_eq!((status, code(&body)), (400, "5068".into()));
    let fields: Vec<&str> = body["error"]["fieldErrors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"merchantRefNum") && fields.contains(&"amount"),
        "{body}"
    );
    let (status, body) = send(post(
        "/auths/no-such-auth/settlements".into(),
        json!({"merchantRefNum": "a"}),
    ))
    .await;
    assert_eq!((status, code(&body)), (404, "5269".into()));
    assert!(paysafe.movements(&auth).is_empty());

    // A settlement of part of it (amount given), then its shapes and lookups.
    let (status, settlement) = send(post(
        settlements.clone(),
        json!({"merchantRefNum": "settle-1", "amount": 700}),
    ))
    .await;
    assert_eq!(status, 200, "{settlement}");
    assert_eq!(settlement["status"], "PENDING");
    assert_eq!(
        (&settlement["amount"], &settlement["availableToRefund"]),
        (&json!(700), &json!(700))
    );
    let id = settlement["id"].as_str().unwrap().to_owned();
    let (status, duplicate) = send(post(
        settlements.clone(),
        json!({"merchantRefNum": "settle-1", "amount": 1}),
    ))
    .await;
    assert_eq!((status, code(&duplicate)), (409, "5031".into()));
    assert_eq!(duplicate["existingTransactionId"], json!(id));
    let (status, found) = send(get("/settlements?merchantRefNum=settle-1".into())).await;
    assert_eq!(status, 200);
    assert_eq!(found["settlements"].as_array().map(Vec::len), Some(1));
    let (_, none) = send(get("/voidauths?merchantRefNum=settle-1".into())).await;
    assert_eq!(none, json!({"voidAuths": []}));
    let (status, body) = send(get("/refunds".into())).await;
    assert_eq!((status, code(&body)), (400, "5068".into()));
    let (_, authorization) = send(get(format!("/auths/{auth}"))).await;
    assert_eq!(
        authorization["availableToSettle"], 0,
        "the rest is released"
    );

    // Refunds without an amount take what is left; dupCheck=false allows a reused
    // merchantRefNum, and the ledger still holds the line.
    let refunds = format!("/settlements/{id}/refunds");
    let (status, first) = send(post(
        refunds.clone(),
        json!({"merchantRefNum": "refund-1", "amount": 200}),
    ))
    .await;
    assert_eq!((status, &first["status"]), (200, &json!("PENDING")));
    let (status, rest) = send(post(
        refunds.clone(),
        json!({"merchantRefNum": "refund-1", "dupCheck": false}),
    ))
    .await;
    assert_eq!((status, &rest["amount"]), (200, &json!(500)), "{rest}");
    let (_, listed) = send(get("/refunds?merchantRefNum=refund-1".into())).await;
    assert_eq!(listed["refunds"].as_array().map(Vec::len), Some(2));
    let (_, one) = send(get(format!("/refunds/{}", rest["id"].as_str().unwrap()))).await;
    assert_eq!(one["amount"], 500);
    let (_, now) = send(get(format!("/settlements/{id}"))).await;
    assert_eq!(now["availableToRefund"], 0);
    paysafe.assert_balance(&auth, 700, 700, false);
    assert_eq!(paysafe.movements(&auth).len(), 3);
}
