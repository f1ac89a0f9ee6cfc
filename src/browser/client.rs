//! The page's calls of the backend's HTTP API (docs/openapi.yaml): confirm a payment,
//! report its 3DS Method, read its page view. Each call is one payment's and presents its
//! client secret. JSON goes through the page's own `JSON`, not serde_json, and the global
//! `fetch` is called from dom.js (`backendFetch`; no HTTP client crate), to keep the
//! module small.
//!
//! Every call can be aborted (the payment's AbortSignal) and has a deadline. A JSON
//! rejection `{"error": {"code", "message"}}` becomes a [`BridgeError`] with the backend's
//! code; anything else that is not a Payment view is `bad_response`.

use js_sys::{Object, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, Url};

use super::dom::{aborted, bound_method, fetch, number, parse_json, signal, text, Listener, Timer};
use super::view::{ClientSecret, PaymentView};
use super::BridgeError;
use crate::emv::ThreeDsCompInd;

/// How long one backend call may take. The backend may run several provider calls (and
/// their retries) before it answers, so this is generous.
pub const REQUEST_TIMEOUT_MS: u32 = 60_000;

/// The abort reason that marks a call's own deadline (as opposed to the payment's signal).
const TIMEOUT_REASON: &str = "threeds-bridge:timeout";

#[wasm_bindgen]
extern "C" {
    type Response;
    #[wasm_bindgen(method)]
    fn text(this: &Response) -> Promise;
}

/// The backend, by its public URL.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The public URL without a trailing slash.
    base: String,
    /// `scheme://host:port`: what completion messages must come from.
    origin: String,
}

impl Backend {
    /// Parses `backendUrl`: an absolute http(s) URL (a relative one is taken against the
    /// page's own address).
    pub fn parse(url: &str, page: &str) -> Result<Backend, BridgeError> {
        let parsed = Url::new_with_base(url, page)
            .map_err(|_| BridgeError::invalid_options("backendUrl is not a URL"))?;
        if !matches!(
            text(&parsed, "protocol").as_deref(),
            Some("https:" | "http:")
        ) {
            return Err(BridgeError::invalid_options("backendUrl must be http(s)"));
        }
        parsed.set_search("");
        parsed.set_hash("");
        let href = text(&parsed, "href").unwrap_or_default();
        Ok(Backend {
            base: href.trim_end_matches('/').to_owned(),
            origin: text(&parsed, "origin").unwrap_or_default(),
        })
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
        request: &Object,
        abort: &AbortSignal,
    ) -> Result<PaymentView, BridgeError> {
        let body = json_text(request)?;
        self.send(secret, "/confirm", body, abort).await
    }

    /// `GET /v1/payments/{id}`: the page's view of its payment.
    pub async fn read(
        &self,
        secret: &ClientSecret,
        abort: &AbortSignal,
    ) -> Result<PaymentView, BridgeError> {
        self.send(secret, "", JsValue::UNDEFINED, abort).await
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
        self.send(secret, "/method", body.into(), abort).await
    }

    /// A `POST` of the JSON `body` to `/v1/payments/{id}{path}`, or a `GET` when `body`
    /// is undefined; either way with `X-Client-Secret` (what the reads need; the POSTs
    /// carry the secret in their bodies as well, as the API asks).
    async fn send(
        &self,
        secret: &ClientSecret,
        path: &str,
        body: JsValue,
        abort: &AbortSignal,
    ) -> Result<PaymentView, BridgeError> {
        if aborted(abort) {
            return Err(BridgeError::new(BridgeError::ABORTED, "aborted"));
        }
        // One controller per call: the payment's signal aborts it, and so does the
        // deadline, with the reason "timeout".
        let unsupported = || BridgeError::new(BridgeError::UNSUPPORTED, "no AbortController");
        let controller = AbortController::new().map_err(|_| unsupported())?;
        let abort_call = bound_method(&controller, "abort", None).ok_or_else(unsupported)?;
        let _follow = Listener::function(abort, "abort", abort_call);
        let expire = bound_method(&controller, "abort", Some(&TIMEOUT_REASON.into()))
            .ok_or_else(unsupported)?;
        let _deadline = Timer::new(REQUEST_TIMEOUT_MS, &expire)?;
        let timed_out = || text(&signal(&controller), "reason").as_deref() == Some(TIMEOUT_REASON);
        let interrupted = |network: &'static str| {
            if timed_out() {
                BridgeError::new(BridgeError::TIMEOUT, "the backend did not answer in time")
            } else if aborted(abort) {
                BridgeError::new(BridgeError::ABORTED, "aborted")
            } else {
                BridgeError::new(BridgeError::NETWORK, network)
            }
        };
        let url = [&self.base, "/v1/payments/", secret.id(), path].concat();
        let response: Response =
            JsFuture::from(fetch(&url, secret.as_str(), &body, &signal(&controller)))
                .await
                .map_err(|_| interrupted("the backend could not be reached"))?
                .unchecked_into();
        let status = number(&response, "status").unwrap_or(0.0);
        // The text stays a JavaScript string: JSON.parse reads it where it is.
        let text = JsFuture::from(response.text())
            .await
            .ok()
            .filter(JsValue::is_string)
            .ok_or_else(|| interrupted("the backend's answer broke off"))?;
        let json = parse_json(&text)
            .map_err(|_| BridgeError::bad_response("the backend did not answer JSON"))?;
        if (200.0..300.0).contains(&status) {
            PaymentView::parse(&json)
        } else {
            Err(backend_error(&json))
        }
    }
}

/// `{"error": {"code", "message"}}`, or `bad_response` when the body is not that.
fn backend_error(json: &JsValue) -> BridgeError {
    let error = Reflect::get(json, &"error".into()).unwrap_or(JsValue::UNDEFINED);
    let text = |key: &str| {
        Reflect::get(&error, &key.into())
            .ok()
            .and_then(|v| v.as_string())
    };
    match text("code").filter(|code| is_stable_code(code)) {
        Some(code) => BridgeError::from_backend(code, text("message").unwrap_or_default()),
        None => BridgeError::bad_response("the backend refused without an error code"),
    }
}

/// A snake_case code as api.md promises; anything else is not passed on as a code.
fn is_stable_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `JSON.stringify(value)`, as a JavaScript string (it goes straight back to `fetch`).
fn json_text(value: &JsValue) -> Result<JsValue, BridgeError> {
    JSON::stringify(value)
        .ok()
        .map(JsValue::from)
        .filter(JsValue::is_string)
        .ok_or(BridgeError::invalid_options(
            "the payment request is not JSON",
        ))
}
