//! The PostgreSQL session store against the test server of scripts/pg-test.sh, each test
//! in a schema of its own: migrations (recorded, run once by instances starting together,
//! a newer schema refused untouched), two stores on one schema as two instances, a damaged
//! row, the wake-up index, names and URLs it refuses, and that no card number is stored.
//! The rules every store keeps are in store_conformance.rs; writes arriving together and
//! connections the database ends, in store_postgres_batch.rs.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::store::{
    calling, declined, fresh_schema, id, in_schema, postgres_with, raw_postgres, session,
};
use threeds_bridge::backend::native::postgres::{PostgresOptions, PostgresStore, SCHEMA_VERSION};
use threeds_bridge::emv::Pan;
use threeds_bridge::payment::{BrowserAction, CardSummary, ProviderKind};
use threeds_bridge::provider::lifecycle::OperationKind;
use threeds_bridge::session::{AdapterState, Phase, Session};
use threeds_bridge::store::operations::{Begun, OperationStore};
use threeds_bridge::store::outbox::{Attempted, Outbox, OutboxEvent};
use threeds_bridge::store::{SessionStore, StoreError};

/// A frictionless Visa card of ../shared/contract.md.
const CONTRACT_PAN: &str = "4000000000001000";

async fn applied_versions(schema: &str) -> Vec<i32> {
    raw_postgres()
        .await
        .query(
            &format!("SELECT version FROM {schema}.schema_version ORDER BY version"),
            &[],
        )
        .await
        .expect("schema_version")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test]
async fn the_first_start_creates_the_schema_and_a_restart_keeps_every_session() {
    let schema = fresh_schema();
    let waiting = session(&id(1), ProviderKind::Payroc, "order-1", 60_000);
    let moved = waiting.advanced(calling("mpi"), 10).unwrap();
    {
        let store = postgres_with(in_schema(&schema)).await;
        assert_eq!(store.schema(), schema);
        store.create(&waiting).await.unwrap();
        assert!(store.swap(&moved).await.unwrap());
    }
    let every_step: Vec<i32> = (1..=SCHEMA_VERSION as i32).collect();
    assert_eq!(applied_versions(&schema).await, every_step);
    let tables: Vec<String> = raw_postgres()
        .await
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = $1 ORDER BY table_name",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        tables,
        ["operations", "schema_version", "sessions", "webhook_outbox"]
    );

    let reopened = postgres_with(in_schema(&schema)).await;
    assert_eq!(
        applied_versions(&schema).await,
        every_step,
        "nothing to migrate again"
    );
    assert_eq!(
        reopened.load(&waiting.id).await.unwrap(),
        Some(moved.clone())
    );
    assert_eq!(
        reopened.create(&waiting).await.unwrap_err(),
        StoreError::Duplicate
    );
    assert!(reopened
        .swap(&moved.advanced(declined(), 20).unwrap())
        .await
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_migrate_once() {
    let schema = fresh_schema();
    let starting: Vec<_> = (0..6)
        .map(|_| {
            let options = in_schema(&schema);
            tokio::spawn(async move {
                PostgresStore::connect(&support::store::database_url(), options).await
            })
        })
        .collect();
    let mut stores = Vec::new();
    for start in starting {
        stores.push(start.await.unwrap().expect("every instance starts"));
    }
    let every_step: Vec<i32> = (1..=SCHEMA_VERSION as i32).collect();
    assert_eq!(applied_versions(&schema).await, every_step);
    // And they are one store.
    let s = session(&id(1), ProviderKind::Bambora, "order-1", 60_000);
    stores[0].create(&s).await.unwrap();
    assert_eq!(stores[5].load(&s.id).await.unwrap(), Some(s));
}

#[tokio::test]
async fn a_schema_from_a_newer_build_is_refused_untouched() {
    let schema = fresh_schema();
    let store = postgres_with(in_schema(&schema)).await;
    let s = session(&id(1), ProviderKind::Dlocal, "order-1", 60_000);
    store.create(&s).await.unwrap();
    drop(store);
    let raw = raw_postgres().await;
    raw.execute(
        &format!("INSERT INTO {schema}.schema_version (version) VALUES ($1)"),
        &[&(SCHEMA_VERSION as i32 + 1)],
    )
    .await
    .unwrap();
    let snapshot = format!(
        "SELECT (SELECT string_agg(t::text, '|' ORDER BY id) FROM {schema}.sessions t),
                (SELECT string_agg(version::text, ',' ORDER BY version) FROM {schema}.schema_version)"
    );
    let read = |row: tokio_postgres::Row| (row.get::<_, String>(0), row.get::<_, String>(1));
    let before = read(raw.query_one(&snapshot, &[]).await.unwrap());

    let refused = PostgresStore::connect(&support::store::database_url(), in_schema(&schema))
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        StoreError::SchemaTooNew {
            found: SCHEMA_VERSION + 1,
            supported: SCHEMA_VERSION
        }
    );
    assert_eq!(refused.code(), "store_schema_too_new");
    assert_eq!(read(raw.query_one(&snapshot, &[]).await.unwrap()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_schema_share_every_session_and_every_rule() {
    let schema = fresh_schema();
    let a = Arc::new(postgres_with(in_schema(&schema)).await);
    let b = Arc::new(postgres_with(in_schema(&schema)).await);
    let v1 = session(&id(1), ProviderKind::Paysafe, "order-1", 60_000);
    a.create(&v1).await.unwrap();
    assert_eq!(b.load(&v1.id).await.unwrap(), Some(v1.clone()));
    assert_eq!(
        b.load_by_order(ProviderKind::Paysafe, "order-1")
            .await
            .unwrap(),
        Some(v1.clone())
    );
    // The order is taken for B too.
    let again = session(&id(2), ProviderKind::Paysafe, "order-1", 60_000);
    assert_eq!(b.create(&again).await.unwrap_err(), StoreError::Duplicate);

    // Swaps from one version, half through each instance: exactly one wins.
    let contenders: Vec<_> = (0..16)
        .map(|n| {
            let store = Arc::clone(if n % 2 == 0 { &a } else { &b });
            let next = v1.advanced(calling(&format!("contender-{n}")), 10).unwrap();
            tokio::spawn(async move { (store.swap(&next).await.unwrap(), next) })
        })
        .collect();
    let winners = support::store::winners(contenders).await;
    assert_eq!(winners.len(), 1, "exactly one swap wins across instances");
    assert_eq!(a.load(&v1.id).await.unwrap().as_ref(), winners.first());
    assert_eq!(b.load(&v1.id).await.unwrap().as_ref(), winners.first());

    // B ends it; A can no longer move it.
    let over = winners[0].advanced(declined(), 20).unwrap();
    assert!(b.swap(&over).await.unwrap());
    let late = winners[0].advanced(calling("late"), 20).unwrap();
    assert!(!a.swap(&late).await.unwrap());
    let mut after = over.clone();
    after.version += 1;
    after.phase = calling("after");
    assert!(!a.swap(&after).await.unwrap());
    assert_eq!(a.load(&v1.id).await.unwrap(), Some(over));
}

#[tokio::test]
async fn a_damaged_row_is_corrupt_not_a_panic() {
    let schema = fresh_schema();
    let store = postgres_with(in_schema(&schema)).await;
    let s = session(&id(1), ProviderKind::Bambora, "order-1", 60_000);
    store.create(&s).await.unwrap();
    let raw = raw_postgres().await;

    let other_id = serde_json::to_string(&Session {
        id: id(7),
        ..s.clone()
    })
    .unwrap();
    for damage in ["{not json", r#"{"id": 42}"#, other_id.as_str()] {
        raw.execute(
            &format!("UPDATE {schema}.sessions SET body = $1"),
            &[&damage],
        )
        .await
        .unwrap();
        let by_id = store.load(&s.id).await.unwrap_err();
        assert!(
            matches!(by_id, StoreError::Corrupt(_)),
            "{damage}: {by_id:?}"
        );
        assert_eq!(by_id.code(), "store_corrupt");
        let by_order = store.load_by_order(ProviderKind::Bambora, "order-1").await;
        assert!(matches!(by_order, Err(StoreError::Corrupt(_))));
    }
    // A version column that disagrees with the body, too.
    let body = serde_json::to_string(&s).unwrap();
    raw.execute(
        &format!("UPDATE {schema}.sessions SET body = $1, version = 9"),
        &[&body],
    )
    .await
    .unwrap();
    assert!(matches!(
        store.load(&s.id).await,
        Err(StoreError::Corrupt(_))
    ));
}

/// The reconciler's sweep asks `due` every few seconds on every instance: it must read the
/// partial index, not the table.
#[tokio::test]
async fn due_reads_the_wake_up_index() {
    let schema = fresh_schema();
    let store = postgres_with(in_schema(&schema)).await;
    for n in 0..200 {
        let mut s = session(&id(n), ProviderKind::Payroc, &format!("o-{n}"), 60_000);
        s.wake_at_ms = Some(1_000 + u64::from(n));
        store.create(&s).await.unwrap();
    }
    let raw = raw_postgres().await;
    raw.batch_execute(&format!(
        "ANALYZE {schema}.sessions; SET enable_seqscan = off"
    ))
    .await
    .unwrap();
    // The statement `due` runs (postgres.rs, `Statements::in_schema`).
    let plan: Vec<String> = raw
        .query(
            &format!(
                "EXPLAIN SELECT id, version, body FROM {schema}.sessions
                 WHERE wake_at_ms IS NOT NULL AND wake_at_ms <= $1 AND NOT is_final
                 ORDER BY wake_at_ms LIMIT $2"
            ),
            &[&1_050i64, &10i64],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("sessions_by_wake"), "{plan}");
    assert_eq!(store.due(1_050, 100).await.unwrap().len(), 51);
}

#[tokio::test]
async fn no_card_number_is_stored_and_the_summary_comes_back() {
    let schema = fresh_schema();
    let store = postgres_with(in_schema(&schema)).await;
    let pan = Pan::parse(CONTRACT_PAN).unwrap();
    let mut s = session(&id(1), ProviderKind::Paysafe, "order-pan", 60_000);
    s.card = Some(CardSummary::from(&pan));
    let challenged = s
        .advanced(
            Phase::AwaitingBrowser {
                state: AdapterState(json!({ "authentication_id": "auth-1" })),
                action: BrowserAction::Redirect {
                    form: threeds_bridge::emv::FormPost::post(
                        "https://acs.example/challenge",
                        [("creq", "e30".to_owned())],
                    ),
                },
            },
            10,
        )
        .unwrap();
    store.create(&s).await.unwrap();
    assert!(store.swap(&challenged).await.unwrap());

    // Every column of every row of the store's tables, as text.
    let raw = raw_postgres().await;
    let mut stored = String::new();
    for table in ["sessions", "schema_version"] {
        for row in raw
            .query(&format!("SELECT t::text FROM {schema}.{table} t"), &[])
            .await
            .unwrap()
        {
            stored.push_str(&row.get::<_, String>(0));
        }
    }
    // The scan sees what was written, so its silence about the PAN means something.
    assert!(
        stored.contains("auth-1") && stored.contains(&id(1)),
        "{stored}"
    );
    assert!(!stored.contains(CONTRACT_PAN));
    let card = store
        .load(&s.id)
        .await
        .unwrap()
        .and_then(|s| s.card)
        .expect("the summary");
    assert_eq!(
        (card.bin.as_str(), card.last_four.as_str()),
        ("400000", "1000")
    );
}

/// docs/backend/store.md, "Privileges": once the schema exists, a role with only these
/// runs the store (it creates nothing at start).
#[tokio::test]
async fn a_role_with_only_the_documented_privileges_runs_the_store() {
    let schema = fresh_schema();
    drop(postgres_with(in_schema(&schema)).await);
    let role = format!("r_{}", &schema[2..]);
    raw_postgres()
        .await
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN;
             GRANT USAGE ON SCHEMA {schema} TO {role};
             GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.sessions TO {role};
             GRANT SELECT, INSERT, UPDATE ON {schema}.operations TO {role};
             GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.webhook_outbox TO {role};
             GRANT SELECT, INSERT ON {schema}.schema_version TO {role};
             REVOKE EXECUTE ON FUNCTION {schema}.stored_phase(text) FROM PUBLIC;
             GRANT EXECUTE ON FUNCTION {schema}.stored_phase(text) TO {role};"
        ))
        .await
        .unwrap();
    let url = support::store::database_url();
    let separator = if url.contains('?') { '&' } else { '?' };
    let as_role = format!("{url}{separator}user={role}");

    let store = PostgresStore::connect(&as_role, in_schema(&schema))
        .await
        .expect("the documented privileges are enough");
    let v1 = session(&id(1), ProviderKind::Bambora, "order-1", 60_000);
    store.create(&v1).await.unwrap();
    assert!(store
        .swap(&v1.advanced(declined(), 10).unwrap())
        .await
        .unwrap());
    assert_eq!(store.due(u64::MAX, 10).await.unwrap(), []);
    // A capture and its webhook event, as the lifecycle writes them.
    let payment = crate::store_operations::payment(&store, 2).await;
    let capture = crate::store_operations::record(&payment, "k1", OperationKind::Capture, 600);
    assert_eq!(
        store.begin_operation(&capture).await.unwrap(),
        Begun::Created
    );
    let event = OutboxEvent {
        event_id: format!("evt_{:032x}", 1),
        endpoint: "https://a.test/hooks".into(),
        body: "{}".into(),
        created_ms: 1_000,
    };
    let done = crate::store_operations::succeeded(&capture);
    assert!(store
        .swap_operation_with_events(&done, &[event])
        .await
        .unwrap());
    let claimed = store.claim_due(1_000, 2_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let delivered = Attempted::Delivered { status: 204 };
    store.record(&claimed[0], delivered, 1_500).await.unwrap();
    assert_eq!(store.purge_expired(u64::MAX).await.unwrap(), 2);
    // The backlog gauge's count runs the schema's function (granted above, not by default).
    let doubt = crate::backend_reconcile::stored_session(
        3,
        ProviderKind::Bambora,
        crate::backend_reconcile::in_doubt_since(10_000_000),
        10_000_000,
    );
    store.create(&doubt).await.unwrap();
    assert_eq!(store.in_doubt().await.unwrap(), Some(1));
    // And it is that role: it may not create a schema of its own.
    let refused = PostgresStore::connect(&as_role, in_schema(&fresh_schema()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "store_unavailable", "{refused}");
}

#[tokio::test]
async fn a_schema_name_that_is_not_plain_is_refused_before_connecting() {
    for name in [
        "",
        "Payments",
        "a-b",
        "x; DROP TABLE y",
        "pg_mine",
        "é",
        &"a".repeat(64),
    ] {
        let refused =
            PostgresStore::connect("postgresql://nobody@127.0.0.1:1/none", in_schema(name))
                .await
                .unwrap_err();
        assert!(
            matches!(&refused, StoreError::Unavailable(m) if m.contains("schema")),
            "{name:?}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_or_malformed_database_is_unavailable_and_names_no_password() {
    let started = Instant::now();
    let refused = PostgresStore::connect(
        "postgresql://bridge:pw-s3cret@127.0.0.1:1/payments",
        PostgresOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(refused.code(), "store_unavailable");
    assert!(!refused.to_string().contains("pw-s3cret"), "{refused}");

    let malformed = PostgresStore::connect(
        "postgresql://bridge:pw-s3cret@127.0.0.1:notaport/payments",
        PostgresOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(malformed.code(), "store_unavailable");
    assert!(!malformed.to_string().contains("pw-s3cret"), "{malformed}");

    // This build has no TLS to the database: asking for it fails, never falls back.
    let url = support::store::database_url();
    let separator = if url.contains('?') { '&' } else { '?' };
    let tls = PostgresStore::connect(
        &format!("{url}{separator}sslmode=require"),
        in_schema(&fresh_schema()),
    )
    .await
    .unwrap_err();
    assert_eq!(tls.code(), "store_unavailable", "{tls}");
}
