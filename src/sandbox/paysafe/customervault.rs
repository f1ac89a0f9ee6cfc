//! Paysafe Customer Vault single-use tokens: `POST /customervault/v1/singleusetokens`.
//!
//! A merchant exchanges card details for a `paymentToken` that the 3-D Secure
//! authentication and the Card Payments authorization accept as `card: {paymentToken}`,
//! so that its own stored state never needs the card number. The token lives in the
//! emulator's memory only, with the card as a `Pan` (never written anywhere), for
//! [`TOKEN_TTL_SECONDS`]; an authentication may read it while it is alive, and the first
//! authorization that uses it consumes it.
//!
//! Sources: the Paysafe iOS SDK (`CustomerVaultService.swift`: the path and the
//! `{card: {...}}` body; `SingleUseToken.swift`, `TokenizedCard.swift`: the response).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::error::{FieldError, PaysafeError};
use super::fields::{self, member, opt, req, text, Field, Rule};
use super::{
    authenticate, authenticate_single_use_key, new_id, parse_card, read_json, CardSummary,
};
use crate::emv::Pan;
use crate::sandbox::Sandbox;

/// How long a single-use token lives: Paysafe's `timeToLiveSeconds` (899 in its SDK
/// fixtures, just under fifteen minutes).
pub const TOKEN_TTL_SECONDS: u64 = 899;

/// One single-use token, in memory only.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: String,
    /// The `paymentToken` value.
    pub payment_token: String,
    pub pan: Pan,
    pub card: CardSummary,
    pub holder_name: Option<String>,
    /// Whether a CVV came with the card (the CVV itself is dropped at once).
    pub cvv_given: bool,
    pub expires_at: Instant,
    /// The authorization (merchantRefNum) that consumed the token.
    pub used_by: Option<String>,
}

impl TokenRecord {
    pub fn is_alive(&self) -> bool {
        Instant::now() < self.expires_at
    }
}

const TOKEN_REQUEST: &[Field] = &[req(
    "card",
    Rule::Object(&[
        req("cardNum", Rule::Text { min: 8, max: 20 }),
        req("cardExpiry", Rule::Object(fields::CARD_EXPIRY)),
        opt("cvv", Rule::Text { min: 3, max: 4 }),
        opt("holderName", text(160)),
    ]),
)];

/// `POST /customervault/v1/singleusetokens`.
pub async fn create_token(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, PaysafeError> {
    authenticate(&headers).or_else(|_| authenticate_single_use_key(&headers))?;
    let body = read_json(body).await?;
    let mut errors = Vec::new();
    fields::check(TOKEN_REQUEST, &body, "", &mut errors);
    let card = member(Some(&body), "card");
    let cvv = member(card, "cvv").and_then(Value::as_str);
    if cvv.is_some_and(|cvv| !cvv.bytes().all(|b| b.is_ascii_digit())) {
        errors.push(FieldError::new("card.cvv", "must be 3 or 4 digits"));
    }
    if !errors.is_empty() {
        return Err(PaysafeError::fields(errors));
    }
    let (pan, summary) = parse_card(&body)?;
    let holder_name = member(card, "holderName")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let ttl = sandbox.paysafe.token_ttl();
    let payment_token = payment_token();
    let record = TokenRecord {
        id: new_id(),
        payment_token: payment_token.clone(),
        pan,
        card: summary,
        holder_name,
        cvv_given: cvv.is_some(),
        expires_at: Instant::now() + ttl,
        used_by: None,
    };
    let mut tokenized = json!({
        "cardBin": record.card.bin,
        "lastDigits": record.card.last_digits,
        "cardExpiry": {"month": record.card.month, "year": record.card.year},
        "cardType": super::card_type(record.card.brand),
    });
    if let (Some(name), Some(object)) = (&record.holder_name, tokenized.as_object_mut()) {
        object.insert("holderName".into(), json!(name));
    }
    let response = json!({
        "id": record.id,
        "paymentToken": payment_token,
        "timeToLiveSeconds": ttl.as_secs(),
        "card": tokenized,
    });
    sandbox.paysafe.lock().tokens.insert(payment_token, record);
    Ok(Json(response))
}

/// A Paysafe-looking token: `SC` and 14 characters.
fn payment_token() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("SC{}", hex[..14].to_ascii_uppercase())
}

/// The `card.paymentToken` of a request body, if it names one.
pub fn token_of(body: &Value) -> Option<&str> {
    member(member(Some(body), "card"), "paymentToken").and_then(Value::as_str)
}

/// The 5068 error for a token that is unknown, expired or used.
pub fn bad_token(problem: &str) -> PaysafeError {
    PaysafeError::field("card.paymentToken", problem)
}

/// Replaces `card: {paymentToken}` by the card it stands for (number, expiry, holder),
/// so the request tables and card checks apply unchanged. The caller decides whether a
/// used or expired token is acceptable (a replayed authorization is).
pub fn expand(sandbox: &Sandbox, body: &mut Value) -> Result<Option<TokenRecord>, PaysafeError> {
    let Some(token) = token_of(body).map(str::to_owned) else {
        return Ok(None);
    };
    let record = sandbox
        .paysafe
        .lock()
        .tokens
        .get(&token)
        .cloned()
        .ok_or_else(|| bad_token("no single-use token with this value"))?;
    let mut card = json!({
        "cardNum": record.pan.expose(),
        "cardExpiry": {"month": record.card.month, "year": record.card.year},
        "holderName": record.holder_name.clone().unwrap_or_else(|| "Card Holder".to_owned()),
    });
    if let (Some(given), Some(object)) = (member(Some(body), "card"), card.as_object_mut()) {
        if let Some(cvv) = member(Some(given), "cvv") {
            object.insert("cvv".into(), cvv.clone());
        }
    }
    if let Some(object) = body.as_object_mut() {
        object.insert("card".into(), card);
    }
    Ok(Some(record))
}

/// Default TTL, as a `Duration`.
pub fn default_ttl() -> Duration {
    Duration::from_secs(TOKEN_TTL_SECONDS)
}
