//! The Payroc emulator, mounted at `/payroc`: the identity service (`/identity`), the API
//! (`/api/v1`) and the gateway MPI (`/payments`), as ../shared/contract.md fixes them.
//!
//! This module owns Payroc's memory (access tokens, single-use tokens, MPI results,
//! payments, idempotency records), authentication and the idempotent POST; the files
//! beside it own one part of the protocol each: [`tokens`] (tokenization), [`mpi`]
//! (the browser-facing 3-D Secure MPI), [`payments`] (sales), [`operations`] (capture,
//! reverse, refund and the expiry control), [`listing`] (the payments
//! list, filtered and paginated), [`problem`] (errors and input reading) and [`wire`]
//! (response bodies). See docs/sandbox/payroc.md.

// A `Problem` is a whole error document (about 150 bytes) returned once per rejected
// request; boxing it would buy nothing on this cold path and cost readability everywhere.
#![allow(clippy::result_large_err)]

mod listing;
mod mpi;
mod operations;
mod payments;
pub mod problem;
mod tokens;
pub mod wire;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State as Extract;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use super::Sandbox;
use problem::{Problem, Reply};

pub use mpi::{COMPLETE_PATH, MPI_PATH};
pub use operations::{control_routes, EXPIRE_PATH};

/// The processing terminal the contract fixes (its receipt URL is in `SandboxConfig`).
pub const SANDBOX_TERMINAL: &str = "4479001";
/// The built-in API key (`x-api-key`).
pub const SANDBOX_API_KEY: &str = "sandbox-payroc-api-key";
/// Bearer token lifetime unless a test changes it ([`State::set_token_lifetime`]).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// A Hosted Fields session lives as long as the single-use tokens it makes.
pub const FIELDS_SESSION_LIFETIME: Duration = SINGLE_USE_TOKEN_LIFETIME;
/// Single-use tokens live 30 minutes (SDK `single_use_tokens/client.py`).
pub const SINGLE_USE_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Payroc's memory in the sandbox.
#[derive(Debug)]
pub struct State {
    token_lifetime: Mutex<Duration>,
    access_tokens: Mutex<HashMap<String, Instant>>,
    /// Hosted Fields session tokens (they may only create single-use tokens), by expiry.
    fields_sessions: Mutex<HashMap<String, Instant>>,
    tokens: Mutex<HashMap<String, tokens::StoredToken>>,
    mpi: Mutex<HashMap<String, mpi::MpiRecord>>,
    /// In the order they were made (the list endpoint pages through them).
    payments: Mutex<Vec<wire::Payment>>,
    idempotency: Mutex<HashMap<(String, String), Remembered>>,
}

impl Default for State {
    fn default() -> State {
        State {
            token_lifetime: Mutex::new(DEFAULT_TOKEN_LIFETIME),
            access_tokens: Default::default(),
            fields_sessions: Default::default(),
            tokens: Default::default(),
            mpi: Default::default(),
            payments: Default::default(),
            idempotency: Default::default(),
        }
    }
}

impl State {
    /// A Hosted Fields session for the sandbox terminal, as the merchant's server would open
    /// one for the page: a token that can only create single-use tokens.
    pub fn open_fields_session(&self) -> String {
        let session = random_hex(32);
        let now = Instant::now();
        let mut sessions = lock(&self.fields_sessions);
        sessions.retain(|_, expires| *expires > now); // one per page load: drop the old
        sessions.insert(session.clone(), now + FIELDS_SESSION_LIFETIME);
        session
    }

    /// Makes a single-use token expire now; false when there is no such token.
    pub fn expire_single_use_token(&self, token: &str) -> bool {
        let mut tokens = lock(&self.tokens);
        let stored = tokens.get_mut(token);
        stored.map(|t| t.expires = Instant::now()).is_some()
    }

    /// How long Bearer tokens issued from now on stay valid (`expires_in`).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        *lock(&self.token_lifetime) = lifetime;
    }

    pub fn token_lifetime(&self) -> Duration {
        *lock(&self.token_lifetime)
    }

    /// The payment with this id, as `GET /v1/payments/{paymentId}` returns it.
    pub fn payment(&self, payment_id: &str) -> Option<wire::Payment> {
        lock(&self.payments)
            .iter()
            .find(|p| p.payment_id == payment_id)
            .cloned()
    }
}

/// The first answer to an idempotent POST, and the request it answered.
#[derive(Debug, Clone)]
struct Remembered {
    request: Value,
    reply: Reply,
}

/// Payroc's routes, relative to `/payroc`.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/identity/authorize", post(authorize))
        .route(
            "/api/v1/processing-terminals/{terminal}/single-use-tokens",
            post(tokens::create),
        )
        .route(
            "/api/v1/payments",
            post(payments::create).get(listing::list),
        )
        .route("/api/v1/payments/{payment_id}", get(payments::retrieve))
        .route(MPI_PATH, get(mpi::start))
        .route(COMPLETE_PATH, post(mpi::complete))
        .merge(operations::routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
}

async fn unknown_route() -> Response {
    Problem::not_found("resource", "").into_response()
}

/// `POST /identity/authorize`: `x-api-key` → a Bearer token.
async fn authorize(Extract(sandbox): Extract<Sandbox>, headers: HeaderMap) -> Response {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if key != Some(SANDBOX_API_KEY) {
        return Problem::not_authorized("The API key is missing or not valid").into_response();
    }
    let lifetime = sandbox.payroc.token_lifetime();
    let access_token = random_hex(32);
    lock(&sandbox.payroc.access_tokens).insert(access_token.clone(), Instant::now() + lifetime);
    Reply::json(
        StatusCode::OK,
        &wire::AccessToken {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: lifetime.as_secs(),
            scope: "payments tokenization mpi".to_owned(),
        },
    )
    .into_response()
}

/// Checks `Authorization: Bearer <token>` against the tokens issued and their expiry.
fn authenticate(sandbox: &Sandbox, headers: &HeaderMap, caller: Caller) -> Result<(), Problem> {
    let token = bearer(headers)?;
    let fields_session = || lock(&sandbox.payroc.fields_sessions).get(token).copied();
    if let (Caller::ServerOrHostedFields, Some(expiry)) = (caller, fields_session()) {
        return if Instant::now() < expiry {
            Ok(())
        } else {
            Err(Problem::not_authorized("The session token has expired"))
        };
    }
    match lock(&sandbox.payroc.access_tokens).get(token) {
        None => Err(Problem::not_authorized("The access token is not valid")),
        Some(expiry) if Instant::now() >= *expiry => {
            Err(Problem::not_authorized("The access token has expired"))
        }
        Some(_) => Ok(()),
    }
}

/// Who may call an endpoint: the merchant's server (access token), or also the page's
/// Hosted Fields (session token; single-use tokens only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Server,
    ServerOrHostedFields,
}

fn bearer(headers: &HeaderMap) -> Result<&str, Problem> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Problem::not_authorized("The Authorization header is missing"))?;
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| Problem::not_authorized("Send the access token as a Bearer token"))?;
    Ok(token)
}

/// The shared frame of Payroc's POSTs: Bearer auth, the `Idempotency-Key` (required, a
/// UUID), the JSON body, and the replay rule. `process` runs under the idempotency lock, so
/// two requests with one key cannot both act; only successful answers are remembered
/// (a rejected request did nothing, and may be corrected and sent again with its key).
async fn idempotent_post(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    body: Body,
    endpoint: &str,
    caller: Caller,
    process: impl FnOnce(&Value, &str) -> Reply,
) -> Reply {
    if let Err(problem) = authenticate(sandbox, headers, caller) {
        return problem.into();
    }
    let Some(key) = headers.get("idempotency-key") else {
        return Problem::idempotency_key_missing().into();
    };
    let key = match key.to_str().ok().map(str::trim) {
        Some(key) if uuid::Uuid::parse_str(key).is_ok() => key.to_owned(),
        _ => {
            return Problem::invalid(
                "Idempotency-Key",
                "Invalid format",
                "The 'Idempotency-Key' header must be a UUID v4",
            )
            .into()
        }
    };
    let request = match problem::read_json(headers, body).await {
        Ok(value) => value,
        Err(problem) => return problem.into(),
    };
    let mut remembered = lock(&sandbox.payroc.idempotency);
    let slot = (endpoint.to_owned(), key.clone());
    if let Some(first) = remembered.get(&slot) {
        return if first.request == request {
            first.reply.clone()
        } else {
            Problem::idempotency_key_in_use(endpoint).into()
        };
    }
    let reply = process(&request, &key);
    if reply.status.is_success() {
        remembered.insert(
            slot,
            Remembered {
                request,
                reply: reply.clone(),
            },
        );
    }
    reply
}

/// Whether the terminal is one the sandbox's merchant owns (it has a receipt URL).
fn known_terminal(sandbox: &Sandbox, terminal: &str) -> bool {
    sandbox.config.payroc_receipt_urls.contains_key(terminal)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `2 * bytes` lowercase hex characters from fresh v4 UUIDs.
fn random_hex(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    while out.len() < bytes * 2 {
        for b in uuid::Uuid::new_v4().as_bytes() {
            out.push_str(&format!("{b:02x}"));
        }
    }
    out.truncate(bytes * 2);
    out
}

/// `len` characters of `A-Z0-9`, like Payroc's paymentId `M2MJOG6O2Y`.
fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() < len {
                out.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
            }
        }
    }
    out
}

/// Now plus `ahead`, as ISO 8601 UTC seconds (`2024-08-05T17:50:05Z`).
fn iso_utc(ahead: Duration) -> String {
    let at = time::OffsetDateTime::now_utc() + ahead;
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.format(&format).unwrap_or_default()
}

/// Payroc's name for a card brand (`card.type`).
fn brand_name(brand: crate::emv::CardBrand) -> &'static str {
    use crate::emv::CardBrand;
    match brand {
        CardBrand::Visa => "Visa",
        CardBrand::Mastercard => "MasterCard",
        CardBrand::Amex => "American Express",
        CardBrand::Discover => "Discover",
        CardBrand::Jcb => "JCB",
        CardBrand::Diners => "Diners Club",
        CardBrand::Elo => "Elo",
        CardBrand::UnionPay => "UnionPay",
        CardBrand::Unknown => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_payroc_shapes() {
        let id = random_id(10);
        assert_eq!(id.len(), 10);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let hex = random_hex(64);
        assert_eq!(hex.len(), 128);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(random_hex(10).len(), 20);
        assert!(iso_utc(Duration::ZERO).ends_with('Z'));
    }
}
