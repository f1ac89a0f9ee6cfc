//! The backend core's configuration: who it is on the web, which checkout pages may use
//! it, how patient it is with providers, and the providers it finishes payments with.
//! Plain values: reading a file and resolving secrets from the environment is the
//! host's job (`native.rs` for the native server).

use serde::Deserialize;

use super::auth::{ApiKey, MIN_API_KEY_LEN};
use super::config_urls::{check_origin, check_provider_urls, check_url, UrlRole};

/// Everything the core needs to know.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// The URL the cardholder's browser and the providers reach this backend at
    /// (`https://pay.example.com`); return and webhook URLs are made from it.
    pub public_url: String,
    /// Origins of the checkout pages that may confirm payments (exact `scheme://host[:port]`).
    pub checkout_origins: Vec<String>,
    /// The keys the merchant's server authenticates with (`Authorization: Bearer …`) to
    /// create and read payments. Several at once, so a key can be rotated without
    /// downtime: add the new one, deploy, move the server to it, remove the old one.
    pub merchant_api_keys: Vec<ApiKey>,
    /// Confirms with the right client secret that the backend refuses before any
    /// provider call (bad card data, say) before the payment takes no more (429).
    #[serde(default = "default_max_confirm_attempts")]
    pub max_confirm_attempts: u32,
    /// How long a payment may take from start to its result.
    #[serde(default = "default_session_ttl_seconds")]
    pub session_ttl_seconds: u64,
    #[serde(default)]
    pub calls: CallPolicy,
    #[serde(default)]
    pub reconcile: ReconcilePolicy,
    pub providers: ProvidersConfig,
    /// The merchant's webhook endpoints (docs/backend/webhooks.md).
    #[serde(default)]
    pub webhooks: super::webhooks::WebhooksConfig,
}

/// How the backend finds out what became of money calls whose answer was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconcilePolicy {
    /// Wait before the first lookup of a payment in doubt (the provider may still be
    /// finishing the call); each lookup that gets no answer doubles it ...
    pub first_lookup_ms: u64,
    /// ... up to this.
    pub max_lookup_ms: u64,
    /// A lookup that finds nothing ends a payment `not_found` only once the call whose
    /// answer was lost is this old; before, the payment stays `unknown` and is looked up
    /// again. A provider may still be processing a call its client gave up on (or its
    /// search may not show it yet), and would then charge a payment reported failed.
    pub not_found_after_ms: u64,
    /// How often a host's sweep looks for sessions that need the backend (lookups due,
    /// calls abandoned by a stopped process, expiries).
    pub sweep_every_ms: u64,
}

impl Default for ReconcilePolicy {
    fn default() -> ReconcilePolicy {
        ReconcilePolicy {
            first_lookup_ms: 2_000,
            max_lookup_ms: 5 * 60_000,
            not_found_after_ms: 2 * 60_000,
            sweep_every_ms: 5_000,
        }
    }
}

impl ReconcilePolicy {
    /// When lookup number `lookups` (0: the first) is due after `now_ms`.
    pub fn next_lookup_at(&self, now_ms: u64, lookups: u32) -> u64 {
        let delay = self
            .first_lookup_ms
            .saturating_mul(1u64 << lookups.min(32))
            .min(self.max_lookup_ms);
        now_ms.saturating_add(delay)
    }

    /// When lookup number `lookups` of a call last sent at `since_ms` is due: as
    /// [`Self::next_lookup_at`], but never past the moment a lookup's "found nothing" is
    /// believed (`since_ms + not_found_after_ms`), so a call that never arrived ends then
    /// and not up to a backoff step later.
    pub fn next_doubt_lookup_at(&self, now_ms: u64, lookups: u32, since_ms: u64) -> u64 {
        let due = self.next_lookup_at(now_ms, lookups);
        let believed_from = since_ms.saturating_add(self.not_found_after_ms);
        if believed_from > now_ms {
            due.min(believed_from)
        } else {
            due
        }
    }

    /// When an operation the provider answered `pending` (taken, not finished: a refund
    /// still processing) is looked up next, `since_ms` being when it began: after as long
    /// again as it has been under way, from the first lookup's wait up to the longest. So
    /// the lookups of one that stays pending for hours thin out as a doubt's do, with no
    /// count to keep.
    pub fn next_pending_lookup_at(&self, now_ms: u64, since_ms: u64) -> u64 {
        let delay = now_ms
            .saturating_sub(since_ms)
            .max(self.first_lookup_ms)
            .min(self.max_lookup_ms);
        now_ms.saturating_add(delay)
    }
}

/// How provider calls are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallPolicy {
    /// Per attempt; the host's transport enforces it.
    pub timeout_ms: u64,
    /// Attempts of a call that is safe to repeat (reads, calls with an idempotency key);
    /// other calls are made once.
    pub attempts: u32,
    /// Wait before attempt n+1: `backoff_ms × n`.
    pub backoff_ms: u64,
}

impl Default for CallPolicy {
    fn default() -> CallPolicy {
        CallPolicy {
            timeout_ms: 15_000,
            attempts: 3,
            backoff_ms: 300,
        }
    }
}

impl CallPolicy {
    /// The longest one call can take with all its attempts, plus a margin: a `Calling`
    /// phase older than this was left by a stopped process.
    pub fn lease_ms(&self) -> u64 {
        // attempts × (timeout + backoff × attempts): each attempt, and backoffs counted
        // generously (n × backoff before attempt n + 1).
        let attempts = u64::from(self.attempts.max(1));
        let each = (self.backoff_ms.saturating_mul(attempts)).saturating_add(self.timeout_ms);
        attempts.saturating_mul(each).saturating_add(5_000)
    }
}

/// The bounds `validate` puts on `calls`: five minutes an attempt, ten attempts, a minute
/// between them.
const MAX_CALL_TIMEOUT_MS: u64 = 300_000;
const MAX_CALL_ATTEMPTS: u32 = 10;
const MAX_CALL_BACKOFF_MS: u64 = 60_000;
/// The refusal naming them (a literal: one `format!` less in the edge worker).
const CALL_BOUNDS: &str =
    "calls: timeout_ms is at most 300000, attempts at most 10 and backoff_ms at most 60000";

fn default_max_confirm_attempts() -> u32 {
    3
}

fn default_session_ttl_seconds() -> u64 {
    30 * 60
}

/// One optional section per provider; a provider without a section is not offered.
/// Adding a provider: a field here and a block in [`super::Providers::from_config`].
/// A build without a provider's adapter (its Cargo feature off: `make edge
/// EDGE_PROVIDERS=paysafe`) still reads that provider's section, as `NotBuilt`, so that
/// [`BackendConfig::validate`] refuses it by name (`providers_built.rs`) instead of
/// calling it an unknown key or ignoring it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersConfig {
    #[cfg(feature = "payroc")]
    #[serde(default)]
    pub payroc: Option<crate::provider::payroc::Config>,
    #[cfg(not(feature = "payroc"))]
    #[serde(default)]
    pub payroc: Option<super::providers_built::NotBuilt>,
    #[cfg(feature = "dlocal")]
    #[serde(default)]
    pub dlocal: Option<crate::provider::dlocal::Config>,
    #[cfg(not(feature = "dlocal"))]
    #[serde(default)]
    pub dlocal: Option<super::providers_built::NotBuilt>,
    #[cfg(feature = "paysafe")]
    #[serde(default)]
    pub paysafe: Option<crate::provider::paysafe::Config>,
    #[cfg(not(feature = "paysafe"))]
    #[serde(default)]
    pub paysafe: Option<super::providers_built::NotBuilt>,
    #[cfg(feature = "bambora")]
    #[serde(default)]
    pub bambora: Option<crate::provider::bambora::Config>,
    #[cfg(not(feature = "bambora"))]
    #[serde(default)]
    pub bambora: Option<super::providers_built::NotBuilt>,
}

impl BackendConfig {
    /// Checks what serde cannot: URLs and origins are well formed (see
    /// [`super::config_urls`]), each error naming its key.
    pub fn validate(&self) -> Result<(), String> {
        self.providers.check_built().map_err(|e| e.to_string())?;
        check_url("public_url", &self.public_url, UrlRole::Base)?;
        for (i, origin) in self.checkout_origins.iter().enumerate() {
            check_origin(&format!("checkout_origins[{i}]"), origin)?;
        }
        check_provider_urls(&self.providers)?;
        if self.merchant_api_keys.is_empty() {
            return Err(
                "merchant_api_keys: at least one key is needed to create payments".to_owned(),
            );
        }
        if let Some(i) = self
            .merchant_api_keys
            .iter()
            .position(|k| k.len() < MIN_API_KEY_LEN)
        {
            return Err(format!(
                "merchant_api_keys[{i}]: a key needs at least {MIN_API_KEY_LEN} characters"
            ));
        }
        if self.max_confirm_attempts == 0 {
            return Err("max_confirm_attempts must be above zero".to_owned());
        }
        let reconcile = &self.reconcile;
        if reconcile.sweep_every_ms == 0
            || reconcile.first_lookup_ms == 0
            || reconcile.max_lookup_ms == 0
        {
            // A first lookup at 0 doubles to 0: every payment in doubt would be looked up
            // at the provider on every sweep and every read, for as long as it stays so.
            return Err(
                "reconcile.sweep_every_ms, first_lookup_ms and max_lookup_ms must be above zero"
                    .to_owned(),
            );
        }
        if self.calls.timeout_ms == 0 || self.calls.attempts == 0 {
            return Err("calls.timeout_ms and calls.attempts must be above zero".to_owned());
        }
        // At these a call's lease (what tells a call under way from one a stopped process
        // left) is already about 2.5 hours; past them it grows without use, and sums of
        // them stop fitting.
        if self.calls.timeout_ms > MAX_CALL_TIMEOUT_MS
            || self.calls.attempts > MAX_CALL_ATTEMPTS
            || self.calls.backoff_ms > MAX_CALL_BACKOFF_MS
        {
            return Err(CALL_BOUNDS.to_owned());
        }
        if self.session_ttl_seconds == 0 {
            // Every payment would be expired before its confirm.
            return Err("session_ttl_seconds must be above zero".to_owned());
        }
        self.webhooks.validate()?;
        Ok(())
    }

    pub fn public_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    pub fn allows_origin(&self, origin: &str) -> bool {
        self.checkout_origins.iter().any(|o| o == origin)
    }
}

/// `scheme://host[:port]` of an http(s) URL, or `None` when it is not one.
pub fn origin_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    let well_formed = !host.is_empty()
        && !host.contains('@')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    well_formed.then(|| &url[..url.len() - rest.len() + host_end])
}

/// `url` with every character outside ASCII percent-encoded as its UTF-8 bytes (`é` →
/// `%C3%A9`), as a browser's URL parser writes a path, query or fragment: the same URL, in
/// a form a `Location` header carries (the edge's `Headers` refuse a character above
/// U+00FF, and send one in U+0080–U+00FF as a lone Latin-1 byte). An origin that
/// [`origin_of`] accepts is ASCII already, so only what follows it can change.
pub fn ascii_url(url: &str) -> String {
    use std::fmt::Write;
    let mut ascii = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                let _ = write!(ascii, "%{byte:02X}");
            }
        }
    }
    ascii
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_return_url_is_kept_in_ascii() {
        assert_eq!(
            ascii_url("https://shop.test/caf\u{e9}?note=\u{20ac}5 off#r\u{e9}sum\u{e9}"),
            "https://shop.test/caf%C3%A9?note=%E2%82%AC5 off#r%C3%A9sum%C3%A9"
        );
        let plain = "http://127.0.0.1:8080/checkout?step=resume&x=%C3%A9";
        assert_eq!(
            ascii_url(plain),
            plain,
            "ASCII, percent signs included, is left as it is"
        );
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("http://127.0.0.1:8080/checkout?x=1"),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("https://shop.test"), Some("https://shop.test"));
        assert_eq!(origin_of("https://a@evil.test/"), None);
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https:///x"), None);
    }

    fn valid() -> BackendConfig {
        BackendConfig {
            public_url: "https://pay.shop.test".into(),
            checkout_origins: vec!["https://shop.test".into()],
            merchant_api_keys: vec![crate::backend::auth::ApiKey::new("a-merchant-key-of-16+")],
            max_confirm_attempts: 3,
            session_ttl_seconds: 900,
            calls: CallPolicy::default(),
            reconcile: ReconcilePolicy::default(),
            providers: ProvidersConfig::default(),
            webhooks: Default::default(),
        }
    }

    #[test]
    fn a_reconcile_policy_without_a_wait_is_refused() {
        assert_eq!(valid().validate(), Ok(()));
        for zero in [
            |r: &mut ReconcilePolicy| r.first_lookup_ms = 0,
            |r: &mut ReconcilePolicy| r.max_lookup_ms = 0,
            |r: &mut ReconcilePolicy| r.sweep_every_ms = 0,
        ] {
            let mut config = valid();
            zero(&mut config.reconcile);
            let refused = config.validate().unwrap_err();
            assert!(refused.contains("first_lookup_ms"), "{refused}");
        }
    }

    /// A call policy whose lease would be hours long or no longer fit (`timeout_ms =
    /// u64::MAX` wrapped it to 7.7 s, and calls under way were taken for abandoned), and a
    /// session lifetime of zero (every payment expired before its confirm), are refused.
    #[test]
    fn absurd_call_policies_and_a_zero_lifetime_are_refused() {
        type Change = fn(&mut BackendConfig);
        let cases: [(Change, &str); 5] = [
            (|c| c.calls.timeout_ms = u64::MAX, "timeout_ms is at most"),
            (|c| c.calls.timeout_ms = 300_001, "timeout_ms is at most"),
            (|c| c.calls.attempts = 11, "attempts at most"),
            (|c| c.calls.backoff_ms = u64::MAX, "backoff_ms at most"),
            (|c| c.session_ttl_seconds = 0, "session_ttl_seconds"),
        ];
        for (change, named) in cases {
            let mut config = valid();
            change(&mut config);
            let refused = config.validate().unwrap_err();
            assert!(refused.contains(named), "{refused}");
        }
        let mut longest = valid();
        longest.calls = CallPolicy {
            timeout_ms: 300_000,
            attempts: 10,
            backoff_ms: 60_000,
        };
        assert_eq!(longest.validate(), Ok(()));
        // What no config can reach is no panic, nor a short lease.
        let absurd = CallPolicy {
            timeout_ms: u64::MAX,
            attempts: u32::MAX,
            backoff_ms: u64::MAX,
        };
        assert_eq!(absurd.lease_ms(), u64::MAX);
        // The refusal names the bounds `validate` applies.
        for bound in [MAX_CALL_TIMEOUT_MS, MAX_CALL_BACKOFF_MS] {
            assert!(CALL_BOUNDS.contains(&format!("at most {bound}")));
        }
        assert!(CALL_BOUNDS.contains(&format!("at most {MAX_CALL_ATTEMPTS} ")));
    }

    #[test]
    fn lookups_back_off_to_a_ceiling() {
        let policy = ReconcilePolicy {
            first_lookup_ms: 1_000,
            max_lookup_ms: 10_000,
            sweep_every_ms: 1,
            ..Default::default()
        };
        let delays: Vec<u64> = (0..6)
            .map(|n| policy.next_lookup_at(100, n) - 100)
            .collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        assert_eq!(policy.next_lookup_at(u64::MAX - 1, 99), u64::MAX);
    }

    #[test]
    fn a_doubts_lookups_fall_on_the_moment_found_nothing_is_believed() {
        // The defaults: lookups 2, 6, 14, 30, 62 and 126 s after a call lost at 0, but a
        // "found nothing" is believed from 120 s on: the sixth falls there instead.
        let policy = ReconcilePolicy::default();
        let mut now = 0;
        let times: Vec<u64> = (0..7)
            .map(|n| {
                now = policy.next_doubt_lookup_at(now, n, 0);
                now
            })
            .collect();
        assert_eq!(
            times,
            [2_000, 6_000, 14_000, 30_000, 62_000, 120_000, 248_000]
        );
        // Before the wait's end a lookup is never later than it; after it, the backoff.
        let long = ReconcilePolicy {
            max_lookup_ms: 600_000,
            ..Default::default()
        };
        assert_eq!(long.next_doubt_lookup_at(100_000, 9, 0), 120_000);
        assert_eq!(long.next_doubt_lookup_at(120_000, 9, 0), 720_000);
        assert_eq!(
            policy.next_doubt_lookup_at(u64::MAX - 1, 99, u64::MAX),
            u64::MAX
        );
    }

    #[test]
    fn a_pending_operation_is_looked_up_less_often_the_longer_it_stays() {
        let policy = ReconcilePolicy {
            first_lookup_ms: 1_000,
            max_lookup_ms: 10_000,
            sweep_every_ms: 1,
            ..Default::default()
        };
        // Each lookup finds it still pending and sets the next one: the waits double.
        let (began, mut now, mut waits) = (50_000, 50_000, Vec::new());
        for _ in 0..6 {
            let next = policy.next_pending_lookup_at(now, began);
            waits.push(next - now);
            now = next;
        }
        assert_eq!(waits, [1_000, 1_000, 2_000, 4_000, 8_000, 10_000]);
        // A clock behind the operation's start, and the end of time, are no panic.
        assert_eq!(policy.next_pending_lookup_at(10, began), 1_010);
        assert_eq!(policy.next_pending_lookup_at(u64::MAX - 1, 0), u64::MAX);
    }

    #[test]
    fn lease_covers_every_attempt() {
        let policy = CallPolicy::default();
        assert!(policy.lease_ms() > 3 * policy.timeout_ms);
        // 3 × 15 s, 300 ms × 3², 5 s: the "about 53 s" of docs/operations.md.
        assert_eq!(policy.lease_ms(), 52_700);
    }
}
