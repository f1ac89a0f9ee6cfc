//! dLocal Smart Fields' card tokens: what `dlocal.createToken(...)` yields in the browser,
//! and its use as `card.token` in a payment.
//!
//! dLocal.js posts the fields' card to dLocal with the merchant's public API key and
//! resolves `{token}`; the merchant's server then pays with `card: {token}` (dLocal's card
//! object: "Temporary credit card token securely created using Smart Fields"). The
//! endpoint dLocal.js calls is not public, so the sandbox serves
//! `POST /dlocal/smart-fields/tokens` with `createToken`'s own fields (`name`, `pan`,
//! `expirationMonth`, `expirationYear`, `cvv`, `country`) and dLocal's error object
//! (`{code, message, param}`). A token lives [`TOKEN_LIFETIME`] and pays once; the card
//! behind it is kept in memory as a [`Pan`], the CVV never.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Map, Value};

use super::ApiError;
use crate::emv::Pan;
use crate::sandbox::Sandbox;

/// dLocal publishes no lifetime for Smart Fields tokens; the sandbox uses ten minutes,
/// the lifetime dLocal documents for its other single-use browser token (the card
/// issuing client access token).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The sandbox merchant's public API key (`dlocal('…')` in the page): it can only
/// create tokens.
pub const PUBLIC_KEY: &str = "sandbox-dlocal-public-key";

/// One card token, in memory only.
#[derive(Debug, Clone)]
pub struct CardToken {
    pan: Pan,
    holder_name: String,
    month: u8,
    year: u16,
    expires: Instant,
    used: bool,
}

impl CardToken {
    /// Makes the token expire now (the sandbox control's clock).
    pub fn expire(&mut self) {
        self.expires = Instant::now();
    }

    fn unusable(&self) -> Option<&'static str> {
        if self.used {
            Some("The card token has already been used")
        } else if Instant::now() >= self.expires {
            Some("The card token has expired")
        } else {
            None
        }
    }
}

/// `POST /dlocal/smart-fields/tokens`: the card from the fields in, `{token}` out.
pub(super) async fn create(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let key = headers.get("x-public-key").and_then(|v| v.to_str().ok());
    if key != Some(PUBLIC_KEY) {
        return Err(ApiError::bad_credentials("Invalid public key"));
    }
    let body = super::payments::read_body(body).await?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::invalid_request("Invalid request: malformed JSON"))?;
    let fields = value
        .as_object()
        .ok_or_else(|| ApiError::invalid_request("Invalid request"))?;
    let token = card_of(fields)?;
    let id = format!("CV-{}", uuid::Uuid::new_v4());
    sandbox.dlocal.lock().tokens.insert(id.clone(), token);
    Ok(Json(json!({ "token": id })))
}

fn card_of(fields: &Map<String, Value>) -> Result<CardToken, ApiError> {
    let text = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ApiError::missing_parameter(name))
    };
    let number = |name: &str| {
        let value = fields
            .get(name)
            .ok_or_else(|| ApiError::missing_parameter(name))?;
        value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| ApiError::invalid_parameter(name))
    };
    let holder_name = text("name")?.to_owned();
    let pan = Pan::parse(text("pan")?).map_err(|_| ApiError::invalid_parameter("pan"))?;
    let cvv = text("cvv")?;
    if !(3..=4).contains(&cvv.len()) || !cvv.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_parameter("cvv"));
    }
    let month = number("expirationMonth")?;
    let year = number("expirationYear")?;
    if !(1..=12).contains(&month) {
        return Err(ApiError::invalid_parameter("expirationMonth"));
    }
    if !(2000..=2099).contains(&year) {
        return Err(ApiError::invalid_parameter("expirationYear"));
    }
    Ok(CardToken {
        pan,
        holder_name,
        month: month as u8,
        year: year as u16,
        expires: Instant::now() + TOKEN_LIFETIME,
        used: false,
    })
}

/// When a payment's `card` names a `token`, replaces it by the card it stands for (so
/// the payment's checks and the issuer's scenarios apply as to the card number) and
/// spends the token. Answers the token spent, if any.
pub(super) fn redeem(sandbox: &Sandbox, body: &[u8]) -> Result<Option<Vec<u8>>, ApiError> {
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return Ok(None); // the payment's own parser reports it
    };
    let Some(card) = value.get_mut("card").and_then(Value::as_object_mut) else {
        return Ok(None);
    };
    let Some(id) = card.get("token").and_then(Value::as_str).map(str::to_owned) else {
        return Ok(None);
    };
    let mut inner = sandbox.dlocal.lock();
    let token = inner
        .tokens
        .get_mut(&id)
        .ok_or_else(|| ApiError::invalid_parameter("card.token"))?;
    if let Some(why) = token.unusable() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, 5000, why).with_param("card.token"));
    }
    token.used = true;
    card.remove("token");
    card.insert("holder_name".into(), json!(token.holder_name));
    card.insert("number".into(), json!(token.pan.expose()));
    // The CVV went to dLocal with the token and was checked there; the payment's parser
    // asks for one, so a stand-in goes in its place (never stored).
    card.insert("cvv".into(), json!("000"));
    card.insert("expiration_month".into(), json!(token.month));
    card.insert("expiration_year".into(), json!(token.year));
    Ok(serde_json::to_vec(&value).ok())
}
