//! The SQLite session store against a real file in a temporary directory: the file and its
//! settings, restarts, damaged and newer files, and that no card number ever reaches the
//! disk. The rules every store keeps (uniqueness, compare-and-set under contention, due,
//! purge) are in store_conformance.rs.

use crate::support;

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::json;
use support::store::{calling, declined, id, session};
use tempfile::TempDir;
use threeds_bridge::backend::native::sqlite::{SqliteStore, SCHEMA_VERSION};
use threeds_bridge::emv::Pan;
use threeds_bridge::payment::{BrowserAction, CardSummary, ProviderKind};
use threeds_bridge::session::{AdapterState, Phase, Session};
use threeds_bridge::store::{SessionStore, StoreError};

/// A frictionless Visa card of ../shared/contract.md.
const CONTRACT_PAN: &str = "4000000000001000";

fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sessions.db");
    (dir, path)
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
