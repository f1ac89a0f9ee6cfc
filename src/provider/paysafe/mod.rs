//! The Paysafe adapter: Customer Vault single-use token, 3-D Secure 2 (device
//! fingerprinting session, authentication, challenge, finalize, re-read) with the 3DS
//! 1.0.2 fallback, then the Card Payments authorization with the `authentication` block.
//!
//! This module owns Paysafe's whole flow as a state machine over [`State`], one method
//! per state's answer; `config` the configuration, [`wire`] the JSON shapes and the
//! reading of an authentication, `outcome` what answers mean for the result, `returns`
//! the challenge's return and the adapter's one error type ([`ReturnError`]). It must
//! not keep the card: the number and CVV go out once, to the token endpoint, in `start`;
//! every later request names the card by its `paymentToken`.
//! Pure: no IO, clock or randomness (idempotency keys come from the [`Context`]).
//! The flow, the configuration and the choices are described in `docs/backend/paysafe.md`.

mod config;
mod outcome;
mod returns;
pub mod wire;

use serde::{Deserialize, Serialize};

use crate::emv::method::METHOD_TIMEOUT_MS;
use crate::emv::{CardBrand, ChallengeWindowSize, FormPost, ThreeDsCompInd};
use crate::payment::{
    BrowserAction, CardSummary, ChallengePreference, PaymentMethod, PaymentResult, PaymentStart,
    PaymentStatus, ResultCode,
};
use crate::provider::{
    Adapter, BrowserReturn, Context, HttpRequest, HttpResponse, ReturnRefused, Step,
    TransportFailure,
};

pub use config::{Config, PRODUCTION_URL};
use outcome::{
    authorization_result, bad_response, parse_error, refused_authentication, success_body,
    transport_result,
};
pub use returns::{verify_return, ReturnError};
use wire::{Authenticated, AuthenticationOutcome};

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
    pub currency: String,
    pub challenge: ChallengePreference,
    pub window_size: ChallengeWindowSize,
    /// `None` when the page could not give every member Paysafe requires.
    pub browser: Option<wire::BrowserDetails>,
}

/// The card, as far as this adapter may keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardRef {
    pub payment_token: String,
    /// Known when the card came from the page; a page-made token has none.
    pub summary: Option<CardSummary>,
}

/// Where a Paysafe payment is. Each `Call`-phase state is what the adapter waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// A re-read of an authentication: after a duplicate merchantRefNum (a retried
    /// creation whose answer was lost), or after finalize (the truth).
    ReadingAuthentication {
        order: Order,
        card: CardRef,
        authentication_id: String,
        merchant_ref_num: String,
    },
    /// The browser is at the issuer's challenge.
    AwaitingChallenge {
        order: Order,
        card: CardRef,
        authentication_id: String,
        merchant_ref_num: String,
        form: FormPost,
        window_size: ChallengeWindowSize,
    },
    /// Waiting for finalize's answer (the next step reads the authentication anyway).
    Finalizing {
        order: Order,
        card: CardRef,
        authentication_id: String,
        merchant_ref_num: String,
    },
    /// Waiting for the authorization.
    Authorizing {
        brand: CardBrand,
        authentication: Authenticated,
    },
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

    fn fingerprint(&self, order: Order, card: CardRef) -> Step<State> {
        let body = wire::JwtRequest {
            account_id: &self.config.account_id,
            card: wire::JwtCard {
                card_bin: card.summary.as_ref().map(|s| s.bin.as_str()),
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

    fn authenticate(
        &self,
        order: Order,
        card: CardRef,
        fingerprint_id: String,
        cx: &Context,
    ) -> Step<State> {
        let merchant_ref_num = cx.idempotency_key("authentication");
        let return_url = cx.return_url();
        let body = wire::AuthenticationRequest {
            merchant_ref_num: &merchant_ref_num,
            amount: order.amount,
            currency: &order.currency,
            merchant_url: &return_url,
            card: wire::TokenRef {
                payment_token: &card.payment_token,
            },
            device_fingerprinting_id: &fingerprint_id,
            device_channel: "BROWSER",
            message_category: "PAYMENT",
            authentication_purpose: "PAYMENT_TRANSACTION",
            requestor_challenge_preference: wire::challenge_preference(order.challenge),
            browser_details: order.browser.as_ref(),
        };
        // Paysafe refuses a second authentication with the same merchantRefNum (5031,
        // naming the first), which this adapter then reads: a repeat is harmless.
        let request = self
            .post(
                self.config.account_url("/authentications"),
                &body,
                "paysafe.authentication",
            )
            .retry_safe();
        Step::Call {
            state: State::Authenticating {
                order,
                card,
                fingerprint_id,
                merchant_ref_num,
            },
            request,
        }
    }

    fn read_authentication(
        &self,
        order: Order,
        card: CardRef,
        authentication_id: String,
        merchant_ref_num: String,
    ) -> Step<State> {
        let request = self.get(
            self.config
                .account_url(&format!("/authentications/{authentication_id}")),
            "paysafe.authentication.get",
        );
        Step::Call {
            state: State::ReadingAuthentication {
                order,
                card,
                authentication_id,
                merchant_ref_num,
            },
            request,
        }
    }

    /// Sends the challenge's `payload` to finalize.
    fn finalize(
        &self,
        order: Order,
        card: CardRef,
        authentication_id: String,
        merchant_ref_num: String,
        payload: &str,
    ) -> Step<State> {
        let body = wire::FinalizeRequest { payload };
        // Finalizing a finished authentication returns it unchanged.
        let request = self
            .post(
                self.config
                    .account_url(&format!("/authentications/{authentication_id}/finalize")),
                &body,
                "paysafe.finalize",
            )
            .retry_safe();
        Step::Call {
            state: State::Finalizing {
                order,
                card,
                authentication_id,
                merchant_ref_num,
            },
            request,
        }
    }

    /// The authorization with the authentication's values.
    fn authorize(
        &self,
        brand: CardBrand,
        values: Authenticated,
        payment_token: String,
        amount: u64,
        cx: &Context,
    ) -> Step<State> {
        let merchant_ref_num = cx.idempotency_key("auth");
        let body = wire::AuthRequest {
            merchant_ref_num: &merchant_ref_num,
            amount,
            settle_with_auth: true,
            card: wire::TokenRef {
                payment_token: &payment_token,
            },
            authentication: wire::AuthenticationBlock::of(&values),
        };
        // The sandbox (and Paysafe with duplicate checking) answers a repeat of the same
        // merchantRefNum with the first result, never a second charge.
        let request = self
            .post(
                self.config.url(&format!(
                    "/cardpayments/v1/accounts/{}/auths",
                    self.config.account_id
                )),
                &body,
                "paysafe.auth",
            )
            .retry_safe();
        Step::Call {
            state: State::Authorizing {
                brand,
                authentication: values,
            },
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
            Ok(token) => self.fingerprint(
                order,
                CardRef {
                    payment_token: token.payment_token,
                    summary: Some(summary),
                },
            ),
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

    /// `Authenticating`: the created authentication, or (409, 5031) the one an earlier
    /// send of this very request created, whose answer was lost: read instead of
    /// creating another.
    fn on_authentication_created(
        &self,
        order: Order,
        card: CardRef,
        merchant_ref_num: String,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        let response = match response {
            Ok(response) => response,
            Err(failure) => return Step::Done(transport_result(&failure)),
        };
        if response.status == 409 {
            if let Some(existing) = parse_error(&response)
                .filter(|e| e.error.code == "5031")
                .and_then(|e| e.existing_transaction_id)
            {
                return self.read_authentication(order, card, existing, merchant_ref_num);
            }
        }
        match success_body::<wire::AuthenticationResponse>(Ok(response)) {
            Ok(answer) => self.on_authentication(order, card, merchant_ref_num, answer, cx),
            Err(result) => Step::Done(result),
        }
    }

    /// `ReadingAuthentication`: the authentication as Paysafe holds it, if it is the one
    /// asked for.
    fn on_authentication_read(
        &self,
        order: Order,
        card: CardRef,
        authentication_id: String,
        merchant_ref_num: String,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match success_body::<wire::AuthenticationResponse>(response) {
            Ok(answer) if answer.id != authentication_id => {
                Step::Done(bad_response("the answer names another authentication"))
            }
            Ok(answer) => self.on_authentication(order, card, merchant_ref_num, answer, cx),
            Err(result) => Step::Done(result),
        }
    }

    /// What an authentication answer (created or read) leads to.
    fn on_authentication(
        &self,
        order: Order,
        card: CardRef,
        merchant_ref_num: String,
        answer: wire::AuthenticationResponse,
        cx: &Context,
    ) -> Step<State> {
        if answer
            .merchant_ref_num
            .as_deref()
            .is_some_and(|r| r != merchant_ref_num)
        {
            return Step::Done(bad_response(
                "the authentication belongs to another merchantRefNum",
            ));
        }
        let brand = card
            .summary
            .as_ref()
            .map(|s| s.brand)
            .or_else(|| answer.brand())
            .unwrap_or(CardBrand::Unknown);
        match answer.outcome(&self.term_url()) {
            Err(problem) => Step::Done(bad_response(problem)),
            Ok(AuthenticationOutcome::Completed(values)) => {
                self.after_authentication(brand, values, card.payment_token, order.amount, cx)
            }
            Ok(AuthenticationOutcome::Challenge { form, window_size }) => {
                let window_size = window_size.unwrap_or(order.window_size);
                let action = BrowserAction::Challenge {
                    form: form.clone(),
                    window_size,
                };
                Step::Browser {
                    state: State::AwaitingChallenge {
                        order,
                        card,
                        authentication_id: answer.id,
                        merchant_ref_num,
                        form,
                        window_size,
                    },
                    action,
                }
            }
            Ok(AuthenticationOutcome::Pending) => {
                Step::Done(bad_response("a PENDING authentication without a challenge"))
            }
            Ok(AuthenticationOutcome::Failed(status)) => Step::Done(
                PaymentResult::failed(PaymentStatus::Failed, ResultCode::AuthenticationFailed)
                    .with_provider_error(status, "the authentication did not complete"),
            ),
        }
    }

    /// Authorize when the result permits it, otherwise end with the authentication's result.
    fn after_authentication(
        &self,
        brand: CardBrand,
        values: Authenticated,
        payment_token: String,
        amount: u64,
        cx: &Context,
    ) -> Step<State> {
        match refused_authentication(brand, &values) {
            Some(result) => Step::Done(result),
            None => self.authorize(brand, values, payment_token, amount, cx),
        }
    }
}

impl Adapter for PaysafeAdapter {
    type State = State;

    fn reconcile(&self, state: State, _cx: &Context) -> Step<State> {
        // Lookup by merchant reference: not yet; the payment stays unknown.
        Step::Unknown { state }
    }

    fn start(&self, payment: &PaymentStart, _cx: &Context) -> Step<State> {
        let order = Order {
            amount: payment.amount,
            currency: payment.currency.clone(),
            challenge: payment.challenge,
            window_size: payment.window_size,
            browser: payment.browser.to_paysafe().ok().map(Into::into),
        };
        match &payment.method {
            PaymentMethod::Card(card) => {
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
            PaymentMethod::Token { token } => self.fingerprint(
                order,
                CardRef {
                    payment_token: token.clone(),
                    summary: None,
                },
            ),
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
            State::ReadingAuthentication {
                order,
                card,
                authentication_id,
                merchant_ref_num,
            } => self.on_authentication_read(
                order,
                card,
                authentication_id,
                merchant_ref_num,
                response,
                cx,
            ),
            State::Finalizing {
                order,
                card,
                authentication_id,
                merchant_ref_num,
            } => match response {
                // Whatever finalize said (a refused payload leaves the authentication
                // PENDING), the authentication as Paysafe now holds it decides.
                Ok(_) => self.read_authentication(order, card, authentication_id, merchant_ref_num),
                Err(failure) => Step::Done(transport_result(&failure)),
            },
            State::Authorizing {
                brand,
                authentication,
            } => Step::Done(authorization_result(brand, &authentication, response)),
            state @ (State::AwaitingMethod { .. } | State::AwaitingChallenge { .. }) => {
                // No call was made in these states: nothing to read, nothing changes.
                awaiting_again(state)
            }
        }
    }

    fn on_browser_return(
        &self,
        state: State,
        ret: &BrowserReturn,
        _cx: &Context,
    ) -> Result<Step<State>, ReturnRefused> {
        let State::AwaitingChallenge {
            order,
            card,
            authentication_id,
            merchant_ref_num,
            ..
        } = state
        else {
            return Err(not_awaiting_challenge());
        };
        let payload = verify_return(ret, &authentication_id).map_err(|e| e.refused())?;
        Ok(self.finalize(order, card, authentication_id, merchant_ref_num, payload))
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
            State::AwaitingChallenge {
                authentication_id, ..
            } => verify_return(ret, authentication_id)
                .map(drop)
                .map_err(|e| e.refused()),
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
