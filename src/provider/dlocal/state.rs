//! Where a dLocal payment is between steps ([`State`]): the order it keeps (no card
//! number, no credential), the payment dLocal made for it, what a doubt or an abandoned
//! payment carries, and how each state is recovered ([`Recovery`]). Plain data, stored
//! with the session (written by the derives, read back by hand in `stored.rs`); the
//! steps that move it are the adapter's (`mod.rs`).

use serde::{Deserialize, Serialize};

use crate::emv::TransStatus;
use crate::order::{Currency, OrderId};
use crate::payment::CardSummary;

/// What the session keeps of the order between steps: no card number, no credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: OrderId,
    /// What the payer was asked to pay: a payment dLocal answers with must be for it.
    /// `None` only in a state stored before it was kept (then the order id alone is
    /// matched).
    #[serde(default)]
    pub amount: Option<Amount>,
    pub card: Option<CardSummary>,
    /// The merchant's own authentication (MPI), when it brought one.
    pub external: Option<ExternalOutcome>,
}

/// An amount in minor units, with its currency (ISO 4217, upper case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub minor: u64,
    pub currency: Currency,
}

/// The part of a merchant's own authentication the result reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalOutcome {
    pub version: String,
    pub trans_status: TransStatus,
}

/// Where a dLocal payment is, as this backend knows it.
/// Stored as its derived `Serialize` writes it, read back by hand (`stored.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum State {
    /// `POST /secure_payments` is on its way.
    Creating { order: Order },
    /// `PENDING` 101: the browser is on dLocal's 3-D Secure page.
    Authenticating {
        order: Order,
        payment_id: String,
        redirect_url: String,
    },
    /// `GET /payments/{id}` after a verified callback or notification.
    Confirming {
        order: Order,
        payment_id: String,
        /// Where the browser goes back to if the payment is still pending.
        redirect_url: Option<String>,
    },
    /// What became of the payment is unknown, and dLocal may have charged: the create's
    /// answer was lost (or is not one this backend can believe), or a read of the payment
    /// got none. The host keeps the payment `unknown` and looks it up
    /// ([`Adapter::reconcile`]); a verified notification looks it up at once. Also the
    /// state of that lookup.
    InDoubt(Doubt),
    /// The session expired while the payer was on dLocal's page, where finishing would
    /// still charge: the payment is `unknown` until `POST /payments/{id}/cancel` ends it
    /// (the host sends it as the lookup, [`Adapter::reconcile`]). Also the state of that
    /// call; its answer lost, the cancel is sent again later (a second cancel is refused,
    /// never harmful).
    Cancelling(Abandoned),
    /// dLocal refused to cancel an abandoned payment (it is no longer pending: the payer
    /// finished first): `GET /payments/{id}` reads how it ended.
    ReadingAfterCancel(Abandoned),
}

/// A payment in doubt, and what a lookup needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doubt {
    pub order: Order,
    /// dLocal's payment id once known (the create's answer, a verified notification, the
    /// order lookup): looked up by `GET /payments/{id}`. Before: `GET /orders/{order_id}`.
    pub payment_id: Option<String>,
    /// dLocal's page the payer was sent to. `None`: never sent, so a payment still
    /// pending there can send the payer now; once sent, the payer may still be there,
    /// and only dLocal's final word ends the payment.
    pub redirect_url: Option<String>,
}

/// A payment whose session expired while the payer was on dLocal's 3-D Secure page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Abandoned {
    pub order: Order,
    pub payment_id: String,
    /// Who asked for the cancel (`cancel.rs`); `None`: the session expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<crate::payment::Canceller>,
}

impl State {
    pub(super) fn order(&self) -> &Order {
        match self {
            State::Creating { order }
            | State::Authenticating { order, .. }
            | State::Confirming { order, .. }
            | State::InDoubt(Doubt { order, .. })
            | State::Cancelling(Abandoned { order, .. })
            | State::ReadingAfterCancel(Abandoned { order, .. }) => order,
        }
    }

    pub(super) fn payment_id(&self) -> Option<&str> {
        match self {
            State::Creating { .. } => None,
            State::Authenticating { payment_id, .. }
            | State::Confirming { payment_id, .. }
            | State::Cancelling(Abandoned { payment_id, .. })
            | State::ReadingAfterCancel(Abandoned { payment_id, .. }) => Some(payment_id),
            State::InDoubt(doubt) => doubt.payment_id.as_deref(),
        }
    }

    pub(super) fn redirect_url(&self) -> Option<&str> {
        match self {
            State::Creating { .. } | State::Cancelling(_) | State::ReadingAfterCancel(_) => None,
            State::Authenticating { redirect_url, .. } => Some(redirect_url),
            State::Confirming { redirect_url, .. } | State::InDoubt(Doubt { redirect_url, .. }) => {
                redirect_url.as_deref()
            }
        }
    }

    /// What this state comes to when its outcome cannot be known: a doubt to look up, or
    /// an abandoned payment to cancel.
    pub(super) fn recovery(self) -> Recovery {
        Recovery::LookUp(match self {
            State::Creating { order } => Doubt {
                order,
                payment_id: None,
                redirect_url: None,
            },
            State::Authenticating {
                order,
                payment_id,
                redirect_url,
            } => Doubt {
                order,
                payment_id: Some(payment_id),
                redirect_url: Some(redirect_url),
            },
            State::Confirming {
                order,
                payment_id,
                redirect_url,
            } => Doubt {
                order,
                payment_id: Some(payment_id),
                redirect_url,
            },
            State::InDoubt(doubt) => doubt,
            State::Cancelling(abandoned) | State::ReadingAfterCancel(abandoned) => {
                return Recovery::Cancel(abandoned)
            }
        })
    }
}

/// How a payment whose outcome is unknown is found out.
pub(super) enum Recovery {
    /// Looked up at dLocal.
    LookUp(Doubt),
    /// Abandoned on dLocal's page: cancelled there.
    Cancel(Abandoned),
}
