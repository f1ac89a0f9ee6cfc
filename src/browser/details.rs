//! EMV browser details from the page: read what only JavaScript can, then apply the rules
//! of [`crate::emv::browser`] (colour depth rounded down, raw timezone offset with its
//! sign, a language tag of at most 8 characters, a guarded `javaEnabled()`).
//!
//! Reading and ruling are separate so that tests can check the rules under emulated
//! screens, zones and locales: [`read_page`] only reads, [`collect`] only rules.

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;
use web_sys::Window;

use crate::emv::browser::{truncate_chars, ScriptReadings, MAX_HEADER_CHARS};
use crate::emv::{BrowserLanguage, BrowserReadings, EmvError};

/// The Accept header the page can name: what its own `fetch` sends. The backend replaces
/// it with the header it actually received (api.md), the page cannot see the real one.
pub const PAGE_ACCEPT_HEADER: &str = "*/*";

/// What the page reads, as JavaScript gives it (dom.js's `readPage`); `None` where a
/// reading is missing or threw.
pub fn read_page(window: &Window) -> BrowserReadings {
    let read = page_readings(window);
    let number = |index| read.get(index).as_f64().map(|n| n as i64);
    BrowserReadings {
        screen_width: number(0),
        screen_height: number(1),
        color_depth: number(2),
        timezone_offset: number(3),
        language: read.get(4).as_string(),
        // Only browserLanguage (navigator.language) goes to the backend; the server's
        // own list comes from the Accept-Language it receives.
        languages: Vec::new(),
        // `navigator.javaEnabled()` where it exists and does not throw (it is gone or a
        // stub in some browsers); `None` otherwise, which EMV takes as false.
        java_enabled: read.get(5).as_bool(),
        javascript_enabled: true,
        user_agent: read.get(6).as_string(),
    }
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
    let (language, script) = ScriptReadings::from_script(readings)?;
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
    let script = &details.script;
    browser_details(
        PAGE_ACCEPT_HEADER,
        script.java_enabled,
        details.language.as_str(),
        script.color_depth.bits(),
        script.screen_height.get(),
        script.screen_width.get(),
        script.time_zone.minutes(),
        &details.user_agent,
    )
}

#[wasm_bindgen(module = "/src/browser/dom.js")]
extern "C" {
    /// `[screen width, height, colorDepth, timezone offset, language, javaEnabled(),
    /// userAgent]` of `window`.
    #[wasm_bindgen(js_name = readPage)]
    fn page_readings(window: &Window) -> Array;
    /// The `browser` object with these members (the values are ruled already).
    #[wasm_bindgen(js_name = browserDetails)]
    #[allow(clippy::too_many_arguments)]
    fn browser_details(
        accept_header: &str,
        java_enabled: bool,
        language: &str,
        color_depth: u8,
        screen_height: u32,
        screen_width: u32,
        time_zone: i16,
        user_agent: &str,
    ) -> Object;
}

/// Read, rule, and shape: what `collectBrowserDetails()` returns.
pub fn collect_from_page(window: &Window) -> Result<Object, EmvError> {
    collect(&read_page(window)).map(|details| to_js(&details))
}
