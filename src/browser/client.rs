//! The page's calls of the backend's HTTP API (docs/openapi.yaml): confirm a payment,
//! report its 3DS Method, read its page view. Each call is one payment's and presents its
//! client secret. The call itself (the global `fetch`, the page's `JSON`, the deadline,
//! following the payment's AbortSignal, the backend's `{"error": {"code", "message"}}`)
//! is dom.js's `backendCall`: written in JavaScript it is a few hundred bytes, where the
//! same in Rust cost the module 5 KB of async state machine. What comes back is checked
//! here: anything that is not a Payment view is `bad_response`.

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use super::dom::backend_call;
use super::view::{ClientSecret, PaymentView};
use super::BridgeError;

/// How long one backend call may take. The backend may run several provider calls (and
/// their retries) before it answers, so this is generous.
pub const REQUEST_TIMEOUT_MS: u32 = 60_000;

/// The backend, by its public URL.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The public URL without query, hash or trailing slash.
    base: String,
    /// `scheme://host:port`: what completion messages must come from.
    origin: String,
}

impl Backend {
    /// The backend at `base` (an absolute http(s) URL without query, hash or trailing
    /// slash, as dom.js's `readOptions` made it from `backendUrl`), whose origin is `origin`.
    pub fn new(base: String, origin: String) -> Backend {
        Backend { base, origin }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A `POST` of `body` (JSON text, or an object to stringify) to
    /// `/v1/payments/{id}{path}` (`/confirm` with the request as the page built it,
    /// `/method` with how the 3DS Method went), or a `GET` of the page's view of its
    /// payment when `body` is undefined; either way with
    /// `X-Client-Secret` (what the reads need; the POSTs carry the secret in their bodies
    /// as well, as the API asks). Aborted by `abort`, when given, and by its deadline.
    pub async fn send(
        &self,
        secret: &ClientSecret,
        path: &str,
        body: &JsValue,
        abort: Option<&AbortSignal>,
    ) -> Result<PaymentView, BridgeError> {
        let call = backend_call(
            &self.base,
            secret.as_str(),
            path,
            body,
            abort,
            REQUEST_TIMEOUT_MS,
        );
        let json = JsFuture::from(call)
            .await
            .map_err(|error| BridgeError::from_js(&error, BridgeError::NETWORK))?;
        PaymentView::parse(&json)
    }
}
