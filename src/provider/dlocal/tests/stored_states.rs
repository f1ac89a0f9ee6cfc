//! The adapter's states as the store keeps them: each reads back as it was written, and as the
//! derive read it.

use super::*;

/// One state of every stage (`stored.rs` reads them by hand).
fn every_state() -> Vec<State> {
    let abandoned = |cancelled_by| Abandoned {
        order: order(),
        payment_id: "D-1".into(),
        cancelled_by,
    };
    vec![
        creating(),
        authenticating(),
        State::Confirming {
            order: order(),
            payment_id: "D-1".into(),
            redirect_url: Some("https://3ds.dlocal.test/r".into()),
        },
        State::Confirming {
            order: order(),
            payment_id: "D-1".into(),
            redirect_url: None,
        },
        in_doubt_state(None, None),
        in_doubt_state(Some("D-1"), Some("https://3ds.dlocal.test/r")),
        State::InDoubt(doubt_by_order()),
        State::Cancelling(abandoned(None)),
        State::ReadingAfterCancel(abandoned(Some(crate::payment::Canceller::Merchant))),
    ]
}

/// The stored shape is the derived `Serialize`'s (tag `stage`, newtype variants' members
/// beside it), read back by hand: every stage, from a JSON value and from text; a missing
/// member is refused unless it is an `Option`, an unknown stage too.
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
        let serde_json::Value::Object(members) = stored else {
            panic!("an object");
        };
        let stage = members["stage"].as_str().unwrap().to_owned();
        for name in members.keys().filter(|name| *name != "stage") {
            let mut without = members.clone();
            without.remove(name);
            let read = serde_json::from_value::<State>(without.into());
            let optional = matches!(
                (stage.as_str(), name.as_str()),
                ("confirming", "redirect_url")
                    | ("in_doubt", "payment_id" | "redirect_url")
                    | ("cancelling" | "reading_after_cancel", "cancelled_by")
            );
            assert_eq!(read.is_ok(), optional, "{name} missing: {members:?}");
        }
        let mut unknown = members.clone();
        unknown.insert("stage".into(), "levitating".into());
        assert!(serde_json::from_value::<State>(unknown.into()).is_err());
    }
}

/// The adapter's state is stored as text read back as a value
/// (`backend::providers::encode`): every step, the same JSON as `to_value` wrote.
#[test]
fn every_state_is_stored_as_to_value_stored_it() {
    crate::backend::providers::assert_encodes_as_to_value(&every_state());
}

/// `status_code` (text or any number, or `null`/absent) and the error body's `code` (text
/// or any number) read every kind of JSON value as the derive's untagged
/// `StringOrNumber` did: same strings, same errors and positions.
#[test]
fn string_or_number_members_read_as_the_derive_read_them() {
    use crate::text_or_number::{outcome, INPUTS};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StringOrNumber {
        Text(String),
        Number(serde_json::Number),
    }
    impl From<StringOrNumber> for String {
        fn from(value: StringOrNumber) -> String {
            match value {
                StringOrNumber::Text(text) => text,
                StringOrNumber::Number(number) => number.to_string(),
            }
        }
    }
    #[derive(Debug, Deserialize)]
    struct BeforeCode {
        #[serde(deserialize_with = "required")]
        code: String,
    }
    fn required<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        StringOrNumber::deserialize(d).map(String::from)
    }
    fn optional<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(Option::<StringOrNumber>::deserialize(d)?.map(String::from))
    }
    #[derive(Debug, Deserialize)]
    struct BeforeStatus {
        #[serde(default, deserialize_with = "optional")]
        status_code: Option<String>,
    }
    for input in INPUTS {
        let body = format!(r#"{{"code": {input}, "message": "m"}}"#);
        let now = serde_json::from_str::<wire::ErrorBody>(&body).map(|e| e.code);
        let before = serde_json::from_str::<BeforeCode>(&body).map(|e| e.code);
        assert_eq!(outcome(now), outcome(before), "{body}");
        let body = format!(r#"{{"id": "D-1", "status": "PAID", "status_code": {input}}}"#);
        let now = serde_json::from_str::<wire::PaymentObject>(&body).map(|p| p.status_code);
        let before = serde_json::from_str::<BeforeStatus>(&body).map(|p| p.status_code);
        assert_eq!(outcome(now), outcome(before), "{body}");
    }
    let code: wire::ErrorBody = serde_json::from_str(r#"{"code": 5008}"#).unwrap();
    assert_eq!(code.code, "5008");
}
