//! Where Bambora is, who the merchant is there, and what the merchant account takes:
//! the adapter's configuration, read from the host's config file (the passcode is a
//! [`Secret`], so `Debug` prints it as `***`).

use serde::Deserialize;

use crate::provider::Secret;

/// Bambora North America's production API (the paths after it are `/v1/...`).
pub const PRODUCTION_URL: &str = "https://api.na.bambora.com";

/// Where Bambora is and who the merchant is there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `https://api.na.bambora.com`, or the sandbox's `{sandbox}/bambora`. Its origin is
    /// also the one non-https origin a challenge form may post to (the sandbox ACS).
    #[serde(default = "production_url")]
    pub base_url: String,
    /// The merchant id (`300200578` in the sandbox).
    pub merchant_id: String,
    /// The Payments API passcode.
    pub api_passcode: Secret,
    /// The Reporting API passcode, for looking a payment up by its order number after
    /// a lost answer (`POST /v1/reports`); the Payments API passcode when absent (an
    /// account may give both APIs the same one, as the sandbox does).
    #[serde(default)]
    pub reporting_passcode: Option<Secret>,
    /// The one currency the merchant account settles in (ISO 4217, upper case): Bambora's
    /// API takes no currency, so a payment in any other is refused before any call.
    pub currency: String,
    /// Bambora's `3d_secure.auth_required`: refuse (311) a payment whose authentication
    /// is unavailable (U) instead of authorizing it without liability shift.
    #[serde(default)]
    pub auth_required: bool,
}

fn production_url() -> String {
    PRODUCTION_URL.to_owned()
}

impl Config {
    /// The sandbox at `sandbox_url` (e.g. `http://127.0.0.1:8081`) with the contract's
    /// merchant (../shared/contract.md), whose account is in CAD.
    pub fn sandbox(sandbox_url: &str) -> Config {
        Config {
            base_url: format!("{}/bambora", sandbox_url.trim_end_matches('/')),
            merchant_id: "300200578".to_owned(),
            api_passcode: "4BaD82D9197b4cc4b70a221911eE9f70".into(),
            reporting_passcode: None,
            currency: "CAD".to_owned(),
            auth_required: false,
        }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    /// `Passcode base64(merchant_id:api_passcode)`, for the Payments API.
    pub(super) fn authorization(&self) -> String {
        self.passcode_header(&self.api_passcode)
    }

    /// The same with the Reporting API's passcode, for the search.
    pub(super) fn reporting_authorization(&self) -> String {
        self.passcode_header(
            self.reporting_passcode
                .as_ref()
                .unwrap_or(&self.api_passcode),
        )
    }

    fn passcode_header(&self, passcode: &Secret) -> String {
        let credentials = format!("{}:{}", self.merchant_id, passcode.expose());
        format!("Passcode {}", crate::base64_codec::standard(credentials))
    }

    /// `scheme://host[:port]` of `base_url`, lower case; `None` if it has none.
    pub(super) fn origin(&self) -> Option<String> {
        origin(&self.base_url)
    }
}

/// `scheme://authority` of an absolute http(s) URL, lower case, or `None` when the URL is
/// not one this adapter would let a browser post to: no whitespace, control characters,
/// backslashes or user info, a non-empty host.
pub(super) fn origin(url: &str) -> Option<String> {
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return None;
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    let scheme_len = lower.len() - rest.len();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.is_empty() || authority.contains('@') || authority.starts_with(':') {
        return None;
    }
    Some(lower[..scheme_len + authority_end].to_owned())
}
