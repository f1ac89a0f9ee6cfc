//! What Bambora's answers mean for the payment: an HTTP answer sorted into a payment, a
//! 302 redirect or the end; a payment (approved or declined) and an error body (311,
//! decline, refusal, outage) turned into a [`PaymentResult`] with the 3-D Secure values
//! Bambora reported. Pure functions of their input.

use super::wire::{self, ErrorBody, ThreeDsResult, CATEGORY_DECLINE, CODE_3DS_FAILED};
use super::{Authentication, Challenged, Order};
use crate::emv::{CardBrand, Eci, Generation, LiabilityShift, TransStatus};
use crate::payment::{PaymentResult, PaymentStatus, ResultCode, ResultError};
use crate::provider::{HttpResponse, TransportFailure};

/// What an HTTP answer is, before its meaning.
pub(super) enum Answer {
    /// 200: an approved or declined payment.
    Payment(wire::Payment),
    /// 302: the cardholder must go to the issuer.
    Redirect(wire::Redirect),
    /// The payment ends with this result.
    Ended(PaymentResult),
}

/// What the adapter knows when an answer arrives: the order, and the challenge if one ran.
#[derive(Clone, Copy)]
pub(super) struct Known<'a> {
    pub order: &'a Order,
    pub challenge: Option<&'a Challenged>,
}

/// The 3-D Secure part of a result.
struct ThreeDs {
    version: Option<String>,
    trans_status: Option<TransStatus>,
    eci: Option<Eci>,
    /// The liability rules of this generation apply.
    generation: Generation,
    /// Bambora said the authentication fell back to 1.0.2: no liability shift.
    downgraded: bool,
    brand: CardBrand,
}

impl Known<'_> {
    pub(super) fn classify(self, response: Result<HttpResponse, TransportFailure>) -> Answer {
        let response = match response {
            Ok(response) => response,
            Err(failure) => return Answer::Ended(answer_lost(&failure)),
        };
        match response.status {
            200 | 201 => match serde_json::from_str(&response.body) {
                Ok(payment) => Answer::Payment(payment),
                Err(_) => {
                    Answer::Ended(bad_response("the payment answer is not the JSON expected"))
                }
            },
            302 => match serde_json::from_str(&response.body) {
                Ok(redirect) => Answer::Redirect(redirect),
                Err(_) => Answer::Ended(bad_response("the 302 answer is not the JSON expected")),
            },
            400..=599 => Answer::Ended(self.error_result(&response)),
            _ => Answer::Ended(bad_response("an HTTP status Bambora does not send")),
        }
    }

    /// A 200 payment: `approved: "1"` is authorized, `"0"` declined.
    pub(super) fn payment_result(self, payment: wire::Payment) -> PaymentResult {
        let card_type = payment.card.as_ref().and_then(|c| c.card_type.as_deref());
        let eci = payment.card.as_ref().and_then(|c| c.eci);
        let three_ds = self.three_ds(payment.three_d_secure.as_ref(), eci, card_type);
        match payment.approved.as_str() {
            "1" => three_ds.result(PaymentStatus::Authorized, Some(payment.id), None),
            "0" => three_ds.result(
                PaymentStatus::Declined,
                Some(payment.id),
                Some(ResultError {
                    code: ResultCode::Declined,
                    provider_code: payment.message_id,
                    provider_message: payment.message,
                }),
            ),
            _ => PaymentResult {
                provider_payment_id: Some(payment.id),
                ..bad_response("approved is neither \"1\" nor \"0\"")
            },
        }
    }

    /// A 4xx/5xx: 5xx is an outage; 402 311 a failed authentication, a 402 decline the
    /// issuer's; any other 4xx Bambora's refusal, with its code and message.
    fn error_result(self, response: &HttpResponse) -> PaymentResult {
        let body = serde_json::from_str::<ErrorBody>(&response.body).ok();
        if response.status >= 500 {
            let result =
                PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderUnavailable);
            return match body {
                Some(body) => {
                    result.with_provider_error(body.code.to_string(), body.full_message())
                }
                None => result,
            };
        }
        let Some(body) = body else {
            return PaymentResult::failed(PaymentStatus::Failed, ResultCode::ProviderRejected)
                .with_provider_error(
                    format!("http_{}", response.status),
                    "Bambora refused the request without an error body",
                );
        };
        let card_type = body.card.as_ref().and_then(|c| c.card_type.as_deref());
        let eci = body.card.as_ref().and_then(|c| c.eci);
        let three_ds = self.three_ds(body.three_d_secure.as_ref(), eci, card_type);
        let provider_error = |code: ResultCode, provider_code: String, message: String| {
            Some(ResultError {
                code,
                provider_code: Some(provider_code),
                provider_message: Some(message),
            })
        };
        if response.status == 402 && body.code == CODE_3DS_FAILED {
            let mut message = body.message.clone();
            if let Some(reason) = body
                .three_d_secure
                .as_ref()
                .and_then(|t| t.reason_merchant.as_deref())
            {
                message = format!("{message}: {reason}");
            }
            return ThreeDs {
                eci: None,
                ..three_ds
            }
            .result(
                PaymentStatus::Failed,
                None,
                provider_error(
                    ResultCode::AuthenticationFailed,
                    body.code.to_string(),
                    message,
                ),
            );
        }
        if response.status == 402
            && (body.category == Some(CATEGORY_DECLINE) || body.validation.is_some())
        {
            let (id, code, message) = match body.validation {
                Some(v) => (
                    Some(v.id),
                    v.message_id.unwrap_or_else(|| body.code.to_string()),
                    v.message.unwrap_or(body.message),
                ),
                None => (None, body.code.to_string(), body.message),
            };
            return three_ds.result(
                PaymentStatus::Declined,
                id,
                provider_error(ResultCode::Declined, code, message),
            );
        }
        PaymentResult::failed(PaymentStatus::Failed, ResultCode::ProviderRejected)
            .with_provider_error(body.code.to_string(), body.full_message())
    }

    fn three_ds(
        self,
        reported: Option<&ThreeDsResult>,
        eci: Option<Eci>,
        card_type: Option<&str>,
    ) -> ThreeDs {
        let brand = self
            .order
            .card
            .as_ref()
            .map(|c| c.brand)
            .or_else(|| card_type.map(wire::brand_of_card_type))
            .unwrap_or(CardBrand::Unknown);
        let downgraded = reported.is_some_and(|r| r.downgraded);
        match &self.order.authentication {
            Authentication::Merchant {
                version,
                trans_status,
                eci: sent_eci,
            } => ThreeDs {
                version: Some(version.clone()),
                trans_status: Some(*trans_status),
                eci: eci.or(Some(*sent_eci)),
                generation: generation_of(version),
                downgraded: false,
                brand,
            },
            Authentication::Bambora { version: asked } => {
                let trans_status = reported.and_then(|r| trans_status_of(&r.status));
                let (version, generation) = match (self.challenge, reported) {
                    (Some(challenge), _) => (
                        Some(challenge.version.clone()),
                        if challenge.legacy {
                            Generation::Legacy
                        } else {
                            Generation::Emv
                        },
                    ),
                    (None, Some(r)) if r.downgraded => {
                        (Some("1.0.2".to_owned()), Generation::Legacy)
                    }
                    // Bambora reports no minor version for a frictionless 2.x answer.
                    (None, Some(_)) => (asked.map(|v| v.to_string()), Generation::Emv),
                    (None, None) => (None, Generation::Emv),
                };
                ThreeDs {
                    version,
                    trans_status,
                    eci,
                    generation,
                    downgraded,
                    brand,
                }
            }
        }
    }
}

impl ThreeDs {
    fn result(
        self,
        status: PaymentStatus,
        provider_payment_id: Option<String>,
        error: Option<ResultError>,
    ) -> PaymentResult {
        let shifted = status == PaymentStatus::Authorized
            && !self.downgraded
            && self.trans_status.is_some_and(|ts| {
                LiabilityShift::decide(self.brand, ts, self.eci, self.generation).is_shifted()
            });
        PaymentResult {
            status,
            provider_payment_id,
            three_ds_version: self.version,
            trans_status: self.trans_status,
            eci: self.eci,
            liability_shift: shifted,
            error,
        }
    }
}

/// `3d_secure.status` as a transStatus; `Error` (and anything unknown) has none.
pub(super) fn trans_status_of(status: &str) -> Option<TransStatus> {
    Some(match status {
        "Succeeded" => TransStatus::Y,
        "Attempted" => TransStatus::A,
        "Failed" => TransStatus::N,
        "Rejected" => TransStatus::R,
        "Unavailable" => TransStatus::U,
        _ => return None,
    })
}

pub(super) fn generation_of(version: &str) -> Generation {
    if version.starts_with('1') {
        Generation::Legacy
    } else {
        Generation::Emv
    }
}

/// No answer to a call that may have moved money: Bambora takes no idempotency key, so
/// it is not sent again, and the payment ends with its outcome unknown to this backend.
fn answer_lost(failure: &TransportFailure) -> PaymentResult {
    let how = match failure {
        TransportFailure::Timeout => "Bambora did not answer in time",
        TransportFailure::Connection(_) => "the connection to Bambora failed or was dropped",
    };
    PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderTimeout).with_provider_error(
        "answer_lost",
        format!(
            "{how}; the payment may have been made: look the order up at Bambora before \
             paying again (Bambora takes no idempotency key, so it was not resent)"
        ),
    )
}

pub(super) fn bad_response(problem: &str) -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
        .with_provider_error("bad_response", problem)
}

/// Refused by this adapter before Bambora saw it, because Bambora would refuse it.
pub(super) fn rejected_here(parameter: &str, message: &str) -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Failed, ResultCode::ProviderRejected)
        .with_provider_error(parameter, message)
}
