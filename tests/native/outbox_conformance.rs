//! The rules every store's webhook outbox keeps (docs/backend/webhooks.md), run against
//! memory, SQLite and PostgreSQL: events are enqueued only with a swap that happened, in
//! the same write; a claimed row is leased (no second claim until the lease runs out);
//! concurrent claimers never get the same row; a recorded outcome is kept; a capture's,
//! void's or refund's events go in only with the operation's swap; rows sent or given up are
//! purged once as old as a final session is kept, rows still to send never.

use crate::support;

use std::collections::HashSet;
use std::sync::Arc;

use crate::store_operations::{payment, record, succeeded};
use support::store::{declined, id, session};
use threeds_bridge::backend::native::sqlite::SqliteStore;
use threeds_bridge::backend::native::Purge;
use threeds_bridge::payment::ProviderKind;
use threeds_bridge::provider::lifecycle::OperationKind;
use threeds_bridge::store::memory::MemoryStore;
use threeds_bridge::store::operations::Begun;
use threeds_bridge::store::outbox::{Attempted, Outbox, OutboxEvent};

macro_rules! every_outbox {
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
                let store = SqliteStore::open(dir.path().join("sessions.db")).expect("open");
                super::$rule(Arc::new(store)).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$rule(Arc::new(support::store::postgres().await)).await
            }
        }
    )*};
}

every_outbox!(
    events_go_in_only_with_a_swap_that_happened,
    a_claimed_row_is_leased_until_recorded_or_expired,
    concurrent_claims_never_share_a_row,
    operation_events_go_in_only_with_the_operations_swap,
    sent_rows_are_purged_after_a_final_sessions_retention,
);

fn event(n: u32, endpoint: &str) -> OutboxEvent {
    OutboxEvent {
        event_id: format!("evt_{n:032x}"),
        endpoint: endpoint.to_owned(),
        body: format!("{{\"id\":\"evt_{n:032x}\"}}"),
        created_ms: 1_000,
    }
}

async fn events_go_in_only_with_a_swap_that_happened<S: Outbox>(store: Arc<S>) {
    let v1 = session(&id(1), ProviderKind::Bambora, "order-1", 60_000);
    store.create(&v1).await.unwrap();
    let v2 = v1.advanced(declined(), 10).unwrap();
    let events = [
        event(1, "https://a.test/hooks"),
        event(1, "https://b.test/hooks"),
    ];

    let mut stale = v2.clone();
    stale.version += 1;
    assert!(!store.swap_with_events(&stale, &events).await.unwrap());
    assert_eq!(
        store.backlog().await.unwrap(),
        0,
        "a refused swap enqueues nothing"
    );

    assert!(store.swap_with_events(&v2, &events).await.unwrap());
    assert_eq!(store.backlog().await.unwrap(), 2, "one row per endpoint");
    assert_eq!(store.load(&v1.id).await.unwrap(), Some(v2.clone()));

    // The race's loser (same version again) changes nothing and enqueues nothing.
    let other = [event(2, "https://a.test/hooks")];
    assert!(!store.swap_with_events(&v2, &other).await.unwrap());
    assert_eq!(store.backlog().await.unwrap(), 2);
    let due = store
        .claim_due(u64::MAX / 2, u64::MAX / 2 + 1, 10)
        .await
        .unwrap();
    let ids: HashSet<&str> = due.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids, HashSet::from([events[0].event_id.as_str()]));
    assert!(due
        .iter()
        .all(|d| d.body == events[0].body && d.created_ms == 1_000));
}

async fn operation_events_go_in_only_with_the_operations_swap<S: Outbox>(store: Arc<S>) {
    let payment_id = payment(&*store, 1).await;
    let capture = record(&payment_id, "k1", OperationKind::Capture, 1000);
    assert_eq!(
        store.begin_operation(&capture).await.unwrap(),
        Begun::Created
    );
    let done = succeeded(&capture);
    let events = [
        event(1, "https://a.test/hooks"),
        event(1, "https://b.test/hooks"),
    ];

    let mut stale = done.clone();
    stale.version += 1;
    assert!(!store
        .swap_operation_with_events(&stale, &events)
        .await
        .unwrap());
    assert_eq!(
        store.backlog().await.unwrap(),
        0,
        "a refused swap enqueues nothing"
    );

    assert!(store
        .swap_operation_with_events(&done, &events)
        .await
        .unwrap());
    assert_eq!(store.backlog().await.unwrap(), 2, "one row per endpoint");
    let stored = store.operations_of(&payment_id).await.unwrap();
    assert_eq!(
        stored,
        vec![done.clone()],
        "the operation and its events together"
    );

    // A settled operation never changes, so its events cannot be written twice.
    let mut again = done.clone();
    again.version += 1;
    let other = [event(2, "https://a.test/hooks")];
    assert!(!store
        .swap_operation_with_events(&again, &other)
        .await
        .unwrap());
    let due = store
        .claim_due(u64::MAX / 2, u64::MAX / 2 + 1, 10)
        .await
        .unwrap();
    let ids: HashSet<&str> = due.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids, HashSet::from([events[0].event_id.as_str()]));
}

async fn sent_rows_are_purged_after_a_final_sessions_retention<S: Outbox + Purge>(store: Arc<S>) {
    const DAY_MS: u64 = 24 * 60 * 60 * 1000;
    let hooks = "https://a.test/hooks";
    let v1 = session(&id(1), ProviderKind::Bambora, "order-1", 60_000);
    store.create(&v1).await.unwrap();
    let sent = [event(1, hooks), event(2, hooks), event(3, hooks)];
    let v2 = v1.advanced(declined(), 10).unwrap();
    assert!(store.swap_with_events(&v2, &sent).await.unwrap());
    let claimed = store.claim_due(1_000, 2_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let delivered = Attempted::Delivered { status: 204 };
    let gave_up = Attempted::GaveUp { status: Some(500) };
    let retry = Attempted::Retry {
        status: Some(500),
        at_ms: 40 * DAY_MS,
    };
    for (n, attempted) in [(1, delivered), (2, gave_up), (3, retry)] {
        let row = event(n, hooks);
        let claim = claimed.iter().find(|c| c.event_id == row.event_id);
        store
            .record(claim.expect("claimed"), attempted, 1_500)
            .await
            .unwrap();
    }
    assert_eq!(store.backlog().await.unwrap(), 1);

    // Whether the rows of events 1 and 2 are still stored: enqueuing them again with another
    // payment's change keeps a stored row as it is and adds a purged one as new.
    let probe = |n: u32| {
        let store = Arc::clone(&store);
        async move {
            let v1 = session(&id(n), ProviderKind::Bambora, &format!("order-{n}"), 60_000);
            store.create(&v1).await.unwrap();
            let v2 = v1.advanced(declined(), 10).unwrap();
            let again = [event(1, hooks), event(2, hooks)];
            assert!(store.swap_with_events(&v2, &again).await.unwrap());
            store.backlog().await.unwrap()
        }
    };

    store.purge_expired(1_000 + 30 * DAY_MS - 1).await.unwrap();
    assert_eq!(
        probe(2).await,
        1,
        "1 ms short of the retention: both rows kept"
    );
    store.purge_expired(1_000 + 30 * DAY_MS).await.unwrap();
    assert_eq!(
        probe(3).await,
        3,
        "the sent and the given-up row purged (added anew); the one still to send kept"
    );
}

async fn a_claimed_row_is_leased_until_recorded_or_expired<S: Outbox>(store: Arc<S>) {
    let v1 = session(&id(1), ProviderKind::Bambora, "order-1", 60_000);
    store.create(&v1).await.unwrap();
    let row = event(1, "https://a.test/hooks");
    assert!(store
        .swap_with_events(
            &v1.advanced(declined(), 10).unwrap(),
            std::slice::from_ref(&row)
        )
        .await
        .unwrap());
    assert!(
        store.claim_due(999, 5_000, 10).await.unwrap().is_empty(),
        "not due before its time"
    );

    let first = store.claim_due(1_000, 5_000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    assert!(
        store.claim_due(4_999, 9_000, 10).await.unwrap().is_empty(),
        "leased"
    );
    let again = store.claim_due(5_000, 9_000, 10).await.unwrap();
    assert_eq!(
        again.len(),
        1,
        "claimed again once the lease ran out (its sender died)"
    );
    assert_eq!(again[0].attempts, 2);

    // The first sender's attempt ends after all, late: its retry and its give-up are the
    // overtaken claim's, and leave the row to the second sender's lease (to 9,000).
    let late_retry = Attempted::Retry {
        status: Some(503),
        at_ms: 5_500,
    };
    store.record(&first[0], late_retry, 5_050).await.unwrap();
    let late_give_up = Attempted::GaveUp { status: Some(503) };
    store.record(&first[0], late_give_up, 5_060).await.unwrap();
    assert!(
        store.claim_due(8_999, 20_000, 10).await.unwrap().is_empty(),
        "still the second sender's"
    );
    assert_eq!(store.backlog().await.unwrap(), 1, "not given up");

    let retry = Attempted::Retry {
        status: Some(500),
        at_ms: 7_000,
    };
    store.record(&again[0], retry, 5_100).await.unwrap();
    assert!(store.claim_due(6_999, 20_000, 10).await.unwrap().is_empty());
    let third = store.claim_due(7_000, 20_000, 10).await.unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!(store.backlog().await.unwrap(), 1);

    // A delivery lands whoever's attempt it was: the endpoint has the event.
    let delivered = Attempted::Delivered { status: 204 };
    store.record(&again[0], delivered, 7_100).await.unwrap();
    assert_eq!(store.backlog().await.unwrap(), 0);
    assert!(store
        .claim_due(u64::MAX / 2, u64::MAX / 2 + 1, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn concurrent_claims_never_share_a_row<S: Outbox + 'static>(store: Arc<S>) {
    for n in 1..=20 {
        let v1 = session(&id(n), ProviderKind::Bambora, &format!("order-{n}"), 60_000);
        store.create(&v1).await.unwrap();
        let next = v1.advanced(declined(), 10).unwrap();
        assert!(store
            .swap_with_events(&next, &[event(n, "https://a.test/hooks")])
            .await
            .unwrap());
    }
    let claimers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_due(2_000, 60_000, 4).await.unwrap() })
        })
        .collect();
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap().into_iter().map(|d| d.event_id));
    }
    // SKIP LOCKED may leave a claimer short while others hold rows: what is left is
    // claimed afterwards, and no row is ever in two hands.
    let rest = store.claim_due(2_000, 60_000, 100).await.unwrap();
    claimed.extend(rest.into_iter().map(|d| d.event_id));
    let distinct: HashSet<&String> = claimed.iter().collect();
    assert_eq!(
        distinct.len(),
        claimed.len(),
        "a row went to two claimers: {claimed:?}"
    );
    assert_eq!(claimed.len(), 20, "every due row claimed, once");
}
