//! [`State`] read back by hand from the JSON its derived `Serialize` writes (tag `step`),
//! and the tagged enums inside it the same way ([`Authentication`] tag `by`,
//! [`IssuerForm`] tag `protocol`, its `PaReq` form's members beside the tag): the derive's
//! reading of those shapes buffered each in serde's `Content` and expanded a visitor per
//! variant (and, inside it, one for the CReq the form keeps), about 28 KB of a Bambora
//! worker's wasm (`crate::provider::stored`; docs/edge/measurements.md).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::contents::IssuerForm;
use super::{Authentication, State};
use crate::provider::stored::{members, rest, take, take_or_default, unknown_tag};

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<State, D::Error> {
        read(&mut members(deserializer, "a Bambora state")?).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Authentication {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Authentication, D::Error> {
        authentication(&mut members(deserializer, "a Bambora authentication")?)
            .map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for IssuerForm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<IssuerForm, D::Error> {
        issuer_form(&mut members(deserializer, "a Bambora issuer form")?).map_err(D::Error::custom)
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

fn authentication(members: &mut Map<String, Value>) -> Result<Authentication, serde_json::Error> {
    let by: String = take(members, "by")?;
    Ok(match by.as_str() {
        "bambora" => Authentication::Bambora {
            version: take(members, "version")?,
        },
        "merchant" => Authentication::Merchant {
            version: take(members, "version")?,
            trans_status: take(members, "trans_status")?,
            eci: take(members, "eci")?,
        },
        other => return Err(unknown_tag("by", other)),
    })
}

fn issuer_form(members: &mut Map<String, Value>) -> Result<IssuerForm, serde_json::Error> {
    let protocol: String = take(members, "protocol")?;
    Ok(match protocol.as_str() {
        "pa_req" => IssuerForm::PaReq(rest(members)?),
        "c_req" => IssuerForm::CReq {
            acs_url: take(members, "acs_url")?,
            encoded: take(members, "encoded")?,
            creq: take(members, "creq")?,
            session_data: take(members, "session_data")?,
        },
        other => return Err(unknown_tag("protocol", other)),
    })
}
