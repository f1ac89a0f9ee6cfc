//! [`Phase`] read back by hand from the JSON its derived `Serialize` writes (tag `phase`):
//! the derive's reading of that shape buffers the phase in serde's `Content` and expands a
//! visitor per variant (`crate::provider::stored`; docs/edge/measurements.md).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{Phase, Session};
use crate::provider::stored::{members, take, take_or_default, unknown_tag};

impl<'de> Deserialize<'de> for Session {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Session, D::Error> {
        session(&mut members(deserializer, "a payment session")?).map_err(D::Error::custom)
    }
}

impl Session {
    /// A stored session's text read (`crate::provider::stored::from_text`).
    pub fn from_text(text: &str) -> Result<Session, serde_json::Error> {
        crate::provider::stored::from_text(text, "a payment session", session)
    }
}

/// The members as the derive read them: `#[serde(default)]` ones by `take_or_default`.
fn session(members: &mut Map<String, Value>) -> Result<Session, serde_json::Error> {
    let mut session = Session {
        id: take(members, "id")?,
        nonce: take(members, "nonce")?,
        client_secret: take_or_default(members, "client_secret")?,
        provider: take(members, "provider")?,
        order_id: take(members, "order_id")?,
        amount: take(members, "amount")?,
        currency: take(members, "currency")?,
        merchant: take_or_default(members, "merchant")?,
        checkout_origin: take(members, "checkout_origin")?,
        display: take(members, "display")?,
        return_url: take_or_default(members, "return_url")?,
        confirm_attempts: take_or_default(members, "confirm_attempts")?,
        return_reference: take_or_default(members, "return_reference")?,
        card: take(members, "card")?,
        created_at_ms: take(members, "created_at_ms")?,
        expires_at_ms: take(members, "expires_at_ms")?,
        updated_at_ms: take_or_default(members, "updated_at_ms")?,
        wake_at_ms: take_or_default(members, "wake_at_ms")?,
        version: take(members, "version")?,
        phase: take(members, "phase")?,
    };
    // A doubt written without the time of its call (before it was kept, or by an older
    // instance on a shared store) counts from its last write, which is no earlier.
    if let Phase::Unknown { since_ms, .. } = &mut session.phase {
        if *since_ms == 0 {
            *since_ms = session.updated_at_ms;
        }
    }
    Ok(session)
}

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
            since_ms: take_or_default(members, "since_ms")?,
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
