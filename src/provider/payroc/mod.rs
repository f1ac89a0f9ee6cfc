//! Payroc: a sale with 3-D Secure through Payroc's gateway MPI (the seed "Run a sale with
//! 3-D Secure"), or with the merchant's own authentication (`thirdParty`).
//!
//! The flow, as steps for the host:
//! 1. a Bearer token from the identity service (`POST {identity}/authorize`, `x-api-key`),
//!    cached in the adapter and refreshed 2 minutes before it expires, as Payroc's SDK does;
//!    a 401 from the API clears it and the call is made again once with a new one;
//! 2. card details → a single-use token (`POST {api}/processing-terminals/{id}/single-use-tokens`),
//!    unless the page sent a token;
//! 3. the browser goes to Payroc's hosted MPI page (`GET {payments}/merchant/mpi?…`), which
//!    runs 3-D Secure and sends the browser with a GET to the terminal's registered receipt
//!    URL (`result, status, eci, mpiReference, orderId`);
//! 4. the sale, `POST {api}/payments` with `threeDSecure {serviceProvider: gateway,
//!    mpiReference}`: Payroc's answer, not the unsigned receipt, decides the result. A
//!    sale Payroc refuses because the mpiReference is not this payment's (a forged or
//!    edited receipt) goes back to waiting for the real receipt with the same MPI step,
//!    so a forgery no longer ends the payment ([`MAX_REFUSED_RECEIPTS`] bounds it).
//!
//! This module owns Payroc's flow and its token cache; `config` the configuration, `wire`
//! the JSON shapes, `outcome` what answers mean for the result, `returns` the MPI
//! receipt and the adapter's one error type ([`ReceiptError`]). It must not do IO, read
//! a clock or keep a card in its state: card details wait in the adapter's memory only
//! until they are tokenized (see [`PayrocAdapter`]).

mod config;
mod outcome;
mod returns;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::{
    Adapter, BrowserReturn, Context, HttpMethod, HttpRequest, HttpResponse, ReturnRefused, Step,
    TransportFailure,
};
use crate::emv::{Eci, FormField, FormMethod, FormPost, ThreeDsCompInd, TransStatus};
use crate::payment::{
    BrowserAction, CardDetails, ChallengePreference, PaymentMethod, PaymentResult, PaymentStart,
    PaymentStatus, ResultCode,
};
pub use config::{
    CardholderChallenge, Config, PRODUCTION_API_URL, PRODUCTION_IDENTITY_URL,
    PRODUCTION_PAYMENTS_URL,
};
use outcome::{
    bad_response, bad_token, card_gone, classify, refuses_mpi_reference, rejected_here,
    sale_result, Answer,
};
pub use returns::{Receipt, ReceiptError};

/// A token is replaced this long before it expires (the SDK's margin).
pub const TOKEN_REFRESH_MARGIN_MS: u64 = 2 * 60 * 1000;
/// How long card details wait in memory for their tokenization (identity call, a 401
/// and its retry): far longer than those calls take, short enough to forget a card
/// whose session stopped between them.
pub const CARD_HOLD_MS: u64 = 5 * 60 * 1000;
/// How many receipts whose mpiReference Payroc refused end a payment: each before the
/// last sends it back to waiting for the real receipt, the last ends it (failed, nothing
/// charged). Each costs a sale call, so the wait cannot go on forever. A cardholder's own
/// browser brings one receipt, so any refusal is a forgery, an edited receipt or a fault.
pub const MAX_REFUSED_RECEIPTS: usize = 5;

/// The Payroc adapter, shared by every session of a host. Besides its configuration it
/// keeps two things safe to lose: the Bearer token, and card details between `start` and
/// their tokenization. The card cannot go into [`State`] (it is stored), yet the
/// tokenization may have to wait for an identity call or be repeated after a 401; so it
/// waits here, by session, for at most [`CARD_HOLD_MS`], and is dropped as soon as
/// Payroc has answered the tokenization. If the process stops in between, the payment
/// ends with an error and nothing was charged.
pub struct PayrocAdapter {
    config: Config,
    token: Mutex<Option<CachedToken>>,
    cards: Mutex<HashMap<String, HeldCard>>,
}

struct CachedToken {
    access_token: String,
    expires_at_ms: u64,
}

struct HeldCard {
    card: CardDetails,
    until_ms: u64,
}

impl fmt::Debug for PayrocAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayrocAdapter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Where a Payroc payment is between steps. Holds no card number, CVV or credential;
/// the single-use token it keeps is the one the browser carries to the MPI anyway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum State {
    /// Waiting for a Bearer token; `then` is the call it is for.
    Authorizing { then: ApiCall, auth_retried: bool },
    /// An API call is under way. `auth_retried`: it already got a 401 and a new token;
    /// `resent`: its answer was lost once and it was sent again with the same key.
    Calling {
        call: ApiCall,
        auth_retried: bool,
        resent: bool,
    },
    /// The browser is at Payroc's MPI; the receipt comes back to the terminal's receipt URL.
    /// `refused`: mpiReferences of earlier receipts that Payroc refused for this payment
    /// (a receipt naming one is refused without a call).
    AwaitingReceipt {
        mpi: MpiRequest,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        refused: Vec<String>,
    },
}

/// A call to Payroc's API that needs a Bearer token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum ApiCall {
    /// Card details (held in the adapter's memory) → a single-use token.
    Tokenize { then: AfterToken },
    /// The sale.
    Sale(Sale),
}

/// What the single-use token is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    order_id: String,
    /// Minor units.
    amount: u64,
    currency: String,
    description: Option<String>,
}

/// The query of the MPI page, kept so the same browser step can be given again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpiRequest {
    order: Order,
    token: String,
    email: String,
    challenge: CardholderChallenge,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sale {
    order: Order,
    token: String,
    evidence: Evidence,
}

/// The 3-D Secure evidence a sale carries, and what the result will report of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    email: String,
    challenge: CardholderChallenge,
    /// The references Payroc refused before this one.
    refused: Vec<String>,
}

/// The merchant's own authentication, in the terms Payroc's `thirdParty` block takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThirdParty {
    eci_word: ThirdPartyEci,
    cavv: String,
    xid: Option<String>,
    ds_transaction_id: Option<String>,
    version: String,
    trans_status: TransStatus,
    eci: Eci,
}

/// Payroc's `threeDSecure.eci` enum (SDK `third_party_three_d_secure_eci.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ThirdPartyEci {
    FullyAuthenticated,
    AttemptedAuthentication,
}

impl ThirdPartyEci {
    fn as_str(self) -> &'static str {
        match self {
            ThirdPartyEci::FullyAuthenticated => "fullyAuthenticated",
            ThirdPartyEci::AttemptedAuthentication => "attemptedAuthentication",
        }
    }
}

impl PayrocAdapter {
    pub fn new(config: Config) -> PayrocAdapter {
        PayrocAdapter {
            config,
            token: Mutex::new(None),
            cards: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    // --- the Bearer token cache -------------------------------------------------------

    /// The cached token, if it is not within [`TOKEN_REFRESH_MARGIN_MS`] of expiring.
    fn bearer(&self, now_ms: u64) -> Option<String> {
        lock(&self.token)
            .as_ref()
            .filter(|t| now_ms.saturating_add(TOKEN_REFRESH_MARGIN_MS) < t.expires_at_ms)
            .map(|t| t.access_token.clone())
    }

    fn remember_token(&self, access_token: &str, expires_at_ms: u64) {
        *lock(&self.token) = Some(CachedToken {
            access_token: access_token.to_owned(),
            expires_at_ms,
        });
    }

    fn forget_token(&self) {
        *lock(&self.token) = None;
    }

    // --- card details waiting for their tokenization ----------------------------------

    fn hold_card(&self, cx: &Context, card: &CardDetails) {
        let mut cards = lock(&self.cards);
        cards.retain(|_, held| held.until_ms > cx.now_ms);
        cards.insert(
            cx.session_id.clone(),
            HeldCard {
                card: card.clone(),
                until_ms: cx.now_ms.saturating_add(CARD_HOLD_MS),
            },
        );
    }

    fn held_card(&self, cx: &Context) -> Option<CardDetails> {
        lock(&self.cards)
            .get(&cx.session_id)
            .filter(|held| held.until_ms > cx.now_ms)
            .map(|held| held.card.clone())
    }

    fn release_card(&self, cx: &Context) {
        lock(&self.cards).remove(&cx.session_id);
    }

    // --- requests ---------------------------------------------------------------------

    fn identity_request(&self) -> HttpRequest {
        HttpRequest {
            method: HttpMethod::Post,
            url: Config::url(&self.config.identity_url, "/authorize"),
            headers: vec![(
                "x-api-key".to_owned(),
                self.config.api_key.expose().to_owned(),
            )],
            body: None,
            // It only issues a token: asking twice is harmless.
            retry_safe: true,
            purpose: "payroc.authorize",
        }
    }

    fn api_request(
        &self,
        call: &ApiCall,
        bearer: &str,
        cx: &Context,
    ) -> Result<HttpRequest, PaymentResult> {
        let (path, body, step, purpose) = match call {
            ApiCall::Tokenize { .. } => {
                let card = self.held_card(cx).ok_or_else(card_gone)?;
                let body = to_json(&wire::TokenRequest::keyed(&card))?;
                let path = format!(
                    "/processing-terminals/{}/single-use-tokens",
                    self.config.processing_terminal_id
                );
                let step = "single-use-token".to_owned();
                (path, body, step, "payroc.single_use_token")
            }
            ApiCall::Sale(sale) => {
                let body = to_json(&self.sale_body(sale))?;
                ("/payments".to_owned(), body, sale_step(sale), "payroc.sale")
            }
        };
        // Both calls carry an Idempotency-Key that Payroc deduplicates (same key and
        // body → the first answer again), so the host may repeat them.
        Ok(
            HttpRequest::post_json(Config::url(&self.config.api_url, &path), body, purpose)
                .header("Authorization", format!("Bearer {bearer}"))
                .header("Idempotency-Key", cx.idempotency_key(&step))
                .retry_safe(),
        )
    }

    fn sale_body<'a>(&'a self, sale: &'a Sale) -> wire::SaleRequest<'a> {
        let three_d_secure = match &sale.evidence {
            Evidence::Gateway { mpi_reference, .. } => {
                wire::ThreeDSecure::Gateway { mpi_reference }
            }
            Evidence::ThirdParty(third) => wire::ThreeDSecure::ThirdParty {
                eci: third.eci_word.as_str(),
                cavv: &third.cavv,
                xid: third.xid.as_deref(),
                ds_transaction_id: third.ds_transaction_id.as_deref(),
            },
        };
        wire::SaleRequest {
            channel: "web",
            processing_terminal_id: &self.config.processing_terminal_id,
            order: wire::SaleOrder {
                order_id: &sale.order.order_id,
                amount: sale.order.amount,
                currency: &sale.order.currency,
                description: sale.order.description.as_deref(),
            },
            payment_method: wire::SalePaymentMethod {
                method_type: "singleUseToken",
                token: &sale.token,
            },
            three_d_secure,
            auto_capture: true,
        }
    }

    /// The browser step to Payroc's hosted MPI page: a full-page GET whatever the
    /// display mode (Payroc's page is not made for a challenge iframe of ours).
    fn mpi_action(&self, mpi: &MpiRequest) -> BrowserAction {
        let field = |name: &str, value: String| FormField {
            name: name.to_owned(),
            value,
        };
        BrowserAction::Redirect {
            form: FormPost {
                action: Config::url(&self.config.payments_url, "/merchant/mpi"),
                method: FormMethod::Get,
                fields: vec![
                    field(
                        "processingTerminalId",
                        self.config.processing_terminal_id.clone(),
                    ),
                    field("singleUseToken", mpi.token.clone()),
                    field("email", mpi.email.clone()),
                    field("amount", mpi.order.amount.to_string()),
                    field("currency", mpi.order.currency.clone()),
                    field("orderId", mpi.order.order_id.clone()),
                    field("cardholderChallenge", mpi.challenge.as_str().to_owned()),
                ],
            },
        }
    }

    /// The browser step to the MPI, waiting for its receipt.
    fn awaiting_receipt(&self, mpi: MpiRequest, refused: Vec<String>) -> Step<State> {
        Step::Browser {
            action: self.mpi_action(&mpi),
            state: State::AwaitingReceipt { mpi, refused },
        }
    }

    /// Payroc refused the sale's mpiReference as not this payment's approved check: the
    /// receipt that named it was forged or edited (or is another payment's), so the
    /// payment goes back to waiting for the real one with the same MPI step; after
    /// [`MAX_REFUSED_RECEIPTS`] refusals it ends with Payroc's refusal. Nothing was charged.
    fn receipt_refused(&self, sale: Sale, refusal: PaymentResult, cx: &Context) -> Step<State> {
        let Evidence::Gateway {
            mpi_reference,
            wait: Some(wait),
            ..
        } = sale.evidence
        else {
            return self.end(refusal, cx);
        };
        let mut refused = wait.refused;
        refused.push(mpi_reference);
        if refused.len() >= MAX_REFUSED_RECEIPTS {
            return self.end(refusal, cx);
        }
        let mpi = MpiRequest {
            order: sale.order,
            token: sale.token,
            email: wait.email,
            challenge: wait.challenge,
        };
        Step::Refused {
            action: self.mpi_action(&mpi),
            state: State::AwaitingReceipt { mpi, refused },
            refused: ReturnRefused {
                code: "receipt_refused",
                message: "Payroc refused the authentication this receipt names.",
            },
        }
    }

    // --- steps ------------------------------------------------------------------------

    /// Makes `call`, first fetching a Bearer token when none fresh is cached.
    fn call(&self, call: ApiCall, auth_retried: bool, resent: bool, cx: &Context) -> Step<State> {
        match self.bearer(cx.now_ms) {
            Some(bearer) => self.call_with(call, &bearer, auth_retried, resent, cx),
            None => Step::Call {
                state: State::Authorizing {
                    then: call,
                    auth_retried,
                },
                request: self.identity_request(),
            },
        }
    }

    fn call_with(
        &self,
        call: ApiCall,
        bearer: &str,
        auth_retried: bool,
        resent: bool,
        cx: &Context,
    ) -> Step<State> {
        match self.api_request(&call, bearer, cx) {
            Ok(request) => Step::Call {
                state: State::Calling {
                    call,
                    auth_retried,
                    resent,
                },
                request,
            },
            Err(result) => self.end(result, cx),
        }
    }

    /// The payment is over: forget any card still held for it.
    fn end(&self, result: PaymentResult, cx: &Context) -> Step<State> {
        self.release_card(cx);
        Step::Done(result)
    }

    fn on_access_token(
        &self,
        then: ApiCall,
        auth_retried: bool,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        let body = match classify(response) {
            Answer::Body(body) => body,
            Answer::Unauthorized(result) | Answer::Ended(result) => return self.end(result, cx),
        };
        let token = match serde_json::from_str::<wire::AccessToken>(&body) {
            Ok(token)
                if !token.access_token.is_empty()
                    && token.access_token.bytes().all(|b| b.is_ascii_graphic())
                    && token.expires_in > 0
                    && token
                        .token_type
                        .as_deref()
                        .is_none_or(|t| t.eq_ignore_ascii_case("bearer")) =>
            {
                token
            }
            _ => return self.end(bad_response(), cx),
        };
        let expires_at_ms = cx
            .now_ms
            .saturating_add(token.expires_in.saturating_mul(1000));
        self.remember_token(&token.access_token, expires_at_ms);
        // Use the token just issued even if its lifetime is inside the refresh margin.
        self.call_with(then, &token.access_token, auth_retried, false, cx)
    }

    fn on_api_answer(
        &self,
        call: ApiCall,
        auth_retried: bool,
        resent: bool,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        let lost_answer = response.is_err();
        let refused_reference = matches!(&response, Ok(answer) if refuses_mpi_reference(answer));
        let body = match classify(response) {
            Answer::Body(body) => body,
            Answer::Unauthorized(_) if !auth_retried => {
                // The token was revoked or expired early: a new one, and the call once more.
                self.forget_token();
                return Step::Call {
                    state: State::Authorizing {
                        then: call,
                        auth_retried: true,
                    },
                    request: self.identity_request(),
                };
            }
            Answer::Ended(_) if lost_answer && !resent && matches!(call, ApiCall::Sale(_)) => {
                // The sale may have been made and its answer lost (or the process
                // stopped mid-call): the same key and body once more return Payroc's
                // first answer instead of charging again.
                return self.call(call, auth_retried, true, cx);
            }
            Answer::Ended(result) if refused_reference => {
                return match call {
                    ApiCall::Sale(sale) => self.receipt_refused(sale, result, cx),
                    ApiCall::Tokenize { .. } => self.end(result, cx),
                };
            }
            Answer::Unauthorized(result) | Answer::Ended(result) => return self.end(result, cx),
        };
        match call {
            ApiCall::Tokenize { then } => {
                self.release_card(cx);
                let token = match serde_json::from_str::<wire::SingleUseToken>(&body) {
                    Ok(t) if well_formed_token(&t.token) => t.token,
                    _ => return Step::Done(bad_response()),
                };
                match then {
                    AfterToken::Mpi {
                        order,
                        email,
                        challenge,
                    } => {
                        let mpi = MpiRequest {
                            order,
                            token,
                            email,
                            challenge,
                        };
                        self.awaiting_receipt(mpi, Vec::new())
                    }
                    AfterToken::ThirdParty {
                        order,
                        authentication,
                    } => self.call(
                        ApiCall::Sale(Sale {
                            order,
                            token,
                            evidence: Evidence::ThirdParty(authentication),
                        }),
                        false,
                        false,
                        cx,
                    ),
                }
            }
            ApiCall::Sale(sale) => Step::Done(match serde_json::from_str::<wire::Payment>(&body) {
                Ok(payment) => sale_result(&sale, payment),
                Err(_) => bad_response(),
            }),
        }
    }
}

impl Adapter for PayrocAdapter {
    /// Payroc's MPI sends every receipt to the one URL registered for the terminal
    /// (`/v1/returns/payroc`): the receipt's `orderId` names the session.
    fn order_of_return(&self, ret: &BrowserReturn) -> Option<String> {
        ret.single("orderId").map(str::to_owned)
    }

    type State = State;

    fn reconcile(&self, state: State, _cx: &Context) -> Step<State> {
        // Lookup by merchant reference: not yet; the payment stays unknown.
        Step::Unknown { state }
    }

    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<State> {
        let order = Order {
            order_id: payment.order_id.clone(),
            amount: payment.amount,
            currency: payment.currency.clone(),
            description: payment.description.clone(),
        };
        if let Some(external) = &payment.external_authentication {
            let authentication = match ThirdParty::from_external(external) {
                Ok(authentication) => authentication,
                Err(result) => return Step::Done(result),
            };
            return match &payment.method {
                PaymentMethod::Card(card) => {
                    self.hold_card(cx, card);
                    let then = AfterToken::ThirdParty {
                        order,
                        authentication,
                    };
                    self.call(ApiCall::Tokenize { then }, false, false, cx)
                }
                PaymentMethod::Token { token } if well_formed_token(token) => self.call(
                    ApiCall::Sale(Sale {
                        order,
                        token: token.clone(),
                        evidence: Evidence::ThirdParty(authentication),
                    }),
                    false,
                    false,
                    cx,
                ),
                PaymentMethod::Token { .. } => Step::Done(bad_token()),
            };
        }
        // The MPI requires the cardholder's email; without it Payroc's page would refuse
        // the browser, so the payment ends here, before any call.
        let Some(email) = payment
            .payer
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| plausible_email(e))
        else {
            return Step::Done(rejected_here(
                "payer.email",
                "Payroc's 3-D Secure MPI requires the payer's email address",
            ));
        };
        let challenge = match payment.challenge {
            ChallengePreference::NoPreference => self.config.cardholder_challenge,
            ChallengePreference::Requested | ChallengePreference::Mandated => {
                CardholderChallenge::Required
            }
        };
        match &payment.method {
            PaymentMethod::Card(card) => {
                self.hold_card(cx, card);
                let then = AfterToken::Mpi {
                    order,
                    email: email.to_owned(),
                    challenge,
                };
                self.call(ApiCall::Tokenize { then }, false, false, cx)
            }
            PaymentMethod::Token { token } if well_formed_token(token) => {
                let mpi = MpiRequest {
                    order,
                    token: token.clone(),
                    email: email.to_owned(),
                    challenge,
                };
                self.awaiting_receipt(mpi, Vec::new())
            }
            PaymentMethod::Token { .. } => Step::Done(bad_token()),
        }
    }

    fn on_response(
        &self,
        state: State,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match state {
            State::Authorizing { then, auth_retried } => {
                self.on_access_token(then, auth_retried, response, cx)
            }
            State::Calling {
                call,
                auth_retried,
                resent,
            } => self.on_api_answer(call, auth_retried, resent, response, cx),
            // No call is under way while the browser is at the MPI: nothing moves.
            State::AwaitingReceipt { mpi, refused } => self.awaiting_receipt(mpi, refused),
        }
    }

    /// The MPI receipt. It is unsigned, so it is only a hint: it must name this
    /// session's order, be well formed and not name a reference Payroc already refused
    /// (else the same browser step is asked for again, which the host shows as a refused
    /// return); a D result or an N/R status ends the payment without a sale; otherwise
    /// the sale decides: Payroc refuses an mpiReference that is not this order's,
    /// token's and amount's approved check, and the payment then waits for the real
    /// receipt again (see [`MAX_REFUSED_RECEIPTS`]).
    fn on_browser_return(
        &self,
        state: State,
        ret: &BrowserReturn,
        cx: &Context,
    ) -> Result<Step<State>, ReturnRefused> {
        let State::AwaitingReceipt { mpi, refused } = state else {
            return Err(no_receipt_expected());
        };
        let receipt =
            Receipt::parse_for(ret, &mpi.order.order_id, &refused).map_err(|e| e.refused())?;
        if !receipt.approved || !receipt.trans_status.permits_authorization() {
            return Ok(Step::Done(PaymentResult {
                trans_status: Some(receipt.trans_status),
                eci: Some(receipt.eci),
                ..PaymentResult::failed(PaymentStatus::Failed, ResultCode::AuthenticationFailed)
            }));
        }
        let sale = Sale {
            order: mpi.order,
            token: mpi.token,
            evidence: Evidence::Gateway {
                mpi_reference: receipt.mpi_reference,
                trans_status: receipt.trans_status,
                eci: receipt.eci,
                wait: Some(ReceiptWait {
                    email: mpi.email,
                    challenge: mpi.challenge,
                    refused,
                }),
            },
        };
        Ok(self.call(ApiCall::Sale(sale), false, false, cx))
    }

    /// The same checks as [`Adapter::on_browser_return`], for a host that refuses a
    /// return before acting on it (and, after a sale Payroc refused, to tell that the
    /// receipt which led to it was refused).
    fn verify_browser_return(
        &self,
        state: &State,
        ret: &BrowserReturn,
        _cx: &Context,
    ) -> Result<(), ReturnRefused> {
        match state {
            State::AwaitingReceipt { mpi, refused } => {
                Receipt::parse_for(ret, &mpi.order.order_id, refused)
                    .map(drop)
                    .map_err(|e| e.refused())
            }
            _ => Err(no_receipt_expected()),
        }
    }

    /// Payroc's hosted MPI runs the 3DS Method itself: the adapter never asks for one.
    fn on_method_completed(
        &self,
        state: State,
        _completion: ThreeDsCompInd,
        _cx: &Context,
    ) -> Step<State> {
        match state {
            State::AwaitingReceipt { mpi, refused } => self.awaiting_receipt(mpi, refused),
            _ => Step::Done(PaymentResult::failed(
                PaymentStatus::Error,
                ResultCode::ProviderBadResponse,
            )),
        }
    }
}

/// The step a sale's Idempotency-Key is derived from: one key per sale attempt, the
/// attempt being one more than the receipts Payroc refused before it (`sale`, then
/// `sale-2`, `sale-3`, …). Every send of one attempt (the host's retries, the resend after
/// a lost answer, a resume after a restart) repeats its key and byte-identical body, so
/// Payroc answers it once. A new attempt only follows a refused reference, which Payroc
/// did nothing for and which is never sent again (it is in `refused`); it needs a new key
/// because Payroc refuses a key reused with another body (409 `idempotency-key-in-use`).
/// Two receipts racing for one attempt cannot both send: the store's compare-and-set lets
/// one drive on. The single-use token is the last guard: Payroc spends it on the first
/// sale it makes.
fn sale_step(sale: &Sale) -> String {
    match &sale.evidence {
        Evidence::Gateway {
            wait: Some(wait), ..
        } if !wait.refused.is_empty() => format!("sale-{}", wait.refused.len() + 1),
        _ => "sale".to_owned(),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, PaymentResult> {
    serde_json::to_string(value).map_err(|_| bad_response())
}

fn well_formed_token(token: &str) -> bool {
    (1..=256).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What Payroc's MPI will take as an email: something@domain.tld, no spaces.
fn plausible_email(email: &str) -> bool {
    email.len() <= 254
        && !email
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn no_receipt_expected() -> ReturnRefused {
    ReturnRefused {
        code: "no_return_expected",
        message: "this Payroc payment is not waiting for a receipt",
    }
}
