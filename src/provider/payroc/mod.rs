//! Payroc: a sale with 3-D Secure through Payroc's gateway MPI (the seed "Run a sale with
//! 3-D Secure"), or with the merchant's own authentication (`thirdParty`).
//!
//! The flow, as steps for the host:
//! 1. a Bearer token from the identity service (`POST {identity}/authorize`, `x-api-key`),
//!    cached in the adapter and refreshed 2 minutes before it expires, as Payroc's SDK does.
//!    For the start it is the host's preparing call ([`Adapter::prepare_start`]), made
//!    inside the start request before [`Adapter::start`]; later calls fetch one as a step
//!    of their own when none is cached, and a 401 from the API clears it and the call is
//!    made again once with a new one;
//! 2. card details → a single-use token (`POST {api}/processing-terminals/{id}/single-use-tokens`):
//!    start's first request, the only one that carries the card (unless the page sent a
//!    token);
//! 3. the browser goes to Payroc's hosted MPI page (`GET {payments}/merchant/mpi?…`), which
//!    runs 3-D Secure and sends the browser with a GET to the terminal's registered receipt
//!    URL (`result, status, eci, mpiReference, orderId`);
//! 4. the sale, `POST {api}/payments` with `threeDSecure {serviceProvider: gateway,
//!    mpiReference}`: Payroc's answer, not the unsigned receipt, decides the result. A
//!    sale Payroc refuses because the mpiReference is not this payment's (a forged or
//!    edited receipt) goes back to waiting for the real receipt with the same MPI step,
//!    so a forgery no longer ends the payment ([`MAX_REFUSED_RECEIPTS`] bounds it). A
//!    sale whose answer is lost (every attempt timed out, dropped or failed with a 5xx,
//!    or the process stopped during the call) leaves the payment in doubt
//!    ([`Step::Unknown`]): Payroc may have made it;
//! 5. reconciliation ([`Adapter::reconcile`]): Payroc's payments list filtered by the
//!    terminal and the sale's orderId (`GET {api}/payments?processingTerminalId&orderId`),
//!    page by page: the payment of this order, amount and currency is the result;
//!    none means the sale never reached Payroc (nothing charged).
//!
//! This module owns Payroc's flow; `requests` builds its calls and `answers` reads their
//! answers, `state` what a payment carries between steps ([`State`]), `token` the Bearer
//! token and its cache, `config` the configuration, `wire` the JSON shapes, `outcome` what
//! answers mean for the result, `returns` the MPI receipt and the adapter's one error
//! type ([`ReceiptError`]), `lifecycle` capture, void and refund. It does no IO, reads no
//! clock, and keeps no card: the card goes out in start's tokenization request and
//! nowhere else, and every step after it depends on the stored [`State`] alone, so any
//! process (any `PayrocAdapter`) may continue a payment another one began.

mod answers;
mod config;
pub mod exemption;
mod lifecycle;
mod outcome;
mod requests;
mod returns;
mod state;
mod stored;
mod token;
mod wire;

#[cfg(test)]
mod stored_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Mutex;

use super::answer::{self};
use super::lifecycle::{Operation, OperationAnswer, OperationCall, OperationError, OperationStep};
use super::{
    Adapter, BrowserReturn, Context, HttpRequest, HttpResponse, RefusedTerm, ReturnKey,
    ReturnRefused, Step, TransportFailure,
};
use crate::emv::ThreeDsCompInd;
use crate::payment::{
    CardDetails, ChallengePreference, PaymentMethod, PaymentResult, PaymentStart, PaymentStatus,
    ResultCode,
};
pub use config::{
    CardholderChallenge, Config, PRODUCTION_API_URL, PRODUCTION_IDENTITY_URL,
    PRODUCTION_PAYMENTS_URL,
};
use outcome::{answer_of, bad_token};
pub use returns::{Receipt, ReceiptError};
pub use state::{
    AfterToken, ApiCall, Evidence, Lookup, MpiRequest, Order, ReceiptWait, Sale, State, ThirdParty,
    ThirdPartyEci,
};

/// A token is replaced this long before it expires (the SDK's margin).
pub const TOKEN_REFRESH_MARGIN_MS: u64 = 2 * 60 * 1000;
/// How many receipts whose mpiReference Payroc refused end a payment: each before the
/// last sends it back to waiting for the real receipt, the last ends it (failed, nothing
/// charged). Each costs a sale call, so the wait cannot go on forever. A cardholder's own
/// browser brings one receipt, so any refusal is a forgery, an edited receipt or a fault.
pub const MAX_REFUSED_RECEIPTS: usize = 5;
/// How many pages of Payroc's payments list one lookup reads (10 payments each, Payroc's
/// default page) before it gives up for this time and stays in doubt. One order id has
/// one payment of ours; more pages of it mean something this adapter cannot judge.
pub const MAX_LOOKUP_PAGES: u32 = 10;

/// The Payroc adapter, shared by every session of a host. Besides its configuration it
/// keeps one thing, safe to lose: the Bearer token. No step depends on this process
/// having seen an earlier one.
pub struct PayrocAdapter {
    config: Config,
    token: Mutex<Option<token::CachedToken>>,
}

impl fmt::Debug for PayrocAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayrocAdapter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PayrocAdapter {
    pub fn new(config: Config) -> PayrocAdapter {
        PayrocAdapter {
            config,
            token: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
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
    fn receipt_refused(&self, sale: Sale, refusal: PaymentResult) -> Step<State> {
        let Evidence::Gateway {
            mpi_reference,
            wait: Some(wait),
            ..
        } = sale.evidence
        else {
            return Step::Done(refusal);
        };
        let mut refused = wait.refused;
        refused.push(mpi_reference);
        if refused.len() >= MAX_REFUSED_RECEIPTS {
            return Step::Done(refusal);
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

    /// What the single-use token will be for: the thirdParty sale when the merchant
    /// authenticated the cardholder, else the MPI (which needs the payer's email). `Err`:
    /// the payment ends before any call.
    fn after_token(&self, payment: &PaymentStart) -> Result<AfterToken, PaymentResult> {
        let order = Order {
            order_id: payment.order_id.clone(),
            amount: payment.amount,
            currency: payment.currency,
            description: payment.description.clone(),
            capture_mode: payment.capture_mode,
        };
        if let Some(external) = &payment.external_authentication {
            let authentication = ThirdParty::from_external(external)?;
            return Ok(AfterToken::ThirdParty {
                order,
                authentication,
            });
        }
        let email = payer_email(&payment.payer).map_err(|refused| refused.rejected())?;
        let challenge = match payment.challenge {
            ChallengePreference::NoPreference => self.config.cardholder_challenge,
            ChallengePreference::Requested | ChallengePreference::Mandated => {
                CardholderChallenge::Required
            }
        };
        Ok(AfterToken::Mpi {
            order,
            email: email.to_owned(),
            challenge,
        })
    }

    // --- steps ------------------------------------------------------------------------

    /// Makes `call`, first fetching a Bearer token when none fresh is cached.
    fn call(&self, call: ApiCall, auth_retried: bool, cx: &Context) -> Step<State> {
        match self.bearer(cx.now_ms) {
            Some(bearer) => self.call_with(call, &bearer, auth_retried, cx),
            None => self.authorize_for(call, auth_retried),
        }
    }

    fn authorize_for(&self, then: ApiCall, auth_retried: bool) -> Step<State> {
        Step::Call {
            state: State::Authorizing { then, auth_retried },
            request: self.identity_request(),
        }
    }

    fn call_with(
        &self,
        call: ApiCall,
        bearer: &str,
        auth_retried: bool,
        cx: &Context,
    ) -> Step<State> {
        match self.api_request(&call, bearer, cx) {
            Ok(request) => Step::Call {
                state: State::Calling { call, auth_retried },
                request,
            },
            Err(result) => Step::Done(result),
        }
    }

    /// The card goes out to be tokenized, with the token the host's preparing call
    /// cached (even one inside the refresh margin: it was just issued).
    fn tokenize(&self, card: &CardDetails, then: AfterToken, cx: &Context) -> Step<State> {
        let Some(bearer) = self.cached_token(cx.now_ms) else {
            return Step::Done(no_access_token());
        };
        match self.tokenize_request(card, &bearer, cx) {
            Ok(request) => Step::Call {
                state: State::Calling {
                    call: ApiCall::Tokenize { then },
                    auth_retried: false,
                },
                request,
            },
            Err(result) => Step::Done(result),
        }
    }

    /// The single-use token is there (tokenized, or the page's own): the MPI, or the
    /// thirdParty sale.
    fn with_token(&self, then: AfterToken, token: String, cx: &Context) -> Step<State> {
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
                cx,
            ),
        }
    }

    /// Payroc may have made `sale`: the payment waits for a lookup.
    fn in_doubt(&self, sale: Sale) -> Step<State> {
        Step::Unknown {
            state: State::SaleInDoubt { sale },
        }
    }

    /// The first page of the lookup of `sale`.
    fn look_up(&self, sale: Sale, cx: &Context) -> Step<State> {
        self.call(ApiCall::Lookup(Lookup::first(sale)), false, cx)
    }

    /// A 401 to `call`: the token was revoked or expired early; a new one, and the call
    /// once more.
    fn reauthorize(&self, call: ApiCall) -> Step<State> {
        self.forget_token();
        self.authorize_for(call, true)
    }
}

impl Adapter for PayrocAdapter {
    /// What Payroc's API carries at create (`exemption.rs`).
    fn limits(&self) -> crate::provider::CreateLimits {
        crate::provider::CreateLimits {
            max_amount_minor: None,
            exemptions: exemption::SUPPORTED,
            challenge_preference: exemption::CHALLENGE_PREFERENCE,
            max_order_id_chars: None,
            // Payroc's hosted MPI is a full-page redirect.
            full_page_steps: true,
        }
    }

    /// The card facts of the provider's answer, for a token payment.
    fn card_of(&self, response: &HttpResponse) -> Option<crate::payment::CardSummary> {
        crate::provider::card_facts::payroc(response)
    }

    /// The payer's email, which the MPI requires, unless the merchant authenticated the
    /// cardholder itself.
    fn refuses_terms(
        &self,
        _currency: &crate::order::Currency,
        payer: &crate::payment::Payer,
        external: Option<&crate::payment::ExternalAuthentication>,
    ) -> Option<RefusedTerm> {
        external.is_none().then(|| payer_email(payer).err())?
    }

    /// Payroc's MPI sends every receipt to the one URL registered for the terminal
    /// (`/v1/returns/payroc`): the receipt's `orderId` names the session, its
    /// `mpiReference` the authentication.
    fn order_of_return(&self, ret: &BrowserReturn) -> Option<ReturnKey> {
        Some(ReturnKey {
            order_id: ret.single("orderId")?.to_owned(),
            reference: ret.single("mpiReference")?.to_owned(),
        })
    }

    type State = State;

    /// A Bearer token for start's tokenization, when none fresh is cached.
    fn prepare_start(&self, cx: &Context) -> Option<HttpRequest> {
        self.bearer(cx.now_ms)
            .is_none()
            .then(|| self.identity_request())
    }

    fn on_prepared(
        &self,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Option<PaymentResult> {
        self.read_access_token(response, cx).err()
    }

    /// Looks the sale up in Payroc's payments list. Only [`State::SaleInDoubt`] is ever
    /// in doubt; a state with a sale under way is looked up the same way, and one that
    /// never got as far as a sale charged nothing.
    fn reconcile(&self, state: State, cx: &Context) -> Step<State> {
        match state {
            State::SaleInDoubt { sale }
            | State::Calling {
                call: ApiCall::Sale(sale) | ApiCall::Lookup(Lookup { sale, .. }),
                ..
            }
            | State::Authorizing {
                then: ApiCall::Sale(sale) | ApiCall::Lookup(Lookup { sale, .. }),
                ..
            } => self.look_up(sale, cx),
            State::AwaitingReceipt { .. }
            | State::Calling {
                call: ApiCall::Tokenize { .. },
                ..
            }
            | State::Authorizing {
                then: ApiCall::Tokenize { .. },
                ..
            } => Step::Done(answer::not_found()),
        }
    }

    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<State> {
        let then = match self.after_token(payment) {
            Ok(then) => then,
            Err(result) => return Step::Done(result),
        };
        match &payment.method {
            PaymentMethod::Card(card) => self.tokenize(card, then, cx),
            PaymentMethod::Token { token, .. } if well_formed_token(token) => {
                self.with_token(then, token.clone(), cx)
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
            State::Calling { call, auth_retried } => {
                self.on_api_answer(call, auth_retried, response, cx)
            }
            // No call is under way while the browser is at the MPI: nothing moves.
            State::AwaitingReceipt { mpi, refused } => self.awaiting_receipt(mpi, refused),
            // Nor while the sale is in doubt: only a lookup settles it.
            State::SaleInDoubt { sale } => self.in_doubt(sale),
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
        Ok(self.call(ApiCall::Sale(sale), false, cx))
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
            _ => Step::Done(answer::bad_response(
                "a 3-D Secure Method completed for a Payroc payment, whose MPI runs its own",
            )),
        }
    }

    /// Capture, reverse (void) or refund: see `lifecycle`.
    fn operation(&self, op: &Operation, cx: &Context) -> Result<OperationStep, OperationError> {
        self.lifecycle_operation(op, cx)
    }

    fn on_operation_response(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
        cx: &Context,
    ) -> OperationStep {
        self.lifecycle_response(op, call, response, cx)
    }

    fn operation_lookup(&self, op: &Operation, cx: &Context) -> OperationStep {
        self.lifecycle_lookup(op, cx)
    }
}

/// `start` found no Bearer token: the host did not make [`Adapter::prepare_start`]'s
/// call. Nothing was sent.
fn no_access_token() -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderUnavailable)
        .with_provider_error(
            "no_access_token",
            "no Payroc access token for the tokenization: the host must make prepare_start's call first",
        )
}

fn well_formed_token(token: &str) -> bool {
    (1..=256).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What Payroc's MPI will take as an email: something@domain.tld, no spaces.
fn plausible_email(email: &str) -> bool {
    email.chars().count() <= 254
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

fn no_receipt_expected() -> ReturnRefused {
    ReturnRefused {
        code: "no_return_expected",
        message: "this Payroc payment is not waiting for a receipt",
    }
}

/// The payer's email as the MPI takes it (ASCII blanks around it dropped). The MPI
/// requires one; without it Payroc's page would refuse the browser, so a payment without
/// one ends before any call.
fn payer_email(payer: &crate::payment::Payer) -> Result<&str, RefusedTerm> {
    payer
        .email
        .as_deref()
        .map(|e| e.trim_matches(|c: char| c.is_ascii_whitespace()))
        .filter(|e| plausible_email(e))
        .ok_or_else(|| RefusedTerm {
            code: "invalid_payer",
            parameter: "payer.email",
            message: "Payroc's 3-D Secure MPI requires the payer's email address".into(),
        })
}
