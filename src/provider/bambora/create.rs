//! Bambora's `POST /v1/payments`, checked first and then built: every refusal before a
//! call (currency, amount, order number, the merchant's own authentication, the token and
//! its cardholder name) comes from [`BamboraAdapter::create`]'s check, and the request is
//! built only from what passed. The card number and CVD go out in this request and are
//! kept nowhere: the order keeps a [`CardSummary`].

use super::answer::rejected_here;
use super::state::{Authentication, Order};
use super::wire::{self, Amount};
use super::{outcome, BamboraAdapter, MAX_ORDER_NUMBER_CHARS};
use crate::emv::browser::format_ip;
use crate::emv::TransStatus;
use crate::order::Currency;
use crate::payment::{
    CaptureMode, CardDetails, CardSummary, ExternalAuthentication, PaymentMethod, PaymentResult,
    PaymentStart, PaymentStatus, ResultCode,
};
use crate::provider::{Context, HttpRequest, RefusedTerm};

/// Bambora's `customer_ip` limit: a longer (IPv6) address is left out.
const MAX_CUSTOMER_IP_CHARS: usize = 30;
/// Bambora's `token.code` limit.
const MAX_TOKEN_CHARS: usize = 40;

/// `3d_secure` and `3d_secure_passthrough`, as the payment body carries them.
type ThreeDsBlocks<'a> = (
    Option<wire::ThreeDSecure<'a>>,
    Option<wire::Passthrough<'a>>,
);

/// A payment `create` has checked: what the request is built from.
struct Checked<'a> {
    amount: Amount,
    order_number: &'a str,
    authentication: Authentication,
    blocks: ThreeDsBlocks<'a>,
    means: Means<'a>,
}

/// How the page gave the card.
enum Means<'a> {
    Card(&'a CardDetails),
    /// A single-use token, with the cardholder's name Bambora requires for it.
    Token {
        code: &'a str,
        name: &'a str,
    },
}

impl<'a> Means<'a> {
    /// A token Bambora can take (1 to 40 printable characters) and the payer's name.
    fn token(token: &'a str, payment: &'a PaymentStart) -> Result<Means<'a>, PaymentResult> {
        if token.is_empty()
            || token.len() > MAX_TOKEN_CHARS
            || !token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(rejected_here(
                "token.code",
                "a Bambora single-use token is 1 to 40 printable characters",
            ));
        }
        // The spec's TokenPurchase.name is 4 to 64 characters.
        let Some(name) = payment
            .payer
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| (4..=64).contains(&n.chars().count()))
        else {
            return Err(rejected_here(
                "token.name",
                "a Bambora token payment needs the cardholder's name (payer.name), 4 to 64 characters",
            ));
        };
        Ok(Means::Token { code: token, name })
    }
}

impl BamboraAdapter {
    /// `POST /v1/payments` and the order it starts, or the result that ends the payment
    /// before any call: everything is checked first, then the request is built from
    /// what passed.
    pub(super) fn create(
        &self,
        payment: &PaymentStart,
        cx: &Context,
    ) -> Result<(Order, HttpRequest), PaymentResult> {
        let checked = self.check(payment)?;
        Ok(self.build(payment, checked, cx))
    }

    /// A currency this merchant account does not settle in (Bambora charges an account in
    /// its one currency).
    pub(super) fn refuses_currency(&self, currency: &Currency) -> Option<RefusedTerm> {
        (!currency.eq_ignore_ascii_case(&self.config.currency)).then(|| RefusedTerm {
            code: "invalid_currency",
            parameter: "currency",
            message: format!(
                "this Bambora merchant account settles in {} only; the payment is in {currency}",
                self.config.currency
            ),
        })
    }

    /// Every refusal before a call, in this order: currency, amount, order number, the
    /// merchant's own authentication, the token and its cardholder name.
    fn check<'a>(&self, payment: &'a PaymentStart) -> Result<Checked<'a>, PaymentResult> {
        if let Some(refused) = self.refuses_currency(&payment.currency) {
            return Err(refused.rejected());
        }
        let amount = Amount::new(payment.amount).ok_or_else(|| {
            rejected_here(
                "amount",
                "Bambora takes 0.01 to 99999999.99 in the account's currency",
            )
        })?;
        let order_number = payment.order_id.trim();
        if order_number.is_empty() || order_number.chars().count() > MAX_ORDER_NUMBER_CHARS {
            return Err(rejected_here(
                "order_number",
                "Bambora's order_number is 1 to 30 characters",
            ));
        }
        let (authentication, blocks) = match &payment.external_authentication {
            Some(external) => (
                Authentication::Merchant {
                    version: external.version.clone(),
                    trans_status: external.trans_status,
                    eci: external.eci,
                },
                merchant_authentication(external)?,
            ),
            None => self.bambora_authentication(payment),
        };
        let means = match &payment.method {
            PaymentMethod::Card(card) => Means::Card(card),
            PaymentMethod::Token { token, .. } => Means::token(token, payment)?,
        };
        Ok(Checked {
            amount,
            order_number,
            authentication,
            blocks,
            means,
        })
    }

    /// Bambora runs 3-D Secure. Version 2 needs every browser member Bambora requires;
    /// without them the account's default version is asked for (a 2.x card range then
    /// answers 400, which ends the payment as Bambora's refusal).
    fn bambora_authentication<'a>(
        &self,
        payment: &PaymentStart,
    ) -> (Authentication, ThreeDsBlocks<'a>) {
        let browser = payment.browser.to_bambora().ok();
        let version = browser.as_ref().map(|_| 2);
        let three_d_secure = wire::ThreeDSecure::Authenticate {
            enabled: true,
            version,
            auth_required: self.config.auth_required,
            browser,
        };
        (
            Authentication::Bambora { version },
            (Some(three_d_secure), None),
        )
    }

    /// The request and the order, from a checked payment: nothing here can fail.
    fn build(
        &self,
        payment: &PaymentStart,
        checked: Checked<'_>,
        cx: &Context,
    ) -> (Order, HttpRequest) {
        let Checked {
            amount,
            order_number,
            authentication,
            blocks: (three_d_secure, passthrough),
            means,
        } = checked;
        let term_url =
            matches!(authentication, Authentication::Bambora { .. }).then(|| cx.return_url());
        let customer_ip = payment
            .browser
            .ip()
            .map(format_ip)
            .filter(|ip| ip.len() <= MAX_CUSTOMER_IP_CHARS);
        let mut body = wire::PaymentRequest {
            order_number,
            amount: amount.json(),
            payment_method: "card",
            customer_ip,
            term_url: term_url.as_deref(),
            card: None,
            token: None,
        };
        // A manual capture is a pre-authorization (`PA`), completed later.
        let complete = payment.capture_mode == CaptureMode::Automatic;
        let card = match means {
            Means::Card(card) => {
                body.card = Some(wire::CardBody {
                    name: &card.holder_name,
                    number: card.number.expose(),
                    expiry_month: format!("{:02}", card.expiry_month),
                    expiry_year: format!("{:02}", card.expiry_year % 100),
                    cvd: card.cvv.expose(),
                    complete,
                    three_d_secure,
                    passthrough,
                });
                Some(CardSummary::from(&card.number))
            }
            Means::Token { code, name } => {
                body.payment_method = "token";
                body.token = Some(wire::TokenBody {
                    code,
                    name,
                    complete,
                    three_d_secure,
                    passthrough,
                });
                None
            }
        };
        let request = self.post("/v1/payments", &body, "bambora.payment");
        let order = Order {
            order_number: order_number.to_owned(),
            amount: payment.amount,
            card,
            authentication,
            window_size: payment.window_size,
            started_ms: cx.now_ms,
        };
        (order, request)
    }
}

/// The merchant's own authentication as Bambora's integrated `3d_secure` (1.0.2) or
/// `3d_secure_passthrough` (2.x), or the result that ends the payment: N and R forbid
/// an authorization, and a non-final status is no authentication.
fn merchant_authentication(
    external: &ExternalAuthentication,
) -> Result<ThreeDsBlocks<'_>, PaymentResult> {
    let outcome = |result: PaymentResult| PaymentResult {
        trans_status: Some(external.trans_status),
        eci: Some(external.eci),
        three_ds_version: Some(external.version.clone()),
        ..result
    };
    match external.trans_status {
        TransStatus::Y | TransStatus::A | TransStatus::U => {}
        TransStatus::N | TransStatus::R => {
            return Err(outcome(PaymentResult::failed(
                PaymentStatus::Failed,
                ResultCode::AuthenticationFailed,
            )))
        }
        other => {
            return Err(outcome(rejected_here(
                "external_authentication.trans_status",
                &format!(
                    "transStatus {} is not a finished authentication",
                    other.as_str()
                ),
            )))
        }
    }
    let cavv = external.cavv.as_str();
    if outcome::generation_of(&external.version) == crate::emv::Generation::Legacy {
        let Some(xid) = external.xid.as_deref() else {
            return Err(outcome(rejected_here(
                "3d_secure.xid",
                "Bambora's integrated 3-D Secure 1.0.2 needs the xid",
            )));
        };
        let integrated = wire::ThreeDSecure::Integrated {
            enabled: true,
            xid,
            cavv: (!cavv.is_empty()).then_some(cavv),
            eci: external.eci.value(),
        };
        return Ok((Some(integrated), None));
    }
    let Some(ds_transaction_id) = external.ds_transaction_id.as_deref() else {
        return Err(outcome(rejected_here(
            "3d_secure_passthrough.ds_transaction_id",
            "Bambora's 3-D Secure 2 passthrough needs the directory server transaction id",
        )));
    };
    let passthrough = wire::Passthrough {
        version: 2,
        xid: external.xid.as_deref(),
        eci: external.eci.value(),
        cavv: (!cavv.is_empty()).then_some(cavv),
        ds_transaction_id,
    };
    Ok((None, Some(passthrough)))
}
