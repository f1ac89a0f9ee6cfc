//! The module's one error type: a stable `code` the page can switch on.
//! It is an `Error` with a `code` property from the start, made by dom.js's `bridgeError`,
//! which also holds the English message of each code: prose costs the wasm kilobytes, so
//! the module's own errors carry only their code (the `why` text at each call site is for
//! the reader of the source; it is not compiled in). An error the backend reported keeps
//! the backend's message.

use wasm_bindgen::JsValue;

use super::dom;

use crate::emv::EmvError;

/// Why `pay()`, `resume()` or the constructor gave up. Codes are stable; messages may change.
/// Held as the JavaScript `Error` it becomes (one handle: results, futures and their drop
/// code stay small), made by dom.js's `bridgeError` or passed on from it.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeError(JsValue);

impl BridgeError {
    /// `fetch` failed: no connection, CORS refused, DNS.
    pub const NETWORK: &'static str = "network";
    /// The backend or the challenge did not finish within its deadline.
    pub const TIMEOUT: &'static str = "timeout";
    /// The caller's AbortSignal was already aborted when `pay()` was called.
    pub const ABORTED: &'static str = "aborted";
    /// The backend answered something that is not its documented shape.
    pub const BAD_RESPONSE: &'static str = "bad_response";
    /// The constructor's options or the payment request are unusable.
    pub const INVALID_OPTIONS: &'static str = "invalid_options";
    /// `pay()` or `resume()` while another payment of this instance runs.
    pub const BUSY: &'static str = "busy";
    /// No window, document or `AbortController`: not a browser page.
    pub const UNSUPPORTED: &'static str = "unsupported";
    /// The outcome is not known yet: the backend is still confirming the payment with the
    /// provider (status `processing` or `unknown`). Show "processing, we will confirm";
    /// never ask to pay again.
    pub const PENDING: &'static str = "pending";

    /// The module's own error; `_why` says why at the call site, for the reader only.
    pub fn new(code: &'static str, _why: &'static str) -> BridgeError {
        BridgeError(dom::bridge_error(code, None))
    }

    /// An error as dom.js made it (`bridgeError`: the backend's `{"error": {"code",
    /// "message"}}` or the module's own); `otherwise` for anything else JavaScript threw
    /// (a platform exception is not passed on).
    pub fn from_js(error: &JsValue, otherwise: &'static str) -> BridgeError {
        match dom::text(error, "code") {
            Some(_) => BridgeError(error.clone()),
            None => BridgeError::new(otherwise, "JavaScript threw"),
        }
    }

    pub fn bad_response(why: &'static str) -> BridgeError {
        BridgeError::new(Self::BAD_RESPONSE, why)
    }

    pub fn invalid_options(why: &'static str) -> BridgeError {
        BridgeError::new(Self::INVALID_OPTIONS, why)
    }

    /// The stable code (`network`, `timeout`, …, or the backend's).
    pub fn code(&self) -> String {
        dom::text(&self.0, "code").unwrap_or_default()
    }
}

impl From<EmvError> for BridgeError {
    /// The page's own readings broke an EMV rule (`invalid_field`, `missing_field`, …).
    fn from(error: EmvError) -> BridgeError {
        // The code says it all; no Display (its formatting machinery costs kilobytes).
        BridgeError::new(error.code(), "the browser details break the EMV rules")
    }
}

impl From<BridgeError> for JsValue {
    fn from(error: BridgeError) -> JsValue {
        error.0
    }
}
