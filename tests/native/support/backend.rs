//! The backend over real HTTP for integration tests: a sandbox and a backend on free
//! ports (the sandbox's Payroc terminal sends receipts to this backend), the backend's
//! log lines captured, and the cardholder (`support::cardholder`) following the `next`
//! step of a Payment view through the sandbox's pages and back to the backend's return
//! routes.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use threeds_bridge::backend::auth::ApiKey;
use threeds_bridge::backend::config::{
    BackendConfig, CallPolicy, ProvidersConfig, ReconcilePolicy,
};
use threeds_bridge::backend::native::{self, ReqwestTransport, RunningBackend, SystemEnv};
use threeds_bridge::backend::{Backend, Env, Transport};
use threeds_bridge::provider::{bambora, dlocal, payroc, paysafe};
use threeds_bridge::sandbox::{spawn, RunningSandbox, SandboxConfig};
use threeds_bridge::store::memory::MemoryStore;
use threeds_bridge::store::SessionStore;

pub use super::cardholder::Cardholder;
use super::cardholder::{method_notification, until_backend};
pub use super::requests::{
    confirm_at, confirm_at_path, create_at, operate_at, split_start, start_at, start_body,
};
use super::{browser, resolve, PageForm};

/// Every log line of this test process.
fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        buffer
    })
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the backend has logged so far (all tests of this process).
pub fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

/// `backend` served on `listener` with no per-IP confirm limit: every test confirms from
/// 127.0.0.1, many times a second (backend_trust.rs tests the limit on a backend of its own).
pub fn serve_unlimited<S, T, E>(
    listener: tokio::net::TcpListener,
    backend: Arc<Backend<S, T, E>>,
) -> RunningBackend
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let unlimited = native::ConfirmRateLimit {
        per_minute: 0,
        burst: 0,
    };
    native::spawn_with(listener, backend, unlimited).expect("serve")
}

/// The checkout page's origin in these tests (never contacted).
pub const CHECKOUT: &str = "http://checkout.test";

/// The merchant's server's API key in these tests (`Authorization: Bearer …`).
pub const MERCHANT_KEY: &str = "test-merchant-key-0123456789";

/// A sandbox, a backend over it, and the store they share across restarts.
pub struct Harness {
    pub sandbox: RunningSandbox,
    pub backend: Option<RunningBackend>,
    pub url: String,
    pub store: Arc<MemoryStore>,
    pub policy: CallPolicy,
    /// How the backends this harness starts look payments in doubt up.
    pub reconcile: ReconcilePolicy,
    /// Session lifetime of the backends this harness starts (600 s unless a test shortens it).
    pub ttl_seconds: u64,
    pub addr: std::net::SocketAddr,
    /// Client secrets by payment id, as the merchant's server handed them to the page.
    pub secrets: Mutex<HashMap<String, String>>,
}

/// An API answer's status and error code (`none` when it has none).
pub fn code(answer: &(u16, Value)) -> (u16, &str) {
    (
        answer.0,
        answer.1["error"]["code"].as_str().unwrap_or("none"),
    )
}

/// Quick provider timeouts, so a hung provider costs the test seconds.
pub fn quick_policy() -> CallPolicy {
    CallPolicy {
        timeout_ms: 1_500,
        attempts: 3,
        backoff_ms: 50,
    }
}

/// The default lookups, but a lookup that finds nothing is believed 3 s after the lost
/// call (not 2 minutes): a test of a call that never reached the provider ends in seconds.
pub fn quick_reconcile() -> ReconcilePolicy {
    ReconcilePolicy {
        not_found_after_ms: 3_000,
        ..Default::default()
    }
}

/// Lookups every 300 to 600 ms, and a lookup that finds nothing believed only 15 s after
/// the lost call: a provider that makes the call late (the sandbox's `commit_after_ms`) is
/// found by a later lookup first.
pub fn late_commit_reconcile() -> ReconcilePolicy {
    ReconcilePolicy {
        first_lookup_ms: 300,
        max_lookup_ms: 600,
        not_found_after_ms: 15_000,
        ..Default::default()
    }
}

pub async fn harness() -> Harness {
    harness_with(quick_policy()).await
}

pub async fn harness_with(policy: CallPolicy) -> Harness {
    harness_configured(policy, quick_reconcile()).await
}

pub async fn harness_configured(policy: CallPolicy, reconcile: ReconcilePolicy) -> Harness {
    log_buffer();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let url = format!("http://{addr}");
    let mut config = SandboxConfig::new("");
    config.payroc_receipt_urls.insert(
        payroc::Config::sandbox("").processing_terminal_id,
        format!("{url}/v1/returns/payroc"),
    );
    let sandbox_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let sandbox = spawn(sandbox_listener, config).await.expect("sandbox");
    let store = Arc::new(MemoryStore::default());
    let mut harness = Harness {
        sandbox,
        backend: None,
        url,
        store,
        policy,
        reconcile,
        ttl_seconds: 600,
        addr,
        secrets: Mutex::new(HashMap::new()),
    };
    harness.backend = Some(harness.serve(listener));
    harness
}

impl Harness {
    pub fn config(&self) -> BackendConfig {
        BackendConfig {
            public_url: self.url.clone(),
            checkout_origins: vec![CHECKOUT.to_owned()],
            merchant_api_keys: vec![ApiKey::new(MERCHANT_KEY)],
            max_confirm_attempts: 3,
            session_ttl_seconds: self.ttl_seconds,
            calls: self.policy,
            reconcile: self.reconcile,
            webhooks: Default::default(),
            providers: ProvidersConfig {
                payroc: Some(payroc::Config::sandbox(&self.sandbox.url)),
                dlocal: Some(dlocal::Config::sandbox(&self.sandbox.url)),
                paysafe: Some(paysafe::Config::sandbox(&self.sandbox.url)),
                bambora: Some(bambora::Config::sandbox(&self.sandbox.url)),
            },
        }
    }

    fn serve(&self, listener: tokio::net::TcpListener) -> RunningBackend {
        let config = self.config();
        let transport = ReqwestTransport::new(&config.calls).expect("transport");
        let backend = Backend::new(config, self.store.clone(), transport, SystemEnv);
        serve_unlimited(listener, Arc::new(backend))
    }

    /// A free port for another backend beside this one (a second instance, or one with a
    /// clock or adapters of a test's own), and this harness's configuration with that
    /// port's address as its public URL, so that browsers and providers come back to it.
    pub async fn beside(&self) -> (tokio::net::TcpListener, BackendConfig) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut config = self.config();
        config.public_url = format!("http://{}", listener.local_addr().expect("addr"));
        (listener, config)
    }

    /// Another backend beside this one ([`Harness::beside`]) over `store` with `env`, on
    /// the sandbox over real HTTP: its URL, its call lease, and the running server.
    pub async fn serve_beside<S, E>(&self, store: Arc<S>, env: E) -> (String, u64, RunningBackend)
    where
        S: SessionStore + Send + Sync + 'static,
        E: Env + Send + Sync + 'static,
    {
        let (listener, config) = self.beside().await;
        let url = config.public_url.clone();
        let lease_ms = config.calls.lease_ms();
        let transport = ReqwestTransport::new(&config.calls).expect("transport");
        let backend = Backend::new(config, store, transport, env);
        (url, lease_ms, serve_unlimited(listener, backend.into()))
    }

    /// Stops the backend and starts a new one (new adapters, no caches) on the same
    /// address with the same store, as a process restart would.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("rebind");
        self.backend = Some(self.serve(listener));
    }

    /// Stops the backend (requests in flight finish first).
    pub async fn stop(&mut self) {
        if let Some(running) = self.backend.take() {
            running.shutdown().await;
        }
    }

    pub fn ledger(&self, provider: &str) -> Vec<threeds_bridge::sandbox::ledger::LedgerEntry> {
        self.sandbox
            .sandbox
            .ledger
            .entries()
            .into_iter()
            .filter(|e| serde_json::to_value(e.provider).ok() == Some(json!(provider)))
            .collect()
    }

    /// A payment as the merchant's server creates it and the checkout page confirms it:
    /// `body` is a [`start_body`], split into the create (with the merchant's key) and the
    /// confirm (with the client secret). A refused create answers its own status and body.
    pub async fn start(&self, body: &Value) -> (u16, Value) {
        let (status, view, secret) = start_at(&self.url, body).await;
        if let (Some(id), Some(secret)) = (view["id"].as_str(), secret) {
            self.remember(id, &secret);
        }
        (status, view)
    }

    /// `POST /v1/payments` as the merchant's server does (its API key).
    pub async fn create(&self, body: &Value) -> (u16, Value) {
        let (status, view) = create_at(&self.url, body).await;
        if let (Some(id), Some(secret)) = (view["id"].as_str(), view["clientSecret"].as_str()) {
            self.remember(id, secret);
        }
        (status, view)
    }

    /// `POST /v1/payments/{id}/confirm` as the checkout page does.
    pub async fn confirm(&self, id: &str, secret: &str, body: &Value) -> (u16, Value) {
        confirm_at(&self.url, id, secret, body).await
    }

    fn remember(&self, id: &str, secret: &str) {
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), secret.to_owned());
    }

    /// The client secret the merchant's server got for payment `id`.
    pub fn secret(&self, id: &str) -> String {
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    /// The page's view of payment `id` (its client secret).
    pub async fn view(&self, id: &str) -> (u16, Value) {
        let response = browser()
            .get(format!("{}/v1/payments/{id}", self.url))
            .header("X-Client-Secret", self.secret(id))
            .send()
            .await
            .expect("view");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The page's view of payment `id` once it is final, or the last one read after ten
    /// seconds: a return can be answered while another request (dLocal's notification,
    /// which the sandbox sends as its page finishes) still moves the payment.
    pub async fn final_view(&self, id: &str) -> Value {
        self.read_until_final(id, Viewer::Page, Duration::from_secs(10))
            .await
    }

    /// The merchant's view of payment `id` once it is final, or the last one read after
    /// `within` (a payment in doubt waits for the reconciler's lookups).
    pub async fn final_merchant_view(&self, id: &str, within: Duration) -> Value {
        self.read_until_final(id, Viewer::Merchant, within).await
    }

    async fn read_until_final(&self, id: &str, viewer: Viewer, within: Duration) -> Value {
        let until = Instant::now() + within;
        loop {
            let (status, view) = match viewer {
                Viewer::Page => self.view(id).await,
                Viewer::Merchant => self.merchant_view(id).await,
            };
            assert_eq!(status, 200, "{view}");
            if view["state"] == "final" || Instant::now() > until {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The merchant's view of payment `id` (its API key).
    pub async fn merchant_view(&self, id: &str) -> (u16, Value) {
        let response = browser()
            .get(format!("{}/v1/payments/{id}", self.url))
            .bearer_auth(MERCHANT_KEY)
            .send()
            .await
            .expect("merchant view");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn method(&self, id: &str, completion: &str) -> (u16, Value) {
        let response = browser()
            .post(format!("{}/v1/payments/{id}/method", self.url))
            .header("Origin", CHECKOUT)
            .json(&json!({ "completion": completion, "clientSecret": self.secret(id) }))
            .send()
            .await
            .expect("method");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Where the browser landed on the backend.
#[derive(Debug)]
pub struct Landing {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    /// What the browser sent to the backend (to replay it).
    pub sent: PageForm,
}

/// Submits `form` as the browser would and follows pages, redirects and auto-submit
/// forms (answering challenge pages as `cardholder`) until the backend answers.
pub async fn follow(backend: &str, first: PageForm, cardholder: Cardholder) -> Landing {
    let sent = until_backend(backend, first, cardholder).await;
    let response = sent.submit(&browser(), &sent.action).await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(|l| resolve(&sent.action, l));
    let body = response.text().await.unwrap_or_default();
    Landing {
        status,
        location,
        body,
        sent,
    }
}

/// The `next.form` of a Payment view as a page form.
pub fn next_form(view: &Value) -> PageForm {
    let form = &view["next"]["form"];
    PageForm {
        id: None,
        action: form["action"].as_str().expect("action").to_owned(),
        method: form["method"]
            .as_str()
            .expect("method")
            .to_ascii_lowercase(),
        fields: form["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap_or_default().to_owned(),
                    f["value"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
    }
}

/// Runs the 3DS Method form as the hidden iframe would: Y when the ACS answered with
/// its notification form (the test follows it wherever it goes), N when it never did.
pub async fn run_method(backend: &str, view: &Value) -> &'static str {
    let form = next_form(view);
    let Some(notification) = method_notification(&form).await else {
        return "N";
    };
    let response = notification.submit(&browser(), &form.action).await;
    if notification.action.starts_with(backend) {
        let page = response.text().await.unwrap_or_default();
        assert!(
            page.contains("/v1/complete.js"),
            "the notification answers the completion page: {page}"
        );
    }
    "Y"
}

/// Whose view of a payment [`Harness::read_until_final`] reads.
#[derive(Clone, Copy)]
enum Viewer {
    Page,
    Merchant,
}

/// Drives a payment through the API to its final view, as the checkout page and the
/// cardholder would. Returns the final view and the landings on the backend.
pub async fn pay(h: &Harness, body: &Value, cardholder: Cardholder) -> (Value, Vec<Landing>) {
    let (status, mut view) = h.start(body).await;
    assert_eq!(status, 200, "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    let mut landings = Vec::new();
    // Six steps of the cardholder's at most; a payment waiting on the provider (a
    // dLocal return before its notification) is read again, for ten seconds at most.
    let waiting_until = Instant::now() + Duration::from_secs(10);
    let mut steps = 0;
    while steps < 6 {
        match view["next"]["type"].as_str() {
            Some("none") if view["state"] == "final" => return (view, landings),
            Some("none") if Instant::now() < waiting_until => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                view = h.view(&id).await.1;
                continue;
            }
            Some("none") => break,
            Some("method") => {
                let completion = run_method(&h.url, &view).await;
                let (status, next) = h.method(&id, completion).await;
                assert_eq!(status, 200, "{next}");
                view = next;
            }
            Some("challenge" | "redirect") => {
                let landing = follow(&h.url, next_form(&view), cardholder).await;
                assert!(
                    landing.status == 200 || landing.status == 303,
                    "the return is accepted: {landing:?}"
                );
                landings.push(landing);
                let (status, next) = h.view(&id).await;
                assert_eq!(status, 200);
                view = next;
            }
            other => panic!("unexpected next {other:?}: {view}"),
        }
        steps += 1;
    }
    panic!("the payment did not finish: {view}");
}

/// A notification to `backend`'s dLocal webhook as dLocal sends one: `X-Date` for
/// `sent_ms`, `X-Login`, and the HMAC over both and the body with `secret`.
pub fn dlocal_notification(
    backend: &str,
    body: &str,
    sent_ms: u64,
    secret: &threeds_bridge::provider::Secret,
) -> reqwest::RequestBuilder {
    let login = dlocal::Config::sandbox("").x_login;
    let date = dlocal::x_date(sent_ms);
    let signature = dlocal::signature(secret, &login, &date, body.as_bytes());
    browser()
        .post(format!("{backend}/v1/webhooks/dlocal"))
        .header("X-Date", date)
        .header("X-Login", login)
        .header(
            "Authorization",
            format!("V2-HMAC-SHA256, Signature: {signature}"),
        )
        .header("Content-Type", "application/json")
        .body(body.to_owned())
}
