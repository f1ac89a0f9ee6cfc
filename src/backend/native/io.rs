//! The native host's IO for the core: provider calls over reqwest, and the system's
//! clock, randomness and timer.

use std::time::Duration;

use crate::backend::config::CallPolicy;
use crate::backend::host::{Env, Transport};
use crate::backend::Backend;
use crate::provider::{
    answer_text, HttpMethod, HttpRequest, HttpResponse, TransportFailure, MAX_ANSWER_BYTES,
};

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
