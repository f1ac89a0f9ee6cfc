//! The 3DS Method runner in headless Chromium: Y on a genuine completion message, N at
//! the deadline without rejecting, U without a Method URL, and spoofed messages (wrong
//! origin, wrong source, wrong nonce or session) change nothing; its iframe is sandboxed.
#![cfg(all(target_arch = "wasm32", feature = "browser"))]

mod wasm_support;

use threeds_bridge::browser::messages::Expected;
use threeds_bridge::browser::method::{self, MethodEnd};
use threeds_bridge::emv::ThreeDsCompInd;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wasm_support::*;
use web_sys::AbortController;

wasm_bindgen_test_configure!(run_in_browser);

const FRAME: &str = "threeds-bridge-method-";

fn expected() -> Expected {
    Expected {
        origin: BACKEND_ORIGIN.to_owned(),
        session: session(),
    }
}

fn never_aborted() -> web_sys::AbortSignal {
    AbortController::new().unwrap().signal()
}

#[wasm_bindgen_test]
async fn the_deadline_gives_n_and_leaves_nothing_behind() {
    install_counters();
    let (listeners, timers) = (live_listeners(), live_timers());
    let started = js_sys::Date::now();
    let end = method::run(&form("method"), 300, expected(), &never_aborted()).await;
    let elapsed = js_sys::Date::now() - started;
    assert_eq!(end, MethodEnd::Done(ThreeDsCompInd::N));
    assert!((290.0..3000.0).contains(&elapsed), "took {elapsed} ms");
    assert_eq!(count("iframe"), 0, "the Method iframe is gone");
    assert_eq!(count("form"), 0, "the Method form is gone");
    assert_eq!(live_listeners(), listeners, "every listener removed");
    assert_eq!(live_timers(), timers, "the deadline timer cleared");
}

#[wasm_bindgen_test]
async fn a_genuine_completion_gives_y_before_the_deadline() {
    let session = session();
    post_when_framed(FRAME, BACKEND_ORIGIN, "frame", completion(&session), 50);
    let started = js_sys::Date::now();
    let end = method::run(&form("method"), 5_000, expected(), &never_aborted()).await;
    assert_eq!(end, MethodEnd::Done(ThreeDsCompInd::Y));
    assert!(js_sys::Date::now() - started < 4_000.0);
    assert_eq!(count("iframe"), 0);
}

/// The issuer's Method page runs scripts, posts its form and keeps its own origin (for
/// its cookies and for the backend's completion message), and nothing else: it may not
/// navigate the checkout page, open windows or show dialogs.
#[wasm_bindgen_test]
async fn the_method_frame_is_sandboxed() {
    let session = session();
    let sandbox = wasm_bindgen_futures::JsFuture::from(sandbox_when_framed(FRAME));
    post_when_framed(FRAME, BACKEND_ORIGIN, "frame", completion(&session), 50);
    let end = method::run(&form("method"), 5_000, expected(), &never_aborted()).await;
    assert_eq!(end, MethodEnd::Done(ThreeDsCompInd::Y));
    let sandbox = sandbox.await.expect("the promise resolves").as_string();
    assert_eq!(
        sandbox.as_deref(),
        Some("allow-forms allow-scripts allow-same-origin")
    );
}

#[wasm_bindgen_test]
async fn spoofed_messages_change_nothing() {
    let session = session();
    let genuine = completion(&session);
    let with = |key: &str, value: &str| {
        let data = js_sys::Object::assign(&js_sys::Object::new(), genuine.unchecked_ref());
        js_sys::Reflect::set(&data, &key.into(), &value.into()).unwrap();
        wasm_bindgen::JsValue::from(data)
    };
    use wasm_bindgen::JsCast;
    // Wrong origin (the page's own), wrong source (the page, no source), wrong nonce,
    // wrong session, wrong type, and data that is not an object.
    post_when_framed(FRAME, &page_origin(), "frame", genuine.clone(), 20);
    post_when_framed(FRAME, "http://127.0.0.1:90", "frame", genuine.clone(), 30);
    post_when_framed(FRAME, BACKEND_ORIGIN, "page", genuine.clone(), 40);
    post_when_framed(FRAME, BACKEND_ORIGIN, "none", genuine.clone(), 50);
    post_when_framed(FRAME, BACKEND_ORIGIN, "frame", with("nonce", "guessed"), 60);
    post_when_framed(
        FRAME,
        BACKEND_ORIGIN,
        "frame",
        with("sessionId", "ffffffffffffffffffffffffffffffff"),
        70,
    );
    post_when_framed(
        FRAME,
        BACKEND_ORIGIN,
        "frame",
        with("type", "threeds-bridge:other"),
        80,
    );
    post_when_framed(
        FRAME,
        BACKEND_ORIGIN,
        "frame",
        "threeds-bridge:complete".into(),
        90,
    );
    let end = method::run(&form("method"), 600, expected(), &never_aborted()).await;
    assert_eq!(
        end,
        MethodEnd::Done(ThreeDsCompInd::N),
        "no spoof counted as completion"
    );
}

#[wasm_bindgen_test]
async fn no_method_url_gives_u_at_once() {
    let mut no_url = form("method");
    no_url.action = String::new();
    assert_eq!(
        method::run(&no_url, 10_000, expected(), &never_aborted()).await,
        MethodEnd::Done(ThreeDsCompInd::U)
    );
    no_url.action = "javascript:alert(1)".to_owned();
    assert_eq!(
        method::run(&no_url, 10_000, expected(), &never_aborted()).await,
        MethodEnd::Done(ThreeDsCompInd::U),
        "a script URL is never posted to"
    );
    assert_eq!(count("iframe"), 0);
}

#[wasm_bindgen_test]
async fn an_abort_ends_the_method_and_cleans_up() {
    install_counters();
    let (listeners, timers) = (live_listeners(), live_timers());
    let controller = AbortController::new().unwrap();
    abort_later(&controller, 100);
    let end = method::run(&form("method"), 10_000, expected(), &controller.signal()).await;
    assert_eq!(end, MethodEnd::Cancelled);
    assert_eq!(count("iframe"), 0);
    assert_eq!(live_listeners(), listeners, "every listener removed");
    assert_eq!(live_timers(), timers, "the 10 s deadline cleared");
}
