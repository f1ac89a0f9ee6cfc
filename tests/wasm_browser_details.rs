//! The browser module's EMV browser details in headless Chromium, under emulated screens,
//! timezones and locales, and base64url of non-Latin-1 JSON with the page's own JSON.
#![cfg(all(target_arch = "wasm32", feature = "browser"))]

mod wasm_support;

use js_sys::Reflect;
use threeds_bridge::browser::api::ThreeDSecure;
use threeds_bridge::browser::details;
use threeds_bridge::emv::base64url;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wasm_support::{define_property, emulate_time_zone, java_enabled_throws, restore_all};

wasm_bindgen_test_configure!(run_in_browser);

/// `ThreeDSecure.collectBrowserDetails()` as the page sees it, with emulation undone after.
fn collected() -> JsValue {
    let details = ThreeDSecure::collect_browser_details().map(JsValue::from);
    restore_all();
    details.expect("details")
}

fn member(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).expect("member")
}

fn number(object: &JsValue, key: &str) -> f64 {
    member(object, key)
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is a number"))
}

#[wasm_bindgen_test]
fn colour_depth_30_is_sent_as_24_and_64_as_48() {
    for (reported, sent) in [(30, 24.0), (64, 48.0), (24, 24.0), (16, 16.0), (0, 24.0)] {
        define_property("screen", "colorDepth", reported.into());
        assert_eq!(
            number(&collected(), "colorDepth"),
            sent,
            "reported {reported}"
        );
    }
}

#[wasm_bindgen_test]
fn screen_size_is_passed_through() {
    define_property("screen", "width", 1512.into());
    define_property("screen", "height", 982.into());
    let details = collected();
    assert_eq!(number(&details, "screenWidth"), 1512.0);
    assert_eq!(number(&details, "screenHeight"), 982.0);
}

#[wasm_bindgen_test]
fn timezone_is_the_raw_offset_with_its_sign() {
    emulate_time_zone("Asia/Kolkata");
    assert_eq!(number(&collected(), "timeZone"), -330.0);

    emulate_time_zone("America/New_York");
    let new_york = number(&collected(), "timeZone");
    assert!(
        new_york == 300.0 || new_york == 240.0,
        "EST or EDT, got {new_york}"
    );

    emulate_time_zone("UTC");
    assert_eq!(number(&collected(), "timeZone"), 0.0);
}

#[wasm_bindgen_test]
fn long_language_tags_are_cut_to_eight_characters() {
    for (tag, sent) in [
        ("zh-Hant-TW", "zh-TW"),
        ("en-GB-oxendict", "en-GB"),
        ("pt-BR", "pt-BR"),
        ("de", "de"),
    ] {
        define_property("navigator", "language", tag.into());
        assert_eq!(
            member(&collected(), "language").as_string().as_deref(),
            Some(sent),
            "{tag}"
        );
    }
}

#[wasm_bindgen_test]
fn a_throwing_java_enabled_is_false_not_an_error() {
    java_enabled_throws();
    let details = collected();
    assert_eq!(member(&details, "javaEnabled").as_bool(), Some(false));
    assert_eq!(member(&details, "javascriptEnabled").as_bool(), Some(true));
}

#[wasm_bindgen_test]
fn the_shape_is_the_backends_browser_member() {
    let details = collected();
    for key in [
        "acceptHeader",
        "javaEnabled",
        "javascriptEnabled",
        "language",
        "colorDepth",
        "screenHeight",
        "screenWidth",
        "timeZone",
        "userAgent",
    ] {
        assert!(!member(&details, key).is_undefined(), "{key} missing");
    }
    let user_agent = web_sys::window().unwrap().navigator().user_agent().unwrap();
    assert_eq!(member(&details, "userAgent").as_string(), Some(user_agent));
}

#[wasm_bindgen_test]
fn an_unusable_language_rejects_with_a_stable_code() {
    define_property("navigator", "language", "x".into());
    let error = ThreeDSecure::collect_browser_details()
        .map(|_| ())
        .unwrap_err();
    restore_all();
    let code = member(&error, "code").as_string();
    assert_eq!(code.as_deref(), Some("invalid_field"));
    assert!(error.is_instance_of::<js_sys::Error>());
}

#[wasm_bindgen_test]
fn readings_and_rules_are_separate() {
    let window = web_sys::window().unwrap();
    let mut readings = details::read_page(&window);
    readings.color_depth = Some(30);
    readings.language = Some("zh-Hant-TW".into());
    let page = details::collect(&readings).expect("valid");
    assert_eq!(page.script.color_depth.bits(), 24);
    assert_eq!(page.language.as_str(), "zh-TW");
}

#[wasm_bindgen_test]
fn base64url_of_non_latin1_json_round_trips_through_the_page() {
    // JSON text from the page's own JSON.stringify, as the module produces it.
    let value = js_sys::JSON::parse(
        r#"{"holder":"Zoë 山田 🚀","threeDSServerTransID":"8a880dc0-d2d2-4067-bcb1-b08d1690b26e"}"#,
    )
    .unwrap();
    let text = js_sys::JSON::stringify(&value)
        .unwrap()
        .as_string()
        .unwrap();
    let encoded = base64url::encode(&text);
    assert!(
        !encoded.contains(['=', '+', '/']),
        "unpadded url alphabet: {encoded}"
    );
    // btoa would throw on this text; the page decodes the bytes with atob + TextDecoder.
    let standard = encoded.replace('-', "+").replace('_', "/");
    let padded = [standard.as_str(), &"==="[..(4 - standard.len() % 4) % 4]].concat();
    let binary = web_sys::window()
        .unwrap()
        .atob(&padded)
        .expect("valid base64");
    let bytes: Vec<u8> = binary.chars().map(|c| c as u32 as u8).collect();
    assert_eq!(String::from_utf8(bytes).unwrap(), text);
    assert_eq!(base64url::decode_utf8(&encoded).unwrap(), text);
}
