//! `stored.rs`: every state, call, flow and evidence reads back from what the derived
//! `Serialize` writes (the stored format), from a JSON value (as the adapter reads its
//! state) and from text; a missing member, an unknown tag or a non-object is refused as
//! the derive refused it; unknown members are ignored (`provider::stored_checks`).

use super::*;
use crate::emv::{Eci, TransStatus};
use crate::order::{Currency, OrderId};
use crate::payment::CaptureMode;
use crate::provider::stored_checks::assert_reads_as_the_derive;

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

/// The states checked hold every tag word: each step, call, flow and evidence.
#[test]
fn the_states_checked_hold_every_variant() {
    let written: Vec<String> = every_state()
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

/// Every state reads back as it was written, from a value and from text; as the derive
/// did, at every depth: a missing member is refused (but an `Option`'s or a defaulted
/// one's), as is an unknown tag; an unknown member is ignored.
#[test]
fn every_state_reads_back_and_a_missing_member_or_unknown_tag_is_refused() {
    let tags = ["step", "call", "flow", "service_provider"];
    assert_reads_as_the_derive(&every_state(), &tags, may_be_absent);
    assert!(serde_json::from_str::<ApiCall>(r#""sale""#).is_err());
    assert!(serde_json::from_str::<AfterToken>("3").is_err());
    assert!(serde_json::from_str::<Evidence>("null").is_err());
}

/// The adapter's state is stored as text read back as a value
/// (`backend::providers::encode`): every step, the same JSON as `to_value` wrote.
#[test]
fn every_state_is_stored_as_to_value_stored_it() {
    crate::backend::providers::assert_encodes_as_to_value(&every_state());
}
