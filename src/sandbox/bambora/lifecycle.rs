//! After the authorization: `POST /v1/payments/{transId}/completions` (a pre-auth
//! completed for at most its amount, once), `…/void` (a purchase or pre-auth released,
//! for its whole amount, before any completion) and `…/returns` (of a purchase or a
//! completion, several partials up to what was taken). Each approved one is a new
//! transaction (`PAC`, `VP`, `R`) with its own id, found by the Reporting search like
//! any other, and a movement booked through [`crate::sandbox::ledger::Ledger::move_money`]
//! under the sandbox's lock. Refusals answer Bambora's error shape (HTTP 400, category
//! 2) with the codes docs/sandbox/bambora.md lists. `POST /_sandbox/expire/{transId}`
//! (under `/bambora`) makes a pre-auth expired, so its completion is refused.

use axum::body::Body;
use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use super::fields::Check;
use super::wire::{dollars, ApiError, Category, Payment, PaymentType};
use super::{authenticate, json_body, Memory, State, Transaction};
use crate::sandbox::ledger::{now_rfc3339, LedgerRefusal, Movement, MovementKind, Provider};
use crate::sandbox::Sandbox;

/// The codes of a refused completion, void or return (the backend's adapter reads them).
const AMOUNT_TOO_LARGE: (u32, &str) = (197, "Amount exceeds the remaining amount");
const ALREADY_COMPLETED: (u32, &str) = (194, "Transaction already completed");
const ALREADY_VOIDED: (u32, &str) = (195, "Transaction already voided");
const PREAUTH_EXPIRED: (u32, &str) = (196, "Pre-authorization expired");
const NOTHING_TO_RETURN: (u32, &str) = (199, "Nothing was completed to return");

fn refused((code, message): (u32, &str)) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        code,
        Category::BusinessRule,
        message,
    )
}

/// A parsed completion, void or return body.
struct Asked {
    cents: i64,
    order_number: Option<String>,
}

/// `kind`'s body: `amount` and an optional `order_number`; a completion's is a
/// `PaymentRequest` (the spec's `completePayment`), which also requires `payment_method`.
fn asked(body: &Map<String, Value>, kind: MovementKind) -> Result<Asked, ApiError> {
    let mut check = Check::default();
    let cents = check.amount(body);
    let order_number = check.string(body, "order_number", "order_number", false, 30);
    if kind == MovementKind::Capture {
        let method = check.string(body, "payment_method", "payment_method", true, 32);
        if method
            .as_deref()
            .is_some_and(|m| m != "card" && m != "token")
        {
            check.fail(
                "payment_method",
                "Only 'card' and 'token' payments are served by the sandbox",
            );
        }
    }
    check.finish()?;
    Ok(Asked {
        cents: cents.unwrap_or_default(),
        order_number,
    })
}

pub(super) async fn complete(
    shared: Shared<Sandbox>,
    id: Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    operate(shared, id, headers, body, MovementKind::Capture).await
}

pub(super) async fn void(
    shared: Shared<Sandbox>,
    id: Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    operate(shared, id, headers, body, MovementKind::Void).await
}

pub(super) async fn give_back(
    shared: Shared<Sandbox>,
    id: Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    operate(shared, id, headers, body, MovementKind::Refund).await
}

/// `POST /bambora/_sandbox/expire/{transId}`: the pre-auth counts as expired.
pub(super) async fn expire(Shared(sandbox): Shared<Sandbox>, Path(id): Path<String>) -> Response {
    if sandbox.bambora.expire_preauth(&id) {
        Json(serde_json::json!({ "expired": id })).into_response()
    } else {
        ApiError::unknown_id("transId").into_response()
    }
}

async fn operate(
    Shared(sandbox): Shared<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
    kind: MovementKind,
) -> Response {
    let result = async {
        authenticate(&headers)?;
        let body = json_body(&headers, body).await?;
        let asked = asked(&body, kind)?;
        sandbox.bambora.lock().operate(&sandbox, &id, kind, asked)
    }
    .await;
    match result {
        Ok(payment) => Json(payment).into_response(),
        Err(error) => error.into_response(),
    }
}

impl State {
    /// Makes pre-auth `id` expired; false when there is no such pre-auth.
    pub fn expire_preauth(&self, id: &str) -> bool {
        let mut memory = self.lock();
        match memory.payments.get_mut(id) {
            Some(t) if t.payment.kind == PaymentType::PA => {
                t.expired = true;
                true
            }
            _ => false,
        }
    }
}

impl Memory {
    fn operate(
        &mut self,
        sandbox: &Sandbox,
        id: &str,
        kind: MovementKind,
        asked: Asked,
    ) -> Result<Payment, ApiError> {
        let target = self
            .payments
            .get(id)
            .filter(|t| t.payment.approved == "1")
            .ok_or_else(|| ApiError::unknown_id("transId"))?;
        // The authorization a movement books against: the target, or the pre-auth a
        // completion completed.
        let authorization = target.parent.clone().unwrap_or_else(|| id.to_owned());
        match (kind, target.payment.kind) {
            (MovementKind::Capture, PaymentType::PA) if target.expired => {
                return Err(refused(PREAUTH_EXPIRED))
            }
            (MovementKind::Capture, PaymentType::PA) => {}
            (MovementKind::Capture, _) => return Err(refused(ALREADY_COMPLETED)),
            (MovementKind::Void, PaymentType::P | PaymentType::PA) => {
                if asked.cents != target.cents {
                    return Err(ApiError::invalid_field(
                        "amount",
                        "Must be equal to the original amount",
                    ));
                }
            }
            (MovementKind::Refund, PaymentType::P | PaymentType::PAC) => {}
            (MovementKind::Refund, PaymentType::PA) => return Err(refused(NOTHING_TO_RETURN)),
            _ => return Err(ApiError::unknown_id("transId")),
        }
        let template = target.payment.clone();
        let masked_card = target.masked_card.clone();
        let new_id = (10_000_000 + self.last_id + 1).to_string();
        sandbox
            .ledger
            .move_money(Movement {
                provider: Provider::Bambora,
                provider_payment_id: authorization.clone(),
                operation_id: new_id.clone(),
                kind,
                amount: asked.cents,
                time: now_rfc3339(),
            })
            .map_err(|refusal| match refusal {
                LedgerRefusal::UnknownPayment => ApiError::unknown_id("transId"),
                LedgerRefusal::AlreadyCaptured => refused(ALREADY_COMPLETED),
                LedgerRefusal::AlreadyVoided => refused(ALREADY_VOIDED),
                LedgerRefusal::NotCaptured => refused(NOTHING_TO_RETURN),
                LedgerRefusal::AmountTooLarge => refused(AMOUNT_TOO_LARGE),
            })?;
        self.last_id += 1;
        let payment = Payment {
            id: new_id.clone(),
            message_id: "1".into(),
            message: "Approved".into(),
            created: super::payments::created_now(),
            order_number: asked.order_number.unwrap_or(template.order_number.clone()),
            kind: match kind {
                MovementKind::Capture => PaymentType::PAC,
                MovementKind::Void => PaymentType::VP,
                MovementKind::Refund => PaymentType::R,
            },
            amount: dollars(asked.cents),
            three_d_secure: None,
            links: Vec::new(),
            ..template
        };
        self.payments.insert(
            new_id,
            Transaction {
                payment: payment.clone(),
                masked_card,
                cents: asked.cents,
                parent: Some(authorization),
                expired: false,
            },
        );
        Ok(payment)
    }
}
