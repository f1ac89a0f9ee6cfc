//! A dLocal card payment as the sandbox keeps it: where it stands (its stage, the one
//! transition out of `PENDING` it waits for), its final status with dLocal's status line,
//! and its payment object and notification as dLocal sends them.

use super::super::notify::Notification;
use super::super::wire::{self, CardObject, PaymentObject, ThreeDsObject};
use crate::emv::{Eci, Generation};
use crate::sandbox::cards::CardProfile;
use crate::sandbox::Sandbox;

/// One payment as dLocal keeps it. The full card number is never kept.
#[derive(Debug, Clone)]
pub(in crate::sandbox::dlocal) struct Payment {
    pub id: String,
    pub order_id: String,
    pub amount: wire::Money,
    pub country: String,
    pub card: CardObject,
    /// `400000******1000`, for the ledger.
    pub masked_card: String,
    pub capture: bool,
    pub description: Option<String>,
    pub notification_url: Option<String>,
    pub callback_url: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_date: String,
    pub stage: Stage,
    /// What the merchant did to an authorization since (`super::operations`).
    pub after: After,
}

/// An approved authorization's life after it was approved: captured (`PAID`), cancelled
/// (`CANCELLED`) or expired (`EXPIRED`) uncaptured. A sale (`PAID` at once) stays `Open`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(in crate::sandbox::dlocal) enum After {
    #[default]
    Open,
    /// Captured by `POST /payments {authorization_id}`: the capture's id.
    Captured(String),
    /// Cancelled by `POST /payments/{id}/cancel`.
    Voided,
    /// Expired uncaptured (`POST /_sandbox/dlocal/payments/{id}/expire`).
    Expired,
}

/// Where a payment is.
#[derive(Debug, Clone)]
pub(in crate::sandbox::dlocal) enum Stage {
    /// `PENDING` 101: the cardholder must pass the 3DS page.
    AwaitingAuthentication {
        profile: CardProfile,
        route: ThreeDsRoute,
        /// Set once the 3DS page registered the challenge with the ACS.
        challenge: Option<StartedChallenge>,
    },
    /// A final status; it never changes again.
    Settled(Settlement),
}

/// What the 3DS page does for a pending payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::sandbox::dlocal) enum ThreeDsRoute {
    /// A challenge at the ACS, 2.x (`creq`) or 1.0.2 (`PaReq`).
    Challenge(Generation),
    /// `force:true` on a card the issuer would not challenge: the page completes at once.
    Frictionless,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::sandbox::dlocal) struct StartedChallenge {
    pub acs_trans_id: String,
    pub three_ds_server_trans_id: String,
    pub generation: Generation,
}

/// A final status with the ECI of the authentication behind it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::sandbox::dlocal) struct Settlement {
    pub status: FinalStatus,
    pub eci: Option<Eci>,
    pub date: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::sandbox::dlocal) enum FinalStatus {
    /// 200: authorized and captured.
    Paid,
    /// 600: authorized only (`capture:false`).
    Authorized,
    /// 300–321.
    Rejected(RejectionCode),
    /// 400: the merchant cancelled it while it was pending; nothing was or will be charged.
    Cancelled,
}

/// dLocal's rejection `status_code`s (docs.dlocal.com/reference/payment-status-codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::sandbox::dlocal) struct RejectionCode(u16);

impl RejectionCode {
    /// 301: the issuer declined the authorization.
    pub const BANK: RejectionCode = RejectionCode(301);
    /// 309: the card has expired.
    pub const EXPIRED: RejectionCode = RejectionCode(309);
    /// 311: the issuer rejected the transaction (3DS transStatus R).
    pub const REQUESTED_BY_BANK: RejectionCode = RejectionCode(311);
    /// 314: not a card number.
    pub const INVALID_NUMBER: RejectionCode = RejectionCode(314);
    /// 320: 3-D Secure did not authenticate the cardholder (N, failed or cancelled challenge).
    pub const THREE_DS_FAILED: RejectionCode = RejectionCode(320);

    pub fn parse(code: u16) -> Option<RejectionCode> {
        (300..=321).contains(&code).then_some(RejectionCode(code))
    }

    fn detail(self) -> &'static str {
        match self.0 {
            301 => "The payment was rejected by the bank.",
            302 => "The payment was rejected: insufficient amount.",
            303 => "The payment was rejected: card in black list.",
            304 => "The payment was rejected: score validation.",
            305 => "The payment was rejected: max attempts reached.",
            306 => "The payment was rejected: call the bank for authorization.",
            307 => "The payment was rejected: duplicated payment.",
            308 => "The payment was rejected: the card was disabled.",
            309 => "The payment was rejected: card expired.",
            310 => "The payment was rejected: card reported lost.",
            311 => "The payment was rejected: requested by the bank.",
            312 => "The payment was rejected: card restricted by the bank.",
            313 => "The payment was rejected: card reported stolen.",
            314 => "The payment was rejected: invalid card number.",
            315 => "The payment was rejected: invalid security code.",
            316 => "The payment was rejected: unsupported operation.",
            317 => "The payment was rejected: high risk.",
            318 => "The payment was rejected: invalid transaction.",
            319 => "The payment was rejected: amount exceeded.",
            320 => "The payment was rejected: 3D Secure authentication failed.",
            321 => "The payment was rejected: acquirer error.",
            _ => "The payment was rejected.",
        }
    }
}

/// The `status`, `status_code`, `status_detail` triple.
#[derive(Debug)]
pub(in crate::sandbox::dlocal) struct StatusLine {
    pub status: &'static str,
    pub code: u16,
    pub detail: &'static str,
}

impl Stage {
    pub fn status_line(&self) -> StatusLine {
        match self {
            Stage::AwaitingAuthentication { .. } => StatusLine {
                status: "PENDING",
                code: 101,
                detail: "The payment is pending 3D Secure authentication.",
            },
            Stage::Settled(settlement) => settlement.status.status_line(),
        }
    }

    /// Whether the merchant cancelled the payment: its 3-D Secure page is closed for good.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Stage::Settled(s) if s.status == FinalStatus::Cancelled)
    }
}

impl FinalStatus {
    pub fn status_line(self) -> StatusLine {
        match self {
            FinalStatus::Paid => StatusLine {
                status: "PAID",
                code: 200,
                detail: "The payment was paid.",
            },
            FinalStatus::Authorized => StatusLine {
                status: "AUTHORIZED",
                code: 600,
                detail: "The payment was authorized.",
            },
            FinalStatus::Rejected(code) => StatusLine {
                status: "REJECTED",
                code: code.0,
                detail: code.detail(),
            },
            FinalStatus::Cancelled => StatusLine {
                status: "CANCELLED",
                code: 400,
                detail: "The payment was cancelled.",
            },
        }
    }

    pub fn is_approved(self) -> bool {
        matches!(self, FinalStatus::Paid | FinalStatus::Authorized)
    }
}

impl Payment {
    /// The status line, as the authorization's later life changes it.
    pub fn status_line(&self) -> StatusLine {
        match self.after {
            After::Open => self.stage.status_line(),
            After::Captured(_) => FinalStatus::Paid.status_line(),
            After::Voided => FinalStatus::Cancelled.status_line(),
            After::Expired => StatusLine {
                status: "EXPIRED",
                code: 400,
                detail: "The authorization expired before it was captured.",
            },
        }
    }

    /// Whether this is an authorization only (`AUTHORIZED` 600) nothing was done to yet.
    pub fn is_open_authorization(&self) -> bool {
        self.after == After::Open
            && matches!(&self.stage, Stage::Settled(s) if s.status == FinalStatus::Authorized)
    }

    pub fn object(&self, sandbox: &Sandbox) -> PaymentObject {
        let line = self.status_line();
        let (three_dsecure, approved_date) = match &self.stage {
            Stage::AwaitingAuthentication { .. } => (
                Some(ThreeDsObject {
                    redirect_url: Some(
                        sandbox.public_url(&format!("/dlocal/three-ds/{}", self.id)),
                    ),
                    eci: None,
                }),
                None,
            ),
            Stage::Settled(settlement) => (
                settlement.eci.map(|eci| ThreeDsObject {
                    redirect_url: None,
                    eci: Some(eci),
                }),
                settlement
                    .status
                    .is_approved()
                    .then(|| settlement.date.clone()),
            ),
        };
        PaymentObject {
            id: self.id.clone(),
            amount: self.amount.major(),
            currency: self.amount.currency.clone(),
            payment_method_id: "CARD",
            payment_method_type: "CARD",
            payment_method_flow: "DIRECT",
            country: self.country.clone(),
            card: self.card.clone(),
            three_dsecure,
            created_date: self.created_date.clone(),
            approved_date,
            status: line.status,
            status_detail: line.detail.to_owned(),
            status_code: line.code.to_string(),
            order_id: self.order_id.clone(),
            description: self.description.clone(),
            notification_url: self.notification_url.clone(),
            callback_url: self.callback_url.clone(),
        }
    }

    /// The notification of the payment as it is now, if the merchant asked for them.
    pub fn notification(&self, sandbox: &Sandbox) -> Option<Notification> {
        let url = self.notification_url.clone()?;
        let object = self.object(sandbox);
        Some(Notification {
            payment_id: self.id.clone(),
            status: object.status,
            url,
            body: serde_json::to_string(&object).unwrap_or_default(),
            is_final: matches!(self.stage, Stage::Settled(_)),
        })
    }
}
