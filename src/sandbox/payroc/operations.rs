//! After the authorization: `POST /v1/payments/{paymentId}/capture` (a pre-authorization,
//! once, up to its amount), `/reverse` (the whole of an uncaptured authorization) and
//! `/refund` (a referenced refund, several partials up to what was captured). Each is an
//! idempotent POST (same key and body → the first answer, nothing done again), answers
//! the payment (200), and books its money through [`Ledger::move_money`], whose
//! refusals become Payroc problems. Also the sandbox's control to expire a
//! pre-authorization, `POST /_sandbox/payroc/payments/{paymentId}/expire`.
//!
//! [`Ledger::move_money`]: crate::sandbox::ledger::Ledger::move_money

use axum::body::Body;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::problem::{Fields, Problem, Reply};
use super::wire::{Payment, RefundSummary, ResponseCode, TransactionStatus, TransactionType};
use super::{idempotent_post, iso_utc, lock, random_id, Caller, Sandbox};
use crate::sandbox::ledger::{now_rfc3339, LedgerRefusal, Movement, MovementKind, Provider};

const ENDPOINT: &str = "/v1/payments";
/// The sandbox's control that ages a pre-authorization past its validity.
pub const EXPIRE_PATH: &str = "/_sandbox/payroc/payments/{payment_id}/expire";

/// The three operations, relative to `/payroc`.
pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/api/v1/payments/{payment_id}/capture", post(capture))
        .route("/api/v1/payments/{payment_id}/reverse", post(reverse))
        .route("/api/v1/payments/{payment_id}/refund", post(refund))
}

/// The sandbox control, at the sandbox's root.
pub fn control_routes() -> Router<Sandbox> {
    Router::new().route(EXPIRE_PATH, post(expire))
}

async fn capture(
    Extract(sandbox): Extract<Sandbox>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    operate(sandbox, payment_id, headers, body, MovementKind::Capture).await
}

async fn reverse(
    Extract(sandbox): Extract<Sandbox>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    operate(sandbox, payment_id, headers, body, MovementKind::Void).await
}

async fn refund(
    Extract(sandbox): Extract<Sandbox>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    operate(sandbox, payment_id, headers, body, MovementKind::Refund).await
}

async fn operate(
    sandbox: Sandbox,
    payment_id: String,
    headers: HeaderMap,
    body: Body,
    kind: MovementKind,
) -> Response {
    let endpoint = format!("{ENDPOINT}/{payment_id}/{}", verb(kind));
    idempotent_post(
        &sandbox,
        &headers,
        body,
        &endpoint,
        Caller::Server,
        |request, _key| act(&sandbox, &payment_id, kind, request).unwrap_or_else(Reply::from),
    )
    .await
    .into_response()
}

fn verb(kind: MovementKind) -> &'static str {
    match kind {
        MovementKind::Capture => "capture",
        MovementKind::Void => "reverse",
        MovementKind::Refund => "refund",
    }
}

/// What an operation's body asks for.
struct Asked {
    /// `None`: all of it (a capture of the whole authorization, a full reversal).
    amount: Option<i64>,
    terminal: Option<String>,
}

fn parse(kind: MovementKind, request: &Value) -> Result<Asked, Problem> {
    let mut f = Fields::default();
    let root = f.root(request)?;
    let (amount, terminal) = match kind {
        // SDK `card_payments.payments.capture`: processingTerminalId, amount?, operator?,
        // breakdown?.
        MovementKind::Capture => (
            f.optional_i64(root, "amount"),
            f.required_str(root, "processingTerminalId"),
        ),
        // SDK `card_payments.payments.reverse`: amount? (absent: the whole payment).
        MovementKind::Void => (f.optional_i64(root, "amount"), None),
        // SDK `ReferencedRefund`: amount and description, both required.
        MovementKind::Refund => {
            let amount = f.required_i64(root, "amount");
            let _description = f.required_str(root, "description");
            (amount, None)
        }
    };
    if amount.is_some_and(|a| a <= 0) {
        f.invalid(root, "amount", "The 'amount' field must be greater than 0");
    }
    f.finish()?;
    Ok(Asked { amount, terminal })
}

/// One operation on one payment: checked, booked in the ledger, written to the payment.
fn act(
    sandbox: &Sandbox,
    payment_id: &str,
    kind: MovementKind,
    request: &Value,
) -> Result<Reply, Problem> {
    let asked = parse(kind, request)?;
    let mut payments = lock(&sandbox.payroc.payments);
    let payment = payments
        .iter_mut()
        .find(|p| p.payment_id == payment_id)
        .ok_or_else(|| Problem::not_found("payment", &format!("{ENDPOINT}/{payment_id}")))?;
    check_state(payment, kind, &asked)?;
    let authorized = payment.order.amount;
    let amount = asked.amount.unwrap_or(authorized);
    if kind == MovementKind::Void && amount != authorized {
        return Err(Problem::invalid(
            "amount",
            "Invalid value",
            "Partial reversals are not available in the sandbox: leave 'amount' out to reverse the whole payment",
        ));
    }
    let operation_id = match kind {
        MovementKind::Refund => random_id(10),
        MovementKind::Capture | MovementKind::Void => payment_id.to_owned(),
    };
    sandbox
        .ledger
        .move_money(Movement {
            provider: Provider::Payroc,
            provider_payment_id: payment_id.to_owned(),
            operation_id: operation_id.clone(),
            kind,
            amount,
            time: now_rfc3339(),
        })
        .map_err(|refusal| refused(kind, refusal, authorized))?;
    apply(payment, kind, amount, operation_id);
    Ok(Reply::json(StatusCode::OK, &*payment))
}

/// What the payment's own state refuses before the ledger is asked: another terminal,
/// a declined payment, an expired pre-authorization.
fn check_state(payment: &Payment, kind: MovementKind, asked: &Asked) -> Result<(), Problem> {
    if let Some(terminal) = &asked.terminal {
        if *terminal != payment.processing_terminal_id {
            return Err(Problem::invalid(
                "processingTerminalId",
                "Invalid value",
                "The payment was not made on this processing terminal",
            ));
        }
    }
    let result = &payment.transaction_result;
    if result.response_code != ResponseCode::A {
        return Err(on_payment(
            "The payment was declined: there is nothing to capture, reverse or refund",
        ));
    }
    if result.status == TransactionStatus::Expired && kind != MovementKind::Refund {
        return Err(on_payment("The pre-authorization has expired"));
    }
    Ok(())
}

/// The ledger's refusal in Payroc's problem shape (docs/sandbox/payroc.md lists the words).
fn refused(kind: MovementKind, refusal: LedgerRefusal, authorized: i64) -> Problem {
    match (refusal, kind) {
        (LedgerRefusal::UnknownPayment, _) => {
            on_payment("The payment was declined: there is nothing to capture, reverse or refund")
        }
        (LedgerRefusal::AlreadyCaptured, MovementKind::Void) => {
            on_payment("The payment has already been captured: refund it instead")
        }
        (LedgerRefusal::AlreadyCaptured, _) => on_payment("The payment has already been captured"),
        (LedgerRefusal::AlreadyVoided, _) => on_payment("The payment has been reversed"),
        (LedgerRefusal::NotCaptured, _) => on_payment("The payment has not been captured"),
        (LedgerRefusal::AmountTooLarge, MovementKind::Refund) => Problem::invalid(
            "amount",
            "Invalid value",
            "The 'amount' field must not exceed the amount left to refund",
        ),
        (LedgerRefusal::AmountTooLarge, _) => Problem::invalid(
            "amount",
            "Invalid value",
            format!("The 'amount' field must not exceed the authorized amount ({authorized})"),
        ),
    }
}

fn on_payment(message: &str) -> Problem {
    Problem::invalid("paymentId", "Invalid value", message)
}

/// Writes a booked operation into the payment, as `GET /v1/payments/{id}` shows it after.
fn apply(payment: &mut Payment, kind: MovementKind, amount: i64, operation_id: String) {
    let result = &mut payment.transaction_result;
    match kind {
        MovementKind::Capture => {
            result.transaction_type = TransactionType::PreAuthorizationCompletion;
            result.authorized_amount = Some(amount);
        }
        MovementKind::Void => result.status = TransactionStatus::Reversal,
        MovementKind::Refund => payment.refunds.push(RefundSummary {
            refund_id: operation_id,
            date_time: iso_utc(std::time::Duration::ZERO),
            currency: payment.order.currency.clone(),
            amount,
            status: TransactionStatus::Ready,
            response_code: ResponseCode::A,
            response_message: "Transaction refunded".to_owned(),
        }),
    }
}

/// `POST /_sandbox/payroc/payments/{paymentId}/expire`: an approved, uncaptured,
/// unreversed pre-authorization reads `expired` from now on (a capture or reversal of it
/// is refused). 204; unknown → 404; anything else → 409 (the sandbox's control errors).
async fn expire(Extract(sandbox): Extract<Sandbox>, Path(payment_id): Path<String>) -> Response {
    let mut payments = lock(&sandbox.payroc.payments);
    let Some(payment) = payments.iter_mut().find(|p| p.payment_id == payment_id) else {
        return control_error(StatusCode::NOT_FOUND, "not_found", "no such payment");
    };
    let untouched = sandbox
        .ledger
        .balance(Provider::Payroc, &payment_id)
        .is_some_and(|b| b.captured == 0 && !b.voided);
    let result = &mut payment.transaction_result;
    if result.transaction_type != TransactionType::PreAuthorization
        || result.status != TransactionStatus::Ready
        || !untouched
    {
        return control_error(
            StatusCode::CONFLICT,
            "not_expirable",
            "only an approved pre-authorization nothing was captured or reversed of can expire",
        );
    }
    result.status = TransactionStatus::Expired;
    StatusCode::NO_CONTENT.into_response()
}

fn control_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}
