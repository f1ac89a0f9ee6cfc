//! Sweeps over what the backend can do nothing for: sessions and operations whose provider
//! is no longer configured, and a payment whose stored adapter state this build cannot read.
//! None of them is guessed final, and none stops the sweep (the stand of backend_reconcile.rs).
//! And what a lookup that finds nothing may not end: a doubt before its wait is over (its
//! next lookup falls at the wait's end), an operation the provider answered pending.

use crate::support;

use std::time::Duration;

use crate::backend_reconcile::{eager, in_doubt_since, patient, stand, stored_session};
use serde_json::json;
use support::backend::{operate_at, MERCHANT_KEY};
use threeds_bridge::backend::config::ReconcilePolicy;
use threeds_bridge::backend::native::SystemEnv;
use threeds_bridge::backend::{Env, Swept};
use threeds_bridge::emv::FormPost;
use threeds_bridge::payment::{BrowserAction, ProviderKind, ResultCode};
use threeds_bridge::session::{AdapterState, Phase};
use threeds_bridge::store::operations::OperationStore;
use threeds_bridge::store::SessionStore;

/// Sessions whose provider is no longer configured: a payment in doubt and a call a
/// stopped process left cannot be looked up; they are left as they are (no guess at
/// the result) and looked at again after `max_lookup_ms`, so the next sweep is not stuck
/// on them; an expired one still ends `session_expired` (no provider needed). The
/// sweep goes on to the others.
#[tokio::test]
async fn a_session_whose_provider_is_gone_does_not_stop_the_sweep() {
    let s = stand(600, patient()).await;
    let now = SystemEnv.now_ms();
    let gone = ProviderKind::Bambora;
    let calling = Phase::Calling {
        state: AdapterState(json!({ "step": "sale" })),
        purpose: "bambora.payment".into(),
    };
    let sessions = [
        stored_session(1, gone, in_doubt_since(now), now),
        stored_session(2, gone, calling, now),
        stored_session(3, gone, Phase::Created, now),
        stored_session(4, ProviderKind::Paysafe, Phase::Created, now),
    ];
    for session in &sessions {
        s.store.create(session).await.expect("create");
    }
    let swept = s.backend.sweep_all(2).await.expect("sweep");
    assert_eq!(
        swept,
        Swept {
            looked_at: 4,
            settled: 2,
            in_doubt: 1,
            failed: 0
        }
    );
    let later = now + patient().max_lookup_ms;
    let doubt = s.stored(&sessions[0].id).await;
    let Phase::Unknown {
        lookups,
        next_lookup_at_ms,
        ..
    } = doubt.phase
    else {
        panic!("still in doubt: {doubt:?}");
    };
    assert_eq!(lookups, 2, "no lookup was made");
    assert!(next_lookup_at_ms >= later && doubt.wake_at_ms == Some(next_lookup_at_ms));
    let left = s.stored(&sessions[1].id).await;
    assert!(matches!(left.phase, Phase::Calling { .. }), "{left:?}");
    assert!(left.wake_at_ms.is_some_and(|at| at >= later));
    for expired in &sessions[2..] {
        let error = s
            .stored(&expired.id)
            .await
            .result()
            .and_then(|r| r.error.clone());
        assert_eq!(error.map(|e| e.code), Some(ResultCode::SessionExpired));
    }
    // The merchant's read of the one in doubt answers it, unchanged.
    let (status, view) = s.reconcile(&sessions[0].id, Some(MERCHANT_KEY)).await;
    assert_eq!((status, &view["status"]), (200, &json!("unknown")));
    assert_eq!(
        s.backend.sweep_all(2).await.expect("sweep"),
        Swept::default()
    );
}

/// A payment whose stored adapter state this build cannot read (one a newer build wrote
/// during a rollout) is never guessed final: in doubt, in a call a stopped process left,
/// or awaiting the browser past its expiry, the sweep keeps it `unknown` with its state as
/// it was, for a build that reads it. It used to end `error` / `state_unreadable`, for good,
/// whatever the provider had charged.
#[tokio::test]
async fn a_payment_whose_state_this_build_cannot_read_stays_in_doubt() {
    let s = stand(600, eager()).await;
    let now = SystemEnv.now_ms();
    let newer = AdapterState(json!({ "step": "a_step_of_a_newer_build", "charge": "ch-1" }));
    let mut calling = stored_session(
        11,
        ProviderKind::Paysafe,
        Phase::Calling {
            state: newer.clone(),
            purpose: "paysafe.auth".into(),
        },
        now,
    );
    // Left by a stopped process: older than any call lease.
    calling.updated_at_ms = now - 3_600_000;
    let awaiting = Phase::AwaitingBrowser {
        state: newer.clone(),
        action: BrowserAction::Redirect {
            form: FormPost::post("https://provider.test/3ds", [("id", "1".to_owned())]),
        },
    };
    let mut sessions = [
        stored_session(10, ProviderKind::Paysafe, in_doubt_since(now), now),
        calling,
        stored_session(12, ProviderKind::Paysafe, awaiting, now),
    ];
    if let Phase::Unknown { state, .. } = &mut sessions[0].phase {
        *state = newer.clone();
    }
    for session in &sessions {
        s.store.create(session).await.expect("create");
    }
    s.backend.sweep_all(10).await.expect("sweep");
    for session in &sessions {
        let stored = s.stored(&session.id).await;
        let Phase::Unknown { state, .. } = &stored.phase else {
            panic!("not in doubt: {stored:?}");
        };
        assert_eq!(state, &newer, "the state is kept as it was written");
        let (status, view) = s.reconcile(&session.id, Some(MERCHANT_KEY)).await;
        assert_eq!(
            (status, &view["status"]),
            (200, &json!("unknown")),
            "{view}"
        );
    }
}

/// The same for captures, voids and refunds: unsettled operations of payments whose
/// provider is gone are left as they are and looked at again after `max_lookup_ms`. Left
/// due, a batch's worth of them came back at the head of every batch, and the sweep never
/// ended: it runs on a thread of its own here, so that such a sweep fails the test (it
/// never yields, so no timer in its runtime could end it) rather than hanging it.
#[tokio::test]
async fn operations_whose_provider_is_gone_do_not_stop_the_sweep() {
    use crate::store_operations::{payment, record};
    use threeds_bridge::provider::lifecycle::OperationKind;
    use threeds_bridge::store::operations::{Begun, OperationPhase};
    let s = stand(600, patient()).await;
    let mut left = Vec::new();
    for n in 1..=3 {
        let payment_id = payment(&*s.store, n).await;
        let operation = record(&payment_id, &format!("k{n}"), OperationKind::Capture, 500);
        assert_eq!(
            s.store.begin_operation(&operation).await,
            Ok(Begun::Created)
        );
        left.push(operation);
    }
    let (done, swept) = std::sync::mpsc::channel();
    let backend = s.backend.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let _ = done.send(runtime.block_on(backend.sweep_all(2)));
    });
    let swept = swept
        .recv_timeout(Duration::from_secs(10))
        .expect("the sweep ends")
        .expect("sweep");
    assert_eq!(swept.looked_at, 3, "{swept:?}");
    let later = SystemEnv.now_ms() + patient().max_lookup_ms - 1_000;
    for operation in &left {
        let stored = s.store.operations_of(&operation.payment_id).await.unwrap();
        assert_eq!(
            stored[0].phase,
            OperationPhase::Calling,
            "no guess at the outcome"
        );
        assert!(
            stored[0].wake_at_ms.is_some_and(|at| at >= later),
            "{stored:?}"
        );
    }
    assert_eq!(
        s.backend.sweep_all(2).await.expect("sweep"),
        Swept::default()
    );
}

/// A doubt's lookups back off, but none falls past the moment a lookup's "found nothing"
/// would be believed (`not_found_after_ms` after the lost call): a call that never
/// arrived ends then, not up to a backoff step later. Here the first lookup's wait
/// (100 s) is longer than that (60 s).
#[tokio::test]
async fn a_doubts_next_lookup_is_no_later_than_found_nothing_is_believed() {
    let wait = ReconcilePolicy {
        first_lookup_ms: 100_000,
        max_lookup_ms: 600_000,
        not_found_after_ms: 60_000,
        sweep_every_ms: 60_000,
    };
    let s = stand(600, wait).await;
    for lookups_made in 0..2 {
        let id = s.pay().await.0;
        if lookups_made == 1 {
            let (status, view) = s.reconcile(&id, Some(MERCHANT_KEY)).await;
            assert_eq!((status, &view["status"]), (200, &json!("unknown")));
        }
        let stored = s.stored(&id).await;
        let Phase::Unknown {
            lookups,
            next_lookup_at_ms,
            since_ms,
            ..
        } = stored.phase
        else {
            panic!("in doubt: {stored:?}");
        };
        assert_eq!(lookups, lookups_made);
        assert_eq!(next_lookup_at_ms, since_ms + 60_000, "{stored:?}");
        assert_eq!(stored.wake_at_ms, Some(next_lookup_at_ms));
    }
}

/// A refund the provider answered `pending` (it took it, and named it) counts as refunded
/// while it finishes; its lookups follow. One that finds nothing of it ("never made") is
/// not believed, however late: the refund stays pending and counted, so the payment takes
/// no second refund of the same money. (Believed, it ended `refused`, the money counted
/// back, and a second refund was admitted.)
#[tokio::test]
async fn a_pending_refund_a_lookup_finds_nothing_of_stays_pending() {
    // Lookups due at once, a "never made" believed at once.
    let s = stand(600, eager()).await;
    let id = s.authorized_payment().await;
    let (status, refund) = operate_at(s.url(), &id, "refunds", "r1", &json!({"amount": 500})).await;
    assert_eq!(
        (status, &refund["status"]),
        (200, &json!("pending")),
        "{refund}"
    );
    // As if made an hour ago: long past its call lease and any wait for a "never made".
    let mut record = s.store.operations_of(&id).await.expect("operations")[0].clone();
    record.created_at_ms -= 3_600_000;
    record.version += 1;
    assert!(s.store.swap_operation(&record).await.expect("swap"));
    for _ in 0..2 {
        s.backend.sweep_all(10).await.expect("sweep");
    }
    let (_, view) = s.reconcile(&id, Some(MERCHANT_KEY)).await;
    assert_eq!(view["operations"][0]["status"], "pending", "{view}");
    assert_eq!(view["money"]["refunded"], 500, "{view}");
    // The whole payment again: more than is left to refund while the first one counts.
    let whole = view["money"]["captured"].clone();
    let (status, second) =
        operate_at(s.url(), &id, "refunds", "r2", &json!({"amount": whole})).await;
    assert_eq!(
        (status, &second["error"]["code"]),
        (409, &json!("amount_too_large")),
        "{second}"
    );
}
