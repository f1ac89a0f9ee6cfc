//! Bambora North America (Worldline) Payment API v1, under `/bambora`.
//!
//! Owns Bambora's side of a card payment with 3-D Secure: `POST /v1/payments`
//! (frictionless answers at once; a challenge answers HTTP 302 with the URL-encoded
//! auto-submit form to the sandbox ACS), `POST /v1/payments/{id}/continue` (reads the
//! cres or PaRes, checks it against the ACS's own record and authorizes once),
//! `GET /v1/payments/{id}`, the Reporting API's search (`POST /v1/reports`), the
//! merchant-MPI passthrough variants, and the single-use tokens of
//! `/scripts/tokenization/tokens`. This file holds the routes, the passcode and body
//! checks, and the state; authorizations are in `payments`, the 302 and `continue` in
//! `challenge`, the search in `reports`, wire shapes in [`wire`], request parsing in
//! `request`, the 302 `contents` in `contents`. See docs/sandbox/bambora.md.

mod challenge;
mod contents;
mod fields;
mod lifecycle;
mod payments;
mod reports;
mod request;
pub mod wire;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State as Shared};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Map, Value};

use self::request::{CardInput, Today};
use self::wire::{ApiError, Category, Custom, Payment, ThreeDsResult};
use super::cards::Authorization;
use super::Sandbox;
use crate::emv::{CardBrand, ChallengeWindowSize, Generation};

/// The sandbox merchant (the seed's `Passcode MzAw…` example decodes to these).
pub const MERCHANT_ID: &str = "300200578";
pub const API_PASSCODE: &str = "4BaD82D9197b4cc4b70a221911eE9f70";
/// What the issuer's page shows as the merchant.
pub const MERCHANT_NAME: &str = "Sandbox Merchant Inc.";
/// A Bambora merchant account settles in one currency; the sandbox merchant's is CAD.
pub const CURRENCY: &str = "CAD";
/// Request bodies above this size are refused with a 400.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Single-use tokens expire after 15 minutes, as Bambora documents.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The challenge window Bambora's CReq asks for (03: 500 × 600).
const WINDOW: ChallengeWindowSize = ChallengeWindowSize::W500xH600;
const EMV_VERSION: &str = "2.2.0";

/// Bambora's memory: payments by id, open 3-D Secure sessions, single-use tokens.
#[derive(Debug, Default)]
pub struct State {
    memory: Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    last_id: u64,
    payments: HashMap<String, Transaction>,
    /// By `merchant_data` (3DS1, lower case) or `3d_session_data` (3DS2).
    sessions: HashMap<String, Session>,
    tokens: HashMap<String, Token>,
}

/// A payment as Bambora keeps it: what `GET` answers, and what the reports add.
#[derive(Debug)]
struct Transaction {
    payment: Payment,
    /// `400000******1000`.
    masked_card: String,
    cents: i64,
    /// The authorization a completion, void or return was made against.
    parent: Option<String>,
    /// A pre-auth made expired (`POST /bambora/_sandbox/expire/{id}`): no completion.
    expired: bool,
}

#[derive(Debug)]
struct Token {
    card: CardInput,
    expires: Instant,
    /// Spent by the payment that used it (kept, so a reuse is told apart from expiry).
    used: bool,
}

/// A payment waiting for the cardholder at the ACS.
#[derive(Debug)]
struct Session {
    generation: Generation,
    acs_trans_id: String,
    /// 3DS 2: Bambora's 3DS Server transaction id.
    three_ds_server_trans_id: String,
    order: Order,
    auth_required: bool,
    downgraded: bool,
    progress: Progress,
}

/// Where a 3-D Secure session is. A finished one answers every later `continue`
/// with the same result, so a replay never authorizes twice.
#[derive(Debug)]
enum Progress {
    Pending,
    Finished(Box<Result<Payment, ApiError>>),
}

/// What will be authorized: never the full card number.
#[derive(Debug, Clone)]
struct Order {
    order_number: Option<String>,
    amount: i64,
    complete: bool,
    custom: Custom,
    card: CardSummary,
    authorization: Authorization,
}

#[derive(Debug, Clone)]
struct CardSummary {
    brand: CardBrand,
    card_type: &'static str,
    bin: String,
    last_four: String,
    masked: String,
    cvd_present: bool,
}

/// What 3-D Secure contributes to an authorization.
#[derive(Debug, Clone, Default)]
struct Authenticated {
    three_d_secure: Option<ThreeDsResult>,
    eci: Option<u8>,
    cavv: bool,
}

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/payments", post(create_payment))
        .route("/v1/payments/{id}", get(get_payment))
        .route("/v1/payments/{id}/continue", post(continue_payment))
        .route("/v1/payments/{id}/completions", post(lifecycle::complete))
        .route("/v1/payments/{id}/void", post(lifecycle::void))
        .route("/v1/payments/{id}/returns", post(lifecycle::give_back))
        .route("/_sandbox/expire/{id}", post(lifecycle::expire))
        .route("/v1/reports", post(search))
        .route("/scripts/tokenization/tokens", post(tokenize))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, 404, Category::Input, "Not found")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                405,
                Category::Input,
                "Invalid request method",
            )
        })
}

async fn create_payment(
    Shared(sandbox): Shared<Sandbox>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        authenticate(&headers)?;
        let body = json_body(&headers, body).await?;
        let request = request::payment_request(&body, Today::now())?;
        sandbox.bambora.pay(&sandbox, request)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn get_payment(
    Shared(sandbox): Shared<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = authenticate(&headers) {
        return error.into_response();
    }
    match sandbox.bambora.lock().payments.get(&id) {
        Some(transaction) => Json(transaction.payment.clone()).into_response(),
        None => ApiError::unknown_id("transId").into_response(),
    }
}

async fn continue_payment(
    Shared(sandbox): Shared<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        authenticate(&headers)?;
        let body = json_body(&headers, body).await?;
        let card_response = request::continue_request(&body)?;
        sandbox.bambora.resume(&sandbox, &id, &card_response)
    }
    .await;
    match result {
        Ok(payment) => Json(payment).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `POST /v1/reports`: the Reporting API's search, with the same passcode (the sandbox
/// merchant has one for every API).
async fn search(Shared(sandbox): Shared<Sandbox>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        authenticate(&headers)?;
        let body = json_body(&headers, body).await?;
        let query = reports::query(&body)?;
        Ok::<_, ApiError>(sandbox.bambora.lock().search(&query))
    }
    .await;
    match result {
        Ok(found) => Json(found).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `POST /scripts/tokenization/tokens`: public (no passcode), called from the browser.
/// Like Bambora, it always answers with a token; a token for bad card data is refused
/// when a payment uses it.
async fn tokenize(Shared(sandbox): Shared<Sandbox>, headers: HeaderMap, body: Body) -> Response {
    let body = match json_body(&headers, body).await {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let token = format!("gt7-{}", uuid::Uuid::new_v4());
    let (code, message) = match request::token_request(&body, Today::now()) {
        Ok(card) => {
            let mut memory = sandbox.bambora.lock();
            let now = Instant::now();
            // Kept a while past expiry, so a late use is told "expired", not "unknown".
            memory
                .tokens
                .retain(|_, t| t.expires + TOKEN_LIFETIME > now);
            let expires = now + TOKEN_LIFETIME;
            let used = false;
            memory.tokens.insert(
                token.clone(),
                Token {
                    card,
                    expires,
                    used,
                },
            );
            (1, String::new())
        }
        Err(error) => {
            let hints: Vec<String> = error
                .body
                .details
                .iter()
                .map(|d| format!("{}: {}", d.field, d.message))
                .collect();
            (3, hints.join("; "))
        }
    };
    Json(serde_json::json!({"token": token, "code": code.to_string(), "version": 1, "message": message}))
        .into_response()
}

/// Checks `Authorization: Passcode base64(merchant_id:passcode)`.
fn authenticate(headers: &HeaderMap) -> Result<(), ApiError> {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Passcode"))
        .and_then(|(_, encoded)| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match credentials.as_deref().and_then(|c| c.split_once(':')) {
        Some((MERCHANT_ID, API_PASSCODE)) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

/// A size-limited `application/json` body, parsed as a JSON object.
async fn json_body(headers: &HeaderMap, body: Body) -> Result<Map<String, Value>, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            415,
            Category::Input,
            "Content-Type must be application/json",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::invalid_field(
                "body",
                &format!("The request body must be at most {MAX_BODY_BYTES} bytes"),
            )
        })?;
    request::json_object(&bytes)
}

impl State {
    /// Makes a single-use token expire now; false when there is no such token.
    pub fn expire_token(&self, code: &str) -> bool {
        let mut memory = self.lock();
        let token = memory.tokens.get_mut(code);
        token.map(|t| t.expires = Instant::now()).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_passcode_header_is_the_sandbox_merchant() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "Passcode MzAwMjAwNTc4OjRCYUQ4MkQ5MTk3YjRjYzRiNzBhMjIxOTExZUU5Zjcw"
                .parse()
                .unwrap(),
        );
        assert_eq!(authenticate(&headers), Ok(()));
        headers.insert(
            header::AUTHORIZATION,
            "Basic MzAwMjAwNTc4OjRC".parse().unwrap(),
        );
        assert_eq!(authenticate(&headers).unwrap_err().status, 401);
        headers.remove(header::AUTHORIZATION);
        assert_eq!(authenticate(&headers).unwrap_err().body.code, 21);
    }
}
