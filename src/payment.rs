//! The payment as the merchant's page and backend see it, whatever the provider: what
//! is asked for, what the browser must do next, and how it ended.

use serde::{Deserialize, Serialize};

#[cfg(feature = "json")]
mod method;
#[cfg(feature = "json")]
mod stored;

use crate::emv::{CardBrand, ChallengeWindowSize, Eci, FormPost, TransStatus};
use crate::order::{Currency, OrderId};

/// The providers this backend finishes payments with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Payroc,
    Dlocal,
    Paysafe,
    Bambora,
}

crate::unit_variant::deserialize_by_name!(ProviderKind { Payroc = "payroc", Dlocal = "dlocal", Paysafe = "paysafe", Bambora = "bambora" });

impl ProviderKind {
    /// The provider a path segment names (`payroc`, …), or `None`.
    pub fn parse(name: &str) -> Option<ProviderKind> {
        [
            ProviderKind::Payroc,
            ProviderKind::Dlocal,
            ProviderKind::Paysafe,
            ProviderKind::Bambora,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Payroc => "payroc",
            ProviderKind::Dlocal => "dlocal",
            ProviderKind::Paysafe => "paysafe",
            ProviderKind::Bambora => "bambora",
        }
    }
}

/// How the page shows the issuer's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DisplayMode {
    Iframe,
    Redirect,
}

crate::unit_variant::deserialize_by_name!(DisplayMode { Iframe = "iframe", Redirect = "redirect" });

/// The merchant's wish about a challenge (EMV threeDSRequestorChallengeInd, simplified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengePreference {
    #[default]
    NoPreference,
    Requested,
    Mandated,
}

crate::unit_variant::deserialize_by_name!(ChallengePreference { NoPreference = "no_preference", Requested = "requested", Mandated = "mandated" });

/// A 3-D Secure exemption the merchant asks the issuer for, at create (`exemption`). Only
/// where the provider's public API carries it (`crate::provider::exemption`): any other
/// provider or exemption is refused at create (400 `exemption_unsupported`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exemption {
    /// EMV threeDSRequestorChallengeInd 02: no challenge requested (the issuer decides).
    NoChallengeRequested,
    /// EMV 05 / the acquirer's transaction risk analysis (PSD2 RTS art. 18).
    TransactionRiskAnalysis,
    /// The low-value exemption (PSD2 RTS art. 16).
    LowValue,
}

crate::unit_variant::deserialize_by_name!(Exemption { NoChallengeRequested = "no_challenge_requested", TransactionRiskAnalysis = "transaction_risk_analysis", LowValue = "low_value" });

impl Exemption {
    pub fn as_str(self) -> &'static str {
        match self {
            Exemption::NoChallengeRequested => "no_challenge_requested",
            Exemption::TransactionRiskAnalysis => "transaction_risk_analysis",
            Exemption::LowValue => "low_value",
        }
    }
}

/// When the authorized amount is taken: at once (`automatic`, a sale), or later by the
/// merchant's `POST /v1/payments/{id}/capture` (`manual`: authorize only, capture at
/// shipping, void to cancel). Set by the merchant's server at create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    #[default]
    Automatic,
    Manual,
}

crate::unit_variant::deserialize_by_name!(CaptureMode { Automatic = "automatic", Manual = "manual" });

impl CaptureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::Automatic => "automatic",
            CaptureMode::Manual => "manual",
        }
    }
}

/// What the browser must do next. Stored as its derived `Serialize` writes it, read back
/// by hand (`payment/stored.rs`, JSON builds only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum BrowserAction {
    /// Post `form` in a hidden iframe; report how it went (threeDSCompInd) afterwards.
    Method { form: FormPost, timeout_ms: u32 },
    /// Show the issuer's challenge: post `form` in an iframe of `window_size`, or as the
    /// whole page in redirect mode.
    Challenge {
        form: FormPost,
        window_size: ChallengeWindowSize,
    },
    /// Leave the page for the provider's own page (dLocal's 3DS page, Payroc's MPI).
    Redirect { form: FormPost },
}

/// How a payment ended, for the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    Authorized,
    Declined,
    Failed,
    Cancelled,
    Error,
}

crate::unit_variant::deserialize_by_name!(PaymentStatus { Authorized = "authorized", Declined = "declined", Failed = "failed", Cancelled = "cancelled", Error = "error" });

impl PaymentStatus {
    /// The status as the API spells it (`authorized`, …): a metric's label.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Error => "error",
        }
    }
}

/// Stable codes for a result that is not `authorized`; the page can switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultCode {
    /// The issuer did not authenticate the cardholder (N, R, or a failed challenge).
    AuthenticationFailed,
    /// The cardholder closed or cancelled the challenge.
    ChallengeCancelled,
    /// The issuer or acquirer declined the authorization.
    Declined,
    /// The provider refused the request (validation, credentials, business rule).
    ProviderRejected,
    /// The provider did not answer in time, even after retries.
    ProviderTimeout,
    /// The provider answered something this backend cannot read.
    ProviderBadResponse,
    /// The provider failed (5xx) even after retries.
    ProviderUnavailable,
    /// The session expired before it finished.
    SessionExpired,
    /// The provider's single-use card token had expired: tokenize the card again.
    TokenExpired,
    /// The provider's single-use card token had already paid: tokenize the card again.
    TokenUsed,
    /// The merchant's server cancelled the payment (`POST /v1/payments/{id}/cancel` with
    /// its API key) before anything was charged.
    CancelledByMerchant,
    /// The checkout page cancelled the payment (`cancel()`, the close button: the same
    /// route with the client secret) before anything was charged.
    CancelledByShopper,
}
crate::unit_variant::deserialize_by_name!(ResultCode { AuthenticationFailed = "authentication_failed", ChallengeCancelled = "challenge_cancelled", Declined = "declined", ProviderRejected = "provider_rejected", ProviderTimeout = "provider_timeout", ProviderBadResponse = "provider_bad_response", ProviderUnavailable = "provider_unavailable", SessionExpired = "session_expired", TokenExpired = "token_expired", TokenUsed = "token_used", CancelledByMerchant = "cancelled_by_merchant", CancelledByShopper = "cancelled_by_shopper" });

impl ResultCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::AuthenticationFailed => "authentication_failed",
            ResultCode::ChallengeCancelled => "challenge_cancelled",
            ResultCode::Declined => "declined",
            ResultCode::ProviderRejected => "provider_rejected",
            ResultCode::ProviderTimeout => "provider_timeout",
            ResultCode::ProviderBadResponse => "provider_bad_response",
            ResultCode::ProviderUnavailable => "provider_unavailable",
            ResultCode::SessionExpired => "session_expired",
            ResultCode::TokenExpired => "token_expired",
            ResultCode::TokenUsed => "token_used",
            ResultCode::CancelledByMerchant => "cancelled_by_merchant",
            ResultCode::CancelledByShopper => "cancelled_by_shopper",
        }
    }
}

/// Why a result is not `authorized`: our code, and the provider's own words when it gave any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultError {
    pub code: ResultCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message: Option<String>,
}

/// The final result of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResult {
    pub status: PaymentStatus,
    pub provider_payment_id: Option<String>,
    /// `2.2.0`, `1.0.2`, …; `None` when no authentication ran.
    pub three_ds_version: Option<String>,
    pub trans_status: Option<TransStatus>,
    pub eci: Option<Eci>,
    pub liability_shift: bool,
    /// The EMV transStatusReason of the authentication's outcome, where the provider
    /// reports one (Bambora names it in `3d_secure.reason_merchant`). For the merchant
    /// only: the page's view leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trans_status_reason: Option<crate::emv::TransStatusReason>,
    pub error: Option<ResultError>,
}

impl PaymentResult {
    /// A result with no authorization because of `code`.
    pub fn failed(status: PaymentStatus, code: ResultCode) -> PaymentResult {
        PaymentResult {
            status,
            provider_payment_id: None,
            three_ds_version: None,
            trans_status: None,
            eci: None,
            liability_shift: false,
            trans_status_reason: None,
            error: Some(ResultError {
                code,
                provider_code: None,
                provider_message: None,
            }),
        }
    }

    pub fn with_provider_error(
        mut self,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> PaymentResult {
        if let Some(error) = self.error.as_mut() {
            error.provider_code = Some(code.into());
            error.provider_message = Some(message.into());
        }
        self
    }
}

/// Who asked the backend to cancel a payment (`POST /v1/payments/{id}/cancel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Canceller {
    /// The merchant's server, with its API key.
    Merchant,
    /// The checkout page, with the payment's client secret.
    Shopper,
}
crate::unit_variant::deserialize_by_name!(Canceller { Merchant = "merchant", Shopper = "shopper" });

impl Canceller {
    /// The result code a payment this actor cancelled ends with.
    pub fn code(self) -> ResultCode {
        match self {
            Canceller::Merchant => ResultCode::CancelledByMerchant,
            Canceller::Shopper => ResultCode::CancelledByShopper,
        }
    }

    /// The final result of a payment this actor cancelled with nothing charged.
    pub fn result(self) -> PaymentResult {
        PaymentResult::failed(PaymentStatus::Cancelled, self.code())
    }

    /// Whether `result` is a cancel's (by anyone): what a repeated cancel answers 200.
    pub fn ended(result: &PaymentResult) -> bool {
        result.status == PaymentStatus::Cancelled
            && result.error.as_ref().is_some_and(|e| {
                matches!(
                    e.code,
                    ResultCode::CancelledByMerchant | ResultCode::CancelledByShopper
                )
            })
    }
}

/// What may be kept and shown of a card: never the full number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    pub brand: CardBrand,
    pub bin: String,
    pub last_four: String,
}

/// `visa 400000…1000`: how a card appears in a log line (never its `Debug` form).
impl std::fmt::Display for CardSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}…{}", self.brand.as_str(), self.bin, self.last_four)
    }
}

impl From<&crate::emv::Pan> for CardSummary {
    fn from(pan: &crate::emv::Pan) -> CardSummary {
        CardSummary {
            brand: pan.brand(),
            bin: pan.bin().to_owned(),
            last_four: pan.last_four().to_owned(),
        }
    }
}

/// A card as the page sent it. Lives only for the first provider call: it is never
/// stored, logged or serialized (no `Serialize`; `Debug` masks the number and the CVV).
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardDetails {
    pub number: crate::emv::Pan,
    /// 1 to 12.
    #[serde(deserialize_with = "expiry_month")]
    pub expiry_month: u8,
    /// Four digits.
    #[serde(deserialize_with = "expiry_year")]
    pub expiry_year: u16,
    pub cvv: Cvv,
    pub holder_name: String,
}

impl std::fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardDetails")
            .field("number", &self.number)
            .field(
                "expiry",
                &format_args!("{:02}/{}", self.expiry_month, self.expiry_year),
            )
            .finish_non_exhaustive()
    }
}

fn expiry_month<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u8, D::Error> {
    let month = u8::deserialize(deserializer)?;
    if (1..=12).contains(&month) {
        Ok(month)
    } else {
        Err(serde::de::Error::custom(
            "invalid value, expected an expiry month, 1 to 12",
        ))
    }
}

fn expiry_year<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    let year = u16::deserialize(deserializer)?;
    if (1000..=9999).contains(&year) {
        Ok(year)
    } else {
        Err(serde::de::Error::custom(
            "invalid value, expected an expiry year of four digits",
        ))
    }
}

/// A card verification value: 3 or 4 digits, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Cvv(String);

impl Cvv {
    pub fn parse(text: &str) -> Option<Cvv> {
        ((3..=4).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Cvv(text.to_owned()))
    }

    /// The digits, for the provider request body only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Cvv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cvv(***)")
    }
}

impl<'de> Deserialize<'de> for Cvv {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Cvv::parse(&text).ok_or_else(|| serde::de::Error::custom("cvv must be 3 or 4 digits"))
    }
}

/// How the page pays. Read as its derive would (tag `type`), without serde's `Content`
/// (`payment/method.rs`, JSON builds only).
#[derive(Debug, Clone)]
pub enum PaymentMethod {
    /// Card details typed into the page.
    Card(CardDetails),
    /// A provider token the page obtained itself (Payroc single-use token, Bambora
    /// token, Paysafe payment handle, dLocal card token). `bin`: the card's first 6 to 8
    /// digits, as the provider's fields report them (Paysafe's 3-D Secure needs it: its
    /// fingerprinting call takes the BIN, not the token).
    Token { token: String, bin: Option<String> },
}

/// The payer, as far as a provider needs them (dLocal: name, email, document, country).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Payer {
    pub name: Option<String>,
    pub email: Option<String>,
    /// National identity document (dLocal: CPF in Brazil).
    pub document: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// An authentication the merchant ran itself (its own MPI / 3DS server): the provider
/// authorizes with these values instead of running 3-D Secure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAuthentication {
    /// `2.2.0`, `1.0.2`, …
    pub version: String,
    pub trans_status: TransStatus,
    pub eci: Eci,
    pub cavv: String,
    /// 3DS1 only.
    pub xid: Option<String>,
    /// 3DS2 only.
    pub ds_transaction_id: Option<String>,
}

/// A payment as the page asked for it, after the backend parsed it and added what only
/// it can know (browser details from the request's own headers and IP).
#[derive(Debug, Clone)]
pub struct PaymentStart {
    pub order_id: OrderId,
    /// Minor units, above zero.
    pub amount: u64,
    pub currency: Currency,
    pub description: Option<String>,
    pub method: PaymentMethod,
    pub payer: Payer,
    pub browser: crate::emv::BrowserDetails,
    pub challenge: ChallengePreference,
    pub display: DisplayMode,
    pub window_size: ChallengeWindowSize,
    pub external_authentication: Option<ExternalAuthentication>,
    /// `Manual`: authorize only (Payroc `autoCapture: false`, dLocal `capture: false`,
    /// Paysafe `settleWithAuth: false`, Bambora `complete: false`).
    pub capture_mode: CaptureMode,
    /// The exemption the merchant asked for at create, one this provider supports.
    pub exemption: Option<Exemption>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_summary_displays_as_brand_bin_and_last_four() {
        let pan = crate::emv::Pan::parse("4000000000001000").expect("a test card");
        let summary = CardSummary::from(&pan);
        assert_eq!(summary.to_string(), "visa 400000…1000");
    }

    #[test]
    fn labels_are_spelt_as_serde_spells_them() {
        for status in [
            PaymentStatus::Authorized,
            PaymentStatus::Declined,
            PaymentStatus::Failed,
            PaymentStatus::Cancelled,
            PaymentStatus::Error,
        ] {
            let json = serde_json::to_string(&status).expect("json");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        let brand = serde_json::to_string(&crate::emv::CardBrand::UnionPay).expect("json");
        assert_eq!(brand, "\"unionpay\"");
        assert_eq!(crate::emv::CardBrand::UnionPay.as_str(), "unionpay");
    }
}
