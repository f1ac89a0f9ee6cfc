//! The `ThreeDSecure` class's own contract in headless Chromium: options are checked with
//! stable codes, a request without a well-formed client secret rejects `invalid_options`
//! before any call, an already aborted signal rejects `aborted`, an unreachable backend
//! rejects `network` after the browser-details and authorizing events, a payment the backend
//! is still confirming rejects `pending`, and nothing is left running. Against a stand-in
//! backend (the global `fetch`): the confirm, the Method report and the reads carry the
//! client secret, and the result carries the payment's amount, currency and order id; giving
//! a payment up is in `cancel.rs`. Whole payments against the real backend are the
//! end-to-end suite's.
#![cfg(all(target_arch = "wasm32", feature = "browser"))]

mod wasm_support;

/// Giving a payment up: before, during and after the confirm, a challenge past its
/// deadline, and a cancel the backend cannot make.
#[path = "wasm_browser_api/cancel.rs"]
mod cancel;

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

fn card() -> Object {
    object(&[
        ("type", "card".into()),
        ("number", "4000000000001000".into()),
    ])
}

fn request() -> PayRequest {
    object(&[
        ("clientSecret", SECRET.into()),
        ("paymentMethod", card().into()),
    ])
    .unchecked_into()
}

/// Puts the real `fetch` back when the test ends, however it ends.
struct Stubbed;

impl Stubbed {
    fn new(list: &[(u16, JsValue)]) -> Stubbed {
        stub_backend(answers(list));
        Stubbed
    }

    /// As [`Stubbed::new`], the first answer coming `delay_ms` late.
    fn slow_first(list: &[(u16, JsValue)], delay_ms: u32) -> Stubbed {
        let answers = answers(list);
        let first = Reflect::get(&answers, &0.into()).unwrap();
        Reflect::set(&first, &"delayMs".into(), &delay_ms.into()).unwrap();
        stub_backend(answers);
        Stubbed
    }
}

impl Drop for Stubbed {
    fn drop(&mut self) {
        unstub_backend();
    }
}

fn text(value: &JsValue, key: &str) -> Option<String> {
    member(value, key).as_string()
}

/// The calls the module made, as `(method, url, x-client-secret, body)`.
fn calls() -> Vec<(String, String, Option<String>, JsValue)> {
    stub_calls()
        .iter()
        .map(|call| {
            let body = member(&call, "body");
            let body = match body.as_string() {
                Some(json) => js_sys::JSON::parse(&json).unwrap(),
                None => body,
            };
            (
                text(&call, "method").unwrap(),
                text(&call, "url").unwrap(),
                text(&member(&call, "headers"), "x-client-secret"),
                body,
            )
        })
        .collect()
}

fn payment_url(suffix: &str) -> String {
    [
        BACKEND_ORIGIN,
        "/v1/payments/",
        session().id.as_str(),
        suffix,
    ]
    .concat()
}

/// A Method step whose iframe posts to the test server (its completion never comes).
fn method_next() -> String {
    [
        r#"{"type":"method","form":{"action":""#,
        &page_origin(),
        r#"/threeds-bridge-test-target","method":"POST","fields":[{"name":"threeDSMethodData","value":"eyJ4IjoxfQ"}]},"timeoutMs":10000}"#,
    ]
    .concat()
}

#[wasm_bindgen_test]
fn unusable_options_throw_invalid_options() {
    // Each refusal is an Error whose message names the option (dom.js words it).
    for (options, named) in [
        (object(&[]), "backendUrl"),
        (
            object(&[("backendUrl", "javascript:alert(1)".into())]),
            "backendUrl",
        ),
        (
            object(&[
                ("backendUrl", BACKEND_ORIGIN.into()),
                ("display", "popup".into()),
            ]),
            "display",
        ),
        (
            object(&[
                ("backendUrl", BACKEND_ORIGIN.into()),
                ("challengeWindowSize", "06".into()),
            ]),
            "challengeWindowSize",
        ),
        (
            object(&[
                ("backendUrl", BACKEND_ORIGIN.into()),
                ("container", "#checkout".into()),
            ]),
            "container",
        ),
        (
            object(&[("backendUrl", BACKEND_ORIGIN.into()), ("onEvent", 1.into())]),
            "onEvent",
        ),
        (
            object(&[
                ("backendUrl", BACKEND_ORIGIN.into()),
                ("methodTimeoutMs", (-1).into()),
            ]),
            "methodTimeoutMs",
        ),
    ] {
        let error = new(options).map(|_| ()).unwrap_err();
        assert_eq!(code(&error).as_deref(), Some("invalid_options"));
        assert!(error.is_instance_of::<js_sys::Error>());
        let message = text(&error, "message").unwrap_or_default();
        assert!(message.contains(named), "{message}");
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
    assert_eq!(
        text(&error, "message").as_deref(),
        Some("the backend could not be reached"),
        "the module's own errors are worded by dom.js, one message per code"
    );

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

#[wasm_bindgen_test]
async fn a_request_without_a_well_formed_client_secret_rejects_before_any_call() {
    let _backend = Stubbed::new(&[]);
    let events = Array::new();
    let record = {
        let events = events.clone();
        wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            events.push(&event);
        })
    };
    let tds = new(object(&[
        ("backendUrl", BACKEND_ORIGIN.into()),
        ("onEvent", record.as_ref().clone()),
    ]))
    .unwrap();
    let with_secret = |secret: JsValue| -> JsValue {
        object(&[("clientSecret", secret), ("paymentMethod", card().into())]).into()
    };
    let id = session().id.as_str().to_owned();
    for bad in [
        object(&[("paymentMethod", card().into())]).into(),
        with_secret(id.as_str().into()),
        with_secret(
            ["pi_", &id, "_secret_00112233445566778899aabbccddeeff"]
                .concat()
                .into(),
        ),
        with_secret(SECRET.replace("abcdef", "ABCDEF").into()),
        with_secret(SECRET.replace("_secret_", "-secret-").into()),
        with_secret([SECRET, "0"].concat().into()),
        with_secret(1.into()),
        SECRET.into(),
        JsValue::NULL,
    ] {
        let error = JsFuture::from(tds.pay(bad.clone().unchecked_into(), None))
            .await
            .unwrap_err();
        assert_eq!(code(&error).as_deref(), Some("invalid_options"), "{bad:?}");
    }
    assert_eq!(stub_calls().length(), 0, "nothing reached the backend");
    assert_eq!(events.length(), 0, "not even the browser details were read");
}

/// A confirm whose money call lost its answer is `unknown` to the backend: pending, with
/// nothing for the browser to do and no result yet. The page must say "processing, we will
/// confirm", not "failed": `pending`, not `bad_response`; nothing more is sent.
#[wasm_bindgen_test]
async fn a_payment_being_confirmed_rejects_pending() {
    let _backend = Stubbed::new(&[(200, view("pending", r#"{"type":"none"}"#, "null"))]);
    let tds = new(object(&[("backendUrl", BACKEND_ORIGIN.into())])).unwrap();
    let error = JsFuture::from(tds.pay(request(), None)).await.unwrap_err();
    assert_eq!(code(&error).as_deref(), Some("pending"));
    assert_eq!(calls().len(), 1, "the confirm only");
}

#[wasm_bindgen_test]
async fn pay_confirms_reports_and_reads_with_the_client_secret() {
    let _backend = Stubbed::new(&[
        (200, view("pending", &method_next(), "null")),
        (200, authorized_view()),
        (200, authorized_view()),
    ]);
    let tds = new(object(&[
        ("backendUrl", BACKEND_ORIGIN.into()),
        ("methodTimeoutMs", 200.into()),
    ]))
    .unwrap();
    let result = JsFuture::from(tds.pay(request(), None)).await.unwrap();

    let calls = calls();
    assert_eq!(calls.len(), 3, "confirm, Method report, confirming read");
    let (method, url, header, confirm) = &calls[0];
    assert_eq!(
        (method.as_str(), url.as_str()),
        ("POST", payment_url("/confirm").as_str())
    );
    assert_eq!(header.as_deref(), Some(SECRET));
    let mut members: Vec<String> = Object::keys(confirm.unchecked_ref::<Object>())
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    members.sort();
    assert_eq!(
        members,
        [
            "browser",
            "checkoutOrigin",
            "clientSecret",
            "display",
            "paymentMethod",
            "returnUrl",
            "windowSize"
        ],
        "the page's members and the module's, nothing of the merchant's"
    );
    assert_eq!(text(confirm, "clientSecret").as_deref(), Some(SECRET));
    assert_eq!(text(confirm, "checkoutOrigin"), Some(page_origin()));
    assert_eq!(text(confirm, "returnUrl"), Some(page_href()));
    assert_eq!(text(confirm, "display").as_deref(), Some("iframe"));

    let (method, url, header, report) = &calls[1];
    assert_eq!(
        (method.as_str(), url.as_str()),
        ("POST", payment_url("/method").as_str())
    );
    assert_eq!(header.as_deref(), Some(SECRET));
    assert_eq!(text(report, "clientSecret").as_deref(), Some(SECRET));
    assert_eq!(
        text(report, "completion").as_deref(),
        Some("N"),
        "the Method timed out"
    );
    let stored = text(&stub_calls().get(1), "stored").unwrap_or_default();
    assert!(
        stored.contains(SECRET),
        "kept for resume() while the payment runs: {stored}"
    );

    let (method, url, header, read) = &calls[2];
    assert_eq!(
        (method.as_str(), url.as_str()),
        ("GET", payment_url("").as_str())
    );
    assert_eq!(header.as_deref(), Some(SECRET));
    assert!(read.is_null(), "a read has no body");

    assert_eq!(text(&result, "status").as_deref(), Some("authorized"));
    assert_eq!(text(&result, "eci").as_deref(), Some("05"));
    assert_eq!(
        text(&result, "paymentId").as_deref(),
        Some(session().id.as_str())
    );
    assert_eq!(member(&result, "amount").as_f64(), Some(1000.0));
    assert_eq!(text(&result, "currency").as_deref(), Some("BRL"));
    assert_eq!(text(&result, "orderId").as_deref(), Some("order-42"));
    assert_eq!(
        threeds_bridge::browser::redirect::load(),
        None,
        "nothing left to resume"
    );
}

#[wasm_bindgen_test]
async fn a_member_only_the_merchant_may_set_is_refused_by_the_backend() {
    let refusal = js_sys::JSON::parse(
        r#"{"error":{"code":"field_not_allowed","message":"amount is set by the merchant's server"}}"#,
    )
    .unwrap();
    let _backend = Stubbed::new(&[(400, refusal)]);
    let tds = new(object(&[("backendUrl", BACKEND_ORIGIN.into())])).unwrap();
    let cheaper: Object = request().unchecked_into();
    Reflect::set(&cheaper, &"amount".into(), &1.into()).unwrap();
    let error = JsFuture::from(tds.pay(cheaper.unchecked_into(), None))
        .await
        .unwrap_err();
    assert_eq!(code(&error).as_deref(), Some("field_not_allowed"));
    assert_eq!(
        text(&error, "message").as_deref(),
        Some("amount is set by the merchant's server"),
        "the backend's own message is passed on"
    );
    let calls = calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        member(&calls[0].3, "amount").as_f64(),
        Some(1.0),
        "the module passes it on; the backend decides"
    );
}
