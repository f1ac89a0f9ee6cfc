//! `threeds-bridge demo`: the whole product on one machine, in one process. The demo
//! checkout page (www/, with the npm package from pkg/) and the thin backend share one
//! origin (default http://127.0.0.1:8080); the provider sandbox has its own (default
//! http://127.0.0.1:8081), so that challenge iframes, redirects and `postMessage` are
//! really cross-origin. Sessions live in one SQLite file; the sandbox's credentials are
//! built in.
//!
//! Owns only the assembly, the static files ([`files`]), the "what happened" panel
//! ([`exchanges`]) and a small shop ([`shop`]: the merchant's server half, which creates
//! each payment with the demo's merchant API key); payments are the backend's business,
//! providers the sandbox's.

pub mod exchanges;
pub mod files;
pub mod mask;
pub mod shop;
pub mod webhooks;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::backend::auth::ApiKey;
use crate::backend::config::{BackendConfig, CallPolicy, ProvidersConfig};
use crate::backend::config_urls::check_webhook_endpoint;
use crate::backend::native::sqlite::SqliteStore;
use crate::backend::native::{
    router_with, spawn_webhooks, ConfirmRateLimit, ReqwestTransport, SystemEnv, Webhooks,
};
use crate::backend::webhooks::{WebhookEndpoint, WebhooksConfig};
use crate::backend::{ApiError, Backend, Providers, CLIENT_SECRET_HEADER};
use crate::payment::ProviderKind;
use crate::provider::Secret;
use crate::provider::{bambora, dlocal, payroc, paysafe};
use crate::sandbox::{self, RunningSandbox, SandboxConfig};
use exchanges::{ExchangeLog, Recorder, RecordingTransport};
use files::StaticFiles;
use shop::Shop;

/// How to run the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Address both servers listen on.
    pub host: String,
    /// The checkout page and backend (0: a free port).
    pub port: u16,
    /// The provider sandbox (0: a free port).
    pub sandbox_port: u16,
    /// The repository: `www/` and `pkg/` are read from here.
    pub root: PathBuf,
    /// The SQLite file of the sessions (created, with its folder, if missing).
    pub database: PathBuf,
}

impl DemoOptions {
    /// The contract's defaults: :8080 and :8081 on loopback, sessions under `target/`.
    pub fn new(root: PathBuf) -> DemoOptions {
        DemoOptions {
            host: "127.0.0.1".to_owned(),
            port: 8080,
            sandbox_port: 8081,
            database: root.join("target/demo/sessions.sqlite3"),
            root,
        }
    }
}

/// The demo, serving until dropped or shut down.
pub struct RunningDemo {
    /// The checkout page (and backend) origin, e.g. `http://127.0.0.1:8080`.
    pub page_url: String,
    pub sandbox_url: String,
    pub database: PathBuf,
    sandbox: Option<RunningSandbox>,
    /// Delivers the backend's webhooks to the demo's receiver; stops when dropped.
    webhooks: Option<Webhooks>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningDemo {
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        if let Some(webhooks) = self.webhooks.take() {
            webhooks.stop().await;
        }
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.shutdown().await;
        }
    }
}

impl Drop for RunningDemo {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The demo's merchant API key (sandbox only; `threeds-bridge demo` prints it): what the
/// demo's shop endpoint creates payments with, as a merchant's server would.
pub const DEMO_MERCHANT_KEY: &str = "demo-merchant-key";

/// The backend's configuration for the demo: every provider at the sandbox, with the
/// sandbox's credentials, and the demo page as the one checkout origin.
pub fn backend_config(page_url: &str, sandbox_url: &str) -> BackendConfig {
    BackendConfig {
        public_url: page_url.to_owned(),
        checkout_origins: vec![page_url.to_owned()],
        merchant_api_keys: vec![ApiKey::new(DEMO_MERCHANT_KEY)],
        max_confirm_attempts: 3,
        session_ttl_seconds: 30 * 60,
        calls: CallPolicy::default(),
        reconcile: Default::default(),
        webhooks: demo_webhooks(page_url),
        providers: ProvidersConfig {
            payroc: Some(payroc::Config::sandbox(sandbox_url)),
            dlocal: Some(dlocal::Config::sandbox(sandbox_url)),
            paysafe: Some(paysafe::Config::sandbox(sandbox_url)),
            bambora: Some(bambora::Config::sandbox(sandbox_url)),
        },
    }
}

/// The demo shop's receiver (`POST /demo/webhooks` on the page's own server) as the one
/// endpoint, quick retries; none when the page is not on a loopback address (an endpoint
/// over plain http must be).
fn demo_webhooks(page_url: &str) -> WebhooksConfig {
    let url = format!("{page_url}/demo/webhooks");
    let endpoints = match check_webhook_endpoint("webhooks", &url) {
        Ok(()) => vec![WebhookEndpoint {
            url,
            secret: Secret::new(webhooks::DEMO_WEBHOOK_SECRET),
        }],
        Err(_) => Vec::new(),
    };
    WebhooksConfig {
        endpoints,
        first_retry_ms: 1_000,
        max_retry_ms: 10_000,
        poll_every_ms: 250,
        ..WebhooksConfig::default()
    }
}

/// What the page's own routes need.
#[derive(Clone)]
struct DemoState {
    page_url: String,
    sandbox_url: String,
    /// The providers the backend offers (`payroc`, …), for the page and the tests.
    providers: Vec<&'static str>,
    log: Arc<ExchangeLog>,
    /// The sessions, to find the payment a client secret names (the panel).
    store: Arc<SqliteStore>,
    files: Arc<StaticFiles>,
    shop: Arc<Shop>,
    receiver: webhooks::SharedReceiver,
}

/// Binds both ports, starts the sandbox and the backend with the page.
pub async fn start(options: DemoOptions) -> Result<RunningDemo, String> {
    let page_listener = bind(&options.host, options.port).await?;
    let sandbox_listener = bind(&options.host, options.sandbox_port).await?;
    let page_url = origin(&page_listener)?;
    let sandbox_url = origin(&sandbox_listener)?;

    let mut sandbox_config = SandboxConfig::new(sandbox_url.clone());
    sandbox_config.payroc_receipt_urls.insert(
        sandbox::payroc::SANDBOX_TERMINAL.to_owned(),
        format!("{page_url}/v1/returns/payroc"),
    );
    let sandbox = sandbox::spawn(sandbox_listener, sandbox_config)
        .await
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;

    if let Some(folder) = options.database.parent() {
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    }
    let store = Arc::new(
        SqliteStore::open(&options.database)
            .map_err(|e| format!("{}: {e}", options.database.display()))?,
    );
    let config = backend_config(&page_url, &sandbox_url);
    config.validate()?;
    let providers = Providers::from_config(&config.providers);
    let offered: Vec<&'static str> = providers.kinds().map(ProviderKind::as_str).collect();
    let transport = RecordingTransport::new(ReqwestTransport::new(&config.calls)?, &sandbox_url);
    let backend = Arc::new(Backend::with_providers(
        config,
        providers,
        store.clone(),
        transport,
        SystemEnv,
    ));

    let backend_for_webhooks = backend.clone();
    let log = Arc::new(ExchangeLog::default());
    let recorder = Recorder {
        log: log.clone(),
        store: store.clone(),
    };
    let state = DemoState {
        page_url: page_url.clone(),
        sandbox_url: sandbox_url.clone(),
        providers: offered,
        log,
        store,
        shop: Arc::new(Shop::new(&page_url)),
        receiver: Arc::default(),
        files: Arc::new(StaticFiles {
            www: options.root.join("www"),
            pkg: options.root.join("pkg"),
            csp: files::content_security_policy(&sandbox_url),
        }),
    };
    let demo_routes = Router::new()
        .route("/demo/config", get(demo_config))
        .route("/demo/exchanges", get(payment_exchanges))
        .route("/shop/checkout", post(shop_checkout))
        .route(
            "/demo/webhooks",
            post(receive_webhook).get(payment_webhooks),
        )
        .fallback(static_file)
        .with_state(state);
    // One person (or the end-to-end suite) pays from one address, many times a minute.
    let demo_limit = ConfirmRateLimit {
        per_minute: 600,
        burst: 100,
    };
    let app = router_with(backend, demo_limit)
        .layer(axum::middleware::from_fn_with_state(
            recorder,
            exchanges::record,
        ))
        .merge(demo_routes);

    let webhooks = Some(spawn_webhooks(backend_for_webhooks));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(crate::backend::listen::serve(page_listener, app, async {
        let _ = rx.await;
    }));
    Ok(RunningDemo {
        page_url,
        sandbox_url,
        database: options.database,
        sandbox: Some(sandbox),
        webhooks,
        shutdown: Some(tx),
        task,
    })
}

async fn bind(host: &str, port: u16) -> Result<tokio::net::TcpListener, String> {
    let bound = match host.parse::<IpAddr>() {
        Ok(ip) => tokio::net::TcpListener::bind(SocketAddr::new(ip, port)).await,
        Err(_) => tokio::net::TcpListener::bind((host, port)).await,
    };
    bound.map_err(|e| format!("cannot listen on {host}:{port}: {e}"))
}

/// The origin a browser on this machine reaches a listener at.
fn origin(listener: &tokio::net::TcpListener) -> Result<String, String> {
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    Ok(match local.ip() {
        ip if ip.is_unspecified() => format!("http://127.0.0.1:{}", local.port()),
        _ => format!("http://{local}"),
    })
}

/// `GET /demo/config`: what the page shows about where it runs.
async fn demo_config(State(state): State<DemoState>) -> Response {
    let body = serde_json::json!({
        "backendUrl": state.page_url,
        "sandboxUrl": state.sandbox_url,
        "ledgerUrl": format!("{}/_sandbox/ledger", state.sandbox_url),
        "providers": state.providers,
    });
    secured(&state, Json(body).into_response())
}

/// `GET /demo/exchanges` with `X-Client-Secret`: the backend's calls to the sandbox for
/// the payment that secret belongs to, oldest first (401 without it or with another).
async fn payment_exchanges(State(state): State<DemoState>, headers: HeaderMap) -> Response {
    let presented = headers
        .get(CLIENT_SECRET_HEADER)
        .and_then(|value| value.to_str().ok());
    let found = exchanges::for_client_secret(&state.log, &state.store, presented).await;
    let response = match found {
        Ok(exchanges) => Json(serde_json::json!({ "exchanges": exchanges })).into_response(),
        Err(error) => api_error(&error),
    };
    secured(&state, response)
}

/// `POST /demo/webhooks`: the demo shop's endpoint ([`webhooks::Receiver`]).
async fn receive_webhook(
    State(state): State<DemoState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body);
    state.receiver.receive(&headers, &body).into_response()
}

/// `GET /demo/webhooks` with `X-Client-Secret`: the events the shop received for that
/// payment (401 without it or with another).
async fn payment_webhooks(State(state): State<DemoState>, headers: HeaderMap) -> Response {
    let presented = headers
        .get(CLIENT_SECRET_HEADER)
        .and_then(|value| value.to_str().ok());
    let response = match state
        .receiver
        .for_client_secret(&state.store, presented)
        .await
    {
        Ok(deliveries) => Json(serde_json::json!({ "deliveries": deliveries })).into_response(),
        Err(error) => api_error(&error),
    };
    secured(&state, response)
}

/// `POST /shop/checkout`: the shop creates the payment for the cart (see [`shop`]).
async fn shop_checkout(State(state): State<DemoState>, body: Bytes) -> Response {
    let response = state.shop.checkout(&body).await;
    secured(&state, response)
}

fn api_error(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({ "error": { "code": error.code, "message": error.message } });
    (status, Json(body)).into_response()
}

async fn static_file(State(state): State<DemoState>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return secured(
            &state,
            (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
            )
                .into_response(),
        );
    }
    state.files.serve(uri.path()).await
}

fn secured(state: &DemoState, mut response: Response) -> Response {
    state.files.secure(response.headers_mut());
    response
}

/// Runs the demo until Ctrl-C, printing both URLs.
pub async fn run(options: DemoOptions) -> Result<(), String> {
    if !options.root.join("www/index.html").is_file() {
        return Err(format!(
            "no www/index.html under {}: run from the repository or pass --root",
            options.root.display()
        ));
    }
    if !options.root.join("pkg/threeds_bridge.js").is_file() {
        crate::backend::native::logs::warn(&format!(
            "threeds-bridge demo: pkg/ is not built ({}): run `make pkg` (or `make demo`)",
            options.root.join("pkg").display()
        ));
    }
    let running = start(options).await?;
    let announce = crate::backend::native::logs::announce;
    announce("threeds-bridge demo");
    announce(&format!("  checkout page + backend  {}/", running.page_url));
    announce(&format!(
        "  provider sandbox         {}/",
        running.sandbox_url
    ));
    announce(&format!(
        "  sandbox ledger           {}/_sandbox/ledger",
        running.sandbox_url
    ));
    announce(&format!(
        "  sessions (SQLite)        {}",
        running.database.display()
    ));
    announce(&format!("  merchant API key         {DEMO_MERCHANT_KEY}  (sandbox only: the demo shop creates payments with it)"));
    announce(&format!(
        "Open {}/ in a browser. Press Ctrl-C to stop.",
        running.page_url
    ));
    crate::backend::native::shutdown::signal().await?;
    announce("threeds-bridge demo: stopped");
    Ok(())
}
