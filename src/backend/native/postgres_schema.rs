//! The PostgreSQL store's schema: the ordered migrations that reach this build's tables
//! (`schema_version`, one row per applied step; docs/backend/store.md, "Schema and
//! versions"), and the check of the schema's name that lets statements name it unquoted.

use super::{outbox, PostgresStore};
use crate::store::StoreError;

/// The schema, as ordered steps: step `i` takes the tables from `schema_version` `i` to
/// `i + 1`. Each runs with the store's schema first on the `search_path`. Append only;
/// never edit a step that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: one table, SQLite's two steps in one; `body` is the session, the rest are
    // indexed copies of it. `sessions_by_wake` holds only what `due` can return.
    "CREATE TABLE sessions (
        id            TEXT    NOT NULL PRIMARY KEY,
        provider      TEXT    NOT NULL,
        order_id      TEXT    NOT NULL,
        version       BIGINT  NOT NULL,
        expires_at_ms BIGINT  NOT NULL,
        is_final      BOOLEAN NOT NULL,
        wake_at_ms    BIGINT,
        body          TEXT    NOT NULL,
        UNIQUE (provider, order_id)
    );
    CREATE INDEX sessions_by_expiry ON sessions (is_final, expires_at_ms);
    CREATE INDEX sessions_by_wake ON sessions (wake_at_ms)
        WHERE wake_at_ms IS NOT NULL AND NOT is_final;",
    // 2: captures, voids and refunds, records of their own (`postgres_ops`).
    crate::backend::native::postgres_ops::MIGRATION,
    // 3: the webhook outbox (`postgres_outbox.rs`).
    outbox::MIGRATION,
    // 4: a stored body's phase for `in_doubt`, as SQLite's `json_valid` and `json_extract`
    // give it: NULL for a body that is not JSON (a damaged row), where a cast fails the
    // whole count; and read whatever NUL characters its text holds, whose `\u0000`
    // PostgreSQL's JSON types refuse (a 6-character escape becomes another of the same
    // length, so no member's bounds move, even where its backslash is an escaped one's).
    // Not PARALLEL SAFE: its exception block is a subtransaction, which PostgreSQL before
    // 17 refuses inside a parallel scan (a large `operations` table would get one).
    "CREATE FUNCTION stored_phase(body TEXT) RETURNS TEXT
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
    BEGIN
        RETURN replace(body, '\\u0000', '\\u0001')::json #>> '{phase,phase}';
    EXCEPTION WHEN data_exception THEN
        RETURN NULL;
    END $$;",
];

/// The `schema_version` this build writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The first key of the advisory lock that serialises migrations of one schema (the second
/// is the schema's name, hashed): instances starting together migrate one after another.
const MIGRATION_LOCK: i32 = 0x3d5b_7d6e;

impl PostgresStore {
    /// Brings the schema to [`SCHEMA_VERSION`] in one transaction under an advisory lock:
    /// of several instances starting at once, one migrates and the others then find the
    /// work done. A crash leaves the schema at the old version or the new, never between.
    pub(super) async fn migrate(&self, create_missing: bool) -> Result<(), StoreError> {
        let schema = &self.schema;
        let mut client = self.pool.get().await?;
        let step = client.transaction().await?;
        step.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&MIGRATION_LOCK, schema],
        )
        .await?;
        // Created only when missing: `CREATE … IF NOT EXISTS` would still need the
        // privilege to create, which a role running an existing schema may lack.
        let (has_schema, has_versions): (bool, bool) = {
            let row = step
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
                            EXISTS (SELECT 1 FROM pg_tables
                                    WHERE schemaname = $1 AND tablename = 'schema_version')",
                    &[schema],
                )
                .await?;
            (row.get(0), row.get(1))
        };
        if !has_versions && !create_missing {
            return Err(StoreError::Unavailable(format!(
                "no session store in schema {schema}"
            )));
        }
        if !has_schema {
            step.batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
                .await?;
        }
        step.batch_execute(&format!("SET LOCAL search_path TO \"{schema}\""))
            .await?;
        if !has_versions {
            step.batch_execute(
                "CREATE TABLE schema_version (
                    version    INTEGER     NOT NULL PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )",
            )
            .await?;
        }
        let found: i32 = step
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
            .await?
            .get(0);
        let found = u32::try_from(found).map_err(|_| {
            StoreError::Corrupt(format!("schema version {found} is not one of ours"))
        })?;
        if found > SCHEMA_VERSION {
            // Dropping `step` rolls back: nothing in the schema changes.
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        for (applied, migration) in (found..).zip(&MIGRATIONS[found as usize..]) {
            step.batch_execute(migration).await?;
            let version = i32::try_from(applied + 1).unwrap_or(i32::MAX);
            step.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&version],
            )
            .await?;
        }
        step.commit().await?;
        Ok(())
    }
}

/// A schema name the store can put in its statements as it is: an unquoted PostgreSQL
/// identifier in lowercase (no quoting rules to get wrong, no injection).
pub(crate) fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 63 && !schema.starts_with("pg_") {
        Ok(())
    } else {
        Err(StoreError::Unavailable(format!(
            "schema {schema:?} is not a plain lowercase name (a-z, 0-9, _; at most 63; not pg_…)"
        )))
    }
}
