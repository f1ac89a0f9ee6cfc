//! Bambora's request bodies, parsed at the edge into the sandbox's own types.
//!
//! Bodies are read as JSON values first and then walked field by field, so that every
//! missing, mistyped or out-of-range member becomes one `{field, message}` detail with
//! Bambora's dotted field name (`card.3d_secure.browser.language`), as code 314 lists them.
//! Unknown members are ignored, as Bambora does.

use serde_json::{Map, Value};

use super::fields::Check;
use super::wire::{ApiError, Custom};
use crate::emv::{Eci, Generation, Pan};

/// `POST /v1/payments`, validated.
#[derive(Debug)]
pub struct PaymentRequest {
    pub order_number: Option<String>,
    /// Minor units (cents).
    pub amount: i64,
    pub term_url: Option<String>,
    pub source: Source,
    /// `complete`: false makes a pre-authorization (`PA`).
    pub complete: bool,
    pub three_ds: ThreeDsRequest,
    pub custom: Custom,
}

/// Where the card comes from.
#[derive(Debug)]
pub enum Source {
    Card(CardInput),
    /// A single-use token from `/scripts/tokenization/tokens`.
    Token {
        code: String,
    },
}

/// The card as the request gave it: the expiry is checked, not kept, and the CVD only
/// as "present or not".
#[derive(Debug, Clone)]
pub struct CardInput {
    pub pan: Pan,
    pub cvd_present: bool,
}

/// What the request asks of 3-D Secure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreeDsRequest {
    /// No `3d_secure`, or `enabled: false`.
    Off,
    /// Bambora runs 3-D Secure (the two-step process).
    Authenticate {
        version: Option<u8>,
        auth_required: bool,
        /// Whether a valid `browser` object came (required for 3DS 2).
        browser: bool,
    },
    /// The merchant authenticated with its own MPI and sends the results.
    Passthrough(Passthrough),
}

/// Validated results of the merchant's own authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passthrough {
    pub generation: Generation,
    pub eci: Eci,
    pub cavv_present: bool,
}

/// `POST /v1/payments/{id}/continue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardResponse {
    /// 3DS 1.0.2: `card_response.pa_res`.
    PaRes(String),
    /// 3DS 2: `card_response.cres`.
    CRes(String),
}

/// The current month, for expiry checks.
#[derive(Debug, Clone, Copy)]
pub struct Today {
    pub year: u16,
    pub month: u8,
}

impl Today {
    pub fn now() -> Today {
        let now = time::OffsetDateTime::now_utc();
        Today {
            year: u16::try_from(now.year()).unwrap_or(2000),
            month: u8::from(now.month()),
        }
    }
}

/// Parses a body as a JSON object, or the 400 a non-object gets.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_field(
            "body",
            "The request body must be a JSON object",
        )),
        Err(error) => Err(ApiError::invalid_field(
            "body",
            &format!("Malformed JSON: {error}"),
        )),
    }
}

pub fn payment_request(
    body: &Map<String, Value>,
    today: Today,
) -> Result<PaymentRequest, ApiError> {
    let mut check = Check::default();
    let order_number = check.string(body, "order_number", "order_number", false, 30);
    let amount = check.amount(body);
    let term_url = check
        .string(body, "term_url", "term_url", false, 256)
        .filter(|url| check.url("term_url", url));
    check.string(body, "customer_ip", "customer_ip", false, 30);
    let custom = check.custom(body);
    let method = check.string(body, "payment_method", "payment_method", true, 32);

    let mut source = None;
    let mut complete = true;
    let mut three_ds = ThreeDsRequest::Off;
    match method.as_deref() {
        Some("card") => {
            if let Some(card) = check.object(body, "card", "card", true) {
                source = check.card(card, "card", today).map(Source::Card);
                complete = check
                    .boolean(card, "complete", "card.complete")
                    .unwrap_or(true);
                three_ds = check.three_ds(card, "card");
            }
        }
        Some("token") => {
            if let Some(token) = check.object(body, "token", "token", true) {
                let code = check.string(token, "code", "token.code", true, 40);
                let name = check.string(token, "name", "token.name", true, 64);
                if name.is_some_and(|name| name.chars().count() < 4) {
                    check.fail("token.name", "token.name must be 4 to 64 characters");
                }
                complete = check
                    .boolean(token, "complete", "token.complete")
                    .unwrap_or(false);
                three_ds = check.three_ds(token, "token");
                source = code.map(|code| Source::Token { code });
            }
        }
        Some(_) => check.fail(
            "payment_method",
            "Only 'card' and 'token' payments are served by the sandbox",
        ),
        None => {}
    }
    if matches!(three_ds, ThreeDsRequest::Authenticate { .. }) && term_url.is_none() {
        check.fail("term_url", "term_url is required for 3D Secure payments");
    }
    check.finish()?;
    match (amount, source) {
        (Some(amount), Some(source)) => Ok(PaymentRequest {
            order_number,
            amount,
            term_url,
            source,
            complete,
            three_ds,
            custom,
        }),
        // `finish` failed for anything missing; this arm only satisfies the types.
        _ => Err(ApiError::invalid_field("body", "Invalid payment request")),
    }
}

pub fn continue_request(body: &Map<String, Value>) -> Result<CardResponse, ApiError> {
    let mut check = Check::default();
    match check
        .string(body, "payment_method", "payment_method", true, 32)
        .as_deref()
    {
        Some("credit_card" | "card") | None => {}
        Some(_) => check.fail("payment_method", "payment_method must be 'credit_card'"),
    }
    let mut response = None;
    if let Some(card_response) = check.object(body, "card_response", "card_response", true) {
        let pa_res = check.string(
            card_response,
            "pa_res",
            "card_response.pa_res",
            false,
            16384,
        );
        let cres = check.string(card_response, "cres", "card_response.cres", false, 16384);
        response = match (pa_res, cres) {
            (Some(pa_res), None) => Some(CardResponse::PaRes(pa_res)),
            (None, Some(cres)) => Some(CardResponse::CRes(cres)),
            (Some(_), Some(_)) => {
                check.fail("card_response", "Send either pa_res or cres, not both");
                None
            }
            (None, None) => {
                check.fail(
                    "card_response",
                    "pa_res (3DS 1) or cres (3DS 2) is required",
                );
                None
            }
        };
    }
    check.finish()?;
    response.ok_or_else(|| ApiError::invalid_field("card_response", "Invalid card_response"))
}

/// `POST /scripts/tokenization/tokens`: the card behind a new token.
pub fn token_request(body: &Map<String, Value>, today: Today) -> Result<CardInput, ApiError> {
    let mut check = Check::default();
    let card = check.card_numbers(body, "", today);
    check.finish()?;
    card.ok_or_else(|| ApiError::invalid_field("number", "Invalid card"))
}

/// The Bambora-specific members of a payment request.
impl Check {
    /// `amount`: decimal dollars, above zero, at most two decimals.
    pub(super) fn amount(&mut self, body: &Map<String, Value>) -> Option<i64> {
        let value = match body.get("amount") {
            Some(Value::Number(number)) => number.as_f64(),
            None | Some(Value::Null) => {
                self.fail("amount", "This field is required");
                return None;
            }
            Some(_) => {
                self.fail("amount", "Must be a number");
                return None;
            }
        }?;
        let cents = (value * 100.0).round();
        if (value * 100.0 - cents).abs() > 1e-6 {
            self.fail("amount", "Must have at most two decimal places");
            None
        } else if !(1.0..=MAX_AMOUNT_CENTS).contains(&cents) {
            self.fail("amount", "Must be between 0.01 and 99999999.99");
            None
        } else {
            Some(cents as i64)
        }
    }

    fn custom(&mut self, body: &Map<String, Value>) -> Custom {
        let Some(custom) = self.object(body, "custom", "custom", false) else {
            return Custom::default();
        };
        let mut field = |key: &str| {
            self.string(custom, key, &format!("custom.{key}"), false, 256)
                .unwrap_or_default()
        };
        Custom {
            ref1: field("ref1"),
            ref2: field("ref2"),
            ref3: field("ref3"),
            ref4: field("ref4"),
            ref5: field("ref5"),
        }
    }

    fn card(&mut self, card: &Map<String, Value>, path: &str, today: Today) -> Option<CardInput> {
        self.string(card, "name", &format!("{path}.name"), true, 64);
        self.card_numbers(card, &format!("{path}."), today)
    }

    /// `number`, `expiry_month`, `expiry_year`, `cvd` under `prefix`.
    fn card_numbers(
        &mut self,
        card: &Map<String, Value>,
        prefix: &str,
        today: Today,
    ) -> Option<CardInput> {
        let number = self.string(card, "number", &format!("{prefix}number"), true, 20);
        let pan = number.and_then(|number| match Pan::parse(&number) {
            Ok(pan) => Some(pan),
            Err(_) => {
                self.fail(&format!("{prefix}number"), "Invalid card number");
                None
            }
        });
        let two_digits = |text: Option<String>| {
            text.filter(|t| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse::<u8>().ok())
        };
        let month_path = format!("{prefix}expiry_month");
        let year_path = format!("{prefix}expiry_year");
        let month_text = self.string(card, "expiry_month", &month_path, true, 2);
        let month = two_digits(month_text.clone()).filter(|m| (1..=12).contains(m));
        if month_text.is_some() && month.is_none() {
            self.fail(&month_path, "Must be two digits, 01 to 12");
        }
        let year_text = self.string(card, "expiry_year", &year_path, true, 2);
        let year = two_digits(year_text.clone());
        if year_text.is_some() && year.is_none() {
            self.fail(&year_path, "Must be two digits");
        }
        let cvd_path = format!("{prefix}cvd");
        let cvd = self.string(card, "cvd", &cvd_path, false, 4);
        if let Some(cvd) = &cvd {
            if !(3..=4).contains(&cvd.len()) || !cvd.bytes().all(|b| b.is_ascii_digit()) {
                self.fail(&cvd_path, "Must be 3 or 4 digits");
            }
        }
        let (month, year) = (month?, year?);
        let expiry = (2000 + u16::from(year), month);
        if expiry < (today.year, today.month) {
            self.fail(&year_path, "Card has expired");
            return None;
        }
        Some(CardInput {
            pan: pan?,
            cvd_present: cvd.is_some(),
        })
    }

    /// `3d_secure` (and, for cards, `3d_secure_passthrough`) under `owner`.
    fn three_ds(&mut self, owner: &Map<String, Value>, path: &str) -> ThreeDsRequest {
        let secure_path = format!("{path}.3d_secure");
        let passthrough_path = format!("{path}.3d_secure_passthrough");
        let secure = self.object(owner, "3d_secure", &secure_path, false);
        let passthrough = self.object(owner, "3d_secure_passthrough", &passthrough_path, false);
        if let Some(passthrough) = passthrough {
            if secure.is_some_and(|s| s.get("enabled") == Some(&Value::Bool(true))) {
                self.fail(
                    &passthrough_path,
                    "Send 3d_secure_passthrough or an enabled 3d_secure, not both",
                );
                return ThreeDsRequest::Off;
            }
            return self.passthrough(passthrough, &passthrough_path, Generation::Emv);
        }
        let Some(secure) = secure else {
            return ThreeDsRequest::Off;
        };
        let enabled_path = format!("{secure_path}.enabled");
        let enabled = match self.boolean(secure, "enabled", &enabled_path) {
            Some(enabled) => enabled,
            None => {
                if !secure.contains_key("enabled") {
                    self.fail(&enabled_path, "This field is required");
                }
                return ThreeDsRequest::Off;
            }
        };
        if !enabled {
            return ThreeDsRequest::Off;
        }
        if ["xid", "cavv", "eci"]
            .iter()
            .any(|k| secure.contains_key(*k))
        {
            return self.passthrough(secure, &secure_path, Generation::Legacy);
        }
        let version = match self.integer(secure, "version", &format!("{secure_path}.version")) {
            Some(v @ (1 | 2)) => Some(v as u8),
            Some(_) => {
                self.fail(&format!("{secure_path}.version"), "Must be 1 or 2");
                None
            }
            None => None,
        };
        let auth_required = self
            .boolean(
                secure,
                "auth_required",
                &format!("{secure_path}.auth_required"),
            )
            .unwrap_or(false);
        let browser_path = format!("{secure_path}.browser");
        let browser = match self.object(secure, "browser", &browser_path, false) {
            Some(browser) => {
                let before = self.problems();
                self.browser(browser, &browser_path);
                self.problems() == before
            }
            None => false,
        };
        ThreeDsRequest::Authenticate {
            version,
            auth_required,
            browser,
        }
    }

    /// `BrowserData`: the members the OpenAPI spec requires, with their types and limits.
    fn browser(&mut self, browser: &Map<String, Value>, path: &str) {
        let at = |key: &str| format!("{path}.{key}");
        self.string(browser, "accept_header", &at("accept_header"), true, 2048);
        self.required_bool(browser, "java_enabled", &at("java_enabled"));
        self.string(browser, "language", &at("language"), true, 8);
        if let Some(depth) = self.integer(browser, "color_depth", &at("color_depth")) {
            if ![1, 4, 8, 15, 16, 24, 32, 48].contains(&depth) {
                self.fail(
                    &at("color_depth"),
                    "Must be one of 1, 4, 8, 15, 16, 24, 32, 48",
                );
            }
        }
        self.required_integer(browser, "screen_height", &at("screen_height"), 1..=999_999);
        self.required_integer(browser, "screen_width", &at("screen_width"), 1..=999_999);
        self.required_integer(browser, "time_zone", &at("time_zone"), -840..=720);
        self.string(browser, "user_agent", &at("user_agent"), true, 2048);
        self.required_bool(browser, "javascript_enabled", &at("javascript_enabled"));
    }

    /// The merchant's own authentication results: 3DS 2 `3d_secure_passthrough`
    /// `{version: 2, xid?, eci, cavv, ds_transaction_id}` or legacy `3d_secure
    /// {enabled, xid, cavv, eci}`.
    fn passthrough(
        &mut self,
        values: &Map<String, Value>,
        path: &str,
        generation: Generation,
    ) -> ThreeDsRequest {
        let at = |key: &str| format!("{path}.{key}");
        let before = self.problems();
        if generation == Generation::Emv {
            match self.integer(values, "version", &at("version")) {
                Some(2) => {}
                Some(_) => self.fail(&at("version"), "Must be 2"),
                None if !values.contains_key("version") => {
                    self.fail(&at("version"), "This field is required")
                }
                None => {}
            }
            let ds = self.string(
                values,
                "ds_transaction_id",
                &at("ds_transaction_id"),
                true,
                36,
            );
            if ds.is_some_and(|id| uuid::Uuid::parse_str(&id).is_err()) {
                self.fail(&at("ds_transaction_id"), "Must be a UUID");
            }
            self.string(values, "xid", &at("xid"), false, 40);
        } else {
            self.string(values, "xid", &at("xid"), true, 40);
        }
        let eci = match values.get("eci") {
            None | Some(Value::Null) => {
                self.fail(&at("eci"), "This field is required");
                None
            }
            Some(value) => match serde_json::from_value::<Eci>(value.clone()) {
                Ok(eci) if eci.value() <= 7 => Some(eci),
                _ => {
                    self.fail(&at("eci"), "Must be an ECI from 0 to 7");
                    None
                }
            },
        };
        let cavv = self.string(values, "cavv", &at("cavv"), false, 40);
        if let Some(cavv) = &cavv {
            if !cavv_well_formed(cavv) {
                self.fail(
                    &at("cavv"),
                    "Must be 28 characters of base64 or 40 hexadecimal digits",
                );
            }
        }
        match eci {
            Some(eci) if self.problems() == before => ThreeDsRequest::Passthrough(Passthrough {
                generation,
                eci,
                cavv_present: cavv.is_some(),
            }),
            _ => ThreeDsRequest::Off,
        }
    }
}

const MAX_AMOUNT_CENTS: f64 = 9_999_999_999.0;

/// A CAVV/AAV/AEVV: 20 bytes as 28 characters of standard base64, or as 40 hex digits.
fn cavv_well_formed(cavv: &str) -> bool {
    use base64::Engine;
    match cavv.len() {
        28 => base64::engine::general_purpose::STANDARD
            .decode(cavv)
            .is_ok_and(|bytes| bytes.len() == 20),
        40 => cavv.bytes().all(|b| b.is_ascii_hexdigit()),
        _ => false,
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
