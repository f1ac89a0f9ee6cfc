//! Redirect state and forms in headless Chromium: what `resume()` keeps in
//! `sessionStorage` (and refuses to resume), and forms built from structured fields only.
#![cfg(all(target_arch = "wasm32", feature = "browser"))]

mod wasm_support;

use js_sys::{Object, Reflect};
use threeds_bridge::browser::api::{ThreeDSecure, ThreeDSecureOptions};
use threeds_bridge::browser::dom::{submit_form, FormTarget};
use threeds_bridge::browser::redirect::{self, Pending, STORAGE_KEY};
use threeds_bridge::emv::{FormMethod, FormPost};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wasm_support::*;

wasm_bindgen_test_configure!(run_in_browser);

fn storage() -> web_sys::Storage {
    web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap()
}

fn pending(backend: &str) -> Pending {
    Pending {
        session: session(),
        backend: backend.to_owned(),
    }
}

#[wasm_bindgen_test]
fn state_round_trips_and_clears() {
    redirect::save(&pending(BACKEND_ORIGIN));
    assert_eq!(redirect::load(), Some(pending(BACKEND_ORIGIN)));
    let stored = storage().get_item(STORAGE_KEY).unwrap().unwrap();
    assert!(
        !stored.contains("4000"),
        "no card data in storage: {stored}"
    );
    redirect::clear();
    assert_eq!(redirect::load(), None);
}

#[wasm_bindgen_test]
fn malformed_or_stale_state_is_not_resumed() {
    for text in [
        "not json",
        "{}",
        r#"{"id":"../../etc","nonce":"n","backend":"http://127.0.0.1:9","savedAt":0}"#,
        r#"{"id":"0123456789abcdef0123456789abcdef","nonce":"","backend":"http://127.0.0.1:9","savedAt":1}"#,
    ] {
        storage().set_item(STORAGE_KEY, text).unwrap();
        assert_eq!(redirect::load(), None, "{text}");
    }
    // Two hours old.
    let old = js_sys::Date::now() - 2.0 * 3600.0 * 1000.0;
    let text = [
        r#"{"id":"0123456789abcdef0123456789abcdef","nonce":"n","backend":"http://127.0.0.1:9","savedAt":"#,
        &old.to_string(),
        "}",
    ]
    .concat();
    storage().set_item(STORAGE_KEY, &text).unwrap();
    assert_eq!(redirect::load(), None);
    assert_eq!(
        storage().get_item(STORAGE_KEY).unwrap(),
        None,
        "stale state removed"
    );
}

#[wasm_bindgen_test]
async fn resume_ignores_a_payment_of_another_backend() {
    redirect::save(&pending("http://127.0.0.1:10"));
    let options = Object::new();
    Reflect::set(&options, &"backendUrl".into(), &BACKEND_ORIGIN.into()).unwrap();
    let tds = ThreeDSecure::new(options.unchecked_into::<ThreeDSecureOptions>()).unwrap();
    let result = JsFuture::from(tds.resume(None)).await.unwrap();
    assert!(result.is_null());
    redirect::clear();
}

#[wasm_bindgen_test]
async fn resume_with_an_unreachable_backend_keeps_the_state() {
    redirect::save(&pending(BACKEND_ORIGIN));
    let options = Object::new();
    Reflect::set(&options, &"backendUrl".into(), &BACKEND_ORIGIN.into()).unwrap();
    let tds = ThreeDSecure::new(options.unchecked_into::<ThreeDSecureOptions>()).unwrap();
    let error = JsFuture::from(tds.resume(None)).await.unwrap_err();
    let code = Reflect::get(&error, &"code".into()).unwrap().as_string();
    assert_eq!(code.as_deref(), Some("network"));
    assert_eq!(
        redirect::load(),
        Some(pending(BACKEND_ORIGIN)),
        "a reload can try again"
    );
    redirect::clear();
}

#[wasm_bindgen_test]
fn a_get_form_keeps_the_actions_query_and_adds_the_fields() {
    let doc = web_sys::window().unwrap().document().unwrap();
    let frame = doc.create_element("iframe").unwrap();
    frame.set_attribute("name", "redirect-test").unwrap();
    doc.body().unwrap().append_child(&frame).unwrap();
    let form = FormPost {
        action: [page_origin().as_str(), "/acs?session=a b"].concat(),
        method: FormMethod::Get,
        fields: vec![threeds_bridge::emv::FormField {
            name: "MD".into(),
            value: "Zoë&x=<script>".into(),
        }],
    };
    submit_form(
        &form,
        FormTarget::Frame {
            name: "redirect-test",
            frame: &frame,
        },
    )
    .unwrap();
    let src = frame.get_attribute("src").unwrap();
    // URLSearchParams re-serializes the existing query form-encoded (a space as +).
    assert!(
        src.ends_with("/acs?session=a+b&MD=Zo%C3%AB%26x%3D%3Cscript%3E"),
        "{src}"
    );
    assert_eq!(count("form"), 0);
    frame.remove();
}

#[wasm_bindgen_test]
fn only_http_actions_are_submitted() {
    let doc = web_sys::window().unwrap().document().unwrap();
    let frame = doc.create_element("iframe").unwrap();
    for action in ["javascript:alert(1)", "data:text/html,x", "/relative"] {
        let form = FormPost::post(action, [("creq", "x".to_owned())]);
        let error = submit_form(
            &form,
            FormTarget::Frame {
                name: "x",
                frame: &frame,
            },
        )
        .unwrap_err();
        assert_eq!(error.code(), "bad_response", "{action}");
    }
    assert_eq!(count("form"), 0);
}
