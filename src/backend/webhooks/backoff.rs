//! When a failed delivery is tried again: exponential backoff with jitter, until the event
//! is too old ([`super::WebhooksConfig::give_up_after_ms`]).

use super::config::WebhooksConfig;

/// What to do after attempt number `attempts` (1: the first) of an event created at
/// `created_ms` failed at `now_ms`: `Some(at)` try again then, `None` give up. The wait is
/// `first_retry_ms × 2^(attempts-1)`, capped at `max_retry_ms`, then drawn uniformly from
/// its upper half by `random` (so instances that failed together do not retry together;
/// 64 random bits: a wait is at most `max_retry_ms`, so the draw's bias is nil).
pub fn next_attempt_at(
    config: &WebhooksConfig,
    created_ms: u64,
    attempts: u32,
    now_ms: u64,
    random: u64,
) -> Option<u64> {
    let doubling = 1u64 << attempts.saturating_sub(1).min(40);
    let ceiling = config
        .first_retry_ms
        .saturating_mul(doubling)
        .min(config.max_retry_ms)
        .max(1);
    let half = ceiling / 2;
    let wait = half + random % (ceiling - half + 1);
    let at = now_ms.saturating_add(wait);
    let deadline = created_ms.saturating_add(config.give_up_after_ms);
    (at <= deadline).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WebhooksConfig {
        WebhooksConfig {
            first_retry_ms: 1_000,
            max_retry_ms: 60_000,
            give_up_after_ms: 24 * 60 * 60_000,
            ..WebhooksConfig::default()
        }
    }

    #[test]
    fn waits_double_up_to_the_ceiling_with_jitter_in_the_upper_half() {
        let config = config();
        let ceilings = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000];
        for (n, ceiling) in (1..).zip(ceilings) {
            let low = next_attempt_at(&config, 0, n, 0, 0).unwrap();
            let high = next_attempt_at(&config, 0, n, 0, ceiling / 2).unwrap();
            assert_eq!(low, ceiling / 2, "attempt {n}");
            assert_eq!(high, ceiling, "attempt {n}");
            for random in [1u64, 7, 123_456_789, u64::MAX] {
                let at = next_attempt_at(&config, 0, n, 0, random).unwrap();
                assert!((ceiling / 2..=ceiling).contains(&at), "attempt {n}: {at}");
            }
        }
    }

    #[test]
    fn gives_up_once_the_next_attempt_would_pass_24_hours() {
        let config = config();
        let day = 24 * 60 * 60_000;
        assert!(next_attempt_at(&config, 0, 30, day - 60_000, 0).is_some());
        assert_eq!(next_attempt_at(&config, 0, 30, day - 1_000, u64::MAX), None);
        assert_eq!(next_attempt_at(&config, 0, 1, day + 1, 0), None);
    }

    #[test]
    fn a_schedule_spans_a_day_in_few_dozen_attempts() {
        let config = WebhooksConfig::default();
        let (mut now, mut attempts) = (0u64, 0u32);
        while let Some(at) = next_attempt_at(&config, 0, attempts + 1, now, u64::MAX) {
            now = at;
            attempts += 1;
        }
        assert!((20..=60).contains(&attempts), "{attempts} attempts");
        assert!(now <= config.give_up_after_ms);
    }
}
