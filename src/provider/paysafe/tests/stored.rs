//! The adapter's state as it is stored: every step read back, a missing member refused, and
//! a state written by the previous version.

use super::*;

/// A payment stored at its challenge by the version before `Authentication` existed
/// still reads, and its return is still accepted.
#[test]
fn a_challenge_stored_by_the_previous_version_still_reads() {
    let stored = json!({"step": "awaiting_challenge", "order": order(), "card": card(),
        "authentication_id": "auth-1", "merchant_ref_num": "ref",
        "form": FormPost::post("https://acs.test/c", [("creq", "x".to_owned())]),
        "window_size": ChallengeWindowSize::W390xH400});
    let state: State = serde_json::from_value(stored.clone()).expect("the old shape reads");
    assert_eq!(state, awaiting_challenge());
    let mut written = stored;
    written["refused"] = json!(0);
    assert_eq!(
        serde_json::to_value(&state).unwrap(),
        written,
        "and is written the same, with no return refused yet"
    );
    // A finalize or a read after it stored before `shown` existed: nothing to wait on again.
    for step in ["finalizing", "reading_challenge_result"] {
        let mut stored = serde_json::to_value(finalizing()).unwrap();
        stored["step"] = json!(step);
        stored.as_object_mut().unwrap().remove("shown");
        let state: State = serde_json::from_value(stored).expect("the old shape reads");
        assert!(
            matches!(
                state,
                State::Finalizing { shown: None, .. }
                    | State::ReadingChallengeResult { shown: None, .. }
            ),
            "{state:?}"
        );
    }
}

/// One state of every step, each member set (`stored.rs` reads them by hand).
fn every_state() -> Vec<State> {
    let summary = card().summary.unwrap();
    let mut with_browser = order();
    with_browser.exemption = Some(crate::payment::Exemption::NoChallengeRequested);
    with_browser.capture_mode = CaptureMode::Manual;
    vec![
        State::Tokenizing {
            order: order(),
            summary,
        },
        State::Fingerprinting {
            order: with_browser.clone(),
            card: card(),
        },
        State::AwaitingMethod {
            order: order(),
            card: CardRef {
                payment_token: "SCPAGE".into(),
                summary: None,
            },
            fingerprint_id: "fp-1".into(),
        },
        authenticating(),
        State::ReadingAuthentication {
            authentication: authentication(),
        },
        awaiting_challenge(),
        State::AwaitingChallenge {
            authentication: authentication(),
            form: shown().form,
            window_size: ChallengeWindowSize::W250xH400,
            refused: 2,
        },
        finalizing(),
        State::ReadingChallengeResult {
            authentication: authentication(),
            shown: None,
        },
        State::ReadingChallengeResult {
            authentication: authentication(),
            shown: Some(Shown {
                refused: 3,
                ..shown()
            }),
        },
        State::Authorizing { charge: charge() },
        lookup(),
    ]
}

/// The stored shape is the derived `Serialize`'s (tag `step`, `Authentication` flattened),
/// read back by hand: every step, from a JSON value (as the adapter reads its state) and
/// from text.
#[test]
fn every_state_reads_back_as_it_was_written() {
    let states = every_state();
    assert_eq!(
        states.len(),
        12,
        "one of each step, and of each with a refused return"
    );
    for state in states {
        let stored = serde_json::to_value(&state).expect("serializes");
        let read: State = State::deserialize(&stored).expect("reads");
        assert_eq!(read, state, "{stored}");
        let text = serde_json::to_string(&state).expect("serializes");
        assert_eq!(serde_json::from_str::<State>(&text).expect("reads"), state);
    }
}

/// As the derive did: a missing member (but a null one, and `refused` and `shown`, which
/// states stored before them lack) or an unknown step is refused, an unknown member
/// ignored.
#[test]
fn a_state_missing_a_member_or_with_an_unknown_step_is_refused() {
    for state in every_state() {
        let serde_json::Value::Object(stored) = serde_json::to_value(&state).unwrap() else {
            panic!("an object");
        };
        for (name, value) in stored.iter().filter(|(name, _)| *name != "step") {
            let mut without = stored.clone();
            without.remove(name);
            let read = serde_json::from_value::<State>(without.into());
            let may_be_absent = matches!(name.as_str(), "refused" | "shown");
            assert_eq!(
                read.is_err(),
                !value.is_null() && !may_be_absent,
                "{name} missing: {stored:?}"
            );
        }
        let mut extra = stored.clone();
        extra.insert("later_member".into(), json!(1));
        assert_eq!(
            serde_json::from_value::<State>(extra.into()).unwrap(),
            state
        );
        let mut unknown = stored.clone();
        unknown.insert("step".into(), json!("levitating"));
        assert!(serde_json::from_value::<State>(unknown.into()).is_err());
    }
    assert!(serde_json::from_value::<State>(json!(["tokenizing"])).is_err());
}

/// The adapter's state is stored as text read back as a value
/// (`backend::providers::encode`): every step, the same JSON as `to_value` wrote.
#[test]
fn every_state_is_stored_as_to_value_stored_it() {
    crate::backend::providers::assert_encodes_as_to_value(&every_state());
}
