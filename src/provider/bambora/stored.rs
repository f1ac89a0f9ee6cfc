//! [`State`] read back by hand from the JSON its derived `Serialize` writes (tag `step`):
//! the derive's reading of that shape buffered every state in serde's `Content` and
//! expanded a visitor per variant, about 15 KB of a Bambora worker's wasm
//! (`crate::provider::stored`; docs/edge.md).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::State;
use crate::provider::stored::{members, take, take_or_default, unknown_tag};

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<State, D::Error> {
        read(&mut members(deserializer, "a Bambora state")?).map_err(D::Error::custom)
    }
}

fn read(members: &mut Map<String, Value>) -> Result<State, serde_json::Error> {
    let step: String = take(members, "step")?;
    Ok(match step.as_str() {
        "creating" => State::Creating {
            order: take(members, "order")?,
        },
        "awaiting_issuer" => State::AwaitingIssuer {
            order: take(members, "order")?,
            continue_id: take(members, "continue_id")?,
            issuer: take(members, "issuer")?,
            window_size: take(members, "window_size")?,
            refused: take_or_default(members, "refused")?,
        },
        "continuing" => State::Continuing {
            order: take(members, "order")?,
            challenge: take(members, "challenge")?,
            waiting: take_or_default(members, "waiting")?,
        },
        "in_doubt" => State::InDoubt {
            doubt: take(members, "doubt")?,
        },
        "searching" => State::Searching {
            doubt: take(members, "doubt")?,
        },
        "reading" => State::Reading {
            doubt: take(members, "doubt")?,
            transaction_id: take(members, "transaction_id")?,
        },
        other => return Err(unknown_tag("step", other)),
    })
}
