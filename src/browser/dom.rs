//! Small DOM pieces that clean up after themselves, and forms built from data.
//!
//! Every listener, timer and element the module adds is owned by a value here whose
//! `Drop` takes it away again, so that finishing, cancelling or aborting a step is just
//! dropping it: nothing is left in the page. [`Race`] is the one way a step waits: the
//! first of its listeners to fire decides the outcome.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Document, Element, EventTarget, Window};

use super::BridgeError;
use crate::emv::{FormMethod, FormPost};

/// `object[key]`, `undefined` where reading it throws. Properties the module only reads
/// go through here rather than through web-sys getters: each getter is an import with a
/// glue function of its own (one for each `origin`, `href` …), this is one for all.
pub fn get(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `object[key]` when it is a string.
pub fn text(object: &JsValue, key: &str) -> Option<String> {
    get(object, key).as_string()
}

/// `object[key]` when it is a number.
pub fn number(object: &JsValue, key: &str) -> Option<f64> {
    get(object, key).as_f64()
}

/// The page's window; every browser build has one.
pub fn window() -> Result<Window, BridgeError> {
    // dom.js's pageWindow, not web_sys::window(): that one probes four globals and checks
    // `instanceof Window`, several hundred bytes for the same answer in a page.
    page_window().ok_or(BridgeError::new(BridgeError::UNSUPPORTED, "no window"))
}

/// `object[key]` when it is an object (not null), as the type the platform promises.
fn object<T: JsCast>(object: &JsValue, key: &str) -> Option<T> {
    Some(get(object, key))
        .filter(JsValue::is_object)
        .map(JsCast::unchecked_into)
}

pub fn document() -> Result<Document, BridgeError> {
    let window = window()?;
    object(&window, "document").ok_or(BridgeError::new(BridgeError::UNSUPPORTED, "no document"))
}

/// `document.body`, where the module's iframes and forms go.
pub fn body(doc: &Document) -> Result<Element, BridgeError> {
    object(doc, "body").ok_or(BridgeError::new(
        BridgeError::UNSUPPORTED,
        "no document body",
    ))
}

/// `signal.aborted`.
pub fn aborted(signal: &AbortSignal) -> bool {
    get(signal, "aborted").as_bool() == Some(true)
}

/// `controller.signal`.
pub fn signal(controller: &web_sys::AbortController) -> AbortSignal {
    get(controller, "signal").unchecked_into()
}

/// `element.isConnected`.
pub fn is_connected(element: &JsValue) -> bool {
    get(element, "isConnected").as_bool() == Some(true)
}

/// `document.activeElement` (focus goes back to it): an element with `focus()`, HTML or SVG.
pub fn active_element(doc: &Document) -> Option<web_sys::HtmlElement> {
    object(doc, "activeElement")
}

/// How a step's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A genuine completion message arrived.
    Completed = 1,
    /// The step's deadline passed.
    TimedOut = 2,
    /// `cancel()`, the AbortSignal, or the challenge's close button.
    Cancelled = 3,
}

/// A promise that the first of several listeners settles. Later settlements are ignored,
/// as promises do; the value says which listener fired. The listeners are the promise's
/// own `resolve` bound to an outcome, so waiting costs no Rust closure per listener.
pub struct Race {
    promise: Promise,
    resolve: Function,
}

impl Race {
    pub fn new() -> Race {
        // dom.js's `race`: a JavaScript executor, not a Rust closure (smaller).
        let pair = race();
        Race {
            promise: pair.get(0).unchecked_into(),
            resolve: pair.get(1).unchecked_into(),
        }
    }

    /// The function that settles the race with `outcome`, for a listener to call.
    pub fn settler(&self, outcome: Outcome) -> Function {
        self.resolve
            .bind1(&JsValue::NULL, &(outcome as u32).into())
            .unchecked_into()
    }

    /// Settles when `signal` aborts (at once if it already has), until the listener drops.
    pub fn cancel_on(&self, signal: &AbortSignal) -> Listener {
        let cancel = self.settler(Outcome::Cancelled);
        if aborted(signal) {
            let _ = cancel.call0(&JsValue::NULL);
        }
        Listener::function(signal, "abort", cancel)
    }

    /// Settles with [`Outcome::TimedOut`] after `milliseconds`, until the timer drops.
    pub fn deadline(&self, milliseconds: u32) -> Result<Timer, BridgeError> {
        Timer::new(milliseconds, &self.settler(Outcome::TimedOut))
    }

    /// Waits for the first settlement.
    pub async fn outcome(&self) -> Outcome {
        let value = JsFuture::from(self.promise.clone()).await.ok();
        match value.and_then(|v| v.as_f64()) {
            Some(1.0) => Outcome::Completed,
            Some(2.0) => Outcome::TimedOut,
            _ => Outcome::Cancelled,
        }
    }
}

impl Default for Race {
    fn default() -> Race {
        Race::new()
    }
}

/// An event listener, removed on drop.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    function: Function,
}

impl Listener {
    /// Calls a JavaScript function (a bound `resolve`, `abort`, …) on each `kind` event.
    pub fn function(target: &EventTarget, kind: &'static str, function: Function) -> Listener {
        let _ = target.add_event_listener_with_callback(kind, &function);
        Listener {
            target: target.clone(),
            kind,
            function,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, &self.function);
    }
}

/// `object.method` bound to `object`, as a plain function (`method` is one the platform
/// promises, such as an AbortController's `abort`).
pub fn bound_method(object: &JsValue, method: &str) -> Function {
    get(object, method)
        .unchecked_into::<Function>()
        .bind0(object)
        .unchecked_into()
}

/// A `setTimeout`, cleared on drop.
pub struct Timer(JsValue);

impl Timer {
    pub fn new(milliseconds: u32, callback: &Function) -> Result<Timer, BridgeError> {
        Ok(Timer(set_timeout(
            callback,
            milliseconds.min(i32::MAX as u32),
        )))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.0);
    }
}

/// An element the module put into the page, removed on drop.
pub struct Mounted(pub Element);

impl Drop for Mounted {
    fn drop(&mut self) {
        self.0.remove();
    }
}

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (page or worker alike); its id as JavaScript has it.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, milliseconds: u32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

#[wasm_bindgen(module = "/src/browser/dom.js")]
extern "C" {
    /// The challenge's host (a wrapper in `container`, else a modal `<dialog>`; full
    /// viewport when `width` is 0): a bar with the close control (labelled in `ui`'s
    /// language) above the iframe `name`, in the page.
    #[wasm_bindgen(js_name = mountChallenge, catch)]
    pub fn mount_challenge(
        doc: &Document,
        name: &str,
        width: u32,
        height: u32,
        container: Option<&Element>,
        ui: &JsValue,
    ) -> Result<Element, JsValue>;

    /// The module's UI settings from the constructor's options (`locale`,
    /// `waitingStatus`, `container`).
    pub fn ui(options: &JsValue) -> JsValue;

    /// Shows, empties or removes the waiting status for the progress event `kind`
    /// (`""`: the payment is over).
    pub fn progress(ui: &JsValue, kind: &str);

    /// Adds the view's `id` (as `paymentId`), `amount`, `currency` and `orderId` to `result`.
    #[wasm_bindgen(js_name = describePayment)]
    pub fn describe_payment(result: &js_sys::Object, view: &JsValue);

    /// A backend call (`base/v1/payments/{id}{path}`, GET when `body` is undefined, else a
    /// JSON POST of it) with the call's deadline: the 2xx answer's JSON, or rejects with
    /// the module's Error (`timeout`, `aborted`, `network`, `bad_response`, the backend's).
    #[wasm_bindgen(js_name = backendCall)]
    pub fn backend_call(
        base: &str,
        secret: &str,
        path: &str,
        body: &JsValue,
        signal: Option<&AbortSignal>,
        timeout_ms: u32,
    ) -> Promise;

    /// The module's `Error` with its stable `code` (and the backend's message, when given).
    #[wasm_bindgen(js_name = bridgeError)]
    pub fn bridge_error(code: &str, message: Option<&str>) -> JsValue;

    /// The constructor's options, checked (throws `invalid_options`): `[backend base,
    /// backend origin, redirect?, challengeWindowSize, container, methodTimeoutMs,
    /// challengeTimeoutMs, onEvent]`.
    #[wasm_bindgen(js_name = readOptions, catch)]
    pub fn read_options(options: &JsValue) -> Result<Array, JsValue>;

    /// `onEvent({type, at, [key]: value})`, a throw ignored.
    #[wasm_bindgen(js_name = emitEvent)]
    pub fn emit_event(on_event: &Function, kind: &str, key: Option<&str>, value: Option<&str>);

    /// The page's `request` with the members the module owns: `browser`, `display`,
    /// `windowSize`, `checkoutOrigin` and `returnUrl` (the page's own address).
    #[wasm_bindgen(js_name = confirmBody)]
    pub fn confirm_body(request: &JsValue, browser: &JsValue, display: &str, size: &str)
        -> JsValue;

    /// The result of a payment the page gave up on while the backend could not say what
    /// became of it: `cancelled`, `challenge_cancelled`, every other backend member `null`.
    #[wasm_bindgen(js_name = cancelledResult)]
    pub fn cancelled_result(payment_id: &str) -> JsValue;

    /// A promise and its `resolve` function.
    fn race() -> Array;

    /// `options.signal` when it is an AbortSignal.
    #[wasm_bindgen(js_name = signalOf)]
    pub fn signal_of(options: &JsValue) -> Option<AbortSignal>;

    /// `window`, where the module runs in a page.
    #[wasm_bindgen(js_name = pageWindow)]
    fn page_window() -> Option<Window>;
    /// Whether the browser's Back or Forward loaded the page of `window` (its navigation
    /// timing's `type` is `back_forward`). It takes the window so that wasm-bindgen gives
    /// it glue: an import without any would be imported with dom.js's whole namespace.
    #[wasm_bindgen(js_name = cameBack)]
    pub fn came_back(window: &Window) -> bool;
    /// A `pageshow` listener that calls `then` only when the page was restored from the
    /// back/forward cache (`persisted`): browsers also fire one after a page's load.
    #[wasm_bindgen(js_name = onRestore)]
    pub fn on_restore(then: &Function) -> Function;

    /// The Method's hidden iframe `name`, in the body.
    #[wasm_bindgen(js_name = methodFrame, catch)]
    pub fn method_frame(doc: &Document, name: &str) -> Result<Element, JsValue>;

    /// Sends a form (`fields`: name, value, …) to `action` in the window `target`
    /// (`frame`'s name, or `_self` with no frame: the page): throws `bad_response` unless
    /// `action` is an absolute http(s) URL.
    #[wasm_bindgen(js_name = submitForm, catch)]
    fn submit_form_js(
        doc: &Document,
        action: &str,
        get: bool,
        target: &str,
        frame: Option<&Element>,
        fields: &Array,
    ) -> Result<(), JsValue>;
}

/// Where a form goes: into one of the module's iframes, or the page itself.
pub enum FormTarget<'a> {
    /// An iframe, by its `name` (POST) and element (GET).
    Frame { name: &'a str, frame: &'a Element },
    /// The checkout page navigates away.
    Page,
}

/// Sends `form` to `target` (dom.js's `submitForm`): an action that is not an absolute
/// http(s) URL (javascript:, data:, a relative path the backend did not mean) is refused
/// with `bad_response` before it reaches a form or `location`. A POST's fields are hidden
/// inputs set as attribute values, never markup, so no field can inject HTML; a GET adds
/// them to the action's own query.
pub fn submit_form(form: &FormPost, target: FormTarget<'_>) -> Result<(), BridgeError> {
    let doc = document()?;
    let (name, frame) = match target {
        FormTarget::Frame { name, frame } => (name, Some(frame)),
        FormTarget::Page => ("_self", None),
    };
    let fields = Array::new();
    for field in &form.fields {
        fields.push(&field.name.as_str().into());
        fields.push(&field.value.as_str().into());
    }
    let get = form.method == FormMethod::Get;
    submit_form_js(&doc, &form.action, get, name, frame, &fields)
        .map_err(|error| BridgeError::from_js(&error, BridgeError::UNSUPPORTED))
}
