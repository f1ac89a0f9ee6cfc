//! [`State`] read back by hand from the JSON its derived `Serialize` writes (tag `step`,
//! [`super::Authentication`]'s members flattened in): the derive's reading of that shape
//! was the largest deserializer of a Paysafe worker, about 25 KB of its wasm
//! (`crate::provider::stored`; docs/edge/measurements.md).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::State;
use crate::provider::stored::{members, rest, take, take_or_default, unknown_tag};

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<State, D::Error> {
        read(&mut members(deserializer, "a Paysafe state")?).map_err(D::Error::custom)
    }
}

fn read(members: &mut Map<String, Value>) -> Result<State, serde_json::Error> {
    let step: String = take(members, "step")?;
    Ok(match step.as_str() {
        "tokenizing" => State::Tokenizing {
            order: take(members, "order")?,
            summary: take(members, "summary")?,
        },
        "fingerprinting" => State::Fingerprinting {
            order: take(members, "order")?,
            card: take(members, "card")?,
        },
        "awaiting_method" => State::AwaitingMethod {
            order: take(members, "order")?,
            card: take(members, "card")?,
            fingerprint_id: take(members, "fingerprint_id")?,
        },
        "authenticating" => State::Authenticating {
            order: take(members, "order")?,
            card: take(members, "card")?,
            fingerprint_id: take(members, "fingerprint_id")?,
            merchant_ref_num: take(members, "merchant_ref_num")?,
        },
        "reading_authentication" => State::ReadingAuthentication {
            authentication: rest(members)?,
        },
        "awaiting_challenge" => State::AwaitingChallenge {
            form: take(members, "form")?,
            window_size: take(members, "window_size")?,
            refused: take_or_default(members, "refused")?,
            authentication: rest(members)?,
        },
        "finalizing" => State::Finalizing {
            payload: take(members, "payload")?,
            shown: take(members, "shown")?,
            authentication: rest(members)?,
        },
        "reading_challenge_result" => State::ReadingChallengeResult {
            shown: take(members, "shown")?,
            authentication: rest(members)?,
        },
        "authorizing" => State::Authorizing {
            charge: take(members, "charge")?,
        },
        "finding_authorization" => State::FindingAuthorization {
            charge: take(members, "charge")?,
            after: take(members, "after")?,
        },
        other => return Err(unknown_tag("step", other)),
    })
}
