//! The dLocal emulator, mounted at `/dlocal` (production `https://api.dlocal.com`).
//!
//! It owns dLocal's wire protocol as the sandbox serves it: signed requests
//! (`auth`), the payment request and object (`wire`), the card decision, payment
//! lifecycle and the merchant's cancel (`payments`), the 3-D Secure redirect page with
//! its return to the merchant's `callback_url` (`three_ds`), and the signed, retried
//! server-to-server notifications (`notify`). The issuer itself (challenge pages, the truth about a challenge) belongs
//! to `super::acs`; this module only asks it. docs/sandbox/dlocal.md lists every choice.

mod auth;
mod notify;
mod operations;
mod payments;
mod smart_fields;
mod three_ds;
mod wire;

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::Sandbox;

pub use auth::{callback_signature, signature, LOGIN, SECRET_KEY, TRANS_KEY, VERSION};
pub use notify::{AttemptOutcome, NotificationAttempt};
pub use smart_fields::PUBLIC_KEY;

/// The largest request body accepted (a payment request is well under 4 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// dLocal's memory: payments by id, and the indexes that keep order ids unique and
/// idempotent retries harmless.
#[derive(Debug, Default)]
pub struct State {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    payments: HashMap<String, payments::Payment>,
    /// order_id → payment id.
    orders: HashMap<String, String>,
    /// X-Idempotency-Key → payment id.
    idempotency: HashMap<String, String>,
    notification_attempts: Vec<NotificationAttempt>,
    /// Deliveries started so far (numbers them).
    deliveries: u64,
    /// Smart Fields card tokens by token.
    tokens: HashMap<String, smart_fields::CardToken>,
    /// Captures by their id.
    captures: HashMap<String, operations::Capture>,
    /// Refunds by their id.
    refunds: HashMap<String, operations::Refund>,
    /// X-Idempotency-Key of a capture, cancel or refund → what it made.
    operation_keys: HashMap<String, operations::Replay>,
}

impl State {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every notification delivery attempt so far, in the order they were made.
    pub fn notification_attempts(&self) -> Vec<NotificationAttempt> {
        self.lock().notification_attempts.clone()
    }

    /// Makes a Smart Fields card token expire now; false when there is no such token.
    pub fn expire_token(&self, token: &str) -> bool {
        self.lock()
            .tokens
            .get_mut(token)
            .map(|t| t.expire())
            .is_some()
    }

    /// Expires an `AUTHORIZED` payment nothing was captured of (`EXPIRED`: a later
    /// capture is refused); false when there is no such authorization.
    pub fn expire_authorization(&self, payment_id: &str) -> bool {
        operations::expire_in(&mut self.lock(), payment_id)
    }

    /// How many payments exist (tests prove that a refused request created none).
    pub fn payment_count(&self) -> usize {
        self.lock().payments.len()
    }
}

/// The routes, relative to `/dlocal`. AM appends a trailing `/` to paths, so both forms
/// are served.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/secure_payments", post(payments::create))
        .route("/secure_payments/", post(payments::create))
        // A payment with a Smart Fields `card.token` goes to `/payments` (dLocal's card
        // object); the sandbox takes either kind at either path.
        // A body naming an `authorization_id` is a capture.
        .route("/payments", post(operations::create_or_capture))
        .route("/payments/", post(operations::create_or_capture))
        .route("/refunds", post(operations::refund))
        .route("/refunds/", post(operations::refund))
        .route("/refunds/{id}", get(operations::retrieve_refund))
        .route("/refunds/{id}/", get(operations::retrieve_refund))
        .route("/refunds/{id}/status", get(operations::refund_status))
        .route("/refunds/{id}/status/", get(operations::refund_status))
        .route("/smart-fields/tokens", post(smart_fields::create))
        .route("/payments/{id}", get(payments::retrieve))
        .route("/payments/{id}/", get(payments::retrieve))
        .route("/payments/{id}/status", get(payments::status))
        .route("/payments/{id}/status/", get(payments::status))
        .route("/payments/{id}/cancel", post(payments::cancel))
        .route("/payments/{id}/cancel/", post(payments::cancel))
        .route("/orders/{order_id}", get(payments::by_order))
        .route("/orders/{order_id}/", get(payments::by_order))
        .route("/three-ds/{id}", get(three_ds::page))
        .route("/three-ds/{id}/complete", post(three_ds::complete))
}

/// The sandbox's own dLocal controls, mounted at the root: `POST
/// /_sandbox/dlocal/payments/{id}/expire` expires an authorization (docs/sandbox/dlocal.md).
pub fn control_routes() -> Router<Sandbox> {
    Router::new().route(
        "/_sandbox/dlocal/payments/{id}/expire",
        post(operations::expire),
    )
}

/// dLocal's error body `{code, message, param?}` with its HTTP status
/// (docs.dlocal.com/reference/http-errors-payments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ApiError {
    status: StatusCode,
    code: u16,
    message: String,
    param: Option<String>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a str>,
}

impl ApiError {
    fn new(status: StatusCode, code: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            param: None,
        }
    }

    fn with_param(mut self, param: impl Into<String>) -> ApiError {
        self.param = Some(param.into());
        self
    }

    /// 403 3001: wrong X-Login, X-Trans-Key or signature.
    fn bad_credentials(message: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, 3001, message)
    }

    /// 404 4000.
    fn payment_not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 4000, "Payment not found")
    }

    /// 400 5000: the request (or one parameter of it) is not valid.
    fn invalid_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 5000, message)
    }

    fn invalid_parameter(param: &str) -> ApiError {
        ApiError::invalid_request(format!("Invalid parameter: {param}")).with_param(param)
    }

    /// 400 5001.
    fn missing_parameter(param: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            5001,
            format!("Missing parameter: {param}"),
        )
        .with_param(param)
    }

    /// 400 5002: the payment's status does not allow the operation (a cancel of a
    /// payment that is no longer pending).
    fn invalid_status(status: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            5002,
            format!("Invalid status: the payment is {status}"),
        )
    }

    /// 400 5007: more than the payment has left (a capture above the authorization, a
    /// refund above what was captured and not yet refunded).
    fn amount_exceeded() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 5007, "Amount exceeded").with_param("amount")
    }

    /// 404 4000 for a refund id this merchant has no refund under.
    fn refund_not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 4000, "Refund not found")
    }

    /// 400 5009.
    fn order_id_duplicated() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 5009, "Order id duplicated").with_param("order_id")
    }

    /// 400 5017.
    fn invalid_version() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 5017, "Invalid version").with_param("X-Version")
    }

    /// 413 in dLocal's shape (code 5000): dLocal documents no size limit.
    fn body_too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            5000,
            format!("Request body larger than {MAX_BODY_BYTES} bytes"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: &self.message,
            param: self.param.as_deref(),
        };
        (self.status, Json(body)).into_response()
    }
}
