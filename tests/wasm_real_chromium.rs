//! What a real headless Chromium reports, run through the EMV rules of src/emv: the
//! readings a checkout page takes (screen, colour depth, timezone, language, user agent)
//! must always make valid browser details, with the timezone passed through exactly.
#![cfg(target_arch = "wasm32")]

use threeds_bridge::emv::{BrowserDetails, BrowserReadings, ServerReadings};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn readings() -> BrowserReadings {
    let window = web_sys::window().expect("a window");
    let screen = window.screen().expect("a screen");
    let navigator = window.navigator();
    BrowserReadings {
        screen_width: screen.width().ok().map(i64::from),
        screen_height: screen.height().ok().map(i64::from),
        color_depth: screen.color_depth().ok().map(i64::from),
        timezone_offset: Some(js_sys::Date::new_0().get_timezone_offset() as i64),
        language: navigator.language(),
        languages: navigator
            .languages()
            .iter()
            .filter_map(|l| l.as_string())
            .collect(),
        java_enabled: Some(false),
        javascript_enabled: true,
        user_agent: navigator.user_agent().ok(),
    }
}

#[wasm_bindgen_test]
fn real_readings_make_valid_details() {
    let page = readings();
    let server = ServerReadings {
        accept_header: Some("text/html".into()),
        ..ServerReadings::default()
    };
    let details = BrowserDetails::build(&page, &server).expect("Chromium's readings are valid");
    let script = details.script().expect("JavaScript ran");

    let raw_depth = page.color_depth.expect("Chromium reports colorDepth");
    assert!(i64::from(script.color_depth as u8) <= raw_depth.max(1));
    assert_eq!(
        i64::from(script.time_zone.minutes()),
        page.timezone_offset.unwrap()
    );
    let language = details.language().expect("a language").as_str().to_owned();
    assert!(language.len() <= 8, "{language}");
    let navigator_language = page.language.unwrap();
    assert!(
        navigator_language.starts_with(language.split('-').next().unwrap()),
        "{language} from {navigator_language}"
    );
    assert_eq!(Some(details.user_agent()), page.user_agent.as_deref());
}
