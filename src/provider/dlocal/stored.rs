//! [`State`] read back by hand from the JSON its derived `Serialize` writes (tag `stage`;
//! a newtype variant's struct members beside it): the derive's reading of that shape
//! buffered every state in serde's `Content` and expanded a visitor per variant, about
//! 8 KB of a dLocal worker's wasm (`crate::provider::stored`; docs/edge/measurements.md).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::State;
use crate::provider::stored::{members, rest, take, unknown_tag};

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<State, D::Error> {
        read(&mut members(deserializer, "a dLocal state")?).map_err(D::Error::custom)
    }
}

fn read(members: &mut Map<String, Value>) -> Result<State, serde_json::Error> {
    let stage: String = take(members, "stage")?;
    Ok(match stage.as_str() {
        "creating" => State::Creating {
            order: take(members, "order")?,
        },
        "authenticating" => State::Authenticating {
            order: take(members, "order")?,
            payment_id: take(members, "payment_id")?,
            redirect_url: take(members, "redirect_url")?,
        },
        "confirming" => State::Confirming {
            order: take(members, "order")?,
            payment_id: take(members, "payment_id")?,
            redirect_url: take(members, "redirect_url")?,
        },
        "in_doubt" => State::InDoubt(rest(members)?),
        "cancelling" => State::Cancelling(rest(members)?),
        "reading_after_cancel" => State::ReadingAfterCancel(rest(members)?),
        other => return Err(unknown_tag("stage", other)),
    })
}
