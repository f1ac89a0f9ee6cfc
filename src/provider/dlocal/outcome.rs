//! What dLocal's answers mean for the payment: an answer classified (a payment object,
//! or the result that ends the payment), and a payment object's status, code and ECI as
//! a [`PaymentResult`]. dLocal reports no transStatus and no 3-D Secure version: both are
//! derived here (from the ECI, or from the merchant's own authentication), and nothing
//! else is guessed. Pure functions of their input.

use super::wire::{self, ErrorBody, PaymentObject};
use super::Order;
use crate::emv::{CardBrand, Eci, Generation, LiabilityShift, TransStatus};
use crate::payment::{PaymentResult, PaymentStatus, ResultCode, ResultError};
use crate::provider::{HttpResponse, TransportFailure};

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

/// What an answer from dLocal says before its status is read: the payment object of a
/// 2xx, or the result that ends the payment (no answer, a 5xx, dLocal's refusal with its
/// code and message, or a body that is not a payment object).
pub(super) fn classify(
    response: Result<HttpResponse, TransportFailure>,
) -> Result<PaymentObject, PaymentResult> {
    let response = match response {
        Ok(response) => response,
        Err(TransportFailure::Timeout) => {
            return Err(error_result(
                PaymentStatus::Error,
                ResultCode::ProviderTimeout,
                None,
                None,
            ))
        }
        Err(TransportFailure::Connection(_)) => {
            return Err(error_result(
                PaymentStatus::Error,
                ResultCode::ProviderUnavailable,
                None,
                None,
            ))
        }
    };
    let refusal = serde_json::from_str::<ErrorBody>(&response.body).ok();
    if response.status >= 500 {
        let (code, message) = refusal.map_or((None, None), |e| (Some(e.code), e.message));
        return Err(error_result(
            PaymentStatus::Error,
            ResultCode::ProviderUnavailable,
            code,
            message,
        ));
    }
    if !response.is_success() {
        return Err(match refusal {
            Some(error) => error_result(
                PaymentStatus::Failed,
                ResultCode::ProviderRejected,
                Some(error.code),
                Some(match error.param {
                    Some(param) => format!("{} ({param})", error.message.unwrap_or_default()),
                    None => error.message.unwrap_or_default(),
                }),
            ),
            None => error_result(
                PaymentStatus::Error,
                ResultCode::ProviderBadResponse,
                Some(format!("HTTP {}", response.status)),
                None,
            ),
        });
    }
    serde_json::from_str::<PaymentObject>(&response.body)
        .map_err(|_| bad_response("the answer is not a payment object"))
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
        error: code.map(|code| ResultError {
            code,
            provider_code: payment.status_code.clone(),
            provider_message: payment.status_detail.clone(),
        }),
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

pub(super) fn error_result(
    status: PaymentStatus,
    code: ResultCode,
    provider_code: Option<String>,
    provider_message: Option<String>,
) -> PaymentResult {
    PaymentResult {
        error: Some(ResultError {
            code,
            provider_code,
            provider_message,
        }),
        ..PaymentResult::failed(status, code)
    }
}

pub(super) fn bad_response(why: &str) -> PaymentResult {
    error_result(
        PaymentStatus::Error,
        ResultCode::ProviderBadResponse,
        None,
        Some(why.to_owned()),
    )
}

/// A payment dLocal cannot take as asked: refused here, before any call.
pub(super) fn refused_before_call(why: &str) -> PaymentResult {
    error_result(
        PaymentStatus::Failed,
        ResultCode::ProviderRejected,
        None,
        Some(why.to_owned()),
    )
}
