//! The dLocal adapter: one signed `POST /secure_payments` carries the card, the payer
//! and the 3-D Secure wish; dLocal runs 3-D Secure itself. A frictionless answer
//! finishes at once; `PENDING` 101 sends the whole page to dLocal's `redirect_url`; the
//! browser comes back to `callback_url` with a signed form, and dLocal also notifies
//! `notification_url`. Neither the callback's `status` nor a notification's body is
//! trusted: both only make the adapter re-read the payment (`GET /payments/{id}`), and
//! that answer decides.
//!
//! Owns dLocal's whole wire protocol (`wire`), the state between steps and the mapping
//! to [`PaymentResult`]. Must not do IO, read a clock or keep the card: the card goes
//! out in the one create request and nothing of it but a [`CardSummary`] is kept.
//! docs/backend/dlocal.md describes the flow and the choices.

mod result;
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

use result::{bad_response, error_result, outcome, refused_before_call, Verdict};
pub use wire::{callback_message, parse_x_date, signature, x_date, VERSION};

/// How far a notification's `X-Date` may be from this backend's clock. dLocal signs each
/// delivery (its retries too) with the time it sends it, so an older one is a replay of
/// a captured notification; the margin covers clock skew and a slow network.
pub const NOTIFICATION_WINDOW_MS: u64 = 10 * 60 * 1000;

/// Whether `notification` was sent within [`NOTIFICATION_WINDOW_MS`] of `now_ms` (by its
/// `X-Date`; checked before its signature, which covers the date).
pub fn notification_is_fresh(notification: &Notification, now_ms: u64) -> bool {
    notification
        .header("X-Date")
        .and_then(parse_x_date)
        .is_some_and(|sent| sent.abs_diff(now_ms) <= NOTIFICATION_WINDOW_MS)
}
use wire::{mpi_body, CardBody, CreateBody, ErrorBody, PayerBody, PaymentObject, ThreeDsBody};

/// dLocal's production API.
pub const PRODUCTION_URL: &str = "https://api.dlocal.com";

/// How to reach one dLocal merchant account. `Debug` hides the credentials.
#[derive(Clone, Deserialize)]
pub struct Config {
    #[serde(default = "production_url")]
    pub base_url: String,
    pub x_login: String,
    pub x_trans_key: String,
    pub secret_key: String,
    /// The backend's webhook for dLocal's notifications; `None`:
    /// `{public_url}/v1/webhooks/dlocal`.
    #[serde(default)]
    pub notification_url: Option<String>,
    /// `card.capture`: true charges at once (`PAID`), false authorizes only (`AUTHORIZED`).
    #[serde(default = "default_capture")]
    pub capture: bool,
}

fn production_url() -> String {
    PRODUCTION_URL.to_owned()
}

fn default_capture() -> bool {
    true
}

impl Config {
    /// The sandbox's dLocal at `sandbox_url` (the sandbox root, e.g.
    /// `http://127.0.0.1:8081`), with the contract's sandbox credentials.
    pub fn sandbox(sandbox_url: &str) -> Config {
        Config {
            base_url: format!("{}/dlocal", sandbox_url.trim_end_matches('/')),
            x_login: "sak223k2wdksdl2".into(),
            x_trans_key: "fm12O7G9".into(),
            secret_key: "sandbox-dlocal-secret".into(),
            notification_url: None,
            capture: true,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    /// `scheme://host[:port]` of the API, the one non-https origin a `redirect_url`
    /// may have (the sandbox's).
    fn api_origin(&self) -> &str {
        let after_scheme = self.base_url.find("://").map_or(0, |i| i + 3);
        match self.base_url[after_scheme..].find('/') {
            Some(slash) => &self.base_url[..after_scheme + slash],
            None => &self.base_url,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("notification_url", &self.notification_url)
            .field("capture", &self.capture)
            .finish_non_exhaustive()
    }
}

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

/// Why a callback or notification was refused. `code()` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DlocalError {
    #[error("the notification lacks the {0} header (or repeats it)")]
    MissingHeader(&'static str),
    #[error("the notification is for another dLocal merchant (X-Login)")]
    WrongLogin,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the notification body is not a dLocal payment object")]
    MalformedBody,
    #[error("the callback lacks {0} (or repeats it)")]
    MalformedCallback(&'static str),
    #[error("the callback names another payment than this session's")]
    ForeignPayment,
    #[error("this session is not waiting for the browser")]
    NotAwaitingBrowser,
}

impl DlocalError {
    pub fn code(&self) -> &'static str {
        match self {
            DlocalError::MissingHeader(_) => "notification_header_missing",
            DlocalError::WrongLogin => "wrong_login",
            DlocalError::BadSignature => "bad_signature",
            DlocalError::MalformedBody => "malformed_notification",
            DlocalError::MalformedCallback(_) => "malformed_callback",
            DlocalError::ForeignPayment => "foreign_payment",
            DlocalError::NotAwaitingBrowser => "not_awaiting_browser",
        }
    }

    fn message(&self) -> &'static str {
        match self {
            DlocalError::MissingHeader(_) => "The notification is not signed.",
            DlocalError::WrongLogin => "The notification is for another merchant.",
            DlocalError::BadSignature => "The signature does not match.",
            DlocalError::MalformedBody => "The notification body cannot be read.",
            DlocalError::MalformedCallback(_) => "The return from dLocal is incomplete.",
            DlocalError::ForeignPayment => "The return names another payment.",
            DlocalError::NotAwaitingBrowser => "This payment is not waiting for a return.",
        }
    }
}

/// What a verified notification says, enough for the host to find the session (by
/// order id) before it loads it. A hint only: the adapter re-reads the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationHint {
    pub payment_id: String,
    pub order_id: Option<String>,
    pub status: String,
}

/// Checks a notification's signature (`Authorization` over `X-Login + X-Date + body`,
/// constant time) and login, and reads the payment id and order id from its body.
pub fn verify_notification(
    config: &Config,
    notification: &Notification,
) -> Result<NotificationHint, DlocalError> {
    let header = |name: &'static str| {
        notification
            .header(name)
            .ok_or(DlocalError::MissingHeader(name))
    };
    let date = header("X-Date")?;
    let login = header("X-Login")?;
    let authorization = header("Authorization")?;
    if login != config.x_login {
        return Err(DlocalError::WrongLogin);
    }
    let claimed = authorization
        .strip_prefix(wire::SCHEME_PREFIX)
        .ok_or(DlocalError::BadSignature)?;
    let parts: [&[u8]; 3] = [
        login.as_bytes(),
        date.as_bytes(),
        notification.body.as_bytes(),
    ];
    if !wire::verify(&config.secret_key, &parts, claimed) {
        return Err(DlocalError::BadSignature);
    }
    // Only what the webhook needs: the payment is read from dLocal's API afterwards, so
    // the rest of the object (three_dsecure, card, …) is neither read nor judged here.
    #[derive(serde::Deserialize)]
    struct Announced {
        id: String,
        status: String,
        #[serde(default)]
        order_id: Option<String>,
    }
    // An object only (serde would read the struct from an array too); the members it does
    // not read are skipped unparsed, whatever they hold (a number past f64, say).
    let body = notification.body.trim_start();
    let payment: Announced = (body.starts_with('{'))
        .then(|| serde_json::from_str(body).ok())
        .flatten()
        .ok_or(DlocalError::MalformedBody)?;
    Ok(NotificationHint {
        payment_id: payment.id,
        order_id: payment.order_id,
        status: payment.status,
    })
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
            .header("X-Trans-Key", self.config.x_trans_key.clone())
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

    /// The callback form: signed by dLocal and naming this session's payment. Its
    /// `status` is not used.
    fn check_callback(&self, state: &State, ret: &BrowserReturn) -> Result<String, DlocalError> {
        let (State::Authenticating { payment_id, .. } | State::Confirming { payment_id, .. }) =
            state
        else {
            return Err(DlocalError::NotAwaitingBrowser);
        };
        let field =
            |name: &'static str| ret.single(name).ok_or(DlocalError::MalformedCallback(name));
        let claimed_id = field("paymentId")?;
        let status = field("status")?;
        let date = field("date")?;
        let claimed_signature = field("signature")?;
        let message = callback_message(status, claimed_id);
        let parts: [&[u8]; 3] = [
            self.config.x_login.as_bytes(),
            date.as_bytes(),
            message.as_bytes(),
        ];
        if !wire::verify(&self.config.secret_key, &parts, claimed_signature) {
            return Err(DlocalError::BadSignature);
        }
        if claimed_id != payment_id {
            return Err(DlocalError::ForeignPayment);
        }
        Ok(payment_id.clone())
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
        let response = match response {
            Ok(response) => response,
            Err(TransportFailure::Timeout) => {
                return Step::Done(error_result(
                    PaymentStatus::Error,
                    ResultCode::ProviderTimeout,
                    None,
                    None,
                ))
            }
            Err(TransportFailure::Connection(_)) => {
                return Step::Done(error_result(
                    PaymentStatus::Error,
                    ResultCode::ProviderUnavailable,
                    None,
                    None,
                ))
            }
        };
        let refusal = serde_json::from_str::<ErrorBody>(&response.body).ok();
        if response.status >= 500 {
            let (code, message) = refusal.map_or((None, None), |e| (Some(e.code), e.message));
            return Step::Done(error_result(
                PaymentStatus::Error,
                ResultCode::ProviderUnavailable,
                code,
                message,
            ));
        }
        if !response.is_success() {
            return Step::Done(match refusal {
                Some(error) => error_result(
                    PaymentStatus::Failed,
                    ResultCode::ProviderRejected,
                    Some(error.code),
                    Some(match error.param {
                        Some(param) => format!("{} ({param})", error.message.unwrap_or_default()),
                        None => error.message.unwrap_or_default(),
                    }),
                ),
                None => error_result(
                    PaymentStatus::Error,
                    ResultCode::ProviderBadResponse,
                    Some(format!("HTTP {}", response.status)),
                    None,
                ),
            });
        }
        let Ok(payment) = serde_json::from_str::<PaymentObject>(&response.body) else {
            return Step::Done(bad_response("the answer is not a payment object"));
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
        self.check_callback(state, ret)
            .map(|_| ())
            .map_err(|error| ReturnRefused {
                code: error.code(),
                message: error.message(),
            })
    }

    fn on_browser_return(&self, state: State, ret: &BrowserReturn, cx: &Context) -> Step<State> {
        match self.check_callback(&state, ret) {
            Ok(payment_id) => {
                let redirect_url = state.redirect_url().map(str::to_owned);
                self.retrieve(state.order().clone(), payment_id, redirect_url, cx)
            }
            Err(_) => self.unchanged(state, cx),
        }
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
