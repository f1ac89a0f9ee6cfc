//! A cancel asked while the payer is on dLocal's 3-D Secure page
//! (`POST /v1/payments/{id}/cancel` → [`crate::provider::Adapter::on_cancel`]). dLocal
//! charges when the payer finishes that page, with no call from the backend, so the
//! payment is not called `cancelled` until dLocal says so: the backend cancels it there
//! (`POST /payments/{id}/cancel`, [`State::Cancelling`], the path an expiry takes) and
//! the payment ends `cancelled` (by whoever asked) when dLocal answers `CANCELLED`; with
//! dLocal's own result when it refuses because the payer finished first; in doubt, cancel
//! sent again by the reconciler, when the answer is lost.

use super::outcome::expired_at_dlocal;
use super::wire::PaymentObject;
use super::{Abandoned, DlocalAdapter, State};
use crate::payment::{Canceller, PaymentResult, ResultError};
use crate::provider::{Adapter, Context, Step};

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
