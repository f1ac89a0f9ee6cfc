//! After the authorization: capture, void and refund, as every adapter speaks them. Pure,
//! like the rest of `provider`: an adapter turns an [`Operation`] into the provider's own
//! request and reads the provider's answer back into an [`OperationStep`]; the host sends,
//! retries, stores and looks up.
//!
//! One payment has at most one capture (a partial capture releases the rest, as Stripe and
//! Adyen do); refunds go against what was captured, several partials up to that amount.
//! The core checks those sums before it asks an adapter; the adapter still maps the
//! provider's own refusals (a refund above the captured amount, a void after capture, a
//! capture after the authorization expired) to an [`OperationErrorCode`], because the
//! provider is the truth (another system may have captured or refunded).

use serde::{Deserialize, Serialize};

mod stored;

use super::{HttpRequest, HttpResponse, TransportFailure};
use crate::order::{Currency, OrderId};
use crate::payment::CaptureMode;

/// What the merchant asked to be done to an authorized payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationKind {
    /// Take (part of) an authorization made with `CaptureMode::Manual`.
    Capture,
    /// Release an authorization nothing was captured of.
    Void,
    /// Give back (part of) what was captured.
    Refund,
}
crate::unit_variant::deserialize_by_name!(OperationKind { Capture = "capture", Void = "void", Refund = "refund" });

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Capture => "capture",
            OperationKind::Void => "void",
            OperationKind::Refund => "refund",
        }
    }
}

/// One capture, void or refund, as an adapter needs it. Holds no card data and no
/// credential; the host stores it with the payment while the call is under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub kind: OperationKind,
    /// Minor units: what to capture or refund; for a void, the authorized amount.
    pub amount: u64,
    pub currency: Currency,
    /// The payment's order id (the merchant's).
    pub order_id: OrderId,
    /// The payment's authorized amount (minor units): tells a full capture from a partial.
    pub authorized_amount: u64,
    /// How the payment was authorized: `Automatic` was captured with the authorization.
    pub capture_mode: CaptureMode,
    /// The provider's id of the authorization (`PaymentResult::provider_payment_id`).
    pub provider_payment_id: String,
    /// The provider's id of the capture a refund goes against (Paysafe's settlement id,
    /// Bambora's completion id): `None` when the payment was captured at authorization or
    /// the provider refunds the payment itself.
    pub capture_id: Option<String>,
    /// This operation's own reference, unique per operation and the same on every resend:
    /// the provider's idempotency key, `merchantRefNum` or refund order id, and what a
    /// lookup finds the operation by. 32 lowercase hex digits.
    pub reference: String,
}

/// Which call of an operation an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationCall {
    /// The capture, void or refund itself (or its resend with the same reference).
    Send,
    /// The lookup [`super::Adapter::operation_lookup`] built after an answer was lost.
    Lookup,
    /// A credential the adapter caches and the operation's call needs first (Payroc's
    /// Bearer token from its identity service): the host sends it like any other call
    /// (it is `retry_safe`) and hands its answer back with this `call`; the adapter then
    /// answers the operation's own call. Moves no money.
    Authorize,
}
crate::unit_variant::deserialize_by_name!(OperationCall { Send = "send", Lookup = "lookup", Authorize = "authorize" });

/// What an adapter wants next for an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationStep {
    /// Send `request`; its answer goes to `Adapter::on_operation_response` with `call`.
    Call {
        call: OperationCall,
        request: HttpRequest,
    },
    /// The answer was lost and may have moved money: the host keeps the operation
    /// `unknown` and asks `Adapter::operation_lookup` later, with backoff.
    Unknown,
    /// The operation is over.
    Done(OperationResult),
}

/// How an operation ended. Stored as its derived `Serialize` writes it, read back by hand
/// (`lifecycle/stored.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "status",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum OperationResult {
    /// The provider did it. `provider_operation_id` is its id for the capture, void or
    /// refund (a refund of an automatic capture is looked up by it); `amount` what it
    /// says it moved (minor units).
    Succeeded {
        provider_operation_id: String,
        amount: u64,
    },
    /// The provider accepted it and finishes later (dLocal's `PENDING` refund): final for
    /// the sums (the amount counts as refunded), looked up again for the provider's word.
    Pending { provider_operation_id: String },
    /// Nothing moved.
    Refused(OperationError),
}

impl OperationResult {
    /// A lookup's "never made": the provider holds no such operation, or shows it not taken
    /// (`provider_timeout`; Bambora's search finds no transaction, dLocal has no capture under
    /// the reference or still shows the authorization open after a cancel). The host believes
    /// it only once the operation is `reconcile.not_found_after_ms` old.
    pub fn is_never_made(&self) -> bool {
        matches!(self, OperationResult::Refused(error) if error.code == OperationErrorCode::ProviderTimeout)
    }

    /// `succeeded`, `pending` or `refused`: the merchant API's `status` and a metric's label.
    pub fn status(&self) -> &'static str {
        match self {
            OperationResult::Succeeded { .. } => "succeeded",
            OperationResult::Pending { .. } => "pending",
            OperationResult::Refused(_) => "refused",
        }
    }
}

/// Why an operation was refused: a stable code and the provider's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationError {
    pub code: OperationErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message: Option<String>,
}

impl OperationError {
    pub fn new(code: OperationErrorCode) -> OperationError {
        OperationError {
            code,
            provider_code: None,
            provider_message: None,
        }
    }

    pub fn with_provider(
        mut self,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> OperationError {
        self.provider_code = Some(code.into());
        self.provider_message = Some(message.into());
        self
    }
}

/// Stable codes for a refused operation; the API answers them (docs/openapi.yaml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationErrorCode {
    /// The provider's API cannot do this (a partial void, a second partial capture): the
    /// API answers 400 naming the provider, before any call.
    #[serde(rename = "operation_unsupported")]
    Unsupported,
    /// More than is left: a capture above the authorization, a refund above what was
    /// captured and not yet refunded.
    AmountTooLarge,
    /// The authorization was captured already (a void after capture, a second capture).
    AlreadyCaptured,
    /// The authorization was voided or reversed already.
    AlreadyVoided,
    /// The authorization expired before it was captured.
    AuthorizationExpired,
    /// Nothing was captured (a refund of an uncaptured authorization).
    NotCaptured,
    /// The provider refused it for another reason (validation, credentials, rules).
    ProviderRejected,
    /// The provider did not answer in time, even after retries (nothing moved: the
    /// lookup said so).
    ProviderTimeout,
    /// The provider answered something this backend cannot read.
    ProviderBadResponse,
    /// The provider failed (5xx) even after retries.
    ProviderUnavailable,
}
crate::unit_variant::deserialize_by_name!(OperationErrorCode { Unsupported = "operation_unsupported", AmountTooLarge = "amount_too_large", AlreadyCaptured = "already_captured", AlreadyVoided = "already_voided", AuthorizationExpired = "authorization_expired", NotCaptured = "not_captured", ProviderRejected = "provider_rejected", ProviderTimeout = "provider_timeout", ProviderBadResponse = "provider_bad_response", ProviderUnavailable = "provider_unavailable" });

impl OperationErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationErrorCode::Unsupported => "operation_unsupported",
            OperationErrorCode::AmountTooLarge => "amount_too_large",
            OperationErrorCode::AlreadyCaptured => "already_captured",
            OperationErrorCode::AlreadyVoided => "already_voided",
            OperationErrorCode::AuthorizationExpired => "authorization_expired",
            OperationErrorCode::NotCaptured => "not_captured",
            OperationErrorCode::ProviderRejected => "provider_rejected",
            OperationErrorCode::ProviderTimeout => "provider_timeout",
            OperationErrorCode::ProviderBadResponse => "provider_bad_response",
            OperationErrorCode::ProviderUnavailable => "provider_unavailable",
        }
    }
}

/// The refusal every adapter gives an operation it does not implement.
pub fn unsupported(provider: &str, what: &str) -> OperationError {
    OperationError::new(OperationErrorCode::Unsupported)
        .with_provider("unsupported", format!("{provider} cannot {what}"))
}

/// An answer to an operation call as the host hands it to the adapter.
pub type OperationAnswer = Result<HttpResponse, TransportFailure>;
