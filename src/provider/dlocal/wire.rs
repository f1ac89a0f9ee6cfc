//! dLocal's wire protocol as data: the request signature, `X-Date`, the
//! `POST /secure_payments` body, the payment object and the error body
//! (docs.dlocal.com/reference/payins-security, /the-payment-object, /http-errors-payments).
//! Pure: no clock (the date comes from `Context::now_ms`), no IO.

use crate::provider::civil::{civil_from_days, days_from_civil};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::Sha256;

use crate::emv::{CardBrand, Eci, TransStatus};
use crate::payment::ExternalAuthentication;
use crate::provider::Secret;
use crate::text_or_number::{unmatched, TextOrNumber};

type HmacSha256 = Hmac<Sha256>;

/// The API version this adapter speaks.
pub const VERSION: &str = "2.1";
/// The `Authorization` header's fixed part.
pub const SCHEME_PREFIX: &str = "V2-HMAC-SHA256, Signature: ";

/// HMAC-SHA256 under `secret` over the concatenation of `parts`.
pub fn mac_over(secret: &Secret, parts: &[&[u8]]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    for part in parts {
        mac.update(part);
    }
    mac
}

/// `hex(HMAC-SHA256(secret, login + date + body))`, lowercase: the request and
/// notification signature.
pub fn signature(secret: &Secret, login: &str, date: &str, body: &[u8]) -> String {
    hex(
        &mac_over(secret, &[login.as_bytes(), date.as_bytes(), body])
            .finalize()
            .into_bytes(),
    )
}

/// The message the `callback_url` form's `signature` covers (after `X-Login + date`).
pub fn callback_message(status: &str, payment_id: &str) -> String {
    format!("{{status:{status},paymentId:{payment_id}}}")
}

/// Checks `claimed_hex` against the HMAC of `parts`, in constant time.
pub fn verify(secret: &Secret, parts: &[&[u8]], claimed_hex: &str) -> bool {
    match decode_hex(claimed_hex) {
        Some(claimed) => mac_over(secret, parts).verify_slice(&claimed).is_ok(),
        None => false,
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// 64 hex digits (either case) → 32 bytes.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

/// `X-Date`: ISO-8601 UTC with milliseconds (`2018-07-12T13:46:28.629Z`) from Unix
/// milliseconds. Written out here because the core has no date library and no clock.
pub fn x_date(now_ms: u64) -> String {
    let seconds = now_ms / 1000;
    let millis = now_ms % 1000;
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let in_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// Unix milliseconds of an `X-Date` (`2018-07-12T13:46:28.629Z`, milliseconds optional),
/// or `None` when it is not one.
pub fn parse_x_date(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u64> {
        let part = text.get(range)?;
        (!part.is_empty() && part.bytes().all(|c| c.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b.last() == Some(&b'Z');
    if !shape {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let millis = match &text[19..text.len() - 1] {
        "" => 0,
        fraction => {
            let fraction = fraction.strip_prefix('.')?;
            if fraction.len() != 3 {
                return None;
            }
            digits(20..23)?
        }
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = u64::try_from(days_from_civil(year as i64, month as u32, day as u32)).ok()?;
    Some(((days * 86_400 + hour * 3600 + minute * 60 + second) * 1000) + millis)
}

/// Currencies dLocal amounts carry without decimals (ISO 4217 exponent 0).
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];
/// Currencies with three decimals (ISO 4217 exponent 3).
const THREE_DECIMAL: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// Minor units in one major unit of `currency`. Other currencies have two decimals.
pub fn scale_of(currency: &str) -> u64 {
    if ZERO_DECIMAL.contains(&currency) {
        1
    } else if THREE_DECIMAL.contains(&currency) {
        1000
    } else {
        100
    }
}

/// The largest amount sent to dLocal (minor units, 2^53 / 1000): below it the shortest
/// decimal of `minor / scale` as a float is the exact amount, in every exponent
/// (`CreateLimits::max_amount_minor`).
pub const MAX_AMOUNT_MINOR: u64 = (1 << 53) / 1000;

/// Minor units → dLocal's decimal major units, as a JSON number: 12000 BRL → `120`,
/// 1050 → `10.5`, 5000 CLP → `5000`.
pub fn major_amount(minor: u64, currency: &str) -> serde_json::Number {
    let scale = scale_of(currency);
    if minor.is_multiple_of(scale) {
        serde_json::Number::from(minor / scale)
    } else {
        // Below MAX_AMOUNT_MINOR the shortest decimal of this f64 is the exact amount.
        serde_json::Number::from_f64(minor as f64 / scale as f64)
            .unwrap_or_else(|| serde_json::Number::from(minor / scale))
    }
}

/// dLocal's decimal major units → minor units (`120` BRL → 12000, `10.99` → 1099), or
/// `None` when the amount is negative, finer than the currency's minor unit, or past
/// 2^53 minor units. Read from the number's decimal text (the shortest that reads back as
/// the same float, which is the one dLocal wrote), digit by digit: multiplying the float
/// by the scale lost the amount above 2^27 major units (`150000000.55` IDR times 100 is
/// `15000000055.000002`).
pub fn minor_amount(major: &serde_json::Number, currency: &str) -> Option<u64> {
    let scale = scale_of(currency);
    let decimals = scale.ilog10() as usize;
    let text = major.to_string();
    let (units, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let fraction = fraction.trim_end_matches('0');
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if units.is_empty() || !digits(units) || !digits(fraction) || fraction.len() > decimals {
        return None;
    }
    let fraction = match fraction {
        "" => 0,
        fraction => format!("{fraction:0<decimals$}").parse::<u64>().ok()?,
    };
    units
        .parse::<u64>()
        .ok()?
        .checked_mul(scale)?
        .checked_add(fraction)
        .filter(|minor| *minor < 1 << 53)
}

/// `POST /secure_payments`.
#[derive(Debug, Serialize)]
pub struct CreateBody<'a> {
    pub amount: serde_json::Number,
    pub currency: &'a str,
    pub country: &'a str,
    pub payment_method_id: &'static str,
    pub payment_method_flow: &'static str,
    pub payer: PayerBody<'a>,
    pub card: CardBody<'a>,
    pub order_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub notification_url: String,
    pub callback_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub three_dsecure: Option<ThreeDsBody>,
}

#[derive(Debug, Serialize)]
pub struct PayerBody<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// The card as typed, or a dLocal card token. `Debug` never shows the number or CVV.
#[derive(Serialize)]
#[serde(untagged)]
pub enum CardBody<'a> {
    Details {
        holder_name: &'a str,
        number: &'a str,
        cvv: &'a str,
        expiration_month: u8,
        expiration_year: u16,
        capture: bool,
    },
    Token {
        token: &'a str,
        capture: bool,
    },
}

impl std::fmt::Debug for CardBody<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardBody(***)")
    }
}

/// `three_dsecure`: force the redirect, or bring the merchant's own authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ThreeDsBody {
    Force {
        force: bool,
    },
    Mpi {
        mpi: bool,
        three_dsecure_version: String,
        eci: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        cavv: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        xid: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ds_transaction_id: Option<String>,
        enrollment_response: &'static str,
        authentication_response: &'static str,
    },
}

/// The payment object, as far as this adapter reads it (`POST /secure_payments`,
/// `GET /payments/{id}`, notifications).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaymentObject {
    pub id: String,
    /// Major units, a number (a numeric string is read too).
    #[serde(default, deserialize_with = "number_or_numeric_string")]
    pub amount: Option<serde_json::Number>,
    #[serde(default)]
    pub currency: Option<String>,
    pub status: String,
    #[serde(default, deserialize_with = "string_or_number")]
    pub status_code: Option<String>,
    #[serde(default)]
    pub status_detail: Option<String>,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub three_dsecure: Option<ThreeDsObject>,
    #[serde(default)]
    pub card: Option<CardObject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ThreeDsObject {
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// An ECI that does not parse is treated as absent (it only informs the result).
    #[serde(default, deserialize_with = "lenient_eci")]
    pub eci: Option<Eci>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CardObject {
    #[serde(default)]
    pub brand: Option<String>,
}

/// The order object of `GET /orders/{order_id}` (docs.dlocal.com/reference/the-order-object),
/// as far as a lookup reads it: which payment dLocal holds for the order. The payment
/// itself is then read whole (`GET /payments/{id}`), and that answer decides.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderObject {
    pub order_id: String,
    pub payment_id: String,
}

/// dLocal's error body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorBody {
    #[serde(deserialize_with = "required_string_or_number")]
    pub code: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
}

/// dLocal's two-letter brand codes.
pub fn brand_from_code(code: &str) -> CardBrand {
    match code {
        "VI" | "VD" => CardBrand::Visa,
        "MC" | "MD" => CardBrand::Mastercard,
        "AM" => CardBrand::Amex,
        "DC" => CardBrand::Diners,
        "EL" => CardBrand::Elo,
        "JC" => CardBrand::Jcb,
        "DI" => CardBrand::Discover,
        "UP" => CardBrand::UnionPay,
        _ => CardBrand::Unknown,
    }
}

/// A string, or any number as serde_json writes it: the derive's
/// `untagged enum StringOrNumber { Text(String), Number(serde_json::Number) }`, without
/// serde's `Content`.
fn text_or_any_number<E: serde::de::Error>(value: TextOrNumber) -> Result<String, E> {
    let number = match value {
        TextOrNumber::Text(text) => return Ok(text),
        TextOrNumber::Unsigned(n) => serde_json::Number::from(n),
        TextOrNumber::Negative(n) => serde_json::Number::from(n),
        TextOrNumber::Float(f) => {
            serde_json::Number::from_f64(f).ok_or_else(|| unmatched("StringOrNumber"))?
        }
        TextOrNumber::Null | TextOrNumber::Other => return Err(unmatched("StringOrNumber")),
    };
    Ok(number.to_string())
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<TextOrNumber>::deserialize(d)?
        .map(text_or_any_number)
        .transpose()
}

fn required_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text_or_any_number(TextOrNumber::deserialize(d)?)
}

fn number_or_numeric_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<serde_json::Number>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(number)) => Some(number),
        Some(serde_json::Value::String(text)) => match crate::json_path::value(text.trim()) {
            Ok(serde_json::Value::Number(number)) => Some(number),
            _ => None,
        },
        _ => None,
    })
}

fn lenient_eci<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Eci>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.and_then(|v| crate::json_path::typed::<Eci>(&v).ok()))
}

/// The MPI variant: the merchant's own 3DS server authenticated (Y, A or U here).
pub fn mpi_body(external: &ExternalAuthentication) -> ThreeDsBody {
    let v2 = !external.version.starts_with('1');
    let version = if v2 {
        match external.version.as_str() {
            "2.1.0" | "2.2.0" => external.version.clone(),
            _ => "2.0".to_owned(),
        }
    } else {
        "1.0".to_owned()
    };
    ThreeDsBody::Mpi {
        mpi: true,
        three_dsecure_version: version,
        eci: external.eci.as_two_digits(),
        cavv: Some(external.cavv.clone()).filter(|c| !c.is_empty()),
        xid: if v2 { None } else { external.xid.clone() },
        ds_transaction_id: if v2 {
            external.ds_transaction_id.clone()
        } else {
            None
        },
        enrollment_response: "Y",
        authentication_response: match external.trans_status {
            TransStatus::Y => "Y",
            TransStatus::A => "A",
            _ => "U",
        },
    }
}
