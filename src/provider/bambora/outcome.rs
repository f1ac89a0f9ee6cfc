//! What Bambora's answers mean for the payment: an HTTP answer sorted (through the
//! one classifier, [`Answer`]) into a payment, a 302 redirect, a refusal, a lost answer
//! or the end; a payment (approved or declined) and a 402 (311, decline) turned into a
//! [`PaymentResult`] with the 3-D Secure values Bambora reported; and which transaction
//! of a search is the order's. Pure functions of their input.

use super::wire::{self, ErrorBody, ThreeDsResult, CATEGORY_DECLINE, CODE_3DS_FAILED};
use super::{Authentication, Challenged, Order};
use crate::emv::{CardBrand, Eci, Generation, LiabilityShift, TransStatus, TransStatusReason};
use crate::payment::{PaymentResult, PaymentStatus, ResultCode, ResultError};
use crate::provider::answer::{self, Answer, ProviderError};
use crate::provider::{HttpResponse, TransportFailure};

/// What an answer to `POST /v1/payments` or `continue` is, before its meaning.
pub(super) enum Reply {
    /// 2xx: an approved or declined payment.
    Payment(wire::Payment),
    /// 302: the cardholder must go to the issuer.
    Redirect(wire::Redirect),
    /// A 4xx that is neither a decline nor a failed authentication: Bambora refused the
    /// request, nothing happened.
    Refused { status: u16, error: ProviderError },
    /// No answer to trust (none, a 5xx, a status Bambora does not send, a 2xx that cannot
    /// be read): Bambora may or may not have charged.
    Lost,
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
    /// `3d_secure.reason_merchant`: why Bambora's authentication rejected, by name.
    reason: Option<TransStatusReason>,
}

/// Bambora's error document as the provider's words: its code, and its message with the
/// fields it named (`card.number: Invalid card number`).
pub(super) fn provider_error(body: &str) -> Option<ProviderError> {
    let body = crate::json_path::from_text::<ErrorBody>(body).ok()?;
    Some(ProviderError::new(
        body.code.to_string(),
        body.full_message(),
    ))
}

impl Known<'_> {
    /// Sorts an answer: the 302 and the 402s (a decline, a failed authentication) are
    /// Bambora's own; everything else goes through the one classifier.
    pub(super) fn read(self, response: Result<HttpResponse, TransportFailure>) -> Reply {
        if let Ok(answer) = &response {
            match answer.status {
                302 => {
                    return match crate::json_path::from_text(&answer.body) {
                        Ok(redirect) => Reply::Redirect(redirect),
                        Err(_) => Reply::Ended(answer::bad_response(
                            "the 302 answer is not the JSON expected",
                        )),
                    }
                }
                402 => {
                    if let Some(result) = self.payment_required(&answer.body) {
                        return Reply::Ended(result);
                    }
                }
                _ => {}
            }
        }
        match Answer::of(response, provider_error) {
            // A 2xx whose payment cannot be read (cut short, a proxy's page, no `id`) came
            // after Bambora took the request: it may have charged, so it is looked up.
            Answer::Found(answer) => match crate::json_path::from_text(&answer.body) {
                Ok(payment) => Reply::Payment(payment),
                Err(_) => Reply::Lost,
            },
            Answer::Refused { status, error } => Reply::Refused { status, error },
            Answer::Lost(_) => Reply::Lost,
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
                ..answer::bad_response("approved is neither \"1\" nor \"0\"")
            },
        }
    }

    /// A 402 Bambora gave a meaning: 311 a failed authentication, a decline (category 1,
    /// or `validation`) the issuer's. `None`: any other 402 (312 card type not accepted),
    /// a refusal like the other 4xx.
    fn payment_required(self, body: &str) -> Option<PaymentResult> {
        let body = crate::json_path::from_text::<ErrorBody>(body).ok()?;
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
        if body.code == CODE_3DS_FAILED {
            let mut message = body.message.clone();
            if let Some(reason) = body
                .three_d_secure
                .as_ref()
                .and_then(|t| t.reason_merchant.as_deref())
            {
                message = format!("{message}: {reason}");
            }
            return Some(
                ThreeDs {
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
                ),
            );
        }
        if body.category != Some(CATEGORY_DECLINE) && body.validation.is_none() {
            return None;
        }
        let (id, code, message) = match body.validation {
            Some(v) => (
                Some(v.id),
                v.message_id.unwrap_or_else(|| body.code.to_string()),
                v.message.unwrap_or(body.message),
            ),
            None => (None, body.code.to_string(), body.message),
        };
        Some(three_ds.result(
            PaymentStatus::Declined,
            id,
            provider_error(ResultCode::Declined, code, message),
        ))
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
                reason: None,
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
                    reason: reported
                        .and_then(|r| r.reason_merchant.as_deref())
                        .and_then(wire::trans_status_reason),
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
            trans_status_reason: self.reason,
            error,
        }
    }
}

/// `3d_secure.status` as a transStatus (`Success` is how the reports spell it); `Error`
/// (and anything unknown) has none.
pub(super) fn trans_status_of(status: &str) -> Option<TransStatus> {
    Some(match status {
        "Succeeded" | "Success" => TransStatus::Y,
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

/// Which transaction of a search is the order's payment.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Search {
    /// No transaction for this order: Bambora charged nothing.
    Nothing,
    /// This transaction id: the one approved, or else the last declined.
    Transaction(String),
    /// More than one approved transaction fits: this backend cannot tell which is its.
    Ambiguous,
}

/// The order's transaction among `records`: a purchase (or pre-authorization) with the
/// order number that was sent, its amount, the account's `currency` where the record
/// names one, and the card's last four where both are known. Never another order's.
pub(super) fn search(records: &[wire::SearchRecord], order: &Order, currency: &str) -> Search {
    let fits = |record: &&wire::SearchRecord| {
        let last_four = order.card.as_ref().map(|c| c.last_four.as_str());
        record.trn_order_number == order.order_number
            && record.trn_amount == Some(order.amount)
            && matches!(record.trn_type.as_deref(), Some("P" | "PA"))
            && record
                .currency_abbr
                .as_deref()
                .is_none_or(|c| c.eq_ignore_ascii_case(currency))
            && match (last_four, record.trn_masked_card.as_deref()) {
                (Some(four), Some(masked)) => masked.ends_with(four),
                _ => true,
            }
            && !record.trn_id.is_empty()
            && record.trn_id.bytes().all(|b| b.is_ascii_digit())
    };
    let fitting: Vec<&wire::SearchRecord> = records.iter().filter(fits).collect();
    let approved: Vec<&&wire::SearchRecord> = fitting
        .iter()
        .filter(|r| r.trn_response.as_deref() == Some("1"))
        .collect();
    match approved.as_slice() {
        [one] => Search::Transaction(one.trn_id.clone()),
        [_, _, ..] => Search::Ambiguous,
        [] => fitting
            .iter()
            .max_by_key(|r| (r.trn_id.len(), r.trn_id.clone()))
            .map_or(Search::Nothing, |r| Search::Transaction(r.trn_id.clone())),
    }
}

/// Whether `payment` (`GET /v1/payments/{id}`) is transaction `id` of this order: the
/// order number and amount, where Bambora gives them, must be the ones that were sent.
pub(super) fn is_the_orders(payment: &wire::Payment, id: &str, order: &Order) -> bool {
    payment.id == id
        && payment
            .order_number
            .as_deref()
            .is_none_or(|n| n == order.order_number)
        && payment.amount.is_none_or(|a| a == order.amount)
}
