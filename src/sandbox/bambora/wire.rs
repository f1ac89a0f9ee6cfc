//! Bambora's response bodies: the payment (`PaymentResponse`), the 302 redirect body and
//! the error body (`ErrorResponse`), as the OpenAPI spec 1.0.5 and the seed show them.
//! `approved` and `message_id` are strings on the wire, as Bambora really sends them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// `PaymentResponse`: an approved (or, inside an error's `validation`, a declined) payment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payment {
    pub id: String,
    pub authorizing_merchant_id: u64,
    /// `"1"` approved, `"0"` declined.
    pub approved: String,
    pub message_id: String,
    pub message: String,
    pub auth_code: String,
    /// `2017-02-23T17:26:26`.
    pub created: String,
    pub order_number: String,
    #[serde(rename = "type")]
    pub kind: PaymentType,
    pub payment_method: &'static str,
    pub risk_score: f64,
    /// Dollars, at most two decimals.
    pub amount: f64,
    pub custom: Custom,
    pub card: CardResult,
    #[serde(rename = "3d_secure", skip_serializing_if = "Option::is_none")]
    pub three_d_secure: Option<ThreeDsResult>,
    pub links: Vec<Link>,
}

/// `P` purchase, `PA` pre-authorization (`complete: false`), `PAC` its completion, `R`
/// a return, `VP` a void.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PaymentType {
    P,
    PA,
    PAC,
    R,
    VP,
}

/// `custom.ref1` … `ref5`: always present, empty unless the request set them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Custom {
    pub ref1: String,
    pub ref2: String,
    pub ref3: String,
    pub ref4: String,
    pub ref5: String,
}

/// `CardPurchaseResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardResult {
    /// `VI`, `MC`, `AM`, `NN`, `JB`, `DI`.
    pub card_type: &'static str,
    pub last_four: String,
    pub card_bin: String,
    /// 1 CVD match, 6 CVD not provided.
    pub cvd_result: u8,
    pub avs_result: String,
    pub avs: Avs,
    pub address_match: u8,
    pub postal_result: u8,
    /// The ECI the authorization went with (5, 6, 7 for Visa; 2, 1, 0 for Mastercard).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eci: Option<u8>,
    /// `"2"` (CAVV passed) when a CAVV went with the authorization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cavv_result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Avs {
    pub id: String,
    pub message: String,
    pub processed: bool,
}

impl Avs {
    pub fn not_performed() -> Avs {
        Avs {
            id: "0".to_owned(),
            message: "Address Verification not performed for this transaction.".to_owned(),
            processed: false,
        }
    }
}

/// `3DSecureResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreeDsResult {
    pub status: ThreeDsStatus,
    /// True when 3DS 2 was asked for and the card range only answered 1.0.2: no
    /// liability shift even for Succeeded.
    pub downgraded: bool,
    /// A rejection's reason for the merchant, by name (Bambora's "3DS Reason List").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_merchant: Option<&'static str>,
    /// A rejection's reason in words the cardholder may be shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_cardholder: Option<&'static str>,
}

/// `3d_secure.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ThreeDsStatus {
    Succeeded,
    Attempted,
    Rejected,
    Failed,
    Unavailable,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub rel: &'static str,
    pub href: String,
    pub method: &'static str,
}

/// The HTTP 302 body of a payment that needs the cardholder at the issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redirect {
    /// 3DS 1.0.2: the payment's id for `continue` (the form's `MD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_data: Option<String>,
    /// 3DS 2: the id for `continue` (also the form's `threeDSSessionData`).
    #[serde(rename = "3d_session_data", skip_serializing_if = "Option::is_none")]
    pub three_d_session_data: Option<String>,
    /// URL-encoded HTML with the auto-submitting form to the ACS.
    pub contents: String,
    pub links: Vec<Link>,
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        (StatusCode::FOUND, Json(self)).into_response()
    }
}

/// `ErrorResponse`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBody {
    pub code: u32,
    pub category: u8,
    pub message: String,
    /// "Not used. Always returns an empty string."
    pub reference: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<CardResult>,
    #[serde(rename = "3d_secure", skip_serializing_if = "Option::is_none")]
    pub three_d_secure: Option<ThreeDsResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detail {
    pub field: String,
    pub message: String,
}

impl Detail {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Detail {
        Detail {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// `CardValidation`: the declined transaction behind a 402.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    pub id: String,
    pub approved: String,
    pub message_id: String,
    pub message: String,
    pub auth_code: String,
    pub trans_date: String,
    pub order_number: String,
    #[serde(rename = "type")]
    pub kind: PaymentType,
    pub amount: f64,
    pub cvd_id: u8,
}

/// Error categories (beanstream-java `BeanstreamApiException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Declined by the bank (or by 3-D Secure).
    Decline = 1,
    /// A business rule of the gateway.
    BusinessRule = 2,
    /// The request itself is wrong.
    Input = 3,
    /// The gateway failed.
    Technical = 4,
}

/// An error answer: HTTP status plus Bambora's error body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: errors travel in `Result`s and should stay small.
    pub body: Box<ErrorBody>,
}

/// Gateway code 314, the catch-all of input validation.
pub const CODE_INVALID_INPUT: u32 = 314;
const INVALID_INPUT_MESSAGE: &str =
    "Missing or invalid payment information - Please fix the errors below.";

impl ApiError {
    pub fn new(status: StatusCode, code: u32, category: Category, message: &str) -> ApiError {
        ApiError {
            status,
            body: Box::new(ErrorBody {
                code,
                category: category as u8,
                message: message.to_owned(),
                reference: String::new(),
                details: Vec::new(),
                validation: None,
                card: None,
                three_d_secure: None,
            }),
        }
    }

    /// 400, code 314, with one detail per bad field.
    pub fn invalid(details: Vec<Detail>) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::BAD_REQUEST,
            CODE_INVALID_INPUT,
            Category::Input,
            INVALID_INPUT_MESSAGE,
        );
        error.body.details = details;
        error
    }

    pub fn invalid_field(field: &str, message: &str) -> ApiError {
        ApiError::invalid(vec![Detail::new(field, message)])
    }

    /// 401: the `Authorization: Passcode …` header is missing or wrong.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            21,
            Category::Input,
            "Authentication failed",
        )
    }

    /// 404: no payment (or 3-D Secure session) with that id.
    pub fn unknown_id(field: &str) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::NOT_FOUND,
            CODE_INVALID_INPUT,
            Category::Input,
            INVALID_INPUT_MESSAGE,
        );
        error.body.details = vec![Detail::new(field, "Invalid transaction id")];
        error
    }

    /// 402, code 311: authentication failed or was rejected; no authorization was made.
    pub fn three_d_secure_failed(result: ThreeDsResult) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            311,
            Category::Decline,
            "3D Secure Failed",
        );
        error.body.three_d_secure = Some(result);
        error
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Minor units to Bambora's decimal dollars.
pub fn dollars(minor: i64) -> f64 {
    minor as f64 / 100.0
}
