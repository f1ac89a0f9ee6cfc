//! A cancel asked while the payer is on dLocal's 3-D Secure page
//! (`POST /v1/payments/{id}/cancel` → [`crate::provider::Adapter::on_cancel`]). dLocal
//! charges when the payer finishes that page, with no call from the backend, so the
//! payment is not called `cancelled` until dLocal says so: the backend cancels it there
//! (`POST /payments/{id}/cancel`, [`State::Cancelling`], the path an expiry takes) and
//! the payment ends `cancelled` (by whoever asked) when dLocal answers `CANCELLED`; with
//! dLocal's own result when it refuses because the payer finished first; in doubt, cancel
//! sent again by the reconciler, when the answer is lost. A session that expires while
//! the payer is on that page takes the same path ([`crate::provider::Adapter::on_expiry`]);
//! the cancel, its answer and the read of a payment dLocal would not cancel are here.

use super::outcome::{error_of, expired_at_dlocal, final_verdict, outcome};
use super::wire::PaymentObject;
use super::{cancelling, payment_answered, payment_in, Abandoned, DlocalAdapter, State};
use crate::payment::{Canceller, PaymentResult, ResultError};
use crate::provider::answer::Answer;
use crate::provider::{
    Adapter, Context, HttpMethod, HttpRequest, HttpResponse, Step, TransportFailure,
};

impl DlocalAdapter {
    /// [`Adapter::on_cancel`] for dLocal.
    pub(super) fn cancel_on_request(
        &self,
        state: State,
        by: Canceller,
        cx: &Context,
    ) -> Step<State> {
        match state {
            State::Authenticating {
                order, payment_id, ..
            } => self.cancel(
                Abandoned {
                    order,
                    payment_id,
                    cancelled_by: Some(by),
                },
                cx,
            ),
            // Not on dLocal's page (no browser step waits in another state): what an
            // expiry does, never a `cancelled` that might hide a charge.
            state => self.on_expiry(state, cx),
        }
    }

    /// `POST /payments/{id}/cancel` for a payment abandoned on dLocal's page: dLocal
    /// cancels only a pending payment, so sending it again (its answer lost) is harmless.
    /// No body; the signature covers an empty one, as for a GET.
    pub(super) fn cancel(&self, abandoned: Abandoned, cx: &Context) -> Step<State> {
        let url = self
            .config
            .url(&format!("/payments/{}/cancel", abandoned.payment_id));
        let request = HttpRequest {
            method: HttpMethod::Post,
            ..HttpRequest::get(url, "dlocal.cancel")
        };
        Step::Call {
            state: State::Cancelling(abandoned),
            request: self.signed(request, cx),
        }
    }

    /// `GET /payments/{id}` for an abandoned payment dLocal would not cancel.
    pub(super) fn read_after_cancel(&self, abandoned: Abandoned, cx: &Context) -> Step<State> {
        let url = self
            .config
            .url(&format!("/payments/{}", abandoned.payment_id));
        let request = self.signed(HttpRequest::get(url, "dlocal.read_after_cancel"), cx);
        Step::Call {
            state: State::ReadingAfterCancel(abandoned),
            request,
        }
    }

    /// The answer to the cancel of an abandoned payment: dLocal's payment object says how
    /// it ended (`CANCELLED`: nothing charged). dLocal refuses to cancel a payment that is
    /// no longer pending (the payer finished, or a cancel before this one whose answer was
    /// lost): it is read. No answer, or one about another payment: cancelled again later.
    pub(super) fn cancel_answered(
        &self,
        abandoned: Abandoned,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match Answer::of(response, error_of) {
            Answer::Found(found) => {
                match payment_in(&found, &abandoned.order, Some(&abandoned.payment_id)) {
                    Some(payment) => end_abandoned(abandoned, payment),
                    None => cancelling(abandoned),
                }
            }
            Answer::Refused { .. } => self.read_after_cancel(abandoned, cx),
            Answer::Lost(_) => cancelling(abandoned),
        }
    }

    /// The read of an abandoned payment dLocal would not cancel: its final status ends
    /// it. Still pending, no answer, or a foreign one: the cancel is sent again later.
    pub(super) fn read_answered_after_cancel(
        &self,
        abandoned: Abandoned,
        response: Result<HttpResponse, TransportFailure>,
    ) -> Step<State> {
        match payment_answered(response, &abandoned.order, Some(&abandoned.payment_id)) {
            Some(payment) => end_abandoned(abandoned, payment),
            None => cancelling(abandoned),
        }
    }
}

/// An abandoned payment dLocal ended uncharged (`CANCELLED` or `EXPIRED`): `cancelled`
/// by whoever asked, or the session's expiry; with dLocal's payment id, code and detail.
pub(super) fn ended_uncharged(abandoned: &Abandoned, payment: &PaymentObject) -> PaymentResult {
    let expired = expired_at_dlocal(payment);
    let Some(by) = abandoned.cancelled_by else {
        return expired;
    };
    PaymentResult {
        provider_payment_id: expired.provider_payment_id,
        error: expired.error.map(|error| ResultError {
            code: by.code(),
            ..error
        }),
        ..by.result()
    }
}

/// How an abandoned payment ends, by dLocal's word on it: `CANCELLED` (the backend's
/// cancel) or `EXPIRED` (dLocal's own) is the session's expiry, nothing charged; another
/// final status ends it as any payment. `AUTHORIZED` (a manual capture's payer finished
/// just before the cancel) is not final here: the backend's cancel voids it, and one may
/// be under way (a notification's read can run beside it), so the cancel is sent again
/// later and dLocal's `CANCELLED` ends it. Still pending, or a status this adapter does
/// not know: the cancel is sent again later.
fn end_abandoned(abandoned: Abandoned, payment: PaymentObject) -> Step<State> {
    match payment.status.as_str() {
        "CANCELLED" | "EXPIRED" => return Step::Done(ended_uncharged(&abandoned, &payment)),
        "AUTHORIZED" => return cancelling(abandoned),
        _ => {}
    }
    match final_verdict(&payment) {
        Some(verdict) => Step::Done(outcome(&abandoned.order, &payment, verdict)),
        None => cancelling(abandoned),
    }
}
