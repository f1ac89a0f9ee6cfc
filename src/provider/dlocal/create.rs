//! dLocal's create: one signed `POST /secure_payments` (card details) or `POST /payments`
//! (a Smart Fields token) carrying the card, the payer, the order and the 3-D Secure wish,
//! with an `X-Idempotency-Key` so the host may resend it. Everything is checked before the
//! request is built; the card goes out in this request and only its [`CardSummary`] is
//! kept.

use super::state::{Amount, ExternalOutcome, Order, State};
use super::wire::{self, mpi_body, CardBody, CreateBody, PayerBody, ThreeDsBody};
use super::DlocalAdapter;
use crate::payment::{
    CaptureMode, CardSummary, ChallengePreference, PaymentMethod, PaymentResult, PaymentStart,
    PaymentStatus, ResultCode,
};
use crate::provider::{answer, Context, HttpRequest, Step};

impl DlocalAdapter {
    /// The create request of `payment`, or the result that ends it before any call.
    pub(super) fn create(&self, payment: &PaymentStart, cx: &Context) -> Step<State> {
        let country = match payer_country(&payment.payer) {
            Ok(country) => country,
            Err(refused) => return Step::Done(refused.rejected()),
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
            amount: Some(Amount {
                minor: payment.amount,
                currency: payment.currency,
            }),
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
        // dLocal's card object: a payment with card data goes to `/secure_payments`, one
        // with a Smart Fields `card.token` to `/payments`.
        let path = match payment.method {
            PaymentMethod::Card(_) => "/secure_payments",
            PaymentMethod::Token { .. } => "/payments",
        };
        let request = HttpRequest::post_json(self.config.url(path), body, "dlocal.secure_payment")
            .header("X-Idempotency-Key", cx.idempotency_key("secure-payment"))
            .retry_safe();
        Step::Call {
            state: State::Creating { order },
            request: self.signed(request, cx),
        }
    }

    fn create_body(
        &self,
        payment: &PaymentStart,
        country: &str,
        cx: &Context,
    ) -> Result<String, PaymentResult> {
        // `card.capture: false` authorizes only (`AUTHORIZED` 600), for a later capture.
        let capture = payment.capture_mode == CaptureMode::Automatic;
        let card = match &payment.method {
            PaymentMethod::Card(card) => CardBody::Details {
                holder_name: &card.holder_name,
                number: card.number.expose(),
                cvv: card.cvv.expose(),
                expiration_month: card.expiry_month,
                expiration_year: card.expiry_year,
                capture,
            },
            PaymentMethod::Token { token, .. } => CardBody::Token { token, capture },
        };
        let holder = match &payment.method {
            PaymentMethod::Card(card) => Some(card.holder_name.as_str()),
            PaymentMethod::Token { .. } => None,
        };
        let Some(name) = payment.payer.name.as_deref().or(holder) else {
            return Err(answer::rejected_here(
                "payer.name",
                "dLocal needs the payer's name",
            ));
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
            .map_err(|_| answer::rejected_here("body", "the request cannot be written"))
    }
}

/// The payer's country as dLocal takes it (ISO 3166-1 alpha-2, upper case, ASCII blanks
/// around it dropped); dLocal needs one.
pub(super) fn payer_country(
    payer: &crate::payment::Payer,
) -> Result<String, crate::provider::RefusedTerm> {
    payer
        .country
        .as_deref()
        .map(|c| c.trim_matches(|c: char| c.is_ascii_whitespace()))
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| crate::provider::RefusedTerm {
            code: "invalid_payer",
            parameter: "payer.country",
            message: "dLocal needs the payer's country (ISO 3166-1 alpha-2)".into(),
        })
}
