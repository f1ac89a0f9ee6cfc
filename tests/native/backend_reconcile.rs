//! Money calls that outlive their request, and payments in doubt (#13): a client that
//! hangs up mid-call leaves the call to finish (finding 3); a payment whose money call
//! lost its answer is `unknown` to the merchant and the page, and is settled by a lookup,
//! whether the merchant asks (`POST /v1/payments/{id}/reconcile`), the server's
//! reconciler sweeps, or an operator runs `threeds-bridge reconcile` (reconcile_cli.rs).
//! What the backend can do nothing for (its provider is no longer configured) does not
//! stop a sweep: backend_reconcile_sweep.rs, on this file's stand.
//!
//! The lookups here are a stand-in adapter's (`InDoubt`: its money call's answer is
//! always lost, and its lookup answers what the test says the provider did), so each
//! test decides the provider's truth; the providers' own lookups are theirs to test.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use support::backend::{harness, split_start, start_body, CHECKOUT, MERCHANT_KEY};
use support::browser;
use threeds_bridge::backend::auth::ApiKey;
use threeds_bridge::backend::config::{
    BackendConfig, CallPolicy, ProvidersConfig, ReconcilePolicy,
};
use threeds_bridge::backend::native::{self, ReqwestTransport, RunningBackend, SystemEnv};
use threeds_bridge::backend::{Backend, Env, Providers, Registered};
use threeds_bridge::emv::ThreeDsCompInd;
use threeds_bridge::payment::{
    PaymentResult, PaymentStart, PaymentStatus, ProviderKind, ResultCode,
};
use threeds_bridge::provider::lifecycle::{
    Operation, OperationAnswer, OperationCall, OperationError, OperationErrorCode, OperationResult,
    OperationStep,
};
use threeds_bridge::provider::{
    Adapter, BrowserReturn, Context, HttpRequest, HttpResponse, ReturnRefused, Step,
    TransportFailure,
};
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::session::{AdapterState, Phase, Session};
use threeds_bridge::store::memory::MemoryStore;
use threeds_bridge::store::SessionStore;

const FRICTIONLESS: &str = "4000000000001000";

// --- finding 3: a client that hangs up -----------------------------------------------

/// The page sends the confirm and hangs up while the provider is still charging (the
/// sale answers after a delay within the call timeout). The provider finishes the charge
/// whatever the client does; so must the backend: the payment ends authorized, charged
/// once, not left in `calling` to end `error` later.
#[tokio::test]
async fn a_client_that_hangs_up_leaves_the_call_to_finish() {
    let h = harness().await;
    let sale_ms = h.policy.timeout_ms * 2 / 3;
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Paysafe),
        endpoint: Some("/cardpayments".into()),
        latency_ms: sale_ms,
        ..Default::default()
    }]);
    let (create, mut confirm) = split_start(&start_body("paysafe", FRICTIONLESS, "iframe"));
    let (status, created) = h.create(&create).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    confirm["clientSecret"] = created["clientSecret"].clone();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(sale_ms / 3))
        .build()
        .expect("client");
    let hung_up = impatient
        .post(format!("{}/v1/payments/{id}/confirm", h.url))
        .header("Origin", CHECKOUT)
        .header("Accept", "text/html")
        .json(&confirm)
        .send()
        .await;
    assert!(
        hung_up.as_ref().is_err_and(reqwest::Error::is_timeout),
        "the client gave up before the answer: {hung_up:?}"
    );
    // The page's next read learns the result.
    let view = h
        .final_merchant_view(&id, Duration::from_millis(h.policy.lease_ms() + 2_000))
        .await;
    assert_eq!(view["status"], "authorized", "{view}");
    assert_eq!(h.ledger("paysafe").len(), 1, "charged once");
}

// --- a stand-in provider whose money call's answer is always lost ---------------------

/// What the stand-in provider did with the money call: unknown to it until the test says.
#[derive(Clone, Default)]
struct Truth(Arc<Mutex<Option<PaymentResult>>>);

impl Truth {
    fn set(&self, result: PaymentResult) {
        *self.0.lock().unwrap() = Some(result);
    }

    fn get(&self) -> Option<PaymentResult> {
        self.0.lock().unwrap().clone()
    }
}

fn authorized(id: &str) -> PaymentResult {
    PaymentResult {
        status: PaymentStatus::Authorized,
        provider_payment_id: Some(id.to_owned()),
        three_ds_version: Some("2.2.0".into()),
        trans_status: None,
        eci: None,
        liability_shift: true,
        trans_status_reason: None,
        error: None,
    }
}

/// An adapter whose payment falls into doubt at once (its charge's answer "lost"), and
/// whose lookup answers [`Truth`]: nothing known yet (still in doubt) or the result.
struct InDoubt(Truth);

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Sent {
    Charge,
}

impl Adapter for InDoubt {
    type State = Sent;

    fn start(&self, _: &PaymentStart, _: &Context) -> Step<Sent> {
        Step::Unknown {
            state: Sent::Charge,
        }
    }

    fn on_response(
        &self,
        state: Sent,
        _: Result<HttpResponse, TransportFailure>,
        _: &Context,
    ) -> Step<Sent> {
        Step::Unknown { state }
    }

    fn reconcile(&self, state: Sent, _: &Context) -> Step<Sent> {
        match self.0.get() {
            Some(result) => Step::Done(result),
            None => Step::Unknown { state },
        }
    }

    fn on_browser_return(
        &self,
        _: Sent,
        _: &BrowserReturn,
        _: &Context,
    ) -> Result<Step<Sent>, ReturnRefused> {
        Err(refused())
    }

    fn verify_browser_return(
        &self,
        _: &Sent,
        _: &BrowserReturn,
        _: &Context,
    ) -> Result<(), ReturnRefused> {
        Err(refused())
    }

    fn on_method_completed(&self, state: Sent, _: ThreeDsCompInd, _: &Context) -> Step<Sent> {
        Step::Unknown { state }
    }

    /// A capture, void or refund the provider takes and finishes later (`pending`, with
    /// its id), whose lookup then finds nothing of it ("never made"). Its calls go to the
    /// backend's own return route: any answer will do.
    fn operation(&self, _: &Operation, cx: &Context) -> Result<OperationStep, OperationError> {
        Ok(OperationStep::Call {
            call: OperationCall::Send,
            request: HttpRequest::get(cx.return_url(), "stand.operation"),
        })
    }

    fn on_operation_response(
        &self,
        _: &Operation,
        call: OperationCall,
        _: OperationAnswer,
        _: &Context,
    ) -> OperationStep {
        OperationStep::Done(match call {
            OperationCall::Lookup => {
                OperationResult::Refused(OperationError::new(OperationErrorCode::ProviderTimeout))
            }
            _ => OperationResult::Pending {
                provider_operation_id: "OP-1".into(),
            },
        })
    }

    fn operation_lookup(&self, _: &Operation, cx: &Context) -> OperationStep {
        OperationStep::Call {
            call: OperationCall::Lookup,
            request: HttpRequest::get(cx.return_url(), "stand.operation.lookup"),
        }
    }
}

fn refused() -> ReturnRefused {
    ReturnRefused {
        code: "unexpected_return",
        message: "no browser step",
    }
}

/// A backend over `store` whose one provider (registered as Paysafe) is [`InDoubt`].
pub(crate) struct Stand {
    pub(crate) backend: Arc<Backend<MemoryStore, ReqwestTransport, SystemEnv>>,
    running: RunningBackend,
    pub(crate) store: Arc<MemoryStore>,
    truth: Truth,
}

fn stand_config(url: &str, ttl_seconds: u64, reconcile: ReconcilePolicy) -> BackendConfig {
    BackendConfig {
        public_url: url.to_owned(),
        checkout_origins: vec![CHECKOUT.to_owned()],
        merchant_api_keys: vec![ApiKey::new(MERCHANT_KEY)],
        max_confirm_attempts: 3,
        session_ttl_seconds: ttl_seconds,
        calls: CallPolicy::default(),
        reconcile,
        providers: ProvidersConfig::default(),
        webhooks: Default::default(),
    }
}

pub(crate) async fn stand(ttl_seconds: u64, reconcile: ReconcilePolicy) -> Stand {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let truth = Truth::default();
    let providers = Providers::default().with(Registered::new(
        ProviderKind::Paysafe,
        InDoubt(truth.clone()),
    ));
    let store = Arc::new(MemoryStore::default());
    let config = stand_config(&url, ttl_seconds, reconcile);
    let transport = ReqwestTransport::new(&config.calls).expect("transport");
    let backend = Arc::new(Backend::with_providers(
        config,
        providers,
        store.clone(),
        transport,
        SystemEnv,
    ));
    let running = native::spawn(listener, backend.clone()).expect("serve");
    Stand {
        backend,
        running,
        store,
        truth,
    }
}

impl Stand {
    pub(crate) fn url(&self) -> &str {
        &self.running.url
    }

    /// A payment created and confirmed: its id and the confirm's view.
    pub(crate) async fn pay(&self) -> (String, Value) {
        let (status, view, _) =
            support::backend::start_at(self.url(), &start_body("paysafe", FRICTIONLESS, "iframe"))
                .await;
        assert_eq!(status, 200, "{view}");
        (view["id"].as_str().expect("id").to_owned(), view)
    }

    /// A payment the stand-in provider authorized (its charge in doubt, then looked up):
    /// its id.
    pub(crate) async fn authorized_payment(&self) -> String {
        let (id, _) = self.pay().await;
        self.truth.set(authorized("PSP-1"));
        let (status, view) = self.reconcile(&id, Some(MERCHANT_KEY)).await;
        assert_eq!(
            (status, &view["status"]),
            (200, &json!("authorized")),
            "{view}"
        );
        id
    }

    pub(crate) async fn reconcile(&self, id: &str, key: Option<&str>) -> (u16, Value) {
        let request = browser().post(format!("{}/v1/payments/{id}/reconcile", self.url()));
        let request = match key {
            Some(key) => request.bearer_auth(key),
            None => request,
        };
        let response = request.send().await.expect("reconcile");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn stored(&self, id: &str) -> Session {
        self.store.load(id).await.expect("load").expect("stored")
    }
}

/// Lookups due at once, a lookup that finds nothing believed at once, and a sweep every
/// 50 ms.
pub(crate) fn eager() -> ReconcilePolicy {
    ReconcilePolicy {
        first_lookup_ms: 0,
        max_lookup_ms: 60_000,
        not_found_after_ms: 0,
        sweep_every_ms: 50,
    }
}

/// Lookups due only after a minute: nothing settles by itself during a test.
pub(crate) fn patient() -> ReconcilePolicy {
    ReconcilePolicy {
        first_lookup_ms: 60_000,
        max_lookup_ms: 60_000,
        sweep_every_ms: 60_000,
        ..Default::default()
    }
}

// --- the payment in doubt as the merchant and the page see it -------------------------

/// A payment whose money call lost its answer is `unknown`, pending, with nothing for
/// the browser to do; it does not expire into an error, and a lookup that finds nothing
/// yet leaves it so. The merchant's reconcile settles it with the provider's truth.
#[tokio::test]
async fn the_merchant_reconciles_a_payment_in_doubt() {
    let s = stand(600, patient()).await;
    let (id, confirmed) = s.pay().await;
    assert_eq!(confirmed["status"], "unknown", "{confirmed}");
    assert_eq!(confirmed["state"], "pending");
    assert_eq!(confirmed["next"], json!({"type": "none"}));
    assert_eq!(confirmed["result"], Value::Null);

    let (status, view) = s.reconcile(&id, Some(MERCHANT_KEY)).await;
    assert_eq!(
        (status, &view["status"]),
        (200, &json!("unknown")),
        "{view}"
    );
    assert!(
        view["clientSecret"].is_string(),
        "the merchant's view: {view}"
    );
    let Phase::Unknown { lookups, .. } = s.stored(&id).await.phase else {
        panic!("still in doubt");
    };
    assert_eq!(lookups, 1, "the lookup ran, found nothing, and was counted");

    s.truth.set(authorized("PSP-1"));
    let (status, view) = s.reconcile(&id, Some(MERCHANT_KEY)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "authorized", "{view}");
    assert_eq!(view["result"]["providerPaymentId"], "PSP-1");
    // Final stays final: a later reconcile answers the same.
    let (_, again) = s.reconcile(&id, Some(MERCHANT_KEY)).await;
    assert_eq!(again["status"], "authorized");
}

/// Reconcile is the merchant's: the page's secret, no key or a wrong key is 401 and
/// looks nothing up; an unknown or malformed id is 404; a payment not in doubt is only
/// brought up to date (a created one stays as it is).
#[tokio::test]
async fn reconcile_is_for_the_merchant_only() {
    let s = stand(600, patient()).await;
    let (id, _) = s.pay().await;
    s.truth.set(authorized("PSP-2"));
    for (key, code) in [
        (None, "missing_api_key"),
        (Some("not-the-merchant-key-0123"), "invalid_api_key"),
    ] {
        let (status, body) = s.reconcile(&id, key).await;
        assert_eq!((status, &body["error"]["code"]), (401, &json!(code)));
    }
    let secret = s.stored(&id).await.client_secret;
    let page = browser()
        .post(format!("{}/v1/payments/{id}/reconcile", s.url()))
        .header("Origin", CHECKOUT)
        .header("X-Client-Secret", &secret)
        .json(&json!({ "clientSecret": secret }))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 401);
    assert!(
        matches!(s.stored(&id).await.phase, Phase::Unknown { lookups: 0, .. }),
        "no refused request looked the payment up"
    );
    for nobody in ["0".repeat(32), "not-an-id".to_owned()] {
        let (status, body) = s.reconcile(&nobody, Some(MERCHANT_KEY)).await;
        assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")));
    }
    let (create, _) = split_start(&start_body("paysafe", FRICTIONLESS, "iframe"));
    let created = browser()
        .post(format!("{}/v1/payments", s.url()))
        .bearer_auth(MERCHANT_KEY)
        .json(&create)
        .send()
        .await
        .expect("create")
        .json::<Value>()
        .await
        .expect("view");
    let fresh = created["id"].as_str().expect("id");
    let (status, view) = s.reconcile(fresh, Some(MERCHANT_KEY)).await;
    assert_eq!(
        (status, &view["status"]),
        (200, &json!("requires_confirmation"))
    );
}

// --- the reconciler ------------------------------------------------------------------

/// The server's reconciler settles a payment in doubt once the provider knows, and ends
/// an expired session, with no request from anyone: the store says so before any read.
#[tokio::test]
async fn the_reconciler_settles_without_a_request() {
    let s = stand(2, eager()).await;
    let reconciler = native::spawn_reconciler(s.backend.clone());
    let (doubt, _) = s.pay().await;
    let (create, _) = split_start(&start_body("paysafe", FRICTIONLESS, "iframe"));
    let (_, created) = support::backend::create_at(s.url(), &create).await;
    let idle = created["id"].as_str().expect("id").to_owned();

    // Looked up by the reconciler with no request, and still in doubt (backed off, not
    // failed): the stored lookups count says a lookup was made.
    let looked_up = until(Duration::from_secs(5), || async {
        match s.stored(&doubt).await.phase {
            Phase::Unknown { lookups, .. } if lookups >= 1 => Some(lookups),
            _ => None,
        }
    })
    .await;
    assert!(
        looked_up.is_some(),
        "nothing known yet: still in doubt, looked up and backed off"
    );
    s.truth.set(authorized("PSP-3"));
    let settled = until(Duration::from_secs(5), || async {
        let session = s.stored(&doubt).await;
        session.phase.is_final().then_some(session)
    })
    .await
    .expect("the reconciler settled the payment in doubt");
    assert_eq!(
        settled.result().expect("result").status,
        PaymentStatus::Authorized
    );
    // The idle payment expires after 2 s; the reconciler ends it.
    let expired = until(Duration::from_secs(5), || async {
        let session = s.stored(&idle).await;
        session.phase.is_final().then_some(session)
    })
    .await
    .expect("the reconciler ended the expired session");
    let error = expired
        .result()
        .and_then(|r| r.error.clone())
        .expect("error");
    assert_eq!(error.code, ResultCode::SessionExpired);
    reconciler.stop().await;
}

/// `check` until it answers something, at most `within`.
async fn until<T, F, Fut>(within: Duration, check: F) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `threeds_bridge_reconcile_backlog` counts what is in doubt in the store after every
/// sweep, not what that sweep looked at: a doubt is due for a lookup only minutes apart,
/// and the gauge read 0 between (so the documented alert, backlog above 0 for longer than
/// `max_lookup_ms`, could never fire).
#[tokio::test]
async fn the_backlog_gauge_counts_every_payment_in_doubt_after_each_sweep() {
    use threeds_bridge::backend::native::metrics::Metrics;
    let now = SystemEnv.now_ms();
    let store = Arc::new(MemoryStore::default());
    let mut doubt = stored_session(1, ProviderKind::Paysafe, in_doubt_since(now), now);
    if let Phase::Unknown {
        next_lookup_at_ms, ..
    } = &mut doubt.phase
    {
        *next_lookup_at_ms = now + 60_000;
    }
    store
        .create(&doubt.with_wake_at(60_000))
        .await
        .expect("create");
    let metrics = Arc::new(Metrics::new());
    let config = stand_config("http://127.0.0.1:9", 600, patient());
    let transport = ReqwestTransport::new(&config.calls).expect("transport");
    let providers = Providers::default().with(Registered::new(
        ProviderKind::Paysafe,
        InDoubt(Truth::default()),
    ));
    let backend = Backend::with_providers(config, providers, store, transport, SystemEnv)
        .observed_by(metrics.clone());
    let swept = backend.sweep_all(10).await.expect("sweep");
    assert_eq!(swept.looked_at, 0, "its next lookup is a minute away");
    let text = metrics.encode();
    assert!(
        text.lines()
            .any(|l| l == "threeds_bridge_reconcile_backlog 1"),
        "{text}"
    );
}

/// A server shutting down waits for the session its sweep is on, not for every one due:
/// told to stop, the sweep looks at no other (`sweep_all_until`, which the reconciler
/// runs); the next sweep takes the rest.
#[tokio::test]
async fn a_sweep_told_to_stop_looks_at_no_other_session() {
    let s = stand(600, patient()).await;
    let now = SystemEnv.now_ms();
    let sessions: Vec<Session> = (1..=3)
        .map(|n| stored_session(n, ProviderKind::Paysafe, Phase::Created, now))
        .collect();
    for session in &sessions {
        s.store.create(session).await.expect("create");
    }
    // The stop comes while the first session is swept.
    let asked = std::cell::Cell::new(0);
    let stopping = || {
        asked.set(asked.get() + 1);
        asked.get() > 1
    };
    let swept = s
        .backend
        .sweep_all_until(10, stopping)
        .await
        .expect("sweep");
    assert_eq!(swept.looked_at, 1, "{swept:?}");
    let mut left = 0;
    for session in &sessions {
        left += usize::from(!s.stored(&session.id).await.phase.is_final());
    }
    assert_eq!(left, 2, "two sessions left for the next sweep");
    assert_eq!(s.backend.sweep_all(10).await.expect("sweep").looked_at, 2);
}

// --- sessions the backend can do nothing for ------------------------------------------

/// A stored session, as the core writes them, for a provider of the test's choosing.
pub(crate) fn stored_session(n: u32, provider: ProviderKind, phase: Phase, now: u64) -> Session {
    let mut session: Session = serde_json::from_value(json!({
        "id": format!("{n:032x}"),
        "nonce": "1".repeat(32),
        "client_secret": format!("{n:032x}_secret_{}", "2".repeat(32)),
        "provider": provider,
        "order_id": format!("order-{n}"),
        "amount": 1250,
        "currency": "USD",
        "checkout_origin": CHECKOUT,
        "display": "iframe",
        "card": null,
        "created_at_ms": now - 10_000,
        "expires_at_ms": now - 5_000,
        "updated_at_ms": now - 10_000,
        "version": 3,
        "phase": { "phase": "created" },
    }))
    .expect("a session");
    session.phase = phase;
    session.with_wake_at(1_000)
}

pub(crate) fn in_doubt_since(now: u64) -> Phase {
    Phase::Unknown {
        state: AdapterState(json!({ "step": "sale" })),
        purpose: "bambora.payment".into(),
        lookups: 2,
        next_lookup_at_ms: now - 1_000,
        since_ms: now - 5_000,
    }
}
