//! A dLocal card payment's life: what the issuer decides at `POST /secure_payments`,
//! the one transition out of `PENDING` (after 3-D Secure, or the merchant's cancel), the
//! ledger entry for an approval, the retrieval endpoints (by payment id, and by the
//! merchant's order id) and `POST /payments/{id}/cancel`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::notify::{self, Notification};
use super::wire::{
    self, CardObject, MpiResponse, OrderObject, PaymentObject, PaymentRequest, StatusObject,
    ThreeDsRequest,
};
use super::{auth, ApiError, Inner, MAX_BODY_BYTES};
use crate::emv::{Eci, Generation, TransStatus};
use crate::sandbox::cards::{
    Authentication, AuthenticationValues, Authorization, CardProfile, Protocol,
};
use crate::sandbox::ledger::{now_rfc3339, LedgerEntry, Provider};
use crate::sandbox::Sandbox;

mod record;

pub(super) use record::{
    After, FinalStatus, Payment, RejectionCode, Settlement, Stage, StartedChallenge, ThreeDsRoute,
};

/// The issuer's answer to an authentication outcome: approve (PAID or AUTHORIZED by
/// `capture`) or reject, keeping the ECI.
pub(super) fn settle_after_authentication(
    authorization: Authorization,
    trans_status: TransStatus,
    eci: Option<Eci>,
    capture: bool,
) -> Settlement {
    let status = if trans_status == TransStatus::R {
        FinalStatus::Rejected(RejectionCode::REQUESTED_BY_BANK)
    } else if !trans_status.permits_authorization() {
        FinalStatus::Rejected(RejectionCode::THREE_DS_FAILED)
    } else if authorization == Authorization::Decline {
        FinalStatus::Rejected(RejectionCode::BANK)
    } else if capture {
        FinalStatus::Paid
    } else {
        FinalStatus::Authorized
    };
    Settlement {
        status,
        eci,
        date: dlocal_date(),
    }
}

/// The status a card authenticates with when the issuer does not challenge it. A range
/// not enrolled in 3DS (1.0.2 `N`) cannot authenticate: like 2.x `U`, the payment goes
/// ahead without liability shift.
pub(super) fn frictionless_status(profile: &CardProfile) -> Option<TransStatus> {
    match (profile.protocol, profile.authentication) {
        (Protocol::Legacy { enrolled: false }, _) => Some(TransStatus::U),
        (_, Authentication::Frictionless(status)) => Some(status),
        (_, Authentication::Challenge) => None,
    }
}

/// Settles a frictionless authentication of `profile`.
pub(super) fn settle_frictionless(
    profile: &CardProfile,
    status: TransStatus,
    seed: &str,
    capture: bool,
) -> Settlement {
    let values = AuthenticationValues::for_status(profile.brand, status, seed);
    settle_after_authentication(profile.authorization, status, values.eci, capture)
}

/// What `POST /secure_payments` decides before anyone sees a 3DS page.
fn open(request: &PaymentRequest, id: &str) -> Stage {
    let settled = |status| {
        Stage::Settled(Settlement {
            status,
            eci: None,
            date: dlocal_date(),
        })
    };
    let capture = request.card.capture;
    let Ok(pan) = &request.card.number else {
        return settled(FinalStatus::Rejected(RejectionCode::INVALID_NUMBER));
    };
    if is_expired(request.card.expiration_month, request.card.expiration_year) {
        return settled(FinalStatus::Rejected(RejectionCode::EXPIRED));
    }
    if let Some(status) = request.description.as_deref().and_then(sandbox_status) {
        return settled(status);
    }
    let profile = CardProfile::of(pan);
    match &request.three_dsecure {
        ThreeDsRequest::Mpi(mpi) => {
            let trans_status = match mpi.authentication_response {
                Some(MpiResponse::Y) => TransStatus::Y,
                Some(MpiResponse::A) => TransStatus::A,
                Some(MpiResponse::N) => TransStatus::N,
                Some(MpiResponse::U) | None => TransStatus::U,
            };
            Stage::Settled(settle_after_authentication(
                profile.authorization,
                trans_status,
                Some(mpi.eci),
                capture,
            ))
        }
        three_ds => {
            let forced = *three_ds == ThreeDsRequest::Forced;
            let route = match (profile.protocol, frictionless_status(&profile)) {
                (Protocol::Legacy { enrolled: true }, _) => {
                    Some(ThreeDsRoute::Challenge(Generation::Legacy))
                }
                (_, None) => Some(ThreeDsRoute::Challenge(Generation::Emv)),
                (_, Some(_)) if forced => Some(ThreeDsRoute::Frictionless),
                (_, Some(_)) => None,
            };
            match (route, frictionless_status(&profile)) {
                (Some(route), _) => Stage::AwaitingAuthentication {
                    profile,
                    route,
                    challenge: None,
                },
                (None, Some(status)) => {
                    Stage::Settled(settle_frictionless(&profile, status, id, capture))
                }
                (None, None) => settled(FinalStatus::Rejected(RejectionCode::THREE_DS_FAILED)),
            }
        }
    }
}

/// dLocal's sandbox trick: a `description` holding a status code forces that status.
fn sandbox_status(description: &str) -> Option<FinalStatus> {
    match description.trim().parse::<u16>().ok()? {
        200 => Some(FinalStatus::Paid),
        600 => Some(FinalStatus::Authorized),
        code => RejectionCode::parse(code).map(FinalStatus::Rejected),
    }
}

fn is_expired(month: u8, year: u16) -> bool {
    let now = time::OffsetDateTime::now_utc();
    (i32::from(year), month) < (now.year(), u8::from(now.month()))
}

/// dLocal's date format: `2018-12-26T20:26:09.000+0000`.
pub(super) fn dlocal_date() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

/// Moves a pending payment to its final status, once: records the ledger entry for an
/// approval and returns the notification to send. A settled payment is left as it is.
pub(super) fn settle(
    sandbox: &Sandbox,
    inner: &mut Inner,
    id: &str,
    settlement: Settlement,
) -> Option<Notification> {
    let payment = inner.payments.get_mut(id)?;
    if matches!(payment.stage, Stage::Settled(_)) {
        return None;
    }
    payment.stage = Stage::Settled(settlement);
    record_if_approved(sandbox, payment);
    payment.notification(sandbox)
}

fn record_if_approved(sandbox: &Sandbox, payment: &Payment) {
    if let Stage::Settled(settlement) = &payment.stage {
        if settlement.status.is_approved() {
            sandbox.ledger.record(LedgerEntry {
                provider: Provider::Dlocal,
                provider_payment_id: payment.id.clone(),
                order_id: payment.order_id.clone(),
                amount: payment.amount.minor,
                currency: payment.amount.currency.clone(),
                idempotency_key: payment.idempotency_key.clone(),
                card: payment.masked_card.clone(),
                time: now_rfc3339(),
                // `AUTHORIZED` (capture:false, or the 600 trick) is an authorization only.
                sale: settlement.status == FinalStatus::Paid,
            });
        }
    }
}

/// Reads a request body within [`MAX_BODY_BYTES`].
pub(super) async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::body_too_large())
}

/// `POST /secure_payments`.
pub(super) async fn create(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PaymentObject>, ApiError> {
    let body = read_body(body).await?;
    create_from(sandbox, headers, body)
}

/// A payment create whose body was read.
pub(super) fn create_from(
    sandbox: Sandbox,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<PaymentObject>, ApiError> {
    auth::verify(&headers, &body)?;
    let idempotency_key = headers
        .get("X-Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(existing) = replayed(&sandbox, idempotency_key.as_deref()) {
        return Ok(Json(existing)); // before a token is spent again
    }
    let body = match super::smart_fields::redeem(&sandbox, &body)? {
        Some(card) => axum::body::Bytes::from(card),
        None => body,
    };
    let request = PaymentRequest::parse(&body)?;

    let (object, notification) = {
        let mut inner = sandbox.dlocal.lock();
        if let Some(existing) = idempotency_key
            .as_ref()
            .and_then(|key| inner.idempotency.get(key))
            .and_then(|id| inner.payments.get(id))
        {
            return Ok(Json(existing.object(&sandbox)));
        }
        if inner.orders.contains_key(&request.order_id) {
            return Err(ApiError::order_id_duplicated());
        }
        let id = format!("D-4-{}", uuid::Uuid::new_v4());
        let (brand, last4, masked_card) = match &request.card.number {
            Ok(pan) => (
                wire::brand_code(pan.brand()),
                pan.last_four().to_owned(),
                pan.masked(),
            ),
            Err(last4) => ("", last4.clone(), format!("invalid ****{last4}")),
        };
        let payment = Payment {
            id: id.clone(),
            order_id: request.order_id.clone(),
            amount: request.amount.clone(),
            country: request.country.clone(),
            card: CardObject {
                holder_name: request.card.holder_name.clone(),
                expiration_month: request.card.expiration_month,
                expiration_year: request.card.expiration_year,
                brand,
                last4,
            },
            masked_card,
            capture: request.card.capture,
            description: request.description.clone(),
            notification_url: request.notification_url.clone(),
            callback_url: request.callback_url.clone(),
            idempotency_key: idempotency_key.clone(),
            created_date: dlocal_date(),
            stage: open(&request, &id),
            after: After::Open,
        };
        record_if_approved(&sandbox, &payment);
        let object = payment.object(&sandbox);
        let notification = payment.notification(&sandbox);
        inner.orders.insert(request.order_id.clone(), id.clone());
        if let Some(key) = idempotency_key {
            inner.idempotency.insert(key, id.clone());
        }
        inner.payments.insert(id, payment);
        (object, notification)
    };
    if let Some(notification) = notification {
        notify::dispatch(&sandbox, notification);
    }
    Ok(Json(object))
}

/// The payment an earlier request with this `X-Idempotency-Key` made, if any.
fn replayed(sandbox: &Sandbox, key: Option<&str>) -> Option<PaymentObject> {
    let inner = sandbox.dlocal.lock();
    let id = inner.idempotency.get(key?)?;
    inner.payments.get(id).map(|p| p.object(sandbox))
}

fn find(sandbox: &Sandbox, headers: &HeaderMap, id: &str) -> Result<PaymentObject, ApiError> {
    auth::verify(headers, b"")?;
    sandbox
        .dlocal
        .lock()
        .payments
        .get(id)
        .map(|payment| payment.object(sandbox))
        .ok_or_else(ApiError::payment_not_found)
}

/// `GET /payments/{id}`.
pub(super) async fn retrieve(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match find(&sandbox, &headers, &id) {
        Ok(object) => Json(object).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `GET /payments/{id}/status`.
pub(super) async fn status(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match find(&sandbox, &headers, &id) {
        Ok(object) => Json(StatusObject {
            status: object.status,
            status_code: object.status_code,
            status_detail: object.status_detail,
        })
        .into_response(),
        Err(error) => error.into_response(),
    }
}

/// `GET /orders/{order_id}`: the order object of the merchant's payment for that order
/// (order ids are unique per merchant here: a second create with one is refused 5009).
/// Signed like every request; an order without a payment is 404 4000, as dLocal answers
/// an unknown payment.
pub(super) async fn by_order(
    State(sandbox): State<Sandbox>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = auth::verify(&headers, b"") {
        return error.into_response();
    }
    let found = {
        let inner = sandbox.dlocal.lock();
        inner
            .orders
            .get(&order_id)
            .and_then(|id| inner.payments.get(id))
            .map(|payment| OrderObject::of(payment.object(&sandbox)))
            // A capture's `order_id` is the merchant's id of the capture.
            .or_else(|| {
                super::operations::capture_by_order(&inner, &order_id).map(|c| c.order_object())
            })
    };
    match found {
        Some(order) => Json(order).into_response(),
        None => ApiError::payment_not_found().into_response(),
    }
}

/// `POST /payments/{id}/cancel` (docs.dlocal.com/reference/cancel-alternative-payment,
/// "Cancel pending payment"): signed like every request (the body in the signature is
/// the one sent, usually empty). A `PENDING` payment becomes `CANCELLED` 400 for good:
/// its 3-D Secure page refuses to go on, nothing is charged, and the merchant is notified
/// of the change. An `AUTHORIZED` payment nothing was captured of is cancelled too
/// (dLocal's "Cancel an authorization", `super::operations::void`); any other payment is
/// refused 400 `5002` naming its status and left as it is.
pub(super) async fn cancel(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match cancel_pending(&sandbox, &headers, body, &id).await {
        Ok(object) => Json(object).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn cancel_pending(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    body: Body,
    id: &str,
) -> Result<PaymentObject, ApiError> {
    let body = read_body(body).await?;
    auth::verify(headers, &body)?;
    let (object, notification) = {
        let mut inner = sandbox.dlocal.lock();
        let payment = inner
            .payments
            .get(id)
            .ok_or_else(ApiError::payment_not_found)?;
        if let Stage::Settled(_) = &payment.stage {
            // An approved authorization is voided; anything else is refused 5002.
            let key = super::operations::cancel_key(headers);
            return super::operations::void(sandbox, &mut inner, id, key);
        }
        let cancelled = Settlement {
            status: FinalStatus::Cancelled,
            eci: None,
            date: dlocal_date(),
        };
        let notification = settle(sandbox, &mut inner, id, cancelled);
        let object = inner
            .payments
            .get(id)
            .map(|payment| payment.object(sandbox))
            .ok_or_else(ApiError::payment_not_found)?;
        (object, notification)
    };
    if let Some(notification) = notification {
        notify::dispatch(sandbox, notification);
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::record::StatusLine;
    use super::*;
    use crate::emv::Pan;

    fn profile(pan: &str) -> CardProfile {
        CardProfile::of(&Pan::parse(pan).unwrap())
    }

    #[test]
    fn frictionless_outcomes() {
        let settle = |pan: &str, capture| {
            let p = profile(pan);
            settle_frictionless(&p, frictionless_status(&p).unwrap(), "seed", capture).status
        };
        assert_eq!(settle("4000000000001000", true), FinalStatus::Paid);
        assert_eq!(settle("4000000000001109", false), FinalStatus::Authorized);
        assert_eq!(settle("4000000000001307", false), FinalStatus::Authorized);
        assert_eq!(
            settle("4000000000001208", true),
            FinalStatus::Rejected(RejectionCode::THREE_DS_FAILED)
        );
        assert_eq!(
            settle("4000000000001406", true),
            FinalStatus::Rejected(RejectionCode::REQUESTED_BY_BANK)
        );
        assert_eq!(
            settle("4000000000004004", true),
            FinalStatus::Rejected(RejectionCode::BANK)
        );
        assert_eq!(settle("4000000000003105", true), FinalStatus::Paid);
        assert_eq!(frictionless_status(&profile("4000000000002008")), None);
    }

    #[test]
    fn description_trick() {
        assert_eq!(sandbox_status("600"), Some(FinalStatus::Authorized));
        let rejected = sandbox_status("302").map(FinalStatus::status_line);
        assert!(
            matches!(
                rejected,
                Some(StatusLine {
                    status: "REJECTED",
                    code: 302,
                    ..
                })
            ),
            "{rejected:?}"
        );
        assert_eq!(sandbox_status("Order 302"), None);
        assert_eq!(sandbox_status("400"), None);
    }
}
