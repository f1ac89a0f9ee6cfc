//! The seed's field tables as data, and one walker that checks a JSON body against
//! them: presence, JSON type, length, range and enum membership. Every problem
//! becomes one `fieldErrors` member named by its dotted path (`card.cardExpiry.month`).
//! Members the tables do not name are ignored, as Paysafe ignores them.

use std::net::IpAddr;

use serde_json::Value;

use super::error::FieldError;

/// What a field's value must be.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// A string of `min..=max` characters.
    Text {
        min: usize,
        max: usize,
    },
    /// An absolute http(s) URL of at most `max` characters.
    Url {
        max: usize,
    },
    /// Three upper-case letters (ISO 4217).
    Currency,
    /// A JSON integer (not `12.0`, not `"12"`) in `min..=max`.
    Integer {
        min: i64,
        max: i64,
    },
    Boolean,
    /// One of the listed strings.
    OneOf(&'static [&'static str]),
    /// `YYYY-MM-DD`, optionally followed by a time (`THH:MM:SSZ`).
    Date,
    /// A valid IPv4 or IPv6 address.
    Ip,
    /// The EMV colour depths, as a number or a numeric string (the Paysafe table calls
    /// it an enum; `BrowserDetails::to_paysafe` sends the string form).
    ColorDepth,
    /// A nested object with its own table.
    Object(&'static [Field]),
}

/// One row of a table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub required: bool,
    pub rule: Rule,
}

pub const fn req(name: &'static str, rule: Rule) -> Field {
    Field {
        name,
        required: true,
        rule,
    }
}

pub const fn opt(name: &'static str, rule: Rule) -> Field {
    Field {
        name,
        required: false,
        rule,
    }
}

pub const fn text(max: usize) -> Rule {
    Rule::Text { min: 1, max }
}

pub const fn int(max: i64) -> Rule {
    Rule::Integer { min: 0, max }
}

/// The member `name` of `value`, with JSON `null` counted as absent.
pub fn member<'a>(value: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    value.and_then(|v| v.get(name)).filter(|v| !v.is_null())
}

/// Checks `object` against `table`, appending problems to `errors`.
pub fn check(table: &[Field], object: &Value, prefix: &str, errors: &mut Vec<FieldError>) {
    for field in table {
        let path = if prefix.is_empty() {
            field.name.to_owned()
        } else {
            format!("{prefix}.{}", field.name)
        };
        match member(Some(object), field.name) {
            None if field.required => errors.push(FieldError::new(path, "may not be null")),
            None => {}
            Some(value) => check_value(field.rule, value, &path, errors),
        }
    }
}

fn check_value(rule: Rule, value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let mut fail = |problem: String| errors.push(FieldError::new(path, problem));
    match rule {
        Rule::Text { min, max } => match value.as_str() {
            Some(text) => {
                let length = text.chars().count();
                if length < min || length > max {
                    fail(format!("length must be between {min} and {max}"));
                }
            }
            None => fail("must be a string".into()),
        },
        Rule::Url { max } => match value.as_str() {
            Some(url) if url.chars().count() > max => {
                fail(format!("length must be between 1 and {max}"))
            }
            Some(url) if is_absolute_http_url(url) => {}
            Some(_) => fail("must be a fully qualified http(s) URL".into()),
            None => fail("must be a string".into()),
        },
        Rule::Currency => match value.as_str() {
            Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => {}
            Some(_) => fail("must be an ISO 4217 currency code".into()),
            None => fail("must be a string".into()),
        },
        Rule::Integer { min, max } => match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => {}
            Some(_) => fail(format!("must be between {min} and {max}")),
            None => fail("must be an integer".into()),
        },
        Rule::Boolean => {
            if !value.is_boolean() {
                fail("must be a boolean".into());
            }
        }
        Rule::OneOf(allowed) => match value.as_str() {
            Some(text) if allowed.contains(&text) => {}
            _ => fail(format!("must be one of {}", allowed.join(", "))),
        },
        Rule::Date => match value.as_str() {
            Some(text) if is_date(text) => {}
            _ => fail("must be an ISO 8601 date (YYYY-MM-DD)".into()),
        },
        Rule::Ip => match value.as_str().map(str::parse::<IpAddr>) {
            Some(Ok(_)) => {}
            _ => fail("must be a valid IPv4 or IPv6 address".into()),
        },
        Rule::ColorDepth => {
            let bits = match value {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.parse::<u64>().ok(),
                _ => None,
            };
            if !matches!(bits, Some(1 | 4 | 8 | 15 | 16 | 24 | 32 | 48)) {
                fail("must be one of 1, 4, 8, 15, 16, 24, 32, 48".into());
            }
        }
        Rule::Object(table) => {
            if value.is_object() {
                check(table, value, path, errors);
            } else {
                fail("must be an object".into());
            }
        }
    }
}

pub fn is_absolute_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !r.chars().any(char::is_whitespace)
    })
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape = bytes.len() >= 10
        && bytes[..10].iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape {
        return false;
    }
    let month: u32 = text[5..7].parse().unwrap_or(0);
    let day: u32 = text[8..10].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

const RANGE: &[&str] = &[
    "NO_ACCOUNT",
    "DURING_TRANSACTION",
    "LESS_THAN_THIRTY_DAYS",
    "THIRTY_TO_SIXTY_DAYS",
    "MORE_THAN_SIXTY_DAYS",
];

pub const CARD_EXPIRY: &[Field] = &[
    req("month", Rule::Integer { min: 1, max: 12 }),
    req(
        "year",
        Rule::Integer {
            min: 1000,
            max: 9999,
        },
    ),
];

/// `browserDetails`: "if this object is included, all the child elements are required".
pub const BROWSER_DETAILS: &[Field] = &[
    req("acceptHeader", text(2048)),
    req("colorDepthBits", Rule::ColorDepth),
    req("customerIp", Rule::Ip),
    req("javascriptEnabled", Rule::Boolean),
    req("javaEnabled", Rule::Boolean),
    req("language", text(8)),
    req("screenHeight", int(999_999)),
    req("screenWidth", int(999_999)),
    req(
        "timezoneOffset",
        Rule::Integer {
            min: -99_999,
            max: 99_999,
        },
    ),
    req("userAgent", text(256)),
];

/// The authentication request of seed 003, row by row.
pub const AUTHENTICATION_REQUEST: &[Field] = &[
    req("amount", int(99_999_999_999)),
    req("currency", Rule::Currency),
    opt("mcc", Rule::Text { min: 4, max: 4 }),
    opt("merchantName", text(25)),
    req("merchantRefNum", text(255)),
    req("merchantUrl", Rule::Url { max: 2048 }),
    req(
        "card",
        Rule::Object(&[
            req("cardExpiry", Rule::Object(CARD_EXPIRY)),
            req("cardNum", Rule::Text { min: 8, max: 20 }),
            req("holderName", text(45)),
        ]),
    ),
    opt(
        "billingDetails",
        Rule::Object(&[
            opt("city", text(40)),
            opt("country", Rule::Text { min: 2, max: 2 }),
            opt("state", text(40)),
            opt("street", text(50)),
            opt("street2", text(50)),
            opt("zip", text(10)),
            opt("useAsShippingAddress", Rule::Boolean),
        ]),
    ),
    opt(
        "shippingDetails",
        Rule::Object(&[
            opt("city", text(40)),
            opt("country", Rule::Text { min: 2, max: 2 }),
            opt("state", text(40)),
            opt("street", text(50)),
            opt("street2", text(255)),
            opt("zip", text(10)),
            opt("shipMethod", Rule::OneOf(&["N", "T", "C", "O", "S"])),
        ]),
    ),
    opt(
        "profile",
        Rule::Object(&[
            opt("cellPhone", text(40)),
            opt("email", text(255)),
            opt("phone", text(40)),
        ]),
    ),
    req("deviceFingerprintingId", text(36)),
    req("deviceChannel", Rule::OneOf(&["BROWSER", "APP", "3RI"])),
    opt(
        "requestorChallengePreference",
        Rule::OneOf(&[
            "NO_PREFERENCE",
            "NO_CHALLENGE_REQUESTED",
            "CHALLENGE_REQUESTED",
            "CHALLENGE_MANDATED",
        ]),
    ),
    req("messageCategory", Rule::OneOf(&["PAYMENT", "NON_PAYMENT"])),
    opt(
        "transactionIntent",
        Rule::OneOf(&[
            "GOODS_OR_SERVICE_PURCHASE",
            "CHECK_ACCEPTANCE",
            "ACCOUNT_FUNDING",
            "QUASI_CASH_TRANSACTION",
            "PREPAID_ACTIVATION",
        ]),
    ),
    req(
        "authenticationPurpose",
        Rule::OneOf(&[
            "PAYMENT_TRANSACTION",
            "RECURRING_TRANSACTION",
            "INSTALMENT_TRANSACTION",
            "ADD_CARD",
            "MAINTAIN_CARD",
            "EMV_TOKEN_VERIFICATION",
        ]),
    ),
    opt("maxAuthorizationsForInstalmentPayment", int(999)),
    opt("initialPurchaseTime", Rule::Date),
    opt(
        "billingCycle",
        Rule::Object(&[opt("endDate", Rule::Date), opt("frequency", int(9999))]),
    ),
    opt(
        "orderItemDetails",
        Rule::Object(&[
            opt("preOrderItemAvailabilityDate", Rule::Date),
            opt(
                "preOrderPurchaseIndicator",
                Rule::OneOf(&["MERCHANDISE_AVAILABLE", "FUTURE_AVAILABILITY"]),
            ),
            opt(
                "reorderItemsIndicator",
                Rule::OneOf(&["FIRST_TIME_ORDER", "REORDER"]),
            ),
            opt(
                "shippingIndicator",
                Rule::OneOf(&[
                    "SHIP_TO_BILLING_ADDRESS",
                    "SHIP_TO_VERIFIED_ADDRESS",
                    "SHIP_TO_DIFFERENT_ADDRESS",
                    "SHIP_TO_STORE",
                    "DIGITAL_GOODS",
                    "TRAVEL_AND_EVENT_TICKETS",
                    "OTHER",
                ]),
            ),
        ]),
    ),
    opt(
        "purchasedGiftCardDetails",
        Rule::Object(&[
            opt("amount", int(99_999_999_999)),
            opt("count", int(99)),
            opt("currency", Rule::Currency),
        ]),
    ),
    opt("userAccountDetails", Rule::Object(USER_ACCOUNT_DETAILS)),
    opt("browserDetails", Rule::Object(BROWSER_DETAILS)),
];

const USER_ACCOUNT_DETAILS: &[Field] = &[
    opt("addCardAttemptsForLastDay", int(999)),
    opt("changedDate", Rule::Date),
    opt(
        "changedRange",
        Rule::OneOf(&[
            "DURING_TRANSACTION",
            "LESS_THAN_THIRTY_DAYS",
            "THIRTY_TO_SIXTY_DAYS",
            "MORE_THAN_SIXTY_DAYS",
        ]),
    ),
    opt("createdDate", Rule::Date),
    opt("createdRange", Rule::OneOf(RANGE)),
    opt("passwordChangedDate", Rule::Date),
    opt(
        "passwordChangedRange",
        Rule::OneOf(&[
            "NO_CHANGE",
            "DURING_TRANSACTION",
            "LESS_THAN_THIRTY_DAYS",
            "THIRTY_TO_SIXTY_DAYS",
            "MORE_THAN_SIXTY_DAYS",
        ]),
    ),
    opt(
        "paymentAccountDetails",
        Rule::Object(&[
            opt("createdRange", Rule::OneOf(RANGE)),
            opt("createdDate", Rule::Date),
        ]),
    ),
    opt(
        "priorThreeDSAuthentication",
        Rule::Object(&[
            opt("data", text(2048)),
            opt(
                "method",
                Rule::OneOf(&[
                    "FRICTIONLESS_AUTHENTICATION",
                    "ACS_CHALLENGE",
                    "AVS_VERIFIED",
                    "OTHER_ISSUER_METHOD",
                ]),
            ),
            opt("id", text(36)),
            opt("time", Rule::Date),
        ]),
    ),
    opt(
        "shippingDetailsUsage",
        Rule::Object(&[
            opt("cardHolderNameMatch", Rule::Boolean),
            opt("initialUsageDate", Rule::Date),
            opt(
                "initialUsageRange",
                Rule::OneOf(&[
                    "CURRENT_TRANSACTION",
                    "LESS_THAN_THIRTY_DAYS",
                    "THIRTY_TO_SIXTY_DAYS",
                    "MORE_THAN_SIXTY_DAYS",
                ]),
            ),
        ]),
    ),
    opt("suspiciousAccountActivity", Rule::Boolean),
    opt("totalPurchasesSixMonthCount", int(9999)),
    opt("transactionCountForPreviousDay", int(999)),
    opt("transactionCountForPreviousYear", int(999)),
    opt(
        "travelDetails",
        Rule::Object(&[
            opt("isAirTravel", Rule::Boolean),
            opt("airlineCarrier", text(256)),
            opt("departureDate", Rule::Date),
            opt("destination", text(5)),
            opt("origin", text(5)),
            opt("passengerFirstName", text(99)),
            opt("passengerLastName", text(99)),
        ]),
    ),
    opt(
        "userLogin",
        Rule::Object(&[
            opt(
                "authenticationMethod",
                Rule::OneOf(&[
                    "NO_LOGIN",
                    "INTERNAL_CREDENTIALS",
                    "FEDERATED_ID",
                    "ISSUER_CREDENTIALS",
                    "THIRD_PARY_AUTHENTICATION",
                    "FIDO_AUTHENTICATOR",
                ]),
            ),
            opt("data", text(2048)),
            opt("time", Rule::Date),
        ]),
    ),
];

/// The seed's conditional rules, which a table row cannot say.
pub fn check_conditions(body: &Value, errors: &mut Vec<FieldError>) {
    let purpose = member(Some(body), "authenticationPurpose").and_then(Value::as_str);
    let category = member(Some(body), "messageCategory").and_then(Value::as_str);
    if purpose == Some("INSTALMENT_TRANSACTION")
        && member(Some(body), "maxAuthorizationsForInstalmentPayment").is_none()
    {
        errors.push(FieldError::new(
            "maxAuthorizationsForInstalmentPayment",
            "required when authenticationPurpose is INSTALMENT_TRANSACTION",
        ));
    }
    if category == Some("NON_PAYMENT")
        && matches!(
            purpose,
            Some("INSTALMENT_TRANSACTION" | "RECURRING_TRANSACTION")
        )
        && member(Some(body), "initialPurchaseTime").is_none()
    {
        errors.push(FieldError::new(
            "initialPurchaseTime",
            "required for NON_PAYMENT instalment or recurring authentications",
        ));
    }
    let travel = member(member(Some(body), "userAccountDetails"), "travelDetails");
    if member(travel, "isAirTravel").and_then(Value::as_bool) == Some(true) {
        for name in [
            "airlineCarrier",
            "departureDate",
            "destination",
            "origin",
            "passengerFirstName",
            "passengerLastName",
        ] {
            if member(travel, name).is_none() {
                errors.push(FieldError::new(
                    format!("userAccountDetails.travelDetails.{name}"),
                    "required when isAirTravel is true",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(table: &[Field], body: Value) -> Vec<String> {
        let mut found = Vec::new();
        check(table, &body, "", &mut found);
        found.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn browser_details_all_required_and_bounded() {
        let missing = errors(BROWSER_DETAILS, json!({}));
        assert_eq!(missing.len(), BROWSER_DETAILS.len());
        let bad = errors(
            BROWSER_DETAILS,
            json!({"acceptHeader": "x".repeat(2049), "colorDepthBits": 30, "customerIp": "1.2.3",
                   "javascriptEnabled": "true", "javaEnabled": false, "language": "en-GB-oxendict",
                   "screenHeight": 1_000_000, "screenWidth": 12.5, "timezoneOffset": -330,
                   "userAgent": "u".repeat(257)}),
        );
        assert_eq!(
            bad,
            [
                "acceptHeader",
                "colorDepthBits",
                "customerIp",
                "javascriptEnabled",
                "language",
                "screenHeight",
                "screenWidth",
                "userAgent"
            ]
        );
    }

    #[test]
    fn dates_and_urls() {
        assert!(is_date("2026-01-31"));
        assert!(is_date("2026-01-31T10:00:00Z"));
        assert!(!is_date("2026-13-01"));
        assert!(!is_date("31/01/2026"));
        assert!(is_absolute_http_url("https://shop.example/returns?x=1"));
        assert!(!is_absolute_http_url("shop.example"));
        assert!(!is_absolute_http_url("https:///nohost"));
    }
}
