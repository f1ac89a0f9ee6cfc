//! Where dLocal is and who the merchant is there: the adapter's configuration, read from
//! the host's config file. The trans key and the secret key are [`Secret`]s, so `Debug`
//! prints them as `***`.

use serde::Deserialize;

use crate::provider::Secret;

/// dLocal's production API.
pub const PRODUCTION_URL: &str = "https://api.dlocal.com";

/// How to reach one dLocal merchant account. The trans key and the secret key are
/// [`Secret`]s: `Debug` prints them as `***`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "production_url")]
    pub base_url: String,
    /// The account's login, sent in the clear in every request and notification
    /// (`X-Login`): an identifier, not a credential.
    pub x_login: String,
    pub x_trans_key: Secret,
    pub secret_key: Secret,
    /// The backend's webhook for dLocal's notifications; `None`:
    /// `{public_url}/v1/webhooks/dlocal`.
    #[serde(default)]
    pub notification_url: Option<String>,
    /// `card.capture`: true charges at once (`PAID`), false authorizes only (`AUTHORIZED`).
    #[serde(default = "default_capture")]
    pub capture: bool,
}

fn production_url() -> String {
    PRODUCTION_URL.to_owned()
}

fn default_capture() -> bool {
    true
}

impl Config {
    /// The sandbox's dLocal at `sandbox_url` (the sandbox root, e.g.
    /// `http://127.0.0.1:8081`), with the contract's sandbox credentials.
    pub fn sandbox(sandbox_url: &str) -> Config {
        Config {
            base_url: format!("{}/dlocal", sandbox_url.trim_end_matches('/')),
            x_login: "sak223k2wdksdl2".into(),
            x_trans_key: "fm12O7G9".into(),
            secret_key: "sandbox-dlocal-secret".into(),
            notification_url: None,
            capture: true,
        }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    /// `scheme://host[:port]` of the API, the one non-https origin a `redirect_url`
    /// may have (the sandbox's).
    pub(super) fn api_origin(&self) -> &str {
        let after_scheme = self.base_url.find("://").map_or(0, |i| i + 3);
        match self.base_url[after_scheme..].find('/') {
            Some(slash) => &self.base_url[..after_scheme + slash],
            None => &self.base_url,
        }
    }
}
