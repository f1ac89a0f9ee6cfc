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
    /// The backend-wide `capture` setting this adapter once had. Capture is chosen per
    /// payment now (`capture_mode` at create, `card.capture` on the wire): a config that
    /// still sets it is refused, naming the replacement, rather than silently capturing
    /// what its merchant meant to authorize only.
    #[serde(default, rename = "capture", deserialize_with = "removed_capture")]
    #[allow(dead_code)] // never read: its deserializer refuses the key
    removed_capture: RemovedKey,
}

/// Stands for a configuration key that was removed: only ever its default.
#[derive(Debug, Clone, Copy, Default)]
struct RemovedKey;

/// Refuses the removed `capture` key, whatever its value.
fn removed_capture<'de, D: serde::Deserializer<'de>>(_: D) -> Result<RemovedKey, D::Error> {
    Err(serde::de::Error::custom(
        "`capture` was removed: capture is chosen per payment now \
         (`capture_mode: \"automatic\"|\"manual\"` in POST /v1/payments)",
    ))
}

fn production_url() -> String {
    PRODUCTION_URL.to_owned()
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
            removed_capture: RemovedKey,
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
