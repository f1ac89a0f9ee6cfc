//! The Paysafe adapter: Customer Vault single-use token, 3-D Secure 2 (device
//! fingerprinting session, authentication, challenge, finalize, re-read) with the 3DS
//! 1.0.2 fallback, then the Card Payments authorization with the `authentication` block.
//!
//! This module owns Paysafe's whole flow as a state machine over [`State`], one method
//! per state's answer: here the card's token and the fingerprinting session,
//! `authentication` the 3-D Secure authentication, its challenge and finalize, `charge`
//! the authorization, its lookup by merchantRefNum and its resend; `config` the
//! configuration, [`wire`] the JSON shapes and the reading of an
//! authentication, `outcome` what answers mean for the result, `returns` the challenge's
//! return and the adapter's one error type ([`ReturnError`]). It must not keep the card:
//! the number and CVV go out once, to the token endpoint, in `start`; every later
//! request names the card by its `paymentToken`.
//!
//! Lost answers: the authorization's (the money call), finalize's and the read after it
//! (a return has answered the challenge, shown again only if Paysafe refuses that answer)
//! leave the payment in doubt
//! ([`Step::Unknown`]) with what a later [`Adapter::reconcile`] needs to finish it; any
//! other lost answer ends the payment, nothing having been charged.
//! Pure: no IO, clock or randomness (idempotency keys come from the [`Context`]).
//! The flow, the configuration and the choices are described in `docs/backend/paysafe.md`.

mod authentication;
mod charge;
mod config;
pub mod exemption;
mod lifecycle;
mod outcome;
mod returns;
mod stored;
pub mod wire;

use serde::{Deserialize, Serialize};

use crate::emv::method::METHOD_TIMEOUT_MS;
use crate::emv::{ChallengeWindowSize, FormPost, ThreeDsCompInd};
use crate::order::Currency;
use crate::payment::{
    BrowserAction, CaptureMode, CardSummary, ChallengePreference, PaymentMethod, PaymentResult,
    PaymentStart, PaymentStatus, ResultCode,
};
use crate::provider::lifecycle::{
    Operation, OperationAnswer, OperationCall, OperationError, OperationStep,
};
use crate::provider::{
    Adapter, BrowserReturn, Context, HttpRequest, HttpResponse, ReturnRefused, Step,
    TransportFailure,
};

pub use charge::{Charge, Lookup};
pub use config::{Config, PRODUCTION_URL};
use outcome::success_body;
pub use returns::{verify_return, ReturnError};

/// Paysafe's largest `amount` (minor units), as its authentication and authorization
/// references give it: `max=99999999999`.
pub const MAX_AMOUNT_MINOR: u64 = 99_999_999_999;

/// The Paysafe adapter: configuration only, shared by every session.
#[derive(Debug, Clone)]
pub struct PaysafeAdapter {
    config: Config,
}

/// What the payment asked for, kept for the later requests (no card in it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub amount: u64,
    pub currency: Currency,
    pub challenge: ChallengePreference,
    /// The exemption asked for at create (`exemption.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<crate::payment::Exemption>,
    pub window_size: ChallengeWindowSize,
    /// `None` when the page could not give every member Paysafe requires.
    pub browser: Option<wire::BrowserDetails>,
    /// `Manual`: the authorization is sent with `settleWithAuth: false` (a payment stored
    /// before capture modes existed reads as `Automatic`).
    #[serde(default)]
    pub capture_mode: CaptureMode,
}

/// The card, as far as this adapter may keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardRef {
    pub payment_token: String,
    /// Known when the card came from the page; a page-made token has none.
    pub summary: Option<CardSummary>,
}

/// The authentication Paysafe made for this payment, and what the steps after it need.
/// Flattened into the states that hold it, with the member names those states had before
/// it existed, so a payment stored mid-challenge by an older version still reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authentication {
    pub order: Order,
    pub card: CardRef,
    /// Paysafe's authentication id.
    #[serde(rename = "authentication_id")]
    pub id: String,
    /// The merchantRefNum it was created with (`cx.idempotency_key("authentication")`).
    pub merchant_ref_num: String,
}

/// The challenge the browser was shown, kept while a return's payload is finalized and
/// the authentication read after it: when Paysafe refused the payload (not the issuer's:
/// forged from the form's ids before the cardholder answered, or altered) and the
/// authentication is still `PENDING`, the payment waits on this challenge again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shown {
    pub form: FormPost,
    pub window_size: ChallengeWindowSize,
    /// Returns whose payload Paysafe refused so far ([`crate::provider::MAX_REFUSED_RETURNS`]).
    pub refused: u32,
}

/// Where a Paysafe payment is. Each `Call`-phase state is what the adapter waits for.
/// Stored as its derived `Serialize` writes it, read back by hand (`stored.rs`: the
/// derive's reading of this shape was the largest deserializer of a Paysafe worker).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum State {
    /// Waiting for the single-use token.
    Tokenizing { order: Order, summary: CardSummary },
    /// Waiting for the device-fingerprinting session (`/jwt`).
    Fingerprinting { order: Order, card: CardRef },
    /// The browser runs the issuer's 3DS Method.
    AwaitingMethod {
        order: Order,
        card: CardRef,
        fingerprint_id: String,
    },
    /// Waiting for the authentication's creation.
    Authenticating {
        order: Order,
        card: CardRef,
        fingerprint_id: String,
        merchant_ref_num: String,
    },
    /// Reading the authentication an earlier send of the creation made, whose answer was
    /// lost (Paysafe refused the repeat as a duplicate, naming it).
    ReadingAuthentication {
        #[serde(flatten)]
        authentication: Authentication,
    },
    /// The browser is at the issuer's challenge.
    AwaitingChallenge {
        #[serde(flatten)]
        authentication: Authentication,
        form: FormPost,
        window_size: ChallengeWindowSize,
        /// Returns whose payload Paysafe refused so far (0 in a state stored before it).
        #[serde(default)]
        refused: u32,
    },
    /// Waiting for finalize's answer. `payload` (the CRes or PaRes the return brought,
    /// no card data) is kept so that finalize can be sent again if its answer is lost:
    /// the cardholder has answered the challenge. `shown`: the challenge the return
    /// answered, shown again if Paysafe refuses the payload (`None` in a state stored
    /// before it).
    Finalizing {
        #[serde(flatten)]
        authentication: Authentication,
        payload: String,
        shown: Option<Shown>,
    },
    /// Reading the authentication after finalize: its result decides. `shown`: the
    /// challenge to wait on again if it is still `PENDING`, kept only when finalize
    /// refused the payload (one finalize accepted leaves the challenge spent).
    ReadingChallengeResult {
        #[serde(flatten)]
        authentication: Authentication,
        shown: Option<Shown>,
    },
    /// Waiting for the authorization's answer.
    Authorizing { charge: Charge },
    /// Looking the authorization up by its merchantRefNum.
    FindingAuthorization { charge: Charge, after: Lookup },
}

impl PaysafeAdapter {
    pub fn new(config: Config) -> PaysafeAdapter {
        PaysafeAdapter { config }
    }

    // --- requests ---------------------------------------------------------------------

    fn post(&self, url: String, body: &impl Serialize, purpose: &'static str) -> HttpRequest {
        let body = serde_json::to_string(body).unwrap_or_default();
        HttpRequest::post_json(url, body, purpose)
            .header("Authorization", self.config.authorization())
    }

    fn get(&self, url: String, purpose: &'static str) -> HttpRequest {
        HttpRequest::get(url, purpose).header("Authorization", self.config.authorization())
    }

    /// Where a 3DS1 ACS posts the PaRes: Paysafe's challenge-complete page.
    fn term_url(&self) -> String {
        self.config.url("/threedsecure/v2/challenge-complete")
    }

    fn tokenize(&self, order: Order, card: &crate::payment::CardDetails) -> Step<State> {
        let body = wire::TokenRequest::new(card);
        // Creates a token only; a repeat leaves an unused one to expire.
        let request = self
            .post(
                self.config.url("/customervault/v1/singleusetokens"),
                &body,
                "paysafe.token",
            )
            .retry_safe();
        Step::Call {
            state: State::Tokenizing {
                order,
                summary: CardSummary::from(&card.number),
            },
            request,
        }
    }

    /// The fingerprinting session: Paysafe's `/jwt` takes the card's BIN (`cardBin`).
    fn fingerprint(&self, order: Order, card: CardRef, bin: &str) -> Step<State> {
        let body = wire::JwtRequest {
            account_id: &self.config.account_id,
            card: wire::JwtCard {
                card_bin: bin,
                payment_token: &card.payment_token,
            },
        };
        // Opens a fingerprinting session only: a repeat leaves an unused one behind.
        let request = self
            .post(
                self.config.url("/threedsecure/v2/jwt"),
                &body,
                "paysafe.jwt",
            )
            .retry_safe();
        Step::Call {
            state: State::Fingerprinting { order, card },
            request,
        }
    }

    // --- answers, one method per state that waits for one ------------------------------

    /// `Tokenizing`: the single-use token, then the fingerprinting session.
    fn on_token(
        &self,
        order: Order,
        summary: CardSummary,
        response: Result<HttpResponse, TransportFailure>,
    ) -> Step<State> {
        match success_body::<wire::TokenResponse>(response) {
            Ok(token) => {
                let bin = summary.bin.clone();
                let card = CardRef {
                    payment_token: token.payment_token,
                    summary: Some(summary),
                };
                self.fingerprint(order, card, &bin)
            }
            Err(result) => Step::Done(result),
        }
    }

    /// `Fingerprinting`: the issuer's 3DS Method in the browser if it has one, else the
    /// authentication at once.
    fn on_fingerprint_session(
        &self,
        order: Order,
        card: CardRef,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        let session = match success_body::<wire::JwtResponse>(response) {
            Ok(session) => session,
            Err(result) => return Step::Done(result),
        };
        match (session.method_url, session.three_ds_method_data) {
            (Some(url), Some(data)) => Step::Browser {
                action: BrowserAction::Method {
                    form: crate::emv::ThreeDsMethodData::form_with_encoded(&url, data),
                    timeout_ms: METHOD_TIMEOUT_MS,
                },
                state: State::AwaitingMethod {
                    order,
                    card,
                    fingerprint_id: session.device_fingerprinting_id,
                },
            },
            _ => self.authenticate(order, card, session.device_fingerprinting_id, cx),
        }
    }
}

impl Adapter for PaysafeAdapter {
    /// What Paysafe's API carries at create (`exemption.rs`, its amount cap).
    fn limits(&self) -> crate::provider::CreateLimits {
        crate::provider::CreateLimits {
            max_amount_minor: Some(MAX_AMOUNT_MINOR),
            exemptions: exemption::SUPPORTED,
            challenge_preference: exemption::CHALLENGE_PREFERENCE,
            max_order_id_chars: None,
            full_page_steps: false,
        }
    }

    /// The card facts of the provider's answer, for a token payment.
    fn card_of(&self, response: &HttpResponse) -> Option<crate::payment::CardSummary> {
        crate::provider::card_facts::paysafe(response)
    }

    type State = State;

    fn start(&self, payment: &PaymentStart, _cx: &Context) -> Step<State> {
        let order = Order {
            amount: payment.amount,
            currency: payment.currency,
            challenge: payment.challenge,
            exemption: payment.exemption,
            window_size: payment.window_size,
            browser: payment.browser.to_paysafe().ok().map(Into::into),
            capture_mode: payment.capture_mode,
        };
        match &payment.method {
            PaymentMethod::Card(card) => self.tokenize(order, card),
            PaymentMethod::Token {
                token,
                bin: Some(bin),
            } => self.fingerprint(
                order,
                CardRef {
                    payment_token: token.clone(),
                    summary: None,
                },
                bin,
            ),
            // Paysafe's fingerprinting call takes the BIN, which a token does not tell.
            PaymentMethod::Token { bin: None, .. } => Step::Done(crate::provider::answer::rejected_here(
                "paymentMethod.bin",
                "a Paysafe token payment needs the card's BIN (its first 6 to 8 digits) for 3-D Secure",
            )),
        }
    }

    fn on_response(
        &self,
        state: State,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match state {
            State::Tokenizing { order, summary } => self.on_token(order, summary, response),
            State::Fingerprinting { order, card } => {
                self.on_fingerprint_session(order, card, response, cx)
            }
            State::Authenticating {
                order,
                card,
                merchant_ref_num,
                ..
            } => self.on_authentication_created(order, card, merchant_ref_num, response, cx),
            State::ReadingAuthentication { authentication } => {
                self.on_authentication_read(authentication, response, cx)
            }
            State::Finalizing {
                authentication,
                payload,
                shown,
            } => self.on_finalized(authentication, payload, shown, response),
            State::ReadingChallengeResult {
                authentication,
                shown,
            } => self.on_challenge_result(authentication, shown, response, cx),
            State::Authorizing { charge } => self.on_authorization(charge, response),
            State::FindingAuthorization { charge, after } => {
                self.on_authorizations_found(charge, after, response)
            }
            // No call was made in these states: nothing to read, nothing changes.
            state @ (State::AwaitingMethod { .. } | State::AwaitingChallenge { .. }) => {
                awaiting_again(state)
            }
        }
    }

    /// A payment in doubt repeats the call whose answer was lost, each safe to repeat:
    /// the authorization is looked up by its merchantRefNum first (and sent again only
    /// when Paysafe has none), finalize is sent again (finalizing twice answers the same
    /// authentication), the challenge's result is read again.
    fn reconcile(&self, state: State, _cx: &Context) -> Step<State> {
        match state {
            State::Authorizing { charge } | State::FindingAuthorization { charge, .. } => {
                self.find_authorization(charge, Lookup::AnswerLost)
            }
            State::Finalizing {
                authentication,
                payload,
                shown,
            } => self.finalize(authentication, payload, shown),
            State::ReadingChallengeResult {
                authentication,
                shown,
            } => self.read_challenge_result(authentication, shown),
            // Nothing of these states can be in doubt.
            other => awaiting_again(other),
        }
    }

    fn on_browser_return(
        &self,
        state: State,
        ret: &BrowserReturn,
        _cx: &Context,
    ) -> Result<Step<State>, ReturnRefused> {
        let State::AwaitingChallenge {
            authentication,
            form,
            window_size,
            refused,
        } = state
        else {
            return Err(not_awaiting_challenge());
        };
        let payload = verify_return(ret, &authentication.id).map_err(|e| e.refused())?;
        let shown = Shown {
            form,
            window_size,
            refused,
        };
        Ok(self.finalize(authentication, payload.to_owned(), Some(shown)))
    }

    /// The issuer's return must name this session's authentication (and echo its session
    /// data): anything else is refused before the session is touched.
    fn verify_browser_return(
        &self,
        state: &State,
        ret: &BrowserReturn,
        _cx: &Context,
    ) -> Result<(), ReturnRefused> {
        match state {
            State::AwaitingChallenge { authentication, .. } => {
                verify_return(ret, &authentication.id)
                    .map(drop)
                    .map_err(|e| e.refused())
            }
            _ => Err(not_awaiting_challenge()),
        }
    }

    fn on_method_completed(
        &self,
        state: State,
        _completion: ThreeDsCompInd,
        cx: &Context,
    ) -> Step<State> {
        match state {
            // Paysafe learns how the Method went from the issuer's notification, not from
            // the merchant: the authentication has no member for it.
            State::AwaitingMethod {
                order,
                card,
                fingerprint_id,
            } => self.authenticate(order, card, fingerprint_id, cx),
            other => awaiting_again(other),
        }
    }

    fn operation(&self, op: &Operation, _cx: &Context) -> Result<OperationStep, OperationError> {
        self.operation_call(op)
    }

    fn on_operation_response(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
        _cx: &Context,
    ) -> OperationStep {
        self.on_operation_answer(op, call, response)
    }

    fn operation_lookup(&self, op: &Operation, _cx: &Context) -> OperationStep {
        self.find_operation(op)
    }
}

fn not_awaiting_challenge() -> ReturnRefused {
    ReturnRefused {
        code: "no_return_expected",
        message: "this Paysafe payment is not waiting for a challenge result",
    }
}

/// The same state, still waiting for the browser: an unexpected or forged event changes
/// nothing. States that wait for a call cannot be resumed by the browser; they end in
/// an error rather than guessing.
fn awaiting_again(state: State) -> Step<State> {
    match state {
        State::AwaitingChallenge {
            ref form,
            window_size,
            ..
        } => {
            let action = BrowserAction::Challenge {
                form: form.clone(),
                window_size,
            };
            Step::Browser { state, action }
        }
        State::AwaitingMethod { .. } => Step::Done(PaymentResult::failed(
            PaymentStatus::Error,
            ResultCode::ProviderBadResponse,
        )),
        _ => Step::Done(
            PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
                .with_provider_error("unexpected_event", "an event this step does not expect"),
        ),
    }
}

#[cfg(test)]
mod tests;
