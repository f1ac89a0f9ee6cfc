//! The Paysafe adapter: Customer Vault single-use token, 3-D Secure 2 (device
//! fingerprinting session, authentication, challenge, finalize, re-read) with the 3DS
//! 1.0.2 fallback, then the Card Payments authorization with the `authentication` block.
//!
//! Owns Paysafe's whole flow as a state machine over [`State`]; the wire shapes are in
//! [`wire`]. It must not keep the card: the number and CVV go out once, to the token
//! endpoint, in `start`; every later request names the card by its `paymentToken`.
//! Pure: no IO, clock or randomness (idempotency keys come from the [`Context`]).
//! The flow, the configuration and the choices are described in `docs/backend/paysafe.md`.

pub mod wire;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::emv::challenge::ThreeDsSessionData;
use crate::emv::method::METHOD_TIMEOUT_MS;
use crate::emv::{
    CardBrand, ChallengeWindowSize, FormPost, Generation, LiabilityShift, ThreeDsCompInd,
};
use crate::payment::{
    BrowserAction, CardSummary, ChallengePreference, PaymentMethod, PaymentResult, PaymentStart,
    PaymentStatus, ResultCode, ResultError,
};
use crate::provider::{
    Adapter, BrowserReturn, Context, HttpRequest, HttpResponse, Secret, Step, TransportFailure,
};

use self::wire::{Authenticated, AuthenticationOutcome};

/// Paysafe's production API.
pub const PRODUCTION_URL: &str = "https://api.paysafe.com";

/// Paysafe's largest `amount` (minor units), as its authentication and authorization
/// references give it: `max=99999999999`.
pub const MAX_AMOUNT_MINOR: u64 = 99_999_999_999;

/// Where the adapter talks to and with which credentials (the password is a [`Secret`]:
/// `Debug` prints it as `***`).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// `https://api.paysafe.com`, or the sandbox's `{sandbox}/paysafe`.
    #[serde(default = "production_url")]
    pub base_url: String,
    /// The API key's user name (Basic).
    pub api_user: String,
    /// The API key's password (Basic).
    pub api_password: Secret,
    /// The merchant account (`89987201` in the sandbox).
    pub account_id: String,
}

fn production_url() -> String {
    PRODUCTION_URL.to_owned()
}

impl Config {
    /// The sandbox's built-in credentials and account, at `sandbox_url` (its origin).
    pub fn sandbox(sandbox_url: &str) -> Config {
        Config {
            base_url: format!("{}/paysafe", sandbox_url.trim_end_matches('/')),
            api_user: "sandbox-paysafe-user".to_owned(),
            api_password: "sandbox-paysafe-password".into(),
            account_id: "89987201".to_owned(),
        }
    }
}

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

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn account_url(&self, path: &str) -> String {
        self.url(&format!(
            "/threedsecure/v2/accounts/{}{path}",
            self.config.account_id
        ))
    }

    fn authorization(&self) -> String {
        let credentials = format!(
            "{}:{}",
            self.config.api_user,
            self.config.api_password.expose()
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }

    fn post(&self, url: String, body: &impl Serialize, purpose: &'static str) -> HttpRequest {
        let body = serde_json::to_string(body).unwrap_or_default();
        HttpRequest::post_json(url, body, purpose).header("Authorization", self.authorization())
    }

    fn get(&self, url: String, purpose: &'static str) -> HttpRequest {
        HttpRequest::get(url, purpose).header("Authorization", self.authorization())
    }

    /// Where a 3DS1 ACS posts the PaRes: Paysafe's challenge-complete page.
    fn term_url(&self) -> String {
        self.url("/threedsecure/v2/challenge-complete")
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
            .post(self.url("/threedsecure/v2/jwt"), &body, "paysafe.jwt")
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
                self.account_url("/authentications"),
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
            self.account_url(&format!("/authentications/{authentication_id}")),
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

    /// What an authentication answer leads to.
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
            return bad_response("the authentication belongs to another merchantRefNum");
        }
        let brand = card
            .summary
            .as_ref()
            .map(|s| s.brand)
            .or_else(|| answer.brand())
            .unwrap_or(CardBrand::Unknown);
        match answer.outcome(&self.term_url()) {
            Err(problem) => bad_response(problem),
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
                bad_response("a PENDING authentication without a challenge")
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
        let permitted = match values.trans_status {
            Some(status) => status.permits_authorization(),
            // 3DS1 without a result: not enrolled (N) or unavailable (U) may proceed
            // without liability shift, as the seed says.
            None => matches!(values.enrollment.as_deref(), Some("N" | "U")),
        };
        if !permitted {
            let (status, code) = if values.cancelled {
                (PaymentStatus::Cancelled, ResultCode::ChallengeCancelled)
            } else {
                (PaymentStatus::Failed, ResultCode::AuthenticationFailed)
            };
            let mut result = outcome_result(brand, &values, status, None);
            result.error = Some(ResultError {
                code,
                provider_code: None,
                provider_message: None,
            });
            return Step::Done(result);
        }
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
                self.url(&format!(
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
}

/// The result's 3DS members from an authentication.
fn outcome_result(
    brand: CardBrand,
    values: &Authenticated,
    status: PaymentStatus,
    payment_id: Option<String>,
) -> PaymentResult {
    let generation = if values.is_legacy() {
        Generation::Legacy
    } else {
        Generation::Emv
    };
    let shifted = values.trans_status.is_some_and(|status| {
        LiabilityShift::decide(brand, status, values.eci, generation).is_shifted()
    });
    PaymentResult {
        status,
        provider_payment_id: payment_id,
        three_ds_version: Some(values.version.clone()),
        trans_status: values.trans_status,
        eci: values.eci,
        liability_shift: shifted && status == PaymentStatus::Authorized,
        error: None,
    }
}

fn bad_response(problem: &str) -> Step<State> {
    Step::Done(
        PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
            .with_provider_error("bad_response", problem),
    )
}

/// A transport failure (after the host's retries) as a result.
fn transport_result(failure: &TransportFailure) -> Step<State> {
    let code = match failure {
        TransportFailure::Timeout => ResultCode::ProviderTimeout,
        TransportFailure::Connection(_) => ResultCode::ProviderUnavailable,
    };
    Step::Done(PaymentResult::failed(PaymentStatus::Error, code))
}

/// A non-2xx answer as a result: 5xx is an outage, anything else a refusal with
/// Paysafe's own code and message.
fn error_result(response: &HttpResponse) -> PaymentResult {
    if response.status >= 500 {
        let result = PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderUnavailable);
        return match parse_error(response) {
            Some(e) => result.with_provider_error(e.error.code.clone(), e.error.full_message()),
            None => result,
        };
    }
    let result = PaymentResult::failed(PaymentStatus::Failed, ResultCode::ProviderRejected);
    match parse_error(response) {
        Some(e) => result.with_provider_error(e.error.code.clone(), e.error.full_message()),
        None => result.with_provider_error(
            response.status.to_string(),
            "Paysafe refused the request without an error body",
        ),
    }
}

fn parse_error(response: &HttpResponse) -> Option<wire::ErrorEnvelope> {
    serde_json::from_str(&response.body).ok()
}

/// The JSON body of a 2xx answer, or the result that ends the payment (boxed: the
/// error side stays small).
fn success_body<T: serde::de::DeserializeOwned>(
    response: Result<HttpResponse, TransportFailure>,
) -> Result<T, Box<Step<State>>> {
    let response = response.map_err(|failure| Box::new(transport_result(&failure)))?;
    if !response.is_success() {
        return Err(Box::new(Step::Done(error_result(&response))));
    }
    serde_json::from_str(&response.body)
        .map_err(|_| Box::new(bad_response("the answer is not the JSON expected")))
}

impl Adapter for PaysafeAdapter {
    type State = State;

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
                        self.url("/customervault/v1/singleusetokens"),
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
            State::Tokenizing { order, summary } => {
                match success_body::<wire::TokenResponse>(response) {
                    Ok(token) => self.fingerprint(
                        order,
                        CardRef {
                            payment_token: token.payment_token,
                            summary: Some(summary),
                        },
                    ),
                    Err(done) => *done,
                }
            }
            State::Fingerprinting { order, card } => {
                let session = match success_body::<wire::JwtResponse>(response) {
                    Ok(session) => session,
                    Err(done) => return *done,
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
            State::Authenticating {
                order,
                card,
                merchant_ref_num,
                ..
            } => {
                let response = match response {
                    Ok(response) => response,
                    Err(failure) => return transport_result(&failure),
                };
                if response.status == 409 {
                    // Our merchantRefNum was used: by this very authentication, whose first
                    // answer was lost. Read it instead of creating another.
                    if let Some(existing) = parse_error(&response)
                        .filter(|e| e.error.code == "5031")
                        .and_then(|e| e.existing_transaction_id)
                    {
                        return self.read_authentication(order, card, existing, merchant_ref_num);
                    }
                }
                match success_body::<wire::AuthenticationResponse>(Ok(response)) {
                    Ok(answer) => self.on_authentication(order, card, merchant_ref_num, answer, cx),
                    Err(done) => *done,
                }
            }
            State::ReadingAuthentication {
                order,
                card,
                merchant_ref_num,
                authentication_id,
            } => match success_body::<wire::AuthenticationResponse>(response) {
                Ok(answer) if answer.id != authentication_id => {
                    bad_response("the answer names another authentication")
                }
                Ok(answer) => self.on_authentication(order, card, merchant_ref_num, answer, cx),
                Err(done) => *done,
            },
            State::Finalizing {
                order,
                card,
                authentication_id,
                merchant_ref_num,
            } => match response {
                // Whatever finalize said (a refused payload leaves the authentication
                // PENDING), the authentication as Paysafe now holds it decides.
                Ok(_) => self.read_authentication(order, card, authentication_id, merchant_ref_num),
                Err(failure) => transport_result(&failure),
            },
            State::Authorizing {
                brand,
                authentication,
            } => authorization_result(brand, &authentication, response),
            state @ (State::AwaitingMethod { .. } | State::AwaitingChallenge { .. }) => {
                // No call was made in these states: nothing to read, nothing changes.
                awaiting_again(state)
            }
        }
    }

    fn on_browser_return(&self, state: State, ret: &BrowserReturn, _cx: &Context) -> Step<State> {
        let State::AwaitingChallenge {
            order,
            card,
            authentication_id,
            merchant_ref_num,
            form,
            window_size,
        } = state
        else {
            return awaiting_again(state);
        };
        match verify_return(ret, &authentication_id) {
            Ok(payload) => {
                let body = wire::FinalizeRequest { payload };
                // Finalizing a finished authentication returns it unchanged.
                let request = self
                    .post(
                        self.account_url(&format!("/authentications/{authentication_id}/finalize")),
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
            Err(_) => awaiting_again(State::AwaitingChallenge {
                order,
                card,
                authentication_id,
                merchant_ref_num,
                form,
                window_size,
            }),
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

/// Why a browser return is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    #[error("the return has no single {0}")]
    Missing(&'static str),
    #[error("the return names another authentication")]
    OtherAuthentication,
    #[error("the return's session data is not this authentication's")]
    ForeignSessionData,
}

impl ReturnError {
    pub fn code(&self) -> &'static str {
        match self {
            ReturnError::Missing(_) => "return_incomplete",
            ReturnError::OtherAuthentication | ReturnError::ForeignSessionData => "return_foreign",
        }
    }
}

/// The payload of a return that belongs to `authentication_id`: Paysafe's
/// challenge-complete page sends `authenticationId`, `payload`, and the echoed
/// `threeDSSessionData` (2.x) or `MD` (1.0.2), both set to the authentication id.
pub fn verify_return<'a>(
    ret: &'a BrowserReturn,
    authentication_id: &str,
) -> Result<&'a str, ReturnError> {
    let named = ret
        .single("authenticationId")
        .ok_or(ReturnError::Missing("authenticationId"))?;
    if named != authentication_id {
        return Err(ReturnError::OtherAuthentication);
    }
    let payload = ret
        .single("payload")
        .filter(|p| !p.is_empty() && p.len() <= 16 * 1024)
        .ok_or(ReturnError::Missing("payload"))?;
    if let Some(data) = ret.single("threeDSSessionData") {
        if ThreeDsSessionData::decode(data).ok().as_deref() != Some(authentication_id) {
            return Err(ReturnError::ForeignSessionData);
        }
    }
    if let Some(md) = ret.single("MD") {
        if md != authentication_id {
            return Err(ReturnError::ForeignSessionData);
        }
    }
    Ok(payload)
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

/// The authorization's answer as the final result.
fn authorization_result(
    brand: CardBrand,
    values: &Authenticated,
    response: Result<HttpResponse, TransportFailure>,
) -> Step<State> {
    let response = match response {
        Ok(response) => response,
        Err(failure) => return transport_result(&failure),
    };
    if response.is_success() {
        return match serde_json::from_str::<wire::AuthResponse>(&response.body) {
            Ok(auth) if auth.status == "COMPLETED" => Step::Done(outcome_result(
                brand,
                values,
                PaymentStatus::Authorized,
                Some(auth.id),
            )),
            Ok(auth) => {
                let mut result =
                    outcome_result(brand, values, PaymentStatus::Declined, Some(auth.id));
                result.error = Some(ResultError {
                    code: ResultCode::Declined,
                    provider_code: Some(auth.status),
                    provider_message: None,
                });
                Step::Done(result)
            }
            Err(_) => bad_response("the authorization answer is not the JSON expected"),
        };
    }
    let mut result = error_result(&response);
    if response.status == 402 {
        if let Some(envelope) = parse_error(&response) {
            result.status = PaymentStatus::Declined;
            result.error = Some(ResultError {
                code: ResultCode::Declined,
                provider_code: Some(envelope.error.code.clone()),
                provider_message: Some(envelope.error.full_message()),
            });
        }
    }
    let base = outcome_result(brand, values, result.status, None);
    Step::Done(PaymentResult {
        error: result.error,
        ..base
    })
}

#[cfg(test)]
mod tests;
