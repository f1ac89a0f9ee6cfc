//! Bambora's wire format: the `POST /v1/payments`, `continue` and `POST /v1/reports`
//! (search) bodies as serde structs, the answers (payment, 302 redirect, error, search
//! records) as lenient readers, the amount in Bambora's decimal dollars and the report's
//! dates. Pure data; what the answers mean is in `outcome`.

use crate::provider::civil::civil_from_days;
use serde::{Deserialize, Deserializer, Serialize};

use crate::emv::wire::BamboraBrowser;
use crate::emv::{CardBrand, Eci, TransStatusReason};
use crate::text_or_number::{unmatched, TextOrNumber};

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

/// `POST /v1/reports` (`SearchQuery`): the transactions of a date range that meet every
/// criterion.
#[derive(Serialize)]
pub struct SearchQuery<'a> {
    /// `Search` (every member of a record) or `TransHistoryMinimal`.
    pub name: &'static str,
    /// `2015-04-22T10:03:19`, inclusive, in the merchant account's time zone.
    pub start_date: String,
    pub end_date: String,
    /// 1-based rows, at most 500 apart.
    pub start_row: u32,
    pub end_row: u32,
    pub criteria: Vec<Criterion<'a>>,
}

/// One `Criteria` of a search.
#[derive(Serialize)]
pub struct Criterion<'a> {
    /// The searchable field's number ([`FIELD_ORDER_NUMBER`]).
    pub field: u8,
    /// URL-encoded comparator ([`EQUALS`]).
    pub operator: &'static str,
    pub value: &'a str,
}

/// Field 5 of Bambora's search criteria: the order number.
pub const FIELD_ORDER_NUMBER: u8 = 5;
/// The `=` comparator, URL-encoded as the spec writes it.
pub const EQUALS: &str = "%3D";
/// The most rows one search answers.
pub const MAX_SEARCH_ROWS: u32 = 500;

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
        crate::json_path::from_text(&self.decimal()).unwrap_or_else(|_| serde_json::Number::from(0))
    }
}

/// Cents of a decimal dollar amount as Bambora writes one back (`15.99`, `100`,
/// `100.0`, `"100.00"`), or `None` when it is not one or has a fraction of a cent.
pub fn cents_of(text: &str) -> Option<u64> {
    let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = fraction.trim_end_matches('0');
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if units.is_empty() || !digits(units) || !digits(fraction) || fraction.len() > 2 {
        return None;
    }
    let cents: u64 = format!("{fraction:0<2}").parse().ok()?;
    units
        .parse::<u64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

// --- dates --------------------------------------------------------------------------

/// A search date (`2015-04-22T10:03:19`) from Unix milliseconds, in UTC. Written out here
/// because the core has no date library and no clock.
pub fn report_date(ms: u64) -> String {
    let seconds = ms / 1000;
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let in_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
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
    /// What `GET /v1/payments/{id}` tells about the order (a lookup checks them).
    #[serde(default)]
    pub order_number: Option<String>,
    /// Cents.
    #[serde(default, deserialize_with = "optional_cents")]
    pub amount: Option<u64>,
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

/// Bambora's "3DS Reason List" names the EMV transStatusReason codes 01 to 26 in the
/// specification's order; the scheme-specific names after them have no one code (`None`;
/// the name stays in the 311's message).
const REASON_NAMES: [&str; 26] = [
    "CardAuthenticationFailed",
    "UnknownDevice",
    "UnsupportedDevice",
    "ExceedsAuthenticationFrequencyLimit",
    "ExpiredCard",
    "InvalidCardNumber",
    "InvalidTransaction",
    "NoCardRecord",
    "SecurityFailure",
    "StolenCard",
    "SuspectedFraud",
    "TransactionNotPermittedToCardholder",
    "CardholderNotEnrolledInService",
    "TransactionTimedOutAtTheACS",
    "LowConfidence",
    "MediumConfidence",
    "HighConfidence",
    "VeryHighConfidence",
    "ExceedsACSMaximumChallenges",
    "NonPaymentTransactionNotSupported",
    "ThreeRITransactionNotSupported",
    "ACSTechnicalIssue",
    "DecoupledAuthenticationRequiredByACSButNotRequestedBy3DSRequestor",
    "ThreeDSRequestorDecoupledMaxExpiryTimeExceeded",
    "DecoupledAuthenticationWasProvidedInsufficientTimeToAuthenticateCardholder",
    "AuthenticationAttemptedButNotPerformedByTheCardholder",
];

/// The transStatusReason `reason_merchant` names, if it is one of the specification's.
pub fn trans_status_reason(name: &str) -> Option<TransStatusReason> {
    let index = REASON_NAMES.iter().position(|known| *known == name)?;
    TransStatusReason::from_code(u8::try_from(index + 1).ok()?)
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

/// `SearchResult`. "If no records are found the API will return a 200 response message
/// with an empty array": read as `{"records": []}` (the schema; other members ignored) or
/// a bare `[]` (`search_result.rs`: read by hand, without serde's `Content`).
#[derive(Debug)]
pub enum SearchResult {
    Records { records: Vec<SearchRecord> },
    Bare(Vec<SearchRecord>),
}

impl SearchResult {
    pub fn records(self) -> Vec<SearchRecord> {
        match self {
            SearchResult::Records { records } | SearchResult::Bare(records) => records,
        }
    }
}

/// `SearchRecord`, as far as a lookup reads it.
#[derive(Debug, Deserialize)]
pub struct SearchRecord {
    #[serde(deserialize_with = "text_or_number")]
    pub trn_id: String,
    #[serde(default)]
    pub trn_order_number: String,
    /// Cents (`trn_amount`: a number in the spec, a string in Bambora's guide).
    #[serde(default, deserialize_with = "optional_cents")]
    pub trn_amount: Option<u64>,
    /// `P` purchase, `PA` pre-authorization, `R` return, `VP` void …
    #[serde(default)]
    pub trn_type: Option<String>,
    /// 1: approved.
    #[serde(default, deserialize_with = "optional_text_or_number")]
    pub trn_response: Option<String>,
    /// The card with its middle digits masked (or its last four).
    #[serde(default)]
    pub trn_masked_card: Option<String>,
    /// `Search` only.
    #[serde(default)]
    pub currency_abbr: Option<String>,
}

/// The error codes of a completion, void or return (docs/sandbox/bambora.md): more than
/// is left to complete or return.
pub const CODE_AMOUNT_TOO_LARGE: &str = "197";
/// The pre-authorization was completed already (a second completion, a void after it).
pub const CODE_ALREADY_COMPLETED: &str = "194";
/// The transaction was voided already.
pub const CODE_ALREADY_VOIDED: &str = "195";
/// The pre-authorization expired before its completion.
pub const CODE_PREAUTH_EXPIRED: &str = "196";
/// A return of a pre-authorization nothing was completed of.
pub const CODE_NOTHING_TO_RETURN: &str = "199";

/// Error category 1: the bank (or 3-D Secure) declined.
pub const CATEGORY_DECLINE: u8 = 1;
/// Message/code 311: 3D Secure failed; nothing was authorized.
pub const CODE_3DS_FAILED: u32 = 311;
/// Code 314: "Missing or invalid payment information", the refusal of invalid input.
pub const CODE_INVALID_INPUT: u32 = 314;

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
/// The text, or an integer ≥ 0 as its digits: the derive's
/// `untagged enum Wire { Text(String), Number(u64) }` read them, without serde's `Content`.
fn text_or_unsigned<E: serde::de::Error>(value: TextOrNumber) -> Result<String, E> {
    match value {
        TextOrNumber::Text(text) => Ok(text),
        TextOrNumber::Unsigned(n) => Ok(n.to_string()),
        _ => Err(unmatched("Wire")),
    }
}

fn text_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    text_or_unsigned(TextOrNumber::deserialize(deserializer)?)
}

/// … or `null` (`Nothing(())`).
fn optional_text_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match TextOrNumber::deserialize(deserializer)? {
        TextOrNumber::Null => Ok(None),
        value => text_or_unsigned(value).map(Some),
    }
}

/// A dollar amount (number or text) as cents; `None` when absent or unreadable.
fn optional_cents<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(n) => cents_of(&n.to_string()),
        serde_json::Value::String(s) => cents_of(s.trim()),
        _ => None,
    })
}

fn lenient_eci<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Eci>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(crate::json_path::typed::<Eci>(&value).ok())
}
