//! The dLocal adapter: one signed `POST /secure_payments` carries the card, the payer
//! and the 3-D Secure wish; dLocal runs 3-D Secure itself. A frictionless answer
//! finishes at once; `PENDING` 101 sends the whole page to dLocal's `redirect_url`; the
//! browser comes back to `callback_url` with a signed form, and dLocal also notifies
//! `notification_url`. Neither the callback's `status` nor a notification's body is
//! trusted: both only make the adapter re-read the payment (`GET /payments/{id}`), and
//! that answer decides.
//!
//! dLocal may charge without another call from the backend (after its own page), so no
//! answer short of dLocal's word ends a payment: a create or read whose answer is lost
//! or cannot be believed leaves the payment in doubt ([`State::InDoubt`],
//! `Step::Unknown`) until a lookup (`GET /orders/{order_id}`, then `GET /payments/{id}`)
//! or a notification finds it. A session that expires while the payer is on dLocal's
//! page is in doubt too, and the backend ends that doubt itself: it cancels the payment
//! at dLocal (`POST /payments/{id}/cancel`, [`State::Cancelling`]), so that no later
//! visit to the page can charge, and reads the payment when dLocal refuses because the
//! payer finished first.
//!
//! This module owns the flow; `create` builds the one create request, `lookup` finds a
//! payment in doubt, `cancel` cancels an abandoned one, `state` the state between steps
//! ([`State`]), `config` the configuration, `wire` dLocal's wire protocol (signatures,
//! `X-Date`, the JSON shapes), `outcome` what answers mean for the [`PaymentResult`],
//! `returns` the callback and notification checks and the adapter's one error type
//! ([`DlocalError`]), `lifecycle` capture, void and refund. Must not do IO, read a clock or
//! keep the card: the card goes out in the one create request and nothing of it but a
//! [`CardSummary`] is kept. docs/backend/dlocal.md describes the flow and the choices.

mod cancel;
mod config;
mod create;
pub mod exemption;
mod lifecycle;
mod lookup;
mod outcome;
mod returns;
mod state;
mod stored;
mod wire;

#[cfg(test)]
mod tests;

use super::answer::{self, Answer};
use super::{
    Adapter, BrowserReturn, Context, HttpRequest, HttpResponse, Notification, ReturnRefused, Step,
    TransportFailure,
};
use crate::emv::{FormMethod, FormPost, ThreeDsCompInd};
use crate::payment::{BrowserAction, PaymentStart};

pub use config::{Config, PRODUCTION_URL};
use create::payer_country;
use outcome::{error_of, final_verdict, is_about, outcome};
use returns::check_callback;
pub use returns::{
    notification_is_fresh, verify_notification, DlocalError, NotificationHint,
    NOTIFICATION_WINDOW_MS,
};
use state::Recovery;
pub use state::{Abandoned, Amount, Doubt, ExternalOutcome, Order, State};
use wire::PaymentObject;
pub use wire::{
    callback_message, minor_amount, parse_x_date, scale_of, signature, x_date, VERSION,
};

/// The payment waits in doubt for a lookup.
fn unknown(doubt: Doubt) -> Step<State> {
    Step::Unknown {
        state: State::InDoubt(doubt),
    }
}

/// The abandoned payment waits, `unknown`, for its cancel to be sent (again).
fn cancelling(abandoned: Abandoned) -> Step<State> {
    Step::Unknown {
        state: State::Cancelling(abandoned),
    }
}

/// The dLocal adapter: configuration only, no cache.
#[derive(Debug, Clone)]
pub struct DlocalAdapter {
    config: Config,
}

impl DlocalAdapter {
    pub fn new(config: Config) -> DlocalAdapter {
        DlocalAdapter { config }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A request signed as dLocal asks: `X-Date` from the host's clock, the credentials,
    /// and the HMAC over `X-Login + X-Date + body` (empty for GET).
    fn signed(&self, request: HttpRequest, cx: &Context) -> HttpRequest {
        let date = x_date(cx.now_ms);
        let body = request.body.as_deref().unwrap_or_default();
        let signature = signature(
            &self.config.secret_key,
            &self.config.x_login,
            &date,
            body.as_bytes(),
        );
        let request = if request.body.is_none() {
            request.header("Content-Type", "application/json")
        } else {
            request
        };
        request
            .header("X-Date", date)
            .header("X-Login", self.config.x_login.clone())
            .header("X-Trans-Key", self.config.x_trans_key.expose())
            .header("X-Version", VERSION)
            .header(
                "Authorization",
                format!("{}{signature}", wire::SCHEME_PREFIX),
            )
    }

    /// `GET /payments/{id}`: reads only, so the host may resend it.
    fn retrieve(
        &self,
        order: Order,
        payment_id: String,
        redirect_url: Option<String>,
        cx: &Context,
    ) -> Step<State> {
        let url = self.config.url(&format!("/payments/{payment_id}"));
        let request = self.signed(HttpRequest::get(url, "dlocal.retrieve"), cx);
        Step::Call {
            state: State::Confirming {
                order,
                payment_id,
                redirect_url,
            },
            request,
        }
    }

    fn notification_url(&self, cx: &Context) -> String {
        self.config.notification_url.clone().unwrap_or_else(|| {
            format!("{}/v1/webhooks/dlocal", cx.public_url.trim_end_matches('/'))
        })
    }

    /// The step `state` is waiting on, for an event that changes nothing (an answer with
    /// no call outstanding, a Method completion dLocal never asks for). `Creating` waits
    /// on its create answer and never sent the browser anywhere; hosts refuse browser
    /// events for it (the session is not awaiting the browser), so this answer is never
    /// acted on.
    fn unchanged(&self, state: State, cx: &Context) -> Step<State> {
        match state {
            State::Authenticating { .. } => {
                let action = redirect(state.redirect_url().unwrap_or_default());
                Step::Browser { state, action }
            }
            State::Confirming {
                order,
                payment_id,
                redirect_url,
            } => self.retrieve(order, payment_id, redirect_url, cx),
            State::InDoubt(doubt) => unknown(doubt),
            State::Cancelling(abandoned) | State::ReadingAfterCancel(abandoned) => {
                cancelling(abandoned)
            }
            State::Creating { .. } => Step::Done(answer::bad_response(
                "a browser return arrived before the payment was created",
            )),
        }
    }

    /// The create's answer: dLocal's refusal ends the payment (nothing was created); a
    /// payment object of this order goes on by its status; anything else (no answer, a
    /// 5xx, an answer that is not this order's payment) leaves it in doubt.
    fn created(
        &self,
        order: Order,
        response: Result<HttpResponse, TransportFailure>,
    ) -> Step<State> {
        let doubt = Doubt {
            order,
            payment_id: None,
            redirect_url: None,
        };
        match Answer::of(response, error_of) {
            Answer::Refused { error, .. } => Step::Done(answer::rejected(&error)),
            Answer::Found(found) => match payment_in(&found, &doubt.order, None) {
                Some(payment) => self.decide(doubt.order, payment, None),
                None => unknown(doubt),
            },
            Answer::Lost(_) => unknown(doubt),
        }
    }

    /// A read of a payment dLocal may have charged: only a payment object of this order
    /// and payment is an answer; anything else (no answer, a refusal, an unreadable or
    /// foreign answer) leaves the payment in doubt.
    fn confirmed(
        &self,
        doubt: Doubt,
        response: Result<HttpResponse, TransportFailure>,
    ) -> Step<State> {
        match payment_answered(response, &doubt.order, doubt.payment_id.as_deref()) {
            Some(payment) => self.decide(doubt.order, payment, doubt.redirect_url),
            None => unknown(doubt),
        }
    }

    /// A payment object's status → the next step: a final status ends the payment;
    /// `PENDING` sends the browser to dLocal's page (`redirect_fallback`: the one it was
    /// sent to before). A pending payment without a page, or a status this adapter does
    /// not know, is dLocal's undecided word: the payment waits in doubt.
    fn decide(
        &self,
        order: Order,
        payment: PaymentObject,
        redirect_fallback: Option<String>,
    ) -> Step<State> {
        if let Some(verdict) = final_verdict(&payment) {
            return Step::Done(outcome(&order, &payment, verdict));
        }
        let page = (payment.status == "PENDING")
            .then(|| pending_page(&payment).or(redirect_fallback.clone()))
            .flatten();
        match page.as_deref().map(|url| self.redirect_target(url)) {
            Some(Some(url)) => Step::Browser {
                action: redirect(&url),
                state: State::Authenticating {
                    order,
                    payment_id: payment.id,
                    redirect_url: url,
                },
            },
            // The payer was never sent to dLocal's page, and is not sent to this one: no
            // page can charge, so the payment ends.
            Some(None) if redirect_fallback.is_none() => Step::Done(answer::bad_response(
                "the redirect_url is neither https nor the API's origin",
            )),
            // No page yet (dLocal's plain PENDING 100), an unknown status, or a payer who
            // may still be on the page it was sent to before: dLocal has not decided.
            _ => unknown(Doubt {
                order,
                payment_id: Some(payment.id),
                redirect_url: redirect_fallback,
            }),
        }
    }

    /// Where the browser may be sent for dLocal's `redirect_url`: an https page, or a page
    /// of the configured API's own origin (the sandbox's, on plain http). dLocal's own 3DS
    /// examples (seed 001) give `http://api.dlocal.com/three-ds/…`: a plain-http page of the
    /// https API's host is taken as that host's https page, so the payer is not sent to
    /// dLocal's page over plain http. `None`: nowhere.
    fn redirect_target(&self, url: &str) -> Option<String> {
        let origin = self.config.api_origin();
        let on_origin = |origin: &str| {
            url.len() > origin.len()
                && url.starts_with(origin)
                && url[origin.len()..].starts_with('/')
        };
        if url.starts_with("https://") || on_origin(origin) {
            return Some(url.to_owned());
        }
        let host = origin.strip_prefix("https://")?;
        on_origin(&["http://", host].concat())
            .then(|| ["https://", &url["http://".len()..]].concat())
    }
}

impl Adapter for DlocalAdapter {
    /// What Dlocal's API carries at create (`exemption.rs`).
    fn limits(&self) -> crate::provider::CreateLimits {
        crate::provider::CreateLimits {
            max_amount_minor: Some(wire::MAX_AMOUNT_MINOR),
            exemptions: exemption::SUPPORTED,
            challenge_preference: exemption::CHALLENGE_PREFERENCE,
            max_order_id_chars: None,
            // dLocal's 3-D Secure page is a full-page redirect.
            full_page_steps: true,
        }
    }

    fn operation(
        &self,
        op: &crate::provider::lifecycle::Operation,
        cx: &Context,
    ) -> Result<crate::provider::lifecycle::OperationStep, crate::provider::lifecycle::OperationError>
    {
        self.start_operation(op, cx)
    }

    fn on_operation_response(
        &self,
        op: &crate::provider::lifecycle::Operation,
        call: crate::provider::lifecycle::OperationCall,
        response: crate::provider::lifecycle::OperationAnswer,
        _cx: &Context,
    ) -> crate::provider::lifecycle::OperationStep {
        self.operation_answered(op, call, response)
    }

    fn operation_lookup(
        &self,
        op: &crate::provider::lifecycle::Operation,
        cx: &Context,
    ) -> crate::provider::lifecycle::OperationStep {
        self.look_up_operation(op, cx)
    }

    /// The card facts of the provider's answer, for a token payment.
    fn card_of(&self, response: &HttpResponse) -> Option<crate::payment::CardSummary> {
        crate::provider::card_facts::dlocal(response)
    }

    type State = State;

    /// Looks the payment up by what is known of it: dLocal's payment id, else the order id
    /// the create carried. A payment abandoned on dLocal's page is cancelled instead.
    fn reconcile(&self, state: State, cx: &Context) -> Step<State> {
        match state.recovery() {
            Recovery::LookUp(doubt) => self.look_up(doubt, cx),
            Recovery::Cancel(abandoned) => self.cancel(abandoned, cx),
        }
    }

    /// The payer may still be on dLocal's page, and dLocal charges when they finish it,
    /// with no call from the backend: the payment is not ended but put in doubt, to be
    /// cancelled at dLocal ([`State::Cancelling`]; the host's rules allow no call from
    /// an expired session awaiting the browser, so the cancel is its first lookup).
    fn on_expiry(&self, state: State, _cx: &Context) -> Step<State> {
        match state {
            State::Authenticating {
                order, payment_id, ..
            } => cancelling(Abandoned {
                order,
                payment_id,
                cancelled_by: None,
            }),
            state => match state.recovery() {
                Recovery::LookUp(doubt) => unknown(doubt),
                Recovery::Cancel(abandoned) => cancelling(abandoned),
            },
        }
    }

    fn on_cancel(&self, state: State, by: crate::payment::Canceller, cx: &Context) -> Step<State> {
        self.cancel_on_request(state, by, cx)
    }

    /// The payer's country, which dLocal requires.
    fn refuses_terms(
        &self,
        _currency: &crate::order::Currency,
        payer: &crate::payment::Payer,
        _external: Option<&crate::payment::ExternalAuthentication>,
    ) -> Option<crate::provider::RefusedTerm> {
        payer_country(payer).err()
    }

    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<State> {
        self.create(payment, cx)
    }

    fn on_response(
        &self,
        state: State,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match state {
            State::Creating { order } => self.created(order, response),
            State::Confirming {
                order,
                payment_id,
                redirect_url,
            } => self.confirmed(
                Doubt {
                    order,
                    payment_id: Some(payment_id),
                    redirect_url,
                },
                response,
            ),
            State::InDoubt(doubt) if doubt.payment_id.is_none() => {
                self.order_looked_up(doubt, response, cx)
            }
            State::InDoubt(doubt) => self.payment_looked_up(doubt, response),
            State::Cancelling(abandoned) => self.cancel_answered(abandoned, response, cx),
            State::ReadingAfterCancel(abandoned) => {
                self.read_answered_after_cancel(abandoned, response)
            }
            // No call was outstanding: nothing to read.
            state @ State::Authenticating { .. } => self.unchanged(state, cx),
        }
    }

    fn verify_browser_return(
        &self,
        state: &State,
        ret: &BrowserReturn,
        _cx: &Context,
    ) -> Result<(), ReturnRefused> {
        check_callback(&self.config, state, ret)
            .map(drop)
            .map_err(|error| error.refused())
    }

    fn on_browser_return(
        &self,
        state: State,
        ret: &BrowserReturn,
        cx: &Context,
    ) -> Result<Step<State>, ReturnRefused> {
        let payment_id = check_callback(&self.config, &state, ret).map_err(|e| e.refused())?;
        let redirect_url = state.redirect_url().map(str::to_owned);
        Ok(self.retrieve(state.order().clone(), payment_id, redirect_url, cx))
    }

    fn on_method_completed(
        &self,
        state: State,
        _completion: ThreeDsCompInd,
        cx: &Context,
    ) -> Step<State> {
        // dLocal's page runs the 3DS Method itself; the backend never asks for one.
        self.unchanged(state, cx)
    }

    /// dLocal's webhook: fresh (`X-Date` within [`NOTIFICATION_WINDOW_MS`]), signed for
    /// this merchant; the order comes from the body.
    fn order_of_notification(
        &self,
        notification: &Notification,
        now_ms: u64,
    ) -> Result<Option<String>, ReturnRefused> {
        if !notification_is_fresh(notification, now_ms) {
            return Err(ReturnRefused {
                code: "stale_notification",
                message: "the notification's X-Date is missing or more than 10 minutes from now",
            });
        }
        verify_notification(&self.config, notification)
            .map(|hint| hint.order_id)
            .map_err(|error| match error {
                // Checked after the signature: dLocal sent it, and it is no payment object.
                DlocalError::MalformedBody => ReturnRefused {
                    code: crate::provider::MALFORMED_NOTIFICATION,
                    message:
                        "the notification is signed, but its body is not a dLocal payment object",
                },
                _ => ReturnRefused {
                    code: "bad_signature",
                    message: "the notification is not signed by dLocal for this merchant",
                },
            })
    }

    fn on_notification(
        &self,
        state: State,
        notification: &Notification,
        cx: &Context,
    ) -> Option<Step<State>> {
        let hint = verify_notification(&self.config, notification).ok()?;
        let ours = match state.payment_id() {
            Some(id) => hint.payment_id == id,
            None => hint.order_id.as_deref() == Some(state.order().order_id.as_str()),
        };
        if !ours
            || hint
                .order_id
                .as_deref()
                .is_some_and(|id| id != state.order().order_id)
        {
            return None;
        }
        // A pending payment is no news; a final one is confirmed by reading it, a payment
        // in doubt (its create's answer lost) is looked up by the id the notification
        // names, and an abandoned one is read as after a refused cancel.
        if hint.status == "PENDING" {
            return None;
        }
        Some(match state {
            State::Cancelling(abandoned) | State::ReadingAfterCancel(abandoned) => {
                self.read_after_cancel(abandoned, cx)
            }
            State::InDoubt(doubt) => self.look_up(
                Doubt {
                    payment_id: Some(hint.payment_id),
                    ..doubt
                },
                cx,
            ),
            state => {
                let redirect_url = state.redirect_url().map(str::to_owned);
                self.retrieve(state.order().clone(), hint.payment_id, redirect_url, cx)
            }
        })
    }
}

/// The payment object in a 2xx answer, if it is this order's (and `payment_id`'s).
fn payment_in(
    found: &HttpResponse,
    order: &Order,
    payment_id: Option<&str>,
) -> Option<PaymentObject> {
    let payment = crate::json_path::from_text::<PaymentObject>(&found.body).ok()?;
    is_about(&payment, order, payment_id).then_some(payment)
}

/// The payment object a read of it answered, if it is this order's (and `payment_id`'s):
/// none for no answer, a refusal, or an unreadable or foreign answer.
fn payment_answered(
    response: Result<HttpResponse, TransportFailure>,
    order: &Order,
    payment_id: Option<&str>,
) -> Option<PaymentObject> {
    match Answer::of(response, error_of) {
        Answer::Found(found) => payment_in(&found, order, payment_id),
        Answer::Refused { .. } | Answer::Lost(_) => None,
    }
}

/// dLocal's 3-D Secure page for a pending payment.
fn pending_page(payment: &PaymentObject) -> Option<String> {
    payment.three_dsecure.as_ref()?.redirect_url.clone()
}

/// dLocal's page is a full-page GET, whatever the display mode.
fn redirect(url: &str) -> BrowserAction {
    BrowserAction::Redirect {
        form: FormPost {
            action: url.to_owned(),
            method: FormMethod::Get,
            fields: Vec::new(),
        },
    }
}
