//! Authorizations: what `POST /v1/payments` does with a parsed request (card or token,
//! 3-D Secure off, run by Bambora, or passed through from the merchant's MPI), and the
//! one place a payment is created, stored and recorded in the ledger.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::request::{self, CardInput, PaymentRequest, Source, ThreeDsRequest};
use super::wire::{
    dollars, ApiError, Avs, CardResult, Category, Link, Payment, PaymentType, Validation,
};
use super::{challenge, Authenticated, CardSummary, Memory, Order, State, CURRENCY, MERCHANT_ID};
use crate::emv::{CardBrand, Generation, TransStatus};
use crate::sandbox::cards::{
    Authentication, AuthenticationValues, Authorization, CardProfile, Protocol,
};
use crate::sandbox::ledger::{now_rfc3339, LedgerEntry, Provider};
use crate::sandbox::Sandbox;

impl State {
    /// `POST /v1/payments` after parsing: authorize, decline, or send to the ACS.
    pub(super) fn pay(
        &self,
        sandbox: &Sandbox,
        request: PaymentRequest,
    ) -> Result<Response, ApiError> {
        let card = match request.source {
            Source::Card(card) => card,
            Source::Token { code } => self.redeem_token(&code)?,
        };
        let card_type = card_type(card.pan.brand()).ok_or_else(|| {
            ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                312,
                Category::BusinessRule,
                "Card type not accepted",
            )
        })?;
        let profile = CardProfile::of(&card.pan);
        let order = Order {
            order_number: request.order_number,
            amount: request.amount,
            complete: request.complete,
            custom: request.custom,
            card: CardSummary {
                brand: card.pan.brand(),
                card_type,
                bin: card.pan.bin().to_owned(),
                last_four: card.pan.last_four().to_owned(),
                masked: card.pan.masked(),
                cvd_present: card.cvd_present,
            },
            authorization: profile.authorization,
        };
        let term_url = request.term_url.unwrap_or_default();
        let approved = |authenticated: Authenticated| {
            self.lock()
                .authorize(sandbox, &order, &authenticated)
                .map(|payment| Json(payment).into_response())
        };
        match request.three_ds {
            ThreeDsRequest::Off => approved(Authenticated::default()),
            ThreeDsRequest::Passthrough(passthrough) => {
                approved(passthrough_values(order.card.brand, &passthrough)?)
            }
            ThreeDsRequest::Authenticate {
                version,
                auth_required,
                browser,
            } => {
                // The card range decides the protocol, as the directory would after
                // Bambora's version lookup; asking for 2 and getting 1.0.2 is a downgrade.
                let downgraded = version != Some(1);
                match (profile.protocol, profile.authentication) {
                    (Protocol::Legacy { enrolled: true }, _) => Ok(self
                        .start_challenge(
                            sandbox,
                            order,
                            Generation::Legacy,
                            &term_url,
                            auth_required,
                            downgraded,
                        )
                        .into_response()),
                    (Protocol::Legacy { enrolled: false }, _) => {
                        let seed = uuid::Uuid::new_v4().to_string();
                        let values = AuthenticationValues::for_status(
                            order.card.brand,
                            TransStatus::U,
                            &seed,
                        );
                        approved(challenge::conclude(&values, auth_required, downgraded)?)
                    }
                    (Protocol::Emv, _) if !browser => Err(ApiError::invalid_field(
                        "card.3d_secure.browser",
                        "The browser object is required for 3D Secure 2.0",
                    )),
                    (Protocol::Emv, Authentication::Frictionless(status)) => {
                        let seed = uuid::Uuid::new_v4().to_string();
                        let values =
                            AuthenticationValues::for_status(order.card.brand, status, &seed);
                        approved(challenge::conclude(&values, auth_required, false)?)
                    }
                    (Protocol::Emv, Authentication::Challenge) => Ok(self
                        .start_challenge(
                            sandbox,
                            order,
                            Generation::Emv,
                            &term_url,
                            auth_required,
                            false,
                        )
                        .into_response()),
                }
            }
        }
    }

    fn redeem_token(&self, code: &str) -> Result<CardInput, ApiError> {
        let mut memory = self.lock();
        let refused = |message| Err(ApiError::invalid_field("token.code", message));
        match memory.tokens.get_mut(code) {
            None => refused("Invalid single-use token"),
            Some(token) if token.used => refused("The single-use token has already been used"),
            Some(token) if token.expires <= Instant::now() => {
                refused("The single-use token has expired")
            }
            Some(token) => {
                token.used = true;
                Ok(token.card.clone())
            }
        }
    }
}

impl Memory {
    /// The authorization after (or without) 3-D Secure: an approved payment recorded in
    /// the ledger once, or the issuer's decline (kept, so `GET` finds it too).
    pub(super) fn authorize(
        &mut self,
        sandbox: &Sandbox,
        order: &Order,
        authenticated: &Authenticated,
    ) -> Result<Payment, ApiError> {
        self.last_id += 1;
        let id = (10_000_000 + self.last_id).to_string();
        let approved = order.authorization == Authorization::Approve;
        let kind = if order.complete {
            PaymentType::P
        } else {
            PaymentType::PA
        };
        let link = |rel, path: &str| Link {
            rel,
            href: sandbox.public_url(&format!("/bambora/v1/payments/{id}/{path}")),
            method: "POST",
        };
        let links = match (approved, kind) {
            (false, _) => Vec::new(),
            (true, PaymentType::P) => vec![link("void", "void"), link("return", "returns")],
            (true, PaymentType::PA) => vec![link("complete", "completions"), link("void", "void")],
            // Only authorizations are made here.
            (true, PaymentType::PAC | PaymentType::R | PaymentType::VP) => Vec::new(),
        };
        let card = CardResult {
            card_type: order.card.card_type,
            last_four: order.card.last_four.clone(),
            card_bin: order.card.bin.clone(),
            cvd_result: if order.card.cvd_present { 1 } else { 6 },
            avs_result: "0".to_owned(),
            avs: Avs::not_performed(),
            address_match: 0,
            postal_result: 0,
            eci: authenticated.eci,
            cavv_result: authenticated.cavv.then(|| "2".to_owned()),
        };
        let (message_id, message) = if approved {
            ("1", "Approved")
        } else {
            (DECLINE_MESSAGE_ID, "DECLINE")
        };
        let payment = Payment {
            id: id.clone(),
            authorizing_merchant_id: MERCHANT_ID.parse().unwrap_or_default(),
            approved: if approved { "1" } else { "0" }.to_owned(),
            message_id: message_id.to_owned(),
            message: message.to_owned(),
            auth_code: if approved {
                format!("TEST{:02}", self.last_id % 100)
            } else {
                String::new()
            },
            created: created_now(),
            order_number: order.order_number.clone().unwrap_or_else(|| id.clone()),
            kind,
            payment_method: "CC",
            risk_score: 0.0,
            amount: dollars(order.amount),
            custom: order.custom.clone(),
            card: card.clone(),
            three_d_secure: authenticated.three_d_secure.clone(),
            links,
        };
        let transaction = super::Transaction {
            payment: payment.clone(),
            masked_card: order.card.masked.clone(),
            cents: order.amount,
            parent: None,
            expired: false,
        };
        self.payments.insert(id.clone(), transaction);
        if !approved {
            let mut error = ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                7,
                Category::Decline,
                "DECLINE",
            );
            error.body.validation = Some(Validation {
                id,
                approved: "0".to_owned(),
                message_id: DECLINE_MESSAGE_ID.to_owned(),
                message: "DECLINE".to_owned(),
                auth_code: String::new(),
                trans_date: payment.created.clone(),
                order_number: payment.order_number.clone(),
                kind,
                amount: payment.amount,
                cvd_id: card.cvd_result,
            });
            error.body.card = Some(card);
            return Err(error);
        }
        sandbox.ledger.record(LedgerEntry {
            provider: Provider::Bambora,
            provider_payment_id: id,
            order_id: payment.order_number.clone(),
            amount: order.amount,
            currency: CURRENCY.to_owned(),
            idempotency_key: None,
            card: order.card.masked.clone(),
            time: now_rfc3339(),
            sale: order.complete,
        });
        Ok(payment)
    }
}

/// Bambora's message id for an issuer decline (the error `code` carries the same).
const DECLINE_MESSAGE_ID: &str = "7";
/// The merchant's own results: the ECI must be one the brand uses, and an ECI that
/// claims authentication or an attempt must come with its CAVV.
fn passthrough_values(
    brand: CardBrand,
    passthrough: &request::Passthrough,
) -> Result<Authenticated, ApiError> {
    let field = match passthrough.generation {
        Generation::Emv => "card.3d_secure_passthrough",
        Generation::Legacy => "card.3d_secure",
    };
    let eci = passthrough.eci.value();
    let (allowed, proving): (&[u8], &[u8]) = if brand == CardBrand::Mastercard {
        (&[0, 1, 2, 7], &[1, 2])
    } else {
        (&[5, 6, 7], &[5, 6])
    };
    if !allowed.contains(&eci) {
        return Err(ApiError::invalid_field(
            &format!("{field}.eci"),
            "This ECI is not used by the card's brand",
        ));
    }
    if proving.contains(&eci) && !passthrough.cavv_present {
        return Err(ApiError::invalid_field(
            &format!("{field}.cavv"),
            "A cavv is required with this ECI",
        ));
    }
    Ok(Authenticated {
        three_d_secure: None,
        eci: Some(eci),
        cavv: passthrough.cavv_present,
    })
}
/// Bambora's card type codes; `None` for brands the sandbox merchant does not accept.
fn card_type(brand: CardBrand) -> Option<&'static str> {
    Some(match brand {
        CardBrand::Visa => "VI",
        CardBrand::Mastercard => "MC",
        CardBrand::Amex => "AM",
        CardBrand::Discover => "NN",
        CardBrand::Jcb => "JB",
        CardBrand::Diners => "DI",
        CardBrand::Elo | CardBrand::UnionPay | CardBrand::Unknown => return None,
    })
}

/// `2017-02-23T17:26:26`, as in Bambora's responses.
pub(super) fn created_now() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emv::Eci;

    #[test]
    fn passthrough_eci_must_fit_the_brand() {
        let passthrough = |eci, cavv_present| request::Passthrough {
            generation: Generation::Emv,
            eci: Eci::new(eci).unwrap(),
            cavv_present,
        };
        assert!(passthrough_values(CardBrand::Visa, &passthrough(5, true)).is_ok());
        assert!(passthrough_values(CardBrand::Visa, &passthrough(5, false)).is_err());
        assert!(passthrough_values(CardBrand::Visa, &passthrough(2, true)).is_err());
        assert!(passthrough_values(CardBrand::Mastercard, &passthrough(0, false)).is_ok());
    }
}
