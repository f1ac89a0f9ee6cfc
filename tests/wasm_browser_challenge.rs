//! The challenge iframe in headless Chromium: exact sizes per challengeWindowSize, the
//! auto choice, the close button, and cancel / AbortSignal tearing down every element,
//! listener and timer and returning focus.
#![cfg(all(target_arch = "wasm32", feature = "browser"))]

mod wasm_support;

use std::cell::RefCell;
use std::rc::Rc;

use threeds_bridge::browser::challenge::{self, Placement, WindowPreference};
use threeds_bridge::browser::dom::Outcome;
use threeds_bridge::browser::messages::Expected;
use threeds_bridge::emv::ChallengeWindowSize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wasm_support::*;
use web_sys::{AbortController, Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

const FRAME: &str = "threeds-bridge-challenge-";

fn expected() -> Expected {
    Expected {
        origin: BACKEND_ORIGIN.to_owned(),
        session: session(),
    }
}

fn container(width: u32, height: u32) -> Element {
    let doc = web_sys::window().unwrap().document().unwrap();
    let div = doc.create_element("div").unwrap();
    let style = [
        "width:",
        &width.to_string(),
        "px;height:",
        &height.to_string(),
        "px",
    ]
    .concat();
    div.set_attribute("style", &style).unwrap();
    doc.body().unwrap().append_child(&div).unwrap();
    div
}

/// Shows a challenge of `size` for `timeout_ms`, and returns how it ended and the
/// iframe's on-screen size while it was shown.
async fn show(
    size: ChallengeWindowSize,
    host: Option<&Element>,
    timeout_ms: u32,
) -> (Outcome, Option<(u32, u32)>) {
    let seen = Rc::new(RefCell::new(None));
    let placement = Placement {
        container: host,
        size,
        timeout_ms: Some(timeout_ms),
        ui: &JsValue::UNDEFINED,
    };
    let record = seen.clone();
    let outcome = challenge::run(
        &form("creq"),
        placement,
        expected(),
        &AbortController::new().unwrap().signal(),
        move || {
            let size = frame_box(FRAME);
            *record.borrow_mut() = size.dyn_into::<js_sys::Array>().ok().map(|a| {
                (
                    a.get(0).as_f64().unwrap() as u32,
                    a.get(1).as_f64().unwrap() as u32,
                )
            });
        },
    )
    .await
    .expect("challenge ran");
    let seen = *seen.borrow();
    (outcome, seen)
}

#[wasm_bindgen_test]
async fn each_fixed_size_is_exact_in_a_container_and_in_the_dialog() {
    let host = container(800, 700);
    for (code, pixels) in [
        ("01", (250, 400)),
        ("02", (390, 400)),
        ("03", (500, 600)),
        ("04", (600, 400)),
    ] {
        let size = ChallengeWindowSize::parse(code).unwrap();
        let (outcome, seen) = show(size, Some(&host), 50).await;
        assert_eq!(outcome, Outcome::TimedOut);
        assert_eq!(seen, Some(pixels), "{code} in a container");
        let (_, seen) = show(size, None, 50).await;
        assert_eq!(seen, Some(pixels), "{code} in the dialog");
    }
    host.remove();
    assert_eq!(count("iframe"), 0);
    assert_eq!(count("dialog"), 0);
}

#[wasm_bindgen_test]
async fn full_screen_fills_the_viewport_even_with_a_container() {
    let host = container(300, 300);
    let viewport = viewport();
    let (_, seen) = show(ChallengeWindowSize::FullScreen, Some(&host), 50).await;
    let (width, height) = seen.expect("shown");
    assert_eq!(width, viewport[0], "the whole width");
    assert!(
        height < viewport[1] && height + 60 > viewport[1],
        "the whole height but the close bar above it: {height} of {}",
        viewport[1]
    );
    assert_eq!(
        host.child_element_count(),
        0,
        "05 does not go into the container"
    );
    host.remove();
}

#[wasm_bindgen_test]
fn auto_picks_the_largest_size_that_fits() {
    let auto = WindowPreference::Auto;
    let viewport = (1280, 800);
    let pick = |w, h| auto.choose(Some((w, h)), viewport).as_str();
    assert_eq!(pick(1000, 700), "03");
    assert_eq!(pick(520, 620), "03");
    assert_eq!(pick(620, 450), "04");
    assert_eq!(pick(400, 450), "02");
    assert_eq!(pick(260, 420), "01");
    assert_eq!(pick(240, 900), "05", "not even 250 wide: full screen");
    assert_eq!(
        pick(600, 0),
        "03",
        "an empty container grows: the viewport's height counts"
    );
    assert_eq!(
        pick(389, 300),
        "01",
        "narrower than 390: 01, whatever the height"
    );
    assert_eq!(
        auto.choose(None, (599, 900)).as_str(),
        "05",
        "a dialog narrower than 600: full screen"
    );
    assert_eq!(
        auto.choose(None, (390, 640)).as_str(),
        "05",
        "a phone's dialog: full screen"
    );
    assert_eq!(
        auto.choose(None, (800, 700)).as_str(),
        "03",
        "no container: the viewport"
    );
    let fixed = WindowPreference::parse("01").unwrap();
    assert_eq!(fixed.choose(Some((1000, 1000)), viewport).as_str(), "01");
    assert!(WindowPreference::parse("06").is_none());

    let host = container(520, 620);
    assert_eq!(challenge::inner_size(&host), (520, 620));
    host.remove();
}

#[wasm_bindgen_test]
async fn the_close_button_cancels_and_focus_comes_back() {
    install_counters();
    let doc = web_sys::window().unwrap().document().unwrap();
    let pay = doc.create_element("button").unwrap();
    doc.body().unwrap().append_child(&pay).unwrap();
    pay.unchecked_ref::<HtmlElement>().focus().unwrap();
    let (listeners, timers) = (live_listeners(), live_timers());

    click_later(".threeds-bridge-close", 100);
    let (outcome, _) = show(ChallengeWindowSize::W390xH400, None, 10_000).await;
    assert_eq!(outcome, Outcome::Cancelled);
    assert_eq!(count("dialog"), 0);
    assert_eq!(count("iframe"), 0);
    assert_eq!(count("form"), 0);
    assert_eq!(live_listeners(), listeners, "every listener removed");
    assert_eq!(live_timers(), timers, "the challenge deadline cleared");
    let focused: JsValue = doc
        .active_element()
        .map(JsValue::from)
        .unwrap_or(JsValue::NULL);
    assert!(
        js_sys::Object::is(&focused, &pay),
        "focus returned to the pay button"
    );
    pay.remove();
}

#[wasm_bindgen_test]
async fn an_abort_signal_tears_everything_down() {
    install_counters();
    let host = container(600, 600);
    let (listeners, timers) = (live_listeners(), live_timers());
    let controller = AbortController::new().unwrap();
    abort_later(&controller, 100);
    let placement = Placement {
        container: Some(&host),
        size: ChallengeWindowSize::W500xH600,
        timeout_ms: Some(10_000),
        ui: &JsValue::UNDEFINED,
    };
    let outcome = challenge::run(
        &form("creq"),
        placement,
        expected(),
        &controller.signal(),
        || {},
    )
    .await
    .unwrap();
    assert_eq!(outcome, Outcome::Cancelled);
    assert_eq!(host.child_element_count(), 0, "the container is as it was");
    assert_eq!(count("iframe"), 0);
    assert_eq!(live_listeners(), listeners);
    assert_eq!(live_timers(), timers);
    host.remove();
}

#[wasm_bindgen_test]
async fn a_genuine_completion_ends_the_challenge_and_spoofs_do_not() {
    let session = session();
    post_when_framed(FRAME, &page_origin(), "frame", completion(&session), 30);
    post_when_framed(FRAME, BACKEND_ORIGIN, "page", completion(&session), 40);
    let (outcome, _) = show(ChallengeWindowSize::W250xH400, None, 400).await;
    assert_eq!(outcome, Outcome::TimedOut, "spoofs ignored");

    post_when_framed(FRAME, BACKEND_ORIGIN, "frame", completion(&session), 50);
    let (outcome, _) = show(ChallengeWindowSize::W250xH400, None, 5_000).await;
    assert_eq!(outcome, Outcome::Completed);
    assert_eq!(count("dialog"), 0);
}

/// A browser whose `<dialog>` has no `showModal` (Safari before 15.4, Firefox before 98),
/// or refuses it: the challenge is `unsupported`, and nothing it added stays in the page
/// (a later `pay()` must not stack boxes).
#[wasm_bindgen_test]
async fn a_dialog_that_cannot_show_leaves_nothing_behind() {
    let prototype = js_sys::eval("HTMLDialogElement.prototype").unwrap();
    let original = js_sys::Reflect::get(&prototype, &"showModal".into()).unwrap();
    let refusing = js_sys::Function::new_no_args("throw new TypeError('no showModal')");
    js_sys::Reflect::set(&prototype, &"showModal".into(), &refusing).unwrap();
    let placement = Placement {
        container: None,
        size: ChallengeWindowSize::W500xH600,
        timeout_ms: Some(10_000),
        ui: &JsValue::UNDEFINED,
    };
    let outcome = challenge::run(
        &form("creq"),
        placement,
        expected(),
        &AbortController::new().unwrap().signal(),
        || {},
    )
    .await;
    js_sys::Reflect::set(&prototype, &"showModal".into(), &original).unwrap();
    let error = outcome.expect_err("no dialog to show the challenge in");
    assert_eq!(error.code(), "unsupported");
    assert_eq!(count("dialog"), 0, "the dialog is gone");
    assert_eq!(count("iframe"), 0);
}
