//! EMV browser details from the page: read what only JavaScript can, then apply the rules
//! of [`crate::emv::browser`] (colour depth rounded down, raw timezone offset with its
//! sign, a language tag of at most 8 characters, a guarded `javaEnabled()`).
//!
//! Reading and ruling are separate so that tests can check the rules under emulated
//! screens, zones and locales: [`read_page`] only reads, [`collect`] only rules.

use js_sys::{Date, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Window;

use crate::emv::browser::{truncate_chars, ScriptReadings, MAX_HEADER_CHARS};
use crate::emv::{BrowserLanguage, BrowserReadings, EmvError};

/// The Accept header the page can name: what its own `fetch` sends. The backend replaces
/// it with the header it actually received (api.md), the page cannot see the real one.
pub const PAGE_ACCEPT_HEADER: &str = "*/*";

/// What the page reads, as JavaScript gives it; `None` where a reading is missing or threw.
pub fn read_page(window: &Window) -> BrowserReadings {
    let navigator = window.navigator();
    let screen = window.screen().ok();
    let number = |value: Result<i32, JsValue>| value.ok().map(i64::from);
    BrowserReadings {
        screen_width: screen.as_ref().and_then(|s| number(s.width())),
        screen_height: screen.as_ref().and_then(|s| number(s.height())),
        color_depth: screen.as_ref().and_then(|s| number(s.color_depth())),
        timezone_offset: Some(Date::new_0().get_timezone_offset() as i64),
        language: navigator.language(),
        languages: navigator
            .languages()
            .iter()
            .filter_map(|tag| tag.as_string())
            .collect(),
        java_enabled: java_enabled(&navigator),
        javascript_enabled: true,
        user_agent: navigator.user_agent().ok(),
    }
}

/// `navigator.javaEnabled()` where it exists and does not throw (it is gone or a stub in
/// some browsers); `None` otherwise, which EMV takes as false.
fn java_enabled(navigator: &web_sys::Navigator) -> Option<bool> {
    let method = Reflect::get(navigator, &"javaEnabled".into()).ok()?;
    let method = method.dyn_into::<Function>().ok()?;
    method.call0(navigator).ok()?.as_bool()
}

/// The browser details as the page can know them: everything but the Accept header and
/// the IP, which only the backend sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageDetails {
    pub language: BrowserLanguage,
    pub script: ScriptReadings,
    pub user_agent: String,
}

/// The EMV rules applied to the page's readings.
pub fn collect(readings: &BrowserReadings) -> Result<PageDetails, EmvError> {
    let (languages, script) = ScriptReadings::from_page(readings)?;
    let language = languages.into_iter().next().ok_or(EmvError::MissingField {
        field: "browserLanguage",
    })?;
    let user_agent = readings
        .user_agent
        .as_deref()
        .map(|ua| truncate_chars(ua, MAX_HEADER_CHARS).to_owned())
        .unwrap_or_default();
    Ok(PageDetails {
        language,
        script,
        user_agent,
    })
}

/// The backend's `browser` member (api.md): acceptHeader, javaEnabled, javascriptEnabled,
/// language, colorDepth, screenHeight, screenWidth, timeZone, userAgent.
pub fn to_js(details: &PageDetails) -> Object {
    let object = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&object, &key.into(), &value);
    };
    let script = &details.script;
    set("acceptHeader", PAGE_ACCEPT_HEADER.into());
    set("javaEnabled", script.java_enabled.into());
    set("javascriptEnabled", true.into());
    set("language", details.language.as_str().into());
    set("colorDepth", script.color_depth.bits().into());
    set("screenHeight", script.screen_height.get().into());
    set("screenWidth", script.screen_width.get().into());
    set("timeZone", script.time_zone.minutes().into());
    set("userAgent", details.user_agent.as_str().into());
    object
}

/// Read, rule, and shape: what `collectBrowserDetails()` returns.
pub fn collect_from_page(window: &Window) -> Result<Object, EmvError> {
    collect(&read_page(window)).map(|details| to_js(&details))
}
