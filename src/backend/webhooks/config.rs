//! `webhooks` of the backend config: the merchant's endpoints and how patiently each event
//! is delivered.

use serde::Deserialize;

use crate::backend::config_urls::check_webhook_endpoint;
use crate::provider::Secret;

/// Fewer characters than this make a guessable signing secret.
pub const MIN_SECRET_LEN: usize = 24;

/// Most endpoints a backend sends to. A payment's final write carries one outbox row per
/// endpoint, and the edge's Durable Object takes at most this many in one write (its
/// `isEvents`, within the 128 keys of one put): more would make that write fail, and the
/// payment could never end.
pub const MAX_ENDPOINTS: usize = 16;

/// `webhooks` (absent: no endpoint, no events).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Every event goes to each of them.
    pub endpoints: Vec<WebhookEndpoint>,
    /// The wait after the first failed attempt; it doubles after each further one ...
    pub first_retry_ms: u64,
    /// ... up to this.
    pub max_retry_ms: u64,
    /// An event that got no 2xx for this long after it happened is given up.
    pub give_up_after_ms: u64,
    /// How often a host looks for due deliveries.
    pub poll_every_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> WebhooksConfig {
        WebhooksConfig {
            endpoints: Vec::new(),
            first_retry_ms: 5_000,
            max_retry_ms: 60 * 60_000,
            give_up_after_ms: 24 * 60 * 60_000,
            poll_every_ms: 1_000,
        }
    }
}

/// One of the merchant's endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// `https://…`, or `http://` to a loopback address only (a receiver on the same host).
    pub url: String,
    /// The HMAC-SHA256 key its signatures are made with (write `{"env": "NAME"}`).
    pub secret: Secret,
}

impl WebhooksConfig {
    /// The endpoint configured at `url`.
    pub fn endpoint(&self, url: &str) -> Option<&WebhookEndpoint> {
        self.endpoints.iter().find(|e| e.url == url)
    }

    /// Checks URLs, secrets and times, each error naming its key.
    pub fn validate(&self) -> Result<(), String> {
        if self.endpoints.len() > MAX_ENDPOINTS {
            return Err(format!(
                "webhooks.endpoints: at most {MAX_ENDPOINTS} endpoints ({} given)",
                self.endpoints.len()
            ));
        }
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            check_webhook_endpoint(&format!("webhooks.endpoints[{i}].url"), &endpoint.url)?;
            if endpoint.secret.expose().len() < MIN_SECRET_LEN {
                return Err(format!(
                    "webhooks.endpoints[{i}].secret: a signing secret needs at least {MIN_SECRET_LEN} characters"
                ));
            }
            if self.endpoints[..i].iter().any(|e| e.url == endpoint.url) {
                return Err(format!(
                    "webhooks.endpoints[{i}].url: this endpoint is configured twice"
                ));
            }
        }
        if self.first_retry_ms == 0 || self.max_retry_ms == 0 || self.poll_every_ms == 0 {
            return Err(
                "webhooks.first_retry_ms, max_retry_ms and poll_every_ms must be above zero"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_endpoints(n: usize) -> WebhooksConfig {
        WebhooksConfig {
            endpoints: (0..n)
                .map(|i| WebhookEndpoint {
                    url: format!("https://shop{i}.test/hooks"),
                    secret: Secret::new("s".repeat(MIN_SECRET_LEN)),
                })
                .collect(),
            ..WebhooksConfig::default()
        }
    }

    #[test]
    fn at_most_as_many_endpoints_as_one_final_write_can_carry() {
        assert_eq!(with_endpoints(MAX_ENDPOINTS).validate(), Ok(()));
        assert_eq!(
            with_endpoints(MAX_ENDPOINTS + 1).validate(),
            Err("webhooks.endpoints: at most 16 endpoints (17 given)".to_owned())
        );
    }
}
