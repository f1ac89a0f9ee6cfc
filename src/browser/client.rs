//! The backend's HTTP API (api.md) over `fetch` (gloo-net). JSON goes through the page's
//! own `JSON`, not serde_json, to keep the module small.
//!
//! Every call can be aborted (the payment's AbortSignal) and has a deadline. A JSON
//! rejection `{"error": {"code", "message"}}` becomes a [`BridgeError`] with the backend's
//! code; anything else that is not a Payment view is `bad_response`.

use gloo_net::http::{Request, RequestBuilder};
use js_sys::{Object, Reflect, JSON};
use wasm_bindgen::JsValue;
use web_sys::{AbortController, AbortSignal, Url};

use super::dom::{bound_method, Listener, Timer};
use super::view::{PaymentView, SessionId};
use super::BridgeError;
use crate::emv::ThreeDsCompInd;

/// How long one backend call may take. The backend may run several provider calls (and
/// their retries) before it answers, so this is generous.
pub const REQUEST_TIMEOUT_MS: u32 = 60_000;

/// The abort reason that marks a call's own deadline (as opposed to the payment's signal).
const TIMEOUT_REASON: &str = "threeds-bridge:timeout";

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
        if !matches!(parsed.protocol().as_str(), "https:" | "http:") {
            return Err(BridgeError::invalid_options("backendUrl must be http(s)"));
        }
        parsed.set_search("");
        parsed.set_hash("");
        let base = parsed.href().trim_end_matches('/').to_owned();
        Ok(Backend {
            base,
            origin: parsed.origin(),
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /v1/payments` with the request as the page built it.
    pub async fn start(
        &self,
        request: &Object,
        abort: &AbortSignal,
    ) -> Result<PaymentView, BridgeError> {
        let body = json_text(request)?;
        let url = [&self.base, "/v1/payments"].concat();
        self.send(Request::post(&url), Some(body), abort).await
    }

    /// `GET /v1/payments/{id}`.
    pub async fn read(
        &self,
        id: &SessionId,
        abort: &AbortSignal,
    ) -> Result<PaymentView, BridgeError> {
        let url = [&self.base, "/v1/payments/", id.as_str()].concat();
        self.send(Request::get(&url), None, abort).await
    }

    /// `POST /v1/payments/{id}/method` with how the 3DS Method went.
    pub async fn report_method(
        &self,
        id: &SessionId,
        completion: ThreeDsCompInd,
        abort: &AbortSignal,
    ) -> Result<PaymentView, BridgeError> {
        let url = [&self.base, "/v1/payments/", id.as_str(), "/method"].concat();
        let body = ["{\"completion\":\"", completion.as_str(), "\"}"].concat();
        self.send(Request::post(&url), Some(body), abort).await
    }

    async fn send(
        &self,
        request: RequestBuilder,
        body: Option<String>,
        abort: &AbortSignal,
    ) -> Result<PaymentView, BridgeError> {
        if abort.aborted() {
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
        let timed_out =
            || controller.signal().reason().as_string().as_deref() == Some(TIMEOUT_REASON);
        let request = request.abort_signal(Some(&controller.signal()));
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(body)
                .map_err(|_| {
                    BridgeError::new(BridgeError::NETWORK, "request could not be built")
                })?,
            None => request.build().map_err(|_| {
                BridgeError::new(BridgeError::NETWORK, "request could not be built")
            })?,
        };
        let interrupted = |network: &'static str| {
            if timed_out() {
                BridgeError::new(BridgeError::TIMEOUT, "the backend did not answer in time")
            } else if abort.aborted() {
                BridgeError::new(BridgeError::ABORTED, "aborted")
            } else {
                BridgeError::new(BridgeError::NETWORK, network)
            }
        };
        let response = request
            .send()
            .await
            .map_err(|_| interrupted("the backend could not be reached"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|_| interrupted("the backend's answer broke off"))?;
        let json = JSON::parse(&text)
            .map_err(|_| BridgeError::bad_response("the backend did not answer JSON"))?;
        if (200..300).contains(&status) {
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

fn json_text(value: &JsValue) -> Result<String, BridgeError> {
    JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or(BridgeError::invalid_options(
            "the payment request is not JSON",
        ))
}
