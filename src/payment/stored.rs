//! [`BrowserAction`] read back by hand from the JSON its derived `Serialize` writes (tag
//! `type`, members in camelCase): the derive's reading of that shape buffered the action in
//! serde's `Content` and expanded a visitor per variant, about 7 KB of the edge wasm's code
//! (`crate::provider::stored`; docs/edge/measurements.md). Only the JSON builds store an action
//! (in a session's phase); the browser module builds its own from the page's view.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::BrowserAction;
use crate::provider::stored::{members, take, unknown_tag};

impl<'de> Deserialize<'de> for BrowserAction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<BrowserAction, D::Error> {
        read(&mut members(deserializer, "a browser action")?).map_err(D::Error::custom)
    }
}

fn read(members: &mut Map<String, Value>) -> Result<BrowserAction, serde_json::Error> {
    let kind: String = take(members, "type")?;
    Ok(match kind.as_str() {
        "method" => BrowserAction::Method {
            form: take(members, "form")?,
            timeout_ms: take(members, "timeoutMs")?,
        },
        "challenge" => BrowserAction::Challenge {
            form: take(members, "form")?,
            window_size: take(members, "windowSize")?,
        },
        "redirect" => BrowserAction::Redirect {
            form: take(members, "form")?,
        },
        other => return Err(unknown_tag("type", other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emv::{ChallengeWindowSize, FormField, FormMethod, FormPost};
    use crate::provider::stored_checks::assert_reads_as_the_derive;

    fn form(method: FormMethod) -> FormPost {
        FormPost {
            action: "https://acs.example/challenge".into(),
            method,
            fields: vec![FormField {
                name: "creq".into(),
                value: "eyJ0aHJlZURTU2VydmVyVHJhbnNJRCI6IjEifQ".into(),
            }],
        }
    }

    /// Every action reads back as it was written, from a value (as the session's phase
    /// reads it) and from text; as the derive did, a missing member or an unknown type is
    /// refused, an unknown member ignored.
    #[test]
    fn every_action_reads_back_and_a_missing_member_or_unknown_type_is_refused() {
        let actions = [
            BrowserAction::Method {
                form: form(FormMethod::Post),
                timeout_ms: 10_000,
            },
            BrowserAction::Challenge {
                form: form(FormMethod::Post),
                window_size: ChallengeWindowSize::FullScreen,
            },
            BrowserAction::Redirect {
                form: form(FormMethod::Get),
            },
        ];
        assert_reads_as_the_derive(&actions, &["type"], |_, _| false);
        let stored = serde_json::to_value(&actions[1]).unwrap();
        assert_eq!(stored["type"], "challenge");
        assert_eq!(stored["windowSize"], "05", "{stored}");
    }
}
