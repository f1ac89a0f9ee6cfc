//! Page-side helpers for the browser module's wasm tests: emulate what Chromium cannot be
//! told from inside a page (screen, locale, timezone), count the listeners and timers the
//! module leaves behind, post messages from chosen origins and sources, and stand in for
//! the backend behind the global `fetch` (recording every call the module makes).
#![allow(dead_code)]

use std::time::Duration;

use threeds_bridge::browser::view::{ClientSecret, Session, SessionId};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
const restores = [];
export function define_property(object_name, key, value) {
  const target = object_name === 'screen' ? screen : navigator;
  const own = Object.getOwnPropertyDescriptor(target, key);
  Object.defineProperty(target, key, { configurable: true, get: () => value });
  restores.push(() => { if (own) Object.defineProperty(target, key, own); else delete target[key]; });
}
export function java_enabled_throws() {
  Object.defineProperty(navigator, 'javaEnabled', { configurable: true, value: () => { throw new Error('no'); } });
  restores.push(() => { delete navigator.javaEnabled; });
}
export function emulate_time_zone(zone) {
  const original = Date.prototype.getTimezoneOffset;
  Date.prototype.getTimezoneOffset = function () {
    const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(this).find((p) => p.type === 'timeZoneName').value;
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
    if (!m) return 0;
    const minutes = Number(m[2]) * 60 + Number(m[3]);
    return m[1] === '+' ? -minutes : minutes;
  };
  restores.push(() => { Date.prototype.getTimezoneOffset = original; });
}
export function restore_all() { while (restores.length) restores.pop()(); }

const live = { listeners: new Set(), timers: new Set() };
let installed = false;
export function install_counters() {
  if (installed) return;
  installed = true;
  const add = EventTarget.prototype.addEventListener;
  const remove = EventTarget.prototype.removeEventListener;
  EventTarget.prototype.addEventListener = function (type, fn, options) {
    live.listeners.add(fn);
    return add.call(this, type, fn, options);
  };
  EventTarget.prototype.removeEventListener = function (type, fn, options) {
    live.listeners.delete(fn);
    return remove.call(this, type, fn, options);
  };
  const set = window.setTimeout.bind(window);
  const clear = window.clearTimeout.bind(window);
  window.setTimeout = (fn, ms, ...args) => {
    const id = set((...a) => { live.timers.delete(id); fn(...a); }, ms, ...args);
    live.timers.add(id);
    return id;
  };
  window.clearTimeout = (id) => { live.timers.delete(id); clear(id); };
}
export function live_listeners() { return live.listeners.size; }
export function live_timers() { return live.timers.size; }

export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

// Posts a synthetic message once an iframe whose name starts with `prefix` exists.
// source: 'frame' (that iframe's window), 'page' (this window) or 'none'.
export function post_when_framed(prefix, origin, source, data, delay) {
  const start = Date.now();
  const tick = () => {
    const frame = document.querySelector('iframe[name^="' + prefix + '"]');
    if (!frame) { if (Date.now() - start < 5000) return void setTimeout(tick, 10); return; }
    setTimeout(() => {
      const init = { data, origin };
      if (source === 'frame') init.source = frame.contentWindow;
      if (source === 'page') init.source = window;
      window.dispatchEvent(new MessageEvent('message', init));
    }, delay);
  };
  tick();
}
// The `sandbox` attribute of the first iframe whose name starts with `prefix`, once it
// exists (null if none within 5 s, or if it has none).
export function sandbox_when_framed(prefix) {
  return new Promise((resolve) => {
    const start = Date.now();
    const tick = () => {
      const frame = document.querySelector('iframe[name^="' + prefix + '"]');
      if (frame) return resolve(frame.getAttribute("sandbox"));
      if (Date.now() - start < 5000) setTimeout(tick, 5); else resolve(null);
    };
    tick();
  });
}
export function page_origin() { return location.origin; }
export function count(selector) { return document.querySelectorAll(selector).length; }
export function frame_box(prefix) {
  const frame = document.querySelector('iframe[name^="' + prefix + '"]');
  if (!frame) return null;
  const r = frame.getBoundingClientRect();
  return [Math.round(r.width), Math.round(r.height)];
}
export function viewport() { return [innerWidth, innerHeight]; }
export function click_later(selector, delay) {
  setTimeout(() => { const b = document.querySelector(selector); if (b) b.click(); }, delay);
}
export function abort_later(controller, delay) { setTimeout(() => controller.abort(), delay); }

// The backend behind the global fetch: answers `answers` ([{status, body}], in order) and
// records each call with what sessionStorage held for the module at that moment.
const realFetch = globalThis.fetch;
let calls = [];
export function stub_backend(answers) {
  calls = [];
  const queue = [...answers];
  globalThis.fetch = async (url, init = {}) => {
    calls.push({
      url: String(url), method: init.method ?? "GET", headers: { ...init.headers },
      body: init.body ?? null, stored: sessionStorage.getItem("threeds-bridge:payment"),
    });
    const answer = queue.shift();
    if (!answer) throw new TypeError("the stub backend has no more answers");
    // A slow answer (`delayMs`), which the call's abort ends as fetch's would.
    if (answer.delayMs) await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, answer.delayMs);
      init.signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new DOMException("aborted", "AbortError"));
      });
    });
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  };
}
export function stub_calls() { return calls; }
export function unstub_backend() { globalThis.fetch = realFetch; }
export function page_href() { return location.href; }
"#)]
extern "C" {
    pub fn define_property(object_name: &str, key: &str, value: JsValue);
    pub fn java_enabled_throws();
    pub fn emulate_time_zone(zone: &str);
    pub fn restore_all();
    pub fn install_counters();
    pub fn live_listeners() -> u32;
    pub fn live_timers() -> u32;
    fn sleep(ms: u32) -> js_sys::Promise;
    pub fn post_when_framed(prefix: &str, origin: &str, source: &str, data: JsValue, delay: u32);
    pub fn sandbox_when_framed(prefix: &str) -> js_sys::Promise;
    pub fn page_origin() -> String;
    pub fn count(selector: &str) -> u32;
    pub fn frame_box(prefix: &str) -> JsValue;
    pub fn viewport() -> Vec<u32>;
    pub fn click_later(selector: &str, delay: u32);
    pub fn abort_later(controller: &web_sys::AbortController, delay: u32);
    pub fn stub_backend(answers: JsValue);
    pub fn stub_calls() -> js_sys::Array;
    pub fn unstub_backend();
    pub fn page_href() -> String;
}

pub async fn wait(duration: Duration) {
    let _ = wasm_bindgen_futures::JsFuture::from(sleep(duration.as_millis() as u32)).await;
}

/// The backend origin the tests pretend to have (messages are synthetic, so nothing
/// needs to listen there).
pub const BACKEND_ORIGIN: &str = "http://127.0.0.1:9";

pub fn session() -> Session {
    Session {
        id: SessionId::parse("0123456789abcdef0123456789abcdef").expect("32 hex digits"),
        nonce: "n0nce-for-tests".to_owned(),
    }
}

/// The client secret of [`session`]'s payment, as the backend mints it.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef_secret_00112233445566778899aabbccddeeff";

pub fn secret() -> ClientSecret {
    ClientSecret::parse(SECRET).expect("the backend's shape")
}

/// A genuine completion message for [`session`].
pub fn completion(session: &Session) -> JsValue {
    let data = js_sys::Object::new();
    let set = |k: &str, v: &str| {
        js_sys::Reflect::set(&data, &k.into(), &v.into()).expect("set");
    };
    set("type", "threeds-bridge:complete");
    set("sessionId", session.id.as_str());
    set("nonce", &session.nonce);
    data.into()
}

/// A form posting to a path of the test server that answers 404 quickly.
pub fn form(field: &str) -> threeds_bridge::emv::FormPost {
    threeds_bridge::emv::FormPost::post(
        [page_origin().as_str(), "/threeds-bridge-test-target"].concat(),
        [(
            if field == "creq" {
                "creq"
            } else {
                "threeDSMethodData"
            },
            "eyJ4IjoxfQ".to_owned(),
        )],
    )
}

/// The page's view of [`session`]'s payment as the backend answers it (`state` pending
/// or final; `next` and `result` as JSON text).
pub fn view(state: &str, next: &str, result: &str) -> JsValue {
    let session = session();
    let text = [
        r#"{"id":""#,
        session.id.as_str(),
        r#"","nonce":""#,
        &session.nonce,
        r#"","provider":"dlocal","orderId":"order-42","amount":1000,"currency":"BRL","status":"x","state":""#,
        state,
        r#"","next":"#,
        next,
        r#","result":"#,
        result,
        "}",
    ]
    .concat();
    js_sys::JSON::parse(&text).expect("a view is JSON")
}

/// An authorized final view of [`session`]'s payment.
pub fn authorized_view() -> JsValue {
    view(
        "final",
        r#"{"type":"none"}"#,
        r#"{"status":"authorized","providerPaymentId":"D-1","threeDsVersion":"2.2.0","transStatus":"Y","eci":"05","liabilityShift":true,"error":null}"#,
    )
}

/// `[{status, body}, …]` for [`stub_backend`] (set `delayMs` on one for a slow answer).
pub fn answers(list: &[(u16, JsValue)]) -> JsValue {
    let array = js_sys::Array::new();
    for (status, body) in list {
        let answer = js_sys::Object::new();
        js_sys::Reflect::set(&answer, &"status".into(), &(*status).into()).expect("set");
        js_sys::Reflect::set(&answer, &"body".into(), body).expect("set");
        array.push(&answer);
    }
    array.into()
}

/// `object[key]`, for reading what the module sent or answered.
pub fn member(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}
