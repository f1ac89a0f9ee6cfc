//! The 3-D Secure authentication of a Paysafe payment: its creation (and, when Paysafe
//! refuses a repeat of the creation as a duplicate, the read of the one the first send
//! made), the challenge's finalize and the read of its result, and what an
//! authentication's answer leads to: the browser's challenge, the authorization, or the
//! end. A finalize or a read after it that loses its answer leaves the payment in doubt
//! with what a later try needs: the cardholder has answered the challenge, which is never
//! shown again.

use super::charge::Charge;
use super::outcome::{
    self, classify, duplicate_authentication, refused_authentication, success_body,
};
use super::wire::{self, Authenticated, AuthenticationOutcome};
use super::{Authentication, CardRef, Order, PaysafeAdapter, Shown, State};
use crate::emv::CardBrand;
use crate::payment::{BrowserAction, PaymentResult};
use crate::provider::answer::{self, Answer};
use crate::provider::{
    Context, HttpResponse, ReturnRefused, Step, TransportFailure, MAX_REFUSED_RETURNS,
};

impl PaysafeAdapter {
    // --- requests ---------------------------------------------------------------------

    pub(super) fn authenticate(
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
            requestor_challenge_preference: super::exemption::requestor_challenge_preference(
                order.challenge,
                order.exemption,
            ),
            browser_details: order.browser.as_ref(),
        };
        // Paysafe refuses a second authentication with the same merchantRefNum (5031,
        // naming the first), which this adapter then reads: a repeat is harmless.
        let request = self
            .post(
                self.config.account_url("/authentications"),
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

    fn authentication_url(&self, authentication: &Authentication) -> String {
        self.config
            .account_url(&format!("/authentications/{}", authentication.id))
    }

    fn read_authentication(&self, authentication: Authentication) -> Step<State> {
        let request = self.get(
            self.authentication_url(&authentication),
            "paysafe.authentication.get",
        );
        Step::Call {
            state: State::ReadingAuthentication { authentication },
            request,
        }
    }

    /// Sends the challenge's `payload` (a return to the challenge `shown`) to finalize.
    pub(super) fn finalize(
        &self,
        authentication: Authentication,
        payload: String,
        shown: Option<Shown>,
    ) -> Step<State> {
        let body = wire::FinalizeRequest { payload: &payload };
        // Finalizing a finished authentication returns it unchanged.
        let request = self
            .post(
                format!("{}/finalize", self.authentication_url(&authentication)),
                &body,
                "paysafe.finalize",
            )
            .retry_safe();
        Step::Call {
            state: State::Finalizing {
                authentication,
                payload,
                shown,
            },
            request,
        }
    }

    pub(super) fn read_challenge_result(
        &self,
        authentication: Authentication,
        shown: Option<Shown>,
    ) -> Step<State> {
        let request = self.get(
            self.authentication_url(&authentication),
            "paysafe.authentication.get",
        );
        Step::Call {
            state: State::ReadingChallengeResult {
                authentication,
                shown,
            },
            request,
        }
    }

    // --- answers, one method per state that waits for one ------------------------------

    /// `Authenticating`: the created authentication, or (4xx 5031) the one an earlier
    /// send of this very request created, whose answer was lost: read instead of
    /// creating another.
    pub(super) fn on_authentication_created(
        &self,
        order: Order,
        card: CardRef,
        merchant_ref_num: String,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        if let Some(id) = duplicate_authentication(&response) {
            return self.read_authentication(Authentication {
                order,
                card,
                id,
                merchant_ref_num,
            });
        }
        match success_body::<wire::AuthenticationResponse>(response) {
            Ok(answer) => {
                let authentication = Authentication {
                    order,
                    card,
                    id: answer.id.clone(),
                    merchant_ref_num,
                };
                self.on_authentication(authentication, answer, cx)
            }
            Err(result) => Step::Done(result),
        }
    }

    /// `ReadingAuthentication`: the authentication as Paysafe holds it, if it is the one
    /// asked for.
    pub(super) fn on_authentication_read(
        &self,
        authentication: Authentication,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match success_body::<wire::AuthenticationResponse>(response) {
            Ok(answer) if answer.id != authentication.id => Step::Done(foreign_authentication()),
            Ok(answer) => self.on_authentication(authentication, answer, cx),
            Err(result) => Step::Done(result),
        }
    }

    /// `Finalizing`: whatever finalize said, the authentication as Paysafe now holds it
    /// decides. Only a refused payload (which leaves the authentication `PENDING`) keeps
    /// the challenge `shown` to wait on again. No answer: in doubt, with the payload to
    /// finalize again later.
    pub(super) fn on_finalized(
        &self,
        authentication: Authentication,
        payload: String,
        shown: Option<Shown>,
        response: Result<HttpResponse, TransportFailure>,
    ) -> Step<State> {
        match classify(response) {
            Answer::Found(_) => self.read_challenge_result(authentication, None),
            Answer::Refused { .. } => self.read_challenge_result(authentication, shown),
            Answer::Lost(_) => Step::Unknown {
                state: State::Finalizing {
                    authentication,
                    payload,
                    shown,
                },
            },
        }
    }

    /// `ReadingChallengeResult`: the authentication after finalize. Still PENDING after
    /// a finalize Paysafe refused: the return was not the issuer's answer, which may still
    /// come ([`Self::return_refused`]). Still PENDING after a finalize it accepted: the
    /// challenge is spent. No answer: in doubt, read again later (the cardholder has
    /// passed; the payment must not end for a lost read).
    pub(super) fn on_challenge_result(
        &self,
        authentication: Authentication,
        shown: Option<Shown>,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        let answer = match classify(response) {
            Answer::Found(response) => outcome::parse::<wire::AuthenticationResponse>(&response),
            Answer::Refused { error, .. } => Err(answer::rejected(&error)),
            Answer::Lost(_) => {
                return Step::Unknown {
                    state: State::ReadingChallengeResult {
                        authentication,
                        shown,
                    },
                }
            }
        };
        match answer {
            Ok(answer) if answer.id != authentication.id => Step::Done(foreign_authentication()),
            Ok(answer) if answer.status == "PENDING" => match shown {
                Some(shown) => return_refused(authentication, shown),
                None => Step::Done(outcome::unfinished_challenge()),
            },
            Ok(answer) => self.on_authentication(authentication, answer, cx),
            Err(result) => Step::Done(result),
        }
    }

    /// What an authentication answer (created or read) leads to.
    fn on_authentication(
        &self,
        authentication: Authentication,
        answer: wire::AuthenticationResponse,
        cx: &Context,
    ) -> Step<State> {
        if answer
            .merchant_ref_num
            .as_deref()
            .is_some_and(|r| r != authentication.merchant_ref_num)
        {
            return Step::Done(answer::bad_response(
                "the authentication belongs to another merchantRefNum",
            ));
        }
        let brand = authentication
            .card
            .summary
            .as_ref()
            .map(|s| s.brand)
            .or_else(|| answer.brand())
            .unwrap_or(CardBrand::Unknown);
        match answer.outcome(&self.term_url()) {
            Err(problem) => Step::Done(answer::bad_response(problem)),
            Ok(AuthenticationOutcome::Completed(values)) => {
                self.after_authentication(authentication, brand, values, cx)
            }
            Ok(AuthenticationOutcome::Challenge { form, window_size }) => {
                let window_size = window_size.unwrap_or(authentication.order.window_size);
                let action = BrowserAction::Challenge {
                    form: form.clone(),
                    window_size,
                };
                Step::Browser {
                    state: State::AwaitingChallenge {
                        authentication,
                        form,
                        window_size,
                        refused: 0,
                    },
                    action,
                }
            }
            Ok(AuthenticationOutcome::Pending) => Step::Done(answer::bad_response(
                "a PENDING authentication without a challenge",
            )),
            Ok(AuthenticationOutcome::Failed(status)) => {
                Step::Done(outcome::authentication_failed(status))
            }
        }
    }

    /// Authorize when the result permits it, otherwise end with the authentication's result.
    fn after_authentication(
        &self,
        authentication: Authentication,
        brand: CardBrand,
        values: Authenticated,
        cx: &Context,
    ) -> Step<State> {
        match refused_authentication(brand, &values) {
            Some(result) => Step::Done(result),
            None => self.authorize(Charge::new(authentication, brand, values, cx)),
        }
    }
}

fn foreign_authentication() -> PaymentResult {
    answer::bad_response("the answer names another authentication")
}

/// Paysafe refused the payload a return carried and still holds the authentication
/// `PENDING`: nothing was authenticated, and the cardholder's genuine answer may still
/// come, so the payment waits on the same challenge again (the return gets an error page).
/// The [`MAX_REFUSED_RETURNS`]th refusal ends it, as an unfinished challenge.
fn return_refused(authentication: Authentication, shown: Shown) -> Step<State> {
    let refused = shown.refused.saturating_add(1);
    if refused >= MAX_REFUSED_RETURNS {
        return Step::Done(outcome::unfinished_challenge());
    }
    Step::Refused {
        action: BrowserAction::Challenge {
            form: shown.form.clone(),
            window_size: shown.window_size,
        },
        state: State::AwaitingChallenge {
            authentication,
            form: shown.form,
            window_size: shown.window_size,
            refused,
        },
        refused: ReturnRefused {
            code: "return_refused",
            message: "Paysafe refused the issuer's answer this return carried.",
        },
    }
}
