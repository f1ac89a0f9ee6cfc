//! Capture, void and refund through Paysafe's Card Payments API, as its reference gives
//! them: a settlement of the authorization (`POST …/auths/{authId}/settlements`), an
//! authorization reversal (`POST …/auths/{authId}/voidauths`) and a refund of the
//! settlement (`POST …/settlements/{settlementId}/refunds`), each `{merchantRefNum,
//! amount}`. `merchantRefNum` is the operation's reference: Paysafe refuses a second
//! transaction with it (409 `5031`) and finds each by it (`GET …/settlements?
//! merchantRefNum=`, `…/voidauths?…`, `…/refunds?…`), so every call is safe to resend and
//! a lost answer is looked up: what Paysafe holds decides; nothing found means it never
//! got the call, and the call is sent again with the same merchantRefNum.
//!
//! A payment authorized with `settleWithAuth: true` (`CaptureMode::Automatic`) was
//! settled by its authorization, under the authorization's id: its refunds go to that id.
//! Pure; the choices are in `docs/backend/paysafe.md` ("Capture, void and refund").

use serde::Deserialize;

use super::outcome::{classify, DUPLICATE};
use super::PaysafeAdapter;
use crate::payment::CaptureMode;
use crate::provider::answer::{Answer, ProviderError};
use crate::provider::lifecycle::{
    Operation, OperationAnswer, OperationCall, OperationError, OperationErrorCode as Code,
    OperationKind, OperationResult, OperationStep,
};
use crate::provider::HttpRequest;

/// `{merchantRefNum, amount}`: the body of all three calls.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct OperationRequest<'a> {
    merchant_ref_num: &'a str,
    amount: u64,
}

/// A settlement, authorization reversal or refund as Paysafe answers it (created or
/// listed): only what the result needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transaction {
    id: String,
    merchant_ref_num: Option<String>,
    status: String,
    amount: Option<u64>,
    /// Why a FAILED one failed.
    error: Option<super::wire::ErrorBody>,
}

/// A lookup's answer: `{"settlements": […]}`, `{"voidAuths": […]}` or `{"refunds": […]}`
/// (none: an empty list, or the member left out).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionList {
    #[serde(default)]
    settlements: Vec<Transaction>,
    #[serde(default)]
    void_auths: Vec<Transaction>,
    #[serde(default)]
    refunds: Vec<Transaction>,
}

impl TransactionList {
    fn of(self, kind: OperationKind) -> Vec<Transaction> {
        match kind {
            OperationKind::Capture => self.settlements,
            OperationKind::Void => self.void_auths,
            OperationKind::Refund => self.refunds,
        }
    }
}

/// Where a Paysafe transaction stands, by its `status` (`RECEIVED | INITIATED | PENDING |
/// PROCESSING | COMPLETED | HELD | FAILED | EXPIRED | CANCELLED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransactionStatus {
    /// Done, or queued for the next batch (a settlement or refund is PENDING until its
    /// batch: the amount is taken).
    Accepted,
    /// Received, not processed yet: accepted, Paysafe's word to come.
    Received,
    /// FAILED, EXPIRED or CANCELLED: nothing moved.
    Failed,
    /// A status Paysafe does not document for these transactions.
    Unknown,
}

impl TransactionStatus {
    fn of(status: &str) -> TransactionStatus {
        match status {
            "COMPLETED" | "PENDING" | "PROCESSING" => TransactionStatus::Accepted,
            "RECEIVED" | "INITIATED" | "HELD" => TransactionStatus::Received,
            "FAILED" | "EXPIRED" | "CANCELLED" => TransactionStatus::Failed,
            _ => TransactionStatus::Unknown,
        }
    }
}

impl PaysafeAdapter {
    /// The first call of `op`, or why Paysafe cannot do it before any call.
    pub(super) fn operation_call(&self, op: &Operation) -> Result<OperationStep, OperationError> {
        let request = self.operation_request(op)?;
        Ok(OperationStep::Call {
            call: OperationCall::Send,
            request,
        })
    }

    /// After a lost answer: the lookup by merchantRefNum.
    pub(super) fn find_operation(&self, op: &Operation) -> OperationStep {
        // The operation was accepted once, so its request can be built: a failure here
        // means the stored operation changed, and nothing is sent.
        if self.operation_request(op).is_err() {
            return OperationStep::Unknown;
        }
        let path = match op.kind {
            OperationKind::Capture => "settlements",
            OperationKind::Void => "voidauths",
            OperationKind::Refund => "refunds",
        };
        // The reference is 32 hex digits: nothing in it needs escaping (checked by
        // `operation_request`).
        let url = format!(
            "{}?merchantRefNum={}",
            self.cardpayments_url(path),
            op.reference
        );
        OperationStep::Call {
            call: OperationCall::Lookup,
            request: self.get(url, lookup_purpose(op.kind)),
        }
    }

    /// The answer to `call`.
    pub(super) fn on_operation_answer(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
    ) -> OperationStep {
        match call {
            OperationCall::Send => self.on_sent(op, response),
            OperationCall::Lookup => self.on_found(op, response),
            // Paysafe needs no token call: an answer to one is none of ours.
            OperationCall::Authorize => OperationStep::Unknown,
        }
    }

    /// The settlement's, reversal's or refund's own answer. A duplicate merchantRefNum
    /// means an earlier send got there: it is looked up now.
    fn on_sent(&self, op: &Operation, response: OperationAnswer) -> OperationStep {
        match classify(response) {
            Answer::Found(response) => {
                match crate::json_path::from_text::<Transaction>(&response.body) {
                    Ok(transaction) => decided(op, &transaction),
                    // Paysafe took it, but what it said cannot be read: look it up.
                    Err(_) => OperationStep::Unknown,
                }
            }
            Answer::Refused { error, .. } if error.code == DUPLICATE => self.find_operation(op),
            Answer::Refused { error, .. } => OperationStep::Done(OperationResult::Refused(
                refusal(op, &error.code).with_provider(error.code, error.message),
            )),
            Answer::Lost(_) => OperationStep::Unknown,
        }
    }

    /// The lookup's answer: the transaction under the reference decides; none means
    /// Paysafe never got the call, which is sent again (the same merchantRefNum: a
    /// second one cannot be made). A lookup without an answer leaves it unknown.
    fn on_found(&self, op: &Operation, response: OperationAnswer) -> OperationStep {
        let Answer::Found(response) = classify(response) else {
            return OperationStep::Unknown;
        };
        let Ok(list) = crate::json_path::from_text::<TransactionList>(&response.body) else {
            return OperationStep::Unknown;
        };
        let ours: Vec<Transaction> = list
            .of(op.kind)
            .into_iter()
            .filter(|t| t.merchant_ref_num.as_deref() == Some(op.reference.as_str()))
            .collect();
        // One per merchantRefNum; should there be more, the one that moved money is the
        // truth, then one still in processing.
        let best = [TransactionStatus::Accepted, TransactionStatus::Received]
            .iter()
            .find_map(|wanted| {
                ours.iter()
                    .find(|t| TransactionStatus::of(&t.status) == *wanted)
            })
            .or(ours.first());
        match best {
            Some(transaction) => decided(op, transaction),
            None => match self.operation_call(op) {
                Ok(step) => step,
                Err(_) => OperationStep::Unknown,
            },
        }
    }

    /// The call for `op`: its URL (the authorization or settlement it goes against) and
    /// `{merchantRefNum, amount}`; refused here what Paysafe cannot do.
    fn operation_request(&self, op: &Operation) -> Result<HttpRequest, OperationError> {
        if !is_reference(&op.reference) {
            return Err(OperationError::new(Code::ProviderRejected).with_provider(
                "merchantRefNum",
                "the operation's reference is not 32 hex digits",
            ));
        }
        let (path, purpose) = match op.kind {
            OperationKind::Capture => {
                not_settled_with_auth(op, "captured")?;
                let auth = segment(&op.provider_payment_id)?;
                (format!("auths/{auth}/settlements"), "paysafe.settlement")
            }
            OperationKind::Void => {
                not_settled_with_auth(op, "voided")?;
                if op.amount != op.authorized_amount {
                    return Err(crate::provider::lifecycle::unsupported(
                        "paysafe",
                        "void part of an authorization (this backend voids all of it)",
                    ));
                }
                let auth = segment(&op.provider_payment_id)?;
                (format!("auths/{auth}/voidauths"), "paysafe.voidauth")
            }
            OperationKind::Refund => {
                let settlement = settlement_of(op)?;
                (
                    format!("settlements/{settlement}/refunds"),
                    "paysafe.refund",
                )
            }
        };
        let body = OperationRequest {
            merchant_ref_num: &op.reference,
            amount: op.amount,
        };
        // Paysafe refuses a repeat of the merchantRefNum (5031): never a second one.
        Ok(self
            .post(self.cardpayments_url(&path), &body, purpose)
            .retry_safe())
    }

    fn cardpayments_url(&self, path: &str) -> String {
        self.config.url(&format!(
            "/cardpayments/v1/accounts/{}/{path}",
            self.config.account_id
        ))
    }
}

fn lookup_purpose(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::Capture => "paysafe.settlement.lookup",
        OperationKind::Void => "paysafe.voidauth.lookup",
        OperationKind::Refund => "paysafe.refund.lookup",
    }
}

/// An authorization sent with `settleWithAuth: true` is settled already: it can be
/// neither settled nor reversed again.
fn not_settled_with_auth(op: &Operation, what: &str) -> Result<(), OperationError> {
    match op.capture_mode {
        CaptureMode::Manual => Ok(()),
        CaptureMode::Automatic => Err(OperationError::new(Code::AlreadyCaptured).with_provider(
            "settleWithAuth",
            format!("the authorization was settled with settleWithAuth=true and cannot be {what}"),
        )),
    }
}

/// The settlement a refund goes against: the capture's, or the authorization itself
/// when it was settled with it (Paysafe gives that settlement the authorization's id).
fn settlement_of(op: &Operation) -> Result<&str, OperationError> {
    match (&op.capture_id, op.capture_mode) {
        (Some(settlement), _) => segment(settlement),
        (None, CaptureMode::Automatic) => segment(&op.provider_payment_id),
        (None, CaptureMode::Manual) => Err(OperationError::new(Code::NotCaptured).with_provider(
            "settlement",
            "the authorization has no settlement to refund",
        )),
    }
}

/// A Paysafe id as a path segment: a UUID-like run of letters, digits and `-`; anything
/// else would change the URL and is refused.
fn segment(id: &str) -> Result<&str, OperationError> {
    let fits = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if fits {
        Ok(id)
    } else {
        Err(OperationError::new(Code::ProviderBadResponse)
            .with_provider("id", "the stored Paysafe id is not a path segment"))
    }
}

fn is_reference(reference: &str) -> bool {
    reference.len() == 32 && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The operation's end by the transaction Paysafe holds (or a doubt while it cannot be
/// read).
fn decided(op: &Operation, transaction: &Transaction) -> OperationStep {
    let id = transaction.id.clone();
    match TransactionStatus::of(&transaction.status) {
        TransactionStatus::Accepted => OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id: id,
            amount: transaction.amount.unwrap_or(op.amount),
        }),
        TransactionStatus::Received => OperationStep::Done(OperationResult::Pending {
            provider_operation_id: id,
        }),
        TransactionStatus::Failed => {
            let error = transaction
                .error
                .as_ref()
                .map(|e| ProviderError::new(e.code.clone(), e.full_message()))
                .unwrap_or_else(|| {
                    ProviderError::new(transaction.status.clone(), "Paysafe did not do it")
                });
            OperationStep::Done(OperationResult::Refused(
                refusal(op, &error.code).with_provider(error.code, error.message),
            ))
        }
        TransactionStatus::Unknown => OperationStep::Unknown,
    }
}

/// The stable code for Paysafe's error `code` on `op` (its Card Payments error codes;
/// the choices are in docs/backend/paysafe.md).
fn refusal(op: &Operation, code: &str) -> OperationError {
    use OperationKind::{Capture, Refund, Void};
    let stable = match (op.kind, code) {
        // "The authorization is either fully settled or cancelled" / "You have exceeded
        // the maximum number of settlements allowed".
        (Capture, "3203" | "3202") => Code::AlreadyCaptured,
        (Capture, "3204") => Code::AmountTooLarge,
        (Capture, "3205") => Code::AuthorizationExpired,
        (Capture, "3416") | (Refund, "3418") | (Void, "3503" | "3504") => Code::Unsupported,
        (Void, "3502") => Code::AlreadyCaptured,
        // "The reversal amount exceeds the remaining amount of the authorization": a
        // whole-authorization void meets it only when the authorization was reversed.
        (Void, "3501" | "3506") if op.amount >= op.authorized_amount => Code::AlreadyVoided,
        (Void, "3501" | "3506") => Code::AmountTooLarge,
        (Refund, "3402" | "3404") => Code::AmountTooLarge,
        (Refund, "3406") => Code::NotCaptured,
        _ => Code::ProviderRejected,
    };
    OperationError::new(stable)
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
