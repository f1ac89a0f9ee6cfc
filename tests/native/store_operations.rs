//! The rules every store keeps for captures, voids and refunds (`OperationStore`), run
//! against memory, SQLite and PostgreSQL as `store_operations::<rule>::<store>`: one
//! operation in flight per payment and the sums, checked atomically with the insert even
//! when many begin at once; a key names one operation; compare-and-set on the version; a
//! settled operation never changes; `due_operations`; only a stored payment takes one; a
//! purge takes them with their payment; `in_doubt` counts the payments and operations in
//! doubt.

use crate::support;

use std::sync::Arc;

use support::store::{id, session};
use threeds_bridge::backend::native::sqlite::SqliteStore;
use threeds_bridge::backend::native::{Purge, Retention};
use threeds_bridge::order::{Currency, OrderId};
use threeds_bridge::payment::{CaptureMode, PaymentResult, PaymentStatus, ProviderKind};
use threeds_bridge::provider::lifecycle::{Operation, OperationKind, OperationResult};
use threeds_bridge::session::{AdapterState, Phase};
use threeds_bridge::store::memory::MemoryStore;
use threeds_bridge::store::operations::{
    Begun, OperationPhase, OperationRecord, OperationStore, Refusal,
};
use threeds_bridge::store::{SessionStore, StoreError};

macro_rules! every_store {
    ($($rule:ident),* $(,)?) => {$(
        mod $rule {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn memory() {
                super::$rule(Arc::new(MemoryStore::default())).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = SqliteStore::open_with(dir.path().join("s.db"), Retention::default())
                    .expect("open");
                super::$rule(Arc::new(store)).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$rule(Arc::new(support::store::postgres().await)).await
            }
        }
    )*};
}

every_store!(
    a_key_names_one_operation_and_one_is_in_flight_at_a_time,
    of_concurrent_begins_the_sums_let_through_only_what_fits,
    swap_is_compare_and_set_and_a_settled_operation_never_changes,
    due_operations_are_the_unsettled_ones_soonest_first,
    a_payment_the_store_does_not_hold_takes_no_operation,
    in_doubt_counts_the_payments_and_operations_in_doubt,
);

/// An authorized payment `n` (manual capture, 1250) stored as the backend stores one.
pub(crate) async fn payment<S: SessionStore>(store: &S, n: u32) -> String {
    let payment_id = id(n);
    let created = session(
        &payment_id,
        ProviderKind::Bambora,
        &format!("order-{n}"),
        60_000,
    );
    store.create(&created).await.expect("create");
    let result = PaymentResult {
        status: PaymentStatus::Authorized,
        provider_payment_id: Some("10000001".into()),
        three_ds_version: None,
        trans_status: None,
        eci: None,
        liability_shift: false,
        trans_status_reason: None,
        error: None,
    };
    let done = created
        .advanced(Phase::Final { result }, 1_000)
        .expect("final");
    assert!(store.swap(&done).await.expect("swap"));
    payment_id
}

pub(crate) fn record(
    payment_id: &str,
    key: &str,
    kind: OperationKind,
    amount: u64,
) -> OperationRecord {
    let reference = format!("{:032x}", uuid::Uuid::new_v4().as_u128());
    OperationRecord {
        id: reference.clone(),
        payment_id: payment_id.to_owned(),
        idempotency_key: key.to_owned(),
        fingerprint: format!("{}:{amount}", kind.as_str()),
        operation: Operation {
            kind,
            amount,
            currency: Currency::parse("USD").unwrap(),
            order_id: OrderId::parse("order-1").unwrap(),
            authorized_amount: 1250,
            capture_mode: CaptureMode::Manual,
            provider_payment_id: "10000001".into(),
            capture_id: None,
            reference,
        },
        phase: OperationPhase::Calling,
        version: 1,
        created_at_ms: 2_000,
        updated_at_ms: 2_000,
        wake_at_ms: Some(50_000),
        claimed_until_ms: None,
    }
}

pub(crate) fn succeeded(record: &OperationRecord) -> OperationRecord {
    record.advanced(
        OperationPhase::Final {
            result: OperationResult::Succeeded {
                provider_operation_id: "op".into(),
                amount: record.operation.amount,
            },
        },
        3_000,
        None,
    )
}

async fn a_key_names_one_operation_and_one_is_in_flight_at_a_time<S: SessionStore>(store: Arc<S>) {
    let payment_id = payment(&*store, 1).await;
    let capture = record(&payment_id, "k1", OperationKind::Capture, 1000);
    assert_eq!(
        store.begin_operation(&capture).await.unwrap(),
        Begun::Created
    );
    let again = record(&payment_id, "k1", OperationKind::Capture, 1000);
    assert_eq!(
        store.begin_operation(&again).await.unwrap(),
        Begun::Existing(Box::new(capture.clone())),
        "the key names the stored one"
    );
    let other = record(&payment_id, "k2", OperationKind::Void, 1250);
    assert_eq!(
        store.begin_operation(&other).await.unwrap(),
        Begun::Refused(Refusal::InProgress)
    );
    let done = succeeded(&capture);
    assert!(store.swap_operation(&done).await.unwrap());
    let refused = store.begin_operation(&other).await.unwrap();
    assert!(
        matches!(refused, Begun::Refused(Refusal::Refused(_))),
        "a void after the capture: {refused:?}"
    );
    assert_eq!(store.operations_of(&payment_id).await.unwrap(), vec![done]);
    let elsewhere = payment(&*store, 2).await;
    let same_key = record(&elsewhere, "k1", OperationKind::Capture, 1);
    assert_eq!(
        store.begin_operation(&same_key).await.unwrap(),
        Begun::Created,
        "keys are per payment"
    );
}

async fn of_concurrent_begins_the_sums_let_through_only_what_fits<S: SessionStore + 'static>(
    store: Arc<S>,
) {
    let payment_id = payment(&*store, 3).await;
    let capture = record(&payment_id, "capture", OperationKind::Capture, 1000);
    assert_eq!(
        store.begin_operation(&capture).await.unwrap(),
        Begun::Created
    );
    assert!(store.swap_operation(&succeeded(&capture)).await.unwrap());
    // Sixteen refunds of 100 at once: one at a time is in flight, so exactly one begins.
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = store.clone();
            let refund = record(&payment_id, &format!("r{n}"), OperationKind::Refund, 100);
            tokio::spawn(async move { store.begin_operation(&refund).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task.await.unwrap() == Begun::Created {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.operations_of(&payment_id).await.unwrap().len(), 2);
}

async fn swap_is_compare_and_set_and_a_settled_operation_never_changes<S: SessionStore>(
    store: Arc<S>,
) {
    let payment_id = payment(&*store, 4).await;
    let capture = record(&payment_id, "k", OperationKind::Capture, 1250);
    store.begin_operation(&capture).await.unwrap();
    let mut skipped = succeeded(&capture);
    skipped.version = 3;
    assert!(!store.swap_operation(&skipped).await.unwrap());
    let doubt = capture.advanced(
        OperationPhase::Unknown {
            lookups: 0,
            next_lookup_at_ms: 9_000,
        },
        3_000,
        Some(9_000),
    );
    assert!(store.swap_operation(&doubt).await.unwrap());
    assert!(
        !store.swap_operation(&doubt).await.unwrap(),
        "one version on only"
    );
    let done = succeeded(&doubt);
    assert!(store.swap_operation(&done).await.unwrap());
    let mut after = succeeded(&done);
    after.phase = OperationPhase::Calling;
    assert!(!store.swap_operation(&after).await.unwrap(), "settled");
    assert_eq!(store.operations_of(&payment_id).await.unwrap(), vec![done]);
}

async fn due_operations_are_the_unsettled_ones_soonest_first<S: SessionStore>(store: Arc<S>) {
    let first = payment(&*store, 5).await;
    let second = payment(&*store, 6).await;
    let mut late = record(&first, "a", OperationKind::Capture, 10);
    late.wake_at_ms = Some(40_000);
    let mut soon = record(&second, "b", OperationKind::Capture, 10);
    soon.wake_at_ms = Some(20_000);
    store.begin_operation(&late).await.unwrap();
    store.begin_operation(&soon).await.unwrap();
    let due = store.due_operations(45_000, 10).await.unwrap();
    let ids: Vec<&str> = due.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [soon.id.as_str(), late.id.as_str()]);
    assert_eq!(store.due_operations(30_000, 10).await.unwrap().len(), 1);
    assert!(store.swap_operation(&succeeded(&soon)).await.unwrap());
    assert_eq!(store.due_operations(45_000, 10).await.unwrap(), vec![late]);
}

/// A payment purged since the backend read it (here: never stored) takes no operation:
/// an error, and nothing stored that would move money the purge no longer accounts for.
async fn a_payment_the_store_does_not_hold_takes_no_operation<S: SessionStore>(store: Arc<S>) {
    let gone = id(77);
    let refund = record(&gone, "k", OperationKind::Refund, 100);
    let refused = store.begin_operation(&refund).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    assert_eq!(store.operations_of(&gone).await.unwrap(), vec![]);
    assert_eq!(store.due_operations(u64::MAX, 10).await.unwrap(), vec![]);
}

/// A purge takes a payment's operations with it, but never while one is not settled: an
/// operation under way, in doubt or pending may be the only trace of money moved.
#[tokio::test]
async fn a_purge_takes_a_payments_operations_with_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let retention = Retention {
        final_ms: 1_000,
        unfinished_ms: 1_000,
    };
    let sqlite = SqliteStore::open_with(dir.path().join("s.db"), retention).expect("open");
    let pg =
        support::store::postgres_with(threeds_bridge::backend::native::postgres::PostgresOptions {
            schema: support::store::fresh_schema(),
            retention,
            ..Default::default()
        })
        .await;
    let memory = MemoryStore::with_retention(retention);
    purged(&sqlite).await;
    purged(&pg).await;
    let payment_id = payment(&memory, 7).await;
    let capture = record(&payment_id, "k", OperationKind::Capture, 1);
    memory.begin_operation(&capture).await.unwrap();
    assert_eq!(memory.purge_expired(10_000_000), 0, "a capture under way");
    assert!(memory.swap_operation(&succeeded(&capture)).await.unwrap());
    assert_eq!(memory.purge_expired(10_000_000), 1);
    assert!(memory.operations_of(&payment_id).await.unwrap().is_empty());
}

async fn purged<S: SessionStore + Purge>(store: &S) {
    let payment_id = payment(store, 7).await;
    let capture = record(&payment_id, "k", OperationKind::Capture, 1);
    store.begin_operation(&capture).await.unwrap();
    assert_eq!(
        store.purge_expired(10_000_000).await.unwrap(),
        0,
        "a capture under way"
    );
    assert_eq!(store.operations_of(&payment_id).await.unwrap().len(), 1);
    assert!(store.swap_operation(&succeeded(&capture)).await.unwrap());
    assert_eq!(store.purge_expired(10_000_000).await.unwrap(), 1);
    assert!(store.operations_of(&payment_id).await.unwrap().is_empty());
}

/// What `threeds_bridge_reconcile_backlog` shows: the payments and operations whose
/// phase is `unknown`, wherever their next lookup is; not a call under way, a final
/// payment or a settled operation. The payment in doubt holds a NUL character, as any text
/// a provider or a page sends may: PostgreSQL's JSON types refuse its `\u0000`, which
/// failed the count there (and a backslash before `u0000`, which is no such escape).
async fn in_doubt_counts_the_payments_and_operations_in_doubt<S: SessionStore>(store: Arc<S>) {
    assert_eq!(store.in_doubt().await.unwrap(), Some(0));
    let under_way = session(&id(20), ProviderKind::Paysafe, "order-20", 60_000);
    store.create(&under_way).await.unwrap();
    let doubt = session(&id(21), ProviderKind::Paysafe, "order-21", 60_000)
        .advanced(
            Phase::Unknown {
                state: AdapterState(serde_json::json!({
                    "step": "sale",
                    "id": "a\u{0}b",
                    "text": "\\u0000",
                })),
                purpose: "paysafe.auths".into(),
                lookups: 1,
                next_lookup_at_ms: 1_000_000,
                since_ms: 900_000,
            },
            1_000,
        )
        .expect("into doubt");
    store.create(&doubt).await.unwrap();
    assert_eq!(store.in_doubt().await.unwrap(), Some(1));

    let payment_id = payment(&*store, 22).await;
    let capture = record(&payment_id, "k", OperationKind::Capture, 500);
    store.begin_operation(&capture).await.unwrap();
    assert_eq!(store.in_doubt().await.unwrap(), Some(1), "a call under way");
    let lost = capture.advanced(
        OperationPhase::Unknown {
            lookups: 0,
            next_lookup_at_ms: 1_000_000,
        },
        3_000,
        Some(1_000_000),
    );
    assert!(store.swap_operation(&lost).await.unwrap());
    assert_eq!(store.in_doubt().await.unwrap(), Some(2));
    assert!(store.swap_operation(&succeeded(&lost)).await.unwrap());
    assert_eq!(store.in_doubt().await.unwrap(), Some(1), "settled");
}
