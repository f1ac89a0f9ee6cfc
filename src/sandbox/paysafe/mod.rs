//! The Paysafe emulator, mounted at `/paysafe` (production `https://api.paysafe.com`).
//!
//! Owns Paysafe's 3-D Secure 2 API (`/threedsecure/v2`: device-fingerprinting session,
//! authentications, challenge finalization) and the Card Payments authorization
//! (`/cardpayments/v1/.../auths`), with Paysafe's Basic credentials, field validation
//! and error envelope. The issuer behind it is the shared sandbox ACS (`sandbox.acs`);
//! the card number decides what the issuer does (`CardProfile::of`).
//!
//! - [`threedsecure`]: monitor, jwt, authentications, finalize, and the two pages
//!   Paysafe hosts in the sandbox (Method and challenge completion);
//! - [`cardpayments`]: authorizations, checked against completed authentications, with
//!   the duplicate check on merchantRefNum, and their lookup by id or merchantRefNum;
//! - [`lifecycle`]: settlements, authorization reversals and refunds, booked in the
//!   ledger, their lookups, and the control that expires an authorization;
//! - [`customervault`]: single-use card tokens (`card: {paymentToken}` elsewhere);
//! - [`fields`]: the seed's request tables and the validator;
//! - [`error`]: the error envelope and codes.
//!
//! Deviations from the real Paysafe are listed in `docs/sandbox/paysafe.md`.

pub mod cardpayments;
pub mod customervault;
pub mod error;
pub mod fields;
pub mod lifecycle;
pub mod threedsecure;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use axum::body::Body;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use self::error::PaysafeError;
use super::Sandbox;
use crate::emv::{CardBrand, EmvError, Pan};

/// The sandbox API key user (Basic user name).
pub const SANDBOX_USER: &str = "sandbox-paysafe-user";
/// The sandbox API key password.
pub const SANDBOX_PASSWORD: &str = "sandbox-paysafe-password";
/// The public Single-Use Token API key (Paysafe.js `paysafe.fields.setup(apiKey)`), user.
pub const SANDBOX_SUT_USER: &str = "sandbox-paysafe-sut-user";
/// The public Single-Use Token API key, password.
pub const SANDBOX_SUT_PASSWORD: &str = "sandbox-paysafe-sut-password";
/// The one merchant account the sandbox credentials may use.
pub const SANDBOX_ACCOUNT: &str = "89987201";
/// The account's currency, used when an authorization has no authentication to take one from.
pub const ACCOUNT_CURRENCY: &str = "USD";
/// Where the emulator is mounted.
pub const PREFIX: &str = "/paysafe";
/// Request bodies above this size get error 5023.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Paysafe's memory: fingerprinting sessions, authentications and authorizations.
#[derive(Debug, Default)]
pub struct State {
    store: Mutex<Store>,
}

#[derive(Debug, Default)]
struct Store {
    /// By deviceFingerprintingId.
    sessions: HashMap<String, threedsecure::FingerprintSession>,
    /// By authentication id (add with [`Store::add_authentication`]).
    authentications: HashMap<String, threedsecure::AuthenticationRecord>,
    /// Authentication ids by (account, merchantRefNum): one each, a second is refused.
    authentication_refs: HashMap<(String, String), String>,
    /// Authentication ids by every transaction id an authentication names (its
    /// challenge's acsTransID / XID and directory id, its outcome's): all known when it
    /// is added, since completing a challenge only copies the challenge's ids.
    authentication_transactions: HashMap<String, String>,
    /// By authorization id (add with [`Store::add_auth`]).
    auths: HashMap<String, cardpayments::AuthRecord>,
    /// Authorization ids by (account, merchantRefNum): one each, a second is refused.
    auth_refs: HashMap<(String, String), String>,
    /// Single-use tokens by paymentToken (the card in memory only).
    tokens: HashMap<String, customervault::TokenRecord>,
    /// Overrides [`customervault::TOKEN_TTL_SECONDS`] (tests of expiry).
    token_ttl: Option<std::time::Duration>,
    /// Settlements, reversals and refunds, and expired authorizations.
    lifecycle: lifecycle::Lifecycle,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long new single-use tokens live.
    pub fn token_ttl(&self) -> std::time::Duration {
        self.lock()
            .token_ttl
            .unwrap_or_else(customervault::default_ttl)
    }

    /// Makes a single-use token expire now; false when there is no such token.
    pub fn expire_token(&self, payment_token: &str) -> bool {
        let mut store = self.lock();
        let token = store.tokens.get_mut(payment_token);
        token
            .map(|t| t.expires_at = std::time::Instant::now())
            .is_some()
    }

    /// Sets the lifetime of tokens created from now on (a test control).
    pub fn set_token_ttl(&self, ttl: std::time::Duration) {
        self.lock().token_ttl = Some(ttl);
    }
}

/// The lookups by reference are indexes, not scans: the sandbox keeps every record of
/// a long run (a benchmark makes tens of thousands), and each payment looks some up.
impl Store {
    fn add_authentication(&mut self, record: threedsecure::AuthenticationRecord) {
        let key = (record.account_id.clone(), record.merchant_ref_num.clone());
        self.authentication_refs.insert(key, record.id.clone());
        for transaction in record.transaction_ids() {
            self.authentication_transactions
                .insert(transaction.to_owned(), record.id.clone());
        }
        self.authentications.insert(record.id.clone(), record);
    }

    /// The account's authentication of `merchant_ref_num`.
    fn authentication_with_ref(
        &self,
        account: &str,
        merchant_ref_num: &str,
    ) -> Option<&threedsecure::AuthenticationRecord> {
        let key = (account.to_owned(), merchant_ref_num.to_owned());
        self.authentications
            .get(self.authentication_refs.get(&key)?)
    }

    /// The authentication that names `transaction` (any account).
    fn authentication_of_transaction(
        &self,
        transaction: &str,
    ) -> Option<&threedsecure::AuthenticationRecord> {
        self.authentications
            .get(self.authentication_transactions.get(transaction)?)
    }

    fn add_auth(&mut self, record: cardpayments::AuthRecord) {
        let key = (record.account_id.clone(), record.merchant_ref_num.clone());
        self.auth_refs.insert(key, record.id.clone());
        self.auths.insert(record.id.clone(), record);
    }

    /// The account's authorization of `merchant_ref_num`.
    fn auth_with_ref(
        &self,
        account: &str,
        merchant_ref_num: &str,
    ) -> Option<&cardpayments::AuthRecord> {
        let key = (account.to_owned(), merchant_ref_num.to_owned());
        self.auths.get(self.auth_refs.get(&key)?)
    }
}

pub fn routes() -> Router<Sandbox> {
    use threedsecure as tds;
    Router::new()
        .route("/threedsecure/monitor", get(tds::monitor))
        .route("/threedsecure/v2/jwt", post(tds::jwt))
        .route(
            "/threedsecure/v2/accounts/{account}/authentications",
            post(tds::create_authentication),
        )
        .route(
            "/threedsecure/v2/accounts/{account}/authentications/{id}",
            get(tds::get_authentication),
        )
        .route(
            "/threedsecure/v2/accounts/{account}/authentications/{id}/finalize",
            post(tds::finalize),
        )
        .route(tds::METHOD_COMPLETE_PATH, post(tds::method_complete))
        .route(tds::CHALLENGE_COMPLETE_PATH, post(tds::challenge_complete))
        .route(
            "/cardpayments/v1/accounts/{account}/auths",
            post(cardpayments::create_auth).get(cardpayments::find_auths),
        )
        .route(
            "/customervault/v1/singleusetokens",
            post(customervault::create_token),
        )
        .route(
            "/cardpayments/v1/accounts/{account}/auths/{id}",
            get(cardpayments::get_auth),
        )
        .merge(lifecycle_routes())
        .fallback(|| async { PaysafeError::not_found() })
}

/// Settlements, authorization reversals and refunds, and their lookups.
fn lifecycle_routes() -> Router<Sandbox> {
    use lifecycle as ops;
    const ACCOUNT: &str = "/cardpayments/v1/accounts/{account}";
    Router::new()
        .route(
            &format!("{ACCOUNT}/auths/{{id}}/settlements"),
            post(ops::settle),
        )
        .route(
            &format!("{ACCOUNT}/auths/{{id}}/voidauths"),
            post(ops::void_auth),
        )
        .route(
            &format!("{ACCOUNT}/settlements/{{id}}/refunds"),
            post(ops::refund),
        )
        .route(
            &format!("{ACCOUNT}/settlements"),
            get(ops::find_settlements),
        )
        .route(&format!("{ACCOUNT}/voidauths"), get(ops::find_void_auths))
        .route(&format!("{ACCOUNT}/refunds"), get(ops::find_refunds))
        .route(
            &format!("{ACCOUNT}/settlements/{{id}}"),
            get(ops::get_settlement),
        )
        .route(
            &format!("{ACCOUNT}/voidauths/{{id}}"),
            get(ops::get_void_auth),
        )
        .route(&format!("{ACCOUNT}/refunds/{{id}}"), get(ops::get_refund))
}

/// Checks `Authorization: Basic base64(user:password)`.
fn authenticate(headers: &HeaderMap) -> Result<(), PaysafeError> {
    basic_auth(headers, SANDBOX_USER, SANDBOX_PASSWORD)
}

/// Checks the Single-Use Token API key Paysafe.js sends from the browser; it can only
/// create single-use tokens.
fn authenticate_single_use_key(headers: &HeaderMap) -> Result<(), PaysafeError> {
    basic_auth(headers, SANDBOX_SUT_USER, SANDBOX_SUT_PASSWORD)
}

fn basic_auth(headers: &HeaderMap, user: &str, password: &str) -> Result<(), PaysafeError> {
    let expected = format!("{user}:{password}");
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("basic")
                .then(|| {
                    base64::engine::general_purpose::STANDARD
                        .decode(token.trim())
                        .ok()
                })
                .flatten()
        });
    match given {
        Some(bytes) if bytes == expected.as_bytes() => Ok(()),
        _ => Err(PaysafeError::invalid_credentials()),
    }
}

/// Credentials, then the account in the path.
fn authorize(headers: &HeaderMap, account: &str) -> Result<(), PaysafeError> {
    authenticate(headers)?;
    if account == SANDBOX_ACCOUNT {
        Ok(())
    } else {
        Err(PaysafeError::no_permission())
    }
}

/// Reads a JSON object body of at most [`MAX_BODY_BYTES`].
async fn read_json(body: Body) -> Result<Value, PaysafeError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| PaysafeError::unparseable("the request body is larger than 64 KiB"))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| PaysafeError::unparseable(&format!("malformed JSON: {e}")))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(PaysafeError::unparseable(
            "the request body must be a JSON object",
        ))
    }
}

/// Reads an `application/x-www-form-urlencoded` body (the pages the browser posts to).
async fn read_form(body: Body) -> Option<HashMap<String, String>> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.ok()?;
    Some(form_urlencoded::parse(&bytes).into_owned().collect())
}

/// Paysafe's two-letter card type.
fn card_type(brand: CardBrand) -> &'static str {
    match brand {
        CardBrand::Visa => "VI",
        CardBrand::Mastercard => "MC",
        CardBrand::Amex => "AM",
        CardBrand::Discover => "DI",
        CardBrand::Jcb => "JC",
        CardBrand::Diners => "DC",
        CardBrand::Elo => "EL",
        CardBrand::UnionPay => "UP",
        CardBrand::Unknown => "UN",
    }
}

/// A card as the sandbox keeps it: never the full number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSummary {
    pub brand: CardBrand,
    pub bin: String,
    pub last_digits: String,
    /// `400000******1000`.
    pub masked: String,
    pub month: i64,
    pub year: i64,
}

impl CardSummary {
    fn json(&self) -> Value {
        json!({
            "cardBin": self.bin,
            "lastDigits": self.last_digits,
            "type": card_type(self.brand),
            "cardExpiry": {"month": self.month, "year": self.year},
        })
    }
}

/// `card{cardNum, cardExpiry{month, year}}` of a body whose fields already passed the
/// table: the number must be a card number (3002) and the expiry not past (3006).
fn parse_card(body: &Value) -> Result<(Pan, CardSummary), PaysafeError> {
    let card = body.get("card");
    let number = card
        .and_then(|c| c.get("cardNum"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let pan = Pan::parse(number).map_err(|_: EmvError| PaysafeError::invalid_card())?;
    let expiry = card.and_then(|c| c.get("cardExpiry"));
    let month = expiry
        .and_then(|e| e.get("month"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let year = expiry
        .and_then(|e| e.get("year"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let now = time::OffsetDateTime::now_utc();
    let current = (i64::from(now.year()), i64::from(u8::from(now.month())));
    if (year, month) < current {
        return Err(PaysafeError::expired_card());
    }
    let summary = CardSummary {
        brand: pan.brand(),
        bin: pan.bin().to_owned(),
        last_digits: pan.last_four().to_owned(),
        masked: pan.masked(),
        month,
        year,
    };
    Ok((pan, summary))
}

/// A fresh Paysafe-style id (a UUID).
fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
