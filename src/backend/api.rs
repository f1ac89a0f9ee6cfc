//! The JSON of the HTTP API (docs/openapi.yaml): the start request as the page sends it,
//! parsed into types at the edge, and the error body; the views every payment endpoint
//! answers with are in `views.rs`. camelCase throughout.

use serde::Deserialize;

use super::http::Response;
use crate::emv::{BrowserReadings, ThreeDsCompInd};
use crate::json_path;
use crate::payment::{
    CaptureMode, ChallengePreference, DisplayMode, ExternalAuthentication, Payer, PaymentMethod,
    ProviderKind,
};

pub use super::views::{LifecycleStatus, MerchantView, PaymentView};

/// `POST /v1/payments`: what the merchant's server decides (with its API key).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRequest {
    pub provider: ProviderKind,
    pub order_id: String,
    pub amount: u64,
    pub currency: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "strict_payer")]
    pub payer: Payer,
    #[serde(default)]
    pub challenge_preference: ChallengePreference,
    /// Where a full-page redirect comes back to; on a configured checkout origin.
    #[serde(default)]
    pub return_url: Option<String>,
    #[serde(default, deserialize_with = "strict_external_authentication")]
    pub external_authentication: Option<ExternalAuthentication>,
    #[serde(default)]
    pub capture_mode: CaptureMode,
    /// A 3-D Secure exemption, where the provider's API carries one.
    #[serde(default)]
    pub exemption: Option<crate::payment::Exemption>,
    /// The `Accept` header the shopper's browser sent with the checkout page (EMV
    /// `browserAcceptHeader`), as the merchant's server received it.
    #[serde(default)]
    pub browser_accept_header: Option<String>,
}

/// `payer` as the merchant's server sends it. The session keeps a [`Payer`] that reads
/// leniently (a session a newer version wrote still loads); the API refuses a member it
/// does not know, as it does everywhere else.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PayerInput {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    document: Option<String>,
    #[serde(default)]
    country: Option<String>,
}

fn strict_payer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Payer, D::Error> {
    let PayerInput {
        name,
        email,
        document,
        country,
    } = PayerInput::deserialize(deserializer)?;
    Ok(Payer {
        name,
        email,
        document,
        country,
    })
}

/// `externalAuthentication` as the merchant's server sends it: no unknown member, and the
/// ECI as the two-digit text the spec documents (a provider's answer may carry it as a
/// number; a merchant's request may not).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExternalAuthenticationInput {
    version: String,
    trans_status: crate::emv::TransStatus,
    #[serde(deserialize_with = "eci_text")]
    eci: crate::emv::Eci,
    cavv: String,
    #[serde(default)]
    xid: Option<String>,
    #[serde(default)]
    ds_transaction_id: Option<String>,
}

fn eci_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<crate::emv::Eci, D::Error> {
    let text = String::deserialize(deserializer)?;
    crate::emv::Eci::parse(&text)
        .map_err(|_| serde::de::Error::custom("invalid value, expected one or two digits"))
}

fn strict_external_authentication<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<ExternalAuthentication>, D::Error> {
    let Some(input) = Option::<ExternalAuthenticationInput>::deserialize(deserializer)? else {
        return Ok(None);
    };
    Ok(Some(ExternalAuthentication {
        version: input.version,
        trans_status: input.trans_status,
        eci: input.eci,
        cavv: input.cavv,
        xid: input.xid,
        ds_transaction_id: input.ds_transaction_id,
    }))
}

/// `POST /v1/payments/{id}/confirm`: what the checkout page adds (with the client secret).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmRequest {
    /// Checked from the raw body before this parse (a wrong secret must not count as an
    /// attempt, nor learn what else is wrong); declared so the member is known.
    #[allow(dead_code)]
    pub client_secret: String,
    pub payment_method: PaymentMethod,
    pub browser: BrowserFields,
    pub display: DisplayMode,
    #[serde(default)]
    pub window_size: Option<String>,
    pub checkout_origin: String,
    /// Taken only when the merchant's server set none at create.
    #[serde(default)]
    pub return_url: Option<String>,
}

/// The members of a create that only the merchant's server may set: a confirm that
/// carries one is refused, naming it, before anything else is read.
pub const MERCHANT_ONLY_FIELDS: [&str; 10] = [
    "provider",
    "orderId",
    "amount",
    "currency",
    "description",
    "payer",
    "challengePreference",
    "externalAuthentication",
    "exemption",
    "browserAcceptHeader",
];

/// The browser details as the module collects them. `acceptHeader` is read and thrown
/// away: the backend takes the Accept header (and the IP) from the request itself.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BrowserFields {
    pub accept_header: Option<String>,
    pub java_enabled: Option<bool>,
    pub javascript_enabled: bool,
    pub language: Option<String>,
    pub languages: Vec<String>,
    pub color_depth: Option<i64>,
    pub screen_height: Option<i64>,
    pub screen_width: Option<i64>,
    /// `getTimezoneOffset()`, in minutes.
    pub time_zone: Option<i64>,
    pub user_agent: Option<String>,
}

impl BrowserFields {
    pub fn readings(&self) -> BrowserReadings {
        BrowserReadings {
            screen_width: self.screen_width,
            screen_height: self.screen_height,
            color_depth: self.color_depth,
            timezone_offset: self.time_zone,
            language: self.language.clone(),
            languages: self.languages.clone(),
            java_enabled: self.java_enabled,
            javascript_enabled: self.javascript_enabled,
            user_agent: self.user_agent.clone(),
        }
    }
}

/// `POST /v1/payments/{id}/method`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MethodCompletion {
    pub client_secret: String,
    pub completion: ThreeDsCompInd,
}

/// A JSON rejection: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// The payment's view beside the error, where the caller needs it to go on (a
    /// cancel's 409: how the payment stands instead).
    pub payment: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            payment: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(400, code, message)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(404, "not_found", "no such payment")
    }

    pub fn store(error: &crate::store::StoreError) -> ApiError {
        tracing::error!(code = error.code(), "session store failed");
        ApiError::new(
            503,
            error.code(),
            "the payment store is unavailable; try again",
        )
    }

    pub fn response(&self) -> Response {
        let mut body =
            serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        if let Some(payment) = &self.payment {
            body["payment"] = payment.clone();
        }
        Response::json(self.status, &body)
    }
}

/// Parses a JSON request body into `T`. A refusal names the member that failed (its
/// path, e.g. `paymentMethod.cvv`) and what was expected, never the value sent: a CVV
/// sent as a number or a PAN typed into the wrong member is not echoed back or logged.
///
/// The body must be one JSON text, UTF-8 (RFC 8259) and nothing after the value, with
/// no member given twice (never read as whichever came last); it is read into a value
/// first and the value into `T` (`crate::json_path`, which keeps the path).
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let refused = |message: String| ApiError::bad_request("invalid_request", message);
    let not_json = || refused("the body is not valid JSON".to_owned());
    let text = std::str::from_utf8(body).map_err(|_| not_json())?;
    let value = json_path::value(text).map_err(|e| match e {
        json_path::NotRead::NotJson(_) => not_json(),
        json_path::NotRead::KeyTwice { path, .. } => {
            refused(format!("duplicate field {}", member_path(&path)))
        }
    })?;
    json_path::typed(&value).map_err(|refusal| refused(field_message(&refusal)))
}

/// `path: what went wrong`, with nothing of the value sent.
fn field_message(refusal: &json_path::Refusal) -> String {
    let text = refusal.error.to_string();
    let path = member_path(&refusal.path);
    // serde names a Rust type (`expected struct PayerInput`, `expected u64`); the API names
    // the JSON kind it documents. It comes last: what comes before may quote the value
    // sent (``unknown variant `…`, expected …``), and the value may say ", expected " too.
    let expected = json_path::after_last(&text, ", expected ")
        .map(|expected| {
            format!(
                "expected {}",
                json_path::json_kind(&expected.replace('`', ""))
            )
        })
        .unwrap_or_default();
    if text.starts_with("unknown field") {
        return format!("{path}: unknown field; {expected}");
    }
    if text.starts_with("missing field") || text.starts_with("duplicate field") {
        return safe_message(&text).replace('`', "");
    }
    let kind = if text.starts_with("invalid type") {
        "wrong type"
    } else {
        "invalid value"
    };
    if expected.is_empty() {
        format!("{path}: {kind}")
    } else {
        format!("{path}: {kind}, {expected}")
    }
}

/// `paymentMethod.cvv`, `payer.name`: each member named when it is a plain identifier
/// (the sender chose the names too), `[field]` when it is not.
fn member_path(path: &[json_path::Segment]) -> String {
    use json_path::Segment;
    let plain = |name: &str| {
        !name.is_empty()
            && name.len() <= 40
            && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
    };
    let names: Vec<String> = path
        .iter()
        .map(|segment| match segment {
            Segment::Member(key) if plain(key) => key.clone(),
            Segment::Member(_) => "[field]".to_owned(),
            Segment::Index(index) => format!("[{index}]"),
        })
        .collect();
    if names.is_empty() {
        "the body".to_owned()
    } else {
        names.join(".")
    }
}

/// A parse error's message with any long digit run (a card number sent as a JSON
/// number, say) masked, so it can be answered and logged.
pub fn safe_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 6 {
            out.push_str("[digits]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in message.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Phase, Session};

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        payment_method: ProbeCard,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct ProbeCard {
        cvv: String,
        number: String,
    }

    #[test]
    fn parse_errors_name_the_field_never_the_value() {
        let cases = [
            (
                r#"{"paymentMethod":{"cvv":737,"number":"4000000000001000"}}"#,
                "paymentMethod.cvv: wrong type",
            ),
            (
                r#"{"paymentMethod":{"cvv":"737","number":4000000000001000}}"#,
                "paymentMethod.number: wrong type",
            ),
            (
                r#"{"paymentMethod":{"cvv":"737","number":"4","4000 0000 0000 1000":1}}"#,
                "paymentMethod.[field]: unknown field",
            ),
            (
                r#"{"paymentMethod":{"cvv":"737","number":"4","colour":1}}"#,
                "paymentMethod.colour: unknown field",
            ),
            (r#"{"paymentMethod":{"cvv":"737"}}"#, "missing field number"),
            (
                r#"{"paymentMethod":["737","4000000000001000"]}"#,
                "paymentMethod: wrong type, expected an object",
            ),
            (r#"{"paymentMethod":"#, "not valid JSON"),
        ];
        for (body, expected) in cases {
            let error = parse_body::<Probe>(body.as_bytes()).unwrap_err();
            assert_eq!((error.status, error.code), (400, "invalid_request"));
            assert!(
                error.message.contains(expected),
                "{body}: {}",
                error.message
            );
            for value in ["737", "4000", "1000"] {
                assert!(!error.message.contains(value), "{body}: {}", error.message);
            }
        }
    }

    /// A value that is not one of an enum's names is not echoed, even one written to look
    /// like the end of serde's own message.
    #[test]
    fn an_unknown_name_is_not_echoed_back() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Named {
            display: DisplayMode,
            #[serde(default)]
            payment_method: Option<PaymentMethod>,
        }
        for body in [
            r#"{"display":"x, expected 4000000000001000"}"#,
            r#"{"display":"iframe","payment_method":{"type":"x, expected 4000000000001000"}}"#,
        ] {
            let error = parse_body::<Named>(body.as_bytes()).unwrap_err();
            assert_eq!((error.status, error.code), (400, "invalid_request"));
            assert!(
                error.message.contains(": invalid value, expected "),
                "{}",
                error.message
            );
            assert!(!error.message.contains("4000"), "{body}: {}", error.message);
        }
    }

    /// A refusal names the JSON kind the API documents, never serde's Rust type (`u64`).
    #[test]
    fn a_wrong_type_is_named_as_json_names_it() {
        let refused = |amount: &str| {
            let body = format!(
                r#"{{"provider":"paysafe","orderId":"o-1","amount":{amount},"currency":"USD"}}"#
            );
            parse_body::<CreateRequest>(body.as_bytes())
                .unwrap_err()
                .message
        };
        assert_eq!(
            refused(r#""1099""#),
            "amount: wrong type, expected a non-negative integer"
        );
        assert_eq!(
            refused("-5"),
            "amount: invalid value, expected a non-negative integer"
        );
        assert_eq!(
            refused("[1099]"),
            "amount: wrong type, expected a non-negative integer"
        );
        let provider = parse_body::<CreateRequest>(
            br#"{"provider":5,"orderId":"o-1","amount":1099,"currency":"USD"}"#,
        )
        .unwrap_err()
        .message;
        assert_eq!(provider, "provider: wrong type, expected a string");
    }

    /// A body is one JSON text: bytes that are not UTF-8 anywhere in it, or anything but
    /// whitespace after its value, and it is refused whole, as not JSON; a member given
    /// twice at any depth is refused by its path, never read as the last one.
    #[test]
    fn a_body_is_one_json_text_each_member_once() {
        let not_json: [&[u8]; 8] = [
            b"{\"paymentMethod\":{\"cvv\":\"7\xff37\",\"number\":\"4\"}}",
            b"{\"paymentMethod\":{\"cvv\":737,\"number\":\"\xff\"}}",
            b"{\"paymentMethod\":{\"cvv\":\"737\",\"number\":\"4\"}} \xff",
            b"{\"paymentMethod\":{\"cvv\":\"737\",\"number\":\"4\"}\xff}",
            b"{\"paymentMethod\":{\"cvv\":\"737\",\"num\xc3",
            b"\xfe{}",
            b"{\"paymentMethod\":{\"cvv\":\"737\",\"number\":\"4\"}} {}",
            b"{\"paymentMethod\":{\"cvv\":737,\"number\":\"4\"}",
        ];
        for body in not_json {
            let refused = parse_body::<Probe>(body).unwrap_err();
            assert_eq!(
                (refused.code, refused.message.as_str()),
                ("invalid_request", "the body is not valid JSON"),
                "{body:?}"
            );
        }
        let fine = br#"{"paymentMethod":{"cvv":"737","number":"4"}}  "#;
        assert!(parse_body::<Probe>(fine).is_ok());
        let twice = [
            (
                r#"{"paymentMethod":{"cvv":"737","number":"4","cvv":"738"}}"#,
                "duplicate field paymentMethod.cvv",
            ),
            (
                r#"{"paymentMethod":{"cvv":"737","number":"4"},"paymentMethod":{}}"#,
                "duplicate field paymentMethod",
            ),
            (
                r#"{"paymentMethod":{"cvv":"737","number":"4","4000 0000":1,"4000 0000":2}}"#,
                "duplicate field paymentMethod.[field]",
            ),
        ];
        for (body, expected) in twice {
            let refused = parse_body::<Probe>(body.as_bytes()).unwrap_err();
            assert_eq!(refused.code, "invalid_request");
            assert_eq!(refused.message, expected);
        }
    }

    #[test]
    fn the_api_bodies_read_as_the_text_reader_read_them() {
        use crate::json_path::tests::{before_text, same_for_every_change};
        use serde_json::json;
        let create = json!({
            "provider": "paysafe", "orderId": "o-1", "amount": 1099, "currency": "USD",
            "description": "Tea", "payer": {"name": "Jo", "email": "jo@example.com",
            "document": "1", "country": "US"}, "challengePreference": "no_preference",
            "returnUrl": "https://shop.example/back", "captureMode": "automatic",
            "exemption": "low_value",
            "externalAuthentication": {"version": "2.2.0", "transStatus": "Y", "eci": "05",
            "cavv": "AAAB", "xid": "x", "dsTransactionId": "d"}
        });
        let confirm = json!({
            "clientSecret": "pi_secret", "display": "iframe", "windowSize": "05",
            "checkoutOrigin": "https://shop.example", "returnUrl": "https://shop.example/r",
            "paymentMethod": {"type": "card", "number": "4000000000001000", "expiryMonth": 12,
            "expiryYear": 2040, "cvv": "123", "holderName": "Jo Doe"},
            "browser": {"acceptHeader": "text/html", "javaEnabled": false,
            "javascriptEnabled": true, "language": "en", "languages": ["en", "fr"],
            "colorDepth": 24, "screenHeight": 900, "screenWidth": 1440, "timeZone": -60,
            "userAgent": "Mozilla/5.0"}
        });
        let method = json!({"clientSecret": "pi_secret", "completion": "Y"});
        let refused = [
            same_for_every_change::<CreateRequest>(&create, |v| {
                before_text::<CreateRequest>(&v.to_string())
            }),
            same_for_every_change::<ConfirmRequest>(&confirm, |v| {
                before_text::<ConfirmRequest>(&v.to_string())
            }),
            same_for_every_change::<MethodCompletion>(&method, |v| {
                before_text::<MethodCompletion>(&v.to_string())
            }),
        ];
        // Most changes are refusals: the comparison is mostly of errors and their paths.
        assert!(refused.iter().all(|n| *n > 30), "{refused:?}");
    }

    #[test]
    fn long_digit_runs_are_masked() {
        assert_eq!(
            safe_message(
                "invalid type: integer `4000000000001000`, expected a string at line 1 column 80"
            ),
            "invalid type: integer `[digits]`, expected a string at line 1 column 80"
        );
    }

    /// The page's and the merchant's views, as the cancel's conflict and the merchant's
    /// payment carry them (`http::to_value`, through text), are the values `to_value`
    /// built: a session of every phase, each optional member set.
    #[test]
    fn views_as_values_are_serde_json_to_value() {
        use crate::payment::{
            BrowserAction, CardSummary, PaymentResult, PaymentStatus, ProviderKind, ResultCode,
        };
        use crate::session::AdapterState;
        let state = || AdapterState(serde_json::json!({"step": "x"}));
        let mut result = PaymentResult::failed(PaymentStatus::Declined, ResultCode::Declined)
            .with_provider_error("05", "Do not honour");
        result.provider_payment_id = Some("pay-1".into());
        result.eci = crate::emv::Eci::new(7);
        let phases = [
            Phase::Created,
            Phase::Starting,
            Phase::Calling {
                state: state(),
                purpose: "paysafe.authorize".into(),
            },
            Phase::Unknown {
                state: state(),
                purpose: "paysafe.authorize".into(),
                lookups: 2,
                next_lookup_at_ms: 9_000,
            },
            Phase::AwaitingBrowser {
                state: state(),
                action: BrowserAction::Redirect {
                    form: crate::emv::FormPost::post("https://acs.example/", []),
                },
            },
            Phase::Final { result },
        ];
        for phase in phases {
            let session = Session {
                id: "0123456789abcdef0123456789abcdef".into(),
                nonce: "n".into(),
                client_secret: "0123_secret_4567".into(),
                provider: ProviderKind::Paysafe,
                order_id: crate::order::OrderId::parse("o-1").unwrap(),
                amount: 1000,
                currency: crate::order::Currency::parse("USD").unwrap(),
                merchant: Default::default(),
                checkout_origin: "http://127.0.0.1:8080".into(),
                display: crate::payment::DisplayMode::Iframe,
                return_url: Some("https://shop.example/back".into()),
                confirm_attempts: 1,
                return_reference: None,
                card: Some(CardSummary {
                    brand: crate::emv::CardBrand::Visa,
                    bin: "400000".into(),
                    last_four: "1000".into(),
                }),
                created_at_ms: 0,
                expires_at_ms: 1_000,
                updated_at_ms: 500,
                wake_at_ms: Some(1_000),
                version: 7,
                phase,
            };
            let merchant = MerchantView::of(&session);
            let page = PaymentView::of(&session);
            assert_eq!(
                crate::backend::http::to_value(&merchant).unwrap(),
                serde_json::to_value(&merchant).unwrap()
            );
            assert_eq!(
                crate::backend::http::to_value(&page).unwrap(),
                serde_json::to_value(&page).unwrap()
            );
        }
    }
}
