//! Where a Bambora payment is between steps ([`State`]): the order it keeps (no card
//! number, no CVD, no credential), who authenticates the cardholder, the challenge it
//! waits on and what a money call in doubt carries. Plain data, stored with the session
//! (written by the derives, read back by hand in `stored.rs`); the steps that move it are
//! the adapter's (`mod.rs`).

use serde::{Deserialize, Serialize};

use super::IssuerForm;
use crate::emv::{ChallengeWindowSize, Eci, TransStatus};
use crate::payment::{BrowserAction, CardSummary};
use crate::provider::Step;

/// What the payment asked for, kept for reading the answers (no card number in it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub(super) order_number: String,
    /// Minor units.
    pub(super) amount: u64,
    /// Known when the page sent card details; a token payment learns the brand from
    /// Bambora's answer.
    pub(super) card: Option<CardSummary>,
    pub(super) authentication: Authentication,
    /// The page's challenge window, for a 1.0.2 form (a CReq names its own).
    pub(super) window_size: ChallengeWindowSize,
    /// When the payment started (Unix ms): where a lookup's search begins. 0 in sessions
    /// stored before it was kept (the search then reaches back to 1970).
    #[serde(default)]
    pub(super) started_ms: u64,
}

/// Who authenticates the cardholder. Stored as its derived `Serialize` writes it, read
/// back by hand (`stored.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Authentication {
    /// Bambora runs 3-D Secure; `version` is the one asked for (2 with browser details,
    /// else the account's default).
    Bambora { version: Option<u8> },
    /// The merchant's own 3DS server or MPI did; Bambora only authorizes.
    Merchant {
        version: String,
        trans_status: TransStatus,
        eci: Eci,
    },
}

/// The challenge that ran, as the result reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenged {
    /// `1.0.2`, or the CReq's messageVersion.
    pub(super) version: String,
    pub(super) legacy: bool,
}

/// Where a Bambora payment is between steps. Holds no card number, CVD or credential.
/// Stored as its derived `Serialize` writes it, read back by hand (`stored.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum State {
    /// Waiting for `POST /v1/payments`.
    Creating { order: Order },
    /// The browser is at the issuer with `issuer`; `continue_id` is Bambora's
    /// `merchant_data` (1.0.2) or `3d_session_data` (2.x). `refused`: returns whose
    /// `continue` Bambora refused so far.
    AwaitingIssuer {
        order: Order,
        continue_id: String,
        issuer: IssuerForm,
        window_size: ChallengeWindowSize,
        #[serde(default)]
        refused: u32,
    },
    /// Waiting for `continue`; `waiting` is the browser step to go back to if Bambora
    /// refuses the return (absent only in sessions stored before it was kept: such a
    /// refusal then ends the payment).
    Continuing {
        order: Order,
        challenge: Challenged,
        #[serde(default)]
        waiting: Option<Waiting>,
    },
    /// The answer to a create or continue was lost: Bambora may have charged. The host
    /// waits, then asks [`Adapter::reconcile`].
    InDoubt { doubt: Doubt },
    /// Looking the order up: `POST /v1/reports`.
    Searching { doubt: Doubt },
    /// Reading the transaction the search found: `GET /v1/payments/{transaction_id}`.
    Reading {
        doubt: Doubt,
        transaction_id: String,
    },
}

/// The challenge a payment waits on, kept while `continue` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub(super) continue_id: String,
    pub(super) issuer: IssuerForm,
    pub(super) window_size: ChallengeWindowSize,
    pub(super) refused: u32,
}

/// A money call in doubt: what the lookup matches and the result reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doubt {
    pub(super) order: Order,
    /// The challenge that ran, when the call in doubt was its `continue`.
    pub(super) challenge: Option<Challenged>,
}

impl Doubt {
    /// Still in doubt: the host looks again later.
    pub(super) fn unresolved(self) -> Step<State> {
        Step::Unknown {
            state: State::InDoubt { doubt: self },
        }
    }
}

impl Waiting {
    /// The browser's step to the issuer.
    pub(super) fn action(&self) -> BrowserAction {
        BrowserAction::Challenge {
            form: self.issuer.form(),
            window_size: self.window_size,
        }
    }

    /// The state that waits on this challenge.
    pub(super) fn awaiting(self, order: Order) -> State {
        State::AwaitingIssuer {
            order,
            continue_id: self.continue_id,
            issuer: self.issuer,
            window_size: self.window_size,
            refused: self.refused,
        }
    }
}
