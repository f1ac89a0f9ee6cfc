//! Full-page redirects, and the state that lets `resume()` finish after one.
//!
//! The payment's client secret (which names it: the id is its first part), the session's
//! nonce and which backend are kept in `sessionStorage` from the moment the backend
//! confirmed the payment until the result is final, so a redirect, a reload or an app
//! switch does not lose the payment: `resume()` reads it again with the secret.
//! `sessionStorage` is this origin's and this tab's: another site can neither read the
//! secret nor plant a session here, and `resume()` still reads the result from the
//! backend, never from storage.

use js_sys::{Date, Object, Reflect, JSON};
use wasm_bindgen::JsValue;
use web_sys::Storage;

use super::dom::{parse_json, session_storage, submit_form, FormTarget};
use super::view::{ClientSecret, Session};
use super::BridgeError;
use crate::emv::FormPost;

/// The `sessionStorage` key.
pub const STORAGE_KEY: &str = "threeds-bridge:payment";

/// A stored payment older than this is not resumed (the backend's session is long gone).
pub const MAX_AGE_MS: f64 = 60.0 * 60.0 * 1000.0;

/// A payment in flight, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub session: Session,
    /// What every read of this payment presents; names the same payment as `session`.
    pub secret: ClientSecret,
    /// The backend's base URL; `resume()` only continues with the same backend.
    pub backend: String,
}

fn storage() -> Option<Storage> {
    session_storage()
}

/// Remembers `pending` (quietly does nothing where storage is unavailable, e.g. some
/// private modes: the payment still runs, it just cannot be resumed).
pub fn save(pending: &Pending) {
    let state = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&state, &key.into(), &value);
    };
    set("secret", pending.secret.as_str().into());
    set("nonce", pending.session.nonce.as_str().into());
    set("backend", pending.backend.as_str().into());
    set("savedAt", Date::now().into());
    let text = JSON::stringify(&state).ok().and_then(|t| t.as_string());
    if let (Some(storage), Some(text)) = (storage(), text) {
        let _ = storage.set_item(STORAGE_KEY, &text);
    }
}

/// The stored payment, if there is a well-formed, recent one.
pub fn load() -> Option<Pending> {
    let text = storage()?.get_item(STORAGE_KEY).ok()??;
    let state = parse_json(&text.into()).ok()?;
    let text = |key: &str| Reflect::get(&state, &key.into()).ok()?.as_string();
    let saved_at = Reflect::get(&state, &"savedAt".into()).ok()?.as_f64()?;
    if !(0.0..=MAX_AGE_MS).contains(&(Date::now() - saved_at)) {
        clear();
        return None;
    }
    let secret = ClientSecret::parse(&text("secret")?)?;
    Some(Pending {
        session: secret.session(text("nonce").filter(|n| !n.is_empty())?),
        secret,
        backend: text("backend")?,
    })
}

pub fn clear() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(STORAGE_KEY);
    }
}

/// Leaves the checkout page for `form` (GET or POST, top-level in this tab).
pub fn navigate(form: &FormPost) -> Result<(), BridgeError> {
    submit_form(form, FormTarget::Page)
}
