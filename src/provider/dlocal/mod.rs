//! The dLocal adapter: one signed `POST /secure_payments` carries the card, the payer
//! and the 3-D Secure wish; dLocal runs 3-D Secure itself. A frictionless answer
//! finishes at once; `PENDING` 101 sends the whole page to dLocal's `redirect_url`; the
//! browser comes back to `callback_url` with a signed form, and dLocal also notifies
//! `notification_url`. Neither the callback's `status` nor a notification's body is
//! trusted: both only make the adapter re-read the payment (`GET /payments/{id}`), and
//! that answer decides.
//!
//! This module owns the flow and the state between steps; `config` the configuration,
//! `wire` dLocal's wire protocol (signatures, `X-Date`, the JSON shapes), `outcome` what
//! answers mean for the [`PaymentResult`], `returns` the callback and notification checks
//! and the adapter's one error type ([`DlocalError`]). Must not do IO, read a clock or
//! keep the card: the card goes out in the one create request and nothing of it but a
//! [`CardSummary`] is kept. docs/backend/dlocal.md describes the flow and the choices.

mod config;
mod outcome;
mod returns;
mod wire;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use super::{
    Adapter, BrowserReturn, Context, HttpRequest, HttpResponse, Notification, ReturnRefused, Step,
    TransportFailure,
};
use crate::emv::{FormMethod, FormPost, ThreeDsCompInd, TransStatus};
use crate::payment::{
    BrowserAction, CardSummary, ChallengePreference, PaymentMethod, PaymentResult, PaymentStart,
    PaymentStatus, ResultCode,
};

pub use config::{Config, PRODUCTION_URL};
use outcome::{bad_response, classify, error_result, outcome, refused_before_call, Verdict};
use returns::check_callback;
pub use returns::{
    notification_is_fresh, verify_notification, DlocalError, NotificationHint,
    NOTIFICATION_WINDOW_MS,
};
pub use wire::{callback_message, parse_x_date, signature, x_date, VERSION};
use wire::{mpi_body, CardBody, CreateBody, PayerBody, PaymentObject, ThreeDsBody};

/// What the session keeps of the order between steps: no card number, no credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub card: Option<CardSummary>,
    /// The merchant's own authentication (MPI), when it brought one.
    pub external: Option<ExternalOutcome>,
}

/// The part of a merchant's own authentication the result reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalOutcome {
    pub version: String,
    pub trans_status: TransStatus,
}

/// Where a dLocal payment is, as this backend knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl State {
    fn order(&self) -> &Order {
        match self {
            State::Creating { order }
            | State::Authenticating { order, .. }
            | State::Confirming { order, .. } => order,
        }
    }

    fn payment_id(&self) -> Option<&str> {
        match self {
            State::Creating { .. } => None,
            State::Authenticating { payment_id, .. } | State::Confirming { payment_id, .. } => {
                Some(payment_id)
            }
        }
    }

    fn redirect_url(&self) -> Option<&str> {
        match self {
            State::Creating { .. } => None,
            State::Authenticating { redirect_url, .. } => Some(redirect_url),
            State::Confirming { redirect_url, .. } => redirect_url.as_deref(),
        }
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

    /// What a refused browser return leaves behind: the step the state is waiting on.
    /// `Creating` waits on its create answer and never sent the browser anywhere;
    /// hosts refuse returns for it through [`Adapter::verify_browser_return`] (the
    /// session is not awaiting the browser), so this answer is never acted on.
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
            State::Creating { .. } => Step::Done(error_result(
                PaymentStatus::Error,
                ResultCode::ProviderBadResponse,
                None,
                Some("a browser return arrived before the payment was created".into()),
            )),
        }
    }

    fn create_body(
        &self,
        payment: &PaymentStart,
        country: &str,
        cx: &Context,
    ) -> Result<String, PaymentResult> {
        let capture = self.config.capture;
        let card = match &payment.method {
            PaymentMethod::Card(card) => CardBody::Details {
                holder_name: &card.holder_name,
                number: card.number.expose(),
                cvv: card.cvv.expose(),
                expiration_month: card.expiry_month,
                expiration_year: card.expiry_year,
                capture,
            },
            PaymentMethod::Token { token } => CardBody::Token { token, capture },
        };
        let holder = match &payment.method {
            PaymentMethod::Card(card) => Some(card.holder_name.as_str()),
            PaymentMethod::Token { .. } => None,
        };
        let Some(name) = payment.payer.name.as_deref().or(holder) else {
            return Err(refused_before_call("dLocal needs the payer's name"));
        };
        let three_dsecure = match &payment.external_authentication {
            Some(external) => Some(mpi_body(external)),
            None => match payment.challenge {
                ChallengePreference::Mandated | ChallengePreference::Requested => {
                    Some(ThreeDsBody::Force { force: true })
                }
                ChallengePreference::NoPreference => None,
            },
        };
        let body = CreateBody {
            amount: wire::major_amount(payment.amount, &payment.currency),
            currency: &payment.currency,
            country,
            payment_method_id: "CARD",
            payment_method_flow: "DIRECT",
            payer: PayerBody {
                name,
                email: payment.payer.email.as_deref(),
                document: payment.payer.document.as_deref(),
                ip: payment.browser.ip().map(|ip| ip.to_string()),
            },
            card,
            order_id: &payment.order_id,
            description: payment.description.as_deref(),
            notification_url: self.notification_url(cx),
            callback_url: cx.return_url(),
            three_dsecure,
        };
        serde_json::to_string(&body)
            .map_err(|_| refused_before_call("the request cannot be written"))
    }

    /// Reads a payment object (or dLocal's refusal) into the next step.
    fn read_payment(
        &self,
        order: Order,
        expected_id: Option<String>,
        redirect_fallback: Option<String>,
        response: Result<HttpResponse, TransportFailure>,
    ) -> Step<State> {
        let payment = match classify(response) {
            Ok(payment) => payment,
            Err(result) => return Step::Done(result),
        };
        if expected_id.as_deref().is_some_and(|id| id != payment.id)
            || payment
                .order_id
                .as_deref()
                .is_some_and(|id| id != order.order_id)
        {
            return Step::Done(bad_response("the answer is about another payment"));
        }
        self.decide(order, payment, redirect_fallback)
    }

    /// A payment object's status → the next step.
    fn decide(
        &self,
        order: Order,
        payment: PaymentObject,
        redirect_fallback: Option<String>,
    ) -> Step<State> {
        match payment.status.as_str() {
            "PAID" | "AUTHORIZED" => Step::Done(outcome(&order, &payment, Verdict::Authorized)),
            "REJECTED" => {
                let verdict = match payment.status_code.as_deref() {
                    Some("320") => Verdict::NotAuthenticated(TransStatus::N),
                    Some("311") => Verdict::NotAuthenticated(TransStatus::R),
                    _ => Verdict::Declined,
                };
                Step::Done(outcome(&order, &payment, verdict))
            }
            "PENDING" => {
                let url = payment
                    .three_dsecure
                    .as_ref()
                    .and_then(|t| t.redirect_url.clone())
                    .or(redirect_fallback);
                match url {
                    Some(url) if self.acceptable_redirect(&url) => Step::Browser {
                        action: redirect(&url),
                        state: State::Authenticating {
                            order,
                            payment_id: payment.id,
                            redirect_url: url,
                        },
                    },
                    Some(_) => Step::Done(bad_response(
                        "the redirect_url is neither https nor the API's origin",
                    )),
                    None => Step::Done(bad_response("a pending payment without a redirect_url")),
                }
            }
            "CANCELLED" | "EXPIRED" => Step::Done(outcome(&order, &payment, Verdict::Ended)),
            _ => Step::Done(bad_response("an unknown payment status")),
        }
    }

    /// The browser may only be sent to an https page, or to the configured API's own
    /// origin (the sandbox's, on plain http).
    fn acceptable_redirect(&self, url: &str) -> bool {
        let origin = self.config.api_origin();
        url.starts_with("https://")
            || (url.len() > origin.len()
                && url.starts_with(origin)
                && url[origin.len()..].starts_with('/'))
    }
}

impl Adapter for DlocalAdapter {
    type State = State;

    fn reconcile(&self, state: State, _cx: &Context) -> Step<State> {
        // Lookup by merchant reference: not yet; the payment stays unknown.
        Step::Unknown { state }
    }

    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<State> {
        let Some(country) = payment
            .payer
            .country
            .as_deref()
            .map(str::trim)
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase)
        else {
            return Step::Done(refused_before_call(
                "dLocal needs the payer's country (ISO 3166-1 alpha-2)",
            ));
        };
        if let Some(external) = &payment.external_authentication {
            if !external.trans_status.permits_authorization() {
                return Step::Done(PaymentResult {
                    three_ds_version: Some(external.version.clone()),
                    trans_status: Some(external.trans_status),
                    eci: Some(external.eci),
                    ..PaymentResult::failed(PaymentStatus::Failed, ResultCode::AuthenticationFailed)
                });
            }
        }
        let body = match self.create_body(payment, &country, cx) {
            Ok(body) => body,
            Err(result) => return Step::Done(result),
        };
        let order = Order {
            order_id: payment.order_id.clone(),
            card: match &payment.method {
                PaymentMethod::Card(card) => Some(CardSummary::from(&card.number)),
                PaymentMethod::Token { .. } => None,
            },
            external: payment
                .external_authentication
                .as_ref()
                .map(|e| ExternalOutcome {
                    version: e.version.clone(),
                    trans_status: e.trans_status,
                }),
        };
        // dLocal returns the first payment for a repeated X-Idempotency-Key, so the host
        // may resend this create after a timeout or a dropped answer.
        let request = HttpRequest::post_json(
            self.config.url("/secure_payments"),
            body,
            "dlocal.secure_payment",
        )
        .header("X-Idempotency-Key", cx.idempotency_key("secure-payment"))
        .retry_safe();
        Step::Call {
            state: State::Creating { order },
            request: self.signed(request, cx),
        }
    }

    fn on_response(
        &self,
        state: State,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match state {
            State::Creating { order } => self.read_payment(order, None, None, response),
            // A read that got no answer is not a failed payment: dLocal may well have
            // charged. The payment goes back to its browser step, where a notification
            // (dLocal repeats it until it is answered 2xx) or the callback confirms it.
            State::Confirming {
                order,
                payment_id,
                redirect_url: Some(redirect_url),
            } if unanswered(&response) => self.unchanged(
                State::Authenticating {
                    order,
                    payment_id,
                    redirect_url,
                },
                cx,
            ),
            State::Confirming {
                order,
                payment_id,
                redirect_url,
            } => self.read_payment(order, Some(payment_id), redirect_url, response),
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
        // A pending payment is no news; a final one is confirmed by reading it.
        if hint.status == "PENDING" {
            return None;
        }
        let redirect_url = state.redirect_url().map(str::to_owned);
        Some(self.retrieve(state.order().clone(), hint.payment_id, redirect_url, cx))
    }
}

/// No answer from dLocal: a timeout, a lost connection or a 5xx.
fn unanswered(response: &Result<HttpResponse, TransportFailure>) -> bool {
    response.as_ref().is_ok_and(|r| r.status >= 500) || response.is_err()
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
