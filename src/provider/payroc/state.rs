//! Where a Payroc payment is between steps ([`State`]) and what it carries: the order, the
//! MPI step, the sale with its 3-D Secure evidence, a lookup's progress. Plain data,
//! stored with the session (written by the derives, read back by hand in `stored.rs`);
//! the steps that move it are the adapter's (`mod.rs`).

use serde::{Deserialize, Serialize};

use super::CardholderChallenge;
use crate::emv::{Eci, TransStatus};
use crate::order::{Currency, OrderId};
use crate::payment::CaptureMode;

/// Where a Payroc payment is between steps. Holds no card number, CVV or credential;
/// the single-use token it keeps is the one the browser carries to the MPI anyway.
/// Stored as its derived `Serialize` writes it, read back by hand (`stored.rs`), as are
/// [`ApiCall`], [`AfterToken`] and [`Evidence`] inside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum State {
    /// Waiting for a Bearer token; `then` is the call it is for.
    Authorizing { then: ApiCall, auth_retried: bool },
    /// An API call is under way. `auth_retried`: it already got a 401 and a new token.
    /// (States stored by earlier versions carry a `resent` flag, now ignored.)
    Calling { call: ApiCall, auth_retried: bool },
    /// The browser is at Payroc's MPI; the receipt comes back to the terminal's receipt URL.
    /// `refused`: mpiReferences of earlier receipts that Payroc refused for this payment
    /// (a receipt naming one is refused without a call).
    AwaitingReceipt {
        mpi: MpiRequest,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        refused: Vec<String>,
    },
    /// The sale's answer was lost: Payroc may or may not have made it. The host keeps the
    /// payment `unknown` and asks [`Adapter::reconcile`] to look it up.
    SaleInDoubt { sale: Sale },
}

/// A call to Payroc's API that needs a Bearer token.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum ApiCall {
    /// Card details → a single-use token. Only `start` makes it, the card in its body;
    /// the state keeps what the token is for. It cannot be made again from the state.
    Tokenize { then: AfterToken },
    /// The sale.
    Sale(Sale),
    /// A page of Payroc's payments list, looking for the sale.
    Lookup(Lookup),
}

/// One page of Payroc's payments list for the sale's order: the first, or the page `next`
/// links to after `pages` pages read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lookup {
    pub(super) sale: Sale,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) next: Option<String>,
    #[serde(default)]
    pub(super) pages: u32,
}

impl Lookup {
    pub(super) fn first(sale: Sale) -> Lookup {
        Lookup {
            sale,
            next: None,
            pages: 0,
        }
    }

    /// The page after this one, at `next`.
    pub(super) fn then(self, next: String) -> Lookup {
        Lookup {
            next: Some(next),
            pages: self.pages + 1,
            ..self
        }
    }
}

/// What the single-use token is for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "flow", rename_all = "snake_case")]
pub enum AfterToken {
    Mpi {
        order: Order,
        email: String,
        challenge: CardholderChallenge,
    },
    ThirdParty {
        order: Order,
        authentication: ThirdParty,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub(super) order_id: OrderId,
    /// Minor units.
    pub(super) amount: u64,
    pub(super) currency: Currency,
    pub(super) description: Option<String>,
    /// `Manual`: a pre-authorization (`autoCapture: false`). Sessions stored before it
    /// existed were sales.
    #[serde(default)]
    pub(super) capture_mode: CaptureMode,
}

/// The query of the MPI page, kept so the same browser step can be given again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpiRequest {
    pub(super) order: Order,
    pub(super) token: String,
    pub(super) email: String,
    pub(super) challenge: CardholderChallenge,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sale {
    pub(super) order: Order,
    pub(super) token: String,
    pub(super) evidence: Evidence,
}

/// The 3-D Secure evidence a sale carries, and what the result will report of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "service_provider", rename_all = "snake_case")]
pub enum Evidence {
    /// The gateway MPI's reference, with the status and ECI its (unsigned) receipt
    /// claimed: reported only once Payroc has accepted the reference for this sale.
    /// `wait`: how to go back to waiting for the receipt if Payroc refuses the reference
    /// (absent only in sessions stored before it existed: such a refusal then ends the
    /// payment).
    Gateway {
        mpi_reference: String,
        trans_status: TransStatus,
        eci: Eci,
        #[serde(default)]
        wait: Option<ReceiptWait>,
    },
    ThirdParty(ThirdParty),
}

/// What the MPI step waited with besides the order and token (which the sale keeps), so a
/// refused reference can give the browser the same MPI step again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptWait {
    pub(super) email: String,
    pub(super) challenge: CardholderChallenge,
    /// The references Payroc refused before this one.
    pub(super) refused: Vec<String>,
}

/// The merchant's own authentication, in the terms Payroc's `thirdParty` block takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThirdParty {
    pub(super) eci_word: ThirdPartyEci,
    pub(super) cavv: String,
    pub(super) xid: Option<String>,
    pub(super) ds_transaction_id: Option<String>,
    pub(super) version: String,
    pub(super) trans_status: TransStatus,
    pub(super) eci: Eci,
}

/// Payroc's `threeDSecure.eci` enum (SDK `third_party_three_d_secure_eci.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ThirdPartyEci {
    FullyAuthenticated,
    AttemptedAuthentication,
}
crate::unit_variant::deserialize_by_name!(ThirdPartyEci { FullyAuthenticated = "fullyAuthenticated", AttemptedAuthentication = "attemptedAuthentication" });

impl ThirdPartyEci {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ThirdPartyEci::FullyAuthenticated => "fullyAuthenticated",
            ThirdPartyEci::AttemptedAuthentication => "attemptedAuthentication",
        }
    }
}
