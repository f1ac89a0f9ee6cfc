//! The SQLite session store against a real file in a temporary directory: uniqueness,
//! compare-and-set under contention, restarts, damaged and newer files, purge, and that no
//! card number ever reaches the disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;
use serde_json::json;
use tempfile::TempDir;
use threeds_bridge::backend::native::sqlite::{Retention, SqliteStore, SCHEMA_VERSION};
use threeds_bridge::emv::Pan;
use threeds_bridge::payment::{
    BrowserAction, CardSummary, PaymentResult, PaymentStatus, ProviderKind, ResultCode,
};
use threeds_bridge::session::{AdapterState, Phase, Session};
use threeds_bridge::store::memory::MemoryStore;
use threeds_bridge::store::{SessionStore, StoreError};

/// A frictionless Visa card of ../shared/contract.md.
const CONTRACT_PAN: &str = "4000000000001000";

fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sessions.db");
    (dir, path)
}

fn calling(step: &str) -> Phase {
    Phase::Calling {
        state: AdapterState(json!({ "step": step })),
        purpose: "bambora.payment".into(),
    }
}

fn declined() -> Phase {
    Phase::Final {
        result: PaymentResult::failed(PaymentStatus::Declined, ResultCode::Declined),
    }
}

/// Built from JSON so that optional fields added to `Session` later take their default.
fn session(id: &str, provider: ProviderKind, order_id: &str, expires_at_ms: u64) -> Session {
    serde_json::from_value(json!({
        "id": id,
        "nonce": "nonce-1",
        "provider": provider,
        "order_id": order_id,
        "amount": 1250,
        "currency": "USD",
        "checkout_origin": "http://127.0.0.1:8080",
        "display": "iframe",
        "card": null,
        "created_at_ms": 0,
        "expires_at_ms": expires_at_ms,
        "version": 1,
        "phase": calling("start"),
    }))
    .expect("a session")
}

fn id(n: u32) -> String {
    format!("{n:032x}")
}

fn raw(path: &Path) -> Connection {
    Connection::open(path).expect("raw connection")
}

#[tokio::test]
async fn creates_the_file_and_loads_by_id_and_by_order() {
    let (dir, _) = temp_db();
    let path = dir.path().join("nested/deeper/sessions.db");
    let store = SqliteStore::open(&path).expect("open");
    assert!(path.is_file(), "the file and its parents are created");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner may read the sessions");
    }

    let s = session(&id(1), ProviderKind::Payroc, "order-1", 60_000);
    store.create(&s).await.expect("create");
    assert_eq!(store.load(&s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(
        store
            .load_by_order(ProviderKind::Payroc, "order-1")
            .await
            .unwrap(),
        Some(s.clone())
    );
    assert_eq!(store.load(&id(2)).await.unwrap(), None);
    assert_eq!(
        store
            .load_by_order(ProviderKind::Dlocal, "order-1")
            .await
            .unwrap(),
        None
    );

    let db = raw(&path);
    let journal: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let version: u32 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(version, SCHEMA_VERSION);
}

// The rules every `SessionStore` keeps, run here against SQLite and memory alike so that
// tests written against `MemoryStore` hold for the real store.

#[tokio::test]
async fn a_taken_id_or_order_is_a_duplicate_and_changes_nothing() {
    let (_dir, path) = temp_db();
    duplicate_rules(&SqliteStore::open(&path).unwrap()).await;
    duplicate_rules(&MemoryStore::default()).await;
}

async fn duplicate_rules(store: &impl SessionStore) {
    let first = session(&id(1), ProviderKind::Bambora, "order-1", 60_000);
    store.create(&first).await.unwrap();

    let same_id = session(&id(1), ProviderKind::Paysafe, "order-2", 60_000);
    let same_order = session(&id(2), ProviderKind::Bambora, "order-1", 60_000);
    for taken in [&same_id, &same_order] {
        let refused = store.create(taken).await.unwrap_err();
        assert_eq!(refused, StoreError::Duplicate);
        assert_eq!(refused.code(), "duplicate_payment");
    }
    assert_eq!(store.load(&id(1)).await.unwrap(), Some(first));
    assert_eq!(store.load(&id(2)).await.unwrap(), None);

    // The same order id at another provider is another payment.
    let other_provider = session(&id(3), ProviderKind::Dlocal, "order-1", 60_000);
    store.create(&other_provider).await.unwrap();
}

#[tokio::test]
async fn swap_is_compare_and_set_on_the_version() {
    let (_dir, path) = temp_db();
    swap_rules(&SqliteStore::open(&path).unwrap()).await;
    swap_rules(&MemoryStore::default()).await;
}

async fn swap_rules(store: &impl SessionStore) {
    let v1 = session(&id(1), ProviderKind::Paysafe, "order-1", 60_000);
    store.create(&v1).await.unwrap();

    let v2 = v1.advanced(calling("authorize"), 10).unwrap();
    assert!(store.swap(&v2).await.unwrap());
    assert_eq!(store.load(&v1.id).await.unwrap(), Some(v2.clone()));

    // Someone else built a version 2 from the same version 1: it lost.
    let stale = v1.advanced(calling("stale"), 10).unwrap();
    assert!(!store.swap(&stale).await.unwrap());
    // Skipping a version, version 0, an unknown id: nothing to replace.
    let mut skipping = v2.advanced(calling("skip"), 10).unwrap();
    skipping.version += 1;
    assert!(!store.swap(&skipping).await.unwrap());
    let mut zero = v1.clone();
    zero.version = 0;
    assert!(!store.swap(&zero).await.unwrap());
    let mut unknown = v2.advanced(calling("x"), 10).unwrap();
    unknown.id = id(9);
    assert!(!store.swap(&unknown).await.unwrap());
    assert_eq!(store.load(&v1.id).await.unwrap(), Some(v2.clone()));

    // Final, then never again, even from the right version.
    let v3 = v2.advanced(declined(), 20).unwrap();
    assert!(store.swap(&v3).await.unwrap());
    let mut backwards = v3.clone();
    backwards.version = 4;
    backwards.phase = calling("again");
    assert!(!store.swap(&backwards).await.unwrap());
    assert_eq!(store.load(&v1.id).await.unwrap(), Some(v3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_concurrent_swaps_from_one_version_exactly_one_wins() {
    let (_dir, path) = temp_db();
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let v1 = session(&id(1), ProviderKind::Dlocal, "order-1", 60_000);
    store.create(&v1).await.unwrap();

    let contenders: Vec<_> = (0..32)
        .map(|n| {
            let store = Arc::clone(&store);
            let next = v1.advanced(calling(&format!("contender-{n}")), 10).unwrap();
            tokio::spawn(async move { (store.swap(&next).await.unwrap(), next) })
        })
        .collect();
    let mut winners = Vec::new();
    for contender in contenders {
        let (won, next) = contender.await.unwrap();
        if won {
            winners.push(next);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one swap wins");
    assert_eq!(store.load(&v1.id).await.unwrap().as_ref(), winners.first());
}

#[tokio::test]
async fn a_restart_keeps_every_session() {
    let (_dir, path) = temp_db();
    let waiting = session(&id(1), ProviderKind::Payroc, "order-1", 60_000);
    let moved = waiting.advanced(calling("mpi"), 10).unwrap();
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create(&waiting).await.unwrap();
        assert!(store.swap(&moved).await.unwrap());
    }
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(
        reopened.load(&waiting.id).await.unwrap(),
        Some(moved.clone())
    );
    // The constraints came back too.
    assert_eq!(
        reopened.create(&waiting).await.unwrap_err(),
        StoreError::Duplicate
    );
    let next = moved.advanced(declined(), 20).unwrap();
    assert!(reopened.swap(&next).await.unwrap());
}

#[tokio::test]
async fn a_damaged_body_is_corrupt_not_a_panic() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let s = session(&id(1), ProviderKind::Bambora, "order-1", 60_000);
    store.create(&s).await.unwrap();

    let other_id = serde_json::to_string(&Session {
        id: id(7),
        ..s.clone()
    })
    .unwrap();
    for damage in ["{not json", r#"{"id": 42}"#, other_id.as_str()] {
        raw(&path)
            .execute("UPDATE sessions SET body = ?1", [damage])
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
}

#[tokio::test]
async fn a_file_from_a_newer_build_is_refused_untouched() {
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    raw(&path)
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let before = std::fs::read(&path).unwrap();

    let refused = SqliteStore::open(&path).unwrap_err();
    assert_eq!(
        refused,
        StoreError::SchemaTooNew {
            found: SCHEMA_VERSION + 1,
            supported: SCHEMA_VERSION
        }
    );
    assert_eq!(refused.code(), "store_schema_too_new");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused() {
    let (_dir, path) = temp_db();
    std::fs::write(
        &path,
        b"this is not SQLite, just text long enough to have a header",
    )
    .unwrap();
    let refused = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(refused, StoreError::Corrupt(_)), "{refused:?}");
}

#[tokio::test]
async fn purge_deletes_only_sessions_past_their_retention() {
    let (_dir, path) = temp_db();
    let retention = Retention {
        final_ms: 1_000,
        unfinished_ms: 5_000,
    };
    let store = SqliteStore::open_with(&path, retention).unwrap();
    let finished = |s: Session| s.advanced(declined(), 0).unwrap();
    let old_final = finished(session(&id(1), ProviderKind::Payroc, "a", 100));
    let old_unfinished = session(&id(2), ProviderKind::Payroc, "b", 100);
    let young_final = finished(session(&id(3), ProviderKind::Payroc, "c", 10_000));
    let young_unfinished = session(&id(4), ProviderKind::Payroc, "d", 3_000);
    for s in [&old_final, &old_unfinished, &young_final, &young_unfinished] {
        store.create(s).await.unwrap();
    }

    assert_eq!(store.purge_expired(0).await.unwrap(), 0);
    assert_eq!(store.purge_expired(1_099).await.unwrap(), 0);
    assert_eq!(store.purge_expired(1_100).await.unwrap(), 1);
    assert_eq!(store.load(&old_final.id).await.unwrap(), None);
    assert!(store.load(&old_unfinished.id).await.unwrap().is_some());

    assert_eq!(store.purge_expired(5_100).await.unwrap(), 1);
    assert_eq!(store.load(&old_unfinished.id).await.unwrap(), None);
    assert!(store.load(&young_final.id).await.unwrap().is_some());
    assert!(store.load(&young_unfinished.id).await.unwrap().is_some());

    assert_eq!(store.purge_expired(11_000).await.unwrap(), 2);
    // The order id is free again once its session is gone.
    store
        .create(&session(&id(5), ProviderKind::Payroc, "a", 20_000))
        .await
        .unwrap();
}

/// Every file SQLite keeps for the database (main file, `-wal`, `-shm`), concatenated.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn no_card_number_reaches_the_disk_and_the_summary_survives_a_restart() {
    let (dir, path) = temp_db();
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
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create(&s).await.unwrap();
        assert!(store.swap(&challenged).await.unwrap());

        let open_bytes = database_bytes(dir.path());
        // The scan sees what was written, so its silence about the PAN means something.
        assert!(contains(&open_bytes, "auth-1"));
        assert!(contains(&open_bytes, &id(1)));
        assert!(!contains(&open_bytes, CONTRACT_PAN));
    }
    let closed_bytes = database_bytes(dir.path());
    assert!(contains(&closed_bytes, "auth-1"));
    assert!(!contains(&closed_bytes, CONTRACT_PAN));

    let reopened = SqliteStore::open(&path).unwrap();
    let restored = reopened.load(&s.id).await.unwrap().expect("still there");
    assert_eq!(restored, challenged);
    let card = restored.card.expect("the summary");
    assert_eq!(
        (card.bin.as_str(), card.last_four.as_str()),
        ("400000", "1000")
    );
}
