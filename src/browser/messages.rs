//! Completion messages from the backend's return route (`pkg/complete.js`):
//! `{type: "threeds-bridge:complete", sessionId, nonce}` posted to this page.
//!
//! A message counts only if all three hold: it comes from the backend's origin, from
//! the very iframe the module opened for this step, and it names this session with its
//! nonce. Anything else is ignored without a trace. A message only says "look now": the
//! result is always read from the backend afterwards.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlIFrameElement, MessageEvent};

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

impl Expected {
    /// Whether `event` is this step's completion, sent from inside `frame`.
    pub fn accepts(&self, event: &MessageEvent, frame: &HtmlIFrameElement) -> bool {
        if event.origin() != self.origin {
            return false;
        }
        let from_frame = match (event.source(), frame.content_window()) {
            (Some(source), Some(own)) => Object::is(&source, &own),
            _ => false,
        };
        from_frame && self.names_this_session(&event.data())
    }

    fn names_this_session(&self, data: &JsValue) -> bool {
        let text = |key: &str| {
            Reflect::get(data, &key.into())
                .ok()
                .and_then(|v| v.as_string())
        };
        data.is_object()
            && text("type").as_deref() == Some(COMPLETE_TYPE)
            && text("sessionId").as_deref() == Some(self.session.id.as_str())
            && text("nonce").as_deref() == Some(self.session.nonce.as_str())
    }
}

/// Calls `on_complete` (a JavaScript function) for each genuine completion from `frame`, until dropped.
pub fn listen(
    expected: Expected,
    frame: HtmlIFrameElement,
    on_complete: js_sys::Function,
) -> Result<Listener, BridgeError> {
    let target = window()?;
    Ok(Listener::new(&target, "message", move |event| {
        if let Some(event) = event.dyn_ref::<MessageEvent>() {
            if expected.accepts(event, &frame) {
                let _ = on_complete.call0(&JsValue::NULL);
            }
        }
    }))
}
