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
use crate::emv::ThreeDsCompInd;

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

    /// `POST /v1/payments/{id}/confirm` with the request as the page built it (it
    /// carries the client secret).
    pub async fn confirm(
        &self,
        secret: &ClientSecret,
        request: &JsValue,
        abort: &AbortSignal,
    ) -> Result<PaymentView, BridgeError> {
        self.send(secret, "/confirm", request, abort).await
    }

    /// `GET /v1/payments/{id}`: the page's view of its payment.
    pub async fn read(
        &self,
        secret: &ClientSecret,
        abort: &AbortSignal,
    ) -> Result<PaymentView, BridgeError> {
        self.send(secret, "", &JsValue::UNDEFINED, abort).await
    }

    /// `POST /v1/payments/{id}/method` with how the 3DS Method went.
    pub async fn report_method(
        &self,
        secret: &ClientSecret,
        completion: ThreeDsCompInd,
        abort: &AbortSignal,
    ) -> Result<PaymentView, BridgeError> {
        // Both values are checked ASCII (hex, `_`, one letter): nothing to escape.
        let body = [
            "{\"clientSecret\":\"",
            secret.as_str(),
            "\",\"completion\":\"",
            completion.as_str(),
            "\"}",
        ]
        .concat();
        self.send(secret, "/method", &body.into(), abort).await
    }

    /// A `POST` of `body` (JSON text, or an object to stringify) to
    /// `/v1/payments/{id}{path}`, or a `GET` when `body` is undefined; either way with
    /// `X-Client-Secret` (what the reads need; the POSTs carry the secret in their bodies
    /// as well, as the API asks).
    async fn send(
        &self,
        secret: &ClientSecret,
        path: &str,
        body: &JsValue,
        abort: &AbortSignal,
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
