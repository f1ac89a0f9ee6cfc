//! The demo's "what happened" panel: every HTTP exchange between the backend and the
//! provider sandbox, filed under the payment (provider + order id) it was made for.
//!
//! The backend core sends provider calls through a [`Transport`] and knows nothing of
//! this: [`RecordingTransport`] wraps the real one and notes each exchange in the buffer
//! of the incoming request being handled (a tokio task-local that [`record`], the
//! middleware around the backend's routes, sets around the request's handling task with
//! a `TaskScope`). When the backend has answered, the
//! middleware works out which payment the request was about and files the exchanges.
//! Only the demo does this, and only against the sandbox: bodies are masked ([`mask`]),
//! headers (credentials) are never kept.
//!
//! The page reads them with its payment's client secret ([`for_client_secret`]): a
//! payment id or an order id is not a secret, so neither shows anyone the calls.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

use super::mask;
use crate::backend::native::sqlite::SqliteStore;
use crate::backend::native::TaskScope;
use crate::backend::{auth, ApiError, Transport, MAX_BODY_BYTES};
use crate::provider::{HttpMethod, HttpRequest, HttpResponse, TransportFailure};
use crate::store::SessionStore;

/// Payments whose exchanges are kept; the oldest go first.
const KEPT_PAYMENTS: usize = 500;
/// Exchanges kept per payment.
const KEPT_PER_PAYMENT: usize = 100;

/// One backend → sandbox call, as the page may see it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    /// Unix time in milliseconds when the request left.
    pub started_at_ms: u64,
    /// What the adapter called it (`payroc.sale`).
    pub purpose: &'static str,
    pub method: &'static str,
    /// Path and query under the sandbox's origin (the full URL for any other host).
    pub path: String,
    pub status: Option<u16>,
    /// `timeout` or `connection` when no answer came.
    pub failure: Option<&'static str>,
    pub duration_ms: u64,
    pub request_body: String,
    pub response_body: String,
}

/// Which payment exchanges belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentKey {
    pub provider: String,
    pub order_id: String,
}

/// Exchanges by payment, bounded.
#[derive(Debug, Default)]
pub struct ExchangeLog {
    payments: Mutex<VecDeque<(PaymentKey, Vec<Exchange>)>>,
}

impl ExchangeLog {
    pub fn add(&self, key: PaymentKey, exchanges: Vec<Exchange>) {
        let mut payments = lock(&self.payments);
        let position = payments.iter().position(|(k, _)| *k == key);
        let entry = match position {
            Some(i) => &mut payments[i].1,
            None => {
                if payments.len() >= KEPT_PAYMENTS {
                    payments.pop_front();
                }
                payments.push_back((key, Vec::new()));
                &mut payments.back_mut().expect("just pushed").1
            }
        };
        entry.extend(exchanges);
        let excess = entry.len().saturating_sub(KEPT_PER_PAYMENT);
        entry.drain(..excess);
    }

    pub fn of(&self, provider: &str, order_id: &str) -> Vec<Exchange> {
        lock(&self.payments)
            .iter()
            .find(|(k, _)| k.provider == provider && k.order_id == order_id)
            .map(|(_, exchanges)| exchanges.clone())
            .unwrap_or_default()
    }

    /// The known payment whose order id appears in `text` (a return's query, a webhook's
    /// body), newest first.
    fn mentioned_in(&self, texts: &[&str]) -> Option<PaymentKey> {
        lock(&self.payments)
            .iter()
            .rev()
            .find(|(k, _)| texts.iter().any(|t| t.contains(k.order_id.as_str())))
            .map(|(k, _)| k.clone())
    }
}

/// The exchanges of the payment whose client secret the page `presented`: its id is the
/// secret's part before `_secret_`, and the secret must be that payment's (compared as the
/// backend compares it, in constant time). Missing: `missing_client_secret`; anything
/// else, including a payment that does not exist: `invalid_client_secret`.
pub async fn for_client_secret(
    log: &ExchangeLog,
    store: &SqliteStore,
    presented: Option<&str>,
) -> Result<Vec<Exchange>, ApiError> {
    let id = presented
        .and_then(|secret| secret.split_once("_secret_"))
        .map(|(id, _)| id)
        .filter(|id| is_session_id(id));
    let session = match id {
        Some(id) => store.load(id).await.map_err(|e| ApiError::store(&e))?,
        None => None,
    };
    match session {
        Some(session) => {
            auth::page(presented, &session.client_secret)?;
            Ok(log.of(session.provider.as_str(), &session.order_id))
        }
        // No payment: "" is nobody's secret, so this is always the refusal.
        None => auth::page(presented, "").map(|()| Vec::new()),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Buffer = Arc<Mutex<Vec<Exchange>>>;

tokio::task_local! {
    /// The exchanges of the incoming request being handled on this task.
    static CURRENT: Buffer;
}

/// A [`Transport`] that notes every exchange in the current request's buffer.
pub struct RecordingTransport<T> {
    inner: T,
    sandbox_url: String,
}

impl<T> RecordingTransport<T> {
    pub fn new(inner: T, sandbox_url: &str) -> RecordingTransport<T> {
        RecordingTransport {
            inner,
            sandbox_url: sandbox_url.trim_end_matches('/').to_owned(),
        }
    }
}

impl<T: Transport> Transport for RecordingTransport<T> {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let started_at_ms = now_ms();
        let clock = Instant::now();
        let outcome = self.inner.send(request).await;
        let duration_ms = clock.elapsed().as_millis() as u64;
        let exchange = Exchange {
            started_at_ms,
            purpose: request.purpose,
            method: match request.method {
                HttpMethod::Get => "GET",
                HttpMethod::Post => "POST",
            },
            path: mask::path(
                request
                    .url
                    .strip_prefix(&self.sandbox_url)
                    .unwrap_or(&request.url),
            ),
            status: outcome.as_ref().ok().map(|r| r.status),
            failure: match &outcome {
                Ok(_) => None,
                Err(TransportFailure::Timeout) => Some("timeout"),
                Err(TransportFailure::Connection(_)) => Some("connection"),
            },
            duration_ms,
            request_body: mask::body(request.body.as_deref().unwrap_or_default()),
            response_body: outcome
                .as_ref()
                .map(|r| mask::body(&r.body))
                .unwrap_or_default(),
        };
        // Outside a request (none today) there is no payment to file it under.
        let _ = CURRENT.try_with(|buffer| lock(buffer).push(exchange));
        outcome
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// What the middleware needs: the log, and the store to find a session's payment.
#[derive(Clone)]
pub struct Recorder {
    pub log: Arc<ExchangeLog>,
    pub store: Arc<SqliteStore>,
}

/// Middleware around the backend's routes: runs the request with a fresh buffer, then
/// files what the backend sent under the payment the request was about.
pub async fn record(State(recorder): State<Recorder>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    // The backend refuses anything over the limit; one byte more says "too long".
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES + 1)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_else(|_| vec![0; MAX_BODY_BYTES + 1]);
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let mut request = Request::from_parts(parts, Body::from(bytes.clone()));
    let buffer: Buffer = Arc::default();
    // A request whose client hangs up runs on in a task of its own (it must not cancel a
    // provider call): the buffer goes there with it.
    let scoped = buffer.clone();
    request.extensions_mut().insert(TaskScope::new(move |work| {
        Box::pin(CURRENT.scope(scoped.clone(), work))
    }));
    let response = next.run(request).await;
    let exchanges = std::mem::take(&mut *lock(&buffer));
    if !exchanges.is_empty() {
        let body = String::from_utf8_lossy(&bytes);
        if let Some(key) = recorder.payment_of(&path, &query, &body, &exchanges).await {
            recorder.log.add(key, exchanges);
        }
    }
    response
}

impl Recorder {
    /// The payment a request to the backend was about: a create's own body (a create calls
    /// no provider today), the session id in the path (confirm, Method, reads, returns),
    /// or else an order id the request or its calls mention.
    async fn payment_of(
        &self,
        path: &str,
        query: &str,
        body: &str,
        exchanges: &[Exchange],
    ) -> Option<PaymentKey> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        match segments.as_slice() {
            ["v1", "payments"] => {
                #[derive(serde::Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Start {
                    provider: String,
                    order_id: String,
                }
                let start: Start = serde_json::from_str(body).ok()?;
                return Some(PaymentKey {
                    provider: start.provider,
                    order_id: start.order_id,
                });
            }
            ["v1", "payments", id, ..] | ["v1", "returns", id] if is_session_id(id) => {
                if let Ok(Some(session)) = self.store.load(id).await {
                    return Some(PaymentKey {
                        provider: session.provider.as_str().to_owned(),
                        order_id: session.order_id.into(),
                    });
                }
            }
            _ => {}
        }
        let mut texts = vec![query, body];
        texts.extend(exchanges.iter().map(|e| e.path.as_str()));
        texts.extend(exchanges.iter().map(|e| e.request_body.as_str()));
        self.log.mentioned_in(&texts)
    }
}

fn is_session_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(purpose: &'static str) -> Exchange {
        Exchange {
            started_at_ms: 0,
            purpose,
            method: "GET",
            path: "/x".into(),
            status: Some(200),
            failure: None,
            duration_ms: 1,
            request_body: String::new(),
            response_body: String::new(),
        }
    }

    fn key(order: &str) -> PaymentKey {
        PaymentKey {
            provider: "dlocal".into(),
            order_id: order.into(),
        }
    }

    #[test]
    fn filed_by_payment_and_bounded() {
        let log = ExchangeLog::default();
        log.add(key("o-1"), vec![exchange("a")]);
        log.add(key("o-2"), vec![exchange("b")]);
        log.add(key("o-1"), vec![exchange("c")]);
        let purposes: Vec<_> = log.of("dlocal", "o-1").iter().map(|e| e.purpose).collect();
        assert_eq!(purposes, ["a", "c"]);
        assert!(log.of("payroc", "o-1").is_empty());
        log.add(key("o-3"), vec![exchange("x"); KEPT_PER_PAYMENT + 5]);
        assert_eq!(log.of("dlocal", "o-3").len(), KEPT_PER_PAYMENT);
        for i in 0..KEPT_PAYMENTS {
            log.add(key(&format!("n-{i}")), vec![exchange("n")]);
        }
        assert!(log.of("dlocal", "o-1").is_empty(), "oldest payment dropped");
        assert_eq!(
            log.mentioned_in(&["orderId=n-7&x=1"]).map(|k| k.order_id),
            Some("n-7".to_owned())
        );
    }
}
