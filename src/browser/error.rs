//! The module's one error type: a stable `code` the page can switch on, and a message.
//! Crosses into JavaScript as an `Error` with a `code` property.

use std::borrow::Cow;

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::emv::EmvError;

/// Why `pay()`, `resume()` or the constructor gave up. Codes are stable; messages may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeError {
    code: Cow<'static, str>,
    message: Cow<'static, str>,
}

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

    pub fn new(code: &'static str, message: &'static str) -> BridgeError {
        BridgeError {
            code: Cow::Borrowed(code),
            message: Cow::Borrowed(message),
        }
    }

    /// An error the backend reported as `{"error": {"code", "message"}}`.
    pub fn from_backend(code: String, message: String) -> BridgeError {
        BridgeError {
            code: Cow::Owned(code),
            message: Cow::Owned(message),
        }
    }

    pub fn bad_response(message: &'static str) -> BridgeError {
        BridgeError::new(Self::BAD_RESPONSE, message)
    }

    pub fn invalid_options(message: &'static str) -> BridgeError {
        BridgeError::new(Self::INVALID_OPTIONS, message)
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
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
        let js = js_sys::Error::new(error.message());
        // Setting a property on a fresh Error cannot fail.
        let _ = Reflect::set(&js, &"code".into(), &error.code().into());
        js.into()
    }
}
