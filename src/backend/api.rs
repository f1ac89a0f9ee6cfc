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
#[path = "api_tests.rs"]
mod tests;
