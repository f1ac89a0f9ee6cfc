//! What Payroc's answers mean for the payment: a created payment or a problem document
//! turned into a [`PaymentResult`], and the merchant's own authentication checked against
//! what Payroc's `thirdParty` block can say. Pure functions of their input. (The MPI
//! receipt is read in `returns`.)

use super::wire;
use super::{Evidence, Sale, ThirdParty, ThirdPartyEci};
use crate::emv::{CardBrand, Eci, Generation, LiabilityShift, TransStatus};
use crate::payment::{
    ExternalAuthentication, PaymentResult, PaymentStatus, ResultCode, ResultError,
};
use crate::provider::{HttpResponse, TransportFailure};

impl ThirdParty {
    /// The merchant's authentication as Payroc's `thirdParty` block, or the result that
    /// ends the payment: N and R forbid an authorization; Payroc's `eci` word can only
    /// say "fully authenticated" (Y) or "attempted" (A), so U and the rest are refused.
    pub(super) fn from_external(
        external: &ExternalAuthentication,
    ) -> Result<ThirdParty, PaymentResult> {
        let outcome = |result: PaymentResult| PaymentResult {
            trans_status: Some(external.trans_status),
            eci: Some(external.eci),
            three_ds_version: Some(external.version.clone()),
            ..result
        };
        let eci_word = match external.trans_status {
            TransStatus::Y => ThirdPartyEci::FullyAuthenticated,
            TransStatus::A => ThirdPartyEci::AttemptedAuthentication,
            TransStatus::N | TransStatus::R => {
                return Err(outcome(PaymentResult::failed(
                    PaymentStatus::Failed,
                    ResultCode::AuthenticationFailed,
                )))
            }
            other => {
                return Err(outcome(rejected_here(
                    "threeDSecure.eci",
                    &format!(
                        "Payroc's thirdParty 3-D Secure takes only fullyAuthenticated (Y) or \
                         attemptedAuthentication (A), not transStatus {}",
                        other.as_str()
                    ),
                )))
            }
        };
        Ok(ThirdParty {
            eci_word,
            cavv: external.cavv.clone(),
            xid: external.xid.clone(),
            ds_transaction_id: external.ds_transaction_id.clone(),
            version: external.version.clone(),
            trans_status: external.trans_status,
            eci: external.eci,
        })
    }
}

impl Evidence {
    /// transStatus, ECI, version and generation the result reports.
    pub(super) fn reported(&self) -> (TransStatus, Eci, Option<String>, Generation) {
        match self {
            // The receipt does not say which protocol ran; Payroc's MPI is EMV 3-D Secure
            // (1.0.2 is retired by the schemes), so the liability rules of 2.x apply.
            Evidence::Gateway {
                trans_status, eci, ..
            } => (*trans_status, *eci, None, Generation::Emv),
            Evidence::ThirdParty(third) => (
                third.trans_status,
                third.eci,
                Some(third.version.clone()),
                if third.version.starts_with("1.") {
                    Generation::Legacy
                } else {
                    Generation::Emv
                },
            ),
        }
    }
}

/// A created payment → the result. Approved is `ready`/`complete` with responseCode A.
pub(super) fn sale_result(sale: &Sale, payment: wire::Payment) -> PaymentResult {
    let (trans_status, eci, three_ds_version, generation) = sale.evidence.reported();
    let brand = payment
        .card
        .as_ref()
        .and_then(|card| card.card_number.as_deref())
        .map(CardBrand::from_pan)
        .unwrap_or(CardBrand::Unknown);
    let outcome = payment.transaction_result;
    let status = outcome.status.to_ascii_lowercase();
    let code = outcome.response_code.to_ascii_uppercase();
    let base = PaymentResult {
        status: PaymentStatus::Authorized,
        provider_payment_id: Some(payment.payment_id),
        three_ds_version,
        trans_status: Some(trans_status),
        eci: Some(eci),
        liability_shift: false,
        error: None,
    };
    let provider_error = |code: ResultCode, provider_code: String| {
        Some(ResultError {
            code,
            provider_code: Some(provider_code),
            provider_message: outcome.response_message.clone(),
        })
    };
    if matches!(status.as_str(), "ready" | "complete") && code == "A" {
        PaymentResult {
            liability_shift: LiabilityShift::decide(brand, trans_status, Some(eci), generation)
                .is_shifted(),
            ..base
        }
    } else if matches!(status.as_str(), "declined" | "referral" | "pickup")
        || matches!(code.as_str(), "D" | "R" | "C")
    {
        PaymentResult {
            status: PaymentStatus::Declined,
            error: provider_error(ResultCode::Declined, code),
            ..base
        }
    } else {
        // pending, partial approval, reversal, …: not an approval this backend can
        // confirm; the payment id lets the merchant look it up.
        PaymentResult {
            status: PaymentStatus::Error,
            error: provider_error(ResultCode::ProviderBadResponse, format!("{status}/{code}")),
            ..base
        }
    }
}

/// What an HTTP answer means before its body is read.
pub(super) enum Answer {
    /// 2xx: the body, for the step to read.
    Body(String),
    /// 401: the Bearer token (or, at the identity service, the API key) was refused.
    Unauthorized(PaymentResult),
    /// The payment ends with this result.
    Ended(PaymentResult),
}

pub(super) fn classify(response: Result<HttpResponse, TransportFailure>) -> Answer {
    let response = match response {
        Ok(response) => response,
        Err(TransportFailure::Timeout) => {
            return Answer::Ended(PaymentResult::failed(
                PaymentStatus::Error,
                ResultCode::ProviderTimeout,
            ))
        }
        Err(TransportFailure::Connection(_)) => {
            return Answer::Ended(PaymentResult::failed(
                PaymentStatus::Error,
                ResultCode::ProviderUnavailable,
            ))
        }
    };
    if response.is_success() {
        return Answer::Body(response.body);
    }
    let (status, code) = match response.status {
        500..=599 => (PaymentStatus::Error, ResultCode::ProviderUnavailable),
        400..=499 => (PaymentStatus::Failed, ResultCode::ProviderRejected),
        _ => return Answer::Ended(bad_response()),
    };
    let result = PaymentResult::failed(status, code);
    let result = match wire::Problem::parse(&response.body) {
        Some(problem) => result.with_provider_error(problem.code(), problem.message()),
        None => result.with_provider_error(
            format!("http_{}", response.status),
            "the answer carried no problem document",
        ),
    };
    if response.status == 401 {
        Answer::Unauthorized(result)
    } else {
        Answer::Ended(result)
    }
}

/// Whether a sale's answer is Payroc refusing its `threeDSecure.mpiReference`: a 400
/// problem with an `errors[]` entry on that parameter (unknown, another order's, amount's
/// or token's, unfinished or declined check; docs/sandbox/payroc.md). Such a sale did
/// nothing, and the receipt that named the reference proved nothing.
pub(super) fn refuses_mpi_reference(response: &HttpResponse) -> bool {
    response.status == 400
        && wire::Problem::parse(&response.body).is_some_and(|problem| {
            problem
                .errors
                .iter()
                .any(|e| e.parameter.as_deref() == Some("threeDSecure.mpiReference"))
        })
}

pub(super) fn bad_response() -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
}

/// Refused by this adapter before Payroc saw it, because Payroc would refuse it.
pub(super) fn rejected_here(parameter: &str, message: &str) -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Failed, ResultCode::ProviderRejected)
        .with_provider_error(parameter, message)
}

pub(super) fn bad_token() -> PaymentResult {
    rejected_here(
        "paymentMethod.token",
        "a Payroc single-use token is 1 to 256 letters and digits",
    )
}

/// The card details are gone (the process stopped between start and tokenization).
pub(super) fn card_gone() -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Error, ResultCode::SessionExpired)
}
