//! Completion messages from the backend's return route (`pkg/complete.js`):
//! `{type: "threeds-bridge:complete", sessionId, nonce}` posted to this page.
//!
//! A message counts only if all three hold: it comes from the backend's origin, from
//! the very iframe the module opened for this step, and it names this session with its
//! nonce. Anything else is ignored without a trace. A message only says "look now": the
//! result is always read from the backend afterwards.

use wasm_bindgen::prelude::*;
use web_sys::HtmlIFrameElement;

use super::dom::{window, Listener};
use super::view::Session;
use super::BridgeError;

/// The `type` member of a completion message.
pub const COMPLETE_TYPE: &str = "threeds-bridge:complete";

/// What a genuine completion message looks like for one step.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The backend's origin (`scheme://host:port`), compared exactly.
    pub origin: String,
    pub session: Session,
}

/// Calls `on_complete` (a JavaScript function) for each genuine completion from `frame`,
/// until dropped. The check itself is dom.js's `completionListener` (a Rust closure and
/// its glue cost the module more than the whole check in JavaScript).
pub fn listen(
    expected: Expected,
    frame: HtmlIFrameElement,
    on_complete: js_sys::Function,
) -> Result<Listener, BridgeError> {
    let target = window()?;
    let check = completion_listener(
        &expected.origin,
        &frame,
        expected.session.id.as_str(),
        &expected.session.nonce,
        &on_complete,
    );
    Ok(Listener::function(&target, "message", check))
}

#[wasm_bindgen(module = "/src/browser/dom.js")]
extern "C" {
    /// A listener function that calls `on_complete` only for a message from `origin`,
    /// sent by `frame`'s own window, of type [`COMPLETE_TYPE`] naming session `id` and
    /// its `nonce`.
    #[wasm_bindgen(js_name = completionListener)]
    fn completion_listener(
        origin: &str,
        frame: &HtmlIFrameElement,
        id: &str,
        nonce: &str,
        on_complete: &js_sys::Function,
    ) -> js_sys::Function;
}
