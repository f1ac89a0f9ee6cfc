//! The native host of the backend core: an axum [`router`] a Rust merchant can mount in
//! their own app, a reqwest [`ReqwestTransport`] with the configured timeouts, the
//! system clock and randomness ([`SystemEnv`]), and the config file of
//! `threeds-bridge serve --config FILE` (JSON or TOML; secrets as `{ env = "NAME" }`),
//! and its session stores: one SQLite file ([`sqlite`]) for one instance, PostgreSQL
//! ([`postgres`]) for several sharing every payment.
//! Owns only IO; every decision is the core's.

mod config;
pub mod logs;
pub mod metrics;
pub mod postgres;
mod postgres_ops;
pub mod shutdown;
pub mod sqlite;
mod sqlite_ops;
mod stored;
mod webhooks;

pub use config::{ServeConfig, StoreConfig};
pub use stored::{Purge, Retention};
pub use webhooks::{spawn_webhooks, Webhooks};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::routing::any;
use axum::Router;
use serde::Deserialize;

use super::config::CallPolicy;
use super::host::{Env, Transport};
use super::http::{Method, Request, Response};
use super::{Backend, MAX_BODY_BYTES};
use crate::provider::{
    answer_text, HttpMethod, HttpRequest, HttpResponse, Secret, TransportFailure, MAX_ANSWER_BYTES,
};
use crate::store::memory::MemoryStore;
use crate::store::SessionStore;
use postgres::{PostgresOptions, PostgresStore};
use sqlite::SqliteStore;

/// Provider calls over reqwest (rustls), one timeout per attempt, no redirects followed.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    pub fn new(policy: &CallPolicy) -> Result<ReqwestTransport, String> {
        let timeout = Duration::from_millis(policy.timeout_ms);
        reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map(|client| ReqwestTransport { client })
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }
}

impl Transport for ReqwestTransport {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let mut builder = match request.method {
            HttpMethod::Get => self.client.get(&request.url),
            HttpMethod::Post => self.client.post(&request.url),
        };
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let failure = |e: reqwest::Error| {
            if e.is_timeout() {
                TransportFailure::Timeout
            } else {
                // Never the error's Display: it may carry the URL's query.
                TransportFailure::Connection(
                    if e.is_connect() {
                        "connect"
                    } else {
                        "connection lost"
                    }
                    .to_owned(),
                )
            }
        };
        let mut response = builder.send().await.map_err(failure)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        // At most MAX_ANSWER_BYTES of the body; the rest is never read (the connection is
        // dropped with it).
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER_BYTES {
            let Some(chunk) = response.chunk().await.map_err(failure)? else {
                break;
            };
            let room = MAX_ANSWER_BYTES - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        Ok(HttpResponse {
            status,
            headers,
            body: answer_text(&body),
        })
    }
}

/// The system clock, UUID v4 randomness (122 bits, from the OS), tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEnv;

impl Env for SystemEnv {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default()
    }

    fn random_u128(&self) -> u128 {
        uuid::Uuid::new_v4().as_u128()
    }

    async fn sleep(&self, ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// The backend a native host runs.
pub type NativeBackend<S> = Backend<S, ReqwestTransport, SystemEnv>;

/// How many confirms one client IP may send: a steady rate and a burst (GCRA). Card
/// testing spreads over many payments, each capped by `max_confirm_attempts`; this caps
/// the payments one address can try. Behind a proxy, the peer is the proxy: put the
/// limit there too (docs/backend.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfirmRateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for ConfirmRateLimit {
    fn default() -> ConfirmRateLimit {
        ConfirmRateLimit {
            per_minute: 30,
            burst: 10,
        }
    }
}

type IpLimiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

impl ConfirmRateLimit {
    fn limiter(self) -> Option<IpLimiter> {
        let per_minute = std::num::NonZeroU32::new(self.per_minute)?;
        let burst = std::num::NonZeroU32::new(self.burst.max(1))?;
        let quota = governor::Quota::per_minute(per_minute).allow_burst(burst);
        Some(governor::RateLimiter::keyed(quota))
    }
}

/// What every request of the router shares.
struct Host<S, T, E> {
    backend: Arc<Backend<S, T, E>>,
    /// `None`: no per-IP limit (`per_minute = 0`).
    confirms: Option<IpLimiter>,
    /// Each request's handling holds a clone until it ends, so that a server shutting
    /// down can wait for those whose client has gone ([`spawn_with`]).
    detached: tokio::sync::mpsc::Sender<()>,
}

/// The core's handling of one request, as the native host runs it to its end.
pub type Handling = std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;

/// What a layer around [`router`] wants around the handling of each request, wherever it
/// runs: in the handler's task, or in a task of its own once the client has hung up (see
/// `to_the_end`), which a tokio task-local set around the handler does not reach (the
/// demo files each request's provider calls so). Put one in the request's extensions.
#[derive(Clone)]
pub struct TaskScope(Arc<dyn Fn(Handling) -> Handling + Send + Sync>);

impl TaskScope {
    pub fn new(wrap: impl Fn(Handling) -> Handling + Send + Sync + 'static) -> TaskScope {
        TaskScope(Arc::new(wrap))
    }
}

/// A request body that has not arrived within this long is answered 408: a client that
/// trickles its body holds a connection and a task for nothing.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The API's routes as an axum router, to serve alone or to merge into a merchant's app
/// (serve it with `into_make_service_with_connect_info::<SocketAddr>()` so the browser's
/// IP reaches the EMV browser details and the per-IP confirm limit).
pub fn router<S, T, E>(backend: Arc<Backend<S, T, E>>) -> Router
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    router_with(backend, ConfirmRateLimit::default())
}

/// [`router`] with a per-IP confirm limit of the caller's choosing.
pub fn router_with<S, T, E>(backend: Arc<Backend<S, T, E>>, limit: ConfirmRateLimit) -> Router
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    // Nobody waits for the requests left running by their clients in a merchant's own app:
    // its runtime keeps them running as long as it runs.
    let (detached, _) = tokio::sync::mpsc::channel(1);
    tracked_router(backend, limit, detached)
}

/// [`router_with`], whose requests' handlings each hold a clone of `detached` until they end.
fn tracked_router<S, T, E>(
    backend: Arc<Backend<S, T, E>>,
    limit: ConfirmRateLimit,
    detached: tokio::sync::mpsc::Sender<()>,
) -> Router
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let host = Arc::new(Host {
        backend,
        confirms: limit.limiter(),
        detached,
    });
    Router::new()
        .route("/v1/payments", any(handle::<S, T, E>))
        .route("/v1/payments/{*rest}", any(handle::<S, T, E>))
        .route("/v1/returns/{*rest}", any(handle::<S, T, E>))
        .route("/v1/webhooks/{provider}", any(handle::<S, T, E>))
        .route("/v1/complete.js", any(handle::<S, T, E>))
        .route("/healthz", any(handle::<S, T, E>))
        .route("/readyz", any(handle::<S, T, E>))
        .with_state(host)
}

async fn handle<S, T, E>(
    State(host): State<Arc<Host<S, T, E>>>,
    request: axum::extract::Request,
) -> axum::response::Response
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let (parts, body) = request.into_parts();
    let scope = parts.extensions.get::<TaskScope>().cloned();
    let peer_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let headers = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_owned())))
        .collect();
    // The body comes later: what the request's log lines carry is known from its head, so
    // that an answer of this host's own has its request id and access line too.
    let mut request = Request {
        method: Method::parse(parts.method.as_str()),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body: Vec::new(),
        peer_ip,
    };
    let trace = host.backend.trace(&request);
    let confirm =
        parts.method == axum::http::Method::POST && parts.uri.path().ends_with("/confirm");
    if let (true, Some(limiter), Some(ip)) = (confirm, &host.confirms, peer_ip) {
        if limiter.check_key(&ip).is_err() {
            trace.span().in_scope(
                || tracing::warn!(%ip, "confirm refused: this client IP is over its confirm rate"),
            );
            let refused = super::ApiError::new(
                429,
                "rate_limited",
                "too many payment confirmations from this address; try again in a minute",
            )
            .response()
            .with_header("Retry-After", "60")
            .with_header("Cache-Control", "no-store");
            return into_axum(host.backend.finish(trace, refused));
        }
    }
    // Read one byte past the limit: the core answers 413 for anything longer.
    request.body = match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES + 1),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes.to_vec(),
        Ok(Err(_)) => vec![0; MAX_BODY_BYTES + 1],
        Err(_) => {
            trace.span().in_scope(|| {
                tracing::warn!("the request body did not arrive in time: answered 408")
            });
            let late = super::ApiError::new(
                408,
                "body_timeout",
                "the request body did not arrive in time",
            )
            .response()
            .with_header("Cache-Control", "no-store");
            return into_axum(host.backend.finish(trace, late));
        }
    };
    into_axum(to_the_end(&host, request, trace, scope).await)
}

/// The core's handling of `request`, run to its end whatever the client does. It is
/// polled in the handler like any future; if the client hangs up first (axum then drops
/// the handler), what is left of it moves to a task of its own: a provider call in flight
/// (which the provider finishes whether or not anyone waits) runs to its answer, and the
/// session ends with the provider's result, which the page's next read learns.
fn to_the_end<S, T, E>(
    host: &Host<S, T, E>,
    request: Request,
    trace: super::Trace,
    scope: Option<TaskScope>,
) -> ToTheEnd
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let backend = host.backend.clone();
    let held = host.detached.clone();
    let span = trace.span().clone();
    let work: Handling = Box::pin(async move {
        let response = backend.handle_traced(request, trace).await;
        drop(held);
        response
    });
    ToTheEnd {
        work: Some(match scope {
            Some(TaskScope(wrap)) => wrap(work),
            None => work,
        }),
        span,
    }
}

/// See [`to_the_end`].
struct ToTheEnd {
    /// `None` once answered.
    work: Option<Handling>,
    /// The request's span, for the line saying its client left.
    span: tracing::Span,
}

impl std::future::Future for ToTheEnd {
    type Output = Response;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Response> {
        let Some(work) = self.work.as_mut() else {
            return std::task::Poll::Pending;
        };
        let answer = std::task::ready!(work.as_mut().poll(cx));
        self.work = None;
        std::task::Poll::Ready(answer)
    }
}

impl Drop for ToTheEnd {
    fn drop(&mut self) {
        let Some(work) = self.work.take() else {
            return;
        };
        // Outside a runtime the process is stopping: nothing can run it any more.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            self.span.in_scope(|| {
                tracing::info!("the client left before the answer: the request runs on to its end")
            });
            runtime.spawn(work);
        }
    }
}

fn into_axum(response: Response) -> axum::response::Response {
    let mut builder = axum::http::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder.body(Body::from(response.body)).unwrap_or_else(|_| {
        let mut fallback = axum::response::Response::new(Body::empty());
        *fallback.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// A backend serving on a listener until dropped or shut down.
pub struct RunningBackend {
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningBackend {
    /// Stops accepting, lets requests in flight finish (each is bounded by the call
    /// policy; those whose client has gone too), and returns when the server is gone.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningBackend {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
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
    let app = tracked_router(backend, limit, detached).merge(routes);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        super::listen::serve(listener, app, async {
            let _ = rx.await;
        })
        .await;
        // The router (and its sender) is gone with the server; each request still running
        // (its client gone) holds a sender: this returns once the last one ended.
        while finished.recv().await.is_some() {}
    });
    Ok(RunningBackend {
        url,
        shutdown: Some(tx),
        task,
    })
}

/// Runs `threeds-bridge serve` until SIGTERM or SIGINT (Ctrl-C), then stops gracefully.
pub async fn serve(config: ServeConfig) -> Result<(), String> {
    match &config.store {
        StoreConfig::Memory => {
            tracing::warn!("sessions are kept in memory: a restart forgets payments in progress");
            let store = Arc::new(MemoryStore::default());
            tokio::spawn(purge_every(store.clone(), PURGE_INTERVAL));
            run(config.clone(), store).await
        }
        StoreConfig::Sqlite { path } => {
            let store = SqliteStore::open(path)
                .map_err(|e| format!("cannot open the session store {path}: {e}"))?;
            let store = Arc::new(store);
            tokio::spawn(purge_every(store.clone(), PURGE_INTERVAL));
            run(config.clone(), store).await
        }
        StoreConfig::Postgres {
            url,
            schema,
            pool_size,
        } => {
            let store = Arc::new(open_postgres(url, schema.as_deref(), *pool_size).await?);
            tokio::spawn(purge_every(store.clone(), PURGE_INTERVAL));
            run(config.clone(), store).await
        }
    }
}

/// The PostgreSQL store of `[store] kind = "postgres"`, migrated (docs/backend/store.md).
async fn open_postgres(
    url: &Secret,
    schema: Option<&str>,
    pool_size: Option<usize>,
) -> Result<PostgresStore, String> {
    let defaults = PostgresOptions::default();
    let options = PostgresOptions {
        schema: schema.map_or(defaults.schema, str::to_owned),
        pool_size: pool_size.unwrap_or(defaults.pool_size),
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
    store: Arc<S>,
) -> Result<(), String> {
    let backend_config = config.backend();
    let transport = ReqwestTransport::new(&backend_config.calls)?;
    let metrics = Arc::new(metrics::Metrics::new());
    let store = Arc::new(metrics::TimedStore::new(store, metrics.clone()));
    let backend = Backend::new(backend_config, store, transport, SystemEnv);
    let backend = Arc::new(backend.observed_by(metrics.clone()));
    let providers: Vec<&str> = backend.providers.kinds().map(|k| k.as_str()).collect();
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
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

/// How many due sessions the reconciler loads from the store at a time.
pub const SWEEP_BATCH: usize = 100;

/// The reconciler of a running server: a task that sweeps the store
/// ([`Backend::sweep_all`]) every `reconcile.sweep_every_ms`, so that payments in doubt
/// are looked up, calls abandoned by a stopped process resumed and expired sessions
/// ended without anyone asking. Stops when [`Reconciler::stop`]ped or dropped, after the
/// sweep in progress (it may be in a provider call).
pub struct Reconciler {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Reconciler {
    /// Stops the timer and waits for the sweep in progress, if any.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Reconciler {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
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
    let every = Duration::from_millis(backend.config().reconcile.sweep_every_ms.max(1));
    let (tx, mut stop) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = &mut stop => break,
            }
            // Not raced against `stop`: a sweep may be in a provider call.
            match backend.sweep_all(SWEEP_BATCH).await {
                Ok(swept) if swept.looked_at == 0 => {}
                Ok(swept) => tracing::info!(
                    looked_at = swept.looked_at,
                    settled = swept.settled,
                    in_doubt = swept.in_doubt,
                    "reconciler swept the sessions that were due"
                ),
                Err(error) => {
                    tracing::warn!(%error, "reconciler: the session store failed; next sweep later")
                }
            }
        }
    });
    Reconciler {
        stop: Some(tx),
        task,
    }
}

/// `threeds-bridge reconcile --config FILE`: one sweep, in batches, over every session of
/// the configured SQLite or PostgreSQL store that is due (a lookup of a payment in doubt, a
/// call a stopped process abandoned, an expiry), as the server's reconciler would. Safe
/// beside running `serve`s on the same store: every change is a compare-and-set.
pub async fn reconcile(config: &ServeConfig) -> Result<super::Swept, String> {
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
                open_postgres(url, schema.as_deref(), *pool_size).await?,
            )
            .await
        }
    }
}

async fn sweep_once<S: SessionStore + Send + Sync + 'static>(
    config: &ServeConfig,
    store: S,
) -> Result<super::Swept, String> {
    let backend_config = config.backend();
    let transport = ReqwestTransport::new(&backend_config.calls)?;
    let backend = Backend::new(backend_config, Arc::new(store), transport, SystemEnv);
    backend
        .sweep_all(SWEEP_BATCH)
        .await
        .map_err(|e| format!("the session store failed: {e}"))
}
