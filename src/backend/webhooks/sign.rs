//! The signature of a delivery (Standard-Webhooks-like, hex instead of base64):
//!
//! ```text
//! Webhook-Id: evt_…                      the event id (dedupe on it)
//! Webhook-Timestamp: 1767225600          unix seconds of this attempt
//! Webhook-Signature: v1=<hex HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>
//! ```
//!
//! The receiver recomputes the HMAC over the exact bytes it received, compares in constant
//! time, refuses a timestamp more than [`TOLERANCE_S`] away from its clock, and processes
//! each event id once (docs/backend/webhooks.md has the snippets).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// How far a receiver should let `Webhook-Timestamp` be from its own clock.
pub const TOLERANCE_S: u64 = 5 * 60;

/// `v1=` and the hex HMAC-SHA256 of `{id}.{timestamp}.{body}` under `secret`.
pub fn signature(secret: &str, event_id: &str, timestamp_s: u64, body: &str) -> String {
    format!("v1={}", hex(&mac(secret, event_id, timestamp_s, body)))
}

/// Whether `header` (a `Webhook-Signature` value: space-separated `v1=…` entries, so a
/// sender may sign with an old and a new secret while rotating) holds a valid signature
/// of this delivery, and its timestamp is within [`TOLERANCE_S`] of `now_s`. What a
/// receiver does; the backend's tests and the demo receiver use it.
pub fn verify(
    secret: &str,
    event_id: &str,
    timestamp_s: u64,
    body: &str,
    header: &str,
    now_s: u64,
) -> bool {
    if now_s.abs_diff(timestamp_s) > TOLERANCE_S {
        return false;
    }
    let expected = hex(&mac(secret, event_id, timestamp_s, body));
    header
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1="))
        .any(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())))
}

fn mac(secret: &str, event_id: &str, timestamp_s: u64, body: &str) -> Vec<u8> {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(event_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_id_timestamp_body() {
        // Computed independently: printf 'evt_1.1700000000.{"a":1}' |
        //   openssl dgst -sha256 -hmac 'whsec_test_secret_0123456789'
        assert_eq!(
            signature(
                "whsec_test_secret_0123456789",
                "evt_1",
                1_700_000_000,
                r#"{"a":1}"#
            ),
            "v1=375f1e18c4ac8f7fd9181499213c3fea36e227fecf9dc3d8fa3f4edfd7854d73"
        );
    }

    #[test]
    fn verify_accepts_its_own_and_refuses_tampering() {
        let secret = "whsec_test_secret_0123456789";
        let body = r#"{"id":"evt_1"}"#;
        let header = signature(secret, "evt_1", 1_000, body);
        assert!(verify(secret, "evt_1", 1_000, body, &header, 1_000));
        // Rotation: several entries, one valid.
        let both = format!("v1=00ff {header}");
        assert!(verify(secret, "evt_1", 1_000, body, &both, 1_000));
        assert!(!verify(
            "another_secret_0123456789",
            "evt_1",
            1_000,
            body,
            &header,
            1_000
        ));
        assert!(!verify(secret, "evt_2", 1_000, body, &header, 1_000));
        assert!(!verify(secret, "evt_1", 1_001, body, &header, 1_001));
        assert!(!verify(
            secret,
            "evt_1",
            1_000,
            r#"{"id":"evt_2"}"#,
            &header,
            1_000
        ));
        assert!(!verify(secret, "evt_1", 1_000, body, "", 1_000));
    }

    #[test]
    fn verify_refuses_old_and_future_timestamps() {
        let secret = "whsec_test_secret_0123456789";
        let header = signature(secret, "evt_1", 10_000, "{}");
        assert!(verify(
            secret,
            "evt_1",
            10_000,
            "{}",
            &header,
            10_000 + TOLERANCE_S
        ));
        assert!(!verify(
            secret,
            "evt_1",
            10_000,
            "{}",
            &header,
            10_001 + TOLERANCE_S
        ));
        assert!(!verify(
            secret,
            "evt_1",
            10_000,
            "{}",
            &header,
            10_000 - TOLERANCE_S - 1
        ));
    }
}
