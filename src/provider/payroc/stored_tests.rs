//! `stored.rs`: every state, call, flow and evidence reads back from what the derived
//! `Serialize` writes (the stored format), from a JSON value (as the adapter reads its
//! state) and from text; a missing member, an unknown tag or a non-object is refused as
//! the derive refused it; unknown members are ignored.

use serde_json::{json, Map, Value};

use super::*;

fn order(capture_mode: CaptureMode, description: Option<&str>) -> Order {
    Order {
        order_id: OrderId::parse("order-25").unwrap(),
        amount: 1999,
        currency: Currency::parse("EUR").unwrap(),
        description: description.map(str::to_owned),
        capture_mode,
    }
}

fn third_party() -> ThirdParty {
    ThirdParty {
        eci_word: ThirdPartyEci::AttemptedAuthentication,
        cavv: "AAABBEg0VhI0VniQEjRWAAAAAAA=".into(),
        xid: Some("MDAwMDAwMDAwMDAwMDAwMzIyNzY=".into()),
        ds_transaction_id: Some("f25084f0-5b16-4c0a-ae5d-b24808a95e4b".into()),
        version: "2.2.0".into(),
        trans_status: TransStatus::A,
        eci: Eci::new(6).unwrap(),
    }
}

fn gateway(wait: Option<ReceiptWait>) -> Evidence {
    Evidence::Gateway {
        mpi_reference: "d01656cf0ec3e62e3754".into(),
        trans_status: TransStatus::Y,
        eci: Eci::new(5).unwrap(),
        wait,
    }
}

fn sale(evidence: Evidence) -> Sale {
    Sale {
        order: order(CaptureMode::Automatic, Some("Two books")),
        token: "1a8731f50b02e287ac0529fbce352317".into(),
        evidence,
    }
}

fn waited_sale() -> Sale {
    sale(gateway(Some(ReceiptWait {
        email: "shopper@example.com".into(),
        challenge: CardholderChallenge::Required,
        refused: vec!["ref-1".into()],
    })))
}

fn mpi() -> AfterToken {
    AfterToken::Mpi {
        order: order(CaptureMode::Manual, None),
        email: "shopper@example.com".into(),
        challenge: CardholderChallenge::Optional,
    }
}

/// Every step with every call, flow and evidence, each member set somewhere.
fn every_state() -> Vec<State> {
    let mpi_request = MpiRequest {
        order: order(CaptureMode::Automatic, Some("Two books")),
        token: "1a8731f50b02e287ac0529fbce352317".into(),
        email: "shopper@example.com".into(),
        challenge: CardholderChallenge::Required,
    };
    vec![
        State::Authorizing {
            then: ApiCall::Tokenize { then: mpi() },
            auth_retried: false,
        },
        State::Authorizing {
            then: ApiCall::Lookup(Lookup::first(waited_sale()).then("/payments?after=1".into())),
            auth_retried: true,
        },
        State::Calling {
            call: ApiCall::Tokenize {
                then: AfterToken::ThirdParty {
                    order: order(CaptureMode::Automatic, None),
                    authentication: third_party(),
                },
            },
            auth_retried: false,
        },
        State::Calling {
            call: ApiCall::Sale(waited_sale()),
            auth_retried: true,
        },
        State::Calling {
            call: ApiCall::Sale(sale(Evidence::ThirdParty(third_party()))),
            auth_retried: false,
        },
        State::Calling {
            call: ApiCall::Lookup(Lookup::first(sale(gateway(None)))),
            auth_retried: false,
        },
        State::AwaitingReceipt {
            mpi: mpi_request.clone(),
            refused: vec!["ref-1".into(), "ref-2".into()],
        },
        State::AwaitingReceipt {
            mpi: mpi_request,
            refused: Vec::new(),
        },
        State::SaleInDoubt {
            sale: sale(Evidence::ThirdParty(third_party())),
        },
    ]
}

/// Members the derive reads as their default when absent (`#[serde(default)]`, `Option`):
/// the state's `refused` (a wait's is required), a lookup's `pages`, an order's
/// `capture_mode`, and every `Option`.
fn may_be_absent(path: &[String], name: &str) -> bool {
    match name {
        "refused" => path.is_empty(),
        "pages" | "capture_mode" => true,
        "wait" | "next" | "description" | "xid" | "ds_transaction_id" => true,
        _ => false,
    }
}

/// The tags: `step`, and those of the enums inside a state.
const TAGS: [&str; 4] = ["step", "call", "flow", "service_provider"];

fn read(value: &Value) -> Result<State, serde_json::Error> {
    State::deserialize(value)
}

/// Calls `each` with the stored object at every member path (the top one first).
fn objects(
    value: &Value,
    path: &mut Vec<String>,
    each: &mut dyn FnMut(&[String], &Map<String, Value>),
) {
    if let Value::Object(members) = value {
        each(path, members);
        for (name, member) in members {
            path.push(name.clone());
            objects(member, path, each);
            path.pop();
        }
    }
}

/// `stored` with the object at `path` changed by `change`.
fn changed(stored: &Value, path: &[String], change: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut stored = stored.clone();
    let target = path
        .iter()
        .fold(&mut stored, |value, name| &mut value[name.as_str()]);
    change(target.as_object_mut().expect("an object"));
    stored
}

#[test]
fn every_state_reads_back_as_it_was_written() {
    let states = every_state();
    for state in &states {
        let stored = serde_json::to_value(state).expect("serializes");
        assert_eq!(&read(&stored).expect("reads"), state, "{stored}");
        let text = serde_json::to_string(state).expect("serializes");
        assert_eq!(&serde_json::from_str::<State>(&text).expect("reads"), state);
    }
    let written: Vec<String> = states
        .iter()
        .map(|state| serde_json::to_string(state).unwrap())
        .collect();
    for tag in [
        r#""step":"authorizing""#,
        r#""step":"calling""#,
        r#""step":"awaiting_receipt""#,
        r#""step":"sale_in_doubt""#,
        r#""call":"tokenize""#,
        r#""call":"sale""#,
        r#""call":"lookup""#,
        r#""flow":"mpi""#,
        r#""flow":"third_party""#,
        r#""service_provider":"gateway""#,
        r#""service_provider":"third_party""#,
    ] {
        assert!(
            written.iter().any(|w| w.contains(tag)),
            "no state has {tag}"
        );
    }
}

/// The stored format, pinned: a sale as the derived `Deserialize` of earlier versions
/// read it (a newtype variant's members beside its tag), with members in another order.
#[test]
fn a_sale_stored_by_an_earlier_version_reads() {
    let stored = r#"{"auth_retried":true,"call":{"token":"tok","order":{"order_id":"order-25",
        "amount":1999,"currency":"EUR","description":null},"evidence":{"mpi_reference":"m1",
        "service_provider":"gateway","trans_status":"Y","eci":"05"},"call":"sale"},
        "step":"calling","resent":false}"#;
    let state: State = serde_json::from_str(stored).expect("reads");
    let expected = State::Calling {
        call: ApiCall::Sale(Sale {
            order: Order {
                description: None,
                ..order(CaptureMode::Automatic, None)
            },
            token: "tok".into(),
            evidence: Evidence::Gateway {
                mpi_reference: "m1".into(),
                trans_status: TransStatus::Y,
                eci: Eci::new(5).unwrap(),
                wait: None,
            },
        }),
        auth_retried: true,
    };
    assert_eq!(state, expected);
}

/// As the derive did, at every depth: a missing member is refused (but an `Option`'s or a
/// defaulted one's), as is an unknown tag; an unknown member is ignored.
#[test]
fn a_state_missing_a_member_or_with_an_unknown_tag_is_refused() {
    for state in every_state() {
        let stored = serde_json::to_value(&state).unwrap();
        objects(&stored, &mut Vec::new(), &mut |path, members| {
            for (name, value) in members {
                let without = changed(&stored, path, |m| {
                    m.remove(name);
                });
                let refused = !value.is_null() && !may_be_absent(path, name);
                assert_eq!(
                    read(&without).is_err(),
                    refused,
                    "{path:?}.{name} missing: {stored}"
                );
                if TAGS.contains(&name.as_str()) {
                    let unknown = changed(&stored, path, |m| {
                        m.insert(name.clone(), json!("levitating"));
                    });
                    assert!(read(&unknown).is_err(), "{path:?}.{name} unknown: {stored}");
                }
            }
            let extra = changed(&stored, path, |m| {
                m.insert("later_member".into(), json!(1));
            });
            assert_eq!(read(&extra).unwrap(), state, "{path:?}: {stored}");
        });
    }
    assert!(serde_json::from_value::<State>(json!(["calling"])).is_err());
    assert!(serde_json::from_str::<ApiCall>(r#""sale""#).is_err());
    assert!(serde_json::from_str::<AfterToken>("3").is_err());
    assert!(serde_json::from_str::<Evidence>("null").is_err());
}
