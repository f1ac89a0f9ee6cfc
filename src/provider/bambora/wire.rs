//! Bambora's wire format: the `POST /v1/payments` and `continue` bodies as serde structs,
//! the answers (payment, 302 redirect, error) as lenient readers, and the amount in
//! Bambora's decimal dollars. Pure data; what the answers mean is in `outcome`.

use serde::{Deserialize, Deserializer, Serialize};

use crate::emv::wire::BamboraBrowser;
use crate::emv::{CardBrand, Eci};

// --- requests -----------------------------------------------------------------------

/// `POST /v1/payments`.
#[derive(Serialize)]
pub struct PaymentRequest<'a> {
    pub order_number: &'a str,
    /// Decimal dollars (see [`Amount`]).
    pub amount: serde_json::Number,
    /// `card` or `token`.
    pub payment_method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_ip: Option<String>,
    /// Where the issuer sends the cardholder back (this session's return route).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<CardBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenBody<'a>>,
}

/// `card`: the only place the number and CVD ever go.
#[derive(Serialize)]
pub struct CardBody<'a> {
    pub name: &'a str,
    pub number: &'a str,
    /// `"MM"`.
    pub expiry_month: String,
    /// `"YY"`.
    pub expiry_year: String,
    pub cvd: &'a str,
    pub complete: bool,
    #[serde(rename = "3d_secure", skip_serializing_if = "Option::is_none")]
    pub three_d_secure: Option<ThreeDSecure<'a>>,
    #[serde(
        rename = "3d_secure_passthrough",
        skip_serializing_if = "Option::is_none"
    )]
    pub passthrough: Option<Passthrough<'a>>,
}

/// `token`: a single-use token the page got from Bambora's tokenization.
#[derive(Serialize)]
pub struct TokenBody<'a> {
    pub code: &'a str,
    pub name: &'a str,
    /// The spec's default for tokens is `false` (pre-authorization): always sent.
    pub complete: bool,
    #[serde(rename = "3d_secure", skip_serializing_if = "Option::is_none")]
    pub three_d_secure: Option<ThreeDSecure<'a>>,
    #[serde(
        rename = "3d_secure_passthrough",
        skip_serializing_if = "Option::is_none"
    )]
    pub passthrough: Option<Passthrough<'a>>,
}

/// `3d_secure`: Bambora runs 3-D Secure, or (legacy integrated) the merchant's MPI did.
#[derive(Serialize)]
#[serde(untagged)]
pub enum ThreeDSecure<'a> {
    Authenticate {
        enabled: bool,
        /// 2 when browser details go with it; left to the account's default otherwise.
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<u8>,
        auth_required: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        browser: Option<BamboraBrowser>,
    },
    /// 3-D Secure 1.0.2 results of the merchant's own MPI (the seed's integrated process).
    Integrated {
        enabled: bool,
        xid: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cavv: Option<&'a str>,
        eci: u8,
    },
}

/// `3d_secure_passthrough`: EMV 3-D Secure results of the merchant's own 3DS server.
#[derive(Serialize)]
pub struct Passthrough<'a> {
    pub version: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xid: Option<&'a str>,
    pub eci: u8,
    /// Absent for an ECI that proves nothing (07 / 00).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cavv: Option<&'a str>,
    pub ds_transaction_id: &'a str,
}

/// `POST /v1/payments/{id}/continue`.
#[derive(Serialize)]
pub struct ContinueRequest<'a> {
    pub payment_method: &'static str,
    pub card_response: CardResponse<'a>,
}

/// `card_response`: `{"pa_res": …}` (1.0.2) or `{"cres": …}` (2.x).
#[derive(Serialize)]
pub enum CardResponse<'a> {
    #[serde(rename = "pa_res")]
    PaRes(&'a str),
    #[serde(rename = "cres")]
    CRes(&'a str),
}

// --- the amount ---------------------------------------------------------------------

/// An amount Bambora can take: minor units of a two-decimal currency, 1 to
/// 99 999 999 99 (Bambora's `amount` is "up to two decimal places").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(u64);

/// Bambora's largest amount, in cents.
pub const MAX_AMOUNT_MINOR: u64 = 9_999_999_999;

impl Amount {
    pub fn new(minor: u64) -> Option<Amount> {
        (1..=MAX_AMOUNT_MINOR)
            .contains(&minor)
            .then_some(Amount(minor))
    }

    /// The exact decimal text: 1599 → `15.99`, 100 → `1.00`.
    pub fn decimal(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// The JSON number for `amount`. The decision was made in integers; this only
    /// writes it. Below 2^53 the shortest decimal of the nearest double to `d` is `d`
    /// itself, so the text on the wire is exactly [`Amount::decimal`].
    pub fn json(self) -> serde_json::Number {
        serde_json::from_str(&self.decimal()).unwrap_or_else(|_| serde_json::Number::from(0))
    }
}

// --- answers ------------------------------------------------------------------------

/// `PaymentResponse` (200), as far as this adapter reads it.
#[derive(Debug, Deserialize)]
pub struct Payment {
    #[serde(deserialize_with = "text_or_number")]
    pub id: String,
    /// `"1"` approved, `"0"` declined.
    #[serde(deserialize_with = "text_or_number")]
    pub approved: String,
    #[serde(default, deserialize_with = "optional_text_or_number")]
    pub message_id: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub card: Option<CardResult>,
    #[serde(rename = "3d_secure", default)]
    pub three_d_secure: Option<ThreeDsResult>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CardResult {
    #[serde(default)]
    pub card_type: Option<String>,
    /// Bambora sends it as a number; an absent or unreadable one is `None`.
    #[serde(default, deserialize_with = "lenient_eci")]
    pub eci: Option<Eci>,
}

/// `3DSecureResponse`.
#[derive(Debug, Clone, Deserialize)]
pub struct ThreeDsResult {
    /// Succeeded, Attempted, Rejected, Failed, Unavailable or Error.
    pub status: String,
    #[serde(default)]
    pub downgraded: bool,
    #[serde(default)]
    pub reason_merchant: Option<String>,
}

/// The 302 body: `contents` and the id `continue` takes.
#[derive(Debug, Deserialize)]
pub struct Redirect {
    /// 3-D Secure 1.0.2 (the seed).
    #[serde(default)]
    pub merchant_data: Option<String>,
    /// EMV 3-D Secure 2.x (Bambora's 3DS 2 guide).
    #[serde(rename = "3d_session_data", default)]
    pub three_d_session_data: Option<String>,
    pub contents: String,
}

/// `ErrorResponse`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub code: u32,
    #[serde(default)]
    pub category: Option<u8>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub details: Vec<Detail>,
    /// The declined transaction behind a 402.
    #[serde(default)]
    pub validation: Option<Validation>,
    #[serde(default)]
    pub card: Option<CardResult>,
    #[serde(rename = "3d_secure", default)]
    pub three_d_secure: Option<ThreeDsResult>,
}

#[derive(Debug, Deserialize)]
pub struct Detail {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize)]
pub struct Validation {
    #[serde(deserialize_with = "text_or_number")]
    pub id: String,
    #[serde(default, deserialize_with = "optional_text_or_number")]
    pub message_id: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// Error category 1: the bank (or 3-D Secure) declined.
pub const CATEGORY_DECLINE: u8 = 1;
/// Message/code 311: 3D Secure failed; nothing was authorized.
pub const CODE_3DS_FAILED: u32 = 311;

impl ErrorBody {
    /// The message, with the fields Bambora named (`card.number: Invalid card number`).
    pub fn full_message(&self) -> String {
        if self.details.is_empty() {
            return self.message.clone();
        }
        let fields: Vec<String> = self
            .details
            .iter()
            .map(|d| format!("{}: {}", d.field, d.message))
            .collect();
        format!("{} ({})", self.message, fields.join("; "))
    }
}

/// Bambora's two-letter card type as a brand (`PV` Visa debit, `MD` Debit Mastercard).
pub fn brand_of_card_type(card_type: &str) -> CardBrand {
    match card_type {
        "VI" | "PV" => CardBrand::Visa,
        "MC" | "MD" => CardBrand::Mastercard,
        "AM" => CardBrand::Amex,
        "NN" => CardBrand::Discover,
        "JB" => CardBrand::Jcb,
        "DI" => CardBrand::Diners,
        _ => CardBrand::Unknown,
    }
}

/// `approved`, `message_id`, `id`: strings on the wire although the spec says integers.
fn text_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Text(String),
        Number(u64),
    }
    Ok(match Wire::deserialize(deserializer)? {
        Wire::Text(text) => text,
        Wire::Number(n) => n.to_string(),
    })
}

fn optional_text_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Text(String),
        Number(u64),
        Nothing(()),
    }
    Ok(match Wire::deserialize(deserializer)? {
        Wire::Text(text) => Some(text),
        Wire::Number(n) => Some(n.to_string()),
        Wire::Nothing(()) => None,
    })
}

fn lenient_eci<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Eci>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value::<Eci>(value).ok())
}
