//! Serving: a backend on a listener until it is shut down ([`spawn`]), and
//! `threeds-bridge serve` with its store, metrics, webhooks and reconciler ([`serve`]).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use super::postgres::{PostgresOptions, PostgresStore};
use super::reconciler::spawn_reconciler;
use super::routes::tracked_router;
use super::sqlite::SqliteStore;
use super::task::Stoppable;
use super::{
    logs, metrics, shutdown, spawn_webhooks, ConfirmRateLimit, Purge, ReqwestTransport,
    ServeConfig, StoreConfig, SystemEnv,
};
use crate::backend::host::{Env, Transport};
use crate::backend::Backend;
use crate::provider::Secret;
use crate::store::memory::MemoryStore;
use crate::store::SessionStore;

/// A backend serving on a listener until dropped or shut down.
pub struct RunningBackend {
    pub url: String,
    server: Stoppable,
}

impl RunningBackend {
    /// Stops accepting, lets requests in flight finish (each is bounded by the call
    /// policy; those whose client has gone too), and returns when the server is gone.
    pub async fn shutdown(self) {
        self.server.stop().await;
    }
}

/// Serves `backend` on `listener`.
pub fn spawn<S, T, E>(
    listener: tokio::net::TcpListener,
    backend: Arc<Backend<S, T, E>>,
) -> std::io::Result<RunningBackend>
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    spawn_with(listener, backend, ConfirmRateLimit::default())
}

/// [`spawn`] with a per-IP confirm limit of the caller's choosing.
pub fn spawn_with<S, T, E>(
    listener: tokio::net::TcpListener,
    backend: Arc<Backend<S, T, E>>,
    limit: ConfirmRateLimit,
) -> std::io::Result<RunningBackend>
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    spawn_with_routes(listener, backend, limit, Router::new())
}

/// [`spawn_with`], serving the host's own `routes` beside the API (`/metrics`).
pub fn spawn_with_routes<S, T, E>(
    listener: tokio::net::TcpListener,
    backend: Arc<Backend<S, T, E>>,
    limit: ConfirmRateLimit,
    routes: Router,
) -> std::io::Result<RunningBackend>
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let url = format!("http://{}", listener.local_addr()?);
    let (detached, mut finished) = tokio::sync::mpsc::channel::<()>(1);
    let app = tracked_router(backend, limit, detached, true).merge(routes);
    let server = Stoppable::spawn(|stop| async move {
        crate::backend::listen::serve(listener, app, async {
            let _ = stop.await;
        })
        .await;
        // The router (and its sender) is gone with the server; each request still running
        // (its client gone) holds a sender: this returns once the last one ended.
        while finished.recv().await.is_some() {}
    });
    Ok(RunningBackend { url, server })
}

/// Runs `threeds-bridge serve` until SIGTERM or SIGINT (Ctrl-C), then stops gracefully.
pub async fn serve(config: ServeConfig) -> Result<(), String> {
    // The port first: a start that cannot listen (the old instance still running, say)
    // stops before it has created a store file or migrated a shared schema.
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    match &config.store {
        StoreConfig::Memory => {
            tracing::warn!("sessions are kept in memory: a restart forgets payments in progress");
            let store = Arc::new(MemoryStore::default());
            tokio::spawn(purge_every(store.clone(), PURGE_INTERVAL));
            run(config.clone(), listener, store).await
        }
        StoreConfig::Sqlite { path } => {
            let store = SqliteStore::open(path)
                .map_err(|e| format!("cannot open the session store {path}: {e}"))?;
            let store = Arc::new(store);
            tokio::spawn(purge_every(store.clone(), PURGE_INTERVAL));
            run(config.clone(), listener, store).await
        }
        StoreConfig::Postgres {
            url,
            schema,
            pool_size,
        } => {
            let store = Arc::new(open_postgres(url, schema.as_deref(), *pool_size, true).await?);
            tokio::spawn(purge_every(store.clone(), PURGE_INTERVAL));
            run(config.clone(), listener, store).await
        }
    }
}

/// The PostgreSQL store of `[store] kind = "postgres"`, migrated (docs/backend/store.md);
/// its schema created when missing if `create_missing`.
pub(super) async fn open_postgres(
    url: &Secret,
    schema: Option<&str>,
    pool_size: Option<usize>,
    create_missing: bool,
) -> Result<PostgresStore, String> {
    let defaults = PostgresOptions::default();
    let options = PostgresOptions {
        schema: schema.map_or(defaults.schema, str::to_owned),
        pool_size: pool_size.unwrap_or(defaults.pool_size),
        create_missing,
        ..defaults
    };
    let schema = options.schema.clone();
    PostgresStore::connect(url.expose(), options)
        .await
        .map_err(|e| format!("cannot open the session store (PostgreSQL schema {schema}): {e}"))
}

/// How often `serve` deletes sessions past their retention (docs/backend/store.md).
const PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Purges old sessions now and then every `interval`, for as long as the process runs.
async fn purge_every(store: Arc<impl Purge>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        match store.purge_expired(SystemEnv.now_ms()).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "purged sessions past their retention"),
            Err(error) => tracing::warn!(%error, "could not purge old sessions"),
        }
    }
}

async fn run<S: crate::store::outbox::Outbox + Send + Sync + 'static>(
    config: ServeConfig,
    listener: tokio::net::TcpListener,
    store: Arc<S>,
) -> Result<(), String> {
    let backend_config = config.backend();
    let transport = ReqwestTransport::new(&backend_config.calls)?;
    let metrics = Arc::new(metrics::Metrics::new());
    let store = Arc::new(metrics::TimedStore::new(store, metrics.clone()));
    let backend = Backend::new(backend_config, store, transport, SystemEnv);
    let backend = Arc::new(backend.observed_by(metrics.clone()));
    let providers: Vec<&str> = backend.providers.kinds().map(|k| k.as_str()).collect();
    let running = spawn_with_routes(
        listener,
        backend.clone(),
        config.confirm_rate_limit,
        metrics::router(metrics),
    )
    .map_err(|e| e.to_string())?;
    let webhooks = spawn_webhooks(backend.clone());
    let reconciler = spawn_reconciler(backend);
    logs::announce(&format!(
        "threeds-bridge serve: {} (listening on {}), providers: {}",
        config.public_url,
        running.url,
        providers.join(", ")
    ));
    let signal = shutdown::signal().await?;
    tracing::info!(
        signal,
        "shutting down: no new connections; requests in flight and the reconciler's sweep finish first"
    );
    tokio::join!(reconciler.stop(), running.shutdown(), webhooks.stop());
    tracing::info!("stopped");
    Ok(())
}
