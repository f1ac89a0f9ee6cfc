//! Full-page redirects, and the state that lets `resume()` finish after one.
//!
//! The payment's client secret (which names it: the id is its first part), the session's
//! nonce and which backend are kept in `sessionStorage` from the moment the backend
//! confirmed the payment until the result is final, so a redirect, a reload or an app
//! switch does not lose the payment: `resume()` reads it again with the secret.
//! `sessionStorage` is this origin's and this tab's: another site can neither read the
//! secret nor plant a session here, and `resume()` still reads the result from the
//! backend, never from storage. The storage itself is dom.js's (`saveState`, `loadState`).

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::dom::{submit_form, FormTarget};
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

/// Remembers `pending` (quietly does nothing where storage is unavailable, e.g. some
/// private modes: the payment still runs, it just cannot be resumed).
pub fn save(pending: &Pending) {
    save_state(
        STORAGE_KEY,
        pending.secret.as_str(),
        &pending.session.nonce,
        &pending.backend,
    );
}

/// The stored payment, if there is a well-formed, recent one.
pub fn load() -> Option<Pending> {
    let state = load_state(STORAGE_KEY, MAX_AGE_MS)?;
    let text = |index| state.get(index).as_string();
    let secret = ClientSecret::parse(&text(0)?)?;
    Some(Pending {
        session: secret.session(text(1).filter(|n| !n.is_empty())?),
        secret,
        backend: text(2)?,
    })
}

pub fn clear() {
    clear_state(STORAGE_KEY);
}

#[wasm_bindgen(module = "/src/browser/dom.js")]
extern "C" {
    /// Stores `{secret, nonce, backend, savedAt: now}` as JSON under `key`.
    #[wasm_bindgen(js_name = saveState)]
    fn save_state(key: &str, secret: &str, nonce: &str, backend: &str);
    /// `[secret, nonce, backend]` of the JSON under `key`, when its members are strings
    /// and `savedAt` is at most `max_age_ms` ago (an older one is removed).
    #[wasm_bindgen(js_name = loadState)]
    fn load_state(key: &str, max_age_ms: f64) -> Option<Array>;
    #[wasm_bindgen(js_name = clearState)]
    fn clear_state(key: &str);
}

/// Leaves the checkout page for `form` (GET or POST, top-level in this tab).
pub fn navigate(form: &FormPost) -> Result<(), BridgeError> {
    submit_form(form, FormTarget::Page)
}
