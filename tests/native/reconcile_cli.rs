//! `threeds-bridge reconcile`, the operator's one sweep, over SQLite and PostgreSQL: what
//! it settles, what it leaves in doubt, what it prints; a store in memory is refused.

use crate::backend_reconcile::{in_doubt_since, stored_session};
use crate::support;

use support::backend::{CHECKOUT, MERCHANT_KEY};
use threeds_bridge::backend::native::{self, SystemEnv};
use threeds_bridge::backend::Env;
use threeds_bridge::payment::{ProviderKind, ResultCode};
use threeds_bridge::session::Phase;
use threeds_bridge::store::SessionStore;

fn write_config(dir: &std::path::Path, store: &str) -> std::path::PathBuf {
    let path = dir.join("backend.toml");
    std::fs::write(
        &path,
        format!(
            r#"
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:9"
checkout_origins = ["{CHECKOUT}"]
merchant_api_keys = ["{MERCHANT_KEY}"]
{store}
[reconcile]
max_lookup_ms = 60000
[providers.paysafe]
base_url = "http://127.0.0.1:9/paysafe"
api_user = "u"
api_password = "p"
account_id = "1"
"#
        ),
    )
    .expect("write config");
    path
}

fn reconcile_command(config: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_threeds-bridge"))
        .arg("reconcile")
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run threeds-bridge reconcile")
}

/// `threeds-bridge reconcile` sweeps serve's SQLite file once and says what it did (as
/// [`sweeps_once`]). A config whose store is in memory is refused.
#[tokio::test]
async fn threeds_bridge_reconcile_sweeps_the_store_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("sessions.sqlite3");
    let store = native::sqlite::SqliteStore::open(&db).expect("open");
    let config = write_config(
        dir.path(),
        &format!(
            "store = {{ kind = \"sqlite\", path = {:?} }}",
            db.to_str().unwrap()
        ),
    );
    sweeps_once(&store, &config).await;

    let memory = write_config(dir.path(), "store = { kind = \"memory\" }");
    let refused = reconcile_command(&memory);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("in memory"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// The same over PostgreSQL, the store several `serve`s share (the test server of
/// scripts/pg-test.sh, a schema of its own).
#[tokio::test]
async fn threeds_bridge_reconcile_sweeps_a_postgres_store_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = support::store::fresh_schema();
    let store = support::store::postgres_with(native::postgres::PostgresOptions {
        schema: schema.clone(),
        ..Default::default()
    })
    .await;
    let config = write_config(
        dir.path(),
        &format!(
            "store = {{ kind = \"postgres\", url = {{ env = \"TB_TEST_DATABASE_URL\" }}, schema = \"{schema}\" }}"
        ),
    );
    sweeps_once(&store, &config).await;

    // A schema that is not there (a misspelt `store.schema`) is refused, as a missing
    // SQLite file is, and not made: a sweep of a new empty schema would report nothing in
    // doubt while the real one's payments wait.
    let misspelt = format!("{schema}_typo");
    let config = write_config(
        dir.path(),
        &format!(
            "store = {{ kind = \"postgres\", url = {{ env = \"TB_TEST_DATABASE_URL\" }}, schema = \"{misspelt}\" }}"
        ),
    );
    let refused = reconcile_command(&config);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no session store in schema"), "{stderr}");
    let made = support::store::raw_postgres()
        .await
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&misspelt],
        )
        .await
        .expect("query")
        .get::<_, bool>(0);
    assert!(!made, "reconcile created schema {misspelt}");
}

/// Runs `threeds-bridge reconcile --config config` over `store`: the due payment in doubt
/// (its provider, Bambora, not configured: it cannot be looked up and stays in doubt,
/// postponed) and the expired session (ended) are looked at; the session not due is not.
async fn sweeps_once(store: &impl SessionStore, config: &std::path::Path) {
    let now = SystemEnv.now_ms();
    let mut waiting = stored_session(3, ProviderKind::Paysafe, Phase::Created, now);
    waiting.expires_at_ms = now + 600_000;
    let waiting = waiting.with_wake_at(1_000);
    let sessions = [
        stored_session(1, ProviderKind::Bambora, in_doubt_since(now), now),
        stored_session(2, ProviderKind::Paysafe, Phase::Created, now),
        waiting,
    ];
    for session in &sessions {
        store.create(session).await.expect("create");
    }
    let output = reconcile_command(config);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.trim(),
        "threeds-bridge reconcile: looked at 2, settled 1, still in doubt 1"
    );
    let load = |id: String| async move { store.load(&id).await.unwrap().unwrap() };
    let doubt = load(sessions[0].id.clone()).await;
    assert!(
        matches!(doubt.phase, Phase::Unknown { lookups: 2, .. }),
        "{doubt:?}"
    );
    assert!(doubt.wake_at_ms.is_some_and(|at| at >= now + 60_000));
    let expired = load(sessions[1].id.clone()).await;
    assert_eq!(
        expired
            .result()
            .and_then(|r| r.error.clone())
            .map(|e| e.code),
        Some(ResultCode::SessionExpired)
    );
    assert_eq!(load(sessions[2].id.clone()).await, sessions[2]);
    // Run again: nothing is due any more.
    let again = reconcile_command(config);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "threeds-bridge reconcile: looked at 0, settled 0, still in doubt 0"
    );
}

/// A sweep the store fails on is no success: `threeds-bridge reconcile` says how many due
/// payments it could not settle and exits 1 (operations.md: "1 store or runtime failure"),
/// where it printed "looked at 0" and exited 0. The file is real SQLite; a trigger refuses
/// every write to a session, as a store that is read-only (a backup holding its lock, a
/// full disk) would.
#[tokio::test]
async fn threeds_bridge_reconcile_exits_1_when_the_store_fails_on_a_due_payment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("sessions.sqlite3");
    let store = native::sqlite::SqliteStore::open(&db).expect("open");
    let now = SystemEnv.now_ms();
    let expired = stored_session(7, ProviderKind::Paysafe, Phase::Created, now);
    store.create(&expired).await.expect("create");
    drop(store);
    rusqlite::Connection::open(&db)
        .expect("open the file")
        .execute_batch(
            "CREATE TRIGGER refuse_writes BEFORE UPDATE ON sessions
             BEGIN SELECT RAISE(ABORT, 'the store refuses writes'); END;",
        )
        .expect("trigger");
    let config = write_config(
        dir.path(),
        &format!(
            "store = {{ kind = \"sqlite\", path = {:?} }}",
            db.to_str().unwrap()
        ),
    );
    let output = reconcile_command(&config);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.trim(),
        "threeds-bridge reconcile: looked at 0, settled 0, still in doubt 0, failed 1"
    );
    assert!(
        stderr.contains(&expired.id),
        "the warning names it: {stderr}"
    );
}
