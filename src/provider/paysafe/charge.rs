//! The money call: the Card Payments authorization (`settleWithAuth`), and what the
//! adapter does when its answer is lost. Paysafe checks every authorization for a
//! duplicate merchantRefNum (a second one is refused, 5031) and finds authorizations by
//! merchantRefNum (`GET …/auths?merchantRefNum=`), so a [`Charge`] keeps everything a
//! resend needs and a lost answer is looked up: the authorization Paysafe holds decides;
//! none found means Paysafe never got it, and it is sent again with the same
//! merchantRefNum. No path sends a second merchantRefNum: at most one authorization.

use serde::{Deserialize, Serialize};

use super::outcome::{self, classify, AuthStatus, DUPLICATE};
use super::wire::{self, Authenticated};
use super::{Authentication, PaysafeAdapter, State};
use crate::emv::CardBrand;
use crate::order::Currency;
use crate::payment::CaptureMode;
use crate::provider::answer::{Answer, ProviderError};
use crate::provider::{Context, HttpResponse, Step, TransportFailure};

/// The authorization this payment makes, with everything a resend needs. Never the card
/// number or CVV: the card is its single-use token (unused while no authorization with
/// this merchantRefNum exists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    /// `cx.idempotency_key("auth")`: the same for every send of this payment's
    /// authorization.
    pub merchant_ref_num: String,
    pub amount: u64,
    pub currency: Currency,
    pub payment_token: String,
    pub brand: CardBrand,
    /// The authentication whose values the `authentication` block carries.
    pub authentication_id: String,
    pub authentication: Authenticated,
    /// `settleWithAuth`: false for a payment created with `CaptureMode::Manual` (a charge
    /// stored before capture modes existed was always settled with its authorization).
    #[serde(default = "settled_with_auth")]
    pub settle_with_auth: bool,
}

fn settled_with_auth() -> bool {
    true
}

impl Charge {
    /// The authorization after `authentication` ended with `values`.
    pub(super) fn new(
        authentication: Authentication,
        brand: CardBrand,
        values: Authenticated,
        cx: &Context,
    ) -> Charge {
        let settle_with_auth = authentication.order.capture_mode == CaptureMode::Automatic;
        Charge {
            settle_with_auth,
            merchant_ref_num: cx.idempotency_key("auth"),
            amount: authentication.order.amount,
            currency: authentication.order.currency,
            payment_token: authentication.card.payment_token,
            brand,
            authentication_id: authentication.id,
            authentication: values,
        }
    }

    /// Whether a lookup's authorization is this one: its merchantRefNum, amount and
    /// currency. Anything else is another payment's, never adopted.
    fn is(&self, found: &wire::FoundAuth) -> bool {
        found.merchant_ref_num.as_deref() == Some(&self.merchant_ref_num)
            && found.amount == Some(self.amount)
            && found.currency_code.as_deref() == Some(&self.currency)
    }

    /// Whether an authorization's answer, where it states them, is for this charge's
    /// amount and currency.
    fn answered(&self, auth: &wire::AuthResponse) -> bool {
        auth.amount.is_none_or(|amount| amount == self.amount)
            && auth
                .currency_code
                .as_deref()
                .is_none_or(|currency| currency.eq_ignore_ascii_case(&self.currency))
    }

    fn in_doubt(self) -> Step<State> {
        Step::Unknown {
            state: State::Authorizing { charge: self },
        }
    }
}

/// Why the authorization is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    /// Its answer was lost (or the process stopped during it): none found means Paysafe
    /// never got it, and it is sent again.
    AnswerLost,
    /// Paysafe refused a send as a duplicate: one exists or is being processed; none
    /// found yet means look again later, never send a third time now.
    Duplicate,
}
crate::unit_variant::deserialize_by_name!(Lookup { AnswerLost = "answer_lost", Duplicate = "duplicate" });

impl PaysafeAdapter {
    /// `POST /cardpayments/v1/accounts/{acct}/auths`: the first send and every resend.
    pub(super) fn authorize(&self, charge: Charge) -> Step<State> {
        let body = wire::AuthRequest {
            merchant_ref_num: &charge.merchant_ref_num,
            amount: charge.amount,
            settle_with_auth: charge.settle_with_auth,
            card: wire::TokenRef {
                payment_token: &charge.payment_token,
            },
            authentication: wire::AuthenticationBlock::of(&charge.authentication),
        };
        // Paysafe refuses a repeat of the merchantRefNum (5031): never a second charge.
        let request = self
            .post(self.auths_url(), &body, "paysafe.auth")
            .retry_safe();
        Step::Call {
            state: State::Authorizing { charge },
            request,
        }
    }

    /// `GET …/auths?merchantRefNum=…`.
    pub(super) fn find_authorization(&self, charge: Charge, after: Lookup) -> Step<State> {
        // merchantRefNum is our own UUID-shaped key: nothing in it needs escaping.
        let url = format!(
            "{}?merchantRefNum={}",
            self.auths_url(),
            charge.merchant_ref_num
        );
        Step::Call {
            request: self.get(url, "paysafe.auth.lookup"),
            state: State::FindingAuthorization { charge, after },
        }
    }

    fn auths_url(&self) -> String {
        self.config.url(&format!(
            "/cardpayments/v1/accounts/{}/auths",
            self.config.account_id
        ))
    }

    /// `Authorizing`: the authorization's answer. Lost (after the host's retries, or the
    /// process stopped): in doubt, looked up later. A duplicate: looked up now.
    pub(super) fn on_authorization(
        &self,
        charge: Charge,
        response: Result<HttpResponse, TransportFailure>,
    ) -> Step<State> {
        let (brand, values) = (charge.brand, &charge.authentication);
        match classify(response) {
            Answer::Found(response) => match outcome::parse::<wire::AuthResponse>(&response) {
                Ok(auth) if !charge.answered(&auth) => otherwise(charge, &auth.status, auth.id),
                Ok(auth) => decided(charge, AuthStatus::of(&auth.status), auth.id, None),
                // Paysafe took it, but what it said cannot be read: ask again.
                Err(_) => self.find_authorization(charge, Lookup::AnswerLost),
            },
            Answer::Refused { error, .. } if error.code == DUPLICATE => {
                self.find_authorization(charge, Lookup::Duplicate)
            }
            Answer::Refused { status: 402, error } => {
                Step::Done(outcome::declined(brand, values, error))
            }
            Answer::Refused { error, .. } => {
                Step::Done(outcome::auth_refused(brand, values, &error))
            }
            Answer::Lost(_) => charge.in_doubt(),
        }
    }

    /// `FindingAuthorization`: what Paysafe holds under the merchantRefNum. A lookup
    /// without an answer (lost, refused, unreadable) leaves the payment in doubt.
    pub(super) fn on_authorizations_found(
        &self,
        charge: Charge,
        after: Lookup,
        response: Result<HttpResponse, TransportFailure>,
    ) -> Step<State> {
        let list = match classify(response) {
            Answer::Found(response) => outcome::parse::<wire::AuthList>(&response),
            Answer::Refused { .. } | Answer::Lost(_) => return charge.in_doubt(),
        };
        let Ok(list) = list else {
            return charge.in_doubt();
        };
        let ours = |found: &&wire::FoundAuth| {
            found.merchant_ref_num.as_deref() == Some(&charge.merchant_ref_num)
        };
        if list.auths.iter().filter(ours).count() == 0 {
            return match after {
                Lookup::AnswerLost => self.authorize(charge),
                Lookup::Duplicate => charge.in_doubt(),
            };
        }
        // One authorization per merchantRefNum; should there be more, the one that
        // authorized is the truth, then one still undecided.
        let mine: Vec<&wire::FoundAuth> = list.auths.iter().filter(|f| charge.is(f)).collect();
        let best = [AuthStatus::Completed, AuthStatus::Undecided]
            .iter()
            .find_map(|wanted| mine.iter().find(|f| AuthStatus::of(&f.status) == *wanted))
            .or(mine.first());
        let Some(found) = best else {
            // Only authorizations of this merchantRefNum for another amount or currency.
            let completed = list
                .auths
                .iter()
                .filter(ours)
                .find(|f| AuthStatus::of(&f.status) == AuthStatus::Completed);
            if let Some(found) = completed {
                return otherwise(charge, &found.status, found.id.clone());
            }
            let result = outcome::foreign_authorization(charge.brand, &charge.authentication);
            return Step::Done(result);
        };
        let error = found
            .error
            .as_ref()
            .map(|e| ProviderError::new(e.code.clone(), e.full_message()));
        decided(
            charge,
            AuthStatus::of(&found.status),
            found.id.clone(),
            error,
        )
    }
}

/// An authorization of this payment's merchantRefNum for another amount or currency:
/// completed, an error that keeps its id (money is held); any other status moved no
/// money the order asked for, and is read as it is.
fn otherwise(charge: Charge, status: &str, auth_id: String) -> Step<State> {
    match AuthStatus::of(status) {
        AuthStatus::Completed => Step::Done(outcome::authorized_otherwise(
            charge.brand,
            &charge.authentication,
            auth_id,
        )),
        status => decided(charge, status, auth_id, None),
    }
}

/// The authorization Paysafe holds, as the payment's end (or a doubt while it is
/// undecided).
fn decided(
    charge: Charge,
    status: AuthStatus,
    auth_id: String,
    error: Option<ProviderError>,
) -> Step<State> {
    let (brand, values) = (charge.brand, &charge.authentication);
    match status {
        AuthStatus::Completed => Step::Done(outcome::authorized(brand, values, auth_id)),
        AuthStatus::Undecided => charge.in_doubt(),
        AuthStatus::NotAuthorized(status) => {
            let error = error.unwrap_or_else(|| ProviderError::new(status, ""));
            Step::Done(outcome::declined(brand, values, error))
        }
    }
}
