//! dLocal's server-to-server notifications (docs.dlocal.com/docs/receive-notifications):
//! the payment object POSTed to `notification_url`, signed like a request, retried until
//! a 2xx. dLocal retries hourly; the sandbox retries after 200 ms, doubling up to 5 s,
//! at most [`MAX_ATTEMPTS`] times, so that tests see retries in seconds. Every attempt
//! is recorded for tests to read. Deliveries run on their own tasks: the API answer
//! never waits for the merchant.

use std::time::Duration;

use serde::Serialize;

use super::auth::{self, LOGIN};
use crate::sandbox::ledger::{now_rfc3339, Provider};
use crate::sandbox::Sandbox;

/// Attempts per notification before the sandbox gives up (dLocal's newer docs: 12).
pub const MAX_ATTEMPTS: u32 = 12;
/// The wait after the first failed attempt; it doubles after each further failure.
pub const FIRST_RETRY: Duration = Duration::from_millis(200);
/// The longest wait between attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(5);
/// Under the `reorder_notifications` fault, how long a notification that a later one
/// will follow (a `PENDING` one) is held back, so that the later one overtakes it.
pub const REORDER_HOLD: Duration = Duration::from_secs(1);
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// One notification to deliver: the payment object as it was at the change.
#[derive(Debug, Clone)]
pub(super) struct Notification {
    pub payment_id: String,
    pub status: &'static str,
    pub url: String,
    pub body: String,
    /// Whether the payment is settled (no later notification will follow).
    pub is_final: bool,
}

/// One try at delivering a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationAttempt {
    /// Which delivery this attempt belongs to (a duplicated notification has two).
    pub delivery: u64,
    pub payment_id: String,
    /// The payment's `status` in the notified object.
    pub status: String,
    /// 1 for the first try.
    pub attempt: u32,
    pub outcome: AttemptOutcome,
    /// RFC 3339, UTC.
    pub time: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The merchant answered 2xx.
    Delivered { http_status: u16 },
    /// The merchant answered something else: retried.
    Refused { http_status: u16 },
    /// No answer (connection refused, timeout): retried.
    Unreachable { error: String },
}

/// Starts delivering `notification`, honouring the dLocal notification faults:
/// duplicate sends it twice, reorder holds back notifications that a later one follows.
pub(super) fn dispatch(sandbox: &Sandbox, notification: Notification) {
    let (duplicate, reorder) = sandbox.faults.notification_policy(Provider::Dlocal);
    let hold = if reorder && !notification.is_final {
        REORDER_HOLD
    } else {
        Duration::ZERO
    };
    for _ in 0..if duplicate { 2 } else { 1 } {
        let delivery = {
            let mut inner = sandbox.dlocal.lock();
            inner.deliveries += 1;
            inner.deliveries
        };
        tokio::spawn(deliver(
            sandbox.clone(),
            notification.clone(),
            delivery,
            hold,
        ));
    }
}

async fn deliver(sandbox: Sandbox, notification: Notification, delivery: u64, hold: Duration) {
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    for attempt in 1..=MAX_ATTEMPTS {
        let date = now_rfc3339();
        let result = sandbox
            .http
            .post(&notification.url)
            .header("Content-Type", "application/json")
            .header("X-Date", &date)
            .header("X-Login", LOGIN)
            .header(
                "Authorization",
                auth::authorization_header(&date, notification.body.as_bytes()),
            )
            .body(notification.body.clone())
            .timeout(ATTEMPT_TIMEOUT)
            .send()
            .await;
        let outcome = match result {
            Ok(response) if response.status().is_success() => AttemptOutcome::Delivered {
                http_status: response.status().as_u16(),
            },
            Ok(response) => AttemptOutcome::Refused {
                http_status: response.status().as_u16(),
            },
            Err(error) => AttemptOutcome::Unreachable {
                error: error.to_string(),
            },
        };
        let delivered = matches!(outcome, AttemptOutcome::Delivered { .. });
        sandbox
            .dlocal
            .lock()
            .notification_attempts
            .push(NotificationAttempt {
                delivery,
                payment_id: notification.payment_id.clone(),
                status: notification.status.to_owned(),
                attempt,
                outcome,
                time: now_rfc3339(),
            });
        if delivered {
            return;
        }
        if attempt < MAX_ATTEMPTS {
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
}

/// The wait after failed attempt `attempt` (1-based): 200 ms, 400 ms, … capped at 5 s.
fn backoff(attempt: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert_eq!(backoff(5), Duration::from_millis(3200));
        assert_eq!(backoff(6), MAX_RETRY);
        assert_eq!(backoff(40), MAX_RETRY);
    }
}
