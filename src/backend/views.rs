//! The views the HTTP API answers with (docs/openapi.yaml): the page's view of its own
//! payment (client secret) and the merchant's (API key), camelCase. Each is made from a
//! stored session, showing only what its reader may see.

use serde::Serialize;

use crate::payment::{CaptureMode, CardSummary, Payer, PaymentResult, PaymentStatus, ProviderKind};
use crate::session::{Phase, Session};

/// The page's view of its own payment (client secret): enough to follow it and to show
/// what is being paid, nothing of the merchant's.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView<'a> {
    pub id: &'a str,
    pub nonce: &'a str,
    pub provider: ProviderKind,
    pub order_id: &'a str,
    pub amount: u64,
    pub currency: &'a str,
    pub status: LifecycleStatus,
    pub state: ViewState,
    pub next: serde_json::Value,
    /// Without `transStatusReason`, which the provider gives for the merchant only.
    pub result: Option<PaymentResult>,
}

/// Where a payment is, in one word, for the merchant and the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStatus {
    /// Created by the merchant's server; the page has not confirmed it.
    RequiresConfirmation,
    /// A provider call is under way.
    Processing,
    /// The cardholder's browser has a step to take (Method, challenge, redirect).
    RequiresAction,
    /// A money-moving call lost its answer: the provider may have charged. The backend
    /// is looking the payment up (reconciliation); it ends with the provider's truth.
    /// Do not fulfil the order, and do not ask the shopper to pay again.
    Unknown,
    Authorized,
    Declined,
    Failed,
    Cancelled,
    Error,
}

impl LifecycleStatus {
    pub fn of(phase: &Phase) -> LifecycleStatus {
        match phase {
            Phase::Created => LifecycleStatus::RequiresConfirmation,
            Phase::Starting | Phase::Calling { .. } => LifecycleStatus::Processing,
            Phase::AwaitingBrowser { .. } => LifecycleStatus::RequiresAction,
            Phase::Unknown { .. } => LifecycleStatus::Unknown,
            Phase::Final { result } => match result.status {
                PaymentStatus::Authorized => LifecycleStatus::Authorized,
                PaymentStatus::Declined => LifecycleStatus::Declined,
                PaymentStatus::Failed => LifecycleStatus::Failed,
                PaymentStatus::Cancelled => LifecycleStatus::Cancelled,
                PaymentStatus::Error => LifecycleStatus::Error,
            },
        }
    }
}

/// What the merchant sees of the card: brand, BIN and last four, never the number.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardView<'a> {
    pub brand: crate::emv::CardBrand,
    pub bin: &'a str,
    pub last_four: &'a str,
}

impl<'a> CardView<'a> {
    fn of(card: &'a CardSummary) -> CardView<'a> {
        CardView {
            brand: card.brand,
            bin: &card.bin,
            last_four: &card.last_four,
        }
    }
}

/// The merchant's view (API key): everything the page sees, the client secret to hand
/// the page, and what the merchant set. What a server reads before it fulfils an order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantView<'a> {
    pub id: &'a str,
    pub client_secret: &'a str,
    pub provider: ProviderKind,
    pub order_id: &'a str,
    pub amount: u64,
    pub currency: &'a str,
    pub description: Option<&'a str>,
    pub payer: &'a Payer,
    /// The 3-D Secure exemption asked for at create, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption: Option<crate::payment::Exemption>,
    pub return_url: Option<&'a str>,
    /// `automatic` (captured with the authorization) or `manual` (capture or void later).
    pub capture_mode: CaptureMode,
    pub status: LifecycleStatus,
    pub state: ViewState,
    /// The confirming page's origin (`null` before the confirm).
    pub checkout_origin: Option<&'a str>,
    pub card: Option<CardView<'a>>,
    pub confirm_attempts: u32,
    pub created_at_ms: u64,
    pub expires_at_ms: u64,
    pub result: Option<&'a PaymentResult>,
}

impl<'a> MerchantView<'a> {
    pub fn of(session: &'a Session) -> MerchantView<'a> {
        MerchantView {
            id: &session.id,
            client_secret: &session.client_secret,
            provider: session.provider,
            order_id: &session.order_id,
            amount: session.amount,
            currency: &session.currency,
            description: session.merchant.description.as_deref(),
            payer: &session.merchant.payer,
            exemption: session.merchant.exemption,
            return_url: session.return_url.as_deref(),
            capture_mode: session.merchant.capture_mode,
            status: LifecycleStatus::of(&session.phase),
            state: ViewState::of(&session.phase),
            checkout_origin: Some(session.checkout_origin.as_str()).filter(|o| !o.is_empty()),
            card: session.card.as_ref().map(CardView::of),
            confirm_attempts: session.confirm_attempts,
            created_at_ms: session.created_at_ms,
            expires_at_ms: session.expires_at_ms,
            result: session.result(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ViewState {
    Pending,
    Final,
}

impl ViewState {
    fn of(phase: &Phase) -> ViewState {
        if phase.is_final() {
            ViewState::Final
        } else {
            ViewState::Pending
        }
    }
}

impl<'a> PaymentView<'a> {
    pub fn of(session: &'a Session) -> PaymentView<'a> {
        let nothing = || serde_json::json!({ "type": "none" });
        let next = match &session.phase {
            Phase::AwaitingBrowser { action, .. } => {
                super::http::to_value(action).unwrap_or_else(|_| nothing())
            }
            _ => nothing(),
        };
        PaymentView {
            id: &session.id,
            nonce: &session.nonce,
            provider: session.provider,
            order_id: &session.order_id,
            amount: session.amount,
            currency: &session.currency,
            status: LifecycleStatus::of(&session.phase),
            state: ViewState::of(&session.phase),
            next,
            result: session.result().map(|result| PaymentResult {
                trans_status_reason: None,
                ..result.clone()
            }),
        }
    }
}
