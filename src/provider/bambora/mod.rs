//! Bambora North America (Worldline) Payment API v1: a card or token payment with 3-D
//! Secure run by Bambora (the seed's "two-step process"), or with the merchant's own
//! authentication (the "integrated process").
//!
//! The flow, as steps for the host:
//! 1. `POST {base}/v1/payments` (`Authorization: Passcode base64(merchant_id:passcode)`)
//!    with the card (or token), the amount in decimal dollars, `term_url` = this
//!    session's return route and `3d_secure {enabled, version: 2, auth_required, browser}`;
//! 2. 200: the payment is over (approved `"1"` or declined `"0"`); 402: declined, or 311
//!    "3D Secure Failed"; 302: `contents` is read here into the issuer's form
//!    ([`IssuerForm`]: only PaReq/MD/TermUrl or creq/threeDSSessionData, posting to https
//!    or the sandbox) and the browser is sent to the challenge;
//! 3. the issuer posts `PaRes`+`MD` or `cres`+`threeDSSessionData` to the return route;
//!    a return that is not this payment's is refused (`returns`);
//! 4. `POST {base}/v1/payments/{merchant_data}/continue` with `card_response {pa_res | cres}`:
//!    Bambora's answer, never the browser's, decides. A continue Bambora refuses as invalid
//!    input (400, code 314) proves only that the return was not the issuer's (a CRes or
//!    PaRes forged from the form's ids): the payment waits on the same challenge again
//!    (`Step::Refused`), and only the [`MAX_REFUSED_RETURNS`]th such refusal ends it.
//!
//! Bambora takes no idempotency key, so neither money call is retry-safe and neither is
//! ever sent twice. When the answer to one is lost (no answer, a 5xx, or the process
//! stopped during the call) the payment is in doubt (`Step::Unknown`), and
//! [`Adapter::reconcile`] looks it up by the `order_number` that was sent: the Reporting
//! API's search (`POST {base}/v1/reports`, field 5 = order number, over the days since the
//! payment started), then `GET {base}/v1/payments/{id}` of the transaction that fits the
//! order (number, amount, currency, card's last four). Approved → authorized with that
//! id; declined → declined; no transaction → nothing was charged
//! ([`answer::not_found`]: a create whose lost answer was a 302 never reached the
//! cardholder, so no continue could have charged). A lookup that gets no usable answer
//! leaves the payment in doubt, and the host looks again later.
//!
//! This module owns the flow; `create` checks and builds the payment request, `state`
//! the states it moves between, `config` the configuration, `wire` the JSON shapes,
//! `outcome` what answers mean, `returns` the issuer's return and the adapter's one error
//! type ([`ReturnError`]), `lifecycle` capture, void and refund, `search_result` the
//! Reporting API's search answer. Only Bambora needs `contents`: it reads the 302's
//! URL-encoded HTML into a typed [`IssuerForm`] (a small HTML reader with its own tests,
//! one responsibility; its [`ContentsError`] becomes the result's `bad_contents`, never a
//! refused return). It must not do IO, read a clock or keep a card in its state: the
//! number and CVD go out once, in the request `start` builds (checked first, then built:
//! `create`), and the state keeps a [`CardSummary`] only. See docs/backend/bambora.md.

mod config;
mod contents;
mod create;
pub mod exemption;
mod lifecycle;
mod outcome;
mod returns;
mod search_result;
mod state;
mod stored;
mod wire;

pub use wire::MAX_AMOUNT_MINOR;

#[cfg(test)]
mod tests;

use serde::Serialize;

use super::answer::{self, bad_response, rejected, Answer, ProviderError};
use super::{
    Adapter, BrowserReturn, Context, HttpRequest, HttpResponse, RefusedTerm, ReturnRefused, Step,
    TransportFailure,
};
use crate::emv::ThreeDsCompInd;
use crate::order::Currency;
use crate::payment::{
    BrowserAction, ExternalAuthentication, Payer, PaymentResult, PaymentStart, PaymentStatus,
    ResultCode,
};
use crate::provider::lifecycle::{
    Operation, OperationAnswer, OperationCall, OperationError, OperationStep,
};
pub use config::{Config, PRODUCTION_URL};
pub use contents::{ContentsError, IssuerForm};
use outcome::{Known, Reply, Search};
pub use returns::{IssuerAnswer, ReturnError};
pub use state::{Authentication, Challenged, Doubt, Order, State, Waiting};
use wire::CODE_INVALID_INPUT;

/// Bambora's `order_number` limit.
pub const MAX_ORDER_NUMBER_CHARS: usize = 30;
pub use crate::provider::MAX_REFUSED_RETURNS;
/// How far a lookup's search reaches around the payment's start and the lookup itself:
/// the report's dates are in the merchant account's time zone, which this adapter does
/// not know (every zone is within 14 hours of UTC).
const SEARCH_MARGIN_MS: u64 = 24 * 60 * 60 * 1000;

/// The Bambora adapter: configuration only, shared by every session.
#[derive(Debug, Clone)]
pub struct BamboraAdapter {
    config: Config,
}

impl BamboraAdapter {
    pub fn new(config: Config) -> BamboraAdapter {
        BamboraAdapter { config }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn post(&self, path: &str, body: &impl Serialize, purpose: &'static str) -> HttpRequest {
        let body = serde_json::to_string(body).unwrap_or_default();
        // Not retry-safe (the default of `post_json`): Bambora has no idempotency key,
        // and a repeat of either money call could authorize a second time.
        HttpRequest::post_json(self.config.url(path), body, purpose)
            .header("Authorization", self.config.authorization())
    }

    /// A 302: the issuer form out of `contents`, and the browser sent to it.
    fn challenge(&self, order: Order, redirect: wire::Redirect, cx: &Context) -> Step<State> {
        if matches!(order.authentication, Authentication::Merchant { .. }) {
            return Step::Done(bad_response(
                "a 302 for a payment that carried the merchant's own authentication",
            ));
        }
        let continue_id = match continue_id(&redirect) {
            Ok(id) => id,
            Err(problem) => return Step::Done(bad_response(problem)),
        };
        let sandbox_origin = self.config.origin();
        let term_url = cx.return_url();
        let expected = contents::Expected {
            continue_id: &continue_id,
            term_url: &term_url,
            sandbox_origin: sandbox_origin.as_deref(),
        };
        let issuer = match IssuerForm::parse(&redirect.contents, expected) {
            Ok(issuer) => issuer,
            Err(problem) => {
                return Step::Done(
                    PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
                        .with_provider_error("bad_contents", problem.to_string()),
                )
            }
        };
        let waiting = Waiting {
            window_size: issuer.window_size().unwrap_or(order.window_size),
            continue_id,
            issuer,
            refused: 0,
        };
        issuer_step(waiting.awaiting(order))
    }

    /// `continue` with the issuer's answer the browser brought.
    fn resume(&self, order: Order, waiting: Waiting, answer: IssuerAnswer) -> Step<State> {
        let card_response = match &answer {
            IssuerAnswer::PaRes(pa_res) => wire::CardResponse::PaRes(pa_res),
            IssuerAnswer::CRes(cres) => wire::CardResponse::CRes(cres),
        };
        let body = wire::ContinueRequest {
            payment_method: "credit_card",
            card_response,
        };
        let request = self.post(
            &format!("/v1/payments/{}/continue", waiting.continue_id),
            &body,
            "bambora.continue",
        );
        let challenge = Challenged {
            version: waiting.issuer.version(),
            legacy: waiting.issuer.is_legacy(),
        };
        Step::Call {
            state: State::Continuing {
                order,
                challenge,
                waiting: Some(waiting),
            },
            request,
        }
    }

    /// The answer to `POST /v1/payments`.
    fn created(&self, order: Order, reply: Reply, cx: &Context) -> Step<State> {
        let known = Known {
            order: &order,
            challenge: None,
        };
        match reply {
            Reply::Payment(payment) => Step::Done(known.payment_result(payment)),
            Reply::Redirect(redirect) => self.challenge(order, redirect, cx),
            Reply::Refused { error, .. } => Step::Done(rejected(&error)),
            Reply::Lost => in_doubt(order, None),
            Reply::Ended(result) => Step::Done(result),
        }
    }

    /// The answer to `continue`. Invalid input (400, code 314) is Bambora refusing the
    /// issuer's answer the browser brought: see [`BamboraAdapter::return_refused`].
    fn continued(
        &self,
        order: Order,
        challenge: Challenged,
        waiting: Option<Waiting>,
        reply: Reply,
    ) -> Step<State> {
        let known = Known {
            order: &order,
            challenge: Some(&challenge),
        };
        match reply {
            Reply::Payment(payment) => Step::Done(known.payment_result(payment)),
            Reply::Redirect(_) => Step::Done(bad_response("continue answered with another 302")),
            Reply::Refused { status: 400, error }
                if error.code == CODE_INVALID_INPUT.to_string() =>
            {
                match waiting {
                    Some(waiting) => self.return_refused(order, waiting, &error),
                    None => Step::Done(rejected(&error)),
                }
            }
            Reply::Refused { error, .. } => Step::Done(rejected(&error)),
            Reply::Lost => in_doubt(order, Some(challenge)),
            Reply::Ended(result) => Step::Done(result),
        }
    }

    /// Bambora refused the CRes or PaRes a return carried (forged from the form's ids
    /// before the cardholder answered, or altered): nothing was authorized, and the
    /// genuine answer may still come, so the payment waits on the same challenge again.
    /// The [`MAX_REFUSED_RETURNS`]th refusal ends it with Bambora's words.
    fn return_refused(&self, order: Order, waiting: Waiting, error: &ProviderError) -> Step<State> {
        let refused = waiting.refused.saturating_add(1);
        if refused >= MAX_REFUSED_RETURNS {
            return Step::Done(rejected(error));
        }
        let waiting = Waiting { refused, ..waiting };
        Step::Refused {
            action: waiting.action(),
            state: waiting.awaiting(order),
            refused: ReturnRefused {
                code: "return_refused",
                message: "Bambora refused the issuer's answer this return carried.",
            },
        }
    }

    /// `POST /v1/reports`: the transactions with the order number that was sent, from a
    /// day before the payment started to a day after now.
    fn search(&self, doubt: Doubt, cx: &Context) -> Step<State> {
        let query = wire::SearchQuery {
            name: "Search",
            start_date: wire::report_date(doubt.order.started_ms.saturating_sub(SEARCH_MARGIN_MS)),
            end_date: wire::report_date(cx.now_ms.saturating_add(SEARCH_MARGIN_MS)),
            start_row: 1,
            end_row: wire::MAX_SEARCH_ROWS,
            criteria: vec![wire::Criterion {
                field: wire::FIELD_ORDER_NUMBER,
                operator: wire::EQUALS,
                value: &doubt.order.order_number,
            }],
        };
        let body = serde_json::to_string(&query).unwrap_or_default();
        let request =
            HttpRequest::post_json(self.config.url("/v1/reports"), body, "bambora.search")
                .header("Authorization", self.config.reporting_authorization())
                .retry_safe();
        Step::Call {
            state: State::Searching { doubt },
            request,
        }
    }

    /// The search's answer: the order's transaction to read, the end when there is none,
    /// or still in doubt when the search could not tell (no answer, a refusal such as a
    /// wrong Reporting passcode, an unreadable one, two approved transactions).
    fn searched(&self, doubt: Doubt, answer: Answer) -> Step<State> {
        let result = match answer {
            Answer::Found(found) => {
                crate::json_path::from_text::<wire::SearchResult>(&found.body).ok()
            }
            Answer::Refused { .. } | Answer::Lost(_) => None,
        };
        let Some(result) = result else {
            return doubt.unresolved();
        };
        match outcome::search(&result.records(), &doubt.order, &self.config.currency) {
            Search::Nothing => Step::Done(answer::not_found()),
            Search::Ambiguous => doubt.unresolved(),
            Search::Transaction(transaction_id) => {
                let request = HttpRequest::get(
                    self.config.url(&format!("/v1/payments/{transaction_id}")),
                    "bambora.read",
                )
                .header("Authorization", self.config.authorization());
                Step::Call {
                    state: State::Reading {
                        doubt,
                        transaction_id,
                    },
                    request,
                }
            }
        }
    }

    /// The transaction's answer: its result, when it is the order's (else still in doubt).
    fn read(&self, doubt: Doubt, transaction_id: &str, answer: Answer) -> Step<State> {
        let payment = match answer {
            Answer::Found(found) => crate::json_path::from_text::<wire::Payment>(&found.body).ok(),
            _ => None,
        };
        match payment {
            Some(payment) if outcome::is_the_orders(&payment, transaction_id, &doubt.order) => {
                let known = Known {
                    order: &doubt.order,
                    challenge: doubt.challenge.as_ref(),
                };
                Step::Done(known.payment_result(payment))
            }
            _ => doubt.unresolved(),
        }
    }
}

/// A money call whose answer was lost: the payment waits for a lookup.
fn in_doubt(order: Order, challenge: Option<Challenged>) -> Step<State> {
    Doubt { order, challenge }.unresolved()
}

/// The id `continue` takes: `3d_session_data` (2.x) or `merchant_data` (1.0.2); it goes
/// into a URL path, so only letters, digits, `-`, `_` and `=` are accepted (no `/`, no
/// `.`: it cannot climb out of `/v1/payments/{id}/continue`).
fn continue_id(redirect: &wire::Redirect) -> Result<String, &'static str> {
    let id = match (&redirect.merchant_data, &redirect.three_d_session_data) {
        (Some(a), Some(b)) if a != b => return Err("the 302 names two different payments"),
        (_, Some(id)) | (Some(id), None) => id,
        (None, None) => return Err("the 302 has neither merchant_data nor 3d_session_data"),
    };
    let url_safe = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='));
    if id.is_empty() || id.len() > 256 || !url_safe {
        return Err("the 302's payment id is not one Bambora sends");
    }
    Ok(id.clone())
}

/// The browser step of a state waiting for the issuer, again or for the first time.
fn issuer_step(state: State) -> Step<State> {
    match state {
        State::AwaitingIssuer {
            ref issuer,
            window_size,
            ..
        } => {
            let action = BrowserAction::Challenge {
                form: issuer.form(),
                window_size,
            };
            Step::Browser { state, action }
        }
        // A state that waits for a call cannot be moved by the browser or the page; hosts
        // refuse such returns through `verify_browser_return` first.
        _ => Step::Done(
            PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
                .with_provider_error("unexpected_event", "an event this step does not expect"),
        ),
    }
}

impl Adapter for BamboraAdapter {
    /// What Bambora's API carries at create (`exemption.rs`, its amount cap).
    fn limits(&self) -> crate::provider::CreateLimits {
        crate::provider::CreateLimits {
            max_amount_minor: Some(MAX_AMOUNT_MINOR),
            exemptions: exemption::SUPPORTED,
            challenge_preference: exemption::CHALLENGE_PREFERENCE,
            // order_number: maxLength 30 (swagger 1.0.5).
            max_order_id_chars: Some(MAX_ORDER_NUMBER_CHARS),
            full_page_steps: false,
        }
    }

    /// The account's currency only.
    fn refuses_terms(
        &self,
        currency: &Currency,
        _payer: &Payer,
        _external: Option<&ExternalAuthentication>,
    ) -> Option<RefusedTerm> {
        self.refuses_currency(currency)
    }

    /// The card facts of the provider's answer, for a token payment.
    fn card_of(&self, response: &HttpResponse) -> Option<crate::payment::CardSummary> {
        crate::provider::card_facts::bambora(response)
    }

    type State = State;

    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<State> {
        match self.create(payment, cx) {
            Ok((order, request)) => Step::Call {
                state: State::Creating { order },
                request,
            },
            Err(result) => Step::Done(result),
        }
    }

    fn on_response(
        &self,
        state: State,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match state {
            State::Creating { order } => {
                let reply = Known {
                    order: &order,
                    challenge: None,
                }
                .read(response);
                self.created(order, reply, cx)
            }
            State::Continuing {
                order,
                challenge,
                waiting,
            } => {
                let reply = Known {
                    order: &order,
                    challenge: Some(&challenge),
                }
                .read(response);
                self.continued(order, challenge, waiting, reply)
            }
            State::Searching { doubt } => {
                self.searched(doubt, Answer::of(response, outcome::provider_error))
            }
            State::Reading {
                doubt,
                transaction_id,
            } => self.read(
                doubt,
                &transaction_id,
                Answer::of(response, outcome::provider_error),
            ),
            // No call was outstanding: nothing to read, the step stands.
            state @ State::InDoubt { .. } => Step::Unknown { state },
            state @ State::AwaitingIssuer { .. } => issuer_step(state),
        }
    }

    /// Looks the payment in doubt up by its order number (see the module's docs). Any
    /// state that sent a money call can be in doubt; one waiting for the issuer is not.
    fn reconcile(&self, state: State, cx: &Context) -> Step<State> {
        let doubt = match state {
            State::InDoubt { doubt }
            | State::Searching { doubt }
            | State::Reading { doubt, .. } => doubt,
            State::Creating { order } => Doubt {
                order,
                challenge: None,
            },
            State::Continuing {
                order, challenge, ..
            } => Doubt {
                order,
                challenge: Some(challenge),
            },
            state @ State::AwaitingIssuer { .. } => return issuer_step(state),
        };
        self.search(doubt, cx)
    }

    /// The issuer's return, checked by [`Adapter::verify_browser_return`]'s rules: a
    /// refused one leaves the payment at the same browser step.
    fn on_browser_return(
        &self,
        state: State,
        ret: &BrowserReturn,
        _cx: &Context,
    ) -> Result<Step<State>, ReturnRefused> {
        let State::AwaitingIssuer {
            order,
            continue_id,
            issuer,
            window_size,
            refused,
        } = state
        else {
            return Err(ReturnError::NotAwaiting.refused());
        };
        let answer = returns::verify(&issuer, ret).map_err(|e| e.refused())?;
        let waiting = Waiting {
            continue_id,
            issuer,
            window_size,
            refused,
        };
        Ok(self.resume(order, waiting, answer))
    }

    fn verify_browser_return(
        &self,
        state: &State,
        ret: &BrowserReturn,
        _cx: &Context,
    ) -> Result<(), ReturnRefused> {
        match state {
            State::AwaitingIssuer { issuer, .. } => returns::verify(issuer, ret)
                .map(drop)
                .map_err(|e| e.refused()),
            _ => Err(ReturnError::NotAwaiting.refused()),
        }
    }

    /// Bambora's payments API has no 3DS Method step: the adapter never asks for one.
    fn on_method_completed(
        &self,
        state: State,
        _completion: ThreeDsCompInd,
        _cx: &Context,
    ) -> Step<State> {
        issuer_step(state)
    }

    fn operation(&self, op: &Operation, _cx: &Context) -> Result<OperationStep, OperationError> {
        self.operation_request(op)
    }

    fn on_operation_response(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
        _cx: &Context,
    ) -> OperationStep {
        self.operation_answer(op, call, response)
    }

    fn operation_lookup(&self, op: &Operation, cx: &Context) -> OperationStep {
        self.operation_search(op, cx)
    }
}
