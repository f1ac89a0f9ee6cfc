//! [`Phase`] read back by hand from the JSON its derived `Serialize` writes (tag `phase`):
//! the derive's reading of that shape buffers the phase in serde's `Content` and expands a
//! visitor per variant (`crate::provider::stored`; docs/edge.md).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::Phase;
use crate::provider::stored::{members, take, unknown_tag};

impl<'de> Deserialize<'de> for Phase {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Phase, D::Error> {
        read(&mut members(deserializer, "a payment's phase")?).map_err(D::Error::custom)
    }
}

fn read(members: &mut Map<String, Value>) -> Result<Phase, serde_json::Error> {
    let phase: String = take(members, "phase")?;
    Ok(match phase.as_str() {
        "created" => Phase::Created,
        "starting" => Phase::Starting,
        "calling" => Phase::Calling {
            state: take(members, "state")?,
            purpose: take(members, "purpose")?,
        },
        "unknown" => Phase::Unknown {
            state: take(members, "state")?,
            purpose: take(members, "purpose")?,
            lookups: take(members, "lookups")?,
            next_lookup_at_ms: take(members, "next_lookup_at_ms")?,
        },
        "awaiting_browser" => Phase::AwaitingBrowser {
            state: take(members, "state")?,
            action: take(members, "action")?,
        },
        "final" => Phase::Final {
            result: take(members, "result")?,
        },
        other => return Err(unknown_tag("phase", other)),
    })
}
