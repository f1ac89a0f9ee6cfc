//! Small DOM pieces that clean up after themselves, and forms built from data.
//!
//! Every listener, timer and element the module adds is owned by a value here whose
//! `Drop` takes it away again, so that finishing, cancelling or aborting a step is just
//! dropping it: nothing is left in the page. [`Race`] is the one way a step waits: the
//! first of its listeners to fire decides the outcome.

use js_sys::{Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Document, Element, EventTarget, HtmlFormElement, Url, Window};

use super::BridgeError;
use crate::emv::{FormMethod, FormPost};

/// The page's window; every browser build has one.
pub fn window() -> Result<Window, BridgeError> {
    web_sys::window().ok_or(BridgeError::new(BridgeError::UNSUPPORTED, "no window"))
}

pub fn document() -> Result<Document, BridgeError> {
    window()?
        .document()
        .ok_or(BridgeError::new(BridgeError::UNSUPPORTED, "no document"))
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
        let mut resolve: Option<Function> = None;
        // The executor runs synchronously, so `resolve` is set when `new` returns.
        let promise = Promise::new(&mut |settle, _| resolve = Some(settle));
        let resolve = resolve.unwrap_or_else(|| JsValue::UNDEFINED.unchecked_into());
        Race { promise, resolve }
    }

    /// The function that settles the race with `outcome`, for a listener to call.
    pub fn settler(&self, outcome: Outcome) -> Function {
        bind(
            &self.resolve,
            &JsValue::NULL,
            Some(&(outcome as u32).into()),
        )
    }

    /// Settles when `signal` aborts (at once if it already has), until the listener drops.
    pub fn cancel_on(&self, signal: &AbortSignal) -> Listener {
        let cancel = self.settler(Outcome::Cancelled);
        if signal.aborted() {
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
    /// Keeps a Rust callback alive while it is registered.
    _closure: Option<Closure<dyn FnMut(web_sys::Event)>>,
}

impl Listener {
    /// Calls a JavaScript function (a bound `resolve`, `abort`, …) on each `kind` event.
    pub fn function(target: &EventTarget, kind: &'static str, function: Function) -> Listener {
        let _ = target.add_event_listener_with_callback(kind, &function);
        Listener {
            target: target.clone(),
            kind,
            function,
            _closure: None,
        }
    }

    /// Calls Rust code on each `kind` event (where the event itself must be inspected).
    pub fn new(
        target: &EventTarget,
        kind: &'static str,
        callback: impl FnMut(web_sys::Event) + 'static,
    ) -> Listener {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(callback);
        let function: Function = closure.as_ref().clone().unchecked_into();
        let mut listener = Listener::function(target, kind, function);
        listener._closure = Some(closure);
        listener
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, &self.function);
    }
}

/// `object.method` bound to `object` (with `argument`, when given), as a plain function.
pub fn bound_method(
    object: &JsValue,
    method: &str,
    argument: Option<&JsValue>,
) -> Option<Function> {
    let function: Function = js_sys::Reflect::get(object, &method.into())
        .ok()?
        .dyn_into()
        .ok()?;
    Some(bind(&function, object, argument))
}

/// `function.bind(this, argument?)`.
fn bind(function: &Function, this: &JsValue, argument: Option<&JsValue>) -> Function {
    match argument {
        Some(argument) => function.bind1(this, argument).unchecked_into(),
        None => function.bind0(this).unchecked_into(),
    }
}

/// A `setTimeout`, cleared on drop.
pub struct Timer {
    window: Window,
    id: i32,
}

impl Timer {
    pub fn new(milliseconds: u32, callback: &Function) -> Result<Timer, BridgeError> {
        let window = window()?;
        let id = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                callback,
                i32::try_from(milliseconds).unwrap_or(i32::MAX),
            )
            .map_err(|_| BridgeError::new(BridgeError::UNSUPPORTED, "setTimeout failed"))?;
        Ok(Timer { window, id })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.window.clear_timeout_with_handle(self.id);
    }
}

/// An element the module put into the page, removed on drop.
pub struct Mounted(pub Element);

impl Drop for Mounted {
    fn drop(&mut self) {
        self.0.remove();
    }
}

/// Creates `<tag>` with attributes.
pub fn element(
    doc: &Document,
    tag: &str,
    attributes: &[(&str, &str)],
) -> Result<Element, BridgeError> {
    let element = doc
        .create_element(tag)
        .map_err(|_| BridgeError::new(BridgeError::UNSUPPORTED, "createElement failed"))?;
    for (name, value) in attributes {
        if *name == "style" {
            set_style(&element, value);
        } else {
            let _ = element.set_attribute(name, value);
        }
    }
    Ok(element)
}

/// Inline style through the CSSOM (`element.style.cssText`): a page whose CSP has no
/// `'unsafe-inline'` for styles blocks `style` attributes, but not the CSSOM.
fn set_style(element: &Element, css: &str) {
    if let Ok(style) = js_sys::Reflect::get(element, &"style".into()) {
        let _ = js_sys::Reflect::set(&style, &"cssText".into(), &css.into());
    }
}

/// An absolute http(s) URL, as a parsed `URL`: anything else (javascript:, data:, a
/// relative path the backend did not mean) is refused before it reaches a form or
/// `location`.
pub fn web_url(text: &str) -> Result<Url, BridgeError> {
    let url = Url::new(text).map_err(|_| BridgeError::bad_response("form action is not a URL"))?;
    match url.protocol().as_str() {
        "https:" | "http:" => Ok(url),
        _ => Err(BridgeError::bad_response("form action is not http(s)")),
    }
}

/// Where a form goes: into one of the module's iframes, or the page itself.
pub enum FormTarget<'a> {
    /// An iframe, by its `name` (POST) and element (GET).
    Frame { name: &'a str, frame: &'a Element },
    /// The checkout page navigates away.
    Page,
}

/// Sends `form` to `target`. A POST builds a `<form>` whose fields are hidden inputs set
/// as attribute values, never markup, so no field can inject HTML; the `<form>` leaves the
/// page right after `submit()`. A GET navigates to the action with the fields added to
/// its own query (a GET form would replace the action's query instead).
pub fn submit_form(form: &FormPost, target: FormTarget<'_>) -> Result<(), BridgeError> {
    let doc = document()?;
    let url = web_url(&form.action)?;
    if form.method == FormMethod::Get {
        let query = url.search_params();
        for field in &form.fields {
            query.append(&field.name, &field.value);
        }
        let href = url.href();
        return match target {
            FormTarget::Frame { frame, .. } => {
                let _ = frame.set_attribute("src", &href);
                Ok(())
            }
            FormTarget::Page => window()?
                .location()
                .assign(&href)
                .map_err(|_| BridgeError::new(BridgeError::UNSUPPORTED, "navigation refused")),
        };
    }
    let name = match target {
        FormTarget::Frame { name, .. } => name,
        FormTarget::Page => "_self",
    };
    let element = element(&doc, "form", &[("method", "post"), ("target", name)])?;
    let _ = element.set_attribute("action", &url.href());
    for field in &form.fields {
        let input = self::element(&doc, "input", &[("type", "hidden")])?;
        let _ = input.set_attribute("name", &field.name);
        let _ = input.set_attribute("value", &field.value);
        let _ = element.append_child(&input);
    }
    let body = doc.body().ok_or(BridgeError::new(
        BridgeError::UNSUPPORTED,
        "no document body",
    ))?;
    let form = Mounted(element);
    let _ = body.append_child(&form.0);
    form.0
        .unchecked_ref::<HtmlFormElement>()
        .submit()
        .map_err(|_| BridgeError::new(BridgeError::UNSUPPORTED, "form submit failed"))
}
