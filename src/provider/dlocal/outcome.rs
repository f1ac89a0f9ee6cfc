//! What dLocal's answers mean for the payment: dLocal's error document for the shared
//! classifier ([`crate::provider::answer`]), whether a payment object is this order's,
//! which statuses end a payment, and a payment object's status, code and ECI as a
//! [`PaymentResult`]. dLocal reports no transStatus and no 3-D Secure version: both are
//! derived here (from the ECI, or from the merchant's own authentication), and nothing
//! else is guessed. Pure functions of their input.

use super::wire::{self, ErrorBody, PaymentObject};
use super::Order;
use crate::emv::{CardBrand, Eci, Generation, LiabilityShift, TransStatus};
use crate::payment::{PaymentResult, PaymentStatus, ResultCode, ResultError};
use crate::provider::answer::ProviderError;

/// dLocal's code for "Payment not found" (HTTP 404), also its answer to an order it
/// holds no payment for.
pub(super) const NOT_FOUND: &str = "4000";

/// How a payment ended, before the details.
pub(super) enum Verdict {
    Authorized,
    /// 3-D Secure did not authenticate (320: N, failed or cancelled challenge; 311: R).
    NotAuthenticated(TransStatus),
    /// The issuer or dLocal refused the authorization.
    Declined,
    /// CANCELLED or EXPIRED.
    Ended,
}

/// dLocal's error document `{code, message, param?}`, with the parameter it names in the
/// message (`Missing parameter: payer.email (payer.email)`).
pub(super) fn error_of(body: &str) -> Option<ProviderError> {
    let error = crate::json_path::from_text::<ErrorBody>(body).ok()?;
    let message = error.message.unwrap_or_default();
    Some(ProviderError::new(
        error.code,
        match error.param {
            Some(param) => format!("{message} ({param})"),
            None => message,
        },
    ))
}

/// Whether `payment` is this order's (and, once known, the payment id's): the order id,
/// and the amount and currency asked for. Anything else is another payment's answer and
/// never adopted.
pub(super) fn is_about(payment: &PaymentObject, order: &Order, payment_id: Option<&str>) -> bool {
    let amount_matches = match &order.amount {
        Some(asked) => {
            payment.currency.as_deref() == Some(asked.currency.as_str())
                && payment
                    .amount
                    .as_ref()
                    .and_then(|major| wire::minor_amount(major, &asked.currency))
                    == Some(asked.minor)
        }
        // A state stored before the amount was kept: the order id alone.
        None => true,
    };
    payment_id.is_none_or(|id| id == payment.id)
        && payment.order_id.as_deref() == Some(order.order_id.as_str())
        && amount_matches
}

/// The verdict of a status that ends the payment; `None` while it is pending, or for a
/// status this adapter does not know.
pub(super) fn final_verdict(payment: &PaymentObject) -> Option<Verdict> {
    Some(match payment.status.as_str() {
        "PAID" | "AUTHORIZED" => Verdict::Authorized,
        "REJECTED" => match payment.status_code.as_deref() {
            Some("320") => Verdict::NotAuthenticated(TransStatus::N),
            Some("311") => Verdict::NotAuthenticated(TransStatus::R),
            _ => Verdict::Declined,
        },
        "CANCELLED" | "EXPIRED" => Verdict::Ended,
        _ => return None,
    })
}

pub(super) fn outcome(order: &Order, payment: &PaymentObject, verdict: Verdict) -> PaymentResult {
    let brand = order
        .card
        .as_ref()
        .map(|c| c.brand)
        .or_else(|| {
            payment
                .card
                .as_ref()
                .and_then(|c| c.brand.as_deref())
                .map(wire::brand_from_code)
        })
        .unwrap_or(CardBrand::Unknown);
    let eci = payment.three_dsecure.as_ref().and_then(|t| t.eci);
    let trans_status = match (&verdict, &order.external) {
        (Verdict::NotAuthenticated(status), _) => Some(*status),
        (_, Some(external)) => Some(external.trans_status),
        _ => eci.and_then(|eci| trans_status_from_eci(brand, eci)),
    };
    let version = order.external.as_ref().map(|e| e.version.clone());
    let generation = match &version {
        Some(v) if v.starts_with('1') => Generation::Legacy,
        _ => Generation::Emv,
    };
    let (status, code) = match verdict {
        Verdict::Authorized => (PaymentStatus::Authorized, None),
        Verdict::NotAuthenticated(_) => (
            PaymentStatus::Failed,
            Some(ResultCode::AuthenticationFailed),
        ),
        Verdict::Declined => (PaymentStatus::Declined, Some(ResultCode::Declined)),
        Verdict::Ended => (PaymentStatus::Failed, Some(ResultCode::ProviderRejected)),
    };
    let liability_shift = status == PaymentStatus::Authorized
        && trans_status
            .is_some_and(|ts| LiabilityShift::decide(brand, ts, eci, generation).is_shifted());
    PaymentResult {
        status,
        provider_payment_id: Some(payment.id.clone()),
        three_ds_version: version,
        trans_status,
        eci,
        liability_shift,
        trans_status_reason: None,
        error: code.map(|code| ResultError {
            code,
            provider_code: payment.status_code.clone(),
            provider_message: payment.status_detail.clone(),
        }),
    }
}

/// A payment whose session expired while its payer was on dLocal's page, and that dLocal
/// ended uncharged (`CANCELLED` by the backend, or `EXPIRED`): `error/session_expired`,
/// as any expired session, with dLocal's payment id, code and detail.
pub(super) fn expired_at_dlocal(payment: &PaymentObject) -> PaymentResult {
    PaymentResult {
        provider_payment_id: Some(payment.id.clone()),
        error: Some(ResultError {
            code: ResultCode::SessionExpired,
            provider_code: payment.status_code.clone(),
            provider_message: payment.status_detail.clone(),
        }),
        ..PaymentResult::failed(PaymentStatus::Error, ResultCode::SessionExpired)
    }
}

/// dLocal reports no transStatus; the ECI tells it for an approved or declined
/// authorization (scheme ECI tables): Visa family 05 Y, 06 A, 07 U; Mastercard 02 Y,
/// 01 A, 00 U. Other values say nothing.
fn trans_status_from_eci(brand: CardBrand, eci: Eci) -> Option<TransStatus> {
    let visa_family = brand.uses_visa_eci();
    match (visa_family, brand, eci.value()) {
        (_, CardBrand::Unknown, _) => None,
        (true, _, 5) | (false, CardBrand::Mastercard, 2) => Some(TransStatus::Y),
        (true, _, 6) | (false, CardBrand::Mastercard, 1) => Some(TransStatus::A),
        (true, _, 7) | (false, CardBrand::Mastercard, 0) => Some(TransStatus::U),
        _ => None,
    }
}
