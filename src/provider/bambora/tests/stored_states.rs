//! The adapter's states as the store keeps them: each reads back as it was written, as the
//! derive read it, and states stored by earlier versions still read.

use crate::emv::TransStatus;
use serde_json::{json, Value};

use super::*;

#[test]
fn states_stored_before_refusals_and_doubts_were_kept_still_read() {
    let mut stored = serde_json::to_value(awaiting(redirect_2x())).unwrap();
    stored.as_object_mut().unwrap().remove("refused");
    stored["order"]
        .as_object_mut()
        .unwrap()
        .remove("started_ms");
    let state: State = serde_json::from_value(stored).unwrap();
    let State::AwaitingIssuer { refused, order, .. } = &state else {
        panic!("{state:?}")
    };
    assert_eq!((*refused, order.started_ms), (0, 0));
}

/// One state of every step (`stored.rs` reads them by hand), each optional member both
/// set and not.
fn every_state() -> Vec<State> {
    let State::Creating { order } = creating() else {
        panic!("creating");
    };
    let (two, one) = (awaiting(redirect_2x()), awaiting(redirect_1x()));
    let State::AwaitingIssuer {
        continue_id,
        issuer,
        window_size,
        ..
    } = two.clone()
    else {
        panic!("awaiting the issuer");
    };
    let challenge = Challenged {
        version: "2.2.0".into(),
        legacy: false,
    };
    let doubt = |challenge: Option<Challenged>| Doubt {
        order: order.clone(),
        challenge,
    };
    vec![
        State::Creating {
            order: order.clone(),
        },
        two,
        one,
        State::Continuing {
            order: order.clone(),
            challenge: challenge.clone(),
            waiting: None,
        },
        State::Continuing {
            order: order.clone(),
            challenge: challenge.clone(),
            waiting: Some(Waiting {
                continue_id,
                issuer,
                window_size,
                refused: 2,
            }),
        },
        State::InDoubt { doubt: doubt(None) },
        State::Searching {
            doubt: doubt(Some(challenge.clone())),
        },
        State::Reading {
            doubt: doubt(Some(challenge)),
            transaction_id: "10000001".into(),
        },
    ]
}

/// The stored shape is the derived `Serialize`'s (tag `step`), read back by hand: every
/// step, from a JSON value and from text; a missing member is refused unless it is
/// optional or has a default (`refused`, `waiting`), an unknown step too.
#[test]
fn every_state_reads_back_as_it_was_written() {
    for state in every_state() {
        let stored = serde_json::to_value(&state).expect("serializes");
        assert_eq!(
            State::deserialize(&stored).expect("reads"),
            state,
            "{stored}"
        );
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), state);
        let Value::Object(members) = stored else {
            panic!("an object");
        };
        for name in members.keys().filter(|name| *name != "step") {
            let mut without = members.clone();
            without.remove(name);
            let read = serde_json::from_value::<State>(without.into());
            let optional = ["refused", "waiting"].contains(&name.as_str());
            assert_eq!(read.is_ok(), optional, "{name} missing: {members:?}");
        }
        let mut unknown = members.clone();
        unknown.insert("step".into(), json!("levitating"));
        assert!(serde_json::from_value::<State>(unknown.into()).is_err());
    }
    let mut old = serde_json::to_value(awaiting(redirect_2x())).unwrap();
    old.as_object_mut().unwrap().remove("refused");
    let State::AwaitingIssuer { refused, .. } = serde_json::from_value(old).unwrap() else {
        panic!("awaiting the issuer");
    };
    assert_eq!(
        refused, 0,
        "a state stored before `refused` existed reads as none"
    );
}

/// At every depth, as the derive read it (`provider::stored_checks`): every state with
/// both issuer forms and Bambora's authentication, and the merchant's authentication,
/// read back; a missing member is refused unless optional or defaulted, an unknown step,
/// `by` or `protocol` too; an unknown member is ignored.
#[test]
fn every_state_and_its_tagged_parts_read_as_the_derive_read_them() {
    let states = every_state();
    let written: Vec<String> = states
        .iter()
        .map(|state| serde_json::to_string(state).unwrap())
        .collect();
    for tag in [
        r#""protocol":"pa_req""#,
        r#""protocol":"c_req""#,
        r#""by":"bambora""#,
    ] {
        assert!(
            written.iter().any(|w| w.contains(tag)),
            "no state has {tag}"
        );
    }
    assert_reads_as_the_derive(
        &states,
        &["step", "by", "protocol"],
        |path, name| match name {
            "refused" | "waiting" => path.is_empty(),
            "challenge" => path.last().is_some_and(|p| p == "doubt"),
            "version" => path.last().is_some_and(|p| p == "authentication"),
            "started_ms" | "card" => true,
            _ => false,
        },
    );
    let merchant = Authentication::Merchant {
        version: "2.2.0".into(),
        trans_status: TransStatus::A,
        eci: crate::emv::Eci::new(6).unwrap(),
    };
    let bambora = [
        Authentication::Bambora { version: Some(2) },
        Authentication::Bambora { version: None },
    ];
    assert_reads_as_the_derive(&[merchant], &["by"], |_, _| false);
    assert_reads_as_the_derive(&bambora, &["by"], |_, name| name == "version");
}

/// The adapter's state is stored as text read back as a value
/// (`backend::providers::encode`): every step, the same JSON as `to_value` wrote.
#[test]
fn every_state_is_stored_as_to_value_stored_it() {
    crate::backend::providers::assert_encodes_as_to_value(&every_state());
}
