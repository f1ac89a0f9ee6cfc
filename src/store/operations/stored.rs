//! [`OperationPhase`] read back by hand from the JSON its derived `Serialize` writes (tag
//! `phase`, members in camelCase): the derive's reading of that shape buffered the phase in
//! serde's `Content` and expanded a visitor per variant (`crate::provider::stored`;
//! docs/edge.md).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::OperationPhase;
use crate::provider::stored::{members, take, unknown_tag};

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
    use crate::provider::lifecycle::{OperationError, OperationErrorCode, OperationResult};
    use crate::provider::stored_checks::assert_reads_as_the_derive;

    /// Every phase, with every result (the result's own reading is `provider::lifecycle`'s
    /// `stored.rs`), reads back as it was written, from a value and from text; as the
    /// derive did, a missing member or an unknown phase or status is refused (but the
    /// error's optional provider words), an unknown member ignored.
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
        let refused = serde_json::to_string(&phases[4]).unwrap();
        assert_eq!(
            refused,
            r#"{"phase":"final","result":{"status":"refused","code":"already_captured","providerCode":"3406","providerMessage":"The authorization was settled"}}"#
        );
    }
}
