//! Payroc's answers to a payment's calls: the Bearer token, then one method per call
//! that waits for one (the tokenization, the sale, a page of the lookup). Only Payroc's
//! answer ends a payment; what cannot be read after the sale leaves it in doubt.

use super::outcome::{another_order, answer_of, refuses_mpi_reference, sale_in_page, sale_result};
use super::state::{AfterToken, ApiCall, Lookup, Sale, State};
use super::{well_formed_token, wire, PayrocAdapter, MAX_LOOKUP_PAGES};
use crate::provider::answer::{self, Answer};
use crate::provider::{Context, HttpResponse, Step, TransportFailure};

impl PayrocAdapter {
    pub(super) fn on_access_token(
        &self,
        then: ApiCall,
        auth_retried: bool,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match (self.read_access_token(response, cx), then) {
            // The token just issued is used even if its lifetime is inside the margin.
            (Ok(bearer), then) => self.call_with(then, &bearer, auth_retried, cx),
            // Without a token the lookup cannot be made: still in doubt.
            (Err(_), ApiCall::Lookup(lookup)) => self.in_doubt(lookup.sale),
            // The sale was sent and refused 401, and no new token came to send it again. A
            // 401 says nothing of what an earlier sending of its key did (the host resends a
            // sale whose answer was lost): in doubt, looked up.
            (Err(_), ApiCall::Sale(sale)) if auth_retried => self.in_doubt(sale),
            // Nothing was sent for want of a token: the payment ends.
            (Err(result), _) => Step::Done(result),
        }
    }

    pub(super) fn on_api_answer(
        &self,
        call: ApiCall,
        auth_retried: bool,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match call {
            ApiCall::Tokenize { then } => self.on_single_use_token(then, response, cx),
            ApiCall::Sale(sale) => self.on_sale(sale, auth_retried, response),
            ApiCall::Lookup(lookup) => self.on_lookup(lookup, auth_retried, response, cx),
        }
    }

    /// The tokenization's answer. Nothing moved money yet, and the card is not kept, so
    /// every failure ends the payment: a refused Bearer (401) too, after which the token
    /// is forgotten and the next payment fetches a new one.
    fn on_single_use_token(
        &self,
        then: AfterToken,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        match answer_of(response) {
            Answer::Found(found) => {
                match crate::json_path::from_text::<wire::SingleUseToken>(&found.body) {
                    Ok(answer) if well_formed_token(&answer.token) => {
                        self.with_token(then, answer.token, cx)
                    }
                    _ => Step::Done(answer::bad_response(
                        "Payroc's single-use token answer carries no well-formed token",
                    )),
                }
            }
            Answer::Refused { status: 401, error } => {
                self.forget_token();
                Step::Done(answer::Lost::Failed { status: 401, error }.result())
            }
            Answer::Refused { error, .. } => Step::Done(answer::rejected(&error)),
            Answer::Lost(lost) => Step::Done(lost.result()),
        }
    }

    /// The sale's answer: Payroc's payment, a refusal (nothing made), or no answer to
    /// trust (Payroc may have made it: in doubt).
    fn on_sale(
        &self,
        sale: Sale,
        auth_retried: bool,
        response: Result<HttpResponse, TransportFailure>,
    ) -> Step<State> {
        let refused_reference = matches!(&response, Ok(answer) if refuses_mpi_reference(answer));
        match answer_of(response) {
            Answer::Found(found) => match crate::json_path::from_text::<wire::Payment>(&found.body)
            {
                Ok(payment)
                    if payment
                        .names_another_order(&sale.order, &self.config.processing_terminal_id) =>
                {
                    Step::Done(another_order(payment))
                }
                Ok(payment) => Step::Done(sale_result(&sale, payment)),
                // Payroc took the sale and answered something unreadable: look it up.
                Err(_) => self.in_doubt(sale),
            },
            Answer::Refused { status: 401, .. } if !auth_retried => {
                self.reauthorize(ApiCall::Sale(sale))
            }
            Answer::Refused { error, .. } if refused_reference => {
                self.receipt_refused(sale, answer::rejected(&error))
            }
            // A 401 to the fresh token's resend says nothing of an earlier sending of the
            // same sale (the host resends one whose answer was lost): looked up, as when no
            // new token came.
            Answer::Refused { status: 401, .. } => self.in_doubt(sale),
            Answer::Refused { error, .. } => Step::Done(answer::rejected(&error)),
            Answer::Lost(_) => self.in_doubt(sale),
        }
    }

    /// One page of the lookup: the sale's payment (its result), the next page, or none
    /// (`not_found`: the sale never reached Payroc). Anything unreadable, refused or lost
    /// leaves the payment in doubt: only Payroc's answer may end it.
    fn on_lookup(
        &self,
        lookup: Lookup,
        auth_retried: bool,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<State> {
        let body = match answer_of(response) {
            Answer::Found(found) => found.body,
            Answer::Refused { status: 401, .. } if !auth_retried => {
                return self.reauthorize(ApiCall::Lookup(lookup))
            }
            Answer::Refused { .. } | Answer::Lost(_) => return self.in_doubt(lookup.sale),
        };
        let Ok(page) = crate::json_path::from_text::<wire::PaymentPage>(&body) else {
            return self.in_doubt(lookup.sale);
        };
        match sale_in_page(&lookup.sale, &self.config.processing_terminal_id, &page) {
            Ok(Some(result)) => Step::Done(result),
            Ok(None) if !page.has_more => Step::Done(answer::not_found()),
            // More pages, but none this adapter may follow (a link elsewhere, too many
            // pages): it cannot tell.
            Ok(None) => match self.next_page(&page) {
                Some(next) if lookup.pages + 1 < MAX_LOOKUP_PAGES => {
                    self.call(ApiCall::Lookup(lookup.then(next)), false, cx)
                }
                _ => self.in_doubt(lookup.sale),
            },
            // A payment of this order that cannot be read.
            Err(_) => self.in_doubt(lookup.sale),
        }
    }
}
