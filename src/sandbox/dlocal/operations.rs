//! After the authorization: dLocal's capture (`POST /payments {authorization_id, amount,
//! currency, order_id}`), the cancel of an uncaptured authorization
//! (`POST /payments/{id}/cancel`), refunds (`POST /refunds`, `GET /refunds/{id}`,
//! `GET /refunds/{id}/status`) and the sandbox's control to expire an authorization.
//! Every one is signed like any dLocal call, deduplicated on `X-Idempotency-Key` (a
//! repeated key answers the first operation again, nothing moves twice), and booked
//! through [`Ledger::move_money`](crate::sandbox::ledger::Ledger::move_money); the
//! ledger's refusals answer in dLocal's error shape (5002 invalid status naming the
//! payment's status, 5007 amount exceeded, 4000 not found). docs/sandbox/dlocal.md.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};

use super::payments::{dlocal_date, read_body, After, Payment};
use super::wire::{Money, OrderObject, PaymentObject};
use super::{auth, ApiError, Inner};
use crate::sandbox::ledger::{now_rfc3339, LedgerRefusal, Movement, MovementKind, Provider};
use crate::sandbox::Sandbox;

/// What an `X-Idempotency-Key` of an operation made: its answer is rendered again.
#[derive(Debug, Clone)]
pub(super) enum Replay {
    Capture(String),
    Void(String),
    Refund(String),
}

/// One capture of an authorization.
#[derive(Debug, Clone)]
pub(super) struct Capture {
    pub id: String,
    pub authorization_id: String,
    pub amount: Money,
    /// The merchant's id of the capture (`order_id` of the capture request).
    pub order_id: Option<String>,
    pub date: String,
}

/// One refund.
#[derive(Debug, Clone)]
pub(super) struct Refund {
    pub id: String,
    /// The id the merchant refunded (the authorization's or the capture's).
    pub payment_id: String,
    pub amount: Money,
    pub status: RefundStatus,
    pub order_id: String,
    pub order_refund_id: Option<String>,
    pub notification_url: Option<String>,
    pub date: String,
}

/// docs.dlocal.com/reference/refund-status-codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RefundStatus {
    Pending,
    Success,
    Rejected,
}

impl RefundStatus {
    fn line(self) -> (&'static str, u16, &'static str) {
        match self {
            RefundStatus::Pending => ("PENDING", 100, "The refund is pending."),
            RefundStatus::Success => ("SUCCESS", 200, "The refund was paid."),
            RefundStatus::Rejected => ("REJECTED", 300, "The refund was rejected."),
        }
    }
}

/// The answer to a capture: a payment object of its own, pointing at the authorization.
#[derive(Debug, Serialize)]
struct CaptureObject {
    id: String,
    authorization_id: String,
    amount: serde_json::Number,
    currency: String,
    status: &'static str,
    status_code: String,
    status_detail: &'static str,
    order_id: Option<String>,
    created_date: String,
    approved_date: String,
}

/// The refund object (docs.dlocal.com/reference/the-refund-object).
#[derive(Debug, Serialize)]
struct RefundObject {
    id: String,
    payment_id: String,
    amount: serde_json::Number,
    currency: String,
    status: &'static str,
    status_code: String,
    status_detail: &'static str,
    created_date: String,
    order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_refund_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_url: Option<String>,
}

impl Capture {
    fn object(&self) -> CaptureObject {
        CaptureObject {
            id: self.id.clone(),
            authorization_id: self.authorization_id.clone(),
            amount: self.amount.major(),
            currency: self.amount.currency.clone(),
            status: "PAID",
            status_code: "200".into(),
            status_detail: "The payment was paid.",
            order_id: self.order_id.clone(),
            created_date: self.date.clone(),
            approved_date: self.date.clone(),
        }
    }
}

impl Capture {
    /// The order object of the capture's own `order_id` (`GET /orders/{order_id}`).
    pub(super) fn order_object(&self) -> OrderObject {
        OrderObject {
            order_id: self.order_id.clone().unwrap_or_default(),
            payment_id: self.id.clone(),
            currency: self.amount.currency.clone(),
            amount: self.amount.major(),
            created_date: self.date.clone(),
            approved_date: Some(self.date.clone()),
            status: "PAID",
            status_code: "200".into(),
            status_detail: "The payment was paid.".into(),
        }
    }
}

/// The capture made under the merchant's `order_id`, if any.
pub(super) fn capture_by_order<'a>(inner: &'a Inner, order_id: &str) -> Option<&'a Capture> {
    inner
        .captures
        .values()
        .find(|capture| capture.order_id.as_deref() == Some(order_id))
}

impl Refund {
    fn object(&self) -> RefundObject {
        let (status, code, detail) = self.status.line();
        RefundObject {
            id: self.id.clone(),
            payment_id: self.payment_id.clone(),
            amount: self.amount.major(),
            currency: self.amount.currency.clone(),
            status,
            status_code: code.to_string(),
            status_detail: detail,
            created_date: self.date.clone(),
            order_id: self.order_id.clone(),
            order_refund_id: self.order_refund_id.clone(),
            notification_url: self.notification_url.clone(),
        }
    }
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("X-Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A ledger refusal in dLocal's words: 5002 names the status that forbids the operation,
/// 5007 an amount above what is left.
fn refused(refusal: LedgerRefusal) -> ApiError {
    match refusal {
        LedgerRefusal::UnknownPayment => ApiError::payment_not_found(),
        LedgerRefusal::AlreadyCaptured => ApiError::invalid_status("PAID"),
        LedgerRefusal::AlreadyVoided => ApiError::invalid_status("CANCELLED"),
        LedgerRefusal::NotCaptured => ApiError::invalid_status("AUTHORIZED"),
        LedgerRefusal::AmountTooLarge => ApiError::amount_exceeded(),
    }
}

fn movement(payment: &Payment, kind: MovementKind, id: &str, amount: i64) -> Movement {
    Movement {
        provider: Provider::Dlocal,
        provider_payment_id: payment.id.clone(),
        operation_id: id.to_owned(),
        kind,
        amount,
        time: now_rfc3339(),
    }
}

/// The body as a JSON object.
fn members(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(ApiError::invalid_request("Invalid request body")),
    }
}

fn text(object: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_parameter(name)),
    }
}

/// `amount` with `currency` (required together), in the payment's currency; `None` when
/// both are absent.
fn amount(object: &Map<String, Value>, of: &Money) -> Result<Option<Money>, ApiError> {
    let currency = text(object, "currency")?;
    let Some(value) = object.get("amount").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let currency = currency.ok_or_else(|| ApiError::missing_parameter("currency"))?;
    if currency != of.currency {
        return Err(ApiError::invalid_parameter("currency"));
    }
    let minor = super::wire::minor_of(value, &currency)
        .ok_or_else(|| ApiError::invalid_parameter("amount"))?;
    Ok(Some(Money { minor, currency }))
}

/// `POST /payments`: a capture when the body names an `authorization_id`, else a payment
/// create (a Smart Fields token payment).
pub(super) async fn create_or_capture(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    if is_capture(&body) {
        return capture(&sandbox, &headers, &body);
    }
    match super::payments::create_from(sandbox, headers, body) {
        Ok(object) => object.into_response(),
        Err(error) => error.into_response(),
    }
}

/// Whether a `POST /payments` body is a capture (it names the authorization).
pub(super) fn is_capture(body: &[u8]) -> bool {
    members(body).is_ok_and(|object| object.contains_key("authorization_id"))
}

/// `POST /payments` with `authorization_id`: captures all or part of an `AUTHORIZED`
/// payment, once (a partial capture releases the rest, as the ledger books it).
pub(super) fn capture(sandbox: &Sandbox, headers: &HeaderMap, body: &Bytes) -> Response {
    match capture_inner(sandbox, headers, body) {
        Ok(object) => Json(object).into_response(),
        Err(error) => error.into_response(),
    }
}

fn capture_inner(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<CaptureObject, ApiError> {
    auth::verify(headers, body)?;
    let key = idempotency_key(headers);
    let object = members(body)?;
    let authorization_id = text(&object, "authorization_id")?
        .ok_or_else(|| ApiError::missing_parameter("authorization_id"))?;
    let order_id = text(&object, "order_id")?;
    let mut inner = sandbox.dlocal.lock();
    if let Some(Replay::Capture(id)) = key.as_ref().and_then(|k| inner.operation_keys.get(k)) {
        if let Some(capture) = inner.captures.get(id) {
            return Ok(capture.object());
        }
    }
    let payment = inner
        .payments
        .get(&authorization_id)
        .ok_or_else(ApiError::payment_not_found)?;
    if !payment.is_open_authorization() {
        return Err(ApiError::invalid_status(payment.status_line().status));
    }
    let amount = amount(&object, &payment.amount)?.unwrap_or_else(|| payment.amount.clone());
    let id = format!("T-4-{}", uuid::Uuid::new_v4());
    sandbox
        .ledger
        .move_money(movement(payment, MovementKind::Capture, &id, amount.minor))
        .map_err(refused)?;
    let capture = Capture {
        id: id.clone(),
        authorization_id: authorization_id.clone(),
        amount,
        order_id,
        date: dlocal_date(),
    };
    let answer = capture.object();
    if let Some(payment) = inner.payments.get_mut(&authorization_id) {
        payment.after = After::Captured(id.clone());
    }
    remember(&mut inner, key, Replay::Capture(id.clone()));
    inner.captures.insert(id, capture);
    Ok(answer)
}

fn remember(inner: &mut Inner, key: Option<String>, replay: Replay) {
    if let Some(key) = key {
        inner.operation_keys.insert(key, replay);
    }
}

/// `POST /payments/{id}/cancel` of an approved payment: an uncaptured authorization is
/// cancelled (`CANCELLED` 400, the ledger books the void); anything else is refused 5002
/// naming its status. A repeated `X-Idempotency-Key` answers the cancelled payment again.
pub(super) fn void(
    sandbox: &Sandbox,
    inner: &mut Inner,
    id: &str,
    key: Option<String>,
) -> Result<PaymentObject, ApiError> {
    let replayed = matches!(
        key.as_ref().and_then(|k| inner.operation_keys.get(k)),
        Some(Replay::Void(voided)) if voided == id
    );
    let payment = inner
        .payments
        .get(id)
        .ok_or_else(ApiError::payment_not_found)?;
    if replayed {
        return Ok(payment.object(sandbox));
    }
    if !payment.is_open_authorization() {
        return Err(ApiError::invalid_status(payment.status_line().status));
    }
    let void_id = format!("V-4-{}", uuid::Uuid::new_v4());
    sandbox
        .ledger
        .move_money(movement(
            payment,
            MovementKind::Void,
            &void_id,
            payment.amount.minor,
        ))
        .map_err(refused)?;
    remember(inner, key, Replay::Void(id.to_owned()));
    let payment = inner
        .payments
        .get_mut(id)
        .ok_or_else(ApiError::payment_not_found)?;
    payment.after = After::Voided;
    Ok(payment.object(sandbox))
}

/// The idempotency key of a cancel, for `payments::cancel`.
pub(super) fn cancel_key(headers: &HeaderMap) -> Option<String> {
    idempotency_key(headers)
}

/// `POST /refunds`.
pub(super) async fn refund(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    match refund_inner(&sandbox, &headers, &body) {
        Ok(object) => Json(object).into_response(),
        Err(error) => error.into_response(),
    }
}

fn refund_inner(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<RefundObject, ApiError> {
    auth::verify(headers, body)?;
    let key = idempotency_key(headers);
    let object = members(body)?;
    let payment_id =
        text(&object, "payment_id")?.ok_or_else(|| ApiError::missing_parameter("payment_id"))?;
    let notification_url = text(&object, "notification_url")?;
    let order_refund_id = text(&object, "order_refund_id")?;
    let forced = text(&object, "description")?.and_then(|d| sandbox_refund_status(&d));
    let mut inner = sandbox.dlocal.lock();
    if let Some(Replay::Refund(id)) = key.as_ref().and_then(|k| inner.operation_keys.get(k)) {
        if let Some(refund) = inner.refunds.get(id) {
            return Ok(refund.object());
        }
    }
    // A capture's id refunds its authorization.
    let authorization_id = inner
        .captures
        .get(&payment_id)
        .map_or(payment_id.clone(), |c| c.authorization_id.clone());
    let payment = inner
        .payments
        .get(&authorization_id)
        .ok_or_else(ApiError::payment_not_found)?;
    let balance = sandbox
        .ledger
        .balance(Provider::Dlocal, &payment.id)
        .ok_or_else(|| ApiError::invalid_status(payment.status_line().status))?;
    if payment.after == After::Expired {
        return Err(ApiError::invalid_status("EXPIRED"));
    }
    let rest = Money {
        minor: balance.captured - balance.refunded,
        currency: payment.amount.currency.clone(),
    };
    let amount = amount(&object, &payment.amount)?.unwrap_or(rest);
    let id = format!("REF-{}", uuid::Uuid::new_v4().simple());
    let status = forced.unwrap_or(RefundStatus::Success);
    if status != RefundStatus::Rejected {
        sandbox
            .ledger
            .move_money(movement(payment, MovementKind::Refund, &id, amount.minor))
            .map_err(refused)?;
    }
    let refund = Refund {
        id: id.clone(),
        payment_id,
        amount,
        status,
        order_id: payment.order_id.clone(),
        order_refund_id,
        notification_url,
        date: dlocal_date(),
    };
    let answer = refund.object();
    remember(&mut inner, key, Replay::Refund(id.clone()));
    inner.refunds.insert(id, refund);
    Ok(answer)
}

/// The sandbox trick dLocal's payments have, for refunds: a `description` holding a
/// refund status code forces it (`100` PENDING, booked as refunded; `300` REJECTED,
/// nothing booked).
fn sandbox_refund_status(description: &str) -> Option<RefundStatus> {
    match description.trim() {
        "100" => Some(RefundStatus::Pending),
        "200" => Some(RefundStatus::Success),
        "300" => Some(RefundStatus::Rejected),
        _ => None,
    }
}

fn find_refund(sandbox: &Sandbox, headers: &HeaderMap, id: &str) -> Result<RefundObject, ApiError> {
    auth::verify(headers, b"")?;
    sandbox
        .dlocal
        .lock()
        .refunds
        .get(id)
        .map(Refund::object)
        .ok_or_else(ApiError::refund_not_found)
}

/// `GET /refunds/{id}`.
pub(super) async fn retrieve_refund(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match find_refund(&sandbox, &headers, &id) {
        Ok(object) => Json(object).into_response(),
        Err(error) => error.into_response(),
    }
}

#[derive(Serialize)]
struct RefundStatusObject {
    id: String,
    status: &'static str,
    status_code: String,
    status_detail: &'static str,
}

/// `GET /refunds/{id}/status`.
pub(super) async fn refund_status(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match find_refund(&sandbox, &headers, &id) {
        Ok(object) => Json(RefundStatusObject {
            id: object.id,
            status: object.status,
            status_code: object.status_code,
            status_detail: object.status_detail,
        })
        .into_response(),
        Err(error) => error.into_response(),
    }
}

/// `POST /_sandbox/dlocal/payments/{id}/expire`: an `AUTHORIZED` payment nothing was
/// done to expires now (`EXPIRED`): a later capture is refused 5002. 404 when there is
/// no such open authorization.
pub(super) async fn expire(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    if sandbox.dlocal.expire_authorization(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        ApiError::payment_not_found().into_response()
    }
}

/// Marks an open authorization expired; false when there is none with this id.
pub(super) fn expire_in(inner: &mut Inner, id: &str) -> bool {
    match inner.payments.get_mut(id) {
        Some(payment) if payment.is_open_authorization() => {
            payment.after = After::Expired;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_refusals_answer_in_dlocal_codes() {
        let code = |r| {
            let e = refused(r);
            (e.code, e.message)
        };
        assert_eq!(code(LedgerRefusal::AmountTooLarge).0, 5007);
        assert_eq!(
            code(LedgerRefusal::AlreadyCaptured),
            (5002, "Invalid status: the payment is PAID".into())
        );
        assert_eq!(
            code(LedgerRefusal::AlreadyVoided).1,
            "Invalid status: the payment is CANCELLED"
        );
        assert_eq!(code(LedgerRefusal::UnknownPayment).0, 4000);
    }

    #[test]
    fn amounts_come_with_their_currency() {
        let of = Money {
            minor: 12_000,
            currency: "BRL".into(),
        };
        let body = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(amount(&body(serde_json::json!({})), &of), Ok(None));
        assert_eq!(
            amount(
                &body(serde_json::json!({"amount": 50.5, "currency": "BRL"})),
                &of
            ),
            Ok(Some(Money {
                minor: 5050,
                currency: "BRL".into()
            }))
        );
        assert_eq!(
            amount(&body(serde_json::json!({"amount": 50})), &of).map_err(|e| e.code),
            Err(5001)
        );
        assert_eq!(
            amount(
                &body(serde_json::json!({"amount": 50, "currency": "USD"})),
                &of
            )
            .map_err(|e| e.code),
            Err(5000)
        );
        assert_eq!(
            amount(
                &body(serde_json::json!({"amount": -1, "currency": "BRL"})),
                &of
            )
            .map_err(|e| e.code),
            Err(5000)
        );
    }

    #[test]
    fn a_capture_names_its_authorization() {
        assert!(is_capture(br#"{"authorization_id":"D-4-1","amount":1}"#));
        assert!(!is_capture(br#"{"amount":1,"card":{}}"#));
        assert!(!is_capture(b"not json"));
    }
}
