//! `POST /v1/processing-terminals/{id}/single-use-tokens`: card details in, a 30-minute,
//! use-once token out. The sandbox keeps the card behind the token as a [`Pan`] (the MPI
//! needs it to run 3-D Secure); it never keeps the CVV, only whether one was given.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::problem::{Fields, Problem, Reply};
use super::wire::{SingleUseToken, TokenSource};
use super::{
    brand_name, idempotent_post, iso_utc, known_terminal, lock, random_hex, Caller, Sandbox,
    SINGLE_USE_TOKEN_LIFETIME,
};
use crate::emv::Pan;

/// A tokenized card.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub pan: Pan,
    /// MMYY.
    pub expiry_date: String,
    pub cardholder_name: Option<String>,
    pub cvv_given: bool,
    pub expires: Instant,
    pub state: TokenState,
}

/// A single-use token is spent by the first sale that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Unused,
    Used,
}

impl StoredToken {
    /// Why the token cannot be used now, if it cannot.
    pub fn unusable(&self) -> Option<&'static str> {
        if self.state == TokenState::Used {
            Some("The single-use token has already been used")
        } else if Instant::now() >= self.expires {
            Some("The single-use token has expired")
        } else {
            None
        }
    }
}

/// A keyed card as the request carries it (`source.cardDetails.keyedData`, plainText).
struct KeyedCard {
    pan: Pan,
    expiry_date: String,
    cardholder_name: Option<String>,
    cvv_given: bool,
}

struct TokenRequest {
    operator: Option<String>,
    card: KeyedCard,
}

pub(super) async fn create(
    Extract(sandbox): Extract<Sandbox>,
    Path(terminal): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let endpoint = format!("/v1/processing-terminals/{terminal}/single-use-tokens");
    idempotent_post(
        &sandbox,
        &headers,
        body,
        &endpoint,
        Caller::ServerOrHostedFields,
        |request, _key| tokenize(&sandbox, &terminal, request).unwrap_or_else(Reply::from),
    )
    .await
    .into_response()
}

fn tokenize(sandbox: &Sandbox, terminal: &str, request: &Value) -> Result<Reply, Problem> {
    if !known_terminal(sandbox, terminal) {
        return Err(Problem::forbidden(
            "processingTerminal",
            format!("The API key has no access to processing terminal {terminal}"),
        ));
    }
    let request = parse(request)?;
    let token = random_hex(64);
    let card = request.card;
    let response = SingleUseToken {
        processing_terminal_id: Some(terminal.to_owned()),
        operator: request.operator,
        payment_method: None,
        token: token.clone(),
        expires_at: iso_utc(SINGLE_USE_TOKEN_LIFETIME),
        source: TokenSource {
            source_type: "card".to_owned(),
            cardholder_name: card.cardholder_name.clone().unwrap_or_default(),
            card_number: card.pan.masked(),
            expiry_date: Some(card.expiry_date.clone()),
            card_type: Some(brand_name(card.pan.brand()).to_owned()),
            currency: None,
            debit: None,
        },
    };
    lock(&sandbox.payroc.tokens).insert(
        token,
        StoredToken {
            pan: card.pan,
            expiry_date: card.expiry_date,
            cardholder_name: card.cardholder_name,
            cvv_given: card.cvv_given,
            expires: Instant::now() + SINGLE_USE_TOKEN_LIFETIME,
            state: TokenState::Unused,
        },
    );
    Ok(Reply::json(StatusCode::CREATED, &response))
}

fn parse(request: &Value) -> Result<TokenRequest, Problem> {
    let mut f = Fields::default();
    let root = f.root(request)?;
    f.channel(root);
    let operator = f.optional_str(root, "operator");
    let mut card = None;
    if let Some(source) = f.required_object(root, "source") {
        let source = source.node();
        match f.required_str(source, "type").as_deref() {
            Some("card") => card = keyed_card(&mut f, source),
            Some("ach" | "pad") => f.invalid(
                source,
                "type",
                "The sandbox tokenizes cards only (source.type card)",
            ),
            Some(_) => f.invalid(
                source,
                "type",
                "The 'source.type' field must be one of card, ach, pad",
            ),
            None => {}
        }
    }
    f.finish()?;
    match card {
        Some(card) => Ok(TokenRequest { operator, card }),
        None => Err(Problem::invalid(
            "source",
            "Invalid value",
            "No card in the request",
        )),
    }
}

fn keyed_card(f: &mut Fields, source: super::problem::Node<'_>) -> Option<KeyedCard> {
    let details = f.required_object(source, "cardDetails")?;
    let details = details.node();
    let cardholder_name = f.optional_str(details, "cardholderName");
    match f.required_str(details, "entryMethod").as_deref() {
        Some("keyed") => {}
        Some("raw" | "icc" | "swiped") => {
            f.invalid(
                details,
                "entryMethod",
                "The sandbox accepts keyed card details only (entryMethod keyed)",
            );
            return None;
        }
        Some(_) => {
            f.invalid(
                details,
                "entryMethod",
                "The 'entryMethod' field must be one of raw, icc, keyed, swiped",
            );
            return None;
        }
        None => return None,
    }
    let keyed = f.required_object(details, "keyedData")?;
    let keyed = keyed.node();
    match f.required_str(keyed, "dataFormat").as_deref() {
        Some("plainText") => {}
        Some("partiallyEncrypted" | "fullyEncrypted") => f.invalid(
            keyed,
            "dataFormat",
            "The sandbox cannot decrypt card data: send dataFormat plainText",
        ),
        Some(_) => f.invalid(
            keyed,
            "dataFormat",
            "The 'dataFormat' field must be one of plainText, partiallyEncrypted, fullyEncrypted",
        ),
        None => {}
    }
    let pan = f
        .required_str(keyed, "cardNumber")
        .and_then(|number| match Pan::parse(&number) {
            Ok(pan) => Some(pan),
            Err(_) => {
                f.invalid(keyed, "cardNumber", "The card number is not valid");
                None
            }
        });
    let expiry_date =
        f.required_str(keyed, "expiryDate")
            .and_then(|text| match check_expiry(&text) {
                Ok(()) => Some(text),
                Err(message) => {
                    f.invalid(keyed, "expiryDate", message);
                    None
                }
            });
    let cvv = f.optional_str(keyed, "cvv");
    if let Some(cvv) = &cvv {
        if !(3..=4).contains(&cvv.len()) || !cvv.bytes().all(|b| b.is_ascii_digit()) {
            f.invalid(keyed, "cvv", "The 'cvv' field must be 3 or 4 digits");
        }
    }
    if !f.is_clean() {
        return None;
    }
    Some(KeyedCard {
        pan: pan?,
        expiry_date: expiry_date?,
        cardholder_name,
        cvv_given: cvv.is_some(),
    })
}

/// MMYY, a real month, not in the past.
fn check_expiry(text: &str) -> Result<(), &'static str> {
    let format = "The 'expiryDate' field must be MMYY, for example 1230";
    if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format);
    }
    let month: u8 = text[..2].parse().map_err(|_| format)?;
    let year: i32 = text[2..].parse::<i32>().map_err(|_| format)? + 2000;
    if !(1..=12).contains(&month) {
        return Err(format);
    }
    let now = time::OffsetDateTime::now_utc();
    if (year, month) < (now.year(), u8::from(now.month())) {
        return Err("The card has expired");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates() {
        assert_eq!(check_expiry("1299"), Ok(()));
        assert_eq!(check_expiry("0120"), Err("The card has expired"));
        assert!(check_expiry("1399").is_err());
        assert!(check_expiry("12/30").is_err());
        assert!(check_expiry("123").is_err());
    }

    #[test]
    fn parse_reports_paths() {
        let request = serde_json::json!({
            "channel": "web",
            "source": {"type": "card", "cardDetails": {"entryMethod": "keyed",
                "keyedData": {"dataFormat": "plainText", "cardNumber": 4000, "expiryDate": "1230"}}}
        });
        let problem = parse(&request).err().unwrap();
        let errors = problem.errors.unwrap();
        assert_eq!(
            errors[0].parameter,
            "source.cardDetails.keyedData.cardNumber"
        );
        assert_eq!(errors[0].detail, "Invalid format");
    }
}
