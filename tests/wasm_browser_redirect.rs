//! Redirect state and forms in headless Chromium: what `resume()` keeps in
//! `sessionStorage` (the client secret, so the payment can be read again after a
//! full-page return) and refuses to resume, and forms built from structured fields only.
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
        secret: secret(),
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
    assert!(
        stored.contains(SECRET),
        "the client secret is kept for resume(): {stored}"
    );
    redirect::clear();
    assert_eq!(redirect::load(), None);
}

#[wasm_bindgen_test]
fn malformed_or_stale_state_is_not_resumed() {
    let now = js_sys::Date::now().to_string();
    let state = |secret: &str, nonce: &str| {
        [
            r#"{"secret":""#,
            secret,
            r#"","nonce":""#,
            nonce,
            r#"","backend":"http://127.0.0.1:9","savedAt":"#,
            &now,
            "}",
        ]
        .concat()
    };
    storage()
        .set_item(STORAGE_KEY, &state(SECRET, "n"))
        .unwrap();
    let loaded = redirect::load().expect("a well-formed state is resumed");
    assert_eq!(
        loaded.session.id,
        session().id,
        "the secret names the payment"
    );
    assert_eq!(loaded.secret, secret());
    // The state before client secrets (an id alone) cannot be read any more.
    let id_only = [
        r#"{"id":"0123456789abcdef0123456789abcdef","nonce":"n","backend":"http://127.0.0.1:9","savedAt":"#,
        &now,
        "}",
    ]
    .concat();
    for text in [
        "not json".to_owned(),
        "{}".to_owned(),
        state("../../etc_secret_00112233445566778899aabbccddeeff", "n"),
        state("0123456789abcdef0123456789abcdef", "n"),
        state(&SECRET.replace("abcdef", "ABCDEF"), "n"),
        state(&SECRET.replace("_secret_", "_secrets"), "n"),
        state(SECRET, ""),
        id_only,
    ] {
        storage().set_item(STORAGE_KEY, &text).unwrap();
        assert_eq!(redirect::load(), None, "{text}");
    }
    // Two hours old.
    let old = js_sys::Date::now() - 2.0 * 3600.0 * 1000.0;
    let text = [
        r#"{"secret":""#,
        SECRET,
        r#"","nonce":"n","backend":"http://127.0.0.1:9","savedAt":"#,
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

#[wasm_bindgen_test]
async fn resume_after_a_full_page_return_reads_the_payment_with_its_secret() {
    redirect::save(&pending(BACKEND_ORIGIN));
    stub_backend(answers(&[
        (200, authorized_view()),
        (200, authorized_view()),
    ]));
    let options = Object::new();
    Reflect::set(&options, &"backendUrl".into(), &BACKEND_ORIGIN.into()).unwrap();
    let tds = ThreeDSecure::new(options.unchecked_into::<ThreeDSecureOptions>()).unwrap();
    let result = JsFuture::from(tds.resume(None)).await;
    let calls = stub_calls();
    unstub_backend();
    let result = result.unwrap();
    assert_eq!(
        calls.length(),
        2,
        "the resuming read and the confirming read"
    );
    let url = [BACKEND_ORIGIN, "/v1/payments/", session().id.as_str()].concat();
    for call in calls.iter() {
        assert_eq!(member(&call, "method").as_string().as_deref(), Some("GET"));
        assert_eq!(member(&call, "url").as_string(), Some(url.clone()));
        let header = member(&member(&call, "headers"), "x-client-secret");
        assert_eq!(header.as_string().as_deref(), Some(SECRET));
    }
    assert_eq!(
        member(&result, "status").as_string().as_deref(),
        Some("authorized")
    );
    assert_eq!(
        member(&result, "orderId").as_string().as_deref(),
        Some("order-42")
    );
    assert_eq!(redirect::load(), None, "finished: nothing left to resume");
}
