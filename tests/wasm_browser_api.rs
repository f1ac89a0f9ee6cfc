//! The `ThreeDSecure` class's own contract in headless Chromium: options are checked with
//! stable codes, an already aborted signal rejects `aborted`, an unreachable backend
//! rejects `network` after the browser-details and authorizing events, and nothing is left
//! running. Whole payments against the real backend are the end-to-end suite's.
#![cfg(all(target_arch = "wasm32", feature = "browser"))]

mod wasm_support;

use js_sys::{Array, Function, Object, Reflect};
use threeds_bridge::browser::api::{PayOptions, PayRequest, ThreeDSecure, ThreeDSecureOptions};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wasm_support::*;
use web_sys::AbortController;

wasm_bindgen_test_configure!(run_in_browser);

fn object(pairs: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (key, value) in pairs {
        Reflect::set(&object, &(*key).into(), value).unwrap();
    }
    object
}

fn code(error: &JsValue) -> Option<String> {
    Reflect::get(error, &"code".into()).ok()?.as_string()
}

fn new(options: Object) -> Result<ThreeDSecure, JsValue> {
    ThreeDSecure::new(options.unchecked_into::<ThreeDSecureOptions>())
}

fn request() -> PayRequest {
    let card = object(&[
        ("type", "card".into()),
        ("number", "4000000000001000".into()),
    ]);
    object(&[
        ("provider", "dlocal".into()),
        ("orderId", "order-wasm-1".into()),
        ("amount", 1000.into()),
        ("currency", "USD".into()),
        ("paymentMethod", card.into()),
    ])
    .unchecked_into()
}

#[wasm_bindgen_test]
fn unusable_options_throw_invalid_options() {
    for options in [
        object(&[]),
        object(&[("backendUrl", "javascript:alert(1)".into())]),
        object(&[
            ("backendUrl", BACKEND_ORIGIN.into()),
            ("display", "popup".into()),
        ]),
        object(&[
            ("backendUrl", BACKEND_ORIGIN.into()),
            ("challengeWindowSize", "06".into()),
        ]),
        object(&[
            ("backendUrl", BACKEND_ORIGIN.into()),
            ("container", "#checkout".into()),
        ]),
        object(&[("backendUrl", BACKEND_ORIGIN.into()), ("onEvent", 1.into())]),
        object(&[
            ("backendUrl", BACKEND_ORIGIN.into()),
            ("methodTimeoutMs", (-1).into()),
        ]),
    ] {
        let error = new(options).map(|_| ()).unwrap_err();
        assert_eq!(code(&error).as_deref(), Some("invalid_options"));
    }
    assert!(new(object(&[
        ("backendUrl", BACKEND_ORIGIN.into()),
        ("challengeWindowSize", "auto".into())
    ]))
    .is_ok());
}

#[wasm_bindgen_test]
async fn an_aborted_signal_rejects_aborted_without_a_request() {
    let tds = new(object(&[("backendUrl", BACKEND_ORIGIN.into())])).unwrap();
    let controller = AbortController::new().unwrap();
    controller.abort();
    let options = object(&[("signal", controller.signal().into())]).unchecked_into::<PayOptions>();
    let error = JsFuture::from(tds.pay(request(), Some(options)))
        .await
        .unwrap_err();
    assert_eq!(code(&error).as_deref(), Some("aborted"));
    assert!(error.is_instance_of::<js_sys::Error>());
}

#[wasm_bindgen_test]
async fn an_unreachable_backend_rejects_network_after_progress_events() {
    install_counters();
    let (listeners, timers) = (live_listeners(), live_timers());
    let events = Array::new();
    let record = {
        let events = events.clone();
        wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            events.push(&event);
        })
    };
    let on_event: Function = record.as_ref().unchecked_ref::<Function>().clone();
    let tds = new(object(&[
        ("backendUrl", BACKEND_ORIGIN.into()),
        ("onEvent", on_event.into()),
    ]))
    .unwrap();
    let running = tds.pay(request(), None);
    let busy = JsFuture::from(tds.pay(request(), None)).await.unwrap_err();
    assert_eq!(
        code(&busy).as_deref(),
        Some("busy"),
        "one payment at a time"
    );
    let error = JsFuture::from(running).await.unwrap_err();
    assert_eq!(code(&error).as_deref(), Some("network"));

    let types: Vec<String> = events
        .iter()
        .map(|e| {
            Reflect::get(&e, &"type".into())
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect();
    assert_eq!(types, ["browser-details", "authorizing"]);
    let at = Reflect::get(&events.get(0), &"at".into())
        .unwrap()
        .as_f64()
        .unwrap();
    assert!((js_sys::Date::now() - at).abs() < 60_000.0, "a timestamp");
    assert_eq!(live_listeners(), listeners, "no listener left");
    assert_eq!(live_timers(), timers, "no request deadline left");

    // The instance is idle again: cancel() is a no-op and a new payment may start.
    tds.cancel();
    let again = JsFuture::from(tds.pay(request(), None)).await.unwrap_err();
    assert_eq!(code(&again).as_deref(), Some("network"));
}

#[wasm_bindgen_test]
async fn resume_without_a_stored_payment_resolves_null() {
    let tds = new(object(&[("backendUrl", BACKEND_ORIGIN.into())])).unwrap();
    let result = JsFuture::from(tds.resume(None)).await.unwrap();
    assert!(result.is_null());
}
