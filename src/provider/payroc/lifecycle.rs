//! Payroc after the authorization: capture (`POST /payments/{paymentId}/capture`), void
//! (`POST /payments/{paymentId}/reverse`, a full reversal) and refund (`POST
//! /payments/{paymentId}/refund`, a referenced refund), each with a Bearer token and an
//! `Idempotency-Key` derived from the operation's reference. Payroc answers each with the
//! payment; a refusal is an RFC 7807 problem.
//!
//! **Lookup.** Payroc answers a POST resent with the same Idempotency-Key and the same
//! body with its first answer and does nothing else (providers.md §4.2). Every request
//! here is built from the [`Operation`] alone, so a resend is byte-identical: the lookup
//! of an operation whose answer was lost is the same request again. Payroc's refunds
//! carry no merchant reference to list them by, so a listing could not tell two equal
//! partial refunds apart; the key can.
//!
//! **Bearer.** The token is the adapter's cache (see `mod.rs`); when none is fresh the
//! operation first asks for one ([`OperationCall::Authorize`]) and then sends. A 401 to a
//! token older than [`REVOKED_AFTER_MS`] was revoked early: it is forgotten and fetched
//! again. A failed token call, or a 401 to a fresh token, leaves the operation `Unknown`
//! rather than refused: the answer cannot tell whether an earlier send of the same
//! operation went through, and the host's lookup (the resend) settles it.

use serde::Serialize;

use super::answer_of;
use super::wire;
use super::Config;
use super::PayrocAdapter;
use crate::provider::answer::{Answer, ProviderError};
use crate::provider::lifecycle::{
    Operation, OperationAnswer, OperationCall, OperationError, OperationErrorCode, OperationKind,
    OperationResult, OperationStep,
};
use crate::provider::{Context, HttpRequest};

/// A 401 to a token issued less than this long ago is not a revocation: the operation
/// waits for the lookup instead of fetching tokens in a loop.
pub const REVOKED_AFTER_MS: u64 = 60 * 1000;

impl PayrocAdapter {
    /// The first call of `op`, or why Payroc cannot do it.
    pub(super) fn lifecycle_operation(
        &self,
        op: &Operation,
        cx: &Context,
    ) -> Result<OperationStep, OperationError> {
        check(op)?;
        Ok(self.send_operation(op, cx))
    }

    /// The same request again: Payroc answers a resent key with its first answer.
    pub(super) fn lifecycle_lookup(&self, op: &Operation, cx: &Context) -> OperationStep {
        if check(op).is_err() {
            return OperationStep::Unknown;
        }
        self.send_operation(op, cx)
    }

    pub(super) fn lifecycle_response(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
        cx: &Context,
    ) -> OperationStep {
        match call {
            OperationCall::Authorize => match self.read_access_token(response, cx) {
                Ok(bearer) => self.operation_call(op, &bearer),
                Err(_) => OperationStep::Unknown,
            },
            OperationCall::Send | OperationCall::Lookup => {
                self.on_operation_answer(op, response, cx)
            }
        }
    }

    /// The operation's own call with the cached token, or the token call first.
    fn send_operation(&self, op: &Operation, cx: &Context) -> OperationStep {
        match self.bearer(cx.now_ms) {
            Some(bearer) => self.operation_call(op, &bearer),
            None => OperationStep::Call {
                call: OperationCall::Authorize,
                request: self.identity_request(),
            },
        }
    }

    fn operation_call(&self, op: &Operation, bearer: &str) -> OperationStep {
        match self.operation_request(op, bearer) {
            Some(request) => OperationStep::Call {
                call: OperationCall::Send,
                request,
            },
            // Only a body serde cannot write; nothing was sent.
            None => OperationStep::Done(OperationResult::Refused(OperationError::new(
                OperationErrorCode::ProviderBadResponse,
            ))),
        }
    }

    /// The capture, reverse or refund request of `op`.
    pub(super) fn operation_request(&self, op: &Operation, bearer: &str) -> Option<HttpRequest> {
        let (verb, body, purpose) = match op.kind {
            OperationKind::Capture => (
                "capture",
                to_json(&wire::CaptureRequest {
                    processing_terminal_id: &self.config.processing_terminal_id,
                    amount: op.amount,
                })?,
                "payroc.capture",
            ),
            // A full reversal: Payroc reverses the whole authorization when no amount is
            // given.
            OperationKind::Void => ("reverse", "{}".to_owned(), "payroc.reverse"),
            OperationKind::Refund => (
                "refund",
                to_json(&wire::RefundRequest {
                    amount: op.amount,
                    description: format!("Refund for order {}", op.order_id),
                })?,
                "payroc.refund",
            ),
        };
        let path = format!("/payments/{}/{verb}", op.provider_payment_id);
        Some(
            HttpRequest::post_json(Config::url(&self.config.api_url, &path), body, purpose)
                .header("Authorization", format!("Bearer {bearer}"))
                .header("Idempotency-Key", operation_key(op))
                .retry_safe(),
        )
    }

    fn on_operation_answer(
        &self,
        op: &Operation,
        response: OperationAnswer,
        cx: &Context,
    ) -> OperationStep {
        match answer_of(response) {
            Answer::Found(found) => match crate::json_path::from_text::<wire::Payment>(&found.body)
            {
                Ok(payment) => operation_result(op, &payment)
                    .map_or(OperationStep::Unknown, OperationStep::Done),
                // Payroc did something and said it unreadably: the resend will say it again,
                // and the host keeps looking.
                Err(_) => OperationStep::Unknown,
            },
            Answer::Refused { status: 401, .. } => self.after_unauthorized(op, cx),
            Answer::Refused { status, error } => {
                OperationStep::Done(OperationResult::Refused(refusal(status, &error)))
            }
            Answer::Lost(_) => OperationStep::Unknown,
        }
    }

    /// A 401: a token revoked before its time is replaced and the operation sent again;
    /// a 401 to one just issued waits for the lookup.
    fn after_unauthorized(&self, op: &Operation, cx: &Context) -> OperationStep {
        let fresh = self
            .token_issued_at()
            .is_some_and(|issued| cx.now_ms.saturating_sub(issued) < REVOKED_AFTER_MS);
        if fresh {
            return OperationStep::Unknown;
        }
        self.forget_token();
        self.send_operation(op, cx)
    }
}

/// What Payroc's API cannot do (or what cannot go into its URL), before any call.
fn check(op: &Operation) -> Result<(), OperationError> {
    if op.kind == OperationKind::Void && op.amount != op.authorized_amount {
        return Err(crate::provider::lifecycle::unsupported(
            "Payroc",
            "void part of an authorization (a partial reversal leaves an authorization open)",
        ));
    }
    if op.amount == 0 {
        return Err(OperationError::new(OperationErrorCode::AmountTooLarge)
            .with_provider("amount", "the amount must be above zero"));
    }
    let id = &op.provider_payment_id;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(OperationError::new(OperationErrorCode::ProviderRejected)
            .with_provider("paymentId", "not a Payroc paymentId"));
    }
    Ok(())
}

/// The Idempotency-Key of `op`: UUID-v4-shaped (Payroc asks for a v4), derived from the
/// operation's reference, so every resend carries the same one.
pub(super) fn operation_key(op: &Operation) -> String {
    use sha2::Digest;
    let digest =
        sha2::Sha256::digest(format!("payroc:{}:{}", op.kind.as_str(), op.reference).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// What Payroc's payment, answered to `op`, says of it. `None`: a refund answer that
/// lists no refund (Payroc acted, but this answer cannot say how).
fn operation_result(op: &Operation, payment: &wire::Payment) -> Option<OperationResult> {
    let result = &payment.transaction_result;
    let refused = |code: &str, message: &str| {
        OperationResult::Refused(
            OperationError::new(OperationErrorCode::ProviderRejected).with_provider(code, message),
        )
    };
    match op.kind {
        OperationKind::Refund => {
            // The refund this request made is the newest of the payment's refunds.
            let refund = payment.refunds.last()?;
            if refund.response_code.as_deref().is_some_and(|c| c != "A") {
                let message = refund.response_message.clone().unwrap_or_default();
                let code = refund.response_code.clone().unwrap_or_default();
                return Some(refused(&code, &message));
            }
            Some(OperationResult::Succeeded {
                provider_operation_id: refund.refund_id.clone(),
                amount: refund.amount.map_or(op.amount, i64::unsigned_abs),
            })
        }
        OperationKind::Capture | OperationKind::Void if result.response_code != "A" => {
            Some(refused(
                &result.response_code,
                result.response_message.as_deref().unwrap_or_default(),
            ))
        }
        OperationKind::Capture => Some(OperationResult::Succeeded {
            provider_operation_id: payment.payment_id.clone(),
            amount: result
                .authorized_amount
                .map_or(op.amount, i64::unsigned_abs),
        }),
        OperationKind::Void => Some(OperationResult::Succeeded {
            provider_operation_id: payment.payment_id.clone(),
            amount: op.amount,
        }),
    }
}

/// A Payroc problem → the stable code. Payroc documents the problem shape, not words
/// for these refusals, so the code is read from the `errors[]` message the problem
/// carries (the sandbox's words, docs/sandbox/payroc.md); anything else is
/// `provider_rejected` with Payroc's own code and message.
fn refusal(status: u16, error: &ProviderError) -> OperationError {
    let message = error.message.to_ascii_lowercase();
    let code = if status != 400 {
        OperationErrorCode::ProviderRejected
    } else if message.contains("expired") {
        OperationErrorCode::AuthorizationExpired
    } else if message.contains("reversed") {
        OperationErrorCode::AlreadyVoided
    } else if message.contains("already been captured") {
        OperationErrorCode::AlreadyCaptured
    } else if message.contains("not been captured") {
        OperationErrorCode::NotCaptured
    } else if message.contains("(amount:") && message.contains("exceed") {
        OperationErrorCode::AmountTooLarge
    } else {
        OperationErrorCode::ProviderRejected
    };
    OperationError::new(code).with_provider(error.code.clone(), error.message.clone())
}

fn to_json<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
