//! Fault injection: what the sandbox does wrong on purpose, per provider and endpoint.
//! Set with `POST /_sandbox/faults` or `threeds-bridge sandbox --faults FILE`.
//! This file owns the rules and the decisions; `control` serves them over HTTP and
//! `fault_layer` is the middleware that applies them to each provider's requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::ledger::Provider;

/// One rule. A rule with no provider applies to all; with no endpoint, to every path of
/// its provider; otherwise to paths (relative to the provider's prefix) starting with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultRule {
    pub provider: Option<Provider>,
    pub endpoint: Option<String>,
    /// Added before the provider answers.
    pub latency_ms: u64,
    /// Share (0 to 1) of requests answered with `error_status` instead, spread evenly.
    pub error_rate: f64,
    /// 500 or 503; 503 when unset.
    pub error_status: Option<u16>,
    /// Never answer: the request hangs until the client gives up.
    pub hang: bool,
    /// Do the work (charge included), then drop the connection instead of answering.
    pub drop_after_commit: bool,
    /// Do the work (charge included), then never answer: the client gives up with the
    /// charge made (a provider that commits and then stalls).
    pub hang_after_commit: bool,
    /// Never answer, and do the work (charge included) this long after the request came,
    /// whether its client still waits or not: a provider that finishes a call after its
    /// client gave up, later than the client's first lookup. 0: off.
    pub commit_after_ms: u64,
    /// Send every notification twice.
    pub duplicate_notifications: bool,
    /// Hold each notification back so that a later one overtakes it.
    pub reorder_notifications: bool,
}

/// The rules in force, and a counter per rule so error shares are exact, not random.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<(FaultRule, std::sync::Arc<AtomicU64>)>>,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    Answer,
    Fail(u16),
    Hang,
    DropAfterCommit,
    HangAfterCommit,
    /// Answer nothing; do the work after this many milliseconds.
    CommitLate(u64),
}

impl Faults {
    pub fn set(&self, rules: Vec<FaultRule>) {
        *self.lock() = rules
            .into_iter()
            .map(|rule| (rule, Default::default()))
            .collect();
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().iter().map(|(rule, _)| rule.clone()).collect()
    }

    /// The latency to add and the action for a request to `path` of `provider`.
    pub fn decide(&self, provider: Provider, path: &str) -> (u64, FaultAction) {
        let rules = self.lock();
        let mut latency = 0;
        let mut action = FaultAction::Answer;
        for (rule, counter) in rules
            .iter()
            .filter(|(rule, _)| rule.matches(provider, path))
        {
            latency += rule.latency_ms;
            if action != FaultAction::Answer {
                continue;
            }
            if rule.hang {
                action = FaultAction::Hang;
            } else if rule.error_rate > 0.0 {
                // The n-th request fails when floor(n * rate) grows: exactly `rate` of them.
                let n = counter.fetch_add(1, Ordering::SeqCst) as f64;
                let rate = rule.error_rate.clamp(0.0, 1.0);
                if ((n + 1.0) * rate).floor() > (n * rate).floor() {
                    action = FaultAction::Fail(rule.error_status.unwrap_or(503));
                }
            }
            if action == FaultAction::Answer && rule.drop_after_commit {
                action = FaultAction::DropAfterCommit;
            }
            if action == FaultAction::Answer && rule.hang_after_commit {
                action = FaultAction::HangAfterCommit;
            }
            if action == FaultAction::Answer && rule.commit_after_ms > 0 {
                action = FaultAction::CommitLate(rule.commit_after_ms);
            }
        }
        (latency, action)
    }

    /// `(duplicate, reorder)` for the notifications of `provider`.
    pub fn notification_policy(&self, provider: Provider) -> (bool, bool) {
        self.lock()
            .iter()
            .filter(|(rule, _)| rule.provider.is_none_or(|p| p == provider))
            .fold((false, false), |(dup, re), (rule, _)| {
                (
                    dup || rule.duplicate_notifications,
                    re || rule.reorder_notifications,
                )
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(FaultRule, std::sync::Arc<AtomicU64>)>> {
        self.rules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The wire form of the rules: the body of `POST /_sandbox/faults`, the answer of
/// `GET /_sandbox/faults`, and the file `threeds-bridge sandbox --faults FILE` reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSet {
    pub rules: Vec<FaultRule>,
}

impl FaultSet {
    /// Parses and checks a rule set from JSON text.
    pub fn from_json(text: &[u8]) -> Result<FaultSet, String> {
        let set: FaultSet = serde_json::from_slice(text).map_err(|e| e.to_string())?;
        for (i, rule) in set.rules.iter().enumerate() {
            rule.validate().map_err(|e| format!("rules[{i}]: {e}"))?;
        }
        Ok(set)
    }
}

impl FaultRule {
    /// Refuses values the middleware cannot honour.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(format!(
                "error_rate must be between 0 and 1, not {}",
                self.error_rate
            ));
        }
        if let Some(status) = self.error_status {
            if !(500..=599).contains(&status) {
                return Err(format!(
                    "error_status must be a 5xx status (500 or 503), not {status}"
                ));
            }
        }
        if let Some(endpoint) = &self.endpoint {
            if !endpoint.starts_with('/') {
                return Err(format!(
                    "endpoint must be a path relative to the provider's prefix, starting with /: {endpoint:?}"
                ));
            }
        }
        // One hour is far past any client timeout; more is surely a typo.
        for (name, ms) in [
            ("latency_ms", self.latency_ms),
            ("commit_after_ms", self.commit_after_ms),
        ] {
            if ms > 3_600_000 {
                return Err(format!("{name} must be at most 3600000, not {ms}"));
            }
        }
        Ok(())
    }

    fn matches(&self, provider: Provider, path: &str) -> bool {
        self.provider.is_none_or(|p| p == provider)
            && self.endpoint.as_deref().is_none_or(|e| path.starts_with(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_share_is_exact() {
        let faults = Faults::default();
        faults.set(vec![FaultRule {
            provider: Some(Provider::Payroc),
            error_rate: 0.5,
            ..Default::default()
        }]);
        let failures = (0..10)
            .filter(|_| faults.decide(Provider::Payroc, "/v1/payments").1 == FaultAction::Fail(503))
            .count();
        assert_eq!(failures, 5);
        assert_eq!(
            faults.decide(Provider::Dlocal, "/secure_payments").1,
            FaultAction::Answer
        );
    }

    #[test]
    fn rule_sets_are_checked() {
        let good = br#"{"rules":[{"provider":"dlocal","endpoint":"/secure_payments","error_rate":0.5,"error_status":500}]}"#;
        assert_eq!(FaultSet::from_json(good).map(|s| s.rules.len()), Ok(1));
        for bad in [
            &br#"{"rules":[{"latency":5}]}"#[..],
            br#"{"rules":[{"error_rate":1.5}]}"#,
            br#"{"rules":[{"error_status":200}]}"#,
            br#"{"rules":[{"endpoint":"secure_payments"}]}"#,
            br#"{"rules":[{"provider":"stripe"}]}"#,
            br#"{"rule":[]}"#,
            br#"not json"#,
        ] {
            assert!(
                FaultSet::from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
