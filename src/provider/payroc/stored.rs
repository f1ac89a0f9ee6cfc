//! [`State`] and the tagged enums inside it ([`ApiCall`] tag `call`, [`AfterToken`] tag
//! `flow`, [`Evidence`] tag `service_provider`) read back by hand from the JSON their
//! derived `Serialize` writes (tag `step`; a newtype variant's struct members beside its
//! tag): the derive's reading of those shapes buffered each one in serde's `Content` and
//! expanded a visitor per variant, about 28 KB of the edge wasm's code
//! (`crate::provider::stored`; docs/edge/measurements.md).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{AfterToken, ApiCall, Evidence, State};
use crate::provider::stored::{members, rest, take, take_or_default, unknown_tag};

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<State, D::Error> {
        state(&mut members(deserializer, "a Payroc state")?).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for ApiCall {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ApiCall, D::Error> {
        api_call(&mut members(deserializer, "a Payroc call")?).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for AfterToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AfterToken, D::Error> {
        after_token(&mut members(deserializer, "a Payroc token's flow")?).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Evidence, D::Error> {
        evidence(&mut members(deserializer, "a Payroc sale's evidence")?).map_err(D::Error::custom)
    }
}

fn state(members: &mut Map<String, Value>) -> Result<State, serde_json::Error> {
    let step: String = take(members, "step")?;
    Ok(match step.as_str() {
        "authorizing" => State::Authorizing {
            then: take(members, "then")?,
            auth_retried: take(members, "auth_retried")?,
        },
        "calling" => State::Calling {
            call: take(members, "call")?,
            auth_retried: take(members, "auth_retried")?,
        },
        "awaiting_receipt" => State::AwaitingReceipt {
            mpi: take(members, "mpi")?,
            refused: take_or_default(members, "refused")?,
        },
        "sale_in_doubt" => State::SaleInDoubt {
            sale: take(members, "sale")?,
        },
        other => return Err(unknown_tag("step", other)),
    })
}

fn api_call(members: &mut Map<String, Value>) -> Result<ApiCall, serde_json::Error> {
    let call: String = take(members, "call")?;
    Ok(match call.as_str() {
        "tokenize" => ApiCall::Tokenize {
            then: take(members, "then")?,
        },
        "sale" => ApiCall::Sale(rest(members)?),
        "lookup" => ApiCall::Lookup(rest(members)?),
        other => return Err(unknown_tag("call", other)),
    })
}

fn after_token(members: &mut Map<String, Value>) -> Result<AfterToken, serde_json::Error> {
    let flow: String = take(members, "flow")?;
    Ok(match flow.as_str() {
        "mpi" => AfterToken::Mpi {
            order: take(members, "order")?,
            email: take(members, "email")?,
            challenge: take(members, "challenge")?,
        },
        "third_party" => AfterToken::ThirdParty {
            order: take(members, "order")?,
            authentication: take(members, "authentication")?,
        },
        other => return Err(unknown_tag("flow", other)),
    })
}

fn evidence(members: &mut Map<String, Value>) -> Result<Evidence, serde_json::Error> {
    let provider: String = take(members, "service_provider")?;
    Ok(match provider.as_str() {
        "gateway" => Evidence::Gateway {
            mpi_reference: take(members, "mpi_reference")?,
            trans_status: take(members, "trans_status")?,
            eci: take(members, "eci")?,
            wait: take(members, "wait")?,
        },
        "third_party" => Evidence::ThirdParty(rest(members)?),
        other => return Err(unknown_tag("service_provider", other)),
    })
}
