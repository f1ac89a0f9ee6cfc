//! What comes back to the backend from dLocal outside an API answer: the browser's
//! signed `callback_url` form and dLocal's signed notifications. Both are checked here
//! (signature in constant time, login, freshness, that they name this session's payment)
//! and refused with [`DlocalError`], the adapter's one error type (a stable `code()`).
//! Neither is trusted for the result: a verified one only makes the adapter re-read the
//! payment. Pure functions of their input.

use super::wire::{callback_message, parse_x_date, verify, SCHEME_PREFIX};
use super::{Config, State};
use crate::provider::{BrowserReturn, Notification, ReturnRefused};

/// How far a notification's `X-Date` may be from this backend's clock. dLocal signs each
/// delivery (its retries too) with the time it sends it, so an older one is a replay of
/// a captured notification; the margin covers clock skew and a slow network.
pub const NOTIFICATION_WINDOW_MS: u64 = 10 * 60 * 1000;

/// Whether `notification` was sent within [`NOTIFICATION_WINDOW_MS`] of `now_ms` (by its
/// `X-Date`; checked before its signature, which covers the date).
pub fn notification_is_fresh(notification: &Notification, now_ms: u64) -> bool {
    notification
        .header("X-Date")
        .and_then(parse_x_date)
        .is_some_and(|sent| sent.abs_diff(now_ms) <= NOTIFICATION_WINDOW_MS)
}

/// Why a callback or notification was refused. `code()` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DlocalError {
    #[error("the notification lacks the {0} header (or repeats it)")]
    MissingHeader(&'static str),
    #[error("the notification is for another dLocal merchant (X-Login)")]
    WrongLogin,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the notification body is not a dLocal payment object")]
    MalformedBody,
    #[error("the callback lacks {0} (or repeats it)")]
    MalformedCallback(&'static str),
    #[error("the callback names another payment than this session's")]
    ForeignPayment,
    #[error("this session is not waiting for the browser")]
    NotAwaitingBrowser,
}

impl DlocalError {
    pub fn code(&self) -> &'static str {
        match self {
            DlocalError::MissingHeader(_) => "notification_header_missing",
            DlocalError::WrongLogin => "wrong_login",
            DlocalError::BadSignature => "bad_signature",
            DlocalError::MalformedBody => "malformed_notification",
            DlocalError::MalformedCallback(_) => "malformed_callback",
            DlocalError::ForeignPayment => "foreign_payment",
            DlocalError::NotAwaitingBrowser => "not_awaiting_browser",
        }
    }

    fn message(&self) -> &'static str {
        match self {
            DlocalError::MissingHeader(_) => "The notification is not signed.",
            DlocalError::WrongLogin => "The notification is for another merchant.",
            DlocalError::BadSignature => "The signature does not match.",
            DlocalError::MalformedBody => "The notification body cannot be read.",
            DlocalError::MalformedCallback(_) => "The return from dLocal is incomplete.",
            DlocalError::ForeignPayment => "The return names another payment.",
            DlocalError::NotAwaitingBrowser => "This payment is not waiting for a return.",
        }
    }

    /// The refusal the host shows on the return route.
    pub fn refused(&self) -> ReturnRefused {
        ReturnRefused {
            code: self.code(),
            message: self.message(),
        }
    }
}

/// What a verified notification says, enough for the host to find the session (by
/// order id) before it loads it. A hint only: the adapter re-reads the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationHint {
    pub payment_id: String,
    pub order_id: Option<String>,
    pub status: String,
}

/// Checks a notification's signature (`Authorization` over `X-Login + X-Date + body`,
/// constant time) and login, and reads the payment id and order id from its body. The
/// login signed is the merchant's own: dLocal's notification guide names only `X-Date` and
/// `Authorization` as the signature's headers, so a notification without `X-Login` is
/// checked with the configured one, and one that names another login is refused.
pub fn verify_notification(
    config: &Config,
    notification: &Notification,
) -> Result<NotificationHint, DlocalError> {
    let header = |name: &'static str| {
        notification
            .header(name)
            .ok_or(DlocalError::MissingHeader(name))
    };
    let date = header("X-Date")?;
    let authorization = header("Authorization")?;
    let login = notification.header("X-Login").unwrap_or(&config.x_login);
    if login != config.x_login {
        return Err(DlocalError::WrongLogin);
    }
    let claimed = authorization
        .strip_prefix(SCHEME_PREFIX)
        .ok_or(DlocalError::BadSignature)?;
    let parts: [&[u8]; 3] = [
        login.as_bytes(),
        date.as_bytes(),
        notification.body.as_bytes(),
    ];
    if !verify(&config.secret_key, &parts, claimed) {
        return Err(DlocalError::BadSignature);
    }
    // Only what the webhook needs: the payment is read from dLocal's API afterwards, so
    // the rest of the object (three_dsecure, card, …) is neither read nor judged here.
    #[derive(serde::Deserialize)]
    struct Announced {
        id: String,
        status: String,
        #[serde(default)]
        order_id: Option<String>,
    }
    // An object only (serde would read the struct from an array too); the members it does
    // not read are skipped unparsed, whatever they hold (a number past f64, say). So this
    // is read by serde_json's text reader, not through a value as the crate's other JSON
    // is (`crate::json_path`), which cannot hold such a number.
    let body = notification.body.trim_start();
    let payment: Announced = (body.starts_with('{'))
        .then(|| serde_json::from_str(body).ok())
        .flatten()
        .ok_or(DlocalError::MalformedBody)?;
    Ok(NotificationHint {
        payment_id: payment.id,
        order_id: payment.order_id,
        status: payment.status,
    })
}

/// Checks the callback form: signed by dLocal and naming this session's payment (its
/// `status` is not used). Gives the payment id to re-read.
pub fn check_callback(
    config: &Config,
    state: &State,
    ret: &BrowserReturn,
) -> Result<String, DlocalError> {
    let (State::Authenticating { payment_id, .. } | State::Confirming { payment_id, .. }) = state
    else {
        return Err(DlocalError::NotAwaitingBrowser);
    };
    let field = |name: &'static str| ret.single(name).ok_or(DlocalError::MalformedCallback(name));
    let claimed_id = field("paymentId")?;
    let status = field("status")?;
    let date = field("date")?;
    let claimed_signature = field("signature")?;
    let message = callback_message(status, claimed_id);
    let parts: [&[u8]; 3] = [
        config.x_login.as_bytes(),
        date.as_bytes(),
        message.as_bytes(),
    ];
    if !verify(&config.secret_key, &parts, claimed_signature) {
        return Err(DlocalError::BadSignature);
    }
    if claimed_id != payment_id {
        return Err(DlocalError::ForeignPayment);
    }
    Ok(payment_id.clone())
}
