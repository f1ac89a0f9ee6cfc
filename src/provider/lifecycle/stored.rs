//! [`OperationResult`] read back by hand from the JSON its derived `Serialize` writes (tag
//! `status`, members in camelCase, `Refused`'s [`super::OperationError`] members beside the
//! tag): the derive's reading of that shape buffered the result in serde's `Content` and
//! expanded a visitor per variant, about 7 KB of the edge wasm's code
//! (`crate::provider::stored`; docs/edge/measurements.md).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::OperationResult;
use crate::provider::stored::{members, rest, take, unknown_tag};

impl<'de> Deserialize<'de> for OperationResult {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OperationResult, D::Error> {
        read(&mut members(deserializer, "an operation's result")?).map_err(D::Error::custom)
    }
}

fn read(members: &mut Map<String, Value>) -> Result<OperationResult, serde_json::Error> {
    let status: String = take(members, "status")?;
    Ok(match status.as_str() {
        "succeeded" => OperationResult::Succeeded {
            provider_operation_id: take(members, "providerOperationId")?,
            amount: take(members, "amount")?,
        },
        "pending" => OperationResult::Pending {
            provider_operation_id: take(members, "providerOperationId")?,
        },
        "refused" => OperationResult::Refused(rest(members)?),
        other => return Err(unknown_tag("status", other)),
    })
}
