//! Paysafe's error envelope (`{"error":{code, message, details, fieldErrors, links}}`)
//! and the codes this emulator answers with.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Where Paysafe's `errorinfo` links point; the code is appended as `#ErrorCode{code}`.
const ERROR_INFO: &str =
    "https://developer.paysafe.com/en/support/reference-information/error-codes/";

/// One member of `fieldErrors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub error: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, error: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            error: error.into(),
        }
    }
}

/// A Paysafe error response: HTTP status, numeric code and the JSON envelope.
#[derive(Debug, Clone)]
pub struct PaysafeError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<String>,
    pub field_errors: Vec<FieldError>,
    /// Members beside `error`: a decline carries `id`, `merchantRefNum`, `riskReasonCode`.
    pub extra: Map<String, Value>,
}

impl PaysafeError {
    pub fn new(status: StatusCode, code: &'static str, message: &str) -> PaysafeError {
        PaysafeError {
            status,
            code,
            message: message.to_owned(),
            details: Vec::new(),
            field_errors: Vec::new(),
            extra: Map::new(),
        }
    }

    /// 5279: missing or wrong Basic credentials.
    pub fn invalid_credentials() -> PaysafeError {
        PaysafeError::new(
            StatusCode::UNAUTHORIZED,
            "5279",
            "The authentication credentials are invalid.",
        )
    }

    /// 5270: the credentials are good but the account in the URL or body is not theirs.
    pub fn no_permission() -> PaysafeError {
        PaysafeError::new(
            StatusCode::UNAUTHORIZED,
            "5270",
            "The credentials provided with the request do not have permission to access the requested data.",
        )
    }

    /// 5269: no such id (or not in this account).
    pub fn not_found() -> PaysafeError {
        PaysafeError::new(
            StatusCode::NOT_FOUND,
            "5269",
            "The ID(s) specified in the URL do not correspond to the values in the system.",
        )
    }

    /// 5023: the body is not JSON, not an object, or too large.
    pub fn unparseable(detail: &str) -> PaysafeError {
        PaysafeError::new(
            StatusCode::BAD_REQUEST,
            "5023",
            "The request is not parseable.",
        )
        .with_detail(detail)
    }

    /// 5068: missing or malformed fields, listed in `fieldErrors`.
    pub fn fields(errors: Vec<FieldError>) -> PaysafeError {
        let mut error = PaysafeError::new(StatusCode::BAD_REQUEST, "5068", "Field error(s)")
            .with_detail(
                "Either you submitted a request that is missing a mandatory field or the value of a field does not match the format expected.",
            );
        error.field_errors = errors;
        error
    }

    pub fn field(field: &str, problem: &str) -> PaysafeError {
        PaysafeError::fields(vec![FieldError::new(field, problem)])
    }

    /// 5031: the merchantRefNum was used before; `existing_id` names what it was used for.
    pub fn duplicate(existing_id: &str) -> PaysafeError {
        PaysafeError::new(
            StatusCode::CONFLICT,
            "5031",
            "The transaction you have submitted has already been processed.",
        )
        .with_detail(&format!(
            "merchantRefNum already used by transaction {existing_id}"
        ))
        .with_extra("existingTransactionId", json!(existing_id))
    }

    /// 3002: not a card number (length, digits or check digit).
    pub fn invalid_card() -> PaysafeError {
        PaysafeError::new(
            StatusCode::BAD_REQUEST,
            "3002",
            "You submitted an invalid card number or brand or combination of card number and brand with your request.",
        )
        .with_field("card.cardNum", "invalid card number")
    }

    /// 3006: the expiry date is in the past.
    pub fn expired_card() -> PaysafeError {
        PaysafeError::new(
            StatusCode::BAD_REQUEST,
            "3006",
            "You submitted an expired credit card number with your request.",
        )
        .with_field("card.cardExpiry", "the card has expired")
    }

    /// 3009: the issuer declined the authorization.
    pub fn declined() -> PaysafeError {
        PaysafeError::new(
            StatusCode::PAYMENT_REQUIRED,
            "3009",
            "Your request has been declined by the issuing bank.",
        )
    }

    /// 3203: the authorization has nothing left to settle.
    pub fn settled_or_cancelled() -> PaysafeError {
        PaysafeError::new(
            StatusCode::PAYMENT_REQUIRED,
            "3203",
            "The authorization is either fully settled or cancelled.",
        )
    }

    /// 3204: a settlement above what is left of the authorization.
    pub fn settlement_too_large() -> PaysafeError {
        PaysafeError::new(
            StatusCode::PAYMENT_REQUIRED,
            "3204",
            "The requested settlement amount exceeds the remaining authorization amount.",
        )
    }

    /// 3205: a settlement of an expired authorization.
    pub fn authorization_expired() -> PaysafeError {
        PaysafeError::new(
            StatusCode::PAYMENT_REQUIRED,
            "3205",
            "The authorization you are attempting to settle has expired.",
        )
    }

    /// 3402: a refund above what is left of the settlement.
    pub fn refund_too_large() -> PaysafeError {
        PaysafeError::new(
            StatusCode::PAYMENT_REQUIRED,
            "3402",
            "The requested refund amount exceeds the remaining settlement amount.",
        )
    }

    /// 3404: nothing left of the settlement to refund.
    pub fn fully_refunded() -> PaysafeError {
        PaysafeError::new(
            StatusCode::PAYMENT_REQUIRED,
            "3404",
            "The settlement has already been fully refunded.",
        )
    }

    /// 3406: no settled funds to refund.
    pub fn not_batched() -> PaysafeError {
        PaysafeError::new(
            StatusCode::PAYMENT_REQUIRED,
            "3406",
            "The settlement you are attempting to refund has not been batched yet. There are no settled funds available to refund.",
        )
    }

    /// 3501: a reversal above what is left of the authorization.
    pub fn reversal_too_large() -> PaysafeError {
        PaysafeError::new(
            StatusCode::PAYMENT_REQUIRED,
            "3501",
            "The requested authorization reversal amount exceeds the remaining authorization amount.",
        )
    }

    /// 3502: a reversal of a settled authorization.
    pub fn reversal_of_settled() -> PaysafeError {
        PaysafeError::new(
            StatusCode::PAYMENT_REQUIRED,
            "3502",
            "The authorization has already been settled. You cannot process an authorization reversal transaction against an authorization that has been settled.",
        )
    }

    /// 3504: a reversal of part of the authorization.
    pub fn partial_reversal() -> PaysafeError {
        PaysafeError::new(
            StatusCode::PAYMENT_REQUIRED,
            "3504",
            "The external processing gateway for which your merchant account is configured does not support partial authorization reversals.",
        )
    }

    pub fn with_detail(mut self, detail: &str) -> PaysafeError {
        self.details.push(detail.to_owned());
        self
    }

    pub fn with_field(mut self, field: &str, problem: &str) -> PaysafeError {
        self.field_errors.push(FieldError::new(field, problem));
        self
    }

    pub fn with_extra(mut self, name: &str, value: Value) -> PaysafeError {
        self.extra.insert(name.to_owned(), value);
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if !self.details.is_empty() {
            error.insert("details".into(), json!(self.details));
        }
        if !self.field_errors.is_empty() {
            error.insert("fieldErrors".into(), json!(self.field_errors));
        }
        error.insert(
            "links".into(),
            json!([{"rel": "errorinfo", "href": format!("{ERROR_INFO}#ErrorCode{}", self.code)}]),
        );
        let mut body = self.extra.clone();
        body.insert("error".into(), Value::Object(error));
        Value::Object(body)
    }
}

impl IntoResponse for PaysafeError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}
