//! A dLocal payment in doubt, looked up: `GET /payments/{id}` when dLocal's id is known,
//! else `GET /orders/{order_id}` and then the order's payment. Reads only, so the host may
//! resend them; only a payment object of this order decides, anything else leaves the
//! payment in doubt.

use super::outcome::{error_of, final_verdict, outcome, NOT_FOUND};
use super::state::{Doubt, State};
use super::wire::OrderObject;
use super::{payment_answered, pending_page, redirect, unknown, DlocalAdapter};
use crate::provider::answer::{self, Answer};
use crate::provider::{Context, HttpRequest, HttpResponse, Step, TransportFailure};

impl DlocalAdapter {
    /// Looks a payment in doubt up: `GET /payments/{id}` when dLocal's id is known, else
    /// `GET /orders/{order_id}`. Reads only, so the host may resend it.
    pub(super) fn look_up(&self, doubt: Doubt, cx: &Context) -> Step<State> {
        let (path, purpose) = match &doubt.payment_id {
            Some(id) => (format!("/payments/{id}"), "dlocal.lookup_payment"),
            None => (
                format!("/orders/{}", doubt.order.order_id),
                "dlocal.lookup_order",
            ),
        };
        let request = self.signed(HttpRequest::get(self.config.url(&path), purpose), cx);
        Step::Call {
            state: State::InDoubt(doubt),
            request,
        }
    }

    /// The answer to `GET /orders/{order_id}`: dLocal's "not found" means the create never
    /// reached it (nothing charged); its payment for the order is read next. Anything
    /// else leaves the payment in doubt.
    pub(super) fn order_looked_up(
        &self,
        doubt: Doubt,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match Answer::of(response, error_of) {
            Answer::Refused { status: 404, error } if error.code == NOT_FOUND => {
                Step::Done(answer::not_found())
            }
            Answer::Found(found) => match crate::json_path::from_text::<OrderObject>(&found.body) {
                Ok(held) if held.order_id == doubt.order.order_id => self.look_up(
                    Doubt {
                        payment_id: Some(held.payment_id),
                        ..doubt
                    },
                    cx,
                ),
                _ => unknown(doubt),
            },
            Answer::Refused { .. } | Answer::Lost(_) => unknown(doubt),
        }
    }

    /// The answer to `GET /payments/{id}` for a payment in doubt: a final status ends it.
    /// Still `PENDING`: a payer never sent to dLocal's page goes there now (past the
    /// session's expiry the host ends it `session_expired` instead: nobody has the page,
    /// and dLocal cannot charge without it); a payer who was sent may still be there, so
    /// the payment stays in doubt until dLocal decides.
    pub(super) fn payment_looked_up(
        &self,
        doubt: Doubt,
        response: Result<HttpResponse, TransportFailure>,
    ) -> Step<State> {
        let found = payment_answered(response, &doubt.order, doubt.payment_id.as_deref());
        let Some(payment) = found else {
            return unknown(doubt);
        };
        if let Some(verdict) = final_verdict(&payment) {
            return Step::Done(outcome(&doubt.order, &payment, verdict));
        }
        let page = pending_page(&payment).and_then(|url| self.redirect_target(&url));
        match (&doubt.redirect_url, page) {
            (None, Some(url)) if payment.status == "PENDING" => Step::Browser {
                action: redirect(&url),
                state: State::Authenticating {
                    order: doubt.order,
                    payment_id: payment.id,
                    redirect_url: url,
                },
            },
            _ => unknown(doubt),
        }
    }
}
