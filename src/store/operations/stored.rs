//! [`OperationPhase`] read back by hand from the JSON its derived `Serialize` writes (tag
//! `phase`, members in camelCase): the derive's reading of that shape buffered the phase in
//! serde's `Content` and expanded a visitor per variant (`crate::provider::stored`;
//! docs/edge/measurements.md). [`OperationRecord`] too, from the stored object's members: the
//! stores read it from text, and the derive's text reading was a second copy of its code.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{OperationPhase, OperationRecord};
use crate::provider::stored::{members, take, unknown_tag};

impl<'de> Deserialize<'de> for OperationRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OperationRecord, D::Error> {
        record(&mut members(deserializer, "an operation record")?).map_err(D::Error::custom)
    }
}

impl OperationRecord {
    /// A stored operation's text read (`crate::provider::stored::from_text`).
    pub fn from_text(text: &str) -> Result<OperationRecord, serde_json::Error> {
        crate::provider::stored::from_text(text, "an operation record", record)
    }
}

fn record(members: &mut Map<String, Value>) -> Result<OperationRecord, serde_json::Error> {
    Ok(OperationRecord {
        id: take(members, "id")?,
        payment_id: take(members, "paymentId")?,
        idempotency_key: take(members, "idempotencyKey")?,
        fingerprint: take(members, "fingerprint")?,
        operation: take(members, "operation")?,
        phase: take(members, "phase")?,
        version: take(members, "version")?,
        created_at_ms: take(members, "createdAtMs")?,
        updated_at_ms: take(members, "updatedAtMs")?,
        wake_at_ms: take(members, "wakeAtMs")?,
        claimed_until_ms: take(members, "claimedUntilMs")?,
    })
}

impl<'de> Deserialize<'de> for OperationPhase {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OperationPhase, D::Error> {
        read(&mut members(deserializer, "an operation's phase")?).map_err(D::Error::custom)
    }
}

fn read(members: &mut Map<String, Value>) -> Result<OperationPhase, serde_json::Error> {
    let phase: String = take(members, "phase")?;
    Ok(match phase.as_str() {
        "calling" => OperationPhase::Calling,
        "unknown" => OperationPhase::Unknown {
            lookups: take(members, "lookups")?,
            next_lookup_at_ms: take(members, "nextLookupAtMs")?,
        },
        "final" => OperationPhase::Final {
            result: take(members, "result")?,
        },
        other => return Err(unknown_tag("phase", other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Currency, OrderId};
    use crate::payment::CaptureMode;
    use crate::provider::lifecycle::{Operation, OperationKind};
    use crate::provider::lifecycle::{OperationError, OperationErrorCode, OperationResult};
    use crate::provider::stored_checks::assert_reads_as_the_derive;

    fn record(phase: OperationPhase, wake_at_ms: Option<u64>) -> OperationRecord {
        OperationRecord {
            id: "1".repeat(32),
            payment_id: "2".repeat(32),
            idempotency_key: "capture-1".into(),
            fingerprint: "capture:1000".into(),
            operation: Operation {
                kind: OperationKind::Refund,
                amount: 400,
                currency: Currency::parse("CAD").unwrap(),
                order_id: OrderId::parse("order-1").unwrap(),
                authorized_amount: 1000,
                capture_mode: CaptureMode::Manual,
                provider_payment_id: "10000001".into(),
                capture_id: Some("10000002".into()),
                reference: "0".repeat(32),
            },
            phase,
            version: 3,
            created_at_ms: 1_000,
            updated_at_ms: 2_000,
            wake_at_ms,
            claimed_until_ms: None,
        }
    }

    /// Every phase, with every result (the result's own reading is `provider::lifecycle`'s
    /// `stored.rs`), alone and in a record, reads back as it was written, from a value and
    /// from text; as the derive did, a missing member or an unknown phase or status is
    /// refused (but the optional ones), an unknown member ignored.
    #[test]
    fn every_phase_and_result_reads_back_and_a_missing_member_or_unknown_tag_is_refused() {
        let finals = [
            OperationResult::Succeeded {
                provider_operation_id: "cap-1".into(),
                amount: 1000,
            },
            OperationResult::Pending {
                provider_operation_id: "ref-1".into(),
            },
            OperationResult::Refused(
                OperationError::new(OperationErrorCode::AlreadyCaptured)
                    .with_provider("3406", "The authorization was settled"),
            ),
            OperationResult::Refused(OperationError::new(OperationErrorCode::ProviderTimeout)),
        ];
        assert_reads_as_the_derive(&finals, &["status"], |_, name| {
            matches!(name, "providerCode" | "providerMessage")
        });
        let mut phases = vec![
            OperationPhase::Calling,
            OperationPhase::Unknown {
                lookups: 2,
                next_lookup_at_ms: 1_780_000_060_000,
            },
        ];
        phases.extend(finals.map(|result| OperationPhase::Final { result }));
        assert_reads_as_the_derive(&phases, &["phase", "status"], |_, name| {
            matches!(name, "providerCode" | "providerMessage")
        });
        let records: Vec<OperationRecord> = phases
            .iter()
            .enumerate()
            .map(|(i, phase)| OperationRecord {
                claimed_until_ms: (i % 3 == 0).then_some(9_500),
                ..record(phase.clone(), (i % 2 == 0).then_some(9_000))
            })
            .collect();
        assert_reads_as_the_derive(&records, &["phase", "status"], |path, name| {
            matches!(
                name,
                "providerCode" | "providerMessage" | "wakeAtMs" | "claimedUntilMs"
            ) || (path == ["operation"] && name == "captureId")
        });
        let refused = serde_json::to_string(&phases[4]).unwrap();
        assert_eq!(
            refused,
            r#"{"phase":"final","result":{"status":"refused","code":"already_captured","providerCode":"3406","providerMessage":"The authorization was settled"}}"#
        );
    }
}
