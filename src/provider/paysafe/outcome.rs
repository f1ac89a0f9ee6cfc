//! What Paysafe's answers mean for the payment: an answer's JSON body or the result that
//! ends the payment (no answer, a 5xx, Paysafe's refusal with its code and message, a
//! body that is not the JSON expected), an authentication that forbids the authorization,
//! and the authorization's answer, as [`PaymentResult`]s carrying the authentication's
//! 3-D Secure members. Pure functions of their input.

use super::wire::{self, Authenticated};
use crate::emv::{CardBrand, Generation, LiabilityShift};
use crate::payment::{PaymentResult, PaymentStatus, ResultCode, ResultError};
use crate::provider::{HttpResponse, TransportFailure};

/// The result's 3DS members from an authentication.
pub(super) fn outcome_result(
    brand: CardBrand,
    values: &Authenticated,
    status: PaymentStatus,
    payment_id: Option<String>,
) -> PaymentResult {
    let generation = if values.is_legacy() {
        Generation::Legacy
    } else {
        Generation::Emv
    };
    let shifted = values.trans_status.is_some_and(|status| {
        LiabilityShift::decide(brand, status, values.eci, generation).is_shifted()
    });
    PaymentResult {
        status,
        provider_payment_id: payment_id,
        three_ds_version: Some(values.version.clone()),
        trans_status: values.trans_status,
        eci: values.eci,
        liability_shift: shifted && status == PaymentStatus::Authorized,
        error: None,
    }
}

/// The result of an authentication that does not permit the authorization (`None` when
/// it does): cancelled by the cardholder, or failed.
pub(super) fn refused_authentication(
    brand: CardBrand,
    values: &Authenticated,
) -> Option<PaymentResult> {
    let permitted = match values.trans_status {
        Some(status) => status.permits_authorization(),
        // 3DS1 without a result: not enrolled (N) or unavailable (U) may proceed
        // without liability shift, as the seed says.
        None => matches!(values.enrollment.as_deref(), Some("N" | "U")),
    };
    if permitted {
        return None;
    }
    let (status, code) = if values.cancelled {
        (PaymentStatus::Cancelled, ResultCode::ChallengeCancelled)
    } else {
        (PaymentStatus::Failed, ResultCode::AuthenticationFailed)
    };
    let mut result = outcome_result(brand, values, status, None);
    result.error = Some(ResultError {
        code,
        provider_code: None,
        provider_message: None,
    });
    Some(result)
}

pub(super) fn bad_response(problem: &str) -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
        .with_provider_error("bad_response", problem)
}

/// A transport failure (after the host's retries) as a result.
pub(super) fn transport_result(failure: &TransportFailure) -> PaymentResult {
    let code = match failure {
        TransportFailure::Timeout => ResultCode::ProviderTimeout,
        TransportFailure::Connection(_) => ResultCode::ProviderUnavailable,
    };
    PaymentResult::failed(PaymentStatus::Error, code)
}

/// A non-2xx answer as a result: 5xx is an outage, anything else a refusal with
/// Paysafe's own code and message.
pub(super) fn error_result(response: &HttpResponse) -> PaymentResult {
    if response.status >= 500 {
        let result = PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderUnavailable);
        return match parse_error(response) {
            Some(e) => result.with_provider_error(e.error.code.clone(), e.error.full_message()),
            None => result,
        };
    }
    let result = PaymentResult::failed(PaymentStatus::Failed, ResultCode::ProviderRejected);
    match parse_error(response) {
        Some(e) => result.with_provider_error(e.error.code.clone(), e.error.full_message()),
        None => result.with_provider_error(
            response.status.to_string(),
            "Paysafe refused the request without an error body",
        ),
    }
}

pub(super) fn parse_error(response: &HttpResponse) -> Option<wire::ErrorEnvelope> {
    serde_json::from_str(&response.body).ok()
}

/// The JSON body of a 2xx answer, or the result that ends the payment.
pub(super) fn success_body<T: serde::de::DeserializeOwned>(
    response: Result<HttpResponse, TransportFailure>,
) -> Result<T, PaymentResult> {
    let response = response.map_err(|failure| transport_result(&failure))?;
    if !response.is_success() {
        return Err(error_result(&response));
    }
    serde_json::from_str(&response.body)
        .map_err(|_| bad_response("the answer is not the JSON expected"))
}

/// The authorization's answer as the final result.
pub(super) fn authorization_result(
    brand: CardBrand,
    values: &Authenticated,
    response: Result<HttpResponse, TransportFailure>,
) -> PaymentResult {
    let response = match response {
        Ok(response) => response,
        Err(failure) => return transport_result(&failure),
    };
    if response.is_success() {
        return match serde_json::from_str::<wire::AuthResponse>(&response.body) {
            Ok(auth) if auth.status == "COMPLETED" => {
                outcome_result(brand, values, PaymentStatus::Authorized, Some(auth.id))
            }
            Ok(auth) => {
                let mut result =
                    outcome_result(brand, values, PaymentStatus::Declined, Some(auth.id));
                result.error = Some(ResultError {
                    code: ResultCode::Declined,
                    provider_code: Some(auth.status),
                    provider_message: None,
                });
                result
            }
            Err(_) => bad_response("the authorization answer is not the JSON expected"),
        };
    }
    let mut result = error_result(&response);
    if response.status == 402 {
        if let Some(envelope) = parse_error(&response) {
            result.status = PaymentStatus::Declined;
            result.error = Some(ResultError {
                code: ResultCode::Declined,
                provider_code: Some(envelope.error.code.clone()),
                provider_message: Some(envelope.error.full_message()),
            });
        }
    }
    let base = outcome_result(brand, values, result.status, None);
    PaymentResult {
        error: result.error,
        ..base
    }
}
