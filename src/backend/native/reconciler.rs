//! The reconciler: the sweep of due sessions a running server repeats
//! ([`spawn_reconciler`]) and `threeds-bridge reconcile` runs once ([`reconcile`]).

use std::sync::Arc;
use std::time::Duration;

use super::serve::open_postgres;
use super::sqlite::SqliteStore;
use super::task::{next_tick, ticks, Stoppable};
use super::{ReqwestTransport, ServeConfig, StoreConfig, SystemEnv};
use crate::backend::host::{Env, Transport};
use crate::backend::{Backend, Swept};
use crate::store::SessionStore;

/// How many due sessions the reconciler loads from the store at a time.
pub const SWEEP_BATCH: usize = 100;

/// The reconciler of a running server: a task that sweeps the store
/// ([`Backend::sweep_all`]) every `reconcile.sweep_every_ms`, so that payments in doubt
/// are looked up, calls abandoned by a stopped process resumed and expired sessions
/// ended without anyone asking. Stops when [`Reconciler::stop`]ped or dropped, after the
/// session or operation the sweep is on (it may be in a provider call).
pub struct Reconciler(Stoppable);

impl Reconciler {
    /// Stops the timer and waits for the sweep in progress, if any.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

/// Starts the reconciler of `backend` (its first sweep at once, then every
/// `reconcile.sweep_every_ms`), logging each sweep that found something.
pub fn spawn_reconciler<S, T, E>(backend: Arc<Backend<S, T, E>>) -> Reconciler
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let every = Duration::from_millis(backend.config().reconcile.sweep_every_ms);
    Reconciler(Stoppable::spawn(|mut stop| async move {
        let mut ticks = ticks(every);
        while next_tick(&mut ticks, &mut stop).await {
            // Not raced against `stop`: a sweep may be in a provider call. Told to stop,
            // it looks at no other session or operation (`is_empty`: no stop sent yet).
            match backend
                .sweep_all_until(SWEEP_BATCH, || !stop.is_empty())
                .await
            {
                Ok(swept) if swept.looked_at == 0 && swept.failed == 0 => {}
                Ok(swept) => tracing::info!(
                    looked_at = swept.looked_at,
                    settled = swept.settled,
                    in_doubt = swept.in_doubt,
                    failed = swept.failed,
                    "reconciler swept the sessions that were due"
                ),
                Err(error) => {
                    tracing::warn!(%error, "reconciler: the session store failed; next sweep later")
                }
            }
        }
    }))
}

/// `threeds-bridge reconcile --config FILE`: one sweep, in batches, over every session of
/// the configured SQLite or PostgreSQL store that is due (a lookup of a payment in doubt, a
/// call a stopped process abandoned, an expiry), as the server's reconciler would. Safe
/// beside running `serve`s on the same store: every change is a compare-and-set.
pub async fn reconcile(config: &ServeConfig) -> Result<Swept, String> {
    match &config.store {
        StoreConfig::Memory => Err(
            "the configured store is in memory (store.kind = \"memory\"): no other process can \
             see its sessions, so there is nothing to reconcile"
                .to_owned(),
        ),
        StoreConfig::Sqlite { path } => {
            if !std::path::Path::new(path).is_file() {
                return Err(format!("no session store at {path}"));
            }
            let store = SqliteStore::open(path)
                .map_err(|e| format!("cannot open the session store {path}: {e}"))?;
            sweep_once(config, store).await
        }
        StoreConfig::Postgres {
            url,
            schema,
            pool_size,
        } => {
            sweep_once(
                config,
                // As for SQLite, a store that is not there is refused, not made.
                open_postgres(url, schema.as_deref(), *pool_size, false).await?,
            )
            .await
        }
    }
}

async fn sweep_once<S: SessionStore + Send + Sync + 'static>(
    config: &ServeConfig,
    store: S,
) -> Result<Swept, String> {
    let backend_config = config.backend();
    let transport = ReqwestTransport::new(&backend_config.calls)?;
    let backend = Backend::new(backend_config, Arc::new(store), transport, SystemEnv);
    backend
        .sweep_all(SWEEP_BATCH)
        .await
        .map_err(|e| format!("the session store failed: {e}"))
}
