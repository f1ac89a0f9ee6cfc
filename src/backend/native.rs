//! The native host of the backend core: an axum [`router`] a Rust merchant can mount in
//! their own app, a reqwest [`ReqwestTransport`] with the configured timeouts, the
//! system clock and randomness ([`SystemEnv`]), and the config file of
//! `threeds-bridge serve --config FILE` (JSON or TOML; secrets as `{ env = "NAME" }`).
//! Owns only IO; every decision is the core's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::routing::any;
use axum::Router;
use serde::Deserialize;

use super::auth::ApiKey;
use super::config::{BackendConfig, CallPolicy, ProvidersConfig};
use super::host::{Env, Transport};
use super::http::{Method, Request, Response};
use super::{Backend, MAX_BODY_BYTES};
use crate::provider::{HttpMethod, HttpRequest, HttpResponse, TransportFailure};
use crate::store::memory::MemoryStore;
use crate::store::sqlite::SqliteStore;
use crate::store::SessionStore;

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
        let response = builder.send().await.map_err(failure)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = response.text().await.map_err(failure)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
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

/// The API's routes as an axum router, to serve alone or to merge into a merchant's app
/// (serve it with `into_make_service_with_connect_info::<SocketAddr>()` so the browser's
/// IP reaches the EMV browser details).
pub fn router<S, T, E>(backend: Arc<Backend<S, T, E>>) -> Router
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    Router::new()
        .route("/v1/payments", any(handle::<S, T, E>))
        .route("/v1/payments/{*rest}", any(handle::<S, T, E>))
        .route("/v1/returns/{*rest}", any(handle::<S, T, E>))
        .route("/v1/webhooks/dlocal", any(handle::<S, T, E>))
        .route("/v1/complete.js", any(handle::<S, T, E>))
        .with_state(backend)
}

async fn handle<S, T, E>(
    State(backend): State<Arc<Backend<S, T, E>>>,
    request: axum::extract::Request,
) -> axum::response::Response
where
    S: SessionStore + 'static,
    T: Transport + 'static,
    E: Env + 'static,
{
    let (parts, body) = request.into_parts();
    let peer_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    // Read one byte past the limit: the core answers 413 for anything longer.
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => vec![0; MAX_BODY_BYTES + 1],
    };
    let headers = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_owned())))
        .collect();
    let request = Request {
        method: Method::parse(parts.method.as_str()),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body,
        peer_ip,
    };
    into_axum(backend.handle(request).await)
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
    /// policy), and returns when the server is gone.
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
    let url = format!("http://{}", listener.local_addr()?);
    let app = router(backend).into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningBackend {
        url,
        shutdown: Some(tx),
        task,
    })
}

/// Where sessions live.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreConfig {
    /// In memory: lost on restart (tests, demos).
    #[default]
    Memory,
    /// One SQLite file, created on first start.
    Sqlite { path: String },
}

/// `threeds-bridge serve --config FILE`: the core's configuration plus where to listen
/// and where sessions live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// `127.0.0.1:8080`.
    pub listen: String,
    #[serde(default)]
    pub store: StoreConfig,
    pub public_url: String,
    pub checkout_origins: Vec<String>,
    pub merchant_api_keys: Vec<ApiKey>,
    #[serde(default)]
    pub max_confirm_attempts: Option<u32>,
    #[serde(default)]
    pub session_ttl_seconds: Option<u64>,
    #[serde(default)]
    pub calls: CallPolicy,
    pub providers: ProvidersConfig,
}

impl ServeConfig {
    /// Reads a config file: TOML when it ends in `.toml`, JSON otherwise. Any value
    /// written `{ env = "NAME" }` is taken from the environment variable NAME.
    pub fn load(path: &str) -> Result<ServeConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        ServeConfig::parse(&text, path.ends_with(".toml"), &|name| {
            std::env::var(name).ok()
        })
    }

    pub fn parse(
        text: &str,
        toml: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ServeConfig, String> {
        let mut value: serde_json::Value = if toml {
            toml::from_str(text).map_err(|e| format!("not valid TOML: {}", e.message()))?
        } else {
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?
        };
        resolve_env(&mut value, env, "")?;
        // serde's message names the field; values (secrets) are not echoed.
        let config: ServeConfig =
            serde_json::from_value(value).map_err(|e| super::api::safe_message(&e.to_string()))?;
        config.backend().validate()?;
        Ok(config)
    }

    pub fn backend(&self) -> BackendConfig {
        BackendConfig {
            public_url: self.public_url.clone(),
            checkout_origins: self.checkout_origins.clone(),
            merchant_api_keys: self.merchant_api_keys.clone(),
            max_confirm_attempts: self.max_confirm_attempts.unwrap_or(3),
            session_ttl_seconds: self.session_ttl_seconds.unwrap_or(30 * 60),
            calls: self.calls,
            providers: self.providers.clone(),
        }
    }
}

/// Replaces every `{"env": "NAME"}` with the variable's value; a missing variable is
/// an error naming the variable and where it was asked for, never a value.
fn resolve_env(
    value: &mut serde_json::Value,
    env: &dyn Fn(&str) -> Option<String>,
    at: &str,
) -> Result<(), String> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(Value::String(name)) = map.get("env") {
                    let resolved = env(name)
                        .ok_or_else(|| format!("{at}: environment variable {name} is not set"))?;
                    *value = Value::String(resolved);
                    return Ok(());
                }
            }
            for (key, inner) in map.iter_mut() {
                resolve_env(inner, env, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .try_for_each(|(i, inner)| resolve_env(inner, env, &format!("{at}[{i}]"))),
        _ => Ok(()),
    }
}

/// Runs `threeds-bridge serve` until Ctrl-C.
pub async fn serve(config: ServeConfig) -> Result<(), String> {
    match &config.store {
        StoreConfig::Memory => {
            tracing::warn!("sessions are kept in memory: a restart forgets payments in progress");
            run(config.clone(), Arc::new(MemoryStore::default())).await
        }
        StoreConfig::Sqlite { path } => {
            let store = SqliteStore::open(path)
                .map_err(|e| format!("cannot open the session store {path}: {e}"))?;
            let store = Arc::new(store);
            tokio::spawn(purge_every(store.clone(), PURGE_INTERVAL));
            run(config.clone(), store).await
        }
    }
}

/// How often `serve` deletes sessions past their retention (docs/backend/store.md).
const PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Purges old sessions now and then every `interval`, for as long as the process runs.
async fn purge_every(store: Arc<SqliteStore>, interval: Duration) {
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

async fn run<S: SessionStore + Send + Sync + 'static>(
    config: ServeConfig,
    store: Arc<S>,
) -> Result<(), String> {
    let backend_config = config.backend();
    let transport = ReqwestTransport::new(&backend_config.calls)?;
    let backend = Backend::new(backend_config, store, transport, SystemEnv);
    let providers: Vec<&str> = backend.providers.kinds().map(|k| k.as_str()).collect();
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let running = spawn(listener, Arc::new(backend)).map_err(|e| e.to_string())?;
    println!(
        "threeds-bridge serve: {} (listening on {}), providers: {}",
        config.public_url,
        running.url,
        providers.join(", ")
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    running.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_the_environment() {
        let text = r#"
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080"
checkout_origins = ["http://127.0.0.1:8080"]
merchant_api_keys = [{ env = "MERCHANT_API_KEY" }]
[providers.paysafe]
base_url = "http://127.0.0.1:8081/paysafe"
api_user = "u"
api_password = { env = "PAYSAFE_PASSWORD" }
account_id = "89987201"
"#;
        let env = |name: &str| match name {
            "PAYSAFE_PASSWORD" => Some("s3cret".to_owned()),
            "MERCHANT_API_KEY" => Some("merchant-key-0123456789".to_owned()),
            _ => None,
        };
        let config = ServeConfig::parse(text, true, &env).expect("parses");
        assert_eq!(
            config.providers.paysafe.expect("paysafe").api_password,
            "s3cret"
        );
        assert_eq!(config.merchant_api_keys.len(), 1);
        let missing = ServeConfig::parse(text, true, &|_| None).expect_err("missing variable");
        assert!(missing.contains("PAYSAFE_PASSWORD"), "{missing}");
        assert!(!missing.contains("s3cret"));
    }

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../../examples/backend-sandbox.toml");
        let env = |name: &str| Some(format!("value-of-{name}"));
        let config = ServeConfig::parse(text, true, &env).expect("examples/backend-sandbox.toml");
        assert_eq!(
            config.store,
            StoreConfig::Sqlite {
                path: "target/threeds-bridge.sqlite3".into()
            }
        );
        let backend = config.backend();
        assert!(backend.allows_origin("http://127.0.0.1:8080"));
        let payroc = backend.providers.payroc.expect("payroc");
        assert_eq!(payroc.api_key, "value-of-PAYROC_API_KEY");
        assert!(backend.providers.dlocal.is_some() && backend.providers.paysafe.is_some());
        let bambora = backend.providers.bambora.expect("bambora");
        assert_eq!(bambora.api_passcode, "value-of-BAMBORA_API_PASSCODE");
    }

    #[test]
    fn mistakes_are_named() {
        let unknown = r#"{"listen":"x","public_url":"http://a","checkout_origins":[],"merchant_api_keys":["k123456789abcdefgh"],"providers":{},"colour":1}"#;
        assert!(ServeConfig::parse(unknown, false, &|_| None)
            .unwrap_err()
            .contains("colour"));
        let origin = r#"{"listen":"x","public_url":"http://a","checkout_origins":["http://a/"],"merchant_api_keys":["k123456789abcdefgh"],"providers":{}}"#;
        assert!(ServeConfig::parse(origin, false, &|_| None)
            .unwrap_err()
            .contains("checkout_origins"));
        let keyless = r#"{"listen":"x","public_url":"http://a","checkout_origins":[],"merchant_api_keys":[],"providers":{}}"#;
        assert!(ServeConfig::parse(keyless, false, &|_| None)
            .unwrap_err()
            .contains("merchant_api_keys"));
        let short = r#"{"listen":"x","public_url":"http://a","checkout_origins":[],"merchant_api_keys":["k12"],"providers":{}}"#;
        let error = ServeConfig::parse(short, false, &|_| None).unwrap_err();
        assert!(
            error.contains("merchant_api_keys[0]") && !error.contains("k12"),
            "{error}"
        );
    }
}
