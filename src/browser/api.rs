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

/// The challenge's deadline when the page gives none: 15 minutes. A live ACS ends a
/// challenge itself after 10 minutes without the cardholder (CRes `N`); one whose page
/// never loads (its origin left out of `frame-src`, a 3DS 1.0.2 ACS that refuses framing,
/// an outage) would otherwise leave `pay()` waiting until `cancel()`.
const CHALLENGE_TIMEOUT_MS: u32 = 900_000;
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

/// The options as dom.js's `readOptions` checked them (option checks are smaller in
/// JavaScript; it throws `invalid_options` naming the first unusable one).
fn parse_settings(options: &JsValue) -> Result<Settings, JsValue> {
    let checked = dom::read_options(options)?;
    let at = |index| checked.get(index);
    let text = |index| at(index).as_string().unwrap_or_default();
    let milliseconds = |index| at(index).as_f64().map(|ms| ms as u32);
    let present = |index| Some(at(index)).filter(|value| !value.is_undefined());
    Ok(Settings {
        backend: Backend::new(text(0), text(1)),
        display: if at(2).as_bool() == Some(true) {
            DisplayMode::Redirect
        } else {
            DisplayMode::Iframe
        },
        window: WindowPreference::parse(&text(3)).unwrap_or(WindowPreference::Auto),
        container: present(4).map(JsCast::unchecked_into::<Element>),
        method_timeout_ms: milliseconds(5).unwrap_or(METHOD_TIMEOUT_MS),
        challenge_timeout_ms: milliseconds(6).or(Some(CHALLENGE_TIMEOUT_MS)),
        events: Events::new(
            present(7).map(JsCast::unchecked_into::<Function>),
            dom::ui(options),
        ),
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
        self.run(
            dom::signal_of(&options.map_or(JsValue::UNDEFINED, Into::into)),
            flow::Start::Pay(request.into()),
        )
    }

    /// Finishes a payment after a full-page redirect or a reload; resolves `null` when
    /// there is none to finish.
    #[wasm_bindgen(unchecked_return_type = "Promise<PaymentResult | null>")]
    pub fn resume(&self, options: Option<PayOptions>) -> Promise {
        self.run(
            dom::signal_of(&options.map_or(JsValue::UNDEFINED, Into::into)),
            flow::Start::Resume,
        )
    }

    /// Ends the running payment: every iframe, listener and timer goes, and the payment is
    /// cancelled at the backend. `pay()` settles as `cancelled`, or with the backend's
    /// result if it already had one; rejects `pending` if a provider call is under way or
    /// in doubt (the backend cannot cancel it; it may still charge); and resolves a local
    /// `cancelled` result (`amount` null, `challenge_cancelled`) if the backend cannot be
    /// reached: the merchant's server's read decides.
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
        let follow = signal.map(|signal| {
            Listener::function(&signal, "abort", dom::bound_method(&controller, "abort"))
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
