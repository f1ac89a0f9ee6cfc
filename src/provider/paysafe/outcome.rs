//! What Paysafe's answers mean for the payment. The classification (found, refused, lost)
//! and the results every adapter builds alike are `provider::answer`'s; this file brings
//! what is Paysafe's own: its error document, the duplicate merchantRefNum (5031), an
//! authentication that forbids the authorization, the authorization's statuses and its
//! 402 decline, as [`PaymentResult`]s carrying the authentication's 3-D Secure members.
//! Pure functions of their input.

use super::wire::{self, Authenticated};
use crate::emv::{CardBrand, Generation, LiabilityShift};
use crate::payment::{PaymentResult, PaymentStatus, ResultCode, ResultError};
use crate::provider::answer::{self, Answer, ProviderError};
use crate::provider::{HttpResponse, TransportFailure};

/// Paysafe's code for a merchantRefNum that was used before.
pub(super) const DUPLICATE: &str = "5031";

/// Paysafe's error document (`{"error": {code, message, fieldErrors?}}`) as the shared
/// classifier reads it: the field errors go into the message (`field: error`).
pub(super) fn provider_error(body: &str) -> Option<ProviderError> {
    let envelope: wire::ErrorEnvelope = crate::json_path::from_text(body).ok()?;
    Some(ProviderError::new(
        envelope.error.code.clone(),
        envelope.error.full_message(),
    ))
}

/// `response` classified with Paysafe's error document.
pub(super) fn classify(response: Result<HttpResponse, TransportFailure>) -> Answer {
    Answer::of(response, provider_error)
}

/// The JSON body of a 2xx answer as `T`, or the result that ends the payment.
pub(super) fn parse<T: serde::de::DeserializeOwned>(
    response: &HttpResponse,
) -> Result<T, PaymentResult> {
    crate::json_path::from_text(&response.body)
        .map_err(|_| answer::bad_response("the answer is not the JSON expected"))
}

/// The JSON body of a 2xx answer to a call that moves no money, or the result that ends
/// the payment: Paysafe's refusal, the lost answer, an unreadable body.
pub(super) fn success_body<T: serde::de::DeserializeOwned>(
    response: Result<HttpResponse, TransportFailure>,
) -> Result<T, PaymentResult> {
    match classify(response) {
        Answer::Found(response) => parse(&response),
        Answer::Refused { error, .. } => Err(answer::rejected(&error)),
        Answer::Lost(lost) => Err(lost.result()),
    }
}

/// The authentication an earlier send of this very creation made, when Paysafe refused
/// the repeat as a duplicate (4xx `5031` naming it).
pub(super) fn duplicate_authentication(
    response: &Result<HttpResponse, TransportFailure>,
) -> Option<String> {
    let response = response.as_ref().ok()?;
    if !(400..500).contains(&response.status) {
        return None;
    }
    let envelope: wire::ErrorEnvelope = crate::json_path::from_text(&response.body).ok()?;
    (envelope.error.code == DUPLICATE)
        .then_some(envelope.existing_transaction_id)
        .flatten()
}

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
        trans_status_reason: None,
        error: None,
    }
}

/// `result`'s status and error with the authentication's 3DS members.
fn with_authentication(
    brand: CardBrand,
    values: &Authenticated,
    result: PaymentResult,
) -> PaymentResult {
    PaymentResult {
        error: result.error,
        ..outcome_result(brand, values, result.status, None)
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

/// The authentication's status when it is neither COMPLETED nor waiting for a challenge.
pub(super) fn authentication_failed(status: String) -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Failed, ResultCode::AuthenticationFailed)
        .with_provider_error(status, "the authentication did not complete")
}

/// Paysafe still holds the authentication PENDING after finalize: the challenge's answer
/// was not accepted, and the challenge cannot be shown again (its ACS transaction is
/// over, the ACS would refuse it).
pub(super) fn unfinished_challenge() -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Failed, ResultCode::AuthenticationFailed)
        .with_provider_error(
            "PENDING",
            "the authentication is still PENDING after finalize; its challenge is spent",
        )
}

/// Where an authorization is, by Paysafe's status (`RECEIVED | COMPLETED | HELD |
/// FAILED | CANCELLED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AuthStatus {
    /// Authorized.
    Completed,
    /// Not decided yet (RECEIVED: in processing; HELD: held for risk review): it may
    /// still be authorized, so it is looked up again later.
    Undecided,
    /// Not authorized (FAILED, CANCELLED, or a status this adapter does not know).
    NotAuthorized(String),
}

impl AuthStatus {
    pub(super) fn of(status: &str) -> AuthStatus {
        match status {
            "COMPLETED" => AuthStatus::Completed,
            "RECEIVED" | "HELD" => AuthStatus::Undecided,
            other => AuthStatus::NotAuthorized(other.to_owned()),
        }
    }
}

/// Authorized as authorization `auth_id`.
pub(super) fn authorized(
    brand: CardBrand,
    values: &Authenticated,
    auth_id: String,
) -> PaymentResult {
    outcome_result(brand, values, PaymentStatus::Authorized, Some(auth_id))
}

/// Paysafe authorized this payment's merchantRefNum for another amount or currency than
/// the order's (the authorization request names no currency: the account's is charged).
/// Money is held, but not what the merchant's server created: an error that keeps the
/// authorization's id, so that it can be found and voided.
pub(super) fn authorized_otherwise(
    brand: CardBrand,
    values: &Authenticated,
    auth_id: String,
) -> PaymentResult {
    let mut result = outcome_result(brand, values, PaymentStatus::Error, Some(auth_id));
    result.error = Some(ResultError {
        code: ResultCode::ProviderBadResponse,
        provider_code: Some("COMPLETED".to_owned()),
        provider_message: Some(
            "Paysafe authorized another amount or currency than the order's".to_owned(),
        ),
    });
    result
}

/// Declined: Paysafe's error when it gave one (402 `3009`, or the `error` of a FAILED
/// authorization found by a lookup), else its status.
pub(super) fn declined(
    brand: CardBrand,
    values: &Authenticated,
    error: ProviderError,
) -> PaymentResult {
    let mut result = outcome_result(brand, values, PaymentStatus::Declined, None);
    result.error = Some(ResultError {
        code: ResultCode::Declined,
        provider_code: Some(error.code),
        provider_message: Some(error.message).filter(|m| !m.is_empty()),
    });
    result
}

/// Paysafe refused the authorization (not a decline): nothing was charged.
pub(super) fn auth_refused(
    brand: CardBrand,
    values: &Authenticated,
    error: &ProviderError,
) -> PaymentResult {
    with_authentication(brand, values, answer::rejected(error))
}

/// Paysafe holds an authorization under this payment's merchantRefNum that is not this
/// payment's (another amount or currency): never adopted, and no resend can be made.
pub(super) fn foreign_authorization(brand: CardBrand, values: &Authenticated) -> PaymentResult {
    with_authentication(
        brand,
        values,
        answer::bad_response(
            "Paysafe holds an authorization with this merchantRefNum for another amount or currency",
        ),
    )
}
