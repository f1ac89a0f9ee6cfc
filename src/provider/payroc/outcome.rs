//! What Payroc's answers mean for the payment: answers read with the shared classifier
//! (`provider::answer`, Payroc's problem document as the provider's words), a created or
//! listed payment turned into a [`PaymentResult`], the sale found in a page of Payroc's
//! payments list, and the merchant's own authentication checked against what Payroc's
//! `thirdParty` block can say. Pure functions of their input. (The MPI receipt is read in
//! `returns`.)

use super::wire;
use super::{Evidence, Order, Sale, ThirdParty, ThirdPartyEci};
use crate::emv::{CardBrand, Eci, Generation, LiabilityShift, TransStatus};
use crate::payment::{
    ExternalAuthentication, PaymentResult, PaymentStatus, ResultCode, ResultError,
};
use crate::provider::answer::{self, Answer, ProviderError};
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
                return Err(outcome(answer::rejected_here(
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

/// The ECI of Payroc's MPI receipt on `brand`'s own scale. Payroc returns 05, 06 or 07
/// whatever the brand (seed 000, `eci`: authenticated, attempted or not enrolled, failed);
/// Mastercard's liability rules read 02, 01 and 00 for those. A receipt that already gives
/// Mastercard's values is read as it is.
fn on_scheme_scale(brand: CardBrand, eci: Eci) -> Eci {
    match (brand, eci.value()) {
        (CardBrand::Mastercard, 5) => Eci::for_outcome(brand, TransStatus::Y).unwrap_or(eci),
        (CardBrand::Mastercard, 6) => Eci::for_outcome(brand, TransStatus::A).unwrap_or(eci),
        (CardBrand::Mastercard, 7) => Eci::for_outcome(brand, TransStatus::N).unwrap_or(eci),
        _ => eci,
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
        trans_status_reason: None,
        error: None,
    };
    let provider_error = |code: ResultCode, provider_code: String| {
        Some(ResultError {
            code,
            provider_code: Some(provider_code),
            provider_message: outcome.response_message.clone(),
        })
    };
    let approved = matches!(status.as_str(), "ready" | "complete") && code == "A";
    if approved && !outcome.is_whole(&sale.order) {
        // Approved for another amount or currency than the order's (a partial approval
        // Payroc reports as approved): not what the merchant's server asked to charge.
        PaymentResult {
            status: PaymentStatus::Error,
            error: Some(ResultError {
                code: ResultCode::ProviderBadResponse,
                provider_code: Some(format!("{status}/{code}")),
                provider_message: Some(
                    "Payroc approved another amount or currency than the order's".to_owned(),
                ),
            }),
            ..base
        }
    } else if approved {
        let scheme_eci = match sale.evidence {
            Evidence::Gateway { .. } => on_scheme_scale(brand, eci),
            Evidence::ThirdParty(_) => eci,
        };
        PaymentResult {
            liability_shift: LiabilityShift::decide(
                brand,
                trans_status,
                Some(scheme_eci),
                generation,
            )
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

/// Reads an answer with the classifier every adapter shares (`provider::answer`), Payroc's
/// problem document being the provider's words. A 409 is Payroc refusing the request's
/// idempotency key (in use with another body, or still being answered), not its content:
/// it says nothing of what the key's first sending did, so it is no answer either.
pub(super) fn answer_of(response: Result<HttpResponse, TransportFailure>) -> Answer {
    match Answer::of(response, |body| {
        wire::Problem::parse(body)
            .map(|problem| ProviderError::new(problem.code(), problem.message()))
    }) {
        Answer::Refused { status: 409, error } => {
            Answer::Lost(answer::Lost::Failed { status: 409, error })
        }
        answer => answer,
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

pub(super) fn bad_token() -> PaymentResult {
    answer::rejected_here(
        "paymentMethod.token",
        "a Payroc single-use token is 1 to 256 letters and digits",
    )
}

/// The sale's payment among one page of Payroc's payments list: one of the same order
/// id, amount and currency on this terminal, never another order's (an approved one
/// first, else the first declined or other). `Ok(None)`: none on this page. `Err`: a
/// payment of this order id that cannot be read (whether it is the sale's is unknown).
pub(super) fn sale_in_page(
    sale: &Sale,
    terminal: &str,
    page: &wire::PaymentPage,
) -> Result<Option<PaymentResult>, serde_json::Error> {
    let mut found = None;
    for entry in &page.data {
        let order_id = entry.pointer("/order/orderId").and_then(|id| id.as_str());
        if order_id != Some(sale.order.order_id.as_str()) {
            continue;
        }
        // Read from the value, as every other answer of Payroc's is (`json_path`).
        let payment: wire::Payment = crate::json_path::typed(entry).map_err(|e| e.error)?;
        if !payment.is_of(&sale.order, terminal) {
            continue;
        }
        let result = sale_result(sale, payment);
        if result.status == PaymentStatus::Authorized {
            return Ok(Some(result));
        }
        found.get_or_insert(result);
    }
    Ok(found)
}

impl wire::TransactionResult {
    /// Whether what Payroc says it authorized is the order's whole amount, in its
    /// currency. A result that leaves either out is read by its order (`is_of`).
    fn is_whole(&self, order: &Order) -> bool {
        let amount = self
            .authorized_amount
            .is_none_or(|amount| u64::try_from(amount) == Ok(order.amount));
        let currency = self
            .currency
            .as_deref()
            .is_none_or(|currency| currency.eq_ignore_ascii_case(order.currency.as_str()));
        amount && currency
    }
}

/// The sale's answer names another order, amount, currency or terminal than the sale's:
/// not what the merchant's server asked to charge, whatever Payroc says of it. An error
/// with Payroc's payment id, so that the merchant can look the charge up.
pub(super) fn another_order(payment: wire::Payment) -> PaymentResult {
    PaymentResult {
        provider_payment_id: Some(payment.payment_id),
        ..PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
            .with_provider_error(
                "another_order",
                "Payroc answered the sale with another order's payment",
            )
    }
}

impl wire::Payment {
    /// Whether the answer says which order it is for, and names another than `order` on
    /// `terminal` (an answer that leaves its order out is read by its result's amount).
    pub(super) fn names_another_order(&self, order: &Order, terminal: &str) -> bool {
        self.order.is_some() && !self.is_of(order, terminal)
    }

    /// Whether Payroc's payment is for `order` (id, amount, currency) on `terminal`.
    fn is_of(&self, order: &Order, terminal: &str) -> bool {
        let same_order = self.order.as_ref().is_some_and(|o| {
            o.order_id == order.order_id && o.amount == order.amount && o.currency == order.currency
        });
        let same_terminal = self
            .processing_terminal_id
            .as_deref()
            .is_none_or(|t| t == terminal);
        same_order && same_terminal
    }
}
