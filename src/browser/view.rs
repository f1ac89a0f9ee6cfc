//! The backend's Payment view (api.md), parsed at the edge into what the flow needs:
//! the session's id and nonce, the browser's next action, or the final result; and the
//! payment's client secret, which names the payment and authorises the page's calls.
//!
//! The next action becomes the project's own [`BrowserAction`]; the form inside it is
//! [`FormPost`] through its serde shape. The result stays the backend's object (the page
//! gets exactly what the backend decided), with its `status` checked and typed.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

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

fn member(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn string_member(object: &JsValue, key: &str) -> Option<String> {
    member(object, key).as_string()
}

impl PaymentView {
    pub fn parse(body: &JsValue) -> Result<PaymentView, BridgeError> {
        let bad = BridgeError::bad_response;
        let id = string_member(body, "id")
            .and_then(|id| SessionId::parse(&id))
            .ok_or(bad("payment id missing or not 32 hex digits"))?;
        let nonce = string_member(body, "nonce")
            .filter(|nonce| !nonce.is_empty())
            .ok_or(bad("payment nonce missing"))?;
        let stage = match string_member(body, "state").as_deref() {
            Some("final") => Stage::Final(parse_result(&member(body, "result"))?),
            // Nothing for the browser to do, no result yet: the backend is confirming the
            // payment with the provider (a call, or a lookup of one whose answer was lost).
            Some("pending") => Stage::Pending(parse_action(&member(body, "next"))?.ok_or(
                BridgeError::new(BridgeError::PENDING, "the payment is being confirmed"),
            )?),
            _ => return Err(bad("payment state is neither pending nor final")),
        };
        Ok(PaymentView {
            session: Session { id, nonce },
            stage,
            body: body.clone(),
        })
    }
}

/// `next`: `none`, `method`, `challenge` or `redirect`.
pub fn parse_action(next: &JsValue) -> Result<Option<BrowserAction>, BridgeError> {
    let bad = BridgeError::bad_response;
    let form = || parse_form(&member(next, "form")).ok_or(bad("next.form is not a form"));
    Ok(Some(match string_member(next, "type").as_deref() {
        Some("none") => return Ok(None),
        Some("method") => BrowserAction::Method {
            form: form()?,
            timeout_ms: member(next, "timeoutMs")
                .as_f64()
                .filter(|ms| (0.0..=600_000.0).contains(ms))
                .map_or(METHOD_TIMEOUT_MS, |ms| ms as u32),
        },
        Some("challenge") => BrowserAction::Challenge {
            form: form()?,
            window_size: string_member(next, "windowSize")
                .and_then(|size| ChallengeWindowSize::parse(&size).ok())
                .ok_or(bad("next.windowSize is not 01 to 05"))?,
        },
        Some("redirect") => BrowserAction::Redirect { form: form()? },
        _ => return Err(bad("next.type is unknown")),
    }))
}

/// Form = `{"action", "method": "GET"|"POST", "fields": [{"name", "value"}]}`: the shape
/// of [`FormPost`], read member by member (serde-wasm-bindgen's deserializer alone would
/// cost the module about 5 KB gzipped).
pub fn parse_form(form: &JsValue) -> Option<FormPost> {
    let method = match string_member(form, "method").as_deref() {
        Some("POST") => FormMethod::Post,
        Some("GET") => FormMethod::Get,
        _ => return None,
    };
    let list = member(form, "fields");
    if !js_sys::Array::is_array(&list) {
        return None;
    }
    let list: js_sys::Array = list.unchecked_into();
    let mut fields = Vec::new();
    for field in list.iter() {
        fields.push(FormField {
            name: string_member(&field, "name").filter(|n| !n.is_empty())?,
            value: string_member(&field, "value")?,
        });
    }
    Some(FormPost {
        action: string_member(form, "action")?,
        method,
        fields,
    })
}

/// `result`: an object whose `status` is one of the five statuses.
pub fn parse_result(result: &JsValue) -> Result<FinalResult, BridgeError> {
    let status = string_member(result, "status")
        .and_then(|status| parse_status(&status))
        .ok_or(BridgeError::bad_response("result.status is unknown"))?;
    let value = Object::try_from(result)
        .cloned()
        .ok_or(BridgeError::bad_response("result is not an object"))?;
    Ok(FinalResult { status, value })
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
