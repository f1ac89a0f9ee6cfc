//! The JavaScript API: the `ThreeDSecure` class (see pkg/README.md for the page's view).
//!
//! Parses the constructor's options once, runs one payment at a time, and turns every
//! failure into an `Error` with a stable `code`. `cancel()` and the `pay()` AbortSignal
//! abort the running payment's controller; every step listens to it and tears down.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{AbortController, AbortSignal, Element};

use super::challenge::WindowPreference;
use super::client::Backend;
use super::dom::{self, Listener};
use super::events::Events;
use super::flow::{self, Settings};
use super::{details, BridgeError};
use crate::emv::method::METHOD_TIMEOUT_MS;
use crate::payment::DisplayMode;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = include_str!("types.d.ts");

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "ThreeDSecureOptions")]
    pub type ThreeDSecureOptions;
    #[wasm_bindgen(typescript_type = "PayRequest")]
    pub type PayRequest;
    #[wasm_bindgen(typescript_type = "PayOptions")]
    pub type PayOptions;
    #[wasm_bindgen(typescript_type = "BrowserDetails")]
    pub type BrowserDetailsObject;
}

/// 3-D Secure for one checkout page.
#[wasm_bindgen]
pub struct ThreeDSecure {
    instance: Rc<Instance>,
}

struct Instance {
    settings: Settings,
    /// The running payment's controller; `None` when idle.
    running: RefCell<Option<AbortController>>,
}

use dom::get as option;

fn milliseconds(value: JsValue, name: &'static str) -> Result<Option<u32>, BridgeError> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_f64()
        .filter(|ms| ms.is_finite() && (0.0..=3_600_000.0).contains(ms))
        .map(|ms| Some(ms as u32))
        .ok_or(BridgeError::invalid_options(name))
}

fn parse_settings(options: &JsValue) -> Result<Settings, BridgeError> {
    if !options.is_object() {
        return Err(BridgeError::invalid_options("options must be an object"));
    }
    let window = dom::window()?;
    let page = dom::text(&dom::get(&window, "location"), "href")
        .ok_or(BridgeError::new(BridgeError::UNSUPPORTED, "no location"))?;
    let backend_url = option(options, "backendUrl")
        .as_string()
        .ok_or(BridgeError::invalid_options("backendUrl is required"))?;
    let display = match option(options, "display").as_string().as_deref() {
        None | Some("iframe") => DisplayMode::Iframe,
        Some("redirect") => DisplayMode::Redirect,
        Some(_) => {
            return Err(BridgeError::invalid_options(
                "display must be iframe or redirect",
            ))
        }
    };
    let window = match option(options, "challengeWindowSize").as_string() {
        None => WindowPreference::Auto,
        Some(text) => WindowPreference::parse(&text).ok_or(BridgeError::invalid_options(
            "challengeWindowSize must be auto or 01 to 05",
        ))?,
    };
    let container = option(options, "container");
    let container = if container.is_undefined() || container.is_null() {
        None
    } else {
        Some(
            container
                .dyn_into::<Element>()
                .map_err(|_| BridgeError::invalid_options("container must be an element"))?,
        )
    };
    let on_event = option(options, "onEvent");
    let on_event = if on_event.is_undefined() || on_event.is_null() {
        None
    } else {
        Some(
            on_event
                .dyn_into::<Function>()
                .map_err(|_| BridgeError::invalid_options("onEvent must be a function"))?,
        )
    };
    Ok(Settings {
        backend: Backend::parse(&backend_url, &page)?,
        display,
        window,
        container,
        method_timeout_ms: milliseconds(
            option(options, "methodTimeoutMs"),
            "methodTimeoutMs must be milliseconds",
        )?
        .unwrap_or(METHOD_TIMEOUT_MS),
        challenge_timeout_ms: milliseconds(
            option(options, "challengeTimeoutMs"),
            "challengeTimeoutMs must be milliseconds",
        )?,
        events: Events::new(on_event, dom::ui(options)),
    })
}

#[wasm_bindgen]
impl ThreeDSecure {
    /// Checks the options; throws an Error with `code: "invalid_options"` when unusable.
    #[wasm_bindgen(constructor)]
    pub fn new(options: ThreeDSecureOptions) -> Result<ThreeDSecure, JsValue> {
        let settings = parse_settings(&options)?;
        Ok(ThreeDSecure {
            instance: Rc::new(Instance {
                settings,
                running: RefCell::new(None),
            }),
        })
    }

    /// Starts a payment and follows it to its backend-confirmed result.
    #[wasm_bindgen(unchecked_return_type = "Promise<PaymentResult>")]
    pub fn pay(&self, request: PayRequest, options: Option<PayOptions>) -> Promise {
        let signal = options
            .map(|o| option(&o, "signal"))
            .and_then(|s| s.dyn_into::<AbortSignal>().ok());
        self.run(signal, flow::Start::Pay(request.into()))
    }

    /// Finishes a payment after a full-page redirect or a reload; resolves `null` when
    /// there is none to finish.
    #[wasm_bindgen(unchecked_return_type = "Promise<PaymentResult | null>")]
    pub fn resume(&self, options: Option<PayOptions>) -> Promise {
        let signal = options
            .map(|o| option(&o, "signal"))
            .and_then(|s| s.dyn_into::<AbortSignal>().ok());
        self.run(signal, flow::Start::Resume)
    }

    /// Ends the running payment: every iframe, listener and timer goes, and `pay()`
    /// settles as `cancelled` (unless the backend already had the final result).
    pub fn cancel(&self) {
        if let Some(controller) = self.instance.running.borrow().as_ref() {
            controller.abort();
        }
    }

    /// The EMV browser details of this page, by the rules of EMV 3DS 2.x.
    #[wasm_bindgen(js_name = collectBrowserDetails)]
    pub fn collect_browser_details() -> Result<BrowserDetailsObject, JsValue> {
        let window = dom::window()?;
        let details = details::collect_from_page(&window).map_err(BridgeError::from)?;
        Ok(JsValue::from(details).unchecked_into())
    }
}

impl ThreeDSecure {
    /// Runs one payment under a fresh controller that `cancel()` and `signal` abort.
    /// One body for `pay()` and `resume()`: the flow is compiled once.
    fn run(&self, signal: Option<AbortSignal>, start: flow::Start) -> Promise {
        if self.instance.running.borrow().is_some() {
            return Promise::reject(
                &BridgeError::new(BridgeError::BUSY, "a payment is already running").into(),
            );
        }
        if signal.as_ref().is_some_and(dom::aborted) {
            return Promise::reject(
                &BridgeError::new(BridgeError::ABORTED, "the signal was already aborted").into(),
            );
        }
        let Ok(controller) = AbortController::new() else {
            return Promise::reject(
                &BridgeError::new(BridgeError::UNSUPPORTED, "no AbortController").into(),
            );
        };
        let follow = signal.and_then(|signal| {
            let abort = dom::bound_method(&controller, "abort", None)?;
            Some(Listener::function(&signal, "abort", abort))
        });
        *self.instance.running.borrow_mut() = Some(controller.clone());
        let instance = self.instance.clone();
        let abort = dom::signal(&controller);
        future_to_promise(async move {
            let result = flow::run(&instance.settings, start, &abort).await;
            instance.settings.events.end();
            drop(follow);
            instance.running.borrow_mut().take();
            result.map_err(JsValue::from)
        })
    }
}
