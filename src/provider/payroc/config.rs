//! Where Payroc is and who the merchant is there: the adapter's configuration, read from
//! the host's config file (the API key is a [`Secret`], so `Debug` prints it as `***`).

use serde::{Deserialize, Serialize};

use crate::provider::Secret;

pub const PRODUCTION_IDENTITY_URL: &str = "https://identity.payroc.com";
pub const PRODUCTION_API_URL: &str = "https://api.payroc.com/v1";
pub const PRODUCTION_PAYMENTS_URL: &str = "https://payments.payroc.com";

/// Payroc's `cardholderChallenge` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardholderChallenge {
    /// The merchant wants the issuer to challenge the cardholder.
    #[serde(alias = "REQUIRED")]
    Required,
    /// The issuer decides.
    #[default]
    #[serde(alias = "OPTIONAL")]
    Optional,
}

impl CardholderChallenge {
    pub fn as_str(self) -> &'static str {
        match self {
            CardholderChallenge::Required => "REQUIRED",
            CardholderChallenge::Optional => "OPTIONAL",
        }
    }
}

/// Where Payroc is and who the merchant is there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_identity_url")]
    pub identity_url: String,
    #[serde(default = "default_api_url")]
    pub api_url: String,
    #[serde(default = "default_payments_url")]
    pub payments_url: String,
    pub api_key: Secret,
    pub processing_terminal_id: String,
    /// Sent when the payment states no challenge preference of its own.
    #[serde(default)]
    pub cardholder_challenge: CardholderChallenge,
}

fn default_identity_url() -> String {
    PRODUCTION_IDENTITY_URL.to_owned()
}
fn default_api_url() -> String {
    PRODUCTION_API_URL.to_owned()
}
fn default_payments_url() -> String {
    PRODUCTION_PAYMENTS_URL.to_owned()
}

impl Config {
    /// The sandbox at `sandbox_url` (e.g. `http://127.0.0.1:8081`) with the contract's
    /// credentials (../shared/contract.md).
    pub fn sandbox(sandbox_url: &str) -> Config {
        let base = sandbox_url.trim_end_matches('/');
        Config {
            identity_url: format!("{base}/payroc/identity"),
            api_url: format!("{base}/payroc/api/v1"),
            payments_url: format!("{base}/payroc/payments"),
            api_key: "sandbox-payroc-api-key".into(),
            processing_terminal_id: "4479001".to_owned(),
            cardholder_challenge: CardholderChallenge::Optional,
        }
    }

    pub(super) fn url(base: &str, path: &str) -> String {
        format!("{}{path}", base.trim_end_matches('/'))
    }
}
