//! dLocal's wire shapes: the `POST /secure_payments` body parsed into types at the edge
//! (every refusal names its `param`), and the payment object the API, the notifications
//! and `GET /payments/{id}` return.

use serde::Serialize;
use serde_json::{Map, Value};

use super::ApiError;
use crate::emv::{CardBrand, Eci, Pan};

/// A validated `POST /secure_payments` body. The card number is parsed into a [`Pan`]
/// (or found invalid) here; the CVV is checked and dropped.
#[derive(Debug)]
pub(super) struct PaymentRequest {
    pub amount: Money,
    pub country: String,
    pub card: CardInput,
    pub order_id: String,
    pub notification_url: Option<String>,
    pub callback_url: Option<String>,
    pub description: Option<String>,
    pub three_dsecure: ThreeDsRequest,
}

/// An amount in minor units with its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Money {
    pub minor: i64,
    pub currency: String,
}

#[derive(Debug)]
pub(super) struct CardInput {
    pub holder_name: String,
    /// `Err(last four digits typed)` when the number is not a card number.
    pub number: Result<Pan, String>,
    pub expiration_month: u8,
    pub expiration_year: u16,
    /// `card.capture`, default true: false authorizes only.
    pub capture: bool,
}

/// The `three_dsecure` member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ThreeDsRequest {
    /// dLocal decides (absent member, or `force:false`).
    Default,
    /// `force:true`: send the cardholder through 3DS even when the issuer would not ask.
    Forced,
    /// `mpi:true`: the merchant authenticated with its own 3DS server.
    Mpi(MpiAuthentication),
}

/// What a merchant's own 3DS server found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MpiAuthentication {
    pub version: String,
    pub eci: Eci,
    pub cavv: Option<String>,
    /// `xid` (1.0) or `ds_transaction_id` (2.x).
    pub transaction_id: String,
    /// `authentication_response`; absent means the MPI could not tell (treated as U).
    pub authentication_response: Option<MpiResponse>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MpiResponse {
    Y,
    A,
    N,
    U,
}

/// Each currency's exponent, ISO 4217's, as the backend's adapter has them (0 for CLP
/// or ISK, 3 for KWD, else 2): a table of its own here had six zero-decimal currencies
/// and no three-decimal one, so 1.234 KWD was booked as 1.23.
fn exponent(currency: &str) -> u32 {
    crate::provider::dlocal::scale_of(currency).ilog10()
}

/// An amount in dLocal's decimal major units, exactly, or `None`: not a positive number,
/// finer than the currency's minor unit, or past 10^12 major units.
pub(super) fn minor_of(value: &Value, currency: &str) -> Option<i64> {
    let Value::Number(major) = value else {
        return None;
    };
    crate::provider::dlocal::minor_amount(major, currency)
        .filter(|minor| *minor > 0 && *minor / 10_u64.pow(exponent(currency)) < 1_000_000_000_000)
        .and_then(|minor| i64::try_from(minor).ok())
}

impl Money {
    /// Back to dLocal's decimal major units: `120` for 120.00, `10.5` for 10.50.
    pub fn major(&self) -> serde_json::Number {
        let scale = 10_i64.pow(exponent(&self.currency));
        if self.minor % scale == 0 {
            serde_json::Number::from(self.minor / scale)
        } else {
            serde_json::Number::from_f64(self.minor as f64 / scale as f64)
                .unwrap_or_else(|| serde_json::Number::from(0))
        }
    }
}

/// Reads one member of an object, naming it `prefix.name` in errors.
struct Members<'a> {
    object: &'a Map<String, Value>,
    prefix: &'static str,
}

impl<'a> Members<'a> {
    fn param(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name).filter(|v| !v.is_null())
    }

    fn required(&self, name: &str) -> Result<&'a Value, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::missing_parameter(&self.param(name)))
    }

    fn invalid(&self, name: &str) -> ApiError {
        ApiError::invalid_parameter(&self.param(name))
    }

    /// A non-empty string of at most `max` characters.
    fn text(&self, name: &str, max: usize) -> Result<String, ApiError> {
        match self.required(name)? {
            Value::String(s) if !s.trim().is_empty() && s.chars().count() <= max => Ok(s.clone()),
            _ => Err(self.invalid(name)),
        }
    }

    fn optional_text(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(_) => self.text(name, max).map(Some),
        }
    }

    fn object(&self, name: &str) -> Result<Members<'a>, ApiError> {
        match self.required(name)? {
            Value::Object(object) => Ok(Members {
                object,
                prefix: member_prefix(name),
            }),
            _ => Err(self.invalid(name)),
        }
    }

    /// A whole number within `range`; dLocal's examples send numbers, strings of digits
    /// are accepted as its SDKs sometimes send them.
    fn integer(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<i64, ApiError> {
        let value = match self.required(name)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        value
            .filter(|v| range.contains(v))
            .ok_or_else(|| self.invalid(name))
    }

    fn boolean(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.invalid(name)),
        }
    }
}

/// The nested objects' names, as `'static` prefixes for parameter paths.
fn member_prefix(name: &str) -> &'static str {
    match name {
        "payer" => "payer",
        "card" => "card",
        "three_dsecure" => "three_dsecure",
        _ => "",
    }
}

impl PaymentRequest {
    pub fn parse(body: &[u8]) -> Result<PaymentRequest, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| ApiError::invalid_request("Invalid request: malformed JSON"))?;
        let Value::Object(object) = value else {
            return Err(ApiError::invalid_request(
                "Invalid request: expected a JSON object",
            ));
        };
        let top = Members {
            object: &object,
            prefix: "",
        };
        let currency = top.text("currency", 3)?;
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(top.invalid("currency"));
        }
        let amount = parse_amount(&top, currency)?;
        let country = top.text("country", 2)?;
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(top.invalid("country"));
        }
        if top.text("payment_method_id", 16)? != "CARD" {
            return Err(top.invalid("payment_method_id"));
        }
        if top.text("payment_method_flow", 16)? != "DIRECT" {
            return Err(top.invalid("payment_method_flow"));
        }
        let payer = top.object("payer")?;
        payer.text("name", 100)?;
        let email = payer.text("email", 100)?;
        if !email.contains('@') {
            return Err(payer.invalid("email"));
        }
        payer.text("document", 30)?;
        let card = parse_card(&top.object("card")?)?;
        let order_id = top.text("order_id", 200)?;
        let notification_url = top.optional_text("notification_url", 2000)?;
        let callback_url = top.optional_text("callback_url", 2000)?;
        for (name, url) in [
            ("notification_url", &notification_url),
            ("callback_url", &callback_url),
        ] {
            if url.as_deref().is_some_and(|u| !is_http_url(u)) {
                return Err(top.invalid(name));
            }
        }
        let three_dsecure = match top.get("three_dsecure") {
            None => ThreeDsRequest::Default,
            Some(_) => parse_three_dsecure(&top.object("three_dsecure")?)?,
        };
        Ok(PaymentRequest {
            amount,
            country,
            card,
            order_id,
            notification_url,
            callback_url,
            description: top.optional_text("description", 1000)?,
            three_dsecure,
        })
    }
}

fn parse_amount(top: &Members<'_>, currency: String) -> Result<Money, ApiError> {
    let minor =
        minor_of(top.required("amount")?, &currency).ok_or_else(|| top.invalid("amount"))?;
    Ok(Money { minor, currency })
}

fn parse_card(card: &Members<'_>) -> Result<CardInput, ApiError> {
    let holder_name = card.text("holder_name", 100)?;
    let typed = card.text("number", 30)?;
    let number = Pan::parse(&typed).map_err(|_| {
        let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
        digits[digits.len().saturating_sub(4)..].to_owned()
    });
    let cvv = card.text("cvv", 4)?;
    if !(3..=4).contains(&cvv.len()) || !cvv.bytes().all(|b| b.is_ascii_digit()) {
        return Err(card.invalid("cvv"));
    }
    Ok(CardInput {
        holder_name,
        number,
        expiration_month: card.integer("expiration_month", 1..=12)? as u8,
        expiration_year: card.integer("expiration_year", 2000..=2099)? as u16,
        capture: card.boolean("capture", true)?,
    })
}

fn parse_three_dsecure(three_ds: &Members<'_>) -> Result<ThreeDsRequest, ApiError> {
    if !three_ds.boolean("mpi", false)? {
        return Ok(if three_ds.boolean("force", false)? {
            ThreeDsRequest::Forced
        } else {
            ThreeDsRequest::Default
        });
    }
    let version = three_ds
        .optional_text("three_dsecure_version", 10)?
        .unwrap_or_else(|| "1.0".to_owned());
    let id_member = match version.as_str() {
        "1.0" => "xid",
        "2.0" | "2.1.0" | "2.2.0" => "ds_transaction_id",
        _ => return Err(three_ds.invalid("three_dsecure_version")),
    };
    let authentication_response = match three_ds
        .optional_text("authentication_response", 1)?
        .as_deref()
    {
        None => None,
        Some("Y") => Some(MpiResponse::Y),
        Some("A") => Some(MpiResponse::A),
        Some("N") => Some(MpiResponse::N),
        Some("U") => Some(MpiResponse::U),
        Some(_) => return Err(three_ds.invalid("authentication_response")),
    };
    if let Some(enrollment) = three_ds.optional_text("enrollment_response", 1)? {
        if !matches!(enrollment.as_str(), "Y" | "N" | "U") {
            return Err(three_ds.invalid("enrollment_response"));
        }
    }
    let eci = Eci::parse(&three_ds.text("eci", 2)?).map_err(|_| three_ds.invalid("eci"))?;
    // A CAVV proves a Y or an A; a failed authentication has none.
    let cavv = match authentication_response {
        Some(MpiResponse::Y | MpiResponse::A) => Some(three_ds.text("cavv", 100)?),
        _ => three_ds.optional_text("cavv", 100)?,
    };
    Ok(ThreeDsRequest::Mpi(MpiAuthentication {
        version,
        eci,
        cavv,
        transaction_id: three_ds.text(id_member, 100)?,
        authentication_response,
    }))
}

fn is_http_url(text: &str) -> bool {
    reqwest::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

/// dLocal's two-letter brand codes.
pub(super) fn brand_code(brand: CardBrand) -> &'static str {
    match brand {
        CardBrand::Visa => "VI",
        CardBrand::Mastercard => "MC",
        CardBrand::Amex => "AM",
        CardBrand::Diners => "DC",
        CardBrand::Elo => "EL",
        CardBrand::Jcb => "JC",
        CardBrand::Discover => "DI",
        CardBrand::UnionPay => "UP",
        CardBrand::Unknown => "",
    }
}

/// The payment object (docs.dlocal.com/reference/the-payment-object), as far as a card
/// payment fills it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct PaymentObject {
    pub id: String,
    pub amount: serde_json::Number,
    pub currency: String,
    pub payment_method_id: &'static str,
    pub payment_method_type: &'static str,
    pub payment_method_flow: &'static str,
    pub country: String,
    pub card: CardObject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub three_dsecure: Option<ThreeDsObject>,
    pub created_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_date: Option<String>,
    pub status: &'static str,
    pub status_detail: String,
    pub status_code: String,
    pub order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct CardObject {
    pub holder_name: String,
    pub expiration_month: u8,
    pub expiration_year: u16,
    pub brand: &'static str,
    pub last4: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct ThreeDsObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eci: Option<Eci>,
}

/// `GET /orders/{order_id}` (docs.dlocal.com/reference/the-order-object): the payment the
/// merchant made for that order, in brief.
#[derive(Debug, Clone, Serialize)]
pub(super) struct OrderObject {
    pub order_id: String,
    pub payment_id: String,
    pub currency: String,
    pub amount: serde_json::Number,
    pub created_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_date: Option<String>,
    pub status: &'static str,
    pub status_code: String,
    pub status_detail: String,
}

impl OrderObject {
    pub fn of(payment: PaymentObject) -> OrderObject {
        OrderObject {
            order_id: payment.order_id,
            payment_id: payment.id,
            currency: payment.currency,
            amount: payment.amount,
            created_date: payment.created_date,
            approved_date: payment.approved_date,
            status: payment.status,
            status_code: payment.status_code,
            status_detail: payment.status_detail,
        }
    }
}

/// `GET /payments/{id}/status`.
#[derive(Debug, Clone, Serialize)]
pub(super) struct StatusObject {
    pub status: &'static str,
    pub status_code: String,
    pub status_detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(card_number: &str) -> String {
        format!(
            r#"{{"amount":120.00,"currency":"BRL","country":"BR","payment_method_id":"CARD",
            "payment_method_flow":"DIRECT","payer":{{"name":"T","email":"t@example.com","document":"53033315550"}},
            "card":{{"holder_name":"T","number":"{card_number}","cvv":"123","expiration_month":10,"expiration_year":2040,"capture":false}},
            "order_id":"o1"}}"#
        )
    }

    #[test]
    fn parses_the_documented_example() {
        let request = PaymentRequest::parse(body("4111111111111111").as_bytes()).unwrap();
        assert_eq!(request.amount.minor, 12000);
        assert_eq!(request.amount.major(), serde_json::Number::from(120));
        assert!(!request.card.capture);
        assert_eq!(request.three_dsecure, ThreeDsRequest::Default);
    }

    #[test]
    fn names_the_parameter_at_fault() {
        let missing = body("4111111111111111").replace(r#""cvv":"123","#, "");
        let error = PaymentRequest::parse(missing.as_bytes()).unwrap_err();
        assert_eq!(
            (error.code, error.param.as_deref()),
            (5001, Some("card.cvv"))
        );
        let wrong = body("4111111111111111").replace("120.00", "\"120\"");
        let error = PaymentRequest::parse(wrong.as_bytes()).unwrap_err();
        assert_eq!((error.code, error.param.as_deref()), (5000, Some("amount")));
    }

    #[test]
    fn invalid_card_number_keeps_only_last_four() {
        let request = PaymentRequest::parse(body("4111111111111112").as_bytes()).unwrap();
        assert_eq!(request.card.number.unwrap_err(), "1112");
    }
}
