//! Why the edge worker keeps sessions in a Durable Object and not in Workers KV
//! (docs/edge.md). KV has no compare-and-set: the best a KV-backed store can do is read,
//! compare in the reader, and write unconditionally, with the write's latency in between
//! (KV writes travel to a central store; a read elsewhere may even be a minute old). Here
//! the same backend core runs over such a store against the sandbox:
//! - one challenge return delivered twice at once (a double submit, a retried POST): both
//!   deliveries win the step and both send the authorization;
//! - one Bambora payment, created by the merchant's server, confirmed twice at once by
//!   the page (a double click): both confirms find it unconfirmed, both win the move to
//!   Starting, and Bambora — which has no idempotency key — charges the card twice.
//!
//! Over a compare-and-set store (as SqliteStore and the Durable Object are) the second
//! actor loses, and the card is charged once. The payments are created with the
//! merchant's API key and confirmed with their client secret, as contract.md has it.

use crate::support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use support::backend::{next_form, quick_policy, CHECKOUT, MERCHANT_KEY};
use support::browser;
use support::cardholder::{until_backend, Cardholder};
use support::recording::Recording;
use threeds_bridge::backend::auth::ApiKey;
use threeds_bridge::backend::config::{BackendConfig, ProvidersConfig};
use threeds_bridge::backend::native::{self, ReqwestTransport, RunningBackend, SystemEnv};
use threeds_bridge::backend::Backend;
use threeds_bridge::payment::ProviderKind;
use threeds_bridge::provider::{bambora, paysafe};
use threeds_bridge::sandbox::RunningSandbox;
use threeds_bridge::session::Session;
use threeds_bridge::store::memory::MemoryStore;
use threeds_bridge::store::{SessionStore, StoreError};

/// Sessions with Workers KV's semantics: get, put, no condition on the put.
#[derive(Default)]
struct KvLikeStore {
    values: Mutex<HashMap<String, Session>>,
}

/// What a KV write costs before another reader can see it (tens of milliseconds in one
/// location; up to 60 s for readers elsewhere).
const KV_WRITE_LATENCY: Duration = Duration::from_millis(150);

impl KvLikeStore {
    fn get(&self, id: &str) -> Option<Session> {
        self.values.lock().unwrap().get(id).cloned()
    }
}

/// KV keeps no operations either: the trait's defaults answer `Unavailable`.
impl threeds_bridge::store::operations::OperationStore for KvLikeStore {}

impl SessionStore for KvLikeStore {
    /// "Is the order taken?" in the reader, then a put that lands later.
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let taken = self.values.lock().unwrap().values().any(|s| {
            s.id == session.id || (s.provider == session.provider && s.order_id == session.order_id)
        });
        if taken {
            return Err(StoreError::Duplicate);
        }
        tokio::time::sleep(KV_WRITE_LATENCY).await;
        self.values
            .lock()
            .unwrap()
            .insert(session.id.clone(), session.clone());
        Ok(())
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        Ok(self.get(id))
    }

    async fn load_by_order(
        &self,
        provider: ProviderKind,
        order_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        let values = self.values.lock().unwrap();
        Ok(values
            .values()
            .find(|s| s.provider == provider && s.order_id == order_id)
            .cloned())
    }

    /// The compare happens in the reader; the put lands later and unconditionally.
    async fn swap(&self, next: &Session) -> Result<bool, StoreError> {
        match self.get(&next.id) {
            Some(stored) if stored.version + 1 == next.version && !stored.phase.is_final() => {}
            _ => return Ok(false),
        }
        tokio::time::sleep(KV_WRITE_LATENCY).await;
        self.values
            .lock()
            .unwrap()
            .insert(next.id.clone(), next.clone());
        Ok(true)
    }

    /// A list of keys, as KV's `list` gives (this test never sweeps).
    async fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<Session>, StoreError> {
        let values = self.values.lock().unwrap();
        Ok(values
            .values()
            .filter(|s| s.wake_at_ms.is_some_and(|at| at <= now_ms))
            .take(limit)
            .cloned()
            .collect())
    }
}

/// A sandbox and a backend over `store` with every provider, its transport recording.
struct Rig {
    sandbox: RunningSandbox,
    _backend: RunningBackend,
    url: String,
    transport: Recording<ReqwestTransport>,
}

async fn rig<S>(store: S) -> Rig
where
    S: SessionStore + Send + Sync + 'static,
{
    let sandbox = support::sandbox().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = BackendConfig {
        public_url: url.clone(),
        checkout_origins: vec![CHECKOUT.to_owned()],
        merchant_api_keys: vec![ApiKey::new(MERCHANT_KEY)],
        max_confirm_attempts: 3,
        session_ttl_seconds: 600,
        calls: quick_policy(),
        reconcile: Default::default(),
        webhooks: Default::default(),
        providers: ProvidersConfig {
            paysafe: Some(paysafe::Config::sandbox(&sandbox.url)),
            bambora: Some(bambora::Config::sandbox(&sandbox.url)),
            ..ProvidersConfig::default()
        },
    };
    let transport = Recording::new(ReqwestTransport::new(&config.calls).unwrap());
    let backend = Backend::new(config, Arc::new(store), transport.clone(), SystemEnv);
    let running = native::spawn(listener, Arc::new(backend)).unwrap();
    Rig {
        sandbox,
        _backend: running,
        url,
        transport,
    }
}

/// The merchant's server creates a payment of `provider` with its key: `(id, clientSecret)`.
async fn create(url: &str, provider: &str) -> (String, String) {
    let answer = reqwest::Client::new()
        .post(format!("{url}/v1/payments"))
        .bearer_auth(MERCHANT_KEY)
        .json(&json!({
            "provider": provider,
            // 26 characters: Bambora's order_number takes at most 30.
            "orderId": format!("order-{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
            "amount": 1099,
            "currency": if provider == "bambora" { "CAD" } else { "USD" },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let created: Value = answer.json().await.unwrap();
    let field = |name: &str| created[name].as_str().unwrap().to_owned();
    (field("id"), field("clientSecret"))
}

/// The page confirms payment `id` with `pan`, as the checkout page sends it.
fn confirm(url: &str, id: &str, client_secret: &str, pan: &str) -> reqwest::RequestBuilder {
    browser()
        .post(format!("{url}/v1/payments/{id}/confirm"))
        .header("Origin", CHECKOUT)
        .header("Accept", "text/html,application/xhtml+xml")
        .header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) edge-store-test")
        .json(&json!({
            "clientSecret": client_secret,
            "paymentMethod": {"type": "card", "number": pan, "expiryMonth": 12, "expiryYear": 2040,
                              "cvv": "123", "holderName": "Jo Doe"},
            "browser": {"javaEnabled": false, "javascriptEnabled": true, "language": "en-GB",
                        "colorDepth": 24, "screenHeight": 1080, "screenWidth": 1920, "timeZone": -60,
                        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) edge-store-test"},
            "display": "iframe",
            "windowSize": "03",
            "checkoutOrigin": CHECKOUT,
        }))
}

/// How many times the authorization was sent when one Paysafe challenge return arrived
/// twice at once, with sessions in `store`.
async fn authorizations_sent_for_a_doubled_return<S>(store: S) -> usize
where
    S: SessionStore + Send + Sync + 'static,
{
    let Rig { url, transport, .. } = &rig(store).await;

    let (id, secret) = create(url, "paysafe").await;
    let view: Value = confirm(url, &id, &secret, "4000000000002008")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["next"]["type"], "challenge", "{view}");
    let back = until_backend(url, next_form(&view), Cardholder::Types("1234")).await;
    let client = browser();
    let (first, second) = tokio::join!(back.submit(&client, url), back.submit(&client, url));
    assert!(first.status().is_success() || first.status().is_redirection());
    assert!(second.status().is_success() || second.status().is_redirection());
    let sent = transport.sent();
    sent.iter().filter(|(p, _)| *p == "paysafe.auth").count()
}

/// The charges in the sandbox ledger after one Bambora payment (frictionless card) was
/// confirmed twice at once, with sessions in `store`.
async fn charges_for_a_doubled_bambora_confirm<S>(store: S) -> usize
where
    S: SessionStore + Send + Sync + 'static,
{
    let rig = rig(store).await;
    let (id, secret) = create(&rig.url, "bambora").await;
    let pan = "4012000033330026";
    let (first, second) = tokio::join!(
        confirm(&rig.url, &id, &secret, pan).send(),
        confirm(&rig.url, &id, &secret, pan).send()
    );
    for answer in [first.unwrap(), second.unwrap()] {
        assert!(answer.status().is_success(), "{}", answer.status());
    }
    rig.sandbox.sandbox.ledger.entries().len()
}

#[tokio::test]
async fn without_compare_and_set_a_doubled_return_authorizes_twice() {
    assert_eq!(
        authorizations_sent_for_a_doubled_return(KvLikeStore::default()).await,
        2,
        "both deliveries won the step and sent the authorization"
    );
}

#[tokio::test]
async fn with_compare_and_set_it_authorizes_once() {
    assert_eq!(
        authorizations_sent_for_a_doubled_return(MemoryStore::default()).await,
        1
    );
}

#[tokio::test]
async fn without_compare_and_set_a_double_click_charges_bambora_twice() {
    assert_eq!(
        charges_for_a_doubled_bambora_confirm(KvLikeStore::default()).await,
        2,
        "both confirms won the move to Starting and Bambora charged twice"
    );
}

#[tokio::test]
async fn with_compare_and_set_a_double_click_charges_once() {
    assert_eq!(
        charges_for_a_doubled_bambora_confirm(MemoryStore::default()).await,
        1
    );
}
