//! dLocal after the authorization: capture (`POST /payments {authorization_id, amount,
//! currency, order_id}`), void (`POST /payments/{id}/cancel`, dLocal's "cancel an
//! authorization") and refund (`POST /refunds {payment_id, amount, currency,
//! notification_url, order_refund_id}`), each signed like every dLocal call and sent with
//! `X-Idempotency-Key = op.reference`, so the host may resend it after a lost answer.
//!
//! A lost answer is `Unknown`; the lookup is `GET /orders/{reference}` for a capture (its
//! `order_id` is the reference), `GET /payments/{id}` for a void (`CANCELLED` or not),
//! and for a refund the same `POST /refunds` again under the same key: dLocal answers the
//! refund the key made, and documents no search of refunds by the merchant's id.
//! dLocal refuses a wrong status with one code (5002) whose message names the payment's
//! status; that status picks the stable code. docs/backend/dlocal.md "Capture, void,
//! refund".

use serde::Deserialize;

use super::outcome::{error_of, NOT_FOUND};
use super::wire::{self, minor_amount};
use super::DlocalAdapter;
use crate::payment::CaptureMode;
use crate::provider::answer::{Answer, ProviderError};
use crate::provider::lifecycle::{
    Operation, OperationAnswer, OperationCall, OperationError, OperationErrorCode, OperationKind,
    OperationResult, OperationStep,
};
use crate::provider::{Context, HttpMethod, HttpRequest, HttpResponse};

/// dLocal's "invalid status" refusal (HTTP 400).
const INVALID_STATUS: &str = "5002";
/// dLocal's "amount exceeded" refusal (HTTP 400).
const AMOUNT_EXCEEDED: &str = "5007";

/// `POST /payments` for a capture.
#[derive(Debug, serde::Serialize)]
struct CaptureBody<'a> {
    authorization_id: &'a str,
    amount: serde_json::Number,
    currency: &'a str,
    /// The capture's own id in the merchant's system: what the lookup finds it by.
    order_id: &'a str,
}

/// `POST /refunds`.
#[derive(Debug, serde::Serialize)]
struct RefundBody<'a> {
    payment_id: &'a str,
    amount: serde_json::Number,
    currency: &'a str,
    notification_url: String,
    order_refund_id: &'a str,
}

/// What this adapter reads of a capture's, a cancelled payment's, an order's or a refund's
/// answer: they all carry an id (`payment_id` for the order object), a status and the
/// amount.
#[derive(Debug, Deserialize)]
struct Answered {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    payment_id: Option<String>,
    #[serde(default)]
    authorization_id: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    status: String,
    /// A string or a number, as dLocal's examples disagree.
    #[serde(default)]
    status_code: Option<serde_json::Value>,
    #[serde(default)]
    status_detail: Option<String>,
    #[serde(default)]
    amount: Option<serde_json::Number>,
    #[serde(default)]
    currency: Option<String>,
}

impl Answered {
    /// dLocal's refusal in its own words: the status code (else the status) and detail.
    fn refusal(&self, fallback: &str) -> OperationStep {
        let code = match &self.status_code {
            Some(serde_json::Value::String(code)) => code.clone(),
            Some(serde_json::Value::Number(code)) => code.to_string(),
            _ => self.status.clone(),
        };
        let message = self
            .status_detail
            .clone()
            .unwrap_or_else(|| fallback.to_owned());
        refused(
            OperationErrorCode::ProviderRejected,
            &ProviderError::new(code, message),
        )
    }

    /// The amount it names, in minor units of `op`'s currency, if it names one in it.
    fn minor(&self, op: &Operation) -> Option<u64> {
        let currency = self.currency.as_deref()?;
        (currency == op.currency.as_str())
            .then(|| minor_amount(self.amount.as_ref()?, currency))
            .flatten()
    }
}

fn done(result: OperationResult) -> OperationStep {
    OperationStep::Done(result)
}

fn refused(code: OperationErrorCode, error: &ProviderError) -> OperationStep {
    done(OperationResult::Refused(
        OperationError::new(code).with_provider(error.code.clone(), error.message.clone()),
    ))
}

/// A refusal with dLocal's status words, when this adapter's own check (no call) or a
/// lookup found it.
fn refused_because(code: OperationErrorCode, status: &str, message: &str) -> OperationStep {
    refused(code, &ProviderError::new(status, message))
}

impl DlocalAdapter {
    /// The first call of `op`. A payment captured with its authorization (`PAID`) has
    /// nothing to capture or void; dLocal cancels a whole authorization only.
    pub(super) fn start_operation(
        &self,
        op: &Operation,
        cx: &Context,
    ) -> Result<OperationStep, OperationError> {
        let captured_at_once = op.capture_mode == CaptureMode::Automatic;
        match op.kind {
            OperationKind::Capture | OperationKind::Void if captured_at_once => Err(
                OperationError::new(OperationErrorCode::AlreadyCaptured).with_provider(
                    "PAID",
                    "dLocal captured this payment with its authorization",
                ),
            ),
            OperationKind::Void if op.amount != op.authorized_amount => Err(
                crate::provider::lifecycle::unsupported("dLocal", "void part of an authorization"),
            ),
            _ => Ok(self.send_operation(op, cx)),
        }
    }

    /// The capture, cancel or refund request itself (also a refund's lookup).
    fn send_operation(&self, op: &Operation, cx: &Context) -> OperationStep {
        let currency = op.currency.as_str();
        let amount = wire::major_amount(op.amount, currency);
        let request = match op.kind {
            OperationKind::Capture => {
                let body = CaptureBody {
                    authorization_id: &op.provider_payment_id,
                    amount,
                    currency,
                    order_id: &op.reference,
                };
                self.post(op, "/payments", Some(json(&body)), "dlocal.capture")
            }
            OperationKind::Void => {
                let path = format!("/payments/{}/cancel", op.provider_payment_id);
                self.post(op, &path, None, "dlocal.void")
            }
            OperationKind::Refund => {
                let body = RefundBody {
                    payment_id: op.capture_id.as_deref().unwrap_or(&op.provider_payment_id),
                    amount,
                    currency,
                    notification_url: self.notification_url(cx),
                    order_refund_id: &op.reference,
                };
                self.post(op, "/refunds", Some(json(&body)), "dlocal.refund")
            }
        };
        OperationStep::Call {
            call: OperationCall::Send,
            request: self.signed(request, cx),
        }
    }

    /// A `POST` under the operation's `X-Idempotency-Key`: the host may resend it.
    fn post(
        &self,
        op: &Operation,
        path: &str,
        body: Option<String>,
        purpose: &'static str,
    ) -> HttpRequest {
        let url = self.config.url(path);
        let request = match body {
            Some(body) => HttpRequest::post_json(url, body, purpose),
            None => HttpRequest {
                method: HttpMethod::Post,
                ..HttpRequest::get(url, purpose)
            },
        };
        request
            .header("X-Idempotency-Key", op.reference.clone())
            .retry_safe()
    }

    /// Finds out what became of `op` after a lost answer.
    pub(super) fn look_up_operation(&self, op: &Operation, cx: &Context) -> OperationStep {
        let path = match op.kind {
            OperationKind::Capture => format!("/orders/{}", op.reference),
            OperationKind::Void => format!("/payments/{}", op.provider_payment_id),
            OperationKind::Refund => return self.send_operation(op, cx),
        };
        let request = HttpRequest::get(self.config.url(&path), "dlocal.operation_lookup");
        OperationStep::Call {
            call: OperationCall::Lookup,
            request: self.signed(request, cx),
        }
    }

    /// The answer to a call of `op`.
    pub(super) fn operation_answered(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
    ) -> OperationStep {
        match (call, Answer::of(response, error_of)) {
            // dLocal needs no token call: an answer to one is none of ours.
            (_, Answer::Lost(_)) | (OperationCall::Authorize, _) => OperationStep::Unknown,
            (OperationCall::Send, Answer::Refused { error, .. }) => {
                refused(refusal_code(op.kind, &error), &error)
            }
            (OperationCall::Send, Answer::Found(found)) => sent(op, &found),
            (OperationCall::Lookup, Answer::Refused { status: 404, error })
                if error.code == NOT_FOUND && op.kind == OperationKind::Capture =>
            {
                // No capture under this reference: the lost one never reached dLocal.
                refused(OperationErrorCode::ProviderTimeout, &error)
            }
            (OperationCall::Lookup, Answer::Refused { .. }) => OperationStep::Unknown,
            (OperationCall::Lookup, Answer::Found(found)) => looked_up(op, &found),
        }
    }
}

fn json(body: &impl serde::Serialize) -> String {
    // Plain structs of strings and numbers: serializing cannot fail.
    serde_json::to_string(body).unwrap_or_default()
}

/// The stable code of a dLocal refusal of `kind`: 5007 is an amount above what is left;
/// 5002 ("invalid status") names the payment's status, which says why.
fn refusal_code(kind: OperationKind, error: &ProviderError) -> OperationErrorCode {
    match error.code.as_str() {
        AMOUNT_EXCEEDED => OperationErrorCode::AmountTooLarge,
        INVALID_STATUS => status_refusal(kind, named_status(&error.message)),
        _ => OperationErrorCode::ProviderRejected,
    }
}

/// The payment status a 5002 message names (`Invalid status: the payment is PAID`).
fn named_status(message: &str) -> Option<&'static str> {
    ["CANCELLED", "EXPIRED", "PAID", "AUTHORIZED"]
        .into_iter()
        .find(|status| {
            message
                .split(|c: char| !c.is_ascii_alphabetic())
                .any(|w| w == *status)
        })
}

/// Why a payment in `status` refuses `kind`.
fn status_refusal(kind: OperationKind, status: Option<&str>) -> OperationErrorCode {
    match (kind, status) {
        (_, Some("CANCELLED")) => OperationErrorCode::AlreadyVoided,
        (OperationKind::Refund, Some("EXPIRED") | Some("AUTHORIZED")) => {
            OperationErrorCode::NotCaptured
        }
        (_, Some("EXPIRED")) => OperationErrorCode::AuthorizationExpired,
        (OperationKind::Capture | OperationKind::Void, Some("PAID")) => {
            OperationErrorCode::AlreadyCaptured
        }
        _ => OperationErrorCode::ProviderRejected,
    }
}

/// A 2xx answer to the capture, cancel or refund itself. One that is not about this
/// operation, or cannot be read, may still have moved money: `Unknown`.
fn sent(op: &Operation, found: &HttpResponse) -> OperationStep {
    let Ok(answered) = crate::json_path::from_text::<Answered>(&found.body) else {
        return OperationStep::Unknown;
    };
    match op.kind {
        OperationKind::Capture => captured(op, &answered, answered.id.as_deref()),
        OperationKind::Void => voided(op, &answered),
        OperationKind::Refund => refunded(op, &answered),
    }
}

/// A lookup's 2xx answer: the order object of the capture's reference, or the
/// authorization for a void.
fn looked_up(op: &Operation, found: &HttpResponse) -> OperationStep {
    let Ok(answered) = crate::json_path::from_text::<Answered>(&found.body) else {
        return OperationStep::Unknown;
    };
    match op.kind {
        OperationKind::Capture if answered.order_id.as_deref() == Some(&op.reference) => {
            captured(op, &answered, answered.payment_id.as_deref())
        }
        OperationKind::Void if answered.id.as_deref() == Some(&op.provider_payment_id) => {
            match answered.status.as_str() {
                "CANCELLED" => voided(op, &answered),
                // The cancel never took: nothing moved.
                "AUTHORIZED" => refused_because(
                    OperationErrorCode::ProviderTimeout,
                    "AUTHORIZED",
                    "the cancel never reached dLocal: the authorization is still open",
                ),
                "PAID" => refused_because(
                    OperationErrorCode::AlreadyCaptured,
                    "PAID",
                    "the authorization was captured",
                ),
                "EXPIRED" => refused_because(
                    OperationErrorCode::AuthorizationExpired,
                    "EXPIRED",
                    "the authorization expired",
                ),
                _ => OperationStep::Unknown,
            }
        }
        _ => OperationStep::Unknown,
    }
}

/// A capture (or its order object): `PAID` under its own id. The amount is dLocal's word,
/// else the one asked.
fn captured(op: &Operation, answered: &Answered, id: Option<&str>) -> OperationStep {
    let about_this = answered
        .authorization_id
        .as_deref()
        .is_none_or(|a| a == op.provider_payment_id);
    match (answered.status.as_str(), id) {
        ("PAID", Some(id)) if about_this => done(OperationResult::Succeeded {
            provider_operation_id: id.to_owned(),
            amount: answered.minor(op).unwrap_or(op.amount),
        }),
        ("PENDING", Some(id)) if about_this => done(OperationResult::Pending {
            provider_operation_id: id.to_owned(),
        }),
        ("REJECTED", _) if about_this => answered.refusal("dLocal rejected the capture"),
        _ => OperationStep::Unknown,
    }
}

/// The cancelled authorization.
fn voided(op: &Operation, answered: &Answered) -> OperationStep {
    match answered.id.as_deref() {
        Some(id) if id == op.provider_payment_id && answered.status == "CANCELLED" => {
            done(OperationResult::Succeeded {
                provider_operation_id: id.to_owned(),
                amount: op.amount,
            })
        }
        _ => OperationStep::Unknown,
    }
}

/// The refund object: `SUCCESS` is done, `PENDING` counts as refunded while dLocal
/// finishes, `REJECTED` or `CANCELLED` moved nothing.
fn refunded(op: &Operation, answered: &Answered) -> OperationStep {
    let refunded_id = op.capture_id.as_deref().unwrap_or(&op.provider_payment_id);
    let about_this = answered
        .payment_id
        .as_deref()
        .is_none_or(|p| p == refunded_id || p == op.provider_payment_id);
    let Some(id) = answered.id.as_deref().filter(|_| about_this) else {
        return OperationStep::Unknown;
    };
    match answered.status.as_str() {
        "SUCCESS" => done(OperationResult::Succeeded {
            provider_operation_id: id.to_owned(),
            amount: answered.minor(op).unwrap_or(op.amount),
        }),
        "PENDING" => done(OperationResult::Pending {
            provider_operation_id: id.to_owned(),
        }),
        "REJECTED" | "CANCELLED" => answered.refusal("dLocal did not refund"),
        _ => OperationStep::Unknown,
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
