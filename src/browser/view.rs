//! The backend's Payment view (api.md), parsed at the edge into what the flow needs:
//! the session's id and nonce, the browser's next action, or the final result; and the
//! payment's client secret, which names the payment and authorises the page's calls.
//!
//! The next action becomes the project's own [`BrowserAction`]; the form inside it is
//! [`FormPost`] through its serde shape. The result stays the backend's object (the page
//! gets exactly what the backend decided), with its `status` checked and typed.

use js_sys::Object;
use wasm_bindgen::prelude::*;

use super::BridgeError;
use crate::emv::method::METHOD_TIMEOUT_MS;
use crate::emv::{ChallengeWindowSize, FormField, FormMethod, FormPost};
use crate::payment::{BrowserAction, PaymentStatus};

/// A payment session's id: 32 lowercase hex digits (a UUID in simple form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    pub fn parse(text: &str) -> Option<SessionId> {
        // Any 32 hex digits are a UUID in simple form; no parser needed to say so.
        let simple = text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit());
        simple.then(|| SessionId(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The client secret the merchant's server got from `POST /v1/payments` and handed the
/// page: `{32-hex id}_secret_{32 hex}`. The id is the part before `_secret_`. Debug shows
/// the id only: the secret is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// The secret when it has the backend's shape, lowercase hex as the backend mints it
    /// (a typo or an id alone fails here, not at the backend).
    pub fn parse(text: &str) -> Option<ClientSecret> {
        let bytes = text.as_bytes();
        let hex = |part: &[u8]| part.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let shaped = bytes.len() == 72
            && hex(&bytes[..32])
            && bytes[32..40] == *b"_secret_"
            && hex(&bytes[40..]);
        shaped.then(|| ClientSecret(text.to_owned()))
    }

    /// The payment's id: the part before `_secret_`.
    pub fn id(&self) -> &str {
        &self.0[..32]
    }

    /// The session the secret names (its nonce comes from the backend).
    pub fn session(&self, nonce: String) -> Session {
        Session {
            id: SessionId(self.id().to_owned()),
            nonce,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ClientSecret").field(&self.id()).finish()
    }
}

/// What a completion message must echo: the session and its nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub nonce: String,
}

/// A final result: its status, and the backend's object as the page will receive it.
#[derive(Debug, Clone)]
pub struct FinalResult {
    pub status: PaymentStatus,
    pub value: Object,
}

/// Where the payment stands.
#[derive(Debug, Clone)]
pub enum Stage {
    /// The browser must act.
    Pending(BrowserAction),
    Final(FinalResult),
}

#[derive(Debug, Clone)]
pub struct PaymentView {
    pub session: Session,
    pub stage: Stage,
    /// The view as the backend sent it (the result takes `amount`, `currency` and
    /// `orderId` from it).
    pub body: JsValue,
}

impl PaymentView {
    /// The view from the backend's JSON: its shape is checked by dom.js's `readView`
    /// (`bad_response`; `pending` when the backend is still confirming the payment with
    /// the provider, a call or a lookup of one whose answer was lost, and the browser has
    /// nothing to do), the window size by the EMV rules here. Read member by member in
    /// JavaScript: serde-wasm-bindgen's deserializer alone would cost the module about
    /// 5 KB gzipped, Reflect reads from Rust about 1.
    pub fn parse(body: &JsValue) -> Result<PaymentView, BridgeError> {
        let view = read_view(body)
            .map_err(|error| BridgeError::from_js(&error, BridgeError::BAD_RESPONSE))?;
        let text = |index| view.get(index).as_string().unwrap_or_default();
        let bad = || BridgeError::bad_response("next.windowSize is not 01 to 05");
        let form = || FormPost {
            action: text(3),
            method: match text(4).as_str() {
                "GET" => FormMethod::Get,
                _ => FormMethod::Post,
            },
            fields: (6..view.length())
                .step_by(2)
                .map(|at| FormField {
                    name: text(at),
                    value: text(at + 1),
                })
                .collect(),
        };
        let stage = match text(2).as_str() {
            "final" => Stage::Final(FinalResult {
                status: parse_status(&text(3)).ok_or_else(bad)?,
                value: view.get(4).unchecked_into(),
            }),
            "method" => Stage::Pending(BrowserAction::Method {
                form: form(),
                timeout_ms: view
                    .get(5)
                    .as_f64()
                    .filter(|ms| (0.0..=600_000.0).contains(ms))
                    .map_or(METHOD_TIMEOUT_MS, |ms| ms as u32),
            }),
            "challenge" => Stage::Pending(BrowserAction::Challenge {
                window_size: ChallengeWindowSize::parse(&text(5)).map_err(|_| bad())?,
                form: form(),
            }),
            _ => Stage::Pending(BrowserAction::Redirect { form: form() }),
        };
        Ok(PaymentView {
            session: Session {
                id: SessionId(text(0)),
                nonce: text(1),
            },
            stage,
            body: body.clone(),
        })
    }
}

fn parse_status(text: &str) -> Option<PaymentStatus> {
    Some(match text {
        "authorized" => PaymentStatus::Authorized,
        "declined" => PaymentStatus::Declined,
        "failed" => PaymentStatus::Failed,
        "cancelled" => PaymentStatus::Cancelled,
        "error" => PaymentStatus::Error,
        _ => return None,
    })
}

#[wasm_bindgen(module = "/src/browser/dom.js")]
extern "C" {
    /// The Payment view's members, checked: `[id, nonce, "final", status, result]` or
    /// `[id, nonce, type, action, method, timeoutMs | windowSize, name, value, …]`.
    #[wasm_bindgen(js_name = readView, catch)]
    fn read_view(view: &JsValue) -> Result<js_sys::Array, JsValue>;
}
