//! Where Paysafe is and who the merchant is there: the adapter's configuration, read from
//! the host's config file (the API key's password is a [`Secret`], so `Debug` prints it
//! as `***`), and the URLs and Basic credentials every request is built from.

use serde::Deserialize;

use crate::provider::Secret;

/// Paysafe's production API.
pub const PRODUCTION_URL: &str = "https://api.paysafe.com";

/// Where the adapter talks to and with which credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `https://api.paysafe.com`, or the sandbox's `{sandbox}/paysafe`.
    #[serde(default = "production_url")]
    pub base_url: String,
    /// The API key's user name (Basic).
    pub api_user: String,
    /// The API key's password (Basic).
    pub api_password: Secret,
    /// The merchant account (`89987201` in the sandbox).
    pub account_id: String,
}

fn production_url() -> String {
    PRODUCTION_URL.to_owned()
}

impl Config {
    /// The sandbox's built-in credentials and account, at `sandbox_url` (its origin).
    pub fn sandbox(sandbox_url: &str) -> Config {
        Config {
            base_url: format!("{}/paysafe", sandbox_url.trim_end_matches('/')),
            api_user: "sandbox-paysafe-user".to_owned(),
            api_password: "sandbox-paysafe-password".into(),
            account_id: "89987201".to_owned(),
        }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    /// A path under the 3-D Secure API of this merchant account.
    pub(super) fn account_url(&self, path: &str) -> String {
        self.url(&format!(
            "/threedsecure/v2/accounts/{}{path}",
            self.account_id
        ))
    }

    /// `Basic base64(api_user:api_password)`.
    pub(super) fn authorization(&self) -> String {
        let credentials = format!("{}:{}", self.api_user, self.api_password.expose());
        format!("Basic {}", crate::base64_codec::standard(credentials))
    }
}
